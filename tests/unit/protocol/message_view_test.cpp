// MessageView::parse over real bytes: framing errors, FINGERPRINT placement, attributes after
// MESSAGE-INTEGRITY, unknown comprehension-required attributes, duplicates.
#include "protocol/message_view.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "protocol/attributes/all.hpp"
#include "protocol/fingerprint.hpp"
#include "test_support.hpp"

namespace turnd::protocol {
namespace {

using test::Bytes;
using test::from_hex;

constexpr std::string_view kCookieAndId = "2112a442 b7e7a701 bc34d686 fa87dfae";

// A Binding request header with the right length field, followed by `attrs`.
Bytes stun(std::string_view attrs_hex, std::string_view type_hex = "0001") {
  const Bytes attrs = from_hex(attrs_hex);
  Bytes out = from_hex(type_hex);
  out.push_back(static_cast<std::uint8_t>(attrs.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(attrs.size()));
  return test::concat({out, from_hex(kCookieAndId), attrs});
}
// Appends a correct FINGERPRINT (the CRC is checked against RFC 5769 in rfc5769_test).
Bytes with_fingerprint(Bytes msg) {
  const std::size_t length = msg.size() - kHeaderSize + 8;
  msg[2] = static_cast<std::uint8_t>(length >> 8);
  msg[3] = static_cast<std::uint8_t>(length);
  const std::uint32_t fp = fingerprint_of(test::span(msg));
  const Bytes tlv = {0x80,
                     0x28,
                     0x00,
                     0x04,
                     static_cast<std::uint8_t>(fp >> 24),
                     static_cast<std::uint8_t>(fp >> 16),
                     static_cast<std::uint8_t>(fp >> 8),
                     static_cast<std::uint8_t>(fp)};
  return test::concat({msg, tlv});
}
// `msg` with the attributes of `attrs_hex` appended and its length field updated.
Bytes append_attrs(Bytes msg, std::string_view attrs_hex) {
  msg = test::concat({msg, from_hex(attrs_hex)});
  const std::size_t length = msg.size() - kHeaderSize;
  msg[2] = static_cast<std::uint8_t>(length >> 8);
  msg[3] = static_cast<std::uint8_t>(length);
  return msg;
}
// n DONT-FRAGMENT attributes (4 bytes each).
std::string many_attrs(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += "001a0000 ";
  return out;
}
Bytes flip_last_byte(Bytes b) {
  b.back() ^= 1;
  return b;
}

struct ParseCase {
  std::string name;
  Bytes bytes;
  std::optional<ParseError> error;  // nullopt: parses
  std::size_t attributes = 0;       // counted attributes when it parses
};
void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.name; }

std::vector<ParseCase> parse_cases() {
  const Bytes rfc_request = test::load_hex("rfc5769_2_1_request.hex");
  return {
      {"empty", {}, ParseError::TooShort},
      {"19_bytes", from_hex("0001 0000 2112a442 b7e7a701 bc34d686 fa87df"), ParseError::TooShort},
      {"header_only", from_hex("0001 0000 2112a442 b7e7a701 bc34d686 fa87dfae"), std::nullopt},
      {"first_byte_04", from_hex("0401 0000 2112a442 b7e7a701 bc34d686 fa87dfae"),
       ParseError::NotStun},
      {"first_byte_40_channel_data", from_hex("4000 0000 2112a442 b7e7a701 bc34d686 fa87dfae"),
       ParseError::NotStun},
      {"first_byte_80", from_hex("8001 0000 2112a442 b7e7a701 bc34d686 fa87dfae"),
       ParseError::NotStun},
      {"first_byte_03_ok", from_hex("0301 0000 2112a442 b7e7a701 bc34d686 fa87dfae"), std::nullopt},
      {"length_not_multiple_of_4", from_hex("0001 0002 2112a442 b7e7a701 bc34d686 fa87dfae 0000"),
       ParseError::BadLength},
      {"length_past_bytes", from_hex("0001 0008 2112a442 b7e7a701 bc34d686 fa87dfae 001a0000"),
       ParseError::BadLength},
      {"length_short_of_bytes", from_hex("0001 0000 2112a442 b7e7a701 bc34d686 fa87dfae 001a0000"),
       ParseError::BadLength},
      // A lone 2-byte attribute header cannot pass the multiple-of-4 length check.
      {"attr_header_truncated", from_hex("0001 0002 2112a442 b7e7a701 bc34d686 fa87dfae 001a"),
       ParseError::BadLength},
      {"attr_value_past_end", stun("0006 0009 65767468"), ParseError::AttrOverrun},
      {"attr_padding_past_end", stun("0006 0005 65767468"), ParseError::AttrOverrun},
      {"attr_length_ffff", stun("0013 ffff 00000000"), ParseError::AttrOverrun},
      {"attr_exactly_fills", stun("0006 0008 65767468 3a683676"), std::nullopt, 1},
      {"32_attributes", stun(many_attrs(32)), std::nullopt, 32},
      {"33_attributes", stun(many_attrs(33)), ParseError::TooManyAttrs},
      {"33_tlvs_2_ignored_after_mi",
       stun(many_attrs(30) + "0008 0014" + std::string(40, '0') + many_attrs(2)), std::nullopt, 31},
      {"rfc5769_request", rfc_request, std::nullopt, 6},
      {"fingerprint_wrong", flip_last_byte(rfc_request), ParseError::BadFingerprint},
      {"fingerprint_only_ok", with_fingerprint(stun("")), std::nullopt, 1},
      {"fingerprint_not_last", append_attrs(with_fingerprint(stun("")), "001a0000"),
       ParseError::BadFingerprint},
      {"fingerprint_length_8", stun("8028 0008 00000000 00000000"), ParseError::BadFingerprint},
      {"fingerprint_length_0", stun("8028 0000"), ParseError::BadFingerprint},
      {"nonzero_padding_ignored", stun("0006 0003 616263ff"), std::nullopt, 1},
      {"no_magic_cookie_rfc3489", from_hex("0001 0000 a1b2c3d4 b7e7a701 bc34d686 fa87dfae"),
       std::nullopt},
  };
}

class ParseTable : public testing::TestWithParam<ParseCase> {};

TEST_P(ParseTable, ParsesOrRejects) {
  const ParseCase& c = GetParam();
  auto msg = MessageView::parse(test::span(c.bytes));
  if (c.error) {
    ASSERT_FALSE(msg) << "parsed " << msg->attributes().size() << " attributes";
    EXPECT_EQ(msg.error(), *c.error) << to_string(msg.error()) << " vs " << to_string(*c.error);
    return;
  }
  ASSERT_TRUE(msg) << to_string(msg.error());
  EXPECT_EQ(msg->attributes().size(), c.attributes);
  EXPECT_EQ(msg->bytes().data(), c.bytes.data());  // a view, not a copy
  EXPECT_EQ(msg->bytes().size(), c.bytes.size());
  for (const RawAttribute& a : msg->attributes()) {
    ASSERT_LE(a.offset + 4 + a.value.size(), c.bytes.size());
    EXPECT_EQ(a.value.data(), c.bytes.data() + a.offset + 4);
  }
}

INSTANTIATE_TEST_SUITE_P(Messages, ParseTable, testing::ValuesIn(parse_cases()),
                         [](const auto& info) { return info.param.name; });

std::vector<std::uint16_t> types_of(const MessageView& msg) {
  std::vector<std::uint16_t> out;
  for (const RawAttribute& a : msg.attributes()) out.push_back(a.type);
  return out;
}
std::vector<std::uint16_t> unknown_of(const MessageView& msg) {
  return {msg.unknown_required().begin(), msg.unknown_required().end()};
}

struct IgnoreCase {
  std::string name;
  Bytes bytes;
  std::vector<std::uint16_t> counted;
};
void PrintTo(const IgnoreCase& c, std::ostream* os) { *os << c.name; }

// RFC 8489 §14.5/§14.6: after MESSAGE-INTEGRITY only MESSAGE-INTEGRITY-SHA256 and FINGERPRINT
// count; after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
const std::string kMi = "0008 0014 " + std::string(40, 'a');
const std::string kMiSha256 = "001c 0020 " + std::string(64, 'b');
std::vector<IgnoreCase> ignore_cases() {
  return {
      {"after_mi",
       stun("0006 0004 75736572 " + kMi + " 8022 0004 61626364 000d 0004 00000258"),
       {0x0006, 0x0008}},
      {"mi_sha256_and_fingerprint_after_mi",
       with_fingerprint(stun("0006 0004 75736572 " + kMi + " 8022 0004 61626364 " + kMiSha256 +
                             " 000d 0004 00000258")),
       {0x0006, 0x0008, 0x001c, 0x8028}},
      {"mi_after_mi_sha256", with_fingerprint(stun(kMiSha256 + " " + kMi)), {0x001c, 0x8028}},
      {"second_mi_ignored", stun(kMi + " " + kMi), {0x0008}},
      {"unknown_required_after_mi_ignored", stun(kMi + " 0031 0000"), {0x0008}},
  };
}

class IgnoredAfterIntegrity : public testing::TestWithParam<IgnoreCase> {};

TEST_P(IgnoredAfterIntegrity, OnlyCountedAttributesAreVisible) {
  const IgnoreCase& c = GetParam();
  auto msg = MessageView::parse(test::span(c.bytes));
  ASSERT_TRUE(msg) << to_string(msg.error());
  EXPECT_EQ(types_of(*msg), c.counted);
  EXPECT_TRUE(msg->unknown_required().empty());
  EXPECT_FALSE(msg->has(AttrType::Software));
  EXPECT_EQ(msg->get<Lifetime>().error(), AttrError::Missing);
}

INSTANTIATE_TEST_SUITE_P(Messages, IgnoredAfterIntegrity, testing::ValuesIn(ignore_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(MessageView, UnknownComprehensionRequiredAreListed) {
  // 0x0031 and 0x7fff unknown required; 0x8031 unknown optional; PRIORITY, USE-CANDIDATE known.
  const Bytes bytes = stun("0031 0004 61626364 8031 0000 0024 0004 6e0001ff 0025 0000 7fff 0000");
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg);
  EXPECT_EQ(types_of(*msg), (std::vector<std::uint16_t>{0x0031, 0x8031, 0x0024, 0x0025, 0x7fff}));
  EXPECT_EQ(unknown_of(*msg), (std::vector<std::uint16_t>{0x0031, 0x7fff}));
}

TEST(MessageView, EveryKnownTypeIsNotListedAsUnknown) {
  const std::uint16_t known[] = {0x0001, 0x0006, 0x0009, 0x000a, 0x000c, 0x000d, 0x0012, 0x0013,
                                 0x0014, 0x0015, 0x0016, 0x0017, 0x0018, 0x0019, 0x001a, 0x001d,
                                 0x001e, 0x0020, 0x0022, 0x0024, 0x0025, 0x002a};
  for (std::uint16_t t : known) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%04x 0000", t);
    const Bytes bytes = stun(hex);
    auto msg = MessageView::parse(test::span(bytes));
    ASSERT_TRUE(msg) << hex;
    EXPECT_TRUE(msg->unknown_required().empty()) << hex;
  }
}

TEST(MessageView, DuplicateAttributeFirstWins) {
  const Bytes bytes = stun("000d 0004 00000258 000d 0004 000004b0");
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->attributes().size(), 2u);
  EXPECT_EQ(msg->get<Lifetime>()->value, 600u);
  EXPECT_EQ(msg->find(AttrType::Lifetime)->offset, kHeaderSize);
}

TEST(MessageView, DuplicateAttributeFirstWinsEvenWhenMalformed) {
  // No fallback to a later copy: the first one decides (a 400 for the server).
  const Bytes bytes = stun("000d 0003 00000200 000d 0004 00000258");
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get<Lifetime>().error(), AttrError::Malformed);
}

