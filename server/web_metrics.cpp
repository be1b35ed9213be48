#include "server/web_metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>

#include "server/web_assets.hpp"

namespace turnd::server {

namespace {

constexpr std::string_view kPathLabels[kWebPaths] = {"page", "file", "credentials", "ws", "other"};
constexpr std::string_view kRefusalLabels[kWebRefusals] = {
    "per_source",       "total",          "request_rate", "credential_rate",
    "oversize_request", "bad_request",    "timeout",      "bad_origin",
    "signal_sockets",   "too_many_rooms", "room_full",    "oversize_message",
    "bad_message",      "message_rate",   "slow_reader"};

std::size_t status_index(unsigned status) noexcept {
  const auto* it = std::find(std::begin(kWebStatuses), std::end(kWebStatuses), status);
  return static_cast<std::size_t>(it - std::begin(kWebStatuses));  // the last one: other
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

WebPath web_path_of(std::string_view target) noexcept {
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/" || path == "/call" || path == "/ice") return WebPath::Page;
  if (path == "/credentials") return WebPath::Credentials;
  if (path == "/ws") return WebPath::WebSocket;
  for (const auto& a : web_assets())
    if (a.path == path)
      return a.content_type.starts_with("text/html") ? WebPath::Page : WebPath::File;
  return WebPath::Other;
}

void WebCounters::request(std::string_view target, unsigned status) noexcept {
  ++requests[static_cast<std::size_t>(web_path_of(target))][status_index(status)];
}

void render_web_metrics(std::string& out, const WebCounters& c) {
  family(out, "turnd_web_requests_total", "counter",
         "Web listener answers by path (page, file, credentials, ws, other: any other target) "
         "and status (101: a /ws upgrade accepted; other: any status not listed). A series "
         "appears with its first request.");
  for (std::size_t p = 0; p < kWebPaths; ++p)
    for (std::size_t s = 0; s < kWebStatusLabels; ++s)
      if (const auto n = c.requests[p][s].get(); n != 0)
        out += fmt::format(
            "turnd_web_requests_total{{path=\"{}\",status=\"{}\"}} {}\n", kPathLabels[p],
            s < std::size(kWebStatuses) ? fmt::to_string(kWebStatuses[s]) : std::string("other"),
            n);
  family(out, "turnd_web_refused_total", "counter",
         "Web listener connections, requests and WebSocket messages refused, by reason.");
  for (std::size_t r = 0; r < kWebRefusals; ++r)
    out += fmt::format("turnd_web_refused_total{{reason=\"{}\"}} {}\n", kRefusalLabels[r],
                       c.refused[r].get());
  family(out, "turnd_web_credentials_minted_total", "counter",
         "TURN REST credentials minted by /credentials.");
  out += fmt::format("turnd_web_credentials_minted_total {}\n", c.credentials_minted.get());
  const auto gauge = [&](std::string_view name, std::string_view help,
                         const std::atomic<std::int64_t>& v) {
    family(out, name, "gauge", help);
    out += fmt::format("{} {}\n", name, v.load(std::memory_order_relaxed));
  };
  gauge("turnd_web_connections", "Open web listener connections (WebSockets included).",
        c.connections);
  gauge("turnd_web_websockets", "Open /ws signalling sockets.", c.websockets);
  gauge("turnd_web_rooms", "Signalling rooms in use (one or two peers in each).", c.rooms);
}

}  // namespace turnd::server
