// Counters written by one shard thread and read by the control thread on a /metrics scrape.
// A relaxed load + store is as cheap as a plain increment (no lock prefix) and is not a data
// race; the single writer makes the sum exact.
#pragma once

#include <atomic>
#include <cstdint>

#include "server/io/tls/handshake_failure.hpp"

namespace turnd::server::io {

class Counter {
 public:
  void add(std::uint64_t n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  Counter& operator++() noexcept {
    add(1);
    return *this;
  }
  std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

/// Datagrams through the UDP system calls: with sendmmsg/recvmmsg, UDP GSO (UDP_SEGMENT) and
/// GRO (UDP_GRO) several datagrams cross the kernel per call; these show how many.
struct DatagramCounters {
  Counter udp_received, udp_receive_calls;  // datagrams (coalesced ones split) and recvmmsg calls
  Counter udp_gro_buffers;                  // received buffers that held several datagrams
  Counter udp_gro_dropped;                  // segments past what a buffer may hold
  Counter udp_sent, udp_send_calls;         // datagrams and sendmmsg calls
  Counter udp_gso_writes;                   // messages that carried several segments
  Counter udp_gso_fallbacks;                // segmented writes the kernel refused, sent one by one
};

/// What the listeners and their connections count. A base of server::ShardCounters, so each
/// is one counter of the shard, rendered on /metrics with the others.
struct ListenerCounters : DatagramCounters {
  Counter dropped_malformed;
  Counter relay_oversize_dropped;  // client -> peer datagrams larger than a relay slot
  Counter tcp_refused_per_source, tcp_refused_total, tcp_refused_rate;
  Counter tcp_closed_first_message_timeout, tcp_closed_idle_timeout, tcp_closed_not_stun;
  Counter tcp_write_dropped;  // frames not queued: the client does not read
  // TLS and DTLS handshakes, [kTlsIndex] and [kDtlsIndex]: done, and failed by reason.
  static constexpr std::size_t kTlsIndex = 0, kDtlsIndex = 1;
  Counter tls_handshakes[2];
  Counter tls_resumed[2];  // of those, resumed from a session ticket
  Counter tls_handshake_failures[2][tls::kHandshakeFailureCount];
  Counter dtls_hello_verify_sent;  // cookie challenges: stateless, no session made
  Counter dtls_datagrams_dropped;  // not DTLS, or for no session and not a ClientHello
  Counter dtls_refused_per_source, dtls_refused_total, dtls_refused_rate;  // refused by a limit
  Counter dtls_closed_idle_timeout;
};

}  // namespace turnd::server::io
