#include "server/metrics_text.hpp"

#include <spdlog/fmt/fmt.h>

#include "protocol/version.hpp"

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
      {"turnd_challenges_rate_limited_total", "Challenges not sent: the source exceeded its rate.",
       &ShardCounters::challenges_limited},
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
  };
  for (const auto& row : kCounters) {
    family(out, row.name, "counter", row.help);
    out += fmt::format("{} {}\n", row.name,
                       sum(shards, [&](const ShardCounters& s) { return (s.*row.field).get(); }));
  }
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
  family(out, "turnd_allocations", "gauge", "Live allocations.");
  std::int64_t live = 0;
  for (const auto* s : shards) live += s->allocations.load(std::memory_order_relaxed);
  out += fmt::format("turnd_allocations {}\n", live);
  family(out, "turnd_relay_ports_in_use", "gauge", "Relay ports taken or reserved.");
  out += fmt::format("turnd_relay_ports_in_use {}\n", g.relay_ports_in_use);
  family(out, "turnd_relay_ports_capacity", "gauge", "Size of the relay port range.");
  out += fmt::format("turnd_relay_ports_capacity {}\n", g.relay_ports_capacity);
  if (g.redis_up >= 0) {
    family(out, "turnd_redis_up", "gauge", "1 when the Redis credential store is reachable.");
    out += fmt::format("turnd_redis_up {}\n", g.redis_up);
  }
  return out;
}

}  // namespace turnd::server
