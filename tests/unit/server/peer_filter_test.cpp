// PeerFilter over the built-in deny list: every range at both ends, in every IPv6 form that
// stands for an IPv4 address (mapped, compatible, NAT64 well-known and local-use prefixes), the
// neighbours just outside each range, public addresses, and the --allow-peer / --deny-peer
// options. Addresses are only parsed here, never contacted.
#include "server/peer_filter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "server/services.hpp"
#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using test::ip;
using test::prefix;

struct DeniedRange {
  std::string_view prefix, first, last;
};

// The specification of the default list (RFC 6890 special-purpose ranges a relay must not reach).
const DeniedRange kDeniedV4[] = {
    {"0.0.0.0/8", "0.0.0.0", "0.255.255.255"},
    {"10.0.0.0/8", "10.0.0.0", "10.255.255.255"},
    {"100.64.0.0/10", "100.64.0.0", "100.127.255.255"},
    {"127.0.0.0/8", "127.0.0.0", "127.255.255.255"},
    {"169.254.0.0/16", "169.254.0.0", "169.254.255.255"},
    {"172.16.0.0/12", "172.16.0.0", "172.31.255.255"},
    {"192.0.0.0/24", "192.0.0.0", "192.0.0.255"},
    {"192.168.0.0/16", "192.168.0.0", "192.168.255.255"},
    {"198.18.0.0/15", "198.18.0.0", "198.19.255.255"},
    {"224.0.0.0/4", "224.0.0.0", "239.255.255.255"},
    {"240.0.0.0/4", "240.0.0.0", "255.255.255.255"},
};
const DeniedRange kDeniedV6[] = {
    {"::/128", "::", "::"},
    {"::1/128", "::1", "::1"},
    {"fc00::/7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    {"fe80::/10", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    {"ff00::/8", "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    {"fd00:ec2::254/128", "fd00:ec2::254", "fd00:ec2::254"},
    // RFC 8215 local-use NAT64: the operator picks the embedding length (RFC 6052 §2.2), so
    // the IPv4 address cannot be read back reliably; only the translator's own network is
    // behind it. Denied whole (see PeerFilterNat64 below).
    {"64:ff9b:1::/48", "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff"},
    // Site-local (RFC 3879 deprecated it; routers inside a site still route it).
    {"fec0::/10", "fec0::", "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    // Teredo: the server and client IPv4 addresses inside are the relay's and obfuscated.
    {"2001::/32", "2001::", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"},
    // IPv4-translated (RFC 2765 SIIT): reaches an IPv4 host through a translator.
    {"::ffff:0:0:0/96", "::ffff:0:0.0.0.0", "::ffff:0:255.255.255.255"},
};

/// 2002:AABB:CCDD::1, the 6to4 address of the IPv4 address a.b.c.d.
std::string six_to_four(std::string_view v4) {
  const auto a = ip(v4);
  char text[64];
  std::snprintf(text, sizeof text, "2002:%02x%02x:%02x%02x::1", a.bytes[0], a.bytes[1], a.bytes[2],
                a.bytes[3]);
  return text;
}

/// The IPv6 spellings of an IPv4 address that the filter must judge as that IPv4 address.
std::vector<std::string> v6_forms(std::string_view v4) {
  const std::string a(v4);
  return {"::ffff:" + a, "::" + a, "64:ff9b::" + a, "64:ff9b:1::" + a, six_to_four(v4)};
}

std::string test_name(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return !std::isalnum(c); }, '_');
  return out;
}

TEST(PeerFilterDefaults, ListIsExactlyTheSpecifiedRanges) {
  std::vector<protocol::IpPrefix> expected;
  for (const auto& r : kDeniedV4) expected.push_back(prefix(r.prefix));
  for (const auto& r : kDeniedV6) expected.push_back(prefix(r.prefix));
  auto actual = PeerFilter::default_denied();
  std::sort(expected.begin(), expected.end());
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, expected);
}

class DeniedV4 : public testing::TestWithParam<DeniedRange> {};

