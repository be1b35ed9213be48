// libFuzzer target for STUN messages (STYLE.md §6). Property: whatever MessageView::parse
// accepts re-encodes generically (MessageBuilder::add_raw) into a message that parses to the same
// type, transaction id and attributes; every codec decodes any value without crashing, and what a
// codec decodes it re-encodes to the same value; MACs the builder computes verify.
#include <algorithm>
#include <array>
#include <string_view>
#include <type_traits>

#include "fuzz_targets.hpp"
#include "protocol/attributes/all.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"
#include "protocol/result.hpp"
#include "unit/protocol/attribute_catalog.hpp"

namespace turnd::fuzz {
namespace {

using namespace turnd::protocol;

// Largest STUN message (length 65532) plus room for the MACs and FINGERPRINT we add.
constexpr std::size_t kOutSize = kHeaderSize + 65532 + 24 + 36 + 8;
constexpr std::size_t kMaxMessage = kHeaderSize + 65532;
constexpr std::string_view kPassword = "fuzz-password";

bool is_trailer(std::uint16_t type) {
  const auto t = static_cast<AttrType>(type);
  return t == AttrType::MessageIntegrity || t == AttrType::MessageIntegritySha256 ||
         t == AttrType::Fingerprint;
}

// UNKNOWN-ATTRIBUTES and PASSWORD-ALGORITHMS encode only their encode-side list, not a decoded
// value (see attributes_test DecodedListAttributesReencodeUnchanged); skip them here so the
// fuzzer keeps looking for other bugs.
template <class A>
constexpr bool kReencodesDecoded = test::kEncodable<A> && !std::is_same_v<A, UnknownAttributes> &&
                                   !std::is_same_v<A, PasswordAlgorithms>;

// decode(encode(a)) describes the same value as a.
template <class A>
void check_typed_round_trip(const A& a, const Header& header) {
  static std::array<std::uint8_t, 65536 + 8> buffer;
  ByteWriter w{buffer};
  a.encode(w, header);
  TURND_ASSERT(w.ok());
  auto again = A::decode(w.written(), header);
  TURND_ASSERT(again.has_value());
  TURND_ASSERT(test::describe(*again) == test::describe(a));
}

// Every codec on every value, not only the matching type: decoders must survive anything.
void decode_everything(const MessageView& msg) {
  for (const RawAttribute& raw : msg.attributes()) {
    test::for_each_attribute_type([&]<class A>() {
      auto a = A::decode(raw.value, msg.header());
      if (!a) return;
      (void)test::describe(*a);  // walks UNKNOWN-ATTRIBUTES and PASSWORD-ALGORITHMS lists
      if constexpr (kReencodesDecoded<A>) check_typed_round_trip(*a, msg.header());
    });
  }
  test::for_each_attribute_type([&]<class A>() { (void)msg.get<A>(); });
}

std::size_t add_copy(MessageBuilder& b, const MessageView& msg) {
  std::size_t copied = 0;
  for (const RawAttribute& raw : msg.attributes()) {
    if (is_trailer(raw.type)) continue;
    b.add_raw(raw.type, raw.value);
    ++copied;
  }
  return copied;
}

// Same header and the same attributes (type and value, in order), MACs and FINGERPRINT aside.
void check_same_fields(const MessageView& original, const MessageView& copy) {
  TURND_ASSERT(copy.type() == original.type());
  TURND_ASSERT(copy.transaction_id() == original.transaction_id());
  TURND_ASSERT(copy.header().cookie == original.header().cookie);
  auto a = original.attributes().begin(), a_end = original.attributes().end();
  auto b = copy.attributes().begin(), b_end = copy.attributes().end();
  for (;;) {
    while (a != a_end && is_trailer(a->type)) ++a;
    while (b != b_end && is_trailer(b->type)) ++b;
    if (a == a_end || b == b_end) break;
    TURND_ASSERT(a->type == b->type);
    TURND_ASSERT(std::equal(a->value.begin(), a->value.end(), b->value.begin(), b->value.end()));
    ++a;
    ++b;
  }
  TURND_ASSERT(a == a_end && b == b_end);
  const auto u = original.unknown_required(), v = copy.unknown_required();
  TURND_ASSERT(std::equal(u.begin(), u.end(), v.begin(), v.end()));
}

// parse(encode(parse(x))) == parse(x), MI/MI-SHA256/FINGERPRINT left out of the copy.
void check_reencode(const MessageView& msg) {
  static std::array<std::uint8_t, kOutSize> out;
  MessageBuilder b{out, msg.type(), msg.transaction_id(), msg.header().cookie};
  add_copy(b, msg);
  auto wire = b.finish();
  TURND_ASSERT(wire.has_value());
  TURND_ASSERT(wire->size() <= msg.bytes().size());
  auto again = MessageView::parse(*wire);
  TURND_ASSERT(again.has_value());
  check_same_fields(msg, *again);
}

// The copy signed by the builder verifies, or the builder refuses what cannot be a message.
void check_signed_copy(const MessageView& msg) {
  static std::array<std::uint8_t, kOutSize> out;
  const IntegrityKey key = short_term_key(kPassword);
  MessageBuilder b{out, msg.type(), msg.transaction_id(), msg.header().cookie};
  const std::size_t copied = add_copy(b, msg);
  const std::size_t unsigned_size = b.size();
  b.add_integrity(key.span(), IntegrityAlg::Sha1);
  b.add_integrity(key.span(), IntegrityAlg::Sha256);
  b.add_fingerprint();
  auto wire = b.finish();
  if (unsigned_size + 24 + 36 + 8 > kMaxMessage) {  // over the 16-bit STUN length
    TURND_ASSERT(!wire.has_value());
    return;
  }
  TURND_ASSERT(wire.has_value());
  auto again = MessageView::parse(*wire);
  if (copied + 3 > MessageView::kMaxAttributes) {
    TURND_ASSERT(!again.has_value() && again.error() == ParseError::TooManyAttrs);
    return;
  }
  TURND_ASSERT(again.has_value());
  check_same_fields(msg, *again);
  const auto attrs = again->attributes();
  TURND_ASSERT(attrs.size() == copied + 3);
  TURND_ASSERT(attrs[copied].type == static_cast<std::uint16_t>(AttrType::MessageIntegrity));
  TURND_ASSERT(attrs[copied + 2].type == static_cast<std::uint16_t>(AttrType::Fingerprint));
  TURND_ASSERT(verify_integrity(*again, key.span()) == IntegrityResult::Ok);
  TURND_ASSERT(verify_integrity(*again, key.span(), IntegrityAlg::Sha1) == IntegrityResult::Ok);
  TURND_ASSERT(again->get<Fingerprint>().has_value());
}

}  // namespace

int check_message(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input{data, size};
  auto msg = MessageView::parse(input);
  if (!msg) return 0;
  TURND_ASSERT(msg->bytes().data() == data && msg->bytes().size() == size);
  for (const RawAttribute& raw : msg->attributes()) {
    TURND_ASSERT(raw.offset + 4 + raw.value.size() <= size);
    TURND_ASSERT(raw.value.data() == data + raw.offset + 4);
  }
  decode_everything(*msg);

  const IntegrityKey key = short_term_key(kPassword);
  (void)verify_integrity(*msg, key.span());
  (void)verify_integrity(*msg, key.span(), IntegrityAlg::Sha1);
  (void)verify_integrity(*msg, key.span(), IntegrityAlg::Sha256);

  check_reencode(*msg);
  check_signed_copy(*msg);
  return 0;
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_message(data, size);
}
#endif
