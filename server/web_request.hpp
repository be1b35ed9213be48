// The web listener's answer to one HTTP request (the /call and /ice pages, their files,
// /credentials and the /ws upgrade), as a pure function of (request, config, hooks, now):
// `handle_web_request`, like handle_admin_request. WebHttp (server/web_http.hpp) only reads,
// writes and keeps the per-source budgets. Files come from the embedded table
// (server/web_assets.hpp) by exact path: there is no file system path to traverse.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "auth/credential_store.hpp"
#include "config/config.hpp"

namespace turnd::server {

using WebRequest = boost::beast::http::request<boost::beast::http::string_body>;
using WebResponse = boost::beast::http::response<boost::beast::http::string_body>;
using WebParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Request line and headers larger than this are refused by the parser.
inline constexpr std::uint32_t kWebHeaderLimit = 8192;
/// GET and HEAD carry no body; a larger one is refused by the parser.
inline constexpr std::size_t kWebBodyLimit = 1024;
/// Lifetime of the credentials /credentials mints: long enough to gather and connect, short
/// enough that one copied out of a page is of little use.
inline constexpr std::chrono::seconds kWebCredentialTtl{300};
/// The user id in those credentials ("<expiry>:web-demo"), to tell them apart in the logs.
inline constexpr std::string_view kWebCredentialUser = "web-demo";

/// Sets the limits above on `parser` (WebHttp and the tests parse alike).
void limit_web_parser(WebParser& parser);

struct WebHooks {
  std::function<auth::CredentialsPtr()> credentials;  // current snapshot, newest secret first
  /// Takes one of the requesting source's /credentials budget; false when it is spent.
  std::function<bool()> take_credential;
};

struct WebAnswer {
  WebResponse response;
  /// Set when the request is a valid WebSocket upgrade to /ws?room=NAME: WebHttp accepts it
  /// and joins the room (response is then unused).
  std::string websocket_room;
};

/// Every response carries Content-Security-Policy (no inline script, connect-src 'self' wss:),
/// X-Content-Type-Options nosniff, Referrer-Policy no-referrer, Permissions-Policy (camera and
/// microphone for self only) and X-Frame-Options DENY. Statuses: 200, 400 (bad target or
/// room), 404 (unknown path, or every path without web.demo), 405 with Allow (pages: GET,
/// HEAD; /credentials: GET), 403 (/ws from another origin), 426 (/ws without an upgrade), 429
/// (credential budget spent), 503 JSON (no REST secret). Never a throw for any input.
WebAnswer handle_web_request(const WebRequest& req, const config::Config& config,
                             const WebHooks& hooks, std::chrono::system_clock::time_point now);

/// A JSON {"error": message} answer with the headers of every answer (WebHttp's 429 and 503).
WebResponse web_error(boost::beast::http::status status, const WebRequest& req,
                      std::string_view message);

/// The "stun:" URIs of /credentials: the stun: ones of `uris`, else one per turn: UDP URI.
std::vector<std::string> stun_uris_of(const std::vector<std::string>& uris);

}  // namespace turnd::server
