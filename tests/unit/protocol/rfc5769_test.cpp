// RFC 5769 test vectors, all four: parse, verify MESSAGE-INTEGRITY and FINGERPRINT, check the
// decoded fields, and rebuild each message byte for byte with MessageBuilder.
//
// Padding: §2.1-2.3 pad SOFTWARE and USERNAME with 0x20 (RFC 5389 allowed any padding), §2.4
// with zeros. MessageBuilder always writes zeros (RFC 8489 §14), and the HMAC and CRC cover the
// padding, so the rebuild helper overwrites the builder's zero padding with spaces in the output
// buffer right after each attribute is added (before MESSAGE-INTEGRITY is computed). Everything,
// padding included, is then compared byte for byte.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "attribute_catalog.hpp"
#include "protocol/attributes/all.hpp"
#include "protocol/fingerprint.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"
#include "test_support.hpp"

namespace turnd::protocol {
namespace {

using test::Bytes;
using test::load_hex;
using test::to_hex;

enum class Padding { Spaces, Zeros };

// The RFC's long-term username, katakana "matorikkusu" (U+30DE U+30C8 U+30EA U+30C3 U+30AF
// U+30B9) in UTF-8.
constexpr std::string_view kMatrixUser =
    "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
// The RFC's password is "The<U+00AD>M<U+00AA>tr<U+2168>"; SASLprep maps U+00AD (soft hyphen) to
// nothing and NFKC turns U+00AA into "a" and U+2168 into "IX". long_term_key takes the prepared
// string: OpaqueString/SASLprep is the caller's job.
constexpr std::string_view kMatrixPasswordRaw = "The\xc2\xadM\xc2\xaatr\xe2\x85\xa8";
constexpr std::string_view kMatrixPasswordPrepared = "TheMatrIX";

struct Credentials {
  std::string_view username = {};  // empty: short-term credentials (the key is the password)
  std::string_view realm = {};
  std::string_view password = {};

  IntegrityKey key() const {
    return username.empty() ? short_term_key(password)
                            : long_term_key(username, realm, password, PasswordAlgorithmId::Md5);
  }
};

struct Expect {
  MessageType type = {};
  std::string_view software = {};
  std::string_view username = {};
  std::string_view nonce = {};
  std::string_view realm = {};
  std::string_view mapped = {};
  bool fingerprint = true;
};

struct VectorCase {
  std::string_view name, file;
  Credentials credentials;
  Padding pad;
  Expect expect;
};

const VectorCase kRfc5769[] = {
    {"s2_1_request",
     "rfc5769_2_1_request.hex",
     {.password = test::kRfcShortTermPassword},
     Padding::Spaces,
     {.type = {Method::Binding, Class::Request},
      .software = "STUN test client",
      .username = "evtj:h6vY"}},
    {"s2_2_ipv4_response",
     "rfc5769_2_2_ipv4_response.hex",
     {.password = test::kRfcShortTermPassword},
     Padding::Spaces,
     {.type = {Method::Binding, Class::SuccessResponse},
      .software = "test vector",
      .mapped = "192.0.2.1:32853"}},
    {"s2_3_ipv6_response",
     "rfc5769_2_3_ipv6_response.hex",
     {.password = test::kRfcShortTermPassword},
     Padding::Spaces,
     {.type = {Method::Binding, Class::SuccessResponse},
      .software = "test vector",
      .mapped = "[2001:db8:1234:5678:11:2233:4455:6677]:32853"}},
    {"s2_4_long_term_request",
     "rfc5769_2_4_long_term_request.hex",
     {kMatrixUser, "example.org", kMatrixPasswordPrepared},
     Padding::Zeros,
     {.type = {Method::Binding, Class::Request},
      .username = kMatrixUser,
      .nonce = "f//499k954d6OL34oL9FSTvy64sA",
      .realm = "example.org",
      .fingerprint = false}},
};

template <class A>
std::string text_of(const MessageView& msg) {
  auto a = msg.get<A>();
  return a ? std::string(a->text()) : "<" + std::string(to_string(a.error())) + ">";
}

void expect_fields(const MessageView& msg, const Expect& e) {
  EXPECT_EQ(msg.type(), e.type);
  EXPECT_TRUE(msg.has_magic_cookie());
  EXPECT_TRUE(msg.unknown_required().empty());
  if (!e.software.empty()) {
    EXPECT_EQ(text_of<Software>(msg), e.software);
  }
  if (!e.username.empty()) {
    EXPECT_EQ(text_of<Username>(msg), e.username);
  }
  if (!e.nonce.empty()) {
    EXPECT_EQ(text_of<Nonce>(msg), e.nonce);
  }
  if (!e.realm.empty()) {
    EXPECT_EQ(text_of<Realm>(msg), e.realm);
  }
  if (!e.mapped.empty()) {
    auto mapped = msg.get<XorMappedAddress>();
    ASSERT_TRUE(mapped);
    EXPECT_EQ(mapped->address.to_string(), e.mapped);
  }
}

// Adds one attribute through its typed codec when there is one (so the vector also tests the
// encoders), or as a raw TLV otherwise.
void add_typed_or_raw(MessageBuilder& b, const MessageView& msg, const RawAttribute& raw) {
  bool added = false;
  test::for_each_attribute_type([&]<class A>() {
    if constexpr (test::kEncodable<A>) {
      if (added || raw.type != static_cast<std::uint16_t>(A::kType)) return;
      auto decoded = A::decode(raw.value, msg.header());
      ASSERT_TRUE(decoded) << "attribute " << raw.type;
      b.add(*decoded);
      added = true;
    }
  });
  if (!added) b.add_raw(raw.type, raw.value);
}

Bytes rebuild(const MessageView& msg, const IntegrityKey& key, Padding pad) {
  std::array<std::uint8_t, 512> out{};
  MessageBuilder b{out, msg.type(), msg.transaction_id(), msg.header().cookie};
  for (const RawAttribute& raw : msg.attributes()) {
    if (raw.type == static_cast<std::uint16_t>(AttrType::MessageIntegrity)) {
      b.add_integrity(key.span(), IntegrityAlg::Sha1);
    } else if (raw.type == static_cast<std::uint16_t>(AttrType::Fingerprint)) {
      b.add_fingerprint();
    } else {
      const std::size_t start = b.size();
      add_typed_or_raw(b, msg, raw);
      if (pad == Padding::Spaces)
        for (std::size_t i = start + 4 + raw.value.size(); i < b.size(); ++i) out[i] = 0x20;
    }
  }
  auto wire = b.finish();
  if (!wire) return {};
  return Bytes(wire->begin(), wire->end());
}

class Rfc5769 : public testing::TestWithParam<VectorCase> {};

TEST_P(Rfc5769, ParsesVerifiesAndRebuildsByteForByte) {
  const VectorCase& c = GetParam();
  const Bytes bytes = load_hex(c.file);
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg) << to_string(msg.error());
  EXPECT_EQ(msg->transaction_id(),
            (TransactionId{bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13],
                           bytes[14], bytes[15], bytes[16], bytes[17], bytes[18], bytes[19]}));

