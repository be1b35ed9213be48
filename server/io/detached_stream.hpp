// A client's stream connection taken out of its listener (RFC 6062 ConnectionBind: the
// connection stops carrying STUN frames and becomes a raw data connection, served by the shard
// that owns the allocation). It carries everything the connection was: the descriptor, its TLS
// session, the bytes already read past the last frame and its connection-limit slot.
// Owner: one thread at a time; it moves between shards whole (by unique_ptr).
#pragma once

#include <unistd.h>

#include <memory>
#include <vector>

#include "server/io/client_context.hpp"
#include "server/io/connection_limits.hpp"
#include "server/io/tls/tls_stream.hpp"

namespace turnd::server::io {

struct DetachedStream {
  DetachedStream() = default;
  DetachedStream(const DetachedStream&) = delete;
  DetachedStream& operator=(const DetachedStream&) = delete;
  ~DetachedStream() {
    tls.reset();  // before the descriptor it writes to
    if (fd >= 0) ::close(fd);
    if (limiter != nullptr) limiter->release(ctx.client.ip);
  }
  /// Hands the descriptor over (the caller closes it from now on).
  int release_fd() noexcept { return std::exchange(fd, -1); }

  int fd = -1;
  std::unique_ptr<tls::TlsStream> tls;  // null for TCP in clear
  ClientContext ctx;                    // addresses and transport; ctx.sink is not valid any more
  std::vector<std::uint8_t> leftover;   // read after the frame that detached it
  ConnectionLimits* limiter = nullptr;  // non-null: holds a slot of it for ctx.client.ip
};

/// What a stream connection offers the message handler besides replies: giving itself up.
class StreamControl {
 public:
  virtual ~StreamControl() = default;
  /// Called while the handler handles a frame of this connection: after that frame the
  /// connection stops reading and hands everything over. nullptr when it cannot (replies still
  /// being written).
  virtual std::unique_ptr<DetachedStream> detach() noexcept = 0;
};

}  // namespace turnd::server::io
