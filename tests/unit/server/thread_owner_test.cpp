// The shard-thread ownership check: silent before the shard runs and on its thread, an abort
// naming file and line from any other thread. Built with assertions on (as Debug, sanitizer and
// fuzz builds are), whatever this build's type.
#include "server/thread_owner.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace turnd::server {
namespace {

#if !defined(TURND_ENABLE_ASSERTS)
#error "thread_owner_test must be built with TURND_ENABLE_ASSERTS"
#endif

TEST(ThreadOwner, AnyThreadMayTouchItBeforeTheShardRuns) {
  ThreadOwner owner;
  std::thread other([&] { TURND_ASSERT_OWNER(owner); });
  other.join();
  TURND_ASSERT_OWNER(owner);
}

TEST(ThreadOwner, TheOwningThreadMayTouchIt) {
  ThreadOwner owner;
  std::thread shard([&] {
    owner.bind_to_current_thread();
    TURND_ASSERT_OWNER(owner);
    EXPECT_TRUE(owner.on_owner_thread());
  });
  shard.join();
}

TEST(ThreadOwnerDeathTest, AnotherThreadAbortsWithFileAndLine) {
  ThreadOwner owner;
  std::thread shard([&] { owner.bind_to_current_thread(); });
  shard.join();
  EXPECT_FALSE(owner.on_owner_thread());
  EXPECT_DEATH(TURND_ASSERT_OWNER(owner), "thread_owner_test.cpp:[0-9]+: assertion failed");
}

TEST(ThreadOwner, ReleasedAfterTheLoopEndsForTeardown) {
  ThreadOwner owner;
  std::thread shard([&] {
    owner.bind_to_current_thread();
    owner.release();
  });
  shard.join();
  TURND_ASSERT_OWNER(owner);
  EXPECT_TRUE(owner.on_owner_thread());
}

}  // namespace
}  // namespace turnd::server
