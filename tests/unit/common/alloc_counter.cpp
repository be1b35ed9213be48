// The replaced allocators of alloc_counter.hpp. Counting is off until start_counting(); the
// stack of the first allocation of each kind is recorded with backtrace().
#include "alloc_counter.hpp"

#include <execinfo.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <new>

namespace {

struct AllocCount {
  std::atomic<long> calls{0};
  void* stack[48];
  int depth = 0;
};
std::atomic<bool> g_counting{false};
AllocCount g_new, g_c;
// The first backtrace() loads the unwinder (malloc, dlopen): do it now, not while counting.
const int g_unwinder_loaded = backtrace(g_new.stack, 1);

void note(AllocCount& c) noexcept {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  if (c.calls.fetch_add(1) == 0) {
    g_counting = false;  // backtrace() must not count itself
    c.depth = backtrace(c.stack, 48);
    g_counting = true;
  }
}

void print_first(const char* what, const AllocCount& c) {
  if (c.calls.load() == 0) return;
  std::fprintf(stderr, "first %s while counting (%ld in all):\n", what, c.calls.load());
  backtrace_symbols_fd(c.stack, c.depth, 2);
}

}  // namespace

extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
void __libc_free(void*) noexcept;

void* malloc(std::size_t n) noexcept {
  note(g_c);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  note(g_c);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
  note(g_c);
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  note(g_c);
  return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
  note(g_c);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  note(g_c);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) noexcept { __libc_free(p); }
}

namespace {
void* counted_new(std::size_t size, std::size_t align = 0) {
  note(g_new);
  if (size == 0) size = 1;
  void* p = align > alignof(std::max_align_t) ? __libc_memalign(align, size) : __libc_malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }

namespace turnd::test {

void start_counting() noexcept {
  g_new.calls = 0;
  g_c.calls = 0;
  g_counting = true;
}

Allocations stop_counting(bool report) noexcept {
  g_counting = false;
  if (report) {
    print_first("operator new", g_new);
    print_first("C allocation", g_c);
  }
  return {g_new.calls.load(), g_c.calls.load()};
}

}  // namespace turnd::test
