// ConnectionLimiter: per source IP (IPv6 /64) and in total.
#include "server/connection_limiter.hpp"

#include <gtest/gtest.h>

namespace turnd::server {
namespace {

protocol::IpAddress ip(std::string_view text) { return *protocol::IpAddress::parse(text); }
using V = ConnectionLimiter::Verdict;

TEST(ConnectionLimiter, PerSourceThenOthersStillGetIn) {
  ConnectionLimiter l{2, 0};
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::PerSource);
  EXPECT_EQ(l.acquire(ip("192.0.2.2")), V::Ok);
  EXPECT_EQ(l.open(), 3u);
  l.release(ip("192.0.2.1"));
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
}

TEST(ConnectionLimiter, Ipv6CountsPerSlash64) {
  ConnectionLimiter l{2, 0};
  EXPECT_EQ(l.acquire(ip("2001:db8:0:1::1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("2001:db8:0:1::2")), V::Ok);
  EXPECT_EQ(l.acquire(ip("2001:db8:0:1:abcd::3")), V::PerSource);
  EXPECT_EQ(l.acquire(ip("2001:db8:0:2::1")), V::Ok);
}

TEST(ConnectionLimiter, TotalLimit) {
  ConnectionLimiter l{0, 3};
  for (int i = 0; i < 3; ++i) EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
  EXPECT_EQ(l.acquire(ip("192.0.2.9")), V::Total);
  l.release(ip("192.0.2.1"));
  EXPECT_EQ(l.acquire(ip("192.0.2.9")), V::Ok);
  EXPECT_EQ(l.open(), 3u);
}

TEST(ConnectionLimiter, LoopbackCountsOnlyAgainstTheTotalUnlessAsked) {
  ConnectionLimiter exempt{1, 3, false};
  EXPECT_EQ(exempt.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(exempt.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(exempt.acquire(ip("::1")), V::Ok);
  EXPECT_EQ(exempt.acquire(ip("::1")), V::Total);
  exempt.release(ip("::1"));
  EXPECT_EQ(exempt.acquire(ip("192.0.2.1")), V::Ok);
  ConnectionLimiter strict{1, 0, true};
  EXPECT_EQ(strict.acquire(ip("127.0.0.1")), V::Ok);
  EXPECT_EQ(strict.acquire(ip("127.0.0.1")), V::PerSource);
}

TEST(ConnectionLimiter, ReloadedLimitsApplyToNewConnections) {
  ConnectionLimiter l{0, 0};
  const auto a = *protocol::IpAddress::parse("192.0.2.1");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(l.acquire(a), ConnectionLimiter::Verdict::Ok);
  l.set_limits(2, 0, true);
  EXPECT_EQ(l.acquire(a), ConnectionLimiter::Verdict::PerSource) << "3 open, 2 allowed";
  l.release(a);
  l.release(a);
  EXPECT_EQ(l.acquire(a), ConnectionLimiter::Verdict::Ok);
  l.set_limits(0, 2, true);
  EXPECT_EQ(l.acquire(*protocol::IpAddress::parse("192.0.2.2")), ConnectionLimiter::Verdict::Total);
}

TEST(ConnectionLimiter, ReleaseOfAnUnknownSourceChangesNothing) {
  ConnectionLimiter l{1, 1};
  l.release(ip("192.0.2.1"));
  EXPECT_EQ(l.open(), 0u);
  EXPECT_EQ(l.acquire(ip("192.0.2.1")), V::Ok);
}

}  // namespace
}  // namespace turnd::server
