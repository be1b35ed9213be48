// Binding (RFC 8489 §6.3.1): answer with the reflexive transport address. On the four
// addresses of RFC 5780 NAT behaviour discovery (alternate_listen) the answer also names where
// it comes from and the other address, and CHANGE-REQUEST, RESPONSE-PORT and PADDING choose
// the socket it leaves from, the client port it goes to and its size (RFC 5780 §6.1).
#include <algorithm>

#include "protocol/attributes/all.hpp"
#include "server/handlers/handlers.hpp"
#include "server/nat_discovery.hpp"
#include "server/response.hpp"

namespace turnd::server::handlers {

using namespace protocol;

namespace {

/// RFC 5780 §7.6: PADDING SHOULD be as long as the outgoing interface's MTU, so that the
/// answer arrives in IP fragments; 1500 is Ethernet's (and coturn's fallback).
constexpr std::size_t kPaddingTarget = 1500;

/// How the answer to one RFC 5780 request goes out.
struct Plan {
  DiscoveryRole source = DiscoveryRole::Primary;  // the socket it leaves from
  TransportAddress to;                            // the client, or its RESPONSE-PORT
  std::size_t padding = 0;
  bool padded = false;
  NatReplyKind kind = NatReplyKind::Plain;
};

/// Why an RFC 5780 request is refused: 400 with a reason, or 420 naming CHANGE-REQUEST.
struct Refusal {
  StunError error = StunError::BadRequest;
  std::string_view reason;
};

/// Anti-amplification: the padded answer is at most the request's size larger than the
/// plain one (the PADDING TLV header included), whatever the request's PADDING says.
std::size_t padding_length(std::size_t request_size) noexcept {
  const std::size_t budget = request_size >= 4 ? (request_size - 4) & ~std::size_t{3} : 0;
  return std::min(kPaddingTarget, budget);
}

DiscoveryRole flip(DiscoveryRole r, bool ip, bool port) noexcept {
  return static_cast<DiscoveryRole>(static_cast<unsigned>(r) ^ (ip ? 1u : 0u) ^ (port ? 2u : 0u));
}

NatReplyKind kind_of(const ChangeRequest& change, bool response_port, bool padded) noexcept {
  if (change.change_ip && change.change_port) return NatReplyKind::ChangeIpPort;
  if (change.change_ip) return NatReplyKind::ChangeIp;
  if (change.change_port) return NatReplyKind::ChangePort;
  if (response_port) return NatReplyKind::ResponsePort;
  return padded ? NatReplyKind::Padding : NatReplyKind::Plain;
}

/// RFC 5780 §6.1's checks, in order, and the plan when they pass.
Result<Plan, Refusal> plan_reply(const MessageView& request, const ClientContext& ctx,
                                 const config::NatDiscoveryAddresses& nat,
                                 DiscoveryRole role) noexcept {
  ChangeRequest change;
  if (request.has(AttrType::ChangeRequest)) {
    auto c = request.get<ChangeRequest>();
    if (!c) return unexpected(Refusal{StunError::BadRequest, "Malformed CHANGE-REQUEST"});
    change = *c;
  }
  std::optional<std::uint16_t> response_port;
  if (request.has(AttrType::ResponsePort)) {
    auto p = request.get<ResponsePort>();
    if (!p || p->value == 0)
      return unexpected(Refusal{StunError::BadRequest, "Malformed RESPONSE-PORT"});
    response_port = p->value;
  }
  const bool padded = request.has(AttrType::Padding);
  // RFC 5780 §6.1: PADDING with RESPONSE-PORT is a 400.
  if (padded && response_port)
    return unexpected(Refusal{StunError::BadRequest, "PADDING and RESPONSE-PORT together"});
  // Over a connection the answer can only come back on it (RFC 5780 §7.2, §7.5): no other
  // source, port or IP fragments. 400, as coturn answers.
  if (ctx.transport != Transport::Udp &&
      (change.change_ip || change.change_port || response_port || padded))
    return unexpected(Refusal{StunError::BadRequest,
                              "CHANGE-REQUEST, RESPONSE-PORT and PADDING are for UDP only"});
  // RFC 5780 §6.1: no alternate address for the change asked for (one IP: change port only).
  if (change.change_ip && !nat.change_ip)
    return unexpected(Refusal{StunError::UnknownAttribute, "No alternate IP address"});

  Plan plan;
  plan.source = flip(role, change.change_ip, change.change_port);
  plan.to = {ctx.client.ip, response_port.value_or(ctx.client.port)};
  plan.padded = padded;
  if (padded) plan.padding = padding_length(request.bytes().size());
  plan.kind = kind_of(change, response_port.has_value(), padded);
  return plan;
}

ByteSpan refuse(const MessageView& request, const Refusal& r, ShardState& shard,
                MutableByteSpan out) noexcept {
  auto b = begin_response(request, Class::ErrorResponse, out);
  b.add(ErrorCode{static_cast<std::uint16_t>(r.error), r.reason});
  if (r.error == StunError::UnknownAttribute) {
    static constexpr std::uint16_t kChangeRequest[] = {
        static_cast<std::uint16_t>(AttrType::ChangeRequest)};
    b.add(UnknownAttributes{kChangeRequest, {}});
  }
  return finish_response(b, request, shard.software());
}

/// The answer on one of the four addresses, and where it goes (`route`).
ByteSpan discovery_binding(const MessageView& request, const ClientContext& ctx, ShardState& shard,
                           MutableByteSpan out, DiscoveryRole role, NatReplyRoute& route) noexcept {
  const NatDiscovery& nat = shard.nat_discovery();
  auto plan = plan_reply(request, ctx, nat.addresses(), role);
  if (!plan) return refuse(request, plan.error(), shard, out);

  const TransportAddress& origin = nat.addresses()[plan->source];
  auto b = begin_response(request, Class::SuccessResponse, out);
  // RFC 5780 §6.1: both MAPPED-ADDRESS and XOR-MAPPED-ADDRESS (an RFC 3489 client knows only
  // the first, and reads SOURCE-ADDRESS and CHANGED-ADDRESS, RFC 3489 §11.2.3/§11.2.5).
  b.add(MappedAddress{ctx.client});
  if (request.has_magic_cookie()) {
    b.add(XorMappedAddress{ctx.client});
  } else {
    b.add(SourceAddress{origin});
    if (nat.addresses().change_ip) b.add(ChangedAddress{nat.addresses()[flip(role, true, true)]});
  }
  b.add(ResponseOrigin{origin});
  // RFC 5780 §6: a server without a second IP MUST NOT send OTHER-ADDRESS.
  if (nat.addresses().change_ip) b.add(OtherAddress{nat.addresses()[flip(role, true, true)]});
  if (plan->padded) b.add(Padding{plan->padding});
  const ByteSpan reply = finish_response(b, request, shard.software());

  route.kind = plan->kind;
  if (plan->source != role || !(plan->to == ctx.client)) {
    route.fd = nat.socket(plan->source);
    route.to = plan->to;
    if (route.fd < 0) return {};  // not opened on this shard: no answer rather than a wrong one
  }
  return reply;
}

}  // namespace

ByteSpan handle_binding(const MessageView& request, const ClientContext& ctx, ShardState& shard,
                        MutableByteSpan out, NatReplyRoute& route) noexcept {
  if (auto role = shard.nat_discovery().role_of(ctx.local))
    return discovery_binding(request, ctx, shard, out, *role, route);
  auto b = begin_response(request, Class::SuccessResponse, out);
  if (request.has_magic_cookie()) {
    b.add(XorMappedAddress{ctx.client});
  } else {
    b.add(MappedAddress{ctx.client});  // RFC 3489 client: it knows only MAPPED-ADDRESS
  }
  return finish_response(b, request, shard.software());
}

}  // namespace turnd::server::handlers
