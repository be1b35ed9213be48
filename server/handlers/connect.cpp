// Connect (RFC 6062 §5.2): open a TCP connection from a TCP allocation's relayed address to a
// peer. The checks answer at once; the success (with CONNECTION-ID) or 447 comes when the
// connection is made or fails (server/relay/tcp_relay.hpp). A Connect installs or refreshes a
// permission for the peer's IP, as ChannelBind does, so the peer's own connections and the
// allocation's permission count agree. Past the connection cap, or over the allocation's
// Connect rate (TcpAllocation::kConnectsPerSecond after a burst of the cap), it is 508.
#include "server/handlers/turn_reply.hpp"
#include "server/relay/tcp_relay.hpp"

namespace turnd::server::handlers {

using namespace protocol;

ByteSpan handle_connect(const TurnRequest& req, Allocation& a, ShardState& shard,
                        MutableByteSpan out) {
  const auto peer = req.msg.get<XorPeerAddress>();
  if (!a.tcp || !peer || peer->address.port == 0 || peer->address.ip.is_unspecified())
    return turn_error(req, StunError::BadRequest, shard, out);
  if (auto e = check_peer(a, peer->address.ip, shard)) return turn_error(req, *e, shard, out);
  // One of this host's own addresses (a listener, the admin port, Redis...) only when an
  // --allow-peer range opens it explicitly, or at the exact relayed address of a live TCP
  // allocation (both ends of a call on this server: what turnutils_uclient -T does).
  if (shard.services().is_guarded_own_address(peer->address.ip, shard.policy().peer_filter) &&
      !shard.services().live_tcp_relays.contains(peer->address))
    return turn_error(req, StunError::Forbidden, shard, out);
  // §5.2: one connection per peer address while it is being made, pending or bound.
  if (a.tcp->find(peer->address) != nullptr)
    return turn_error(req, StunError::ConnectionAlreadyExists, shard, out);
  const SteadyTime now = shard.now().steady();
  const std::size_t new_permissions = a.has_permission(peer->address.ip, now) ? 0 : 1;
  if (a.tcp->connections.size() >= shard.config().max_tcp_connections_per_allocation ||
      !a.has_room_for_permissions(new_permissions, now,
                                  shard.config().max_permissions_per_allocation))
    return turn_error(req, StunError::InsufficientCapacity, shard, out);
  // Only a Connect that would send a SYN spends from the budget (TcpAllocation).
  if (!a.tcp->connect_budget.take(now)) {
    ++shard.counters().tcp_relay_connect_rate_limited;
    return turn_error(req, StunError::InsufficientCapacity, shard, out);
  }
  if (auto e = shard.tcp_relay().connect(a, peer->address, req.msg))
    return turn_error(req, *e, shard, out);
  a.install_permission(peer->address.ip, now);
  return {};  // answered when the connection is made or fails
}

}  // namespace turnd::server::handlers
