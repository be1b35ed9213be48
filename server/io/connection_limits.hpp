// The limit on stream connections a TCP listener (and DTLS sessions the DTLS listener) obeys:
// one slot taken per accepted connection, given back when it closes. Implemented by
// server::ConnectionLimiter (per source and in total, and new ones per source and second,
// shared by all shards).
#pragma once

#include <cstdint>

#include "protocol/transport_address.hpp"

namespace turnd::server::io {

class ConnectionLimits {
 public:
  virtual ~ConnectionLimits() = default;
  /// Rate: the source opened too many new connections in the last seconds (each may cost a
  /// TLS handshake: signing with the server's key).
  enum class Verdict : std::uint8_t { Ok, PerSource, Total, Rate };
  /// Counts one more connection from `source` unless a limit forbids it.
  virtual Verdict acquire(const protocol::IpAddress& source) = 0;
  /// Gives back a connection counted by acquire().
  virtual void release(const protocol::IpAddress& source) noexcept = 0;
};

}  // namespace turnd::server::io
