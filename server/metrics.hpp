// Counters written by one shard thread and read by the control thread on a /metrics scrape.
// A relaxed load + store is as cheap as a plain increment (no lock prefix) and is not a data
// race; the single writer makes the sum exact.
#pragma once

#include <atomic>
#include <cstdint>

namespace turnd::server {

class Counter {
 public:
  void add(std::uint64_t n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  Counter& operator++() noexcept {
    add(1);
    return *this;
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

struct ShardCounters {
  Counter requests;
  Counter dropped_malformed;
  Counter bad_requests;
  Counter auth_failures;
  // Replies to unauthenticated UDP requests not sent: the source exceeded its rate, or all
  // sources together exceeded the byte cap (anti-amplification).
  Counter unauthenticated_limited_source, unauthenticated_limited_global;
  Counter channel_data_dropped;
  Counter allocations_created;
  Counter allocations_deleted;
  Counter allocations_expired;
  Counter packets_to_peer, bytes_to_peer;
  Counter packets_from_peer, bytes_from_peer;
  Counter peer_packets_without_permission;
  Counter send_dropped;            // datagrams the kernel refused (full buffer, unreachable)
  Counter relay_oversize_dropped;  // client -> peer datagrams larger than a relay slot
  Counter relay_open_failed;       // relay sockets that could not be opened (ports, fds)
  Counter tcp_refused_per_source, tcp_refused_total;
  Counter tcp_closed_first_message_timeout, tcp_closed_idle_timeout, tcp_closed_not_stun;
  Counter tcp_write_dropped;  // frames not queued: the client does not read
  std::atomic<std::int64_t> allocations{0};
};

}  // namespace turnd::server
