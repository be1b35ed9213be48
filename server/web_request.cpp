#include "server/web_request.hpp"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "auth/mint.hpp"
#include "config/advertised_uris.hpp"
#include "server/web_assets.hpp"
#include "server/web_rooms.hpp"

namespace turnd::server {

namespace http = boost::beast::http;

namespace {

using Request = WebRequest;
using Response = WebResponse;

// No inline script or style, nothing from elsewhere; the WebSocket is same-origin (ws: on
// loopback HTTP, wss: behind HTTPS).
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' wss:; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

Response make(http::status status, const Request& req, std::string_view type, std::string body,
              std::string_view cache = "no-store") {
  Response r{status, req.version()};
  r.set(http::field::content_type, type);
  r.set(http::field::cache_control, cache);
  r.set("Content-Security-Policy", kCsp);
  r.set("X-Content-Type-Options", "nosniff");
  r.set("Referrer-Policy", "no-referrer");
  r.set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), usb=()");
  r.set("X-Frame-Options", "DENY");
  r.keep_alive(req.keep_alive());
  const std::size_t size = body.size();
  if (req.method() != http::verb::head) r.body() = std::move(body);
  r.content_length(size);  // HEAD: the length GET would send, and no body
  return r;
}

Response text(http::status status, const Request& req, std::string body) {
  return make(status, req, "text/plain; charset=utf-8", std::move(body));
}

Response json_error(http::status status, const Request& req, std::string_view message) {
  return web_error(status, req, message);
}

// A browser names the page that opens a WebSocket in Origin; only our own pages may use /ws
// (another site's page would otherwise signal through it with its visitors' browsers).
bool same_origin(const Request& req) {
  const auto origin = req[http::field::origin];
  if (origin.empty()) return true;  // not a browser
  const auto host = req[http::field::host];
  const auto scheme_end = origin.find("://");
  return scheme_end != std::string_view::npos && !host.empty() &&
         origin.substr(scheme_end + 3) == host;
}

Response not_allowed(const Request& req, std::string_view allow) {
  Response r = text(http::status::method_not_allowed, req, "only " + std::string(allow) + "\n");
  r.set(http::field::allow, allow);
  return r;
}

const WebAsset* find_asset(std::string_view path) noexcept {
  // Short names for the pages; every file also at its own name.
  if (path == "/") path = "/index.html";
  if (path == "/call") path = "/call.html";
  if (path == "/ice") path = "/ice.html";
  for (const auto& a : web_assets())
    if (a.path == path) return &a;
  return nullptr;
}

boost::json::array to_json(const std::vector<std::string>& list) {
  boost::json::array a;
  for (const auto& s : list) a.emplace_back(s);
  return a;
}

// GET /credentials: {"iceServers": [{"urls": [stun:...]}, {"urls": [turn:..., turns:...],
// "username", "credential"}], "ttl": 300}, minted by the code behind `turnctl mint`.
Response route_credentials(const Request& req, const config::Config& config, const WebHooks& hooks,
                           std::chrono::system_clock::time_point now) {
  if (req.method() != http::verb::get) return not_allowed(req, "GET");
  const auto creds = hooks.credentials ? hooks.credentials() : nullptr;
  if (!creds || creds->secrets.empty())
    return json_error(http::status::service_unavailable, req,
                      "this server has no REST secret (auth.secrets, auth.secret_file or turnctl "
                      "secret add), so the pages cannot get credentials");
  if (hooks.take_credential && !hooks.take_credential())
    return json_error(http::status::too_many_requests, req,
                      "too many credential requests from this address, try again in a minute");
  const auto uris = config.credential_uris.empty() ? config::advertised_turn_uris(config)
                                                   : config.credential_uris;
  std::vector<std::string> turn;
  for (const auto& u : uris)
    if (!u.starts_with("stun:")) turn.push_back(u);
  const auto minted = auth::mint_rest(
      kWebCredentialUser, kWebCredentialTtl, creds->secrets.front(), config.rest_separator,
      std::chrono::time_point_cast<std::chrono::seconds>(now), turn);
  boost::json::array servers;
  if (auto stun = stun_uris_of(uris); !stun.empty())
    servers.push_back(boost::json::object{{"urls", to_json(stun)}});
  servers.push_back(boost::json::object{{"urls", to_json(minted.uris)},
                                        {"username", minted.username},
                                        {"credential", minted.password}});
  boost::json::object body;
  body["iceServers"] = std::move(servers);
  body["ttl"] = minted.ttl.count();
  return make(http::status::ok, req, "application/json", boost::json::serialize(body) + "\n");
}

// GET /ws?room=NAME with a WebSocket upgrade.
WebAnswer route_websocket(const Request& req, const boost::urls::url_view& target) {
  if (req.method() != http::verb::get) return {not_allowed(req, "GET"), {}};
  if (!boost::beast::websocket::is_upgrade(req))
    return {text(http::status::upgrade_required, req, "/ws is a WebSocket\n"), {}};
  if (!same_origin(req))
    return {json_error(http::status::forbidden, req, "Origin is not this server"), {}};
  std::string room;
  int rooms = 0;
  for (auto p : target.params())
    if (p.key == "room") room = p.value, ++rooms;
  if (rooms != 1) return {json_error(http::status::bad_request, req, "give room=NAME once"), {}};
  if (const auto bad = check_room_name(room); !bad.empty())
    return {json_error(http::status::bad_request, req, bad), {}};
  return {Response{}, std::move(room)};
}

}  // namespace

WebResponse web_error(http::status status, const WebRequest& req, std::string_view message) {
  boost::json::object body;
  body["error"] = message;
  return make(status, req, "application/json", boost::json::serialize(body) + "\n");
}

std::vector<std::string> stun_uris_of(const std::vector<std::string>& uris) {
  std::vector<std::string> stun;
  for (const auto& u : uris)
    if (u.starts_with("stun:")) stun.push_back(u);
  if (!stun.empty()) return stun;
  constexpr std::string_view kUdp = "?transport=udp";
  for (const auto& u : uris)
    if (u.starts_with("turn:") && u.ends_with(kUdp))
      stun.push_back("stun:" + u.substr(5, u.size() - 5 - kUdp.size()));
  return stun;
}

void limit_web_parser(WebParser& parser) {
  parser.header_limit(kWebHeaderLimit);
  parser.body_limit(kWebBodyLimit);
}

WebAnswer handle_web_request(const WebRequest& req, const config::Config& config,
                             const WebHooks& hooks, std::chrono::system_clock::time_point now) {
  const auto target = boost::urls::parse_origin_form(req.target());
  if (!target) return {text(http::status::bad_request, req, "bad request target\n"), {}};
  if (!config.web_demo)
    return {text(http::status::not_found, req, "not found (the pages are off: web.demo false)\n"),
            {}};
  // Matched undecoded: "/%2e%2e/x" or "/a/../call.js" are just unknown names.
  const std::string_view path = target->encoded_path();
  if (path == "/credentials") return {route_credentials(req, config, hooks, now), {}};
  if (path == "/ws") return route_websocket(req, *target);
  const WebAsset* asset = find_asset(path);
  if (!asset) return {text(http::status::not_found, req, "not found\n"), {}};
  if (req.method() != http::verb::get && req.method() != http::verb::head)
    return {not_allowed(req, "GET, HEAD"), {}};
  return {make(http::status::ok, req, asset->content_type, std::string(asset->body), "no-cache"),
          {}};
}

}  // namespace turnd::server
