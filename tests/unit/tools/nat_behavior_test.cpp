// turnctl nat-type's decisions (tools/turnctl/nat_behavior, stun_udp's pure parts): RFC 5780
// §4.3/§4.4 verdicts from observed results, the Binding answer reader on messages built with
// protocol's MessageBuilder, and the RFC 8489 retransmission schedule. No sockets.
#include "tools/turnctl/nat_behavior.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "protocol/attributes/address.hpp"
#include "protocol/attributes/error.hpp"
#include "protocol/message_builder.hpp"
#include "tools/turnctl/stun_udp.hpp"

namespace {

using namespace turnd::turnctl::nat;
using std::chrono::milliseconds;
using turnd::protocol::TransportAddress;

TransportAddress ta(const char* s) { return *TransportAddress::parse(s); }

const TransportAddress kM1 = ta("203.0.113.1:40000");
const TransportAddress kM2 = ta("203.0.113.1:40001");
const TransportAddress kM3 = ta("203.0.113.1:40002");

TEST(NatMapping, SameMappedAddressEverywhereIsEndpointIndependent) {
  EXPECT_EQ(mapping_behavior(kM1, kM1, std::nullopt), Behavior::EndpointIndependent);
  EXPECT_EQ(mapping_behavior(kM1, kM1, kM1), Behavior::EndpointIndependent);
}

TEST(NatMapping, NewMappingPerAddressOnlyIsAddressDependent) {
  EXPECT_EQ(mapping_behavior(kM1, kM2, kM2), Behavior::AddressDependent);
}

TEST(NatMapping, NewMappingPerPortIsAddressAndPortDependent) {
  EXPECT_EQ(mapping_behavior(kM1, kM2, kM3), Behavior::AddressAndPortDependent);
}

TEST(NatMapping, MissingAnswersLeaveItUnknown) {
  EXPECT_EQ(mapping_behavior(std::nullopt, kM1, kM1), Behavior::Unknown);
  EXPECT_EQ(mapping_behavior(kM1, std::nullopt, std::nullopt), Behavior::Unknown);
  EXPECT_EQ(mapping_behavior(kM1, kM2, std::nullopt), Behavior::Unknown);
}

TEST(NatFiltering, Verdicts) {
  EXPECT_EQ(filtering_behavior(true, std::nullopt), Behavior::EndpointIndependent);
  EXPECT_EQ(filtering_behavior(false, true), Behavior::AddressDependent);
  EXPECT_EQ(filtering_behavior(false, false), Behavior::AddressAndPortDependent);
  EXPECT_EQ(filtering_behavior(false, std::nullopt), Behavior::Unknown);
}

TEST(NatNames, ClassicNames) {
  const auto eim = Behavior::EndpointIndependent, adm = Behavior::AddressDependent,
             apdm = Behavior::AddressAndPortDependent;
  EXPECT_EQ(classic_name(true, eim, eim), "full cone");
  EXPECT_EQ(classic_name(true, eim, adm), "restricted cone");
  EXPECT_EQ(classic_name(true, eim, apdm), "port-restricted cone");
  EXPECT_EQ(classic_name(true, apdm, apdm), "symmetric");
  EXPECT_EQ(classic_name(true, adm, eim), "symmetric");
  EXPECT_EQ(classic_name(false, eim, eim), "no NAT (open Internet)");
  EXPECT_EQ(classic_name(false, eim, apdm), "no NAT, behind a filtering firewall");
  EXPECT_EQ(to_string(apdm), "address and port dependent");
  EXPECT_EQ(to_json_name(adm), "address-dependent");
}

TEST(NatChangeRequest, AnswerMustComeFromTheChangedAddress) {
  const auto other = ta("203.0.113.11:3479");
  BindingAnswer a;
  EXPECT_TRUE(answered_from(other, other, a));
  EXPECT_FALSE(answered_from(ta("203.0.113.10:3478"), other, a));
  a.response_origin = ta("203.0.113.10:3478");  // sent from the right place, says otherwise
  EXPECT_FALSE(answered_from(other, other, a));
}

// A Binding response as a server would build it.
std::vector<std::uint8_t> response(const turnd::protocol::TransactionId& id, bool with_other,
                                   int error = 0) {
  using namespace turnd::protocol;
  std::vector<std::uint8_t> buf(256);
  MessageBuilder b{
      buf, {Method::Binding, error ? Class::ErrorResponse : Class::SuccessResponse}, id};
  if (error) {
    b.add(ErrorCode{static_cast<std::uint16_t>(error), "Unknown Attribute"});
  } else {
    b.add(XorMappedAddress{kM1});
    if (with_other) b.add(OtherAddress{ta("203.0.113.11:3479")});
    b.add(ResponseOrigin{ta("203.0.113.10:3478")});
  }
  b.add_fingerprint();
  buf.resize(b.finish()->size());
  return buf;
}

TEST(NatBindingAnswer, ReadsMappedOtherAndOrigin) {
  const auto req = make_binding_request(std::nullopt);
  const auto a = read_binding_answer(response(req.id, true), req.id);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mapped, kM1);
  EXPECT_EQ(a->other_address, ta("203.0.113.11:3479"));
  EXPECT_EQ(a->response_origin, ta("203.0.113.10:3478"));
  EXPECT_EQ(a->error_code, 0);
  EXPECT_FALSE(read_binding_answer(response(req.id, false), req.id)->other_address);
}

TEST(NatBindingAnswer, ErrorResponsesAndStrangers) {
  const auto req = make_binding_request(kChangeIp | kChangePort);
  EXPECT_EQ(read_binding_answer(response(req.id, true, 420), req.id)->error_code, 420);
  auto other_id = req.id;
  other_id[0] ^= 1;
  EXPECT_FALSE(read_binding_answer(response(other_id, true), req.id));  // another transaction
  EXPECT_FALSE(read_binding_answer(req.bytes, req.id));                 // a request, not an answer
  const std::vector<std::uint8_t> junk(30, 0x41);
  EXPECT_FALSE(read_binding_answer(junk, req.id));
}

TEST(NatBindingRequest, CarriesChangeRequestFlags) {
  using namespace turnd::protocol;
  const auto req = make_binding_request(kChangePort);
  auto msg = MessageView::parse(req.bytes);
  ASSERT_TRUE(msg);
  const auto* cr = msg->find(AttrType::ChangeRequest);
  ASSERT_NE(cr, nullptr);
  ASSERT_EQ(cr->value.size(), 4u);
  EXPECT_EQ(load_u32(cr->value.data()), kChangePort);
  EXPECT_FALSE(
      MessageView::parse(make_binding_request(std::nullopt).bytes)->has(AttrType::ChangeRequest));
}

TEST(NatRetransmit, Rfc8489Schedule) {
  // RTO 500 ms: sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (Rc = 7), within the timeout.
  const std::vector<milliseconds> full{milliseconds{0},    milliseconds{500},  milliseconds{1500},
                                       milliseconds{3500}, milliseconds{7500}, milliseconds{15500},
                                       milliseconds{31500}};
  EXPECT_EQ(send_times(milliseconds{500}, milliseconds{39500}), full);
  const std::vector<milliseconds> three{milliseconds{0}, milliseconds{500}, milliseconds{1500}};
  EXPECT_EQ(send_times(milliseconds{500}, milliseconds{3000}), three);
  EXPECT_EQ(send_times(milliseconds{500}, milliseconds{100}).size(), 1u);
}

}  // namespace
