// Which thread may touch an object. Convention: every class in server/ says in its header
// comment who owns it:
//   "Owner: its shard's thread"     - no locks; other threads reach it only through post()
//   "Owner: any thread"             - atomics or a mutex inside; safe to share
//   "Owner: the control thread"     - main/reload path only, never per packet
// Shard-owned state also checks it: in builds with assertions (Debug, sanitizer and fuzz
// builds) touching it from another thread while the shard runs aborts with file and line.
#pragma once

#include <atomic>
#include <thread>

#include "protocol/result.hpp"

namespace turnd::server {

class ThreadOwner {
 public:
  /// From now on only the calling thread may touch the owned state (Shard::run).
  void bind_to_current_thread() noexcept {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  /// The owning thread is done (its event loop returned): anyone may tear the state down.
  void release() noexcept { owner_.store(std::thread::id{}, std::memory_order_relaxed); }
  /// True before the shard runs (construction, tests driving a shard directly), and on the
  /// owning thread while it does.
  bool on_owner_thread() const noexcept {
    const auto owner = owner_.load(std::memory_order_relaxed);
    return owner == std::thread::id{} || owner == std::this_thread::get_id();
  }

 private:
  std::atomic<std::thread::id> owner_{};
};

}  // namespace turnd::server

/// Aborts (in builds with assertions) when the shard-owned state is touched off its thread.
#define TURND_ASSERT_OWNER(owner) TURND_ASSERT((owner).on_owner_thread())
