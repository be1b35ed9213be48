// One function per STUN/TURN method. Handlers do no socket I/O of their own: they read the
// request, change shard state and build the reply into `out` (an empty span means "no reply").
// TURN requests reach them already authenticated (the dispatcher runs the Authenticator).
#pragma once

#include "auth/authenticator.hpp"
#include "protocol/message_view.hpp"
#include "server/client_context.hpp"
#include "server/nat_discovery.hpp"
#include "server/shard_state.hpp"

namespace turnd::server::handlers {

/// On an RFC 5780 address (server/nat_discovery.hpp) the answer may leave from another socket
/// or go to another port: `route` says so (the dispatcher applies the limits, then delivers).
protocol::ByteSpan handle_binding(const protocol::MessageView& request, const ClientContext& ctx,
                                  ShardState& shard, protocol::MutableByteSpan out,
                                  NatReplyRoute& route) noexcept;

/// Context of an authenticated TURN request.
struct TurnRequest {
  const protocol::MessageView& msg;
  const ClientContext& ctx;
  const auth::AuthResult& auth;
  FiveTuple five_tuple;
};

protocol::ByteSpan handle_allocate(const TurnRequest& req, ShardState& shard,
                                   protocol::MutableByteSpan out);
protocol::ByteSpan handle_refresh(const TurnRequest& req, Allocation& a, ShardState& shard,
                                  protocol::MutableByteSpan out);
protocol::ByteSpan handle_create_permission(const TurnRequest& req, Allocation& a,
                                            ShardState& shard, protocol::MutableByteSpan out);
protocol::ByteSpan handle_channel_bind(const TurnRequest& req, Allocation& a, ShardState& shard,
                                       protocol::MutableByteSpan out);
/// RFC 6062 Connect: answered later (an empty span) unless a check fails.
protocol::ByteSpan handle_connect(const TurnRequest& req, Allocation& a, ShardState& shard,
                                  protocol::MutableByteSpan out);
/// RFC 6062 ConnectionBind: hands the connection to the allocation's shard, which answers.
protocol::ByteSpan handle_connection_bind(const TurnRequest& req, ShardState& shard,
                                          protocol::MutableByteSpan out);

/// Send indication (RFC 8656 §10.2): relayed to the peer or silently dropped; never answered.
void handle_send_indication(const protocol::MessageView& msg, Allocation& a,
                            ShardState& shard) noexcept;

}  // namespace turnd::server::handlers
