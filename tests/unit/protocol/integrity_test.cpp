// Keys, MESSAGE-INTEGRITY(-SHA256) computed by MessageBuilder and checked by verify_integrity.
#include "protocol/integrity.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>

#include "protocol/attributes/all.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"
#include "test_support.hpp"

namespace turnd::protocol {
namespace {

using test::Bytes;
using test::from_hex;
using test::to_hex;

const TransactionId kId = test::kRfcTransactionId;

struct Built {
  std::array<std::uint8_t, 256> buffer{};
  ByteSpan wire;
};

// A Refresh request signed with `sha1_key` (MI) and/or `sha256_key` (MI-SHA256).
void build_signed(Built& out, const IntegrityKey* sha1_key, const IntegrityKey* sha256_key,
                  bool fingerprint = true) {
  MessageBuilder b{out.buffer, {Method::Refresh, Class::Request}, kId};
  b.add(Username{"alice"});
  b.add(Lifetime{600});
  if (sha1_key) b.add_integrity(sha1_key->span(), IntegrityAlg::Sha1);
  if (sha256_key) b.add_integrity(sha256_key->span(), IntegrityAlg::Sha256);
  if (fingerprint) b.add_fingerprint();
  out.wire = *b.finish();
}

const IntegrityKey kKeyA = short_term_key("password-a");
const IntegrityKey kKeyB = short_term_key("password-b");

struct VerifyCase {
  std::string name;
  const IntegrityKey* sha1_key;
  const IntegrityKey* sha256_key;
  const IntegrityKey* verify_key;
  IntegrityResult any, sha1, sha256;  // verify_integrity(msg, key) / (.., Sha1) / (.., Sha256)
};
void PrintTo(const VerifyCase& c, std::ostream* os) { *os << c.name; }

const VerifyCase kVerify[] = {
    {"sha1_ok", &kKeyA, nullptr, &kKeyA, IntegrityResult::Ok, IntegrityResult::Ok,
     IntegrityResult::Missing},
    {"sha1_wrong_key", &kKeyA, nullptr, &kKeyB, IntegrityResult::Mismatch,
     IntegrityResult::Mismatch, IntegrityResult::Missing},
    {"sha256_ok", nullptr, &kKeyA, &kKeyA, IntegrityResult::Ok, IntegrityResult::Missing,
     IntegrityResult::Ok},
    {"sha256_wrong_key", nullptr, &kKeyA, &kKeyB, IntegrityResult::Mismatch,
     IntegrityResult::Missing, IntegrityResult::Mismatch},
    {"both_same_key", &kKeyA, &kKeyA, &kKeyA, IntegrityResult::Ok, IntegrityResult::Ok,
     IntegrityResult::Ok},
    // Different keys make the precedence visible: SHA256 is the one checked when present.
    {"both_sha256_checked_first", &kKeyA, &kKeyB, &kKeyB, IntegrityResult::Ok,
     IntegrityResult::Mismatch, IntegrityResult::Ok},
    {"both_sha1_key_not_enough", &kKeyA, &kKeyB, &kKeyA, IntegrityResult::Mismatch,
     IntegrityResult::Ok, IntegrityResult::Mismatch},
    {"none", nullptr, nullptr, &kKeyA, IntegrityResult::Missing, IntegrityResult::Missing,
     IntegrityResult::Missing},
};

class VerifyTable : public testing::TestWithParam<VerifyCase> {};

TEST_P(VerifyTable, BuilderMacsVerify) {
  const VerifyCase& c = GetParam();
  for (bool fingerprint : {false, true}) {
    Built built;
    build_signed(built, c.sha1_key, c.sha256_key, fingerprint);
    auto msg = MessageView::parse(built.wire);
    ASSERT_TRUE(msg) << to_string(msg.error());
    const ByteSpan key = c.verify_key->span();
    EXPECT_EQ(verify_integrity(*msg, key), c.any) << "fingerprint " << fingerprint;
    EXPECT_EQ(verify_integrity(*msg, key, IntegrityAlg::Sha1), c.sha1);
    EXPECT_EQ(verify_integrity(*msg, key, IntegrityAlg::Sha256), c.sha256);
  }
}

INSTANTIATE_TEST_SUITE_P(Integrity, VerifyTable, testing::ValuesIn(kVerify),
                         [](const auto& info) { return info.param.name; });

TEST(Integrity, AnyChangeBeforeTheMacIsAMismatch) {
  Built built;
  build_signed(built, &kKeyA, nullptr, false);
  const std::size_t mac_end = built.wire.size();
  for (std::size_t i = 0; i < mac_end; ++i) {
    if (i == 2 || i == 3) continue;  // the length field: framing catches that
    Bytes tampered(built.wire.begin(), built.wire.end());
    tampered[i] ^= 0x01;
    auto msg = MessageView::parse(test::span(tampered));
    if (msg) {
      EXPECT_NE(verify_integrity(*msg, kKeyA.span()), IntegrityResult::Ok) << i;
    }
  }
}

// MESSAGE-INTEGRITY-SHA256 may be truncated to 16..32 bytes in steps of 4 (RFC 8489 §14.6).
TEST(Integrity, TruncatedSha256Verifies) {
  for (std::size_t mac_len : {16u, 20u, 24u, 28u, 32u}) {
    std::array<std::uint8_t, 128> out{};
    MessageBuilder b{out, {Method::Binding, Class::Request}, kId};
    b.add(Username{"alice"});
    const std::size_t start = b.size();
    std::uint8_t mac[32];
    const auto length = static_cast<std::uint16_t>(start + 4 + mac_len - kHeaderSize);
    ASSERT_EQ(hmac_with_length(IntegrityAlg::Sha256, kKeyA.span(), ByteSpan{out.data(), start},
                               length, mac),
              32u);
    b.add_raw(static_cast<std::uint16_t>(AttrType::MessageIntegritySha256), ByteSpan{mac, mac_len});
    auto msg = MessageView::parse(*b.finish());
    ASSERT_TRUE(msg);
    EXPECT_EQ(verify_integrity(*msg, kKeyA.span()), IntegrityResult::Ok) << mac_len;
    EXPECT_EQ(verify_integrity(*msg, kKeyB.span()), IntegrityResult::Mismatch) << mac_len;
  }
}

TEST(Integrity, MalformedMacIsAMismatch) {
  for (auto [type, len] :
       {std::pair{AttrType::MessageIntegrity, 19u}, std::pair{AttrType::MessageIntegrity, 0u},
        std::pair{AttrType::MessageIntegritySha256, 12u},
        std::pair{AttrType::MessageIntegritySha256, 36u}}) {
    std::array<std::uint8_t, 128> out{};
    const std::array<std::uint8_t, 36> mac{};
    MessageBuilder b{out, {Method::Binding, Class::Request}, kId};
    b.add_raw(static_cast<std::uint16_t>(type), ByteSpan{mac.data(), len});
    auto msg = MessageView::parse(*b.finish());
    ASSERT_TRUE(msg);
    EXPECT_EQ(verify_integrity(*msg, kKeyA.span()), IntegrityResult::Mismatch) << len;
  }
}

TEST(Integrity, EmptyKeyIsAValidHmacKey) {
  const IntegrityKey empty = short_term_key("");
  Built built;
  build_signed(built, &empty, &empty);
  auto msg = MessageView::parse(built.wire);
  ASSERT_TRUE(msg);
  EXPECT_EQ(verify_integrity(*msg, empty.span()), IntegrityResult::Ok);
  EXPECT_EQ(verify_integrity(*msg, kKeyA.span()), IntegrityResult::Mismatch);
}

// Computed independently (Python hmac): USERNAME "evtj:h6vY", MI keyed with a 70-byte password.
// HMAC hashes keys longer than the block (64 bytes); a truncated key gives another MAC.
TEST(Integrity, ShortTermPasswordLongerThan64Bytes) {
  const Bytes wire = from_hex(
      "00010028 2112a442 b7e7a701 bc34d686 fa87dfae 00060009 6576746a 3a683676 59000000"
      "00080014 4c247c2a 6a6a8f78 3008aab3 6223d945 b1a8bdd6");
  auto msg = MessageView::parse(test::span(wire));
  ASSERT_TRUE(msg);
  const IntegrityKey key = short_term_key(std::string(70, 'x'));
  EXPECT_EQ(key.span().size(), 70u);
  EXPECT_EQ(verify_integrity(*msg, key.span()), IntegrityResult::Ok);
}

TEST(Integrity, KeysMatchIndependentDigests) {
  // MD5 / SHA-256 of "alice:example.org:secret" (RFC 8489 §9.2.2).
  EXPECT_EQ(
      to_hex(long_term_key("alice", "example.org", "secret", PasswordAlgorithmId::Md5).span()),
      "543e1aec 5d3614f0 3141652d 6ada51b2");
  EXPECT_EQ(
      to_hex(long_term_key("alice", "example.org", "secret", PasswordAlgorithmId::Sha256).span()),
      "d1659fff 7a501be1 5962adc3 5514ca6a 58689056 95f2dd10 93741f93 1e000a1f");
  EXPECT_EQ(to_hex(short_term_key("VOkJxbRl1RmTxUk/WvJxBt").span()),
            to_hex(as_bytes("VOkJxbRl1RmTxUk/WvJxBt")));
}

TEST(Integrity, UserhashMatchesRfc8489AppendixB) {
  // RFC 8489 Appendix B.1: USERHASH of "<U+30DE><U+30C8><U+30EA><U+30C3><U+30AF><U+30B9>" in
  // realm "example.org".
  const auto h = userhash(
      "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9", "example.org");
  EXPECT_EQ(to_hex(h), "4a3cf38f ef6992bd a952c678 0417da0f 24819415 569e60b2 05c46e41 407f1704");
  EXPECT_EQ(to_hex(userhash("alice", "example.org")),
            "435b7933 096a304d 3c734cfb 833ec907 5bd47ab1 c0160321 aed31c06 a8c7009e");
}

TEST(Integrity, KeyEquality) {
  EXPECT_TRUE(short_term_key("abc") == short_term_key("abc"));
  EXPECT_FALSE(short_term_key("abc") == short_term_key("abd"));
  EXPECT_FALSE(short_term_key("abc") == short_term_key("abcd"));
  EXPECT_FALSE(long_term_key("a", "b", "c", PasswordAlgorithmId::Md5) ==
               long_term_key("a", "b", "c", PasswordAlgorithmId::Sha256));
}

}  // namespace
}  // namespace turnd::protocol
