// Dispatcher, STUN level: Binding (RFC 8489 and RFC 3489 clients), 420 UNKNOWN-ATTRIBUTES,
// 400 for unknown methods, and what is dropped without an answer. Real request bytes in, reply
// bytes out, one real shard behind the dispatcher.
#include <gtest/gtest.h>

#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using namespace protocol;
using test::addr;
using test::build;
using test::Bytes;
using test::reply_code;
using test::request;
using test::tid;

class DispatcherStun : public testing::Test {
 protected:
  test::TestServer server;
};

TEST_F(DispatcherStun, BindingAnswersWithTheClientsAddress) {
  for (const bool fingerprint : {false, true}) {
    const Bytes req = build(
        request(Method::Binding), tid(1), [](MessageBuilder&) {}, nullptr, fingerprint);
    const Bytes reply = server.send(req);
    auto msg = MessageView::parse(reply);
    ASSERT_TRUE(msg) << to_string(msg.error());
    EXPECT_TRUE(msg->type().is(Method::Binding, Class::SuccessResponse));
    EXPECT_EQ(msg->transaction_id(), tid(1));
    EXPECT_TRUE(msg->has_magic_cookie());
    ASSERT_TRUE(msg->get<XorMappedAddress>());
    EXPECT_EQ(msg->get<XorMappedAddress>()->address, server.ctx.client);
    EXPECT_FALSE(msg->has(AttrType::MappedAddress));
    EXPECT_FALSE(msg->has(AttrType::MessageIntegrity)) << "Binding is not authenticated";
    ASSERT_TRUE(msg->get<Software>());
    EXPECT_EQ(msg->get<Software>()->text(), "turnd");
    EXPECT_EQ(msg->has(AttrType::Fingerprint), fingerprint) << "parse() verified its value";
  }
}

TEST_F(DispatcherStun, BindingFromIPv6Client) {
  ClientContext v6{addr("[::1]:40002"), addr("[::1]:3478"), Transport::Udp, &server.sink};
  const Bytes reply = server.send_from(v6, build(request(Method::Binding), tid(2), [](auto&) {}));
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  ASSERT_TRUE(msg->get<XorMappedAddress>());
  EXPECT_EQ(msg->get<XorMappedAddress>()->address, addr("[::1]:40002"));
}

TEST_F(DispatcherStun, Rfc3489BindingGetsMappedAddressAndItsCookieBack) {
  constexpr std::uint32_t kOldCookie = 0x0badcafe;  // first 32 bits of a 128-bit RFC 3489 id
  const Bytes req = build(
      request(Method::Binding), tid(3), [](auto&) {}, nullptr, false, kOldCookie);
  const Bytes reply = server.send(req);
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->type().is(Method::Binding, Class::SuccessResponse));
  EXPECT_FALSE(msg->has_magic_cookie());
  EXPECT_TRUE(std::equal(req.begin() + 4, req.begin() + 20, reply.begin() + 4))
      << "the 128-bit transaction id is echoed";
  ASSERT_TRUE(msg->get<MappedAddress>());
  EXPECT_EQ(msg->get<MappedAddress>()->address, server.ctx.client);
  EXPECT_FALSE(msg->has(AttrType::XorMappedAddress));
}

TEST_F(DispatcherStun, UnknownComprehensionRequiredAttributesGet420) {
  const std::uint8_t value[4] = {1, 2, 3, 4};
  const Bytes req = build(request(Method::Binding), tid(4), [&](MessageBuilder& b) {
    b.add_raw(0x7f01, value);
    b.add_raw(0xc001, value);  // comprehension-optional: ignored
    b.add_raw(0x0030, value);
  });
  const Bytes reply = server.send(req);
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->type().is(Method::Binding, Class::ErrorResponse));
  EXPECT_EQ(reply_code(reply), 420);
  auto unknown = msg->get<UnknownAttributes>();
  ASSERT_TRUE(unknown);
  ASSERT_EQ(unknown->size(), 2u);
  EXPECT_EQ(unknown->at(0), 0x7f01);
  EXPECT_EQ(unknown->at(1), 0x0030);
}

TEST_F(DispatcherStun, UnknownOptionalAttributesAreIgnored) {
  const std::uint8_t value[4] = {1, 2, 3, 4};
  const Bytes reply = server.send(build(request(Method::Binding), tid(5),
                                        [&](MessageBuilder& b) { b.add_raw(0xc001, value); }));
  EXPECT_EQ(reply_code(reply), 0);
}

struct BadRequestCase {
  std::string_view name;
  std::uint16_t method;
  std::uint32_t cookie;
};
const BadRequestCase kBadRequests[] = {
    {"unknown_method_0x0ff", 0x0ff, kMagicCookie},
    {"unknown_method_0x00d", 0x00d, kMagicCookie},
    {"send_as_request", static_cast<std::uint16_t>(Method::Send), kMagicCookie},
    {"data_as_request", static_cast<std::uint16_t>(Method::Data), kMagicCookie},
    {"connection_attempt_as_request", static_cast<std::uint16_t>(Method::ConnectionAttempt),
     kMagicCookie},
    {"allocate_without_cookie", static_cast<std::uint16_t>(Method::Allocate), 0x0badcafe},
};

