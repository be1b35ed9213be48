// LiveRelays: the own-address guard asks for an exact (IP, port), not just a port; the
// hand-off between shards asks which shard owns it.
#include "server/live_relays.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace turnd::server {
namespace {

protocol::TransportAddress addr(std::string_view text) {
  return *protocol::TransportAddress::parse(text);
}

TEST(LiveRelays, MatchesExactIpAndPortOnly) {
  LiveRelays live;
  EXPECT_FALSE(live.contains(addr("127.0.0.1:50000")));
  ASSERT_TRUE(live.add(addr("127.0.0.1:50000")));
  EXPECT_TRUE(live.contains(addr("127.0.0.1:50000")));
  EXPECT_FALSE(live.contains(addr("127.0.0.2:50000"))) << "same port on another IP of the host";
  EXPECT_FALSE(live.contains(addr("127.0.0.1:50001")));
  EXPECT_FALSE(live.contains(addr("127.0.0.1:49999")));
  EXPECT_TRUE(live.contains(addr("[::ffff:127.0.0.1]:50000"))) << "IPv4-mapped form is the same";
  live.remove(addr("127.0.0.1:50000"));
  EXPECT_FALSE(live.contains(addr("127.0.0.1:50000")));
}

TEST(LiveRelays, PortsAreIndependent) {
  LiveRelays live;
  for (std::uint16_t p : {0, 63, 64, 65535}) ASSERT_TRUE(live.add({addr("[::1]:0").ip, p}));
  for (std::uint16_t p : {0, 63, 64, 65535}) EXPECT_TRUE(live.contains({addr("[::1]:0").ip, p}));
  for (std::uint16_t p : {1, 62, 65, 65534}) EXPECT_FALSE(live.contains({addr("[::1]:0").ip, p}));
  live.remove({addr("[::1]:0").ip, 64});
  EXPECT_FALSE(live.contains({addr("[::1]:0").ip, 64}));
  EXPECT_TRUE(live.contains({addr("[::1]:0").ip, 63}));
}

TEST(LiveRelays, KnowsTheShardThatOwnsEachAddress) {
  LiveRelays live;
  ASSERT_TRUE(live.add(addr("127.0.0.1:50000"), 0u));
  ASSERT_TRUE(live.add(addr("127.0.0.1:50001"), 15u));
  ASSERT_TRUE(live.add(addr("127.0.0.1:50002"), 1023u));  // config: at most 1024 threads
  ASSERT_TRUE(live.add(addr("127.0.0.1:50003")));  // bound behind an --external-ip: kernel only
  EXPECT_EQ(live.owner(addr("127.0.0.1:50000")), 0u);
  EXPECT_EQ(live.owner(addr("127.0.0.1:50001")), 15u);
  EXPECT_EQ(live.owner(addr("[::ffff:127.0.0.1]:50001")), 15u);
  EXPECT_EQ(live.owner(addr("127.0.0.1:50002")), 1023u);
  EXPECT_FALSE(live.owner(addr("127.0.0.1:50003")));
  EXPECT_TRUE(live.contains(addr("127.0.0.1:50003"))) << "live all the same";
  EXPECT_FALSE(live.owner(addr("127.0.0.2:50000"))) << "another IP";
  EXPECT_FALSE(live.owner(addr("127.0.0.1:50004")));
  live.remove(addr("127.0.0.1:50001"));
  EXPECT_FALSE(live.owner(addr("127.0.0.1:50001")));
  EXPECT_FALSE(live.contains(addr("127.0.0.1:50001")));
  EXPECT_EQ(live.owner(addr("127.0.0.1:50000")), 0u) << "neighbours untouched";
}

TEST(LiveRelays, FailsClosedWhenTheIpTableIsFull) {
  LiveRelays live;
  for (std::size_t i = 0; i < LiveRelays::kMaxIps; ++i)
    ASSERT_TRUE(live.add({protocol::IpAddress::v4({10, 0, 0, static_cast<std::uint8_t>(i)}), 1}));
  const protocol::TransportAddress extra{protocol::IpAddress::v4({10, 0, 1, 0}), 1};
  EXPECT_FALSE(live.add(extra));
  EXPECT_FALSE(live.contains(extra));
}

TEST(LiveRelays, ConcurrentAddsOfOneIpMakeOneSlot) {
  LiveRelays live;
  std::vector<std::thread> threads;
  for (std::uint16_t t = 0; t < 4; ++t)
    threads.emplace_back([&live, t] {
      for (std::uint16_t p = 0; p < 1000; ++p)
        live.add(
            {protocol::IpAddress::v4({192, 0, 2, 1}), static_cast<std::uint16_t>(t * 1000 + p)});
    });
  for (auto& t : threads) t.join();
  for (std::uint16_t p = 0; p < 4000; ++p)
    ASSERT_TRUE(live.contains({protocol::IpAddress::v4({192, 0, 2, 1}), p})) << p;
  // One slot only: the remaining capacity still holds kMaxIps - 1 other IPs.
  for (std::size_t i = 1; i < LiveRelays::kMaxIps; ++i)
    EXPECT_TRUE(live.add({protocol::IpAddress::v4({10, 0, 0, static_cast<std::uint8_t>(i)}), 1}));
}

}  // namespace
}  // namespace turnd::server