  const IntegrityKey key = c.credentials.key();
  EXPECT_EQ(verify_integrity(*msg, key.span()), IntegrityResult::Ok);
  EXPECT_EQ(verify_integrity(*msg, key.span(), IntegrityAlg::Sha1), IntegrityResult::Ok);
  EXPECT_EQ(verify_integrity(*msg, key.span(), IntegrityAlg::Sha256), IntegrityResult::Missing);

  // parse() already rejects a wrong FINGERPRINT; check the value against the CRC as well.
  ASSERT_EQ(msg->has(AttrType::Fingerprint), c.expect.fingerprint);
  if (c.expect.fingerprint) {
    const RawAttribute* fp = msg->find(AttrType::Fingerprint);
    EXPECT_EQ(msg->get<Fingerprint>()->value, fingerprint_of(msg->bytes().first(fp->offset)));
  }

  expect_fields(*msg, c.expect);
  EXPECT_EQ(to_hex(test::span(rebuild(*msg, key, c.pad))), to_hex(test::span(bytes)));
}

TEST_P(Rfc5769, WrongKeyIsAMismatch) {
  const VectorCase& c = GetParam();
  const Bytes bytes = load_hex(c.file);
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg);
  Credentials wrong = c.credentials;
  wrong.password = "VOkJxbRl1RmTxUk/WvJxBT";
  EXPECT_EQ(verify_integrity(*msg, wrong.key().span()), IntegrityResult::Mismatch);
}

TEST_P(Rfc5769, AnyFlippedBitIsRejected) {
  const VectorCase& c = GetParam();
  const Bytes bytes = load_hex(c.file);
  const IntegrityKey key = c.credentials.key();
  auto original = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(original);
  const RawAttribute* mi = original->find(AttrType::MessageIntegrity);
  ASSERT_NE(mi, nullptr);
  const std::size_t covered = mi->offset + 4 + 20;  // bytes the HMAC protects, MAC included
  for (std::size_t bit = 0; bit < covered * 8; ++bit) {
    Bytes flipped = bytes;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto msg = MessageView::parse(test::span(flipped));
    // Either framing/FINGERPRINT rejects it, or MESSAGE-INTEGRITY no longer verifies.
    if (msg) {
      EXPECT_NE(verify_integrity(*msg, key.span()), IntegrityResult::Ok) << "bit " << bit;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, Rfc5769, testing::ValuesIn(kRfc5769),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Rfc5769LongTerm, KeyNeedsTheSaslPreparedPassword) {
  const Bytes bytes = load_hex("rfc5769_2_4_long_term_request.hex");
  auto msg = MessageView::parse(test::span(bytes));
  ASSERT_TRUE(msg);
  const auto raw =
      long_term_key(kMatrixUser, "example.org", kMatrixPasswordRaw, PasswordAlgorithmId::Md5);
  EXPECT_EQ(verify_integrity(*msg, raw.span()), IntegrityResult::Mismatch);
  // The key is MD5("<username>:example.org:TheMatrIX"), computed independently.
  const auto key =
      long_term_key(kMatrixUser, "example.org", kMatrixPasswordPrepared, PasswordAlgorithmId::Md5);
  EXPECT_EQ(to_hex(key.span()), "e8ca7ad5 9d5eb051 8e312911 d2dab2a9");
}

}  // namespace
}  // namespace turnd::protocol
