// Per-source budgets of the web listener: token buckets (requests, credentials, signalling
// messages) and a connection count per source IP (IPv6 /64, server/source_key.hpp). Used on
// the control thread only, so no lock. The tables are bounded: an attacker with many
// addresses fills them and then is refused, instead of growing them.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <unordered_map>

#include "server/source_key.hpp"
#include "server/token_bucket.hpp"

namespace turnd::server {

/// One TokenBucket per source, at most `max_sources` of them.
class SourceRate {
 public:
  SourceRate(double burst, double per_second, std::size_t max_sources) noexcept
      : burst_(burst), rate_(per_second), max_(max_sources) {}
  bool take(const protocol::IpAddress& source, TokenBucket::Clock::time_point now) {
    const SourceKey key = SourceKey::of(source);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      if (buckets_.size() >= max_) forget_full(now);
      if (buckets_.size() >= max_) return false;
      it = buckets_.emplace(key, TokenBucket{burst_, rate_, now}).first;
    }
    return it->second.take(now);
  }
  std::size_t sources() const noexcept { return buckets_.size(); }

 private:
  void forget_full(TokenBucket::Clock::time_point now) {
    std::erase_if(buckets_, [now](auto& kv) { return kv.second.full(now); });
  }
  double burst_, rate_;
  std::size_t max_;
  std::unordered_map<SourceKey, TokenBucket, SourceKeyHash> buckets_;
};

/// Open connections per source and in total.
class SourceConnections {
 public:
  SourceConnections(unsigned per_source, unsigned total) noexcept
      : per_source_(per_source), total_limit_(total) {}
  bool acquire(const protocol::IpAddress& source) {
    if (total_ >= total_limit_) return false;
    unsigned& n = by_source_[SourceKey::of(source)];
    if (n >= per_source_) return false;
    ++n, ++total_;
    return true;
  }
  void release(const protocol::IpAddress& source) noexcept {
    const auto it = by_source_.find(SourceKey::of(source));
    if (it == by_source_.end()) return;
    --total_;
    if (--it->second == 0) by_source_.erase(it);
  }
  unsigned open() const noexcept { return total_; }
  /// Whether the total limit refuses the next connection (else acquire's false is per source).
  bool full() const noexcept { return total_ >= total_limit_; }

 private:
  unsigned per_source_, total_limit_, total_ = 0;
  std::unordered_map<SourceKey, unsigned, SourceKeyHash> by_source_;
};

}  // namespace turnd::server
