#include "server/clock.hpp"

namespace turnd::server {

namespace {
class SystemClock final : public Clock {
 public:
  SteadyTime steady() const noexcept override { return std::chrono::steady_clock::now(); }
  WallTime wall() const noexcept override { return std::chrono::system_clock::now(); }
};
}  // namespace

const Clock& system_clock() noexcept {
  static const SystemClock clock;
  return clock;
}

}  // namespace turnd::server
