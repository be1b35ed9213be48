#include "server/connection_limiter.hpp"

#include <algorithm>

namespace turnd::server {

namespace {
/// A source may open all of its per-source slots at once, or twice the rate if more.
unsigned burst_of(const ConnectionLimiter::Limits& l) noexcept {
  return std::max(2 * l.per_second, l.per_source);
}
}  // namespace

ConnectionLimiter::ConnectionLimiter(const Limits& limits, const Clock& clock)
    : limits_(limits), clock_(clock), rate_(limits.per_second, clock.steady(), burst_of(limits)) {}

ConnectionLimiter::Verdict ConnectionLimiter::acquire(const protocol::IpAddress& source) {
  std::lock_guard lock{mutex_};
  if (limits_.total != 0 && total_.load(std::memory_order_relaxed) >= limits_.total)
    return Verdict::Total;
  const bool exempt = !limits_.limit_loopback && is_loopback(source);
  auto& n = by_source_[SourceKey::of(source)];
  if (limits_.per_source != 0 && n >= limits_.per_source && !exempt) return Verdict::PerSource;
  // Only a connection that would be served spends from the source's rate.
  if (!exempt && !rate_.allow(source, clock_.steady())) {
    if (n == 0) by_source_.erase(SourceKey::of(source));
    return Verdict::Rate;
  }
  ++n;
  total_.fetch_add(1, std::memory_order_relaxed);
  return Verdict::Ok;
}

void ConnectionLimiter::set_limits(const Limits& limits) {
  std::lock_guard lock{mutex_};
  limits_ = limits;
  rate_.set_rate(limits.per_second, burst_of(limits));
}

void ConnectionLimiter::release(const protocol::IpAddress& source) noexcept {
  std::lock_guard lock{mutex_};
  auto it = by_source_.find(SourceKey::of(source));
  if (it == by_source_.end()) return;
  if (--it->second == 0) by_source_.erase(it);
  total_.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace turnd::server
