// RFC 5780's four addresses from listen + alternate_listen (config/nat_discovery.hpp): the
// pairing, change port only, listen addresses that serve as one of the four, and refusals.
#include "config/nat_discovery.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"

namespace turnd::config {
namespace {

using protocol::TransportAddress;

TransportAddress endpoint(std::string_view text) { return *TransportAddress::parse(text); }

NatDiscoveryAddresses addresses(std::string_view yaml) {
  auto a = nat_discovery_addresses(load_string(yaml, "t.yaml"));
  EXPECT_TRUE(a) << a.error();
  EXPECT_TRUE(*a);
  return **a;
}

TEST(NatDiscovery, OffWithoutAlternate) {
  auto a = nat_discovery_addresses(load_string("listen: [\"192.0.2.1:3478\"]"));
  ASSERT_TRUE(a);
  EXPECT_FALSE(*a);
}

TEST(NatDiscovery, TwoIpsTwoPorts) {
  const auto a =
      addresses("listen: [\"0.0.0.0:5000\", \"192.0.2.1:3478\"]\nalternate_listen: 192.0.2.2:3479");
  EXPECT_TRUE(a.change_ip);
  EXPECT_EQ(a[DiscoveryRole::Primary], endpoint("192.0.2.1:3478"));
  EXPECT_EQ(a[DiscoveryRole::OtherIp], endpoint("192.0.2.2:3478"));
  EXPECT_EQ(a[DiscoveryRole::OtherPort], endpoint("192.0.2.1:3479"));
  EXPECT_EQ(a[DiscoveryRole::OtherBoth], endpoint("192.0.2.2:3479"));
  EXPECT_EQ(a.is_listen, (std::array<bool, 4>{true, false, false, false}));
  EXPECT_EQ(describe(a),
            "192.0.2.1:3478 (listen), 192.0.2.2:3478, 192.0.2.1:3479, 192.0.2.2:3479 (change IP "
            "and port)");
}

TEST(NatDiscovery, SecondListenIpServesAsTheOtherIp) {
  // coturn's set-up: TURN on both IPs; the alternate port is opened for Binding alone.
  const auto a = addresses(
      "listen: [\"192.0.2.1:3478\", \"192.0.2.2:3478\"]\nalternate_listen: 192.0.2.2:3479");
  EXPECT_EQ(a[DiscoveryRole::Primary], endpoint("192.0.2.1:3478"));
  EXPECT_EQ(a.is_listen, (std::array<bool, 4>{true, true, false, false}));
}

TEST(NatDiscovery, SameIpIsChangePortOnly) {
  const auto a = addresses("listen: [\"192.0.2.1:3478\"]\nalternate_listen: 192.0.2.1:3479");
  EXPECT_FALSE(a.change_ip);
  EXPECT_TRUE(a.has(DiscoveryRole::OtherPort));
  EXPECT_FALSE(a.has(DiscoveryRole::OtherIp));
  EXPECT_FALSE(a.has(DiscoveryRole::OtherBoth));
  EXPECT_EQ(a[DiscoveryRole::OtherPort], endpoint("192.0.2.1:3479"));
  EXPECT_EQ(describe(a), "192.0.2.1:3478 (listen), 192.0.2.1:3479 (change port only)");
}

TEST(NatDiscovery, Ipv6PairsWithIpv6) {
  const auto a = addresses(
      "listen: [\"192.0.2.1:3478\", \"[2001:db8::1]:3478\"]\nalternate_listen: "
      "\"[2001:db8::2]:3479\"");
  EXPECT_EQ(a[DiscoveryRole::Primary], endpoint("[2001:db8::1]:3478"));
  EXPECT_EQ(a[DiscoveryRole::OtherIp], endpoint("[2001:db8::2]:3478"));
}

}  // namespace
}  // namespace turnd::config
