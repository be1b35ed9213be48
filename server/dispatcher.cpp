#include "server/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include "protocol/attributes/all.hpp"
#include "protocol/channel_data.hpp"
#include "server/handlers/handlers.hpp"
#include "server/log_text.hpp"
#include "server/response.hpp"
#include "server/source_key.hpp"

namespace turnd::server {

using namespace protocol;

namespace {

/// A 400 is only worth sending when the header looks like a STUN request from an RFC 5389+
/// client; anything else that fails to parse is dropped silently (no amplification, no
/// answers to port scans).
bool worth_a_bad_request(ByteSpan in, ParseError e) {
  if (e == ParseError::TooShort || e == ParseError::NotStun || e == ParseError::BadFingerprint)
    return false;
  if (in.size() < kHeaderSize || load_u32(in.data() + 4) != kMagicCookie) return false;
  return MessageType::decode(load_u16(in.data())).cls == Class::Request;
}

ByteSpan bad_request_from_header(ByteSpan in, std::string_view software, MutableByteSpan out) {
  TransactionId id;
  std::copy_n(in.data() + 8, id.size(), id.begin());
  MessageBuilder b{
      out, MessageType{MessageType::decode(load_u16(in.data())).method, Class::ErrorResponse}, id};
  b.add(ErrorCode{400, reason_phrase(StunError::BadRequest)});
  if (!software.empty()) b.add(Software{software});
  auto done = b.finish();
  return done ? *done : ByteSpan{};
}

bool is_turn_request(std::uint16_t method) {
  switch (static_cast<Method>(method)) {
    case Method::Allocate:
    case Method::Refresh:
    case Method::CreatePermission:
    case Method::ChannelBind:
    case Method::Connect:  // RFC 6062
    case Method::ConnectionBind:
      return true;
    default:
      return false;
  }
}

}  // namespace

ByteSpan Dispatcher::on_client_message(const ClientContext& ctx, MutableByteSpan in) noexcept {
  shard_.begin_event();
  if (looks_like_stun(in)) {
    authenticated_ = false;
    nat_route_ = {};
    const ByteSpan reply = on_stun(ctx, in);
    // Over UDP the source may be spoofed: a reply to an unauthenticated request that is larger
    // than the request (401, 438, 400, 420, Binding), or that RFC 5780 sends from another
    // address, to another port or padded, is within the anti-amplification limits.
    if (reply.empty() || authenticated_ || ctx.transport != Transport::Udp ||
        (reply.size() <= in.size() && !nat_route_.always_limited()) ||
        (is_loopback(ctx.client.ip) && !shard_.config().limit_loopback))
      return deliver(nat_route_, reply, shard_);
    if (!within_amplification_limits(ctx, reply.size())) return {};
    return deliver(nat_route_, reply, shard_);
  }
  if (looks_like_channel_data(in)) {
    on_channel_data(ctx, in);
    return {};
  }
  ++shard_.counters().dropped_malformed;
  return {};
}

bool Dispatcher::within_amplification_limits(const ClientContext& ctx,
                                             std::size_t reply_size) noexcept {
  const SteadyTime now = shard_.now().steady();
  if (!shard_.services().unauthenticated_replies.allow(ctx.client.ip, now)) {
    ++shard_.counters().unauthenticated_limited_source;
    return false;
  }
  if (!shard_.unauthenticated_bytes().allow(reply_size, now)) {
    ++shard_.counters().unauthenticated_limited_global;
    return false;
  }
  return true;
}

bool Dispatcher::has_allocation(const ClientContext& ctx) noexcept {
  return shard_.allocations().find({ctx.client, ctx.local, ctx.transport}) != nullptr;
}

void Dispatcher::on_connection_closed(const ClientContext& ctx) noexcept {
  // A stream's 5-tuple is the connection: it has at most this one allocation (RFC 8656 §3.1).
  shard_.begin_event();
  if (Allocation* a = shard_.allocations().find({ctx.client, ctx.local, ctx.transport}))
    shard_.allocations().remove(*a, "closed with its connection");
}

void Dispatcher::on_channel_data(const ClientContext& ctx, ByteSpan in) noexcept {
  auto cd = ChannelDataView::parse(in);
  Allocation* a = cd ? shard_.allocations().find({ctx.client, ctx.local, ctx.transport}) : nullptr;
  if (a == nullptr || a->tcp) {  // a TCP allocation has no channels (RFC 6062)
    ++shard_.counters().channel_data_dropped;
    return;
  }
  const SteadyTime now = shard_.now().steady();
  const ChannelBinding* ch = a->channel_by_number(cd->channel, now);
  // RFC 8656 §12.5: an unbound channel, or a peer whose permission lapsed, is dropped.
  if (ch == nullptr || !a->has_permission(ch->peer.ip, now)) {
    ++shard_.counters().channel_data_dropped;
    return;
  }
  shard_.relay().send_to_peer(*a, ch->peer, cd->data);
}

ByteSpan Dispatcher::on_stun(const ClientContext& ctx, ByteSpan in) noexcept {
  auto msg = MessageView::parse(in);
  if (!msg) {
    ++shard_.counters().dropped_malformed;
    if (!worth_a_bad_request(in, msg.error())) return {};
    ++shard_.counters().bad_requests;
    return bad_request_from_header(in, shard_.software(), reply_);
  }
  if (msg->cls() == Class::Indication) {
    on_indication(*msg, ctx);
    return {};
  }
  if (msg->cls() != Class::Request) return {};  // responses are not for a server
  ++shard_.counters().requests;

  // RFC 8489 §6.3.1: unknown comprehension-required attributes in a request get a 420; so do
  // RFC 5780's where NAT discovery is not served (nat_discovery.hpp).
  if (const UnknownList unknown = shard_.nat_discovery().unknown_attributes(*msg, ctx);
      !unknown.empty()) {
    auto b = begin_error(*msg, StunError::UnknownAttribute, reply_);
    b.add(UnknownAttributes{unknown.span(), {}});
    return finish_response(b, *msg, shard_.software());
  }
  if (msg->method() == static_cast<std::uint16_t>(Method::Binding))
    return handlers::handle_binding(*msg, ctx, shard_, reply_, nat_route_);
  // The addresses opened for NAT discovery alone answer Binding only: TURN there is a 400.
  if (is_turn_request(msg->method()) && msg->has_magic_cookie() &&
      !shard_.nat_discovery().binding_only(ctx.local))
    return on_turn_request(*msg, ctx);
  auto b = begin_error(*msg, StunError::BadRequest, reply_);
  return finish_response(b, *msg, shard_.software());
}

ByteSpan Dispatcher::challenge(const MessageView& msg, const ClientContext& ctx,
                               const auth::AuthResult& result) noexcept {
  ++shard_.counters().auth_failures;
  const auto e = result.verdict == auth::Verdict::StaleNonce   ? StunError::StaleNonce
                 : result.verdict == auth::Verdict::BadRequest ? StunError::BadRequest
                                                               : StunError::Unauthorized;
  if (result.verdict != auth::Verdict::Challenge || msg.has(AttrType::MessageIntegrity) ||
      msg.has(AttrType::MessageIntegritySha256))
    spdlog::debug("{} from {}: {} ({}), user \"{}\"", method_name(msg.method()),
                  ctx.client.to_string(), static_cast<int>(e), logsafe(result.reason),
                  logsafe(msg.get<Username>() ? msg.get<Username>()->text() : ""));
  auto b = begin_error(msg, e, reply_);
  if (e != StunError::BadRequest) {
    // RFC 8489 §9.2.4: REALM and a fresh NONCE, and the algorithms we accept (§14.11).
    const std::string nonce = shard_.auth().make_nonce(ctx.client.ip, shard_.now().wall());
    b.add(Realm{shard_.auth().realm()});
    b.add(Nonce{nonce});
    b.add(PasswordAlgorithms{auth::Authenticator::kOffered, {}});
    return finish_response(b, msg, shard_.software());
  }
  return finish_response(b, msg, shard_.software());
}

ByteSpan Dispatcher::on_turn_request(const MessageView& msg, const ClientContext& ctx) noexcept {
  try {
    const auto result = shard_.auth().check(msg, ctx.client.ip, shard_.now().wall());
    if (result.verdict != auth::Verdict::Ok) return challenge(msg, ctx, result);
    authenticated_ = true;

    handlers::TurnRequest req{msg, ctx, result, {ctx.client, ctx.local, ctx.transport}};
    const auto method = static_cast<Method>(msg.method());
    if (method == Method::Allocate) return handlers::handle_allocate(req, shard_, reply_);
    // A data connection has no allocation of its own (RFC 6062 §5.4).
    if (method == Method::ConnectionBind)
      return handlers::handle_connection_bind(req, shard_, reply_);

    Allocation* a = shard_.allocations().find(req.five_tuple);
    if (a == nullptr) {
      auto b = begin_error(msg, StunError::AllocationMismatch, reply_);
      return finish_response(b, msg, shard_.software(), {&result.key, result.alg});
    }
    // RFC 8656 §5: requests on an allocation use the credentials that created it.
    if (a->username != result.username) {
      auto b = begin_error(msg, StunError::WrongCredentials, reply_);
      return finish_response(b, msg, shard_.software(), {&result.key, result.alg});
    }
    if (a->last_transaction == msg.transaction_id() && !a->last_response.empty())
      return a->last_response;  // a retransmission: the same answer again

    ByteSpan reply;
    switch (method) {
      case Method::Refresh:
        return handlers::handle_refresh(req, *a, shard_, reply_);  // may delete `a`
      case Method::CreatePermission:
        reply = handlers::handle_create_permission(req, *a, shard_, reply_);
        break;
      case Method::ChannelBind:
        reply = handlers::handle_channel_bind(req, *a, shard_, reply_);
        break;
      case Method::Connect:
        reply = handlers::handle_connect(req, *a, shard_, reply_);
        break;
      default:
        return {};
    }
    a->last_transaction = msg.transaction_id();
    a->last_response.assign(reply.begin(), reply.end());
    return reply;
  } catch (const std::exception& e) {
    // Allocation failures (bad_alloc, a socket error) answer 500 instead of killing the shard.
    spdlog::error("{} from {} failed: {}", method_name(msg.method()), ctx.client.to_string(),
                  logsafe(e.what()));
    auto b = begin_error(msg, StunError::ServerError, reply_);
    return finish_response(b, msg, shard_.software());
  }
}

void Dispatcher::on_indication(const MessageView& msg, const ClientContext& ctx) noexcept {
  if (msg.method() != static_cast<std::uint16_t>(Method::Send)) return;
  Allocation* a = shard_.allocations().find({ctx.client, ctx.local, ctx.transport});
  if (a != nullptr && !a->tcp) handlers::handle_send_indication(msg, *a, shard_);
}

}  // namespace turnd::server
