// RateLimiter: a token bucket per source IP with a burst of twice the rate, on a manual clock.
#include "server/rate_limiter.hpp"

#include <gtest/gtest.h>

#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::ip;
const auto kT0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

/// How many of `n` requests at `now` the limiter lets through.
int allowed(RateLimiter& r, const protocol::IpAddress& from, int n,
            std::chrono::steady_clock::time_point now) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += r.allow(from, now) ? 1 : 0;
  return ok;
}

TEST(RateLimiter, BurstOfTwiceTheRateThenRefusal) {
  RateLimiter r{5};
  EXPECT_EQ(allowed(r, ip("192.0.2.1"), 10, kT0), 10);
  EXPECT_FALSE(r.allow(ip("192.0.2.1"), kT0));
  EXPECT_FALSE(r.allow(ip("192.0.2.1"), kT0 + milliseconds{100})) << "half a token";
}

TEST(RateLimiter, RefillsAtTheRate) {
  RateLimiter r{5};
  const auto a = ip("192.0.2.1");
  ASSERT_EQ(allowed(r, a, 10, kT0), 10);
  EXPECT_EQ(allowed(r, a, 10, kT0 + milliseconds{200}), 1);
  EXPECT_EQ(allowed(r, a, 10, kT0 + milliseconds{1200}), 5);
  EXPECT_EQ(allowed(r, a, 10, kT0 + milliseconds{1300}), 0);
}

TEST(RateLimiter, RefillIsCappedAtTheBurst) {
  RateLimiter r{5};
  const auto a = ip("192.0.2.1");
  ASSERT_EQ(allowed(r, a, 10, kT0), 10);
  EXPECT_EQ(allowed(r, a, 100, kT0 + seconds{3}), 10) << "3 s refill 15, capped at 10";
  EXPECT_EQ(allowed(r, a, 100, kT0 + seconds{100}), 10) << "an idle source starts full";
}

TEST(RateLimiter, ZeroDisables) {
  RateLimiter r{0};
  EXPECT_EQ(allowed(r, ip("192.0.2.1"), 100'000, kT0), 100'000);
}

TEST(RateLimiter, SourcesAreIndependent) {
  RateLimiter r{3};
  const auto a = ip("192.0.2.1"), b = ip("192.0.2.2"), v6 = ip("2001:db8::1"),
             mapped = ip("::ffff:192.0.2.1");
  ASSERT_EQ(allowed(r, a, 6, kT0), 6);
  EXPECT_FALSE(r.allow(a, kT0));
  EXPECT_EQ(allowed(r, b, 10, kT0), 6);
  EXPECT_EQ(allowed(r, v6, 10, kT0), 6);
  EXPECT_EQ(allowed(r, mapped, 10, kT0), 6) << "keys are addresses as given";
  EXPECT_FALSE(r.allow(a, kT0)) << "others did not refill a";
}

TEST(RateLimiter, SweepForgetsOnlyIdleSources) {
  RateLimiter r{1};
  const auto a = ip("192.0.2.1"), b = ip("192.0.2.2");
  ASSERT_EQ(allowed(r, a, 2, kT0), 2);
  ASSERT_EQ(allowed(r, b, 2, kT0 + seconds{3}), 2);
  r.sweep(kT0 + seconds{5});  // a idle 5 s: forgotten (full again); b idle 2 s: kept
  EXPECT_EQ(allowed(r, a, 5, kT0 + seconds{5}), 2);
  EXPECT_EQ(allowed(r, b, 5, kT0 + seconds{5}), 2) << "2 s at 1/s refilled 2";
  EXPECT_EQ(allowed(r, b, 5, kT0 + seconds{5}), 0);
}

}  // namespace
}  // namespace turnd::server