class DispatcherBadRequest : public testing::TestWithParam<BadRequestCase> {};

TEST_P(DispatcherBadRequest, Gets400) {
  test::TestServer server;
  const auto& c = GetParam();
  const Bytes req = build(
      MessageType{c.method, Class::Request}, tid(6), [](auto&) {}, nullptr, false, c.cookie);
  const Bytes reply = server.send(req);
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->method(), c.method);
  EXPECT_EQ(msg->cls(), Class::ErrorResponse);
  EXPECT_EQ(msg->transaction_id(), tid(6));
  EXPECT_EQ(reply_code(reply), 400);
}
INSTANTIATE_TEST_SUITE_P(Methods, DispatcherBadRequest, testing::ValuesIn(kBadRequests),
                         [](const auto& info) { return std::string(info.param.name); });

/// Bytes of a Binding request whose length field claims `length` (the body is 4 zero bytes).
Bytes with_length(std::uint16_t type, std::uint32_t cookie, std::uint16_t length) {
  Bytes b(24, 0);
  store_u16(b.data(), type);
  store_u16(b.data() + 2, length);
  store_u32(b.data() + 4, cookie);
  return b;
}

struct MalformedCase {
  std::string_view name;
  Bytes bytes;
  int expect;  // -2: no reply; otherwise the error code of the reply
};

std::vector<MalformedCase> malformed_cases() {
  const std::uint16_t binding = MessageType{Method::Binding, Class::Request}.encode();
  Bytes bad_fp = build(
      request(Method::Binding), tid(7), [](auto&) {}, nullptr, true);
  bad_fp.back() ^= 1;
  Bytes overrun =
      build(request(Method::Binding), tid(7), [](MessageBuilder& b) { b.add(Software{"abcd"}); });
  overrun[23] = 40;  // SOFTWARE length runs past the end
  Bytes truncated = build(request(Method::Binding), tid(7), [](auto&) {});
  truncated.resize(19);
  return {
      {"shorter_than_header", truncated, -2},
      {"empty", {}, -2},
      {"top_bits_set", Bytes(20, 0xff), -2},
      {"bad_fingerprint", bad_fp, -2},
      {"length_not_multiple_of_4_rfc3489", with_length(binding, 0x0badcafe, 3), -2},
      {"length_mismatch_rfc3489", with_length(binding, 0x0badcafe, 8), -2},
      {"length_mismatch_indication",
       with_length(MessageType{Method::Send, Class::Indication}.encode(), kMagicCookie, 8), -2},
      {"length_mismatch_response",
       with_length(MessageType{Method::Binding, Class::SuccessResponse}.encode(), kMagicCookie, 8),
       -2},
      {"channel_data_without_allocation", test::channel_data(0x4000, as_bytes("hi")), -2},
      {"channel_data_below_0x4000", test::channel_data(0x3fff, as_bytes("hi")), -2},
      {"success_response", build({Method::Binding, Class::SuccessResponse}, tid(7), [](auto&) {}),
       -2},
      // Methods from 0x100 up put 4 or more in the first byte: not STUN for RFC 7983's demux.
      {"method_0xfff_outside_the_stun_demux_range",
       build({0xfff, Class::Request}, tid(7), [](auto&) {}), -2},
      {"binding_indication", build({Method::Binding, Class::Indication}, tid(7), [](auto&) {}), -2},
      // A request from an RFC 5389+ client whose header is intact is told what went wrong.
      {"length_mismatch_request", with_length(binding, kMagicCookie, 8), 400},
      {"attribute_overrun_request", overrun, 400},
  };
}

class DispatcherMalformed : public testing::TestWithParam<MalformedCase> {};

TEST_P(DispatcherMalformed, DroppedOrAnswered) {
  test::TestServer server;
  const auto& c = GetParam();
  const Bytes reply = server.send(c.bytes);
  if (c.expect == -2) {
    EXPECT_TRUE(reply.empty()) << reply.size() << " bytes";
  } else {
    EXPECT_EQ(reply_code(reply), c.expect);
    ASSERT_GE(reply.size(), 20u);
    EXPECT_TRUE(std::equal(c.bytes.begin() + 8, c.bytes.begin() + 20, reply.begin() + 8));
  }
  EXPECT_EQ(server.sink.size(), 0u);
}
INSTANTIATE_TEST_SUITE_P(Datagrams, DispatcherMalformed, testing::ValuesIn(malformed_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(DispatcherStun, MalformedDatagramsAreCounted) {
  auto& counters = server.shard->counters();
  server.send(Bytes(20, 0xff));
  server.send(with_length(MessageType{Method::Binding, Class::Request}.encode(), 0x0badcafe, 8));
  server.send(test::channel_data(0x4000, as_bytes("hi")));
  EXPECT_EQ(counters.dropped_malformed.get(), 2u);
  EXPECT_EQ(counters.channel_data_dropped.get(), 1u);
  EXPECT_EQ(counters.requests.get(), 0u);
}

}  // namespace
}  // namespace turnd::server
