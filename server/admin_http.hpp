// The admin listener (loopback by default): Prometheus /metrics, /healthz, /readyz, and behind
// admin.api_key the TURN REST API credential endpoint (draft-uberti-behave-turn-rest §2.1) and
// the sessions API (GET /api/v1/allocations lists, DELETE /api/v1/allocations?user=NAME
// closes), on the control thread. Shards are read through their relaxed counters, and asked
// for their allocations through the hooks (which wait for them, bounded).
//
// Request handling is a pure function of (request, config, hooks, now) -> response:
// `handle_admin_request`, one small function per route. `AdminHttp::serve` only reads and
// writes. tests/fuzz/fuzz_admin_http.cpp drives the function with raw request bytes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/array.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "auth/credential_store.hpp"
#include "config/config.hpp"

namespace turnd::server {

struct AdminHooks {
  std::function<std::string()> metrics;               // Prometheus text exposition
  std::function<bool()> ready;                        // listeners up, not draining
  std::function<auth::CredentialsPtr()> credentials;  // current snapshot (newest secret first)
  /// Every allocation of every shard (allocation_json.hpp); nullopt when a shard did not
  /// answer in time.
  std::function<std::optional<boost::json::array>()> allocations;
  /// Closes every allocation of a user id or exact USERNAME (an operator's kick); how many,
  /// or nullopt when a shard did not answer in time.
  std::function<std::optional<std::size_t>(const std::string& user)> close_user;
};

using AdminRequest = boost::beast::http::request<boost::beast::http::string_body>;
using AdminResponse = boost::beast::http::response<boost::beast::http::string_body>;

/// Request bodies larger than this are refused by the parser (GET and DELETE need none).
inline constexpr std::size_t kAdminBodyLimit = 8192;
/// Request lines and headers larger than this are refused by the parser (Beast's default).
inline constexpr std::uint32_t kAdminHeaderLimit = 8192;

using AdminParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
/// Sets the limits above on `parser`: what AdminHttp::serve reads each request with (and the
/// fuzz target, so both parse alike).
void limit_admin_parser(AdminParser& parser);
/// Longest user name the credential endpoint mints for (bytes).
inline constexpr std::size_t kMaxCredentialUser = 256;

/// The answer to one request: 200, 400, 401, 404, 405 (with Allow) or 503, never a throw for
/// any input. JSON bodies (content type application/json) always parse. `now` stamps minted
/// credentials; their "uris" are admin.credential_uris, else config::advertised_turn_uris (as
/// `turnctl mint`). Without admin.api_key the /api/v1/ routes are 404. GET /api/v1/allocations
/// answers {"allocations": [allocation_json.hpp objects], "count": N}, all of them (no cap);
/// DELETE /api/v1/allocations?user=NAME answers {"user": NAME, "closed": N}.
AdminResponse handle_admin_request(const AdminRequest& req, const config::Config& config,
                                   const AdminHooks& hooks,
                                   std::chrono::system_clock::time_point now);

/// Why `user` cannot be put in a credential or named in a kick (empty, longer than
/// kMaxCredentialUser, not UTF-8, or with a control character: C0, DEL, C1), or "" when it can.
std::string_view check_credential_user(std::string_view user) noexcept;

class AdminHttp {
 public:
  /// Binds the listener now (a bad address fails start-up); throws std::system_error.
  AdminHttp(boost::asio::io_context& io, const config::Config& config, AdminHooks hooks);
  void start();
  void stop();
  /// A reload's config (admin key, credential TTL and URIs) for the requests that follow; on
  /// the control thread, which also serves the requests, so none is half-way through. The
  /// caller keeps `config` alive until the next set_config.
  void set_config(const config::Config& config) noexcept { config_ = &config; }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  const config::Config* config_;  // the running config: start-up, then each reload's
  AdminHooks hooks_;
};

}  // namespace turnd::server
