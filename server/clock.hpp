// The one clock of the protocol state: allocation, permission, channel and reservation expiry
// (steady time) and credential and nonce expiry (wall time). A shard reads it once per event
// (EventClock) and passes that `now` down, so expiry is data that a test moves with a
// ManualClock instead of sleeping. Asio timers still wait on the real steady clock; they only
// decide *when* to look, while what has expired is judged by this clock.
#pragma once

#include <chrono>

namespace turnd::server {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime steady() const noexcept = 0;
  virtual WallTime wall() const noexcept = 0;
  std::chrono::sys_seconds wall_seconds() const noexcept {
    return std::chrono::time_point_cast<std::chrono::seconds>(wall());
  }
};

/// The operating system's clocks; what the server runs on.
const Clock& system_clock() noexcept;

/// A clock that moves only when told: tests set and advance it; both times move together.
/// Not thread-safe: the test drives it from the thread that runs the shard.
class ManualClock final : public Clock {
 public:
  ManualClock() = default;
  ManualClock(SteadyTime steady, WallTime wall) : steady_(steady), wall_(wall) {}
  SteadyTime steady() const noexcept override { return steady_; }
  WallTime wall() const noexcept override { return wall_; }
  void advance(std::chrono::nanoseconds d) noexcept {
    steady_ += d;
    wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  }

 private:
  // Any fixed origin will do; a wall time in 2025 keeps REST expiries realistic.
  SteadyTime steady_{std::chrono::hours{1000}};
  WallTime wall_{std::chrono::seconds{1735689600}};  // 2025-01-01T00:00:00Z
};

/// One event's time: the steady time read when the event starts (a client datagram or stream
/// frame, a relay socket wake-up, a sweep, a task the control thread posts) and the wall time
/// read on first use within it (most events never need it).
class EventClock {
 public:
  explicit EventClock(const Clock& clock) noexcept : clock_(clock), steady_(clock.steady()) {}
  /// Starts an event: later reads see this instant.
  void tick() noexcept {
    steady_ = clock_.steady();
    wall_known_ = false;
  }
  SteadyTime steady() const noexcept { return steady_; }
  WallTime wall() const noexcept {
    if (!wall_known_) {
      wall_ = clock_.wall();
      wall_known_ = true;
    }
    return wall_;
  }
  std::chrono::sys_seconds wall_seconds() const noexcept {
    return std::chrono::time_point_cast<std::chrono::seconds>(wall());
  }

 private:
  const Clock& clock_;
  SteadyTime steady_;
  mutable WallTime wall_{};
  mutable bool wall_known_ = false;
};

}  // namespace turnd::server
