// Every attribute codec: encode -> wire bytes (checked against hand-computed hex) -> parse ->
// decode, plus the malformed values each decoder must reject and the lenient forms it accepts.
#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "attribute_catalog.hpp"
#include "protocol/attributes/all.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"
#include "test_support.hpp"

namespace turnd::protocol {
namespace {

using test::Bytes;
using test::describe;
using test::from_hex;
using test::to_hex;

const Header kHeader{kMagicCookie, test::kRfcTransactionId};

// Stable storage for long values: views into these stay valid for the whole run.
std::string_view text_of_size(std::size_t n) {
  static const std::string kText(70000, 'x');
  return std::string_view(kText).substr(0, n);
}
ByteSpan bytes_of_size(std::size_t n) { return as_bytes(text_of_size(n)); }
Bytes wire_of(std::string_view text) { return Bytes(text.begin(), text.end()); }
Bytes wire_of_size(std::size_t n) { return wire_of(text_of_size(n)); }
// describe() of n bytes of 'x'.
std::string hex_x(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += "78";
  return out;
}

struct AttrCase {
  std::string name;
  std::function<void()> run;
};
void PrintTo(const AttrCase& c, std::ostream* os) { *os << c.name; }

// Builds a one-attribute message with MessageBuilder::add, checks the TLV value bytes and the
// zero padding, parses it back and compares describe() of the decoded value with the original.
template <class A>
AttrCase round_trip(std::string name, A attr, Bytes value) {
  return {std::move(name), [attr, value] {
            std::array<std::uint8_t, 2048> out{};
            MessageBuilder b{out, {Method::Allocate, Class::Request}, kHeader.transaction_id};
            b.add(attr);
            auto wire = b.finish();
            ASSERT_TRUE(wire);
            const std::size_t padded = (value.size() + 3) / 4 * 4;
            ASSERT_EQ(wire->size(), kHeaderSize + 4 + padded);
            for (std::size_t i = kHeaderSize + 4 + value.size(); i < wire->size(); ++i)
              EXPECT_EQ((*wire)[i], 0) << "padding byte " << i;

            auto msg = MessageView::parse(*wire);
            ASSERT_TRUE(msg) << to_string(msg.error());
            ASSERT_EQ(msg->attributes().size(), 1u);
            const RawAttribute& raw = msg->attributes()[0];
            EXPECT_EQ(raw.type, static_cast<std::uint16_t>(A::kType));
            EXPECT_EQ(to_hex(raw.value), to_hex(test::span(value)));
            auto decoded = msg->get<A>();
            ASSERT_TRUE(decoded) << to_string(decoded.error());
            EXPECT_EQ(describe(*decoded), describe(attr));
          }};
}

// The decoder rejects `value`, both called directly and through MessageView::get<A>().
template <class A>
AttrCase malformed(std::string name, Bytes value) {
  return {std::move(name), [value] {
            auto direct = A::decode(test::span(value), kHeader);
            ASSERT_FALSE(direct) << describe(*direct).substr(0, 64);
            EXPECT_EQ(direct.error(), AttrError::Malformed);
            if constexpr (A::kType != AttrType::Fingerprint) {  // parse() itself rejects those
              std::array<std::uint8_t, 2048> out{};
              MessageBuilder b{out, {Method::Allocate, Class::Request}, kHeader.transaction_id};
              b.add_raw(static_cast<std::uint16_t>(A::kType), test::span(value));
              auto msg = MessageView::parse(*b.finish());
              ASSERT_TRUE(msg);
              auto via_get = msg->get<A>();
              ASSERT_FALSE(via_get);
              EXPECT_EQ(via_get.error(), AttrError::Malformed);
            }
          }};
}

// The decoder accepts `value` (a lenient or decode-only form) and yields `expected`.
template <class A>
AttrCase decodes(std::string name, Bytes value, std::string expected) {
  return {std::move(name), [value, expected] {
            auto decoded = A::decode(test::span(value), kHeader);
            ASSERT_TRUE(decoded) << to_string(decoded.error());
            EXPECT_EQ(describe(*decoded), expected);
          }};
}

TransportAddress addr(std::string_view text) { return *TransportAddress::parse(text); }
Bytes error_value(std::string_view code_hex, std::string_view reason) {
  return test::concat({from_hex(code_hex), wire_of(reason)});
}

constexpr std::uint16_t kUnknownTypes[] = {0x0031, 0x8000, 0x0003};
constexpr PasswordAlgorithmId kBothAlgorithms[] = {PasswordAlgorithmId::Md5,
                                                   PasswordAlgorithmId::Sha256};
const std::uint8_t kParams[] = {0xaa, 0xbb, 0xcc};

std::vector<AttrCase> round_trip_cases() {
  return {
      // Addresses: plain and XOR'd with the RFC 5769 header (cookie + transaction id).
      round_trip("mapped_v4", MappedAddress{addr("192.0.2.1:32853")},
                 from_hex("00018055 c0000201")),
      round_trip("mapped_v6", MappedAddress{addr("[2001:db8::1]:3478")},
                 from_hex("00020d96 20010db8 00000000 00000000 00000001")),
      round_trip("xor_mapped_v4_rfc5769", XorMappedAddress{addr("192.0.2.1:32853")},
                 from_hex("0001a147 e112a643")),
      round_trip("xor_mapped_v6_rfc5769",
                 XorMappedAddress{addr("[2001:db8:1234:5678:11:2233:4455:6677]:32853")},
                 from_hex("0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9")),
      round_trip("xor_peer_v4", XorPeerAddress{addr("10.0.0.1:5000")},
                 from_hex("0001329a 2b12a443")),
      round_trip("xor_peer_v4_zero", XorPeerAddress{addr("0.0.0.0:0")},
                 from_hex("00012112 2112a442")),
      round_trip("xor_peer_v4_max", XorPeerAddress{addr("255.255.255.255:65535")},
                 from_hex("0001deed deed5bbd")),
      round_trip("xor_relayed_v6", XorRelayedAddress{addr("[2001:db8::1]:49152")},
                 from_hex("0002e112 0113a9fa b7e7a701 bc34d686 fa87dfaf")),
      round_trip("xor_relayed_v6_any", XorRelayedAddress{addr("[::]:0")},
                 from_hex("00022112 2112a442 b7e7a701 bc34d686 fa87dfae")),
      round_trip("alternate_server_v4", AlternateServer{addr("203.0.113.9:3478")},
                 from_hex("00010d96 cb007109")),
      round_trip("response_origin_v6", ResponseOrigin{addr("[2001:db8::1]:3478")},
                 from_hex("00020d96 20010db8 00000000 00000000 00000001")),
      round_trip("other_address_v4", OtherAddress{addr("192.0.2.1:32853")},
                 from_hex("00018055 c0000201")),
      round_trip("source_address_v4", SourceAddress{addr("192.0.2.2:3479")},
                 from_hex("00010d97 c0000202")),
      round_trip("changed_address_v4", ChangedAddress{addr("192.0.2.2:3479")},
                 from_hex("00010d97 c0000202")),
      // RFC 5780 §7.2, §7.5, §7.6.
      round_trip("change_request_none", ChangeRequest{}, from_hex("00000000")),
      round_trip("change_request_ip", ChangeRequest{true, false}, from_hex("00000004")),
      round_trip("change_request_port", ChangeRequest{false, true}, from_hex("00000002")),
      round_trip("change_request_both", ChangeRequest{true, true}, from_hex("00000006")),
      round_trip("response_port", ResponsePort{3479}, from_hex("0d970000")),
      round_trip("response_port_max", ResponsePort{65535}, from_hex("ffff0000")),
      round_trip("padding_0", Padding{0}, {}),
      round_trip("padding_5", Padding{5}, from_hex("00000000 00")),
      round_trip("padding_1500", Padding{1500}, Bytes(1500, 0)),
      // ERROR-CODE, classes 3-6.
      round_trip("error_300", ErrorCode{300, "Try Alternate"},
                 error_value("00000300", "Try Alternate")),
      round_trip("error_401", ErrorCode{401, "Unauthorized"},
                 error_value("00000401", "Unauthorized")),
      round_trip("error_420", ErrorCode{420, "Unknown Attribute"},
                 error_value("00000414", "Unknown Attribute")),
      round_trip("error_438", ErrorCode{438, "Stale Nonce"},
                 error_value("00000426", "Stale Nonce")),
      round_trip("error_508", ErrorCode{508, "Insufficient Capacity"},
                 error_value("00000508", "Insufficient Capacity")),
      round_trip("error_600_empty_reason", ErrorCode{600, ""}, from_hex("00000600")),
      round_trip("error_699", ErrorCode{699, "x"}, error_value("00000663", "x")),
      // Reason: < 128 characters, up to 763 bytes when decoding (RFC 8489 §14.8).
      round_trip("error_reason_763", ErrorCode{400, text_of_size(763)},
                 error_value("00000400", text_of_size(763))),
      round_trip("address_error_440", AddressErrorCode{2, 440, "Address Family not Supported"},
                 error_value("02000428", "Address Family not Supported")),
      round_trip("unknown_attributes_3", UnknownAttributes{kUnknownTypes, {}},
                 from_hex("0031 8000 0003")),
      round_trip("unknown_attributes_empty", UnknownAttributes{}, {}),
      round_trip("password_algorithm_md5", PasswordAlgorithm{1, {}}, from_hex("00010000")),
      round_trip("password_algorithm_sha256", PasswordAlgorithm{2, {}}, from_hex("00020000")),
      round_trip("password_algorithm_params", PasswordAlgorithm{2, kParams},
                 from_hex("00020003 aabbcc00")),
      round_trip("password_algorithms_both", PasswordAlgorithms{kBothAlgorithms, {}},
                 from_hex("00010000 00020000")),
      round_trip("lifetime_600", Lifetime{600}, from_hex("00000258")),
      round_trip("lifetime_0", Lifetime{0}, from_hex("00000000")),
      round_trip("lifetime_max", Lifetime{0xffffffff}, from_hex("ffffffff")),
      round_trip("priority_rfc5769", Priority{0x6e0001ff}, from_hex("6e0001ff")),
      round_trip("requested_transport_udp", RequestedTransport{kProtocolUdp}, from_hex("11000000")),
      round_trip("requested_transport_tcp", RequestedTransport{kProtocolTcp}, from_hex("06000000")),
      round_trip("requested_family_v4", RequestedAddressFamily{1}, from_hex("01000000")),
      round_trip("requested_family_v6", RequestedAddressFamily{2}, from_hex("02000000")),
      round_trip("additional_family_v6", AdditionalAddressFamily{2}, from_hex("02000000")),
      round_trip("channel_number_min", ChannelNumber{0x4000}, from_hex("40000000")),
      round_trip("channel_number_rfc5766_max", ChannelNumber{0x7fff}, from_hex("7fff0000")),
      round_trip("even_port_r", EvenPort{true}, from_hex("80")),
      round_trip("even_port_no_r", EvenPort{false}, from_hex("00")),
      round_trip("dont_fragment", DontFragment{}, {}),
      round_trip("use_candidate", UseCandidate{}, {}),
      round_trip("ice_controlled_rfc5769", IceControlled{0x932ff9b151263b36},
                 from_hex("932ff9b1 51263b36")),
      round_trip("ice_controlling_0", IceControlling{0}, from_hex("00000000 00000000")),
      // Text (RFC 8489 §14.3, §14.9, §14.10, §14.14): senders stay under 509 bytes; receivers
      // MUST parse up to 763 bytes, USERNAME included, for RFC 5389 compatibility.
      round_trip("username", Username{"evtj:h6vY"}, wire_of("evtj:h6vY")),
      round_trip("username_513", Username{text_of_size(513)}, wire_of_size(513)),
      round_trip("username_763", Username{text_of_size(763)}, wire_of_size(763)),
      round_trip("realm_763", Realm{text_of_size(763)}, wire_of_size(763)),
      round_trip("nonce", Nonce{"f//499k954d6OL34oL9FSTvy64sA"},
                 wire_of("f//499k954d6OL34oL9FSTvy64sA")),
      round_trip("nonce_763", Nonce{text_of_size(763)}, wire_of_size(763)),
      round_trip("software_empty", Software{""}, {}),
      round_trip("software_763", Software{text_of_size(763)}, wire_of_size(763)),
      round_trip("data_empty", Data{}, {}),
      round_trip("data_5", Data{bytes_of_size(5)}, wire_of_size(5)),
      round_trip("data_1200", Data{bytes_of_size(1200)}, wire_of_size(1200)),
      round_trip("userhash_32", Userhash{bytes_of_size(32)}, wire_of_size(32)),
      round_trip("reservation_token_8", ReservationToken{bytes_of_size(8)}, wire_of_size(8)),
      round_trip("connection_id_4", ConnectionId{bytes_of_size(4)}, wire_of_size(4)),
  };
}

std::vector<AttrCase> malformed_cases() {
  return {
      malformed<MappedAddress>("mapped_empty", {}),
      malformed<MappedAddress>("mapped_3_bytes", from_hex("000180")),
      malformed<MappedAddress>("mapped_family_0", from_hex("00008055 c0000201")),
      malformed<MappedAddress>("mapped_family_3", from_hex("00038055 c0000201")),
      malformed<MappedAddress>("mapped_v4_with_16_bytes",
                               from_hex("00018055 20010db8 00000000 00000000 00000001")),
      malformed<MappedAddress>("mapped_v4_with_5_bytes", from_hex("00018055 c0000201 00")),
      malformed<XorPeerAddress>("xor_peer_v6_with_4_bytes", from_hex("0002a147 e112a643")),
      malformed<XorPeerAddress>("xor_peer_header_only", from_hex("0001a147")),
      malformed<ErrorCode>("error_3_bytes", from_hex("000004")),
      malformed<ErrorCode>("error_class_1", from_hex("00000100")),
      malformed<ErrorCode>("error_class_2", from_hex("00000200")),
      malformed<ErrorCode>("error_class_7", from_hex("00000700")),
      malformed<ErrorCode>("error_number_100", from_hex("00000464")),
      malformed<ErrorCode>("error_reason_764", error_value("00000400", text_of_size(764))),
      malformed<AddressErrorCode>("address_error_3_bytes", from_hex("020004")),
      malformed<AddressErrorCode>("address_error_class_2", from_hex("02000200")),
      malformed<UnknownAttributes>("unknown_attributes_odd_3", from_hex("003180")),
      malformed<UnknownAttributes>("unknown_attributes_odd_1", from_hex("00")),
      malformed<PasswordAlgorithm>("password_algorithm_2_bytes", from_hex("0001")),
      malformed<PasswordAlgorithm>("password_algorithm_params_missing", from_hex("00010004")),
      malformed<PasswordAlgorithm>("password_algorithm_trailing", from_hex("00010000 00000000")),
      malformed<PasswordAlgorithms>("password_algorithms_3_bytes", from_hex("000100")),
      malformed<PasswordAlgorithms>("password_algorithms_params_overrun",
                                    from_hex("00010004 aabb")),
      malformed<PasswordAlgorithms>("password_algorithms_second_truncated",
                                    from_hex("00010000 0002")),
      malformed<Lifetime>("lifetime_empty", {}),
      malformed<Lifetime>("lifetime_3_bytes", from_hex("000258")),
      malformed<Lifetime>("lifetime_8_bytes", from_hex("00000258 00000000")),
      malformed<Priority>("priority_2_bytes", from_hex("6e00")),
      malformed<RequestedTransport>("requested_transport_1_byte", from_hex("11")),
      malformed<RequestedTransport>("requested_transport_8_bytes", from_hex("11000000 00000000")),
      malformed<RequestedAddressFamily>("requested_family_1_byte", from_hex("01")),
      malformed<ChannelNumber>("channel_number_2_bytes", from_hex("4000")),
      malformed<EvenPort>("even_port_empty", {}),
      malformed<EvenPort>("even_port_2_bytes", from_hex("8000")),
      malformed<EvenPort>("even_port_8_bytes", from_hex("80000000 00000000")),
      malformed<DontFragment>("dont_fragment_with_value", from_hex("00000000")),
      malformed<DontFragment>("dont_fragment_1_byte", from_hex("01")),
      malformed<UseCandidate>("use_candidate_with_value", from_hex("01")),
      malformed<IceControlled>("ice_controlled_4_bytes", from_hex("932ff9b1")),
      malformed<IceControlling>("ice_controlling_9_bytes", from_hex("00000000 00000000 00")),
      malformed<Username>("username_764", wire_of_size(764)),
      malformed<Realm>("realm_764", wire_of_size(764)),
      malformed<Nonce>("nonce_764", wire_of_size(764)),
      malformed<Software>("software_764", wire_of_size(764)),
      malformed<Userhash>("userhash_empty", {}),
      malformed<Userhash>("userhash_31", wire_of_size(31)),
      malformed<Userhash>("userhash_33", wire_of_size(33)),
      malformed<ReservationToken>("reservation_token_7", wire_of_size(7)),
      malformed<ReservationToken>("reservation_token_9", wire_of_size(9)),
      malformed<ConnectionId>("connection_id_3", wire_of_size(3)),
      malformed<ChangeRequest>("change_request_empty", {}),
      malformed<ChangeRequest>("change_request_1_byte", from_hex("06")),
      malformed<ChangeRequest>("change_request_8_bytes", from_hex("00000006 00000000")),
      malformed<ResponsePort>("response_port_2_bytes", from_hex("0d97")),
      malformed<ResponsePort>("response_port_8_bytes", from_hex("0d970000 00000000")),
      malformed<MessageIntegrity>("mi_empty", {}),
      malformed<MessageIntegrity>("mi_19", wire_of_size(19)),
      malformed<MessageIntegrity>("mi_32", wire_of_size(32)),
      malformed<MessageIntegritySha256>("mi_sha256_empty", {}),
      malformed<MessageIntegritySha256>("mi_sha256_12", wire_of_size(12)),
      malformed<MessageIntegritySha256>("mi_sha256_18", wire_of_size(18)),
      malformed<MessageIntegritySha256>("mi_sha256_30", wire_of_size(30)),
      malformed<MessageIntegritySha256>("mi_sha256_36", wire_of_size(36)),
      malformed<Fingerprint>("fingerprint_3", from_hex("e57a3b")),
      malformed<Fingerprint>("fingerprint_8", from_hex("e57a3bcf 00000000")),
  };
}

std::vector<AttrCase> lenient_cases() {
  return {
      decodes<MappedAddress>("address_reserved_byte_ignored", from_hex("ff018055 c0000201"),
                             "192.0.2.1:32853"),
      decodes<ErrorCode>("error_reserved_bits_ignored", from_hex("fffffc00"), "400 ''"),
      decodes<RequestedTransport>("rffu_bytes_ignored", from_hex("11ffffff"), "17"),
      decodes<ChannelNumber>("channel_rffu_ignored", from_hex("4001ffff"), "16385"),
      decodes<EvenPort>("even_port_4_byte_form", from_hex("80000000"), "R"),
      decodes<EvenPort>("even_port_only_top_bit_counts", from_hex("7f"), "-"),
      decodes<PasswordAlgorithm>("password_algorithm_params", from_hex("00020003 aabbcc00"),
                                 "2(aabbcc)"),
      decodes<PasswordAlgorithms>("password_algorithms_with_params",
                                  from_hex("00010000 00020003 aabbcc00 00020000"),
                                  "[1(),2(aabbcc),2(),]"),
      decodes<PasswordAlgorithms>("password_algorithms_empty", {}, "[]"),
      decodes<MessageIntegrity>("mi_20", from_hex("9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2"),
                                "9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2"),
      decodes<MessageIntegritySha256>("mi_sha256_16", wire_of_size(16), hex_x(16)),
      decodes<MessageIntegritySha256>("mi_sha256_20", wire_of_size(20), hex_x(20)),
      decodes<MessageIntegritySha256>("mi_sha256_24", wire_of_size(24), hex_x(24)),
      decodes<MessageIntegritySha256>("mi_sha256_28", wire_of_size(28), hex_x(28)),
      decodes<MessageIntegritySha256>("mi_sha256_32", wire_of_size(32), hex_x(32)),
      decodes<Fingerprint>("fingerprint_4", from_hex("e57a3bcf"), "3849993167"),
      decodes<Data>("data_65535", wire_of_size(65535), hex_x(65535)),
      // RFC 5780 §7.2: only A (0x4) and B (0x2) mean something; other bits are ignored.
      decodes<ChangeRequest>("change_request_other_bits_ignored", from_hex("fffffff9"), "--"),
      decodes<ChangeRequest>("change_request_rfc3489_both", from_hex("00000006"), "ipport"),
      decodes<ResponsePort>("response_port_rffu_ignored", from_hex("0d97ffff"), "3479"),
      decodes<Padding>("padding_any_bytes", wire_of_size(7), "7 bytes"),
  };
}

class AttributeRoundTrip : public testing::TestWithParam<AttrCase> {};
TEST_P(AttributeRoundTrip, EncodesDecodes) { GetParam().run(); }
class AttributeMalformed : public testing::TestWithParam<AttrCase> {};
TEST_P(AttributeMalformed, IsRejected) { GetParam().run(); }
class AttributeLenient : public testing::TestWithParam<AttrCase> {};
TEST_P(AttributeLenient, IsAccepted) { GetParam().run(); }

auto case_name = [](const testing::TestParamInfo<AttrCase>& info) { return info.param.name; };
INSTANTIATE_TEST_SUITE_P(Codecs, AttributeRoundTrip, testing::ValuesIn(round_trip_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Codecs, AttributeMalformed, testing::ValuesIn(malformed_cases()),
                         case_name);
INSTANTIATE_TEST_SUITE_P(Codecs, AttributeLenient, testing::ValuesIn(lenient_cases()), case_name);

TEST(Attributes, AbsentIsMissingForEveryType) {
  std::array<std::uint8_t, 64> out{};
  auto wire =
      MessageBuilder{out, {Method::Binding, Class::Request}, kHeader.transaction_id}.finish();
  auto msg = MessageView::parse(*wire);
  ASSERT_TRUE(msg);
  test::for_each_attribute_type([&]<class A>() {
    auto a = msg->get<A>();
    ASSERT_FALSE(a) << static_cast<unsigned>(A::kType);
    EXPECT_EQ(a.error(), AttrError::Missing);
  });
}

// A decoded value handed back to MessageBuilder::add must produce the bytes it came from
// (relays and clients echo attributes, e.g. PASSWORD-ALGORITHMS in RFC 8489 §9.2.4).
TEST(Attributes, DecodedListAttributesReencodeUnchanged) {
  const Bytes unknown = from_hex("0031 8000 0003");
  const Bytes algorithms = from_hex("00010000 00020000");
  std::array<std::uint8_t, 128> out{};
  MessageBuilder b{out, {Method::Allocate, Class::ErrorResponse}, kHeader.transaction_id};
  b.add(*UnknownAttributes::decode(test::span(unknown), kHeader));
  b.add(*PasswordAlgorithms::decode(test::span(algorithms), kHeader));
  auto msg = MessageView::parse(*b.finish());
  ASSERT_TRUE(msg);
  ASSERT_EQ(msg->attributes().size(), 2u);
  EXPECT_EQ(to_hex(msg->attributes()[0].value), to_hex(test::span(unknown)));
  EXPECT_EQ(to_hex(msg->attributes()[1].value), to_hex(test::span(algorithms)));
}

TEST(Attributes, UnknownRequiredIsBelow0x8000) {
  EXPECT_TRUE(is_comprehension_required(0x0000));
  EXPECT_TRUE(is_comprehension_required(0x7fff));
  EXPECT_FALSE(is_comprehension_required(0x8000));
  EXPECT_FALSE(is_comprehension_required(0xffff));
  EXPECT_TRUE(is_known_attribute(0x0024));  // PRIORITY
  EXPECT_TRUE(is_known_attribute(0x8022));  // SOFTWARE
  EXPECT_TRUE(is_known_attribute(0x8031));  // any optional one is "known": never a 420
  EXPECT_FALSE(is_known_attribute(0x0031));
  EXPECT_FALSE(is_known_attribute(0x0002));  // RESPONSE-ADDRESS (RFC 3489), not understood
  // RFC 5780's: parsed; the server answers 420 itself where it serves no NAT discovery.
  EXPECT_TRUE(is_known_attribute(0x0003));  // CHANGE-REQUEST
  EXPECT_TRUE(is_known_attribute(0x0026));  // PADDING
  EXPECT_TRUE(is_known_attribute(0x0027));  // RESPONSE-PORT
}

}  // namespace
}  // namespace turnd::protocol
