// Stream connections (TCP, TLS) and DTLS sessions per source IP (IPv6 /64) and in total,
// across all shards, and how many new ones a source may open a second. Taken once per accepted
// connection and given back when it closes: never per packet, so a mutex (and a virtual call
// from the listener) is fine here.
//
// The rate exists for TLS and DTLS: each new connection costs a handshake, which signs with the
// server's key (about 1 ms of CPU for RSA-2048). The concurrent limit alone lets one source
// open, handshake and close as fast as it can; the rate caps what one source costs in CPU.
#pragma once

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "protocol/transport_address.hpp"
#include "server/clock.hpp"
#include "server/io/connection_limits.hpp"
#include "server/reply_limiter.hpp"
#include "server/source_key.hpp"

namespace turnd::server {

class ConnectionLimiter final : public io::ConnectionLimits {
 public:
  struct Limits {
    unsigned per_source = 0;  ///< open at once from one source; 0 = unlimited
    unsigned total = 0;       ///< open at once in all; 0 = unlimited
    /// New ones a second per source, in bursts of twice that or of per_source if larger (a
    /// source may fill its slots at once); 0 = off.
    unsigned per_second = 0;
    bool limit_loopback = true;  ///< false: loopback sources count only against the total
  };
  explicit ConnectionLimiter(const Limits& limits, const Clock& clock = system_clock());

  Verdict acquire(const protocol::IpAddress& source) override;
  void release(const protocol::IpAddress& source) noexcept override;
  unsigned open() const noexcept { return total_.load(std::memory_order_relaxed); }
  /// A reload's new limits; open connections stay, new ones are counted against these.
  void set_limits(const Limits& limits);

 private:
  Limits limits_;  // guarded by mutex_, like by_source_
  const Clock& clock_;
  SourceRateLimiter rate_;  // atomics; consulted under mutex_ only to keep acquire() whole
  std::atomic<unsigned> total_{0};
  std::mutex mutex_;
  std::unordered_map<SourceKey, unsigned, SourceKeyHash> by_source_;
};

}  // namespace turnd::server
