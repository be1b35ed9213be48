// IpAddress, TransportAddress and IpPrefix: text parsing, canonical text, prefix matching.
#include "protocol/transport_address.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <unordered_set>

namespace turnd::protocol {
namespace {

struct TextCase {
  std::string_view text;
  std::optional<std::string_view> canonical;  // nullopt: rejected
};
void PrintTo(const TextCase& c, std::ostream* os) { *os << '"' << c.text << '"'; }

const TextCase kTransportAddresses[] = {
    {"1.2.3.4:3478", "1.2.3.4:3478"},
    {"0.0.0.0:0", "0.0.0.0:0"},
    {"255.255.255.255:65535", "255.255.255.255:65535"},
    {"[2001:db8::1]:3478", "[2001:db8::1]:3478"},
    {"[2001:DB8:0:0::1]:3478", "[2001:db8::1]:3478"},
    {"[::1]:0", "[::1]:0"},
    {"[::ffff:1.2.3.4]:5", "[::ffff:1.2.3.4]:5"},
    {"1.2.3.4", std::nullopt},
    {"1.2.3.4:", std::nullopt},
    {"1.2.3.4:99999", std::nullopt},
    {"1.2.3.4:65536", std::nullopt},
    {"1.2.3.4:-1", std::nullopt},
    {"1.2.3.4:+1", std::nullopt},
    {"1.2.3.4:1x", std::nullopt},
    {"1.2.3.4: 1", std::nullopt},
    {":3478", std::nullopt},
    {"1.2.3:3478", std::nullopt},
    {"1.2.3.256:3478", std::nullopt},
    {"host.example:3478", std::nullopt},
    {"[::1]", std::nullopt},
    {"[::1]:", std::nullopt},
    {"[::1]3478", std::nullopt},
    {"[::1:3478", std::nullopt},
    {"::1:3478", std::nullopt},
    {"[1.2.3.4]:1", std::nullopt},
    {"[fe80::1%eth0]:1", std::nullopt},
    {"", std::nullopt},
    {"[", std::nullopt},
};

class TransportAddressText : public testing::TestWithParam<TextCase> {};

TEST_P(TransportAddressText, ParsesToCanonical) {
  const TextCase& c = GetParam();
  auto a = TransportAddress::parse(c.text);
  if (!c.canonical) {
    EXPECT_FALSE(a) << a->to_string();
    return;
  }
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), *c.canonical);
  EXPECT_EQ(TransportAddress::parse(a->to_string()), a);  // to_string is parseable
}

INSTANTIATE_TEST_SUITE_P(Text, TransportAddressText, testing::ValuesIn(kTransportAddresses));

const TextCase kPrefixes[] = {
    {"10.0.0.0/8", "10.0.0.0/8"},
    {"10.0.0.1", "10.0.0.1/32"},
    {"0.0.0.0/0", "0.0.0.0/0"},
    {"254.0.0.0/7", "254.0.0.0/7"},
    {"192.168.1.128/25", "192.168.1.128/25"},
    {"::1", "::1/128"},
    {"::/0", "::/0"},
    {"fe80::/10", "fe80::/10"},
    {"2001:db8::/32", "2001:db8::/32"},
    {"10.0.0.1/8", std::nullopt},  // host bits set: almost always a typo
    {"1.0.0.0/0", std::nullopt},
    {"255.0.0.0/7", std::nullopt},
    {"fe80::1/10", std::nullopt},
    {"10.0.0.0/33", std::nullopt},
    {"::/129", std::nullopt},
    {"10.0.0.0/", std::nullopt},
    {"10.0.0.0/8x", std::nullopt},
    {"10.0.0.0/-1", std::nullopt},
    {"10.0.0.0/8/8", std::nullopt},
    {"/8", std::nullopt},
    {"[::1]/128", std::nullopt},
    {"", std::nullopt},
};

class IpPrefixText : public testing::TestWithParam<TextCase> {};

TEST_P(IpPrefixText, ParsesToCanonical) {
  const TextCase& c = GetParam();
  auto p = IpPrefix::parse(c.text);
  if (!c.canonical) {
    EXPECT_FALSE(p) << p->to_string();
    return;
  }
  ASSERT_TRUE(p);
  EXPECT_EQ(p->to_string(), *c.canonical);
}

INSTANTIATE_TEST_SUITE_P(Text, IpPrefixText, testing::ValuesIn(kPrefixes));

struct ContainsCase {
  std::string_view prefix, ip;
  bool contains;
};
void PrintTo(const ContainsCase& c, std::ostream* os) { *os << c.prefix << " " << c.ip; }

