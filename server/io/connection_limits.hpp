// The limit on stream connections a TCP listener obeys: one slot taken per accepted
// connection, given back when it closes. Implemented by server::ConnectionLimiter (per source
// and in total, shared by all shards).
#pragma once

#include <cstdint>

#include "protocol/transport_address.hpp"

namespace turnd::server::io {

class ConnectionLimits {
 public:
  virtual ~ConnectionLimits() = default;
  enum class Verdict : std::uint8_t { Ok, PerSource, Total };
  /// Counts one more connection from `source` unless a limit forbids it.
  virtual Verdict acquire(const protocol::IpAddress& source) = 0;
  /// Gives back a connection counted by acquire().
  virtual void release(const protocol::IpAddress& source) noexcept = 0;
};

}  // namespace turnd::server::io
