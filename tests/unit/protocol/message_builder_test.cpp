// MessageBuilder: exact bytes, RFC order of the trailing attributes, never writing past the
// caller's buffer, RFC 3489 cookie passthrough, the STUN length limit.
#include "protocol/message_builder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "protocol/attributes/all.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_view.hpp"
#include "test_support.hpp"

namespace turnd::protocol {
namespace {

using test::Bytes;
using test::from_hex;
using test::to_hex;

const TransactionId kId = test::kRfcTransactionId;
const MessageType kAllocateSuccess{Method::Allocate, Class::SuccessResponse};

IntegrityKey alice_key() {
  return long_term_key("alice", "example.org", "secret", PasswordAlgorithmId::Md5);
}

// An Allocate success response with every trailing attribute.
void build_allocate_success(MessageBuilder& b) {
  b.add(XorRelayedAddress{*TransportAddress::parse("203.0.113.9:49152")});
  b.add(Lifetime{600});
  b.add(XorMappedAddress{*TransportAddress::parse("198.51.100.7:55432")});
  b.add(Software{"turnd"});
  b.add_integrity(alice_key().span(), IntegrityAlg::Sha1);
  b.add_integrity(alice_key().span(), IntegrityAlg::Sha256);
  b.add_fingerprint();
}

// Computed independently (Python: hmac, hashlib, zlib) with key MD5("alice:example.org:secret").
constexpr std::string_view kAllocateSuccessWire = R"(
  01030070 2112a442 b7e7a701 bc34d686 fa87dfae
  00160008 0001e112 ea12d54b              # XOR-RELAYED-ADDRESS 203.0.113.9:49152
  000d0004 00000258                       # LIFETIME 600
  00200008 0001f99a e721c045              # XOR-MAPPED-ADDRESS 198.51.100.7:55432
  80220005 7475726e 64000000              # SOFTWARE "turnd", zero padding
  00080014 1eb6a0e9 815dbb61 073f2a89 5821f604 19af91bb
  001c0020 7b4bda77 62bb0e73 b6dea42b 963dadb4 f59296aa c6259f36 8e827c47 8e172bd4
  80280004 83657fd9)";

TEST(MessageBuilder, BuildsAllocateSuccessByteForByte) {
  std::array<std::uint8_t, 256> out{};
  MessageBuilder b{out, kAllocateSuccess, kId};
  build_allocate_success(b);
  auto wire = b.finish();
  ASSERT_TRUE(wire);
  EXPECT_EQ(to_hex(*wire), to_hex(test::span(from_hex(kAllocateSuccessWire))));
  EXPECT_EQ(b.size(), wire->size());
  EXPECT_EQ(wire->data(), out.data());  // a view into the caller's buffer
}

TEST(MessageBuilder, HeaderOnly) {
  std::array<std::uint8_t, 20> out{};
  auto wire = MessageBuilder{out, {Method::Binding, Class::Request}, kId}.finish();
  ASSERT_TRUE(wire);
  EXPECT_EQ(to_hex(*wire), "00010000 2112a442 b7e7a701 bc34d686 fa87dfae");
}

// Every buffer size short of the message fails cleanly, and nothing is written past the span:
// the bytes after it (a guard region) keep their fill pattern.
TEST(MessageBuilder, BufferTooSmallNeverWritesPastTheSpan) {
  const Bytes expected = from_hex(kAllocateSuccessWire);
  constexpr std::size_t kGuard = 64;
  constexpr std::uint8_t kFill = 0xa5;
  for (std::size_t n = 0; n <= expected.size(); ++n) {
    std::vector<std::uint8_t> buffer(n + kGuard, kFill);
    MessageBuilder b{MutableByteSpan{buffer.data(), n}, kAllocateSuccess, kId};
    build_allocate_success(b);
    auto wire = b.finish();
    if (n < expected.size()) {
      ASSERT_FALSE(wire) << n;
      EXPECT_EQ(wire.error(), BuildError::BufferTooSmall) << n;
    } else {
      ASSERT_TRUE(wire);
      EXPECT_EQ(to_hex(*wire), to_hex(test::span(expected)));
    }
    for (std::size_t i = n; i < buffer.size(); ++i)
      ASSERT_EQ(buffer[i], kFill) << "buffer of " << n << " written at " << i;
  }
}

enum class Op { Attr, Raw, Mi, MiSha256, Fp };
struct OrderCase {
  std::string name;
  std::vector<Op> ops;
  bool ok;
};
void PrintTo(const OrderCase& c, std::ostream* os) { *os << c.name; }

const OrderCase kOrder[] = {
    {"attr_mi_sha256_fingerprint", {Op::Attr, Op::Mi, Op::MiSha256, Op::Fp}, true},
    {"mi_then_fingerprint", {Op::Mi, Op::Fp}, true},
    {"mi_sha256_then_fingerprint", {Op::MiSha256, Op::Fp}, true},
    {"fingerprint_only", {Op::Fp}, true},
    {"mi_then_mi_sha256", {Op::Mi, Op::MiSha256}, true},
    {"attr_after_fingerprint", {Op::Attr, Op::Fp, Op::Attr}, false},
    {"raw_after_fingerprint", {Op::Fp, Op::Raw}, false},
    {"attr_after_mi", {Op::Mi, Op::Attr}, false},
    {"raw_after_mi_sha256", {Op::MiSha256, Op::Raw}, false},
    {"mi_after_mi_sha256", {Op::MiSha256, Op::Mi}, false},
    {"mi_twice", {Op::Mi, Op::Mi}, false},
    {"mi_after_fingerprint", {Op::Fp, Op::Mi}, false},
    {"fingerprint_twice", {Op::Fp, Op::Fp}, false},
};

Result<ByteSpan, BuildError> run_ops(MutableByteSpan out, const std::vector<Op>& ops,
                                     std::vector<std::size_t>& sizes) {
  MessageBuilder b{out, {Method::Refresh, Class::Request}, kId};
  const auto key = alice_key();
  const std::uint8_t raw[] = {1, 2, 3, 4};
  for (Op op : ops) {
    switch (op) {
      case Op::Attr:
        b.add(Lifetime{0});
        break;
      case Op::Raw:
        b.add_raw(0x8031, raw);
        break;
      case Op::Mi:
        b.add_integrity(key.span(), IntegrityAlg::Sha1);
        break;
      case Op::MiSha256:
        b.add_integrity(key.span(), IntegrityAlg::Sha256);
        break;
      case Op::Fp:
        b.add_fingerprint();
        break;
    }
    sizes.push_back(b.size());
  }
  return b.finish();
}

class BuilderOrder : public testing::TestWithParam<OrderCase> {};

TEST_P(BuilderOrder, EnforcesRfcOrder) {
  const OrderCase& c = GetParam();
  std::array<std::uint8_t, 512> out{};
  std::vector<std::size_t> sizes;
  if (c.ok) {
    auto wire = run_ops(out, c.ops, sizes);
    ASSERT_TRUE(wire);
    auto msg = MessageView::parse(*wire);
    ASSERT_TRUE(msg) << to_string(msg.error());
    EXPECT_EQ(msg->attributes().size(), c.ops.size());
    return;
  }
#if defined(TURND_ENABLE_ASSERTS)
  // Debug and fuzz builds treat a misordered build as a programming error.
  EXPECT_DEATH((void)run_ops(out, c.ops, sizes), "assertion failed");
#else
  auto wire = run_ops(out, c.ops, sizes);
  ASSERT_FALSE(wire);
  EXPECT_EQ(wire.error(), BuildError::BadOrder);
  EXPECT_EQ(sizes[sizes.size() - 1], sizes[sizes.size() - 2]) << "rejected attribute was written";
#endif
}

INSTANTIATE_TEST_SUITE_P(Sequences, BuilderOrder, testing::ValuesIn(kOrder),
                         [](const auto& info) { return info.param.name; });

TEST(MessageBuilder, Rfc3489CookiePassthrough) {
  constexpr std::uint32_t kOldCookie = 0xa1b2c3d4;
  std::array<std::uint8_t, 64> out{};
  MessageBuilder b{out, {Method::Binding, Class::SuccessResponse}, kId, kOldCookie};
  b.add(MappedAddress{*TransportAddress::parse("192.0.2.1:32853")});
  b.add_fingerprint();
  auto wire = b.finish();
  ASSERT_TRUE(wire);
  EXPECT_EQ(to_hex(wire->first(20)), "01010014 a1b2c3d4 b7e7a701 bc34d686 fa87dfae");
  auto msg = MessageView::parse(*wire);
  ASSERT_TRUE(msg) << to_string(msg.error());
  EXPECT_FALSE(msg->has_magic_cookie());
  EXPECT_EQ(msg->header().cookie, kOldCookie);
  EXPECT_EQ(msg->transaction_id(), kId);
  EXPECT_EQ(msg->get<MappedAddress>()->address.to_string(), "192.0.2.1:32853");
}

TEST(MessageBuilder, XorAddressUsesTheGivenCookie) {
  constexpr std::uint32_t kOldCookie = 0xa1b2c3d4;
  std::array<std::uint8_t, 64> out{};
  MessageBuilder b{out, {Method::Binding, Class::SuccessResponse}, kId, kOldCookie};
  b.add(XorMappedAddress{*TransportAddress::parse("192.0.2.1:32853")});
  auto msg = MessageView::parse(*b.finish());
  ASSERT_TRUE(msg);
  // Port 0x8055 ^ 0xa1b2, address c0000201 ^ a1b2c3d4.
  EXPECT_EQ(to_hex(msg->attributes()[0].value), "000121e7 61b2c1d5");
  EXPECT_EQ(msg->get<XorMappedAddress>()->address.to_string(), "192.0.2.1:32853");
}

// The STUN length field is 16 bits and a multiple of 4: at most 65532 bytes of attributes.
TEST(MessageBuilder, LargestMessageFits) {
  std::vector<std::uint8_t> out(kHeaderSize + 65536 + 64);
  std::vector<std::uint8_t> data(65528, 0x5a);
  MessageBuilder b{out, {Method::Data, Class::Indication}, kId};
  b.add_raw(static_cast<std::uint16_t>(AttrType::Data), data);
  auto wire = b.finish();
  ASSERT_TRUE(wire);
  EXPECT_EQ(wire->size(), kHeaderSize + 65532);
  auto msg = MessageView::parse(*wire);
  ASSERT_TRUE(msg) << to_string(msg.error());
  EXPECT_EQ(msg->get<Data>()->value.size(), 65528u);
}

TEST(MessageBuilder, RejectsMessageOverStunMaximum) {
  std::vector<std::uint8_t> out(kHeaderSize + 70000);
  for (std::size_t size : {65529u, 65532u, 65535u, 65536u, 69000u}) {
    std::vector<std::uint8_t> data(size, 0x5a);
    MessageBuilder b{out, {Method::Data, Class::Indication}, kId};
    b.add_raw(static_cast<std::uint16_t>(AttrType::Data), data);
    auto wire = b.finish();
    // A success here carries a wrapped-around length field: a corrupt message on the wire.
    EXPECT_FALSE(wire) << size << "-byte DATA built as a " << (wire ? wire->size() : 0)
                       << "-byte message whose length field says "
                       << (wire ? load_u16(wire->data() + 2) : 0);
  }
}

}  // namespace
}  // namespace turnd::protocol
