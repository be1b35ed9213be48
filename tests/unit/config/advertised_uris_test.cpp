// The turn: and turns: URIs of turnd's start-up iceServers line, the admin credential endpoint and
// `turnctl mint` (config/advertised_uris.hpp): one derivation, its host rule step by step.
#include "config/advertised_uris.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace turnd::config {
namespace {

using Uris = std::vector<std::string>;

protocol::TransportAddress addr(const char* text) {
  return *protocol::TransportAddress::parse(text);
}

ExternalIp external(const char* public_ip, const char* private_ip = nullptr) {
  ExternalIp e{*protocol::IpAddress::parse(public_ip), std::nullopt};
  if (private_ip) e.private_ip = *protocol::IpAddress::parse(private_ip);
  return e;
}

Uris both(const std::string& hostport) {
  return {"turn:" + hostport + "?transport=udp", "turn:" + hostport + "?transport=tcp"};
}

Uris concat(Uris a, const Uris& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(AdvertisedUris, ConcreteExternalAndWildcard) {
  Config c;
  c.listen = {*protocol::TransportAddress::parse("127.0.0.1:3478"),
              *protocol::TransportAddress::parse("[::1]:3479")};
  EXPECT_EQ(advertised_turn_uris(c),
            (std::vector<std::string>{
                "turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp",
                "turn:[::1]:3479?transport=udp", "turn:[::1]:3479?transport=tcp"}));

  c.listen = {*protocol::TransportAddress::parse("0.0.0.0:3478")};
  c.external_ips = {ExternalIp{*protocol::IpAddress::parse("203.0.113.7"), std::nullopt}};
  EXPECT_EQ(advertised_turn_uris(c),
            (std::vector<std::string>{"turn:203.0.113.7:3478?transport=udp",
                                      "turn:203.0.113.7:3478?transport=tcp"}));

  c.external_ips.clear();
  c.listen = {*protocol::TransportAddress::parse("0.0.0.0:3478"),
              *protocol::TransportAddress::parse("[::]:3478")};
  const auto uris = advertised_turn_uris(c);
  ASSERT_GE(uris.size(), 4u);  // at least one address per family (loopback when nothing else)
  for (const auto& u : uris) {
    EXPECT_EQ(u.find("0.0.0.0"), std::string::npos) << u;
    EXPECT_EQ(u.find("[::]"), std::string::npos) << u;
    EXPECT_EQ(u.find("fe80"), std::string::npos) << u;
  }
}

// Every listen address serves UDP and TCP: two URIs each, in config order, UDP first.
TEST(AdvertisedUris, SpecificIpv4AndIpv6InBrackets) {
  Config c;
  c.listen = {addr("192.0.2.10:3478"), addr("[2001:db8::7]:3479"), addr("127.0.0.1:5000")};
  EXPECT_EQ(
      advertised_turn_uris(c),
      concat(concat(both("192.0.2.10:3478"), both("[2001:db8::7]:3479")), both("127.0.0.1:5000")));
}

// relay.external_ips: an entry without a private address covers every listen address of its
// family; one with a private address only that address (and wildcards); the last match wins.
TEST(AdvertisedUris, ExternalIpsByFamilyAndPrivateAddress) {
  Config c;
  c.listen = {addr("10.0.0.5:3478"), addr("192.0.2.10:3479"), addr("[2001:db8::7]:3478")};
  c.external_ips = {external("203.0.113.5", "10.0.0.5")};
  EXPECT_EQ(advertised_turn_uris(c),
            concat(concat(both("203.0.113.5:3478"), both("192.0.2.10:3479")),
                   both("[2001:db8::7]:3478")));

  c.external_ips = {external("203.0.113.5"), external("2001:db8:ffff::1")};
  EXPECT_EQ(advertised_turn_uris(c),
            concat(concat(both("203.0.113.5:3478"), both("203.0.113.5:3479")),
                   both("[2001:db8:ffff::1]:3478")));

  c.listen = {addr("0.0.0.0:3478")};
  c.external_ips = {external("203.0.113.5", "10.0.0.5"), external("198.51.100.1")};
  EXPECT_EQ(advertised_turn_uris(c), both("198.51.100.1:3478"));
}

// Two listen addresses that come out the same are listed once.
TEST(AdvertisedUris, DuplicatesDropped) {
  Config c;
  c.listen = {addr("10.0.0.5:3478"), addr("0.0.0.0:3478"), addr("10.0.0.6:3478")};
  c.external_ips = {external("203.0.113.5")};
  EXPECT_EQ(advertised_turn_uris(c), both("203.0.113.5:3478"));
}

// A wildcard without an external address: this host's addresses of that family, never the
// wildcard itself, nor link-local ones.
TEST(AdvertisedUris, WildcardNamesThisHost) {
  Config c;
  c.listen = {addr("0.0.0.0:3478")};
  const auto v4 = advertised_turn_uris(c);
  ASSERT_GE(v4.size(), 2u);
  for (const auto& u : v4) {
    EXPECT_TRUE(u.starts_with("turn:")) << u;
    EXPECT_EQ(u.find('['), std::string::npos) << u;
    EXPECT_NE(u.find(":3478?transport="), std::string::npos) << u;
    EXPECT_EQ(u.find("0.0.0.0"), std::string::npos) << u;
  }
  c.listen = {addr("[::]:3479")};
  for (const auto& u : advertised_turn_uris(c)) {
    EXPECT_TRUE(u.starts_with("turn:[")) << u;
    EXPECT_EQ(u.find("[::]"), std::string::npos) << u;
    EXPECT_EQ(u.find("[fe80"), std::string::npos) << u;
  }
}

// turnctl mint --host: that host for every listen address (an IPv6 address gets brackets once).
TEST(AdvertisedUris, HostOverride) {
  Config c;
  c.listen = {addr("0.0.0.0:3478"), addr("[::1]:3479")};
  c.external_ips = {external("203.0.113.5")};
  EXPECT_EQ(advertised_turn_uris(c, "turn.example.com"),
            concat(both("turn.example.com:3478"), both("turn.example.com:3479")));
  EXPECT_EQ(advertised_turn_uris(c, "2001:db8::9"),
            concat(both("[2001:db8::9]:3478"), both("[2001:db8::9]:3479")));
  EXPECT_EQ(advertised_turn_uris(c, "[2001:db8::9]"),
            concat(both("[2001:db8::9]:3478"), both("[2001:db8::9]:3479")));
}

std::string turns(const std::string& hostport) { return "turns:" + hostport + "?transport=tcp"; }

// Without a TLS listener, never a turns: URI (a port number like 5349 says nothing).
TEST(AdvertisedUris, NoTurnsWithoutTls) {
  Config c;
  c.listen = {addr("127.0.0.1:3478"), addr("[::1]:5349")};
  for (const auto& u : advertised_turn_uris(c)) EXPECT_TRUE(u.starts_with("turn:")) << u;
}

// Each listen_tls address: one turns: URI over TCP, after the turn: ones, in config order.
// listen_dtls gets none (browsers take any turns: URI for TLS over TCP).
TEST(AdvertisedUris, TlsListenersGetTurns) {
  Config c;
  c.listen = {addr("127.0.0.1:3478")};
  c.listen_tls = {addr("127.0.0.1:5349"), addr("[::1]:443")};
  const Uris expected =
      concat(both("127.0.0.1:3478"), {turns("127.0.0.1:5349"), turns("[::1]:443")});
  EXPECT_EQ(advertised_turn_uris(c), expected);
  c.listen_dtls = {addr("127.0.0.1:5349"), addr("[::1]:5350")};
  EXPECT_EQ(advertised_turn_uris(c), expected);
}

// The host of a turns: URI comes the same way as a turn: one: --host, relay.external_ips, the
// address itself, this host's addresses for a wildcard; duplicates dropped.
TEST(AdvertisedUris, TlsHostRules) {
  Config c;
  c.listen = {addr("0.0.0.0:3478")};
  c.listen_tls = {addr("0.0.0.0:443"), addr("10.0.0.5:443"), addr("192.0.2.1:5349")};
  c.external_ips = {external("203.0.113.5", "10.0.0.5")};
  EXPECT_EQ(advertised_turn_uris(c),
            concat(both("203.0.113.5:3478"), {turns("203.0.113.5:443"), turns("192.0.2.1:5349")}));
  EXPECT_EQ(advertised_turn_uris(c, "turn.example.com"),
            concat(both("turn.example.com:3478"),
                   {turns("turn.example.com:443"), turns("turn.example.com:5349")}));
  EXPECT_EQ(advertised_turn_uris(c, "2001:db8::9"),
            concat(both("[2001:db8::9]:3478"),
                   {turns("[2001:db8::9]:443"), turns("[2001:db8::9]:5349")}));

  c.external_ips.clear();
  c.listen_tls = {addr("[::]:443")};
  const auto uris = advertised_turn_uris(c);
  ASSERT_GE(uris.size(), 3u);
  for (std::size_t i = 2; i < uris.size(); ++i) {
    EXPECT_TRUE(uris[i].starts_with("turns:[")) << uris[i];
    EXPECT_TRUE(uris[i].ends_with("]:443?transport=tcp")) << uris[i];
    EXPECT_EQ(uris[i].find("[::]"), std::string::npos) << uris[i];
  }
}

// When turnctl mint falls back to choose_fallback_host: every address would be this host's own.
TEST(AdvertisedUris, OnlyLocalInterfaces) {
  Config c;
  c.listen = {addr("0.0.0.0:3478"), addr("[::]:3478")};
  EXPECT_TRUE(advertises_only_local_interfaces(c));
  c.external_ips = {external("2001:db8::1")};  // covers the IPv6 wildcard only
  EXPECT_FALSE(advertises_only_local_interfaces(c));
  c.listen = {addr("0.0.0.0:3478")};
  EXPECT_TRUE(advertises_only_local_interfaces(c));
  c.external_ips = {external("203.0.113.5", "10.0.0.5")};  // a private address: any wildcard
  EXPECT_FALSE(advertises_only_local_interfaces(c));
  c.external_ips.clear();
  c.listen = {addr("0.0.0.0:3478"), addr("127.0.0.1:3479")};
  EXPECT_FALSE(advertises_only_local_interfaces(c));

  // TLS listeners count as well; DTLS ones advertise nothing.
  c.listen = {addr("0.0.0.0:3478")};
  c.listen_tls = {addr("[::]:443")};
  c.listen_dtls = {addr("192.0.2.1:443")};
  EXPECT_TRUE(advertises_only_local_interfaces(c));
  c.listen_tls.push_back(addr("192.0.2.1:443"));
  EXPECT_FALSE(advertises_only_local_interfaces(c));
  c.listen_tls = {addr("0.0.0.0:443")};
  c.external_ips = {external("203.0.113.5", "10.0.0.5")};
  EXPECT_FALSE(advertises_only_local_interfaces(c));
}

std::vector<protocol::IpAddress> ips(std::initializer_list<const char*> texts) {
  std::vector<protocol::IpAddress> out;
  for (const char* t : texts) out.push_back(*protocol::IpAddress::parse(t));
  return out;
}

struct FallbackCase {
  const char* name;
  std::vector<ExternalIp> external_ips;
  const char* fqdn;
  std::vector<protocol::IpAddress> interfaces;
  std::optional<FallbackHost> expect;
};

// turnctl mint's host for a wildcard-only config: relay.external_ips, then the host's name,
// then its first global address, then its first address that is not loopback or link-local.
TEST(AdvertisedUris, FallbackHostChoice) {
  using S = FallbackSource;
  const auto lan = ips({"127.0.0.1", "::1", "fe80::1", "10.0.0.5", "fd00::2"});
  const FallbackCase cases[] = {
      {"external_ip_first",
       {external("203.0.113.9", "10.0.0.5"), external("198.51.100.1")},
       "turn.example.org",
       ips({"8.8.8.8"}),
       FallbackHost{"203.0.113.9", S::ExternalIp}},
      {"external_ip_of_other_family",
       {external("2001:db8::7")},
       "",
       lan,
       FallbackHost{"2001:db8::7", S::ExternalIp}},
      {"fqdn",
       {},
       "turn.example.org",
       ips({"8.8.8.8"}),
       FallbackHost{"turn.example.org", S::HostName}},
      {"short_name_skipped",
       {},
       "vm",
       ips({"127.0.0.1", "10.1.2.3", "8.8.4.4"}),
       FallbackHost{"8.8.4.4", S::GlobalAddress}},
      {"localhost_skipped",
       {},
       "localhost.localdomain",
       ips({"1.1.1.1"}),
       FallbackHost{"1.1.1.1", S::GlobalAddress}},
      {"dotted_localhost_skipped",
       {},
       "a.localhost",
       ips({"1.1.1.1"}),
       FallbackHost{"1.1.1.1", S::GlobalAddress}},
      {"odd_characters_skipped",
       {},
       "evil.example.org\x1b[2J",
       ips({"1.1.1.1"}),
       FallbackHost{"1.1.1.1", S::GlobalAddress}},
      {"trailing_dot_skipped",
       {},
       "example.",
       ips({"1.1.1.1"}),
       FallbackHost{"1.1.1.1", S::GlobalAddress}},
      {"global_v6_after_private_v4",
       {},
       "",
       ips({"192.168.1.2", "fd00::1", "2a01:4f8::1"}),
       FallbackHost{"2a01:4f8::1", S::GlobalAddress}},
      {"shared_and_documentation_space_not_global",
       {},
       "",
       ips({"100.64.0.1", "192.0.2.2", "2001:db8::1", "172.16.0.1"}),
       FallbackHost{"100.64.0.1", S::OtherAddress}},
      {"private_when_nothing_global", {}, "", lan, FallbackHost{"10.0.0.5", S::OtherAddress}},
      {"only_loopback_and_link_local",
       {},
       "",
       ips({"127.0.0.1", "::1", "fe80::1", "169.254.1.1"}),
       std::nullopt},
      {"nothing", {}, "", {}, std::nullopt},
  };
  for (const auto& c : cases) {
    const auto got = choose_fallback_host(c.external_ips, c.fqdn, c.interfaces);
    ASSERT_EQ(got.has_value(), c.expect.has_value()) << c.name;
    if (!got) continue;
    EXPECT_EQ(got->host, c.expect->host) << c.name;
    EXPECT_EQ(got->source, c.expect->source) << c.name;
  }
}

// The gatherers answer on any host (values differ; no crash, no wildcard, no empty address).
TEST(AdvertisedUris, ThisHostGatherers) {
  for (const auto& ip : this_host_addresses()) EXPECT_FALSE(ip.is_unspecified());
  const auto fqdn = this_host_fqdn();
  EXPECT_LE(fqdn.size(), 1025u);
}

}  // namespace
}  // namespace turnd::config
