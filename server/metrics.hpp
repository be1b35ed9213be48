// The counters of one shard, written by its thread and read by the control thread on a
// /metrics scrape (see io::Counter). Those the listeners bump live in io::ListenerCounters.
#pragma once

#include <atomic>
#include <cstdint>

#include "server/io/counters.hpp"

namespace turnd::server {

using io::Counter;

struct ShardCounters : io::ListenerCounters {
  Counter requests;
  Counter bad_requests;
  Counter auth_failures;
  // Replies to unauthenticated UDP requests not sent: the source exceeded its rate, or all
  // sources together exceeded the byte cap (anti-amplification).
  Counter unauthenticated_limited_source, unauthenticated_limited_global;
  Counter channel_data_dropped;
  Counter allocations_created;
  Counter allocations_deleted;
  Counter allocations_expired;
  Counter packets_to_peer, bytes_to_peer;
  Counter packets_from_peer, bytes_from_peer;
  Counter peer_packets_without_permission;
  // Relay to relay inside the process (RelayPath::hand_over), counted by the sending shard:
  // to an allocation of this shard, or queued to another shard's; and dropped on the way.
  Counter handoff_same_shard, handoff_cross_shard;
  Counter handoff_dropped_queue_full, handoff_dropped_target_stopped;
  Counter handoff_drains;     // wake-ups of this shard that drained the other shards' rings
  Counter send_dropped;       // datagrams the kernel refused (full buffer, unreachable)
  Counter relay_open_failed;  // relay sockets that could not be opened (ports, fds)
  // RFC 5780 Binding answers on the NAT discovery addresses, by what they did (NatReplyKind).
  Counter nat_discovery_plain, nat_discovery_change_ip, nat_discovery_change_port;
  Counter nat_discovery_change_ip_port, nat_discovery_response_port, nat_discovery_padding;
  // RFC 6062 TCP relaying: peer connections made by Connect (or not, or refused over the
  // allocation's Connect rate), accepted from peers (or refused: no permission, over the
  // per-allocation limit), bound by ConnectionBind (or not), closed unbound after 30 s; bytes
  // through bound pairs.
  Counter tcp_relay_connected, tcp_relay_connect_failed, tcp_relay_connect_rate_limited;
  Counter tcp_relay_accepted, tcp_relay_refused_no_permission, tcp_relay_refused_quota;
  Counter tcp_relay_bound, tcp_relay_bind_failed, tcp_relay_bind_timeout;
  Counter tcp_relay_bytes_to_peer, tcp_relay_bytes_from_peer;
  std::atomic<std::int64_t> tcp_relay_connections{0};  // peer connections open now
  std::atomic<std::int64_t> allocations{0};
  // Live allocations by the client's transport, indexed by io::Transport (udp tcp tls dtls).
  std::atomic<std::int64_t> allocations_by_transport[4] = {};
};

}  // namespace turnd::server