const ContainsCase kContains[] = {
    {"0.0.0.0/0", "255.255.255.255", true},
    {"0.0.0.0/0", "0.0.0.0", true},
    {"0.0.0.0/0", "::", false},  // family mismatch
    {"::/0", "2001:db8::1", true},
    {"::/0", "1.2.3.4", false},
    {"::ffff:0:0/96", "1.2.3.4", false},  // callers compare unmapped addresses
    {"::ffff:0:0/96", "::ffff:1.2.3.4", true},
    {"254.0.0.0/7", "254.0.0.0", true},
    {"254.0.0.0/7", "255.255.255.255", true},
    {"254.0.0.0/7", "253.255.255.255", false},
    {"10.0.0.0/8", "10.255.255.255", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"192.168.1.128/25", "192.168.1.128", true},
    {"192.168.1.128/25", "192.168.1.127", false},
    {"192.168.1.1", "192.168.1.1", true},
    {"192.168.1.1", "192.168.1.2", false},
    {"::1/128", "::1", true},
    {"::1/128", "::2", false},
    {"::1/128", "0.0.0.1", false},
    {"2001:db8::/32", "2001:db8:ffff:ffff::1", true},
    {"2001:db8::/32", "2001:db9::", false},
    {"fe80::/10", "febf::1", true},
    {"fe80::/10", "fec0::1", false},
};

class IpPrefixContains : public testing::TestWithParam<ContainsCase> {};

TEST_P(IpPrefixContains, Matches) {
  const ContainsCase& c = GetParam();
  auto prefix = IpPrefix::parse(c.prefix);
  auto ip = IpAddress::parse(c.ip);
  ASSERT_TRUE(prefix);
  ASSERT_TRUE(ip);
  EXPECT_EQ(prefix->contains(*ip), c.contains);
}

INSTANTIATE_TEST_SUITE_P(Prefixes, IpPrefixContains, testing::ValuesIn(kContains));

const TextCase kUnmapped[] = {
    {"::ffff:1.2.3.4", "1.2.3.4"},
    {"::ffff:0.0.0.0", "0.0.0.0"},
    {"1.2.3.4", "1.2.3.4"},
    {"::1", "::1"},
    {"::1.2.3.4", "::1.2.3.4"},                // IPv4-compatible (deprecated), not mapped
    {"::ffff:0:1.2.3.4", "::ffff:0:102:304"},  // SIIT translated, not mapped
    {"64:ff9b::1.2.3.4", "64:ff9b::102:304"},  // NAT64, not mapped
};

class Unmapped : public testing::TestWithParam<TextCase> {};

TEST_P(Unmapped, StripsOnlyV4MappedPrefix) {
  const TextCase& c = GetParam();
  auto ip = IpAddress::parse(c.text);
  ASSERT_TRUE(ip);
  const IpAddress u = ip->unmapped();
  EXPECT_EQ(u.to_string(), *c.canonical);
  EXPECT_EQ(IpAddress::parse(*c.canonical), u);  // trailing bytes of a V4 value stay zero
}

INSTANTIATE_TEST_SUITE_P(Addresses, Unmapped, testing::ValuesIn(kUnmapped));

TEST(IpAddress, FamilyAndBytes) {
  auto v4 = IpAddress::parse("192.0.2.1");
  ASSERT_TRUE(v4);
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->family, Family::V4);
  EXPECT_EQ(v4->size(), 4u);
  EXPECT_EQ(*v4, IpAddress::v4({192, 0, 2, 1}));
  auto v6 = IpAddress::parse("2001:db8::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->family, Family::V6);
  EXPECT_EQ(v6->size(), 16u);
  EXPECT_EQ(v6->bytes[0], 0x20);
  EXPECT_EQ(v6->bytes[15], 0x01);
  EXPECT_FALSE(IpAddress::parse("1.2.3.4:5"));
  EXPECT_FALSE(IpAddress::parse("[::1]"));
  EXPECT_FALSE(IpAddress::parse(std::string(100, '1')));
}

TEST(IpAddress, Unspecified) {
  EXPECT_TRUE(IpAddress::parse("0.0.0.0")->is_unspecified());
  EXPECT_TRUE(IpAddress::parse("::")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("0.0.0.1")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("::1")->is_unspecified());
  EXPECT_FALSE(IpAddress::parse("::ffff:0.0.0.0")->is_unspecified());
}

TEST(TransportAddress, OrderingAndHash) {
  const auto a = *TransportAddress::parse("1.2.3.4:1");
  const auto b = *TransportAddress::parse("1.2.3.4:2");
  const auto c = *TransportAddress::parse("[::1.2.3.4]:1");  // same leading bytes, other family
  EXPECT_LT(a, b);
  EXPECT_NE(a, c);
  std::unordered_set<TransportAddress, TransportAddressHash> set{a, b, c, a};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_EQ(TransportAddressHash{}(a),
            TransportAddressHash{}(*TransportAddress::parse("1.2.3.4:1")));
}

}  // namespace
}  // namespace turnd::protocol
