#include "server/metrics_text.hpp"

#include <spdlog/fmt/fmt.h>

#include "protocol/version.hpp"
#include "server/io/client_context.hpp"

namespace turnd::server {

namespace {
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <class F>
std::uint64_t sum(std::span<const ShardCounters* const> shards, F&& field) {
  std::uint64_t total = 0;
  for (const auto* s : shards) total += field(*s);
  return total;
}
struct Labelled {
  std::string_view value;
  const Counter ShardCounters::*field;
};

/// One counter family with one label, a sample per label value, summed over the shards.
void labelled(std::string& out, std::span<const ShardCounters* const> shards, std::string_view name,
              std::string_view help, std::string_view label, std::initializer_list<Labelled> rows) {
  family(out, name, "counter", help);
  for (const auto& row : rows)
    out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, row.value,
                       sum(shards, [&](const ShardCounters& s) { return (s.*row.field).get(); }));
}

/// RFC 6062 TCP relaying: peer connections by how they started and ended, and bytes relayed.
void render_tcp_relay(std::string& out, std::span<const ShardCounters* const> shards) {
  labelled(out, shards, "turnd_tcp_relay_connections_total",
           "RFC 6062 peer connections: made by Connect or failed (447) or refused over the "
           "allocation's Connect rate (508), accepted from a peer or "
           "refused (no permission, over the per-allocation limit), bound by ConnectionBind or "
           "refused, closed unbound after 30 s.",
           "event",
           {{"connected", &ShardCounters::tcp_relay_connected},
            {"connect_failed", &ShardCounters::tcp_relay_connect_failed},
            {"connect_rate_limited", &ShardCounters::tcp_relay_connect_rate_limited},
            {"accepted", &ShardCounters::tcp_relay_accepted},
            {"refused_no_permission", &ShardCounters::tcp_relay_refused_no_permission},
            {"refused_quota", &ShardCounters::tcp_relay_refused_quota},
            {"bound", &ShardCounters::tcp_relay_bound},
            {"bind_failed", &ShardCounters::tcp_relay_bind_failed},
            {"bind_timeout", &ShardCounters::tcp_relay_bind_timeout}});
  labelled(out, shards, "turnd_tcp_relay_bytes_total",
           "Bytes relayed between RFC 6062 data connections and their peers, by direction.",
           "direction",
           {{"to_peer", &ShardCounters::tcp_relay_bytes_to_peer},
            {"from_peer", &ShardCounters::tcp_relay_bytes_from_peer}});
  family(out, "turnd_tcp_relay_connections", "gauge",
         "RFC 6062 peer connections open now (being made, waiting for ConnectionBind, or bound).");
  std::int64_t open = 0;
  for (const auto* s : shards) open += s->tcp_relay_connections.load(std::memory_order_relaxed);
  out += fmt::format("turnd_tcp_relay_connections {}\n", open);
}

/// Datagrams per system call: with recvmmsg/sendmmsg, GRO and GSO, many cross the kernel at once.
void render_udp(std::string& out, std::span<const ShardCounters* const> shards) {
  labelled(out, shards, "turnd_udp_datagrams_total",
           "UDP datagrams received (coalesced buffers split) and sent (segments counted).",
           "direction",
           {{"received", &ShardCounters::udp_received}, {"sent", &ShardCounters::udp_sent}});
  labelled(
      out, shards, "turnd_udp_syscalls_total",
      "recvmmsg and sendmmsg calls; datagrams per call = turnd_udp_datagrams_total / this.",
      "direction",
      {{"received", &ShardCounters::udp_receive_calls}, {"sent", &ShardCounters::udp_send_calls}});
  labelled(out, shards, "turnd_udp_offload_total",
           "UDP offload: received buffers that held several datagrams (gro_buffers) and the "
           "segments past a buffer's room dropped (gro_dropped); segmented writes sent "
           "(gso_writes) and refused by the kernel, then sent one by one (gso_fallbacks).",
           "kind",
           {{"gro_buffers", &ShardCounters::udp_gro_buffers},
            {"gro_dropped", &ShardCounters::udp_gro_dropped},
            {"gso_writes", &ShardCounters::udp_gso_writes},
            {"gso_fallbacks", &ShardCounters::udp_gso_fallbacks}});
}

void render_tls(std::string& out, std::span<const ShardCounters* const> shards,
                const ProcessGauges& g) {
  static constexpr std::string_view kTransports[] = {"tls", "dtls"};
  family(out, "turnd_tls_handshakes_total", "counter",
         "TLS and DTLS handshakes completed, and how many of them resumed a session.");
  for (std::size_t t = 0; t < 2; ++t) {
    out +=
        fmt::format("turnd_tls_handshakes_total{{transport=\"{}\"}} {}\n", kTransports[t],
                    sum(shards, [&](const ShardCounters& s) { return s.tls_handshakes[t].get(); }));
  }
  family(out, "turnd_tls_resumed_total", "counter", "Handshakes that resumed a session ticket.");
  for (std::size_t t = 0; t < 2; ++t) {
    out += fmt::format("turnd_tls_resumed_total{{transport=\"{}\"}} {}\n", kTransports[t],
                       sum(shards, [&](const ShardCounters& s) { return s.tls_resumed[t].get(); }));
  }
  family(out, "turnd_tls_handshake_failures_total", "counter",
         "TLS and DTLS handshakes that failed, by reason.");
  for (std::size_t t = 0; t < 2; ++t) {
    for (std::size_t r = 0; r < io::tls::kHandshakeFailureCount; ++r) {
      out += fmt::format(
          "turnd_tls_handshake_failures_total{{transport=\"{}\",reason=\"{}\"}} {}\n",
          kTransports[t], io::tls::to_string(static_cast<io::tls::HandshakeFailure>(r)),
          sum(shards,
              [&](const ShardCounters& s) { return s.tls_handshake_failures[t][r].get(); }));
    }
  }
  labelled(out, shards, "turnd_dtls_datagrams_total",
           "DTLS datagrams that made no session: cookie challenges sent (HelloVerifyRequest), "
           "and datagrams dropped (not DTLS, or no session and not a ClientHello).",
           "kind",
           {{"hello_verify_sent", &ShardCounters::dtls_hello_verify_sent},
            {"dropped", &ShardCounters::dtls_datagrams_dropped}});
  labelled(out, shards, "turnd_dtls_sessions_refused_total",
           "DTLS sessions refused by a connection limit.", "reason",
           {{"per_source", &ShardCounters::dtls_refused_per_source},
            {"total", &ShardCounters::dtls_refused_total},
            {"rate", &ShardCounters::dtls_refused_rate}});
  labelled(out, shards, "turnd_dtls_closed_total", "DTLS sessions closed by the server.", "reason",
           {{"idle_timeout", &ShardCounters::dtls_closed_idle_timeout}});
  if (g.tls_certificate_expiry != 0) {
    family(out, "turnd_tls_certificate_expiry_seconds", "gauge",
           "Unix time the earliest served certificate expires.");
    out += fmt::format("turnd_tls_certificate_expiry_seconds {}\n", g.tls_certificate_expiry);
    family(out, "turnd_tls_certificate_reloads_total", "counter",
           "Certificate reloads (SIGHUP or changed files): applied, or failed (old one kept).");
    out += fmt::format("turnd_tls_certificate_reloads_total{{result=\"applied\"}} {}\n",
                       g.tls_reloads_applied);
    out += fmt::format("turnd_tls_certificate_reloads_total{{result=\"failed\"}} {}\n",
                       g.tls_reloads_failed);
  }
}
}  // namespace