TEST_P(DeniedV4, BothEndsDeniedInEveryForm) {
  const PeerFilter f{{}, {}};
  for (auto end : {GetParam().first, GetParam().last}) {
    EXPECT_FALSE(f.allowed(ip(end))) << end;
    for (const auto& form : v6_forms(end)) EXPECT_FALSE(f.allowed(ip(form))) << form;
  }
}
INSTANTIATE_TEST_SUITE_P(Ranges, DeniedV4, testing::ValuesIn(kDeniedV4),
                         [](const auto& info) { return test_name(info.param.prefix); });

class DeniedV6 : public testing::TestWithParam<DeniedRange> {};

TEST_P(DeniedV6, BothEndsDenied) {
  const PeerFilter f{{}, {}};
  EXPECT_FALSE(f.allowed(ip(GetParam().first))) << GetParam().first;
  EXPECT_FALSE(f.allowed(ip(GetParam().last))) << GetParam().last;
}
INSTANTIATE_TEST_SUITE_P(Ranges, DeniedV6, testing::ValuesIn(kDeniedV6),
                         [](const auto& info) { return test_name(info.param.prefix); });

// Public addresses next to each denied IPv4 range, and well-known public hosts.
const std::string_view kAllowed[] = {
    "1.0.0.0",         "9.255.255.255",   "11.0.0.0",         "100.63.255.255",  "100.128.0.0",
    "126.255.255.255", "128.0.0.0",       "169.253.255.255",  "169.255.0.0",     "172.15.255.255",
    "172.32.0.0",      "191.255.255.255", "192.0.1.0",        "192.167.255.255", "192.169.0.0",
    "198.17.255.255",  "198.20.0.0",      "223.255.255.255",  "8.8.8.8",         "2001:4860::1",
    "2606:4700::1111", "::ffff:8.8.8.8",  "64:ff9b::8.8.8.8", "2002:808:808::1", "2001:1::1",
    "fbff::1",         "::fffe:0:0:1",
};

class Allowed : public testing::TestWithParam<std::string_view> {};

TEST_P(Allowed, PublicAddressIsAllowed) {
  const PeerFilter f{{}, {}};
  EXPECT_TRUE(f.allowed(ip(GetParam())));
  EXPECT_FALSE(f.explicitly_allowed(ip(GetParam())));
}
INSTANTIATE_TEST_SUITE_P(Public, Allowed, testing::ValuesIn(kAllowed),
                         [](const auto& info) { return test_name(info.param); });

TEST(PeerFilterAllow, PunchesAHoleAlsoForTheMappedForm) {
  const PeerFilter f{{prefix("127.0.0.0/8"), prefix("10.1.0.0/16")}, {}};
  EXPECT_TRUE(f.allowed(ip("127.0.0.1")));
  EXPECT_TRUE(f.allowed(ip("::ffff:127.0.0.1")));
  EXPECT_TRUE(f.allowed(ip("64:ff9b::127.0.0.1")));
  EXPECT_TRUE(f.explicitly_allowed(ip("127.0.0.1")));
  EXPECT_TRUE(f.allowed(ip("10.1.2.3")));
  EXPECT_FALSE(f.allowed(ip("10.2.0.1"))) << "only the hole, not the rest of 10/8";
  EXPECT_FALSE(f.allowed(ip("::ffff:10.2.0.1")));
  EXPECT_FALSE(f.allowed(ip("192.168.1.1")));
  EXPECT_FALSE(f.allowed(ip("::1")));
}

