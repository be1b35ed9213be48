// CreatePermission (RFC 8656 §9): install or refresh permissions for one or more peer IPs.
// All-or-nothing: every peer is checked before any permission changes.
#include "server/handlers/turn_reply.hpp"

namespace turnd::server::handlers {

using namespace protocol;

ByteSpan handle_create_permission(const TurnRequest& req, Allocation& a, ShardState& shard,
                                  MutableByteSpan out) {
  const SteadyTime now = shard.now().steady();
  std::optional<StunError> error;
  std::size_t peers = 0, added = 0;
  const bool well_formed = for_each_peer(req.msg, [&](const TransportAddress& peer) {
    ++peers;
    if (!error) error = check_peer(a, peer.ip, shard);
    if (!a.has_permission(peer.ip, now)) ++added;
  });
  if (!well_formed || peers == 0) return turn_error(req, StunError::BadRequest, shard, out);
  if (error) return turn_error(req, *error, shard, out);
  if (!a.has_room_for_permissions(added, now, shard.config().max_permissions_per_allocation))
    return turn_error(req, StunError::InsufficientCapacity, shard, out);
  for_each_peer(req.msg, [&](const TransportAddress& peer) { a.install_permission(peer.ip, now); });
  auto b = begin_response(req.msg, Class::SuccessResponse, out);
  return finish_response(b, req.msg, shard.software(), signing_of(req));
}

}  // namespace turnd::server::handlers