std::string render_metrics(std::span<const ShardCounters* const> shards, const ProcessGauges& g) {
  std::string out;
  out.reserve(4096);
  family(out, "turnd_build_info", "gauge", "Version of the running turnd.");
  out += fmt::format("turnd_build_info{{version=\"{}\"}} 1\n", kVersion);
  family(out, "turnd_shards", "gauge", "I/O shards (threads).");
  out += fmt::format("turnd_shards {}\n", g.shards);

  struct Row {
    std::string_view name, help;
    const Counter ShardCounters::*field;
  };
  static constexpr Row kCounters[] = {
      {"turnd_requests_total", "STUN/TURN requests received.", &ShardCounters::requests},
      {"turnd_malformed_dropped_total", "Datagrams or frames dropped as malformed.",
       &ShardCounters::dropped_malformed},
      {"turnd_bad_requests_total", "Requests answered 400 before parsing completed.",
       &ShardCounters::bad_requests},
      {"turnd_auth_failures_total", "Requests answered 401, 438 or 400 by authentication.",
       &ShardCounters::auth_failures},
      {"turnd_allocations_created_total", "Allocations created.",
       &ShardCounters::allocations_created},
      {"turnd_allocations_deleted_total", "Allocations deleted by clients or connection close.",
       &ShardCounters::allocations_deleted},
      {"turnd_allocations_expired_total", "Allocations that expired.",
       &ShardCounters::allocations_expired},
      {"turnd_channel_data_dropped_total",
       "ChannelData dropped (no allocation, channel or permission).",
       &ShardCounters::channel_data_dropped},
      {"turnd_peer_packets_denied_total", "Peer datagrams dropped for lack of a permission.",
       &ShardCounters::peer_packets_without_permission},
      {"turnd_send_dropped_total", "Datagrams the kernel refused to send.",
       &ShardCounters::send_dropped},
      {"turnd_relay_oversize_dropped_total",
       "Client datagrams to a peer larger than a relay slot (2048 bytes), dropped.",
       &ShardCounters::relay_oversize_dropped},
      {"turnd_relay_open_failed_total",
       "Relay sockets that could not be opened (ports exhausted, descriptors, buffers).",
       &ShardCounters::relay_open_failed},
      {"turnd_tcp_write_dropped_total", "Frames not queued to a TCP client that does not read.",
       &ShardCounters::tcp_write_dropped},
  };
  for (const auto& row : kCounters) {
    family(out, row.name, "counter", row.help);
    out += fmt::format("{} {}\n", row.name,
                       sum(shards, [&](const ShardCounters& s) { return (s.*row.field).get(); }));
  }
  labelled(out, shards, "turnd_unauthenticated_limited_total",
           "Replies to unauthenticated UDP requests not sent (anti-amplification limits).", "scope",
           {{"source", &ShardCounters::unauthenticated_limited_source},
            {"global", &ShardCounters::unauthenticated_limited_global}});
  labelled(out, shards, "turnd_tcp_connections_refused_total",
           "TCP connections closed at accept by a connection limit.", "reason",
           {{"per_source", &ShardCounters::tcp_refused_per_source},
            {"total", &ShardCounters::tcp_refused_total},
            {"rate", &ShardCounters::tcp_refused_rate}});
  labelled(out, shards, "turnd_tcp_closed_total", "TCP connections closed by the server.", "reason",
           {{"first_message_timeout", &ShardCounters::tcp_closed_first_message_timeout},
            {"idle_timeout", &ShardCounters::tcp_closed_idle_timeout},
            {"not_stun", &ShardCounters::tcp_closed_not_stun}});
  labelled(out, shards, "turnd_nat_discovery_replies_total",
           "RFC 5780 Binding answers on the NAT discovery addresses (alternate_listen): plain, "
           "from the other IP and/or port (CHANGE-REQUEST), to another port (RESPONSE-PORT), "
           "padded (PADDING).",
           "kind",
           {{"plain", &ShardCounters::nat_discovery_plain},
            {"change_ip", &ShardCounters::nat_discovery_change_ip},
            {"change_port", &ShardCounters::nat_discovery_change_port},
            {"change_ip_port", &ShardCounters::nat_discovery_change_ip_port},
            {"response_port", &ShardCounters::nat_discovery_response_port},
            {"padding", &ShardCounters::nat_discovery_padding}});
  render_tls(out, shards, g);
  render_udp(out, shards);
  family(out, "turnd_tcp_connections", "gauge",
         "Open TCP and TLS connections and DTLS sessions (the connection limits count them).");
  out += fmt::format("turnd_tcp_connections {}\n", g.tcp_connections);
  family(out, "turnd_relayed_packets_total", "counter", "Packets relayed, by direction.");
  out += fmt::format("turnd_relayed_packets_total{{direction=\"to_peer\"}} {}\n",
                     sum(shards, [](const ShardCounters& s) { return s.packets_to_peer.get(); }));
  out += fmt::format("turnd_relayed_packets_total{{direction=\"from_peer\"}} {}\n",
                     sum(shards, [](const ShardCounters& s) { return s.packets_from_peer.get(); }));
  family(out, "turnd_relayed_bytes_total", "counter", "Payload bytes relayed, by direction.");
  out += fmt::format("turnd_relayed_bytes_total{{direction=\"to_peer\"}} {}\n",
                     sum(shards, [](const ShardCounters& s) { return s.bytes_to_peer.get(); }));
  out += fmt::format("turnd_relayed_bytes_total{{direction=\"from_peer\"}} {}\n",
                     sum(shards, [](const ShardCounters& s) { return s.bytes_from_peer.get(); }));
  labelled(out, shards, "turnd_relay_handoff_total",
           "Relay-to-relay datagrams handed over inside the process instead of the kernel: to "
           "an allocation of the sending shard, or queued to another shard's.",
           "path",
           {{"same_shard", &ShardCounters::handoff_same_shard},
            {"cross_shard", &ShardCounters::handoff_cross_shard}});
  labelled(out, shards, "turnd_relay_handoff_dropped_total",
           "Relay-to-relay datagrams for another shard dropped: its queue from the sending shard "
           "was full, or it was stopping.",
           "reason",
           {{"queue_full", &ShardCounters::handoff_dropped_queue_full},
            {"target_stopped", &ShardCounters::handoff_dropped_target_stopped}});
  render_tcp_relay(out, shards);
  family(out, "turnd_relay_handoff_drains_total", "counter",
         "Wake-ups of a shard to drain what other shards handed over (one eventfd write each).");
  out += fmt::format("turnd_relay_handoff_drains_total {}\n",
                     sum(shards, [](const ShardCounters& s) { return s.handoff_drains.get(); }));
  family(out, "turnd_allocations", "gauge", "Live allocations.");
  std::int64_t live = 0;
  for (const auto* s : shards) live += s->allocations.load(std::memory_order_relaxed);
  out += fmt::format("turnd_allocations {}\n", live);
  family(out, "turnd_allocations_by_transport", "gauge",
         "Live allocations by the transport their client uses (udp, tcp, tls, dtls).");
  for (std::size_t t = 0; t < 4; ++t) {
    std::int64_t n = 0;
    for (const auto* s : shards)
      n += s->allocations_by_transport[t].load(std::memory_order_relaxed);
    out += fmt::format("turnd_allocations_by_transport{{transport=\"{}\"}} {}\n",
                       io::to_string(static_cast<io::Transport>(t)), n);
  }
  family(out, "turnd_relay_ports_in_use", "gauge", "Relay ports taken or reserved.");
  out += fmt::format("turnd_relay_ports_in_use {}\n", g.relay_ports_in_use);
  family(out, "turnd_relay_ports_capacity", "gauge", "Size of the relay port range.");
  out += fmt::format("turnd_relay_ports_capacity {}\n", g.relay_ports_capacity);
  family(out, "turnd_config_reloads_total", "counter",
         "Configuration reloads (SIGHUP): applied, or refused for an error in the file.");
  out += fmt::format("turnd_config_reloads_total{{result=\"applied\"}} {}\n", g.reloads_applied);
  out += fmt::format("turnd_config_reloads_total{{result=\"refused\"}} {}\n", g.reloads_refused);
  family(out, "turnd_draining", "gauge",
         "1 while draining after SIGTERM: new allocations refused, existing ones go on.");
  out += fmt::format("turnd_draining {}\n", g.draining ? 1 : 0);
  if (g.redis_up >= 0) {
    family(out, "turnd_redis_up", "gauge", "1 when the Redis credential store is reachable.");
    out += fmt::format("turnd_redis_up {}\n", g.redis_up);
  }
  if (g.web) render_web_metrics(out, *g.web);
  return out;
}

}  // namespace turnd::server
