// RelayPortPool: exhaustion, EVEN-PORT, even pairs with reservation tokens (RFC 8656 §7.2),
// give_back, the in_use/capacity accounting and the lock-free live-port bitmap.
#include "server/relay_port_pool.hpp"

#include <gtest/gtest.h>

#include <set>

namespace turnd::server {
namespace {

using std::chrono::seconds;
const auto kNow = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);

TEST(RelayPortPool, TakesEveryPortOnceThenNothing) {
  RelayPortPool pool{{50000, 50009}};
  EXPECT_EQ(pool.capacity(), 10u);
  std::set<std::uint16_t> taken;
  for (int i = 0; i < 10; ++i) {
    auto p = pool.take(false);
    ASSERT_TRUE(p) << "take #" << i;
    EXPECT_GE(*p, 50000);
    EXPECT_LE(*p, 50009);
    taken.insert(*p);
    EXPECT_EQ(pool.in_use(), static_cast<std::size_t>(i + 1));
  }
  EXPECT_EQ(taken.size(), 10u) << "no port handed out twice";
  EXPECT_FALSE(pool.take(false));
  EXPECT_FALSE(pool.take(true));
  EXPECT_EQ(pool.in_use(), 10u);
}

TEST(RelayPortPool, GiveBackMakesThePortAvailableAgain) {
  RelayPortPool pool{{50000, 50001}};
  const auto a = pool.take(false), b = pool.take(false);
  ASSERT_TRUE(a && b);
  ASSERT_FALSE(pool.take(false));
  pool.give_back(*a);
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.take(false), a);
  pool.give_back(*a);
  pool.give_back(*a);  // twice: counted once
  EXPECT_EQ(pool.in_use(), 1u);
  pool.give_back(40000);  // outside the range: ignored
  EXPECT_EQ(pool.in_use(), 1u);
  pool.give_back(*b);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(RelayPortPool, EvenTakesOnlyEvenPorts) {
  RelayPortPool pool{{50001, 50010}};  // evens: 50002 .. 50010
  std::set<std::uint16_t> taken;
  for (int i = 0; i < 5; ++i) {
    auto p = pool.take(true);
    ASSERT_TRUE(p);
    EXPECT_EQ(*p % 2, 0) << *p;
    taken.insert(*p);
  }
  EXPECT_EQ(taken, (std::set<std::uint16_t>{50002, 50004, 50006, 50008, 50010}));
  EXPECT_FALSE(pool.take(true)) << "only odd ports left";
  EXPECT_EQ(pool.in_use(), 5u);
  auto odd = pool.take(false);
  ASSERT_TRUE(odd);
  EXPECT_EQ(*odd % 2, 1);
}

TEST(RelayPortPool, EvenPairHoldsTheSuccessorUnderAToken) {
  RelayPortPool pool{{50000, 50003}};
  auto pair = pool.take_even_pair(kNow + seconds{30});
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->port % 2, 0);
  EXPECT_EQ(pool.in_use(), 2u);
  EXPECT_FALSE(pool.redeem(ReservationTokenBytes{1, 2, 3, 4, 5, 6, 7, 8}, kNow)) << "unknown";

  const auto next = pool.redeem(pair->token, kNow + seconds{29});
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, pair->port + 1);
  EXPECT_FALSE(pool.redeem(pair->token, kNow)) << "a token works once";
  EXPECT_EQ(pool.in_use(), 2u);
  pool.give_back(pair->port);
  pool.give_back(*next);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(RelayPortPool, ExpiredTokenFreesTheHeldPort) {
  RelayPortPool pool{{50000, 50001}};
  auto pair = pool.take_even_pair(kNow + seconds{30});
  ASSERT_TRUE(pair);
  EXPECT_FALSE(pool.redeem(pair->token, kNow + seconds{31}));
  EXPECT_EQ(pool.in_use(), 1u) << "only the even port is still in use";
  EXPECT_EQ(pool.take(false), std::optional<std::uint16_t>(50001));
}

TEST(RelayPortPool, ExpireReservationsFreesUnredeemedPorts) {
  RelayPortPool pool{{50000, 50001}};
  auto pair = pool.take_even_pair(kNow + seconds{30});
  ASSERT_TRUE(pair);
  pool.expire_reservations(kNow + seconds{30});  // not yet: expiry is inclusive
  EXPECT_EQ(pool.in_use(), 2u);
  pool.expire_reservations(kNow + seconds{31});
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_FALSE(pool.redeem(pair->token, kNow));
}

TEST(RelayPortPool, EvenPairNeedsBothPortsInTheRange) {
  RelayPortPool odd_start{{50001, 50002}};  // 50002's successor is outside
  EXPECT_FALSE(odd_start.take_even_pair(kNow));
  EXPECT_EQ(odd_start.in_use(), 0u);

  RelayPortPool top{{65534, 65535}};
  auto pair = top.take_even_pair(kNow + seconds{30});
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->port, 65534);
  EXPECT_EQ(top.redeem(pair->token, kNow), std::optional<std::uint16_t>(65535));

  RelayPortPool busy{{50000, 50001}};
  ASSERT_TRUE(busy.take(false));
  EXPECT_FALSE(busy.take_even_pair(kNow)) << "one of the two is taken";
}

TEST(RelayPortPool, TokensAreDistinct) {
  RelayPortPool pool{{50000, 50007}};
  auto a = pool.take_even_pair(kNow), b = pool.take_even_pair(kNow);
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->token, b->token);
  EXPECT_NE(a->port, b->port);
}

TEST(RelayPortPool, CapacityOfTheDefaultRange) {
  RelayPortPool pool{config::PortRange{}};
  EXPECT_EQ(pool.capacity(), 65535u - 49152u + 1u);
  EXPECT_EQ(pool.in_use(), 0u);
}

}  // namespace
}  // namespace turnd::server