TEST(PeerFilterAllow, TheIPv6FormItselfCanBeAllowed) {
  const PeerFilter f{{prefix("::ffff:127.0.0.1/128"), prefix("fd12::/16")}, {}};
  EXPECT_TRUE(f.allowed(ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(f.allowed(ip("127.0.0.1")));
  EXPECT_FALSE(f.allowed(ip("::ffff:127.0.0.2")));
  EXPECT_TRUE(f.allowed(ip("fd12::1")));
  EXPECT_FALSE(f.allowed(ip("fd13::1")));
}

TEST(PeerFilterDeny, AddsRangesInEveryForm) {
  const PeerFilter f{{}, {prefix("8.8.8.0/24"), prefix("2001:db8::/32")}};
  EXPECT_FALSE(f.allowed(ip("8.8.8.8")));
  for (const auto& form : v6_forms("8.8.8.8")) EXPECT_FALSE(f.allowed(ip(form))) << form;
  EXPECT_TRUE(f.allowed(ip("8.8.4.4")));
  EXPECT_FALSE(f.allowed(ip("2001:db8::1")));
  EXPECT_TRUE(f.allowed(ip("2001:4860::1")));
  EXPECT_FALSE(f.allowed(ip("10.0.0.1"))) << "the built-in list stays";
}

TEST(PeerFilterDeny, AllowPunchesHolesIntoDenyToo) {
  const PeerFilter f{{prefix("8.8.8.8/32")}, {prefix("8.8.0.0/16")}};
  EXPECT_TRUE(f.allowed(ip("8.8.8.8")));
  EXPECT_TRUE(f.allowed(ip("::ffff:8.8.8.8")));
  EXPECT_FALSE(f.allowed(ip("8.8.4.4")));
}

// Forms a review found allowed: each must be denied by default (issue 9, defect 7).
const std::string_view kBypassForms[] = {
    "fec0::1",                               // site-local
    "2002:7f00:1::1",                        // 6to4 of 127.0.0.1
    "2002:a00:1::1",                         // 6to4 of 10.0.0.1
    "2002:c0a8:101::1",                      // 6to4 of 192.168.1.1
    "2002:a9fe:a9fe::1",                     // 6to4 of 169.254.169.254 (cloud metadata)
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  // Teredo
    "2001::7f00:1",                          // Teredo, loopback-looking
    "::ffff:0:7f00:1",                       // IPv4-translated 127.0.0.1
    "::ffff:0:a00:1",                        // IPv4-translated 10.0.0.1
    "::ffff:0:808:808",                      // IPv4-translated, even of a public address
};

class BypassForm : public testing::TestWithParam<std::string_view> {};

TEST_P(BypassForm, IsDeniedByDefault) {
  const PeerFilter f{{}, {}};
  EXPECT_FALSE(f.allowed(ip(GetParam()))) << GetParam();
}
INSTANTIATE_TEST_SUITE_P(Forms, BypassForm, testing::ValuesIn(kBypassForms),
                         [](const auto& info) { return test_name(info.param); });

TEST(PeerFilter6to4, JudgedByTheEmbeddedIpv4Address) {
  const PeerFilter f{{}, {}};
  EXPECT_TRUE(f.allowed(ip("2002:808:808::1"))) << "6to4 of 8.8.8.8 is public";
  EXPECT_FALSE(f.allowed(ip("2002:7f00:1::1")));
  const PeerFilter opened{{prefix("10.0.0.0/8")}, {}};
  EXPECT_TRUE(opened.allowed(ip("2002:a00:1::1"))) << "an IPv4 allow covers its 6to4 form";
  const PeerFilter denied{{}, {prefix("8.8.8.0/24")}};
  EXPECT_FALSE(denied.allowed(ip("2002:808:808::1"))) << "an IPv4 deny covers its 6to4 form";
}

TEST(PeerFilterSpecificity, ANarrowDenyInsideABroadAllowDenies) {
  const PeerFilter f{{prefix("10.0.0.0/8")}, {prefix("10.0.0.1/32")}};
  EXPECT_FALSE(f.allowed(ip("10.0.0.1")));
  EXPECT_TRUE(f.allowed(ip("10.0.0.2")));
  for (const auto& form : v6_forms("10.0.0.1")) EXPECT_FALSE(f.allowed(ip(form))) << form;
  EXPECT_FALSE(f.explicitly_allowed(ip("10.0.0.1")));
  EXPECT_TRUE(f.explicitly_allowed(ip("10.0.0.2")));
}

TEST(PeerFilterSpecificity, DenyWinsATie) {
  const PeerFilter f{{prefix("198.51.100.0/24")}, {prefix("198.51.100.0/24")}};
  EXPECT_FALSE(f.allowed(ip("198.51.100.7")));
}

TEST(PeerFilterSpecificity, ANarrowAllowInsideABroadDenyAllows) {
  const PeerFilter f{{prefix("10.1.2.3/32")}, {prefix("10.0.0.0/8")}};
  EXPECT_TRUE(f.allowed(ip("10.1.2.3")));
  EXPECT_FALSE(f.allowed(ip("10.1.2.4")));
}

TEST(PeerFilterSpecificity, AnIpv6RuleAndAnIpv4RuleCompareByTheirIpv6Length) {
  // ::ffff:10.0.0.0/104 is the /8 spelled in IPv6; a /120 IPv6 deny inside an IPv4 /8 allow wins.
  const PeerFilter f{{prefix("10.0.0.0/8")}, {prefix("::ffff:10.0.0.0/120")}};
  EXPECT_FALSE(f.allowed(ip("::ffff:10.0.0.9")));
  EXPECT_TRUE(f.allowed(ip("10.0.0.9"))) << "the IPv6 rule covers only that spelling";
  EXPECT_TRUE(f.allowed(ip("::ffff:10.0.1.9")));
}

// RFC 6052 §2.2: under a local-use NAT64 prefix (RFC 8215, 64:ff9b:1::/48) the operator picks
// the prefix length; with /64 the IPv4 address sits in bytes 9-12, not 12-15. 10.0.0.1 under
// 64:ff9b:1::/64 is 64:ff9b:1:0:a:0:100:0, from which a /96 reading gets 1.0.0.0 (public).
TEST(PeerFilterNat64, LocalUsePrefixIsDeniedWhateverTheEmbeddingLength) {
  const PeerFilter f{{}, {}};
  EXPECT_FALSE(f.allowed(ip("64:ff9b:1:0:a:0:100:0"))) << "10.0.0.1 via a /64 local NAT64";
  EXPECT_FALSE(f.allowed(ip("64:ff9b:1:0:c0:a801:100:0"))) << "192.168.1.1 via a /64 local NAT64";
  EXPECT_FALSE(f.allowed(ip("64:ff9b:1::8.8.8.8"))) << "cannot tell it from a /48 embedding";
  EXPECT_TRUE(f.allowed(ip("64:ff9b::8.8.8.8"))) << "the well-known prefix is /96 only";
  const PeerFilter opened{{prefix("64:ff9b:1::/96")}, {}};
  EXPECT_TRUE(opened.allowed(ip("64:ff9b:1::8.8.8.8"))) << "an operator who knows the length";
}

// The own-address guard (relay only to live relay ports of this host) must see through the
// same IPv6 forms as the filter: a NAT64 translator delivers 64:ff9b::<own IPv4> to this host.
TEST(OwnAddressGuard, CoversTheIPv6FormsOfOwnAddresses) {
  config::Config c;
  c.listen = {test::addr("127.0.0.1:3478")};
  c.relay_ips = {ip("203.0.113.5")};
  const SharedServices s{c};
  EXPECT_TRUE(s.is_guarded_own_address(ip("203.0.113.5"), s.initial_policy->peer_filter));
  EXPECT_TRUE(s.is_guarded_own_address(ip("127.0.0.1"), s.initial_policy->peer_filter));
  EXPECT_TRUE(s.is_guarded_own_address(ip("127.1.2.3"), s.initial_policy->peer_filter));
  EXPECT_TRUE(s.is_guarded_own_address(ip("::1"), s.initial_policy->peer_filter));
  EXPECT_FALSE(s.is_guarded_own_address(ip("203.0.113.6"), s.initial_policy->peer_filter));
  EXPECT_TRUE(s.initial_policy->peer_filter.allowed(ip("64:ff9b::203.0.113.5")))
      << "public: the filter allows";
  EXPECT_TRUE(s.is_guarded_own_address(ip("64:ff9b::203.0.113.5"), s.initial_policy->peer_filter));
}

TEST(OwnAddressGuard, AllowPeerOpensOwnAddresses) {
  config::Config c;
  c.listen = {test::addr("127.0.0.1:3478")};
  c.relay_ips = {ip("203.0.113.5")};
  c.allow_peers = {prefix("127.0.0.0/8"), prefix("203.0.113.0/24")};
  const SharedServices s{c};
  EXPECT_FALSE(s.is_guarded_own_address(ip("127.0.0.1"), s.initial_policy->peer_filter));
  EXPECT_FALSE(s.is_guarded_own_address(ip("203.0.113.5"), s.initial_policy->peer_filter));
  EXPECT_FALSE(s.is_guarded_own_address(ip("64:ff9b::203.0.113.5"), s.initial_policy->peer_filter))
      << "like allowed()";
  EXPECT_TRUE(s.is_guarded_own_address(ip("::1"), s.initial_policy->peer_filter));
}

}  // namespace
}  // namespace turnd::server
