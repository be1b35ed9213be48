// What the web listener counts for /metrics: requests by path class and status, refusals by
// reason, credentials minted, and the connections, WebSockets and rooms open now. Written by
// WebHttp on the control thread, read by a scrape: io::Counter (single writer, relaxed) and
// relaxed atomic gauges, no lock. Every label takes one of a fixed set of values, whatever the
// requests say: a client cannot add series (unknown paths and statuses fold into "other").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/io/counters.hpp"

namespace turnd::server {

/// The path label: the HTML pages (/, /call, /ice and their .html names), the other embedded
/// files (scripts, style), /credentials, /ws, and every other target.
enum class WebPath : std::uint8_t { Page, File, Credentials, WebSocket, Other };
inline constexpr std::size_t kWebPaths = 5;
/// The status label: 101 (a /ws upgrade accepted), the statuses the listener answers, other.
inline constexpr unsigned kWebStatuses[] = {101, 200, 400, 403, 404, 405, 426, 429, 503};
inline constexpr std::size_t kWebStatusLabels = std::size(kWebStatuses) + 1;

/// Why the listener refused a connection, a request or a WebSocket message.
enum class WebRefusal : std::uint8_t {
  PerSource,        // connections from one address (IPv6 /64) over the limit
  Total,            // connections in total over the limit
  RequestRate,      // requests from one address over its rate (429)
  CredentialRate,   // /credentials from one address over its rate (429)
  OversizeRequest,  // request line and headers over 8 KiB, or a body over 1 KiB
  BadRequest,       // not HTTP
  RequestTimeout,   // TLS handshake or request not complete within the deadline
  BadOrigin,        // /ws from another site's page (403)
  SignalSockets,    // /ws sockets in total over the limit (503)
  TooManyRooms,     // a new room past the limit of rooms
  RoomFull,         // a third peer in a room
  OversizeMessage,  // a signalling message over 16 KiB
  BadMessage,       // a signalling message that is not a JSON object of a known type
  MessageRate,      // signalling messages over the socket's rate
  SlowReader,       // a WebSocket that let too much pile up unread
};
inline constexpr std::size_t kWebRefusals = 15;
static_assert(static_cast<std::size_t>(WebRefusal::SlowReader) + 1 == kWebRefusals);

/// The path label of a request target (origin-form, matched undecoded like the handler).
WebPath web_path_of(std::string_view target) noexcept;

struct WebCounters {
  io::Counter requests[kWebPaths][kWebStatusLabels];
  io::Counter refused[kWebRefusals];
  io::Counter credentials_minted;
  std::atomic<std::int64_t> connections{0}, websockets{0}, rooms{0};

  /// One answer (`status` 101 for an accepted upgrade).
  void request(std::string_view target, unsigned status) noexcept;
  void refuse(WebRefusal why) noexcept { ++refused[static_cast<std::size_t>(why)]; }
  static void set(std::atomic<std::int64_t>& gauge, std::int64_t value) noexcept {
    gauge.store(value, std::memory_order_relaxed);
  }
};

/// The turnd_web_* families (Prometheus text), appended to `out`.
void render_web_metrics(std::string& out, const WebCounters& c);

}  // namespace turnd::server
