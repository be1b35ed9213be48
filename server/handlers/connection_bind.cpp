// ConnectionBind (RFC 6062 §5.4): a new TCP or TLS connection from the client asks to become
// the data connection of a pending peer connection. It is authenticated here, on whichever
// shard the kernel gave the connection to; then the connection is detached from its listener
// and carried, whole, to the shard that owns the connection id (the allocation's), which
// answers on it and joins it to the peer (relay::TcpRelay::bind).
#include <boost/asio/post.hpp>

#include "server/handlers/turn_reply.hpp"
#include "server/relay/tcp_relay.hpp"

namespace turnd::server::handlers {

using namespace protocol;

namespace {
/// The shard that owns `connection_id`, or null when there is no such shard.
ShardState* owner_of(std::uint32_t connection_id, ShardState& shard) {
  const unsigned target = relay::TcpRelay::shard_of(connection_id);
  const auto& shards = shard.services().shard_states;
  if (shards.empty()) return target == shard.id() ? &shard : nullptr;  // tests: one shard
  return target < shards.size() ? shards[target] : nullptr;
}
}  // namespace

ByteSpan handle_connection_bind(const TurnRequest& req, ShardState& shard, MutableByteSpan out) {
  const auto id = req.msg.get<ConnectionId>();
  const bool stream = req.ctx.transport == Transport::Tcp || req.ctx.transport == Transport::Tls;
  // §5.4: only on a TCP/TLS connection, with a CONNECTION-ID; a connection that holds an
  // allocation is a control connection and cannot become a data connection.
  ShardState* owner = nullptr;
  relay::ConnectionBindRequest bind;
  if (stream && req.ctx.stream != nullptr && id &&
      shard.allocations().find(req.five_tuple) == nullptr) {
    bind.connection_id = load_u32(id->value.data());
    owner = owner_of(bind.connection_id, shard);
  }
  if (owner == nullptr) {  // counted like the refusals of the owning shard
    ++shard.counters().tcp_relay_bind_failed;
    return turn_error(req, StunError::BadRequest, shard, out);
  }
  auto detached = req.ctx.stream->detach();
  if (detached == nullptr) return turn_error(req, StunError::ServerError, shard, out);
  bind.username = req.auth.username;
  bind.key = req.auth.key;
  bind.alg = req.auth.alg;
  bind.transaction = req.msg.transaction_id();
  bind.fingerprint = req.msg.has(AttrType::Fingerprint);
  boost::asio::post(owner->io(), [owner, s = std::move(detached), bind]() mutable {
    owner->tcp_relay().bind(std::move(s), bind);
  });
  return {};  // the owner answers on the connection
}

}  // namespace turnd::server::handlers
