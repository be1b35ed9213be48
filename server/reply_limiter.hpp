// Limits on replies to unauthenticated UDP requests (401, 438, 400, 420, Binding answers).
// Each is larger than its request, and a UDP source address can be spoofed: without limits
// turnd would amplify a flood towards a victim. Two limits, both GCRA (a token bucket kept as
// one "theoretical arrival time", so the state is one integer):
//  - SourceRateLimiter, per source IP (IPv6 /64), shared by all shards: a spoofer cannot
//    multiply the limit by varying the source port over the shards. Fixed memory, lock-free:
//    a count-min sketch of three rows of buckets under per-process random keys. Nothing is ever
//    evicted, so no flood of new sources resets anyone's limit; a collision can only make two
//    sources share a budget, and with three rows an innocent source is held back only when all
//    three of its buckets are drained by others (10,000 flooding sources: ~0.04 % of others).
//    ConnectionLimiter uses one more for new TCP/TLS connections and DTLS sessions a second.
//  - ReplyByteBudget, bytes per second for all sources together (each shard enforces its share,
//    so the packet path shares no cache line between shards).
// Owner: SourceRateLimiter any thread (atomics); ReplyByteBudget its shard's thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "protocol/transport_address.hpp"

namespace turnd::server {

using SteadyClock = std::chrono::steady_clock;

class SourceRateLimiter {
 public:
  /// `per_second` events (replies, connections) a second per source, in bursts of up to
  /// `burst` (0: twice the rate); `per_second` 0 = no limit.
  /// `epoch`: a time of the clock that `allow` will be given, at or before its first call.
  SourceRateLimiter(unsigned per_second, SteadyClock::time_point epoch, unsigned burst = 0);
  bool allow(const protocol::IpAddress& source, SteadyClock::time_point now) noexcept;
  /// A reload's new rate (0 = no limit); any thread.
  void set_rate(unsigned per_second, unsigned burst = 0) noexcept;

  static constexpr std::size_t kRows = 3;
  static constexpr std::size_t kBucketsPerRow = 1 << 17;  // 3 rows x 128 Ki x 8 bytes = 3 MiB

 private:
  std::size_t bucket(std::size_t row, std::uint64_t key_bits, bool v6) const noexcept;

  // One word, so a reload changes the rate and its burst together: interval in the low 32
  // bits (ns, at most 1 s), burst (replies) in the high 32; 0 = no limit.
  std::atomic<std::uint64_t> rate_{0};
  SteadyClock::time_point epoch_;
  std::array<std::uint64_t, kRows> keys_{};
  // Theoretical arrival times (ns), used through std::atomic_ref. From calloc: the kernel's
  // zero pages, resident only once a source's bucket is first written (3 MiB if all are).
  struct Free {
    void operator()(std::int64_t* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<std::int64_t[], Free> tat_;
};

/// Bytes per second of unauthenticated replies for one shard (single-threaded).
class ReplyByteBudget {
 public:
  /// `bytes_per_second` for this shard, bursts of one second's worth; 0 = no limit.
  /// `epoch` as for SourceRateLimiter.
  ReplyByteBudget(std::uint64_t bytes_per_second, SteadyClock::time_point epoch);
  bool allow(std::size_t bytes, SteadyClock::time_point now) noexcept;
  /// A reload's new rate (this shard's thread).
  void set_rate(std::uint64_t bytes_per_second) noexcept { rate_ = bytes_per_second; }

 private:
  std::uint64_t rate_ = 0;
  std::int64_t tat_ns_ = 0;
  SteadyClock::time_point epoch_;
};

}  // namespace turnd::server
