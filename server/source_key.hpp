// The unit a per-source limit counts: an IPv4 address, or the /64 of an IPv6 address (one
// subscriber usually holds a whole /64, so counting single IPv6 addresses would be no limit).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>

#include "protocol/transport_address.hpp"

namespace turnd::server {

struct SourceKey {
  std::uint64_t bits = 0;
  bool v6 = false;
  friend bool operator==(const SourceKey&, const SourceKey&) = default;

  static SourceKey of(const protocol::IpAddress& address) noexcept {
    const protocol::IpAddress ip = address.unmapped();
    SourceKey k;
    k.v6 = !ip.is_v4();
    std::memcpy(&k.bits, ip.bytes.data(), k.v6 ? 8 : 4);
    return k;
  }
};

/// 127.0.0.0/8, ::1 and their IPv4-mapped forms: sources that cannot come from off the host
/// (the kernel drops such source addresses arriving on any other interface).
inline bool is_loopback(const protocol::IpAddress& address) noexcept {
  const protocol::IpAddress ip = address.unmapped();
  if (ip.is_v4()) return ip.bytes[0] == 127;
  static constexpr std::array<std::uint8_t, 16> kV6Loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                            0, 0, 0, 0, 0, 0, 0, 1};
  return ip.bytes == kV6Loopback;
}

struct SourceKeyHash {
  std::size_t operator()(const SourceKey& k) const noexcept {
    return std::hash<std::uint64_t>{}(k.bits ^ (k.v6 ? 0x9e3779b97f4a7c15ull : 0));
  }
};

}  // namespace turnd::server
