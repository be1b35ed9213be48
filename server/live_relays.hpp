// The relayed transport addresses (IP and port) that live allocations of this process hold,
// bound and advertised (--external-ip) alike. The data path asks it, lock-free, before sending
// to one of the server's own addresses: only an exact live relayed address may be reached that
// way (relay to relay), never another service on the host or a relay port on another IP.
// Owner: any thread (atomics; writers are the shards' Allocate and teardown paths).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "protocol/transport_address.hpp"

namespace turnd::server {

class LiveRelays {
 public:
  /// Distinct relay IPs tracked; a host relays from a handful (one per interface at most).
  static constexpr std::size_t kMaxIps = 64;

  /// Marks `addr` live (false when the IP table is full: the address then stays unreachable
  /// through the guard, which fails closed). Control path: Allocate.
  bool add(const protocol::TransportAddress& addr);
  /// Marks `addr` no longer live. Control path: allocation teardown.
  void remove(const protocol::TransportAddress& addr) noexcept;
  /// Whether a live allocation's relayed address is exactly `addr`. Lock-free.
  bool contains(const protocol::TransportAddress& addr) const noexcept;

 private:
  struct Slot {
    protocol::IpAddress ip;
    std::array<std::atomic<std::uint64_t>, 1024> ports{};  // one bit per port
  };
  const Slot* find(const protocol::IpAddress& ip) const noexcept;

  std::mutex mutex_;  // serialises adding slots; lookups read `count_` with acquire
  std::array<std::unique_ptr<Slot>, kMaxIps> slots_{};
  std::atomic<std::size_t> count_{0};
};

}  // namespace turnd::server
