// Counting allocation hooks for the "the hot path never allocates" tests (protocol_alloc_test,
// relay_alloc_test). Linking turnd_alloc_counter REPLACES the process-wide allocators: the
// global operator new/delete (every form) and the C allocator (malloc, calloc, realloc,
// aligned_alloc, memalign, posix_memalign, interposed and forwarded to glibc's __libc_* entry
// points; Boost.Asio takes its operation memory from aligned_alloc, not operator new). Link it
// only into a test executable of its own.
#pragma once

#include <utility>

namespace turnd::test {

struct Allocations {
  long new_calls = 0;  ///< operator new, any form
  long c_calls = 0;    ///< malloc & co. called by anything but operator new
  long total() const noexcept { return new_calls + c_calls; }
};

/// Resets both counts and starts counting on every thread.
void start_counting() noexcept;
/// Stops counting. With `report`, prints to stderr the stack of the first allocation of each
/// kind seen while counting (names need -rdynamic, which the library adds to the link).
Allocations stop_counting(bool report) noexcept;

/// Counts heap allocations while `f` runs. No gtest macro inside `f` (gtest allocates):
/// record results and assert afterwards.
template <class F>
Allocations allocations_during(F&& f, bool report = true) {
  start_counting();
  std::forward<F>(f)();
  return stop_counting(report);
}

}  // namespace turnd::test
