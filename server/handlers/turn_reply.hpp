// Replies shared by the TURN handlers: errors and successes signed with the request's key.
#pragma once

#include "protocol/attributes/all.hpp"
#include "server/handlers/handlers.hpp"
#include "server/response.hpp"

namespace turnd::server::handlers {

inline ResponseSigning signing_of(const TurnRequest& req) noexcept {
  return {&req.auth.key, req.auth.alg};
}

/// An error response, signed (the request was authenticated; RFC 8489 §9.2.4).
inline protocol::ByteSpan turn_error(const TurnRequest& req, protocol::StunError e,
                                     ShardState& shard, protocol::MutableByteSpan out) noexcept {
  auto b = begin_error(req.msg, e, out);
  return finish_response(b, req.msg, shard.software(), signing_of(req));
}

/// 443 for a family the allocation cannot relay, 403 for a peer the filter denies.
inline std::optional<protocol::StunError> check_peer(const Allocation& a,
                                                     const protocol::IpAddress& peer,
                                                     ShardState& shard) noexcept {
  if (a.relay_for(peer.family) == nullptr) return protocol::StunError::PeerAddressFamilyMismatch;
  if (!shard.policy().peer_filter.allowed(peer)) return protocol::StunError::Forbidden;
  return std::nullopt;
}

/// Collects every XOR-PEER-ADDRESS of a request (CreatePermission may carry several).
/// Returns false when one is malformed.
template <class F>
bool for_each_peer(const protocol::MessageView& msg, F&& f) {
  for (const auto& raw : msg.attributes()) {
    if (raw.type != static_cast<std::uint16_t>(protocol::AttrType::XorPeerAddress)) continue;
    auto peer = protocol::XorPeerAddress::decode(raw.value, msg.header());
    if (!peer) return false;
    f(peer->address);
  }
  return true;
}

}  // namespace turnd::server::handlers
