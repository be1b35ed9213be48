// A token bucket: `burst` tokens, refilled at `per_second`; take() spends one. Single-threaded
// (each user owns its buckets: the web listener's control thread, a shard's allocations).
#pragma once

#include <algorithm>
#include <chrono>

namespace turnd::server {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;
  /// Full at `now`; a bucket made with a time point long past is full at its first use.
  TokenBucket(double burst, double per_second, Clock::time_point now) noexcept
      : burst_(burst), rate_(per_second), tokens_(burst), last_(now) {}
  bool take(Clock::time_point now) noexcept {
    refill(now);
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }
  /// Whether it is full again at `now` (then it may be forgotten).
  bool full(Clock::time_point now) const noexcept {
    const double s = std::chrono::duration<double>(now - last_).count();
    return tokens_ + std::max(0.0, s) * rate_ >= burst_;
  }

 private:
  void refill(Clock::time_point now) noexcept {
    const double s = std::chrono::duration<double>(now - last_).count();
    if (s > 0) tokens_ = std::min(burst_, tokens_ + s * rate_), last_ = now;
  }
  double burst_, rate_, tokens_;
  Clock::time_point last_;
};

}  // namespace turnd::server
