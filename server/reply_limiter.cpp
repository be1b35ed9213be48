#include "server/reply_limiter.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <new>

#include "server/source_key.hpp"

namespace turnd::server {

namespace {
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

std::int64_t since(SteadyClock::time_point epoch, SteadyClock::time_point now) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(now - epoch).count();
}

/// splitmix64 finaliser over a keyed input: cheap, and the random key keeps an attacker from
/// choosing sources that land in a victim's bucket.
std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
}  // namespace

SourceRateLimiter::SourceRateLimiter(unsigned per_second, SteadyClock::time_point epoch,
                                     unsigned burst)
    : epoch_(epoch) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(keys_.data()), sizeof keys_) != 1)
    for (std::size_t i = 0; i < kRows; ++i)
      keys_[i] = mix(static_cast<std::uint64_t>(epoch_.time_since_epoch().count()) + i);
  // Allocated even when off, so that a reload can turn the limit on.
  tat_.reset(static_cast<std::int64_t*>(std::calloc(kRows * kBucketsPerRow, sizeof(std::int64_t))));
  if (!tat_) throw std::bad_alloc();
  set_rate(per_second, burst);
}

void SourceRateLimiter::set_rate(unsigned per_second, unsigned burst) noexcept {
  const std::uint64_t interval = per_second == 0 ? 0 : kNanosPerSecond / per_second;
  // GCRA's tolerance: how many events beyond the first may come at once.
  const std::uint64_t at_once = burst != 0 ? burst : 2 * static_cast<std::uint64_t>(per_second);
  const std::uint64_t tolerance = per_second == 0 ? 0 : at_once - 1;
  rate_.store(interval | (std::min<std::uint64_t>(tolerance, 0xFFFFFFFF) << 32),
              std::memory_order_relaxed);
}

std::size_t SourceRateLimiter::bucket(std::size_t row, std::uint64_t key_bits,
                                      bool v6) const noexcept {
  const std::uint64_t h = mix(key_bits ^ keys_[row] ^ (v6 ? 0x8000000000000000ull : 0));
  return row * kBucketsPerRow + (h % kBucketsPerRow);
}

bool SourceRateLimiter::allow(const protocol::IpAddress& source,
                              SteadyClock::time_point now) noexcept {
  const std::uint64_t rate = rate_.load(std::memory_order_relaxed);
  const auto interval_ns = static_cast<std::int64_t>(rate & 0xFFFFFFFF);
  if (interval_ns == 0) return true;
  const std::int64_t tolerance_ns = interval_ns * static_cast<std::int64_t>(rate >> 32);
  const SourceKey key = SourceKey::of(source);
  const std::int64_t t = since(epoch_, now);
  std::array<std::int64_t*, kRows> cells;
  for (std::size_t row = 0; row < kRows; ++row) cells[row] = &tat_[bucket(row, key.bits, key.v6)];
  for (;;) {
    // Count-min: the source's own use is at most that of its least used bucket.
    std::int64_t tat = std::numeric_limits<std::int64_t>::max();
    std::size_t least = 0;
    for (std::size_t row = 0; row < kRows; ++row) {
      const std::int64_t v = std::atomic_ref{*cells[row]}.load(std::memory_order_relaxed);
      if (v < tat) tat = v, least = row;
    }
    if (tat - t > tolerance_ns) return false;
    const std::int64_t next = std::max(tat, t) + interval_ns;
    // Take the slot on the bucket that decided: of two shards that read the same value, one
    // wins and the other looks again (a plain raise let both through, doubling a burst).
    if (!std::atomic_ref{*cells[least]}.compare_exchange_strong(tat, next,
                                                                std::memory_order_relaxed))
      continue;
    for (std::size_t row = 0; row < kRows; ++row) {  // conservative update of the others
      if (row == least) continue;
      std::atomic_ref cell{*cells[row]};
      std::int64_t seen = cell.load(std::memory_order_relaxed);
      while (seen < next && !cell.compare_exchange_weak(seen, next, std::memory_order_relaxed)) {
      }
    }
    return true;
  }
}

ReplyByteBudget::ReplyByteBudget(std::uint64_t bytes_per_second, SteadyClock::time_point epoch)
    : rate_(bytes_per_second), epoch_(epoch) {}

bool ReplyByteBudget::allow(std::size_t bytes, SteadyClock::time_point now) noexcept {
  if (rate_ == 0) return true;
  const std::int64_t t = since(epoch_, now);
  // Replies are at most a few KiB: the product stays far inside 64 bits.
  const auto cost =
      static_cast<std::int64_t>(std::min<std::uint64_t>(bytes, 1 << 20) * kNanosPerSecond / rate_);
  const std::int64_t next = std::max(tat_ns_, t) + cost;
  if (next - t > kNanosPerSecond) return false;  // more than one second's worth in flight
  tat_ns_ = next;
  return true;
}

}  // namespace turnd::server
