// What a listener needs from the server above it, and nothing more: io/ hands over each client
// message and learns what to answer. Implemented by server::Dispatcher.
#pragma once

#include "protocol/bytes.hpp"
#include "server/io/client_context.hpp"

namespace turnd::server::io {

class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  /// Handles one datagram or stream frame. Returns the reply to send back on the same path
  /// (valid until the next call), or an empty span for none. `in` may be modified (headroom).
  virtual protocol::ByteSpan on_client_message(const ClientContext& ctx,
                                               protocol::MutableByteSpan in) noexcept = 0;
  /// Sends what handling a batch of messages queued.
  virtual void flush() noexcept = 0;
  /// A stream connection closed.
  virtual void on_connection_closed(const ClientContext& ctx) noexcept = 0;
  /// Whether the client of `ctx` holds an allocation (it gets the larger write queue).
  virtual bool has_allocation(const ClientContext& ctx) noexcept = 0;
};

}  // namespace turnd::server::io
