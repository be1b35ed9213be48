#include "server/connection_limiter.hpp"

namespace turnd::server {

ConnectionLimiter::Verdict ConnectionLimiter::acquire(const protocol::IpAddress& source) {
  std::lock_guard lock{mutex_};
  if (total_limit_ != 0 && total_.load(std::memory_order_relaxed) >= total_limit_)
    return Verdict::Total;
  auto& n = by_source_[SourceKey::of(source)];
  if (per_source_ != 0 && n >= per_source_ && (limit_loopback_ || !is_loopback(source)))
    return Verdict::PerSource;
  ++n;
  total_.fetch_add(1, std::memory_order_relaxed);
  return Verdict::Ok;
}

void ConnectionLimiter::set_limits(unsigned per_source, unsigned total, bool limit_loopback) {
  std::lock_guard lock{mutex_};
  per_source_ = per_source;
  total_limit_ = total;
  limit_loopback_ = limit_loopback;
}

void ConnectionLimiter::release(const protocol::IpAddress& source) noexcept {
  std::lock_guard lock{mutex_};
  auto it = by_source_.find(SourceKey::of(source));
  if (it == by_source_.end()) return;
  if (--it->second == 0) by_source_.erase(it);
  total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace turnd::server
