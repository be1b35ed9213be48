// Per-source-IP token buckets for answers that cost the server more than the request cost the
// sender (401/438 challenges are ~4x a bare Allocate: an amplification vector with spoofed UDP
// sources). One limiter per shard, so no locking; a client always hashes to the same shard.
#pragma once

#include <chrono>
#include <unordered_map>

#include "protocol/transport_address.hpp"

namespace turnd::server {

class RateLimiter {
 public:
  /// `per_second` tokens a second, bursts up to twice that; 0 disables the limiter.
  explicit RateLimiter(unsigned per_second) : rate_(per_second) {}

  bool allow(const protocol::IpAddress& ip, std::chrono::steady_clock::time_point now) {
    if (rate_ == 0) return true;
    if (now - last_sweep_ > std::chrono::seconds(4)) {
      sweep(now);
      last_sweep_ = now;
    }
    if (buckets_.size() >= kMaxSources) buckets_.clear();  // bounded memory under a flood
    auto [it, fresh] = buckets_.try_emplace(ip, Bucket{2.0 * rate_, now});
    Bucket& b = it->second;
    if (!fresh) {
      const double elapsed = std::chrono::duration<double>(now - b.last).count();
      b.tokens = std::min(2.0 * rate_, b.tokens + elapsed * rate_);
      b.last = now;
    }
    if (b.tokens < 1.0) return false;
    b.tokens -= 1.0;
    return true;
  }
  /// Forgets sources idle long enough to have a full bucket again.
  void sweep(std::chrono::steady_clock::time_point now) {
    std::erase_if(buckets_,
                  [&](const auto& kv) { return now - kv.second.last > std::chrono::seconds(4); });
  }

 private:
  static constexpr std::size_t kMaxSources = 100'000;
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point last;
  };
  struct IpHash {
    std::size_t operator()(const protocol::IpAddress& ip) const noexcept {
      return protocol::TransportAddressHash{}(protocol::TransportAddress{ip, 0});
    }
  };
  unsigned rate_;
  std::chrono::steady_clock::time_point last_sweep_{};
  std::unordered_map<protocol::IpAddress, Bucket, IpHash> buckets_;
};

}  // namespace turnd::server
