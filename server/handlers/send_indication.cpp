// Send indication (RFC 8656 §10.2): relay DATA to XOR-PEER-ADDRESS if a permission exists.
#include "server/handlers/turn_reply.hpp"

namespace turnd::server::handlers {

using namespace protocol;

void handle_send_indication(const MessageView& msg, Allocation& a, ShardState& shard) noexcept {
  const auto peer = msg.get<XorPeerAddress>();
  const auto data = msg.get<Data>();
  if (!peer || !data) return;
  if (!a.has_permission(peer->address.ip, shard.now().steady())) return;
  shard.relay().send_to_peer(a, peer->address, data->value);
}

}  // namespace turnd::server::handlers
