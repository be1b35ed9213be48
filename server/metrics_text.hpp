// Prometheus text exposition of the shards' counters and the shared gauges.
#pragma once

#include <span>
#include <string>

#include "server/metrics.hpp"
#include "server/services.hpp"
#include "server/web_metrics.hpp"

namespace turnd::server {

struct ProcessGauges {
  std::size_t relay_ports_in_use = 0;
  std::size_t relay_ports_capacity = 0;
  int redis_up = -1;  // -1: no Redis configured
  unsigned shards = 0;
  unsigned tcp_connections = 0;
  std::uint64_t reloads_applied = 0;  // SIGHUP reloads, by outcome
  std::uint64_t reloads_refused = 0;
  bool draining = false;
  std::int64_t tls_certificate_expiry = 0;  // Unix time; 0 = no TLS
  std::uint64_t tls_reloads_applied = 0, tls_reloads_failed = 0;
  const WebCounters* web = nullptr;  // the web listener's, when it is on
};

std::string render_metrics(std::span<const ShardCounters* const> shards, const ProcessGauges& g);

}  // namespace turnd::server
