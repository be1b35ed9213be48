// Entry point for every message a client sends: demultiplexes STUN from ChannelData
// (RFC 7983), parses, applies the checks common to all methods (unknown attributes,
// authentication, allocation lookup, retransmissions) and calls the method's handler.
#pragma once

#include <array>

#include "auth/authenticator.hpp"
#include "protocol/bytes.hpp"
#include "protocol/message_view.hpp"
#include "server/client_context.hpp"
#include "server/io/message_handler.hpp"
#include "server/nat_discovery.hpp"
#include "server/shard_state.hpp"

namespace turnd::server {

class Dispatcher final : public io::MessageHandler {
 public:
  explicit Dispatcher(ShardState& shard) : shard_(shard) {}

  /// Handles one datagram or stream frame. Returns the reply to send back on the same path
  /// (a view of the dispatcher's scratch buffer, valid until the next call), or an empty span
  /// for none. `in` may be modified (headroom use).
  protocol::ByteSpan on_client_message(const ClientContext& ctx,
                                       protocol::MutableByteSpan in) noexcept override;
  /// Sends the datagrams that handling queued (relay sends are batched per event).
  void flush() noexcept override { shard_.sends().flush(); }
  /// A stream connection closed: its allocation goes with it (RFC 8656 §3.1).
  void on_connection_closed(const ClientContext& ctx) noexcept override;
  /// Whether the client of `ctx` holds an allocation on this shard.
  bool has_allocation(const ClientContext& ctx) noexcept override;

 private:
  protocol::ByteSpan on_stun(const ClientContext& ctx, protocol::ByteSpan in) noexcept;
  protocol::ByteSpan on_turn_request(const protocol::MessageView& msg,
                                     const ClientContext& ctx) noexcept;
  protocol::ByteSpan challenge(const protocol::MessageView& msg, const ClientContext& ctx,
                               const auth::AuthResult& result) noexcept;
  void on_indication(const protocol::MessageView& msg, const ClientContext& ctx) noexcept;
  void on_channel_data(const ClientContext& ctx, protocol::ByteSpan in) noexcept;
  bool within_amplification_limits(const ClientContext& ctx, std::size_t reply_size) noexcept;

  ShardState& shard_;
  std::array<std::uint8_t, 4096> reply_{};  // replies are small; one scratch per shard
  bool authenticated_ = false;              // the message being handled passed authentication
  NatReplyRoute nat_route_;                 // RFC 5780: where the Binding answer goes
};

}  // namespace turnd::server