TEST(MessageView, HeaderFields) {
  const Bytes bytes = from_hex("0113 0000 2112a442 b7e7a701 bc34d686 fa87dfae");
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->type().is(Method::Allocate, Class::ErrorResponse));
  EXPECT_EQ(msg->method(), 0x003);
  EXPECT_EQ(msg->cls(), Class::ErrorResponse);
  EXPECT_TRUE(msg->has_magic_cookie());
  EXPECT_EQ(msg->transaction_id(), test::kRfcTransactionId);
}

TEST(MessageView, Rfc3489HeaderKeepsTheCookieBytes) {
  const Bytes bytes = from_hex("0001 0000 a1b2c3d4 b7e7a701 bc34d686 fa87dfae");
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg);
  EXPECT_FALSE(msg->has_magic_cookie());
  EXPECT_EQ(msg->header().cookie, 0xa1b2c3d4u);
  EXPECT_EQ(msg->transaction_id(), test::kRfcTransactionId);
}

TEST(MessageView, LooksLikeStun) {
  EXPECT_TRUE(
      looks_like_stun(test::span(from_hex("0001 0000 2112a442 b7e7a701 bc34d686 fa87dfae"))));
  EXPECT_FALSE(
      looks_like_stun(test::span(from_hex("0001 0000 2112a442 b7e7a701 bc34d686 fa87df"))));
  EXPECT_FALSE(
      looks_like_stun(test::span(from_hex("4001 0000 2112a442 b7e7a701 bc34d686 fa87dfae"))));
}

TEST(MessageView, ErrorStringsAreDistinct) {
  std::set<std::string_view> seen;
  for (auto e : {ParseError::TooShort, ParseError::NotStun, ParseError::BadLength,
                 ParseError::AttrOverrun, ParseError::TooManyAttrs, ParseError::BadFingerprint})
    EXPECT_TRUE(seen.insert(to_string(e)).second) << to_string(e);
  EXPECT_NE(to_string(AttrError::Missing), to_string(AttrError::Malformed));
}

}  // namespace
}  // namespace turnd::protocol
