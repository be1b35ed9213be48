// A bounded single-producer single-consumer ring of fixed-size slots: lock-free, and
// allocation-free once constructed. The producer fills a slot in place and publishes it; the
// consumer reads it in place and frees it. Full means full: the producer is told and drops,
// it never waits (the shard hand-off's rule, like a full socket buffer). Owner: exactly one
// producer thread and one consumer thread (which may change over time with a happens-before
// edge between the old and the new thread, e.g. a join).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace turnd::server::relay {

template <class T, std::size_t Capacity>
class SpscRing {
  static_assert(Capacity >= 2 && (Capacity & (Capacity - 1)) == 0, "a power of two");

 public:
  static constexpr std::size_t kCapacity = Capacity;

  // User-provided: `new SpscRing()` must not zero the slots (pages stay untouched until used).
  SpscRing() noexcept {}

  /// Producer: `fill(T&)` writes the next free slot, which is then published. Returns false
  /// (and calls nothing) when the ring is full.
  template <class Fill>
  bool try_push(Fill&& fill) noexcept {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_seen_ == Capacity) {
      head_seen_ = head_.load(std::memory_order_acquire);  // the slots the consumer freed
      if (tail - head_seen_ == Capacity) return false;
    }
    fill(slots_[tail & (Capacity - 1)]);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  /// Consumer: calls `f(T&)` on each item published before the call (at most Capacity, so
  /// one drain is bounded even when the producer keeps pushing), oldest first; each slot is
  /// freed when `f` returns. Returns how many.
  template <class F>
  std::size_t drain(F&& f) noexcept {
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    const auto n = static_cast<std::size_t>(tail - head);
    for (; head != tail; ++head) {
      f(slots_[head & (Capacity - 1)]);
      head_.store(head + 1, std::memory_order_release);
    }
    return n;
  }

  /// Items waiting; exact only when neither side is running.
  std::size_t size() const noexcept {
    return static_cast<std::size_t>(tail_.load(std::memory_order_acquire) -
                                    head_.load(std::memory_order_acquire));
  }

 private:
  // The two indexes on separate cache lines: each is written by one side only.
  alignas(64) std::atomic<std::uint64_t> head_{0};  // next slot to read (consumer)
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // next slot to fill (producer)
  std::uint64_t head_seen_ = 0;                     // producer's last look at head_
  alignas(64) std::array<T, Capacity> slots_;
};

}  // namespace turnd::server::relay
