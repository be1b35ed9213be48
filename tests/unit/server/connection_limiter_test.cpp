// ConnectionLimiter: per source IP (IPv6 /64) and in total, and new ones per source and second.
#include "server/connection_limiter.hpp"

#include <gtest/gtest.h>

namespace turnd::server {
namespace {

protocol::IpAddress ip(std::string_view text) { return *protocol::IpAddress::parse(text); }
using V = ConnectionLimiter::Verdict;
using Limits = ConnectionLimiter::Limits;

Limits open_at_once(unsigned per_source, unsigned total, bool limit_loopback = true) {
  return {
      .per_source = per_source, .total = total, .per_second = 0, .limit_loopback = limit_loopback};
}

TEST(ConnectionLimiter, PerSourceThenOthersStillGetIn) {
  ConnectionLimiter l{open_at_once(2, 0)};
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::PerSource);
  EXPECT_EQ(l.acquire(ip("192.0.2.2")), V::Ok);
  EXPECT_EQ(l.open(), 3u);
  l.release(ip("192.0.2.1"));
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
}

TEST(ConnectionLimiter, Ipv6CountsPerSlash64) {
  ConnectionLimiter l{open_at_once(2, 0)};
  EXPECT_EQ(l.acquire(ip("2001:db8:0:1::1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("2001:db8:0:1::2")), V::Ok);
  EXPECT_EQ(l.acquire(ip("2001:db8:0:1:abcd::3")), V::PerSource);
  EXPECT_EQ(l.acquire(ip("2001:db8:0:2::1")), V::Ok);
}

TEST(ConnectionLimiter, TotalLimit) {
  ConnectionLimiter l{open_at_once(0, 3)};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("192.0.2.9")), V::Total);
  l.release(ip("192.0.2.1"));
  EXPECT_EQ(l.acquire(ip("192.0.2.9")), V::Ok);
  EXPECT_EQ(l.open(), 3u);
}

TEST(ConnectionLimiter, LoopbackCountsOnlyAgainstTheTotalUnlessAsked) {
  ConnectionLimiter exempt{open_at_once(1, 3, false)};
  EXPECT_EQ(exempt.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(exempt.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(exempt.acquire(ip("::1")), V::Ok);
  EXPECT_EQ(exempt.acquire(ip("::1")), V::Total);
  exempt.release(ip("::1"));
  EXPECT_EQ(exempt.acquire(ip("192.0.2.1")), V::Ok);
  ConnectionLimiter strict{open_at_once(1, 0, true)};
  EXPECT_EQ(strict.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(strict.acquire(ip("127.0.0.1")), V::PerSource);
}

TEST(ConnectionLimiter, ReloadedLimitsApplyToNewConnections) {
  ConnectionLimiter l{open_at_once(0, 0)};
  const auto a = *protocol::IpAddress::parse("192.0.2.1");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(l.acquire(a), ConnectionLimiter::Verdict::Ok);
  l.set_limits(open_at_once(2, 0));
  EXPECT_EQ(l.acquire(a), ConnectionLimiter::Verdict::PerSource) << "3 open, 2 allowed";
  l.release(a);
  l.release(a);
  EXPECT_EQ(l.acquire(a), ConnectionLimiter::Verdict::Ok);
  l.set_limits(open_at_once(0, 2));
  EXPECT_EQ(l.acquire(*protocol::IpAddress::parse("192.0.2.2")), ConnectionLimiter::Verdict::Total);
}

TEST(ConnectionLimiter, ReleaseOfAnUnknownSourceChangesNothing) {
  ConnectionLimiter l{open_at_once(1, 1)};
  l.release(ip("192.0.2.1"));
  EXPECT_EQ(l.open(), 0u);
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
}

TEST(ConnectionLimiter, NewConnectionsPerSecondInBurstsOfTwiceTheRate) {
  ManualClock clock;
  ConnectionLimiter l{{.per_source = 0, .total = 0, .per_second = 5, .limit_loopback = true},
                      clock};
  const auto a = ip("192.0.2.1");
  // Opened and closed at once, as a TLS handshake flood does: the open count never limits it.
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(l.acquire(a), V::Ok) << i;
    l.release(a);
  }
  EXPECT_EQ(l.acquire(a), V::Rate) << "the burst is twice the rate";
  EXPECT_EQ(l.acquire(ip("192.0.2.2")), V::Ok) << "another source has its own budget";
  EXPECT_EQ(l.acquire(ip("2001:db8:0:1::1")), V::Ok);
  clock.advance(std::chrono::milliseconds(199));
  EXPECT_EQ(l.acquire(a), V::Rate) << "5 a second: one every 200 ms";
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(l.acquire(a), V::Ok);
  EXPECT_EQ(l.acquire(a), V::Rate);
  EXPECT_EQ(l.open(), 3u) << "a refused connection holds no slot";
  clock.advance(std::chrono::seconds(10));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(l.acquire(a), V::Ok) << "full again after a pause";
}

TEST(ConnectionLimiter, ASourceMayFillAllItsSlotsAtOnceThenTheRateApplies) {
  ManualClock clock;
  ConnectionLimiter l{{.per_source = 32, .total = 0, .per_second = 10, .limit_loopback = true},
                      clock};
  const auto a = ip("192.0.2.1");
  for (int i = 0; i < 32; ++i) ASSERT_EQ(l.acquire(a), V::Ok) << i;
  for (int i = 0; i < 32; ++i) l.release(a);
  EXPECT_EQ(l.acquire(a), V::Rate) << "the burst is the 32 slots, not twice the rate";
  clock.advance(std::chrono::milliseconds(100));
  EXPECT_EQ(l.acquire(a), V::Ok);
  l.set_limits({.per_source = 4, .total = 0, .per_second = 10, .limit_loopback = true});
  const auto b = ip("192.0.2.2");
  for (int i = 0; i < 20; ++i, l.release(b)) ASSERT_EQ(l.acquire(b), V::Ok) << i;
  EXPECT_EQ(l.acquire(b), V::Rate) << "twice the rate when that is more than the slots";
}

TEST(ConnectionLimiter, ARefusalOverTheOpenLimitSpendsNoRate) {
  ManualClock clock;
  ConnectionLimiter l{{.per_source = 1, .total = 0, .per_second = 1, .limit_loopback = true},
                      clock};
  const auto a = ip("192.0.2.1");
  ASSERT_EQ(l.acquire(a), V::Ok);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(l.acquire(a), V::PerSource);
  l.release(a);
  EXPECT_EQ(l.acquire(a), V::Ok) << "the second of the burst of 2 is still there";
}

TEST(ConnectionLimiter, RateExemptsLoopbackUnlessAskedAndFollowsReloads) {
  ManualClock clock;
  ConnectionLimiter l{{.per_source = 0, .total = 0, .per_second = 1, .limit_loopback = false},
                      clock};
  for (int i = 0; i < 20; ++i) ASSERT_EQ(l.acquire(ip("127.0.0.1")), V::Ok);
  ASSERT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  ASSERT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Rate);
  l.set_limits({.per_source = 0, .total = 0, .per_second = 0, .limit_loopback = true});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok) << "0 = off";
  l.set_limits({.per_source = 0, .total = 0, .per_second = 1, .limit_loopback = true});
  clock.advance(std::chrono::seconds(5));
  EXPECT_EQ(l.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("127.0.0.1")), V::Rate) << "--limit-loopback";
}

}  // namespace
}  // namespace turnd::server
