// The relayed transport addresses (IP and port) that live allocations of this process hold,
// bound and advertised (--external-ip) alike, and the shard that owns each. The data path asks
// it, lock-free, before sending to one of the server's own addresses: only an exact live
// relayed address may be reached that way (relay to relay), never another service on the host
// or a relay port on another IP; and the owner tells which shard to hand the datagram to.
// Owner: any thread (atomics; writers are the shards' Allocate and teardown paths).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "protocol/transport_address.hpp"

namespace turnd::server {

class LiveRelays {
 public:
  /// Distinct relay IPs tracked; a host relays from a handful (one per interface at most).
  static constexpr std::size_t kMaxIps = 64;

  /// Marks `addr` live, owned by shard `owner` (nullopt: live, but reached through the kernel
  /// only, e.g. the bound address behind an advertised --external-ip). False when the IP
  /// table is full: the address then stays unreachable through the guard, which fails closed.
  /// Control path: Allocate.
  bool add(const protocol::TransportAddress& addr, std::optional<unsigned> owner = std::nullopt);
  /// Marks `addr` no longer live. Control path: allocation teardown.
  void remove(const protocol::TransportAddress& addr) noexcept;
  /// Whether a live allocation's relayed address is exactly `addr`. Lock-free.
  bool contains(const protocol::TransportAddress& addr) const noexcept { return entry(addr) != 0; }
  /// The shard whose allocation holds `addr` as its relayed address, when the datagram can be
  /// handed over to it in the process; nullopt otherwise. Lock-free.
  std::optional<unsigned> owner(const protocol::TransportAddress& addr) const noexcept {
    const std::uint16_t e = entry(addr);
    if (e == 0 || e == kKernelOnly) return std::nullopt;
    return e - 1u;
  }

 private:
  // Per port: 0 = not live, owner shard + 1, or kKernelOnly (config: at most 1024 shards).
  static constexpr std::uint16_t kKernelOnly = 0xFFFF;
  struct Slot {
    protocol::IpAddress ip;
    std::array<std::atomic<std::uint16_t>, 65536> ports{};
  };
  const Slot* find(const protocol::IpAddress& ip) const noexcept;
  std::uint16_t entry(const protocol::TransportAddress& addr) const noexcept;

  std::mutex mutex_;  // serialises adding slots; lookups read `count_` with acquire
  std::array<std::unique_ptr<Slot>, kMaxIps> slots_{};
  std::atomic<std::size_t> count_{0};
};

}  // namespace turnd::server
