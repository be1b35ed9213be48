// ChannelBind (RFC 8656 §11.2): bind a channel number to a peer transport address, or refresh
// the binding; it also installs or refreshes a permission for the peer's IP.
#include "protocol/channel_data.hpp"
#include "server/handlers/turn_reply.hpp"

namespace turnd::server::handlers {

using namespace protocol;

ByteSpan handle_channel_bind(const TurnRequest& req, Allocation& a, ShardState& shard,
                             MutableByteSpan out) {
  const auto number = req.msg.get<ChannelNumber>();
  const auto peer = req.msg.get<XorPeerAddress>();
  // A TCP allocation (RFC 6062) relays over its peer connections, not over channels.
  if (a.tcp || !number || !peer ||
      !is_valid_channel(number->value, shard.config().strict_channel_numbers))
    return turn_error(req, StunError::BadRequest, shard, out);
  if (auto e = check_peer(a, peer->address.ip, shard)) return turn_error(req, *e, shard, out);

  // §11.2: a number bound to another peer, or a peer bound to another number, is a 400 —
  // also while an expired binding cools down (§12).
  const SteadyTime now = shard.now().steady();
  ChannelBinding* existing = nullptr;
  for (auto& c : a.channels) {
    const bool same_number = c.number == number->value, same_peer = c.peer == peer->address;
    if (same_number != same_peer) return turn_error(req, StunError::BadRequest, shard, out);
    if (same_number) existing = &c;
  }
  // The permission it installs counts like one from CreatePermission (§11.2, §9).
  const std::size_t new_permissions = a.has_permission(peer->address.ip, now) ? 0 : 1;
  if ((existing == nullptr && a.channels.size() >= shard.config().max_channels_per_allocation) ||
      !a.has_room_for_permissions(new_permissions, now,
                                  shard.config().max_permissions_per_allocation))
    return turn_error(req, StunError::InsufficientCapacity, shard, out);
  if (existing == nullptr) {
    a.channels.push_back({number->value, peer->address, now + kChannelLifetime});
  } else {
    existing->expires_at = now + kChannelLifetime;
  }
  a.install_permission(peer->address.ip, now);
  auto b = begin_response(req.msg, Class::SuccessResponse, out);
  return finish_response(b, req.msg, shard.software(), signing_of(req));
}

}  // namespace turnd::server::handlers
