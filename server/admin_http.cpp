#include "server/admin_http.hpp"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "auth/mint.hpp"
#include "config/advertised_uris.hpp"
#include "server/io/socket_address.hpp"

namespace turnd::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using Request = AdminRequest;
using Response = AdminResponse;

constexpr std::string_view kJson = "application/json";

Response text(http::status status, std::string body, const Request& req,
              std::string_view type = "text/plain; charset=utf-8") {
  Response r{status, req.version()};
  r.set(http::field::content_type, type);
  r.set(http::field::cache_control, "no-store");
  r.keep_alive(req.keep_alive());
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

Response json_error(http::status status, std::string_view message, const Request& req) {
  boost::json::object body;
  body["error"] = message;
  return text(status, boost::json::serialize(body) + "\n", req, kJson);
}

bool key_matches(std::string_view given, const std::string& expected) {
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

// The code point of the UTF-8 sequence at s[i] (advancing i), or -1 when it is not valid
// UTF-8 (truncated, overlong, surrogate, above U+10FFFF).
long next_code_point(std::string_view s, std::size_t& i) noexcept {
  const auto b0 = static_cast<unsigned char>(s[i++]);
  if (b0 < 0x80) return b0;
  int extra = 0;
  long cp = 0, min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    extra = 1, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i++]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  return cp;
}

// The admin API key a request presents: "Authorization: Bearer KEY", else ?key=KEY
// (percent-decoded).
std::string presented_key(const boost::urls::url_view& target, const Request& req) {
  if (auto auth = req[http::field::authorization]; auth.starts_with("Bearer "))
    return std::string(auth.substr(7));
  std::string key;
  for (auto p : target.params())
    if (p.key == "key") key = p.value;
  return key;
}

bool authorized(const boost::urls::url_view& target, const Request& req,
                const config::Config& config) {
  return config.admin_api_key && key_matches(presented_key(target, req), *config.admin_api_key);
}

// The query parameters the credential endpoint reads (percent-decoded).
struct CredentialQuery {
  std::string username, service;
};

CredentialQuery read_credential_query(const boost::urls::url_view& target) {
  CredentialQuery q;
  for (auto p : target.params()) {
    if (p.key == "username") q.username = p.value;
    if (p.key == "service") q.service = p.value;
  }
  return q;
}

Response minted_response(const auth::MintedCredential& minted, const Request& req) {
  boost::json::object body;
  body["username"] = minted.username;
  body["password"] = minted.password;
  body["ttl"] = minted.ttl.count();
  boost::json::array uris;
  for (const auto& u : minted.uris) uris.emplace_back(u);
  body["uris"] = std::move(uris);
  return text(http::status::ok, boost::json::serialize(body) + "\n", req, kJson);
}

// GET /healthz: the process answers.
Response route_healthz(const Request& req) { return text(http::status::ok, "ok\n", req); }

// GET /readyz: listeners up and not draining.
Response route_readyz(const Request& req, const AdminHooks& hooks) {
  const bool ready = hooks.ready && hooks.ready();
  return text(ready ? http::status::ok : http::status::service_unavailable,
              ready ? "ready\n" : "not ready\n", req);
}

// GET /metrics: Prometheus text exposition.
Response route_metrics(const Request& req, const AdminHooks& hooks) {
  return text(http::status::ok, hooks.metrics ? hooks.metrics() : "", req,
              "text/plain; version=0.0.4; charset=utf-8");
}

// GET /api/v1/turn-credentials?service=turn&username=NAME (TURN REST API draft §2.1).
Response route_credentials(const Request& req, const boost::urls::url_view& target,
                           const config::Config& config, const AdminHooks& hooks,
                           std::chrono::system_clock::time_point now) {
  if (!authorized(target, req, config))
    return json_error(http::status::unauthorized, "missing or wrong API key", req);
  const CredentialQuery q = read_credential_query(target);
  if (!q.service.empty() && q.service != "turn")
    return json_error(http::status::bad_request, "service must be turn", req);
  if (const auto bad = check_credential_user(q.username); !bad.empty())
    return json_error(http::status::bad_request, bad, req);
  const auto creds = hooks.credentials ? hooks.credentials() : nullptr;
  if (!creds || creds->secrets.empty())
    return json_error(http::status::service_unavailable,
                      "no active secret: run 'turnctl secret add' or set auth.secrets", req);
  // The same minting code as `turnctl mint`, which is the code that verifies.
  return minted_response(
      auth::mint_rest(q.username, config.credential_ttl, creds->secrets.front(),
                      config.rest_separator,
                      std::chrono::time_point_cast<std::chrono::seconds>(now),
                      config.credential_uris.empty() ? config::advertised_turn_uris(config)
                                                     : config.credential_uris),
      req);
}

constexpr std::string_view kAllocationsPath = "/api/v1/allocations";

// GET /api/v1/allocations: every live allocation of every shard, uncapped: about 350 bytes of
// JSON each plus about 100 per permission or channel (10,000 allocations at the default limit of
// 64 of each make 70 MB, tested in tests/unit/server/admin_sessions_test.cpp); kRequestDeadline
// bounds a slow reader. Only a holder of the API key can ask.
Response route_list_allocations(const Request& req, const boost::urls::url_view& target,
                                const config::Config& config, const AdminHooks& hooks) {
  if (!authorized(target, req, config))
    return json_error(http::status::unauthorized, "missing or wrong API key", req);
  auto list = hooks.allocations ? hooks.allocations() : std::nullopt;
  if (!list)
    return json_error(http::status::service_unavailable, "a shard did not answer, try again", req);
  boost::json::object body;
  body["count"] = list->size();
  body["allocations"] = std::move(*list);
  return text(http::status::ok, boost::json::serialize(body) + "\n", req, kJson);
}

// DELETE /api/v1/allocations?user=NAME: closes the allocations whose USERNAME is NAME or whose
// REST user id is NAME (an operator's kick). One user per request: a second user= is a 400
// rather than a guess at which one was meant.
Response route_close_user(const Request& req, const boost::urls::url_view& target,
                          const config::Config& config, const AdminHooks& hooks) {
  if (!authorized(target, req, config))
    return json_error(http::status::unauthorized, "missing or wrong API key", req);
  std::optional<std::string> user;
  for (auto p : target.params()) {
    if (p.key != "user") continue;
    if (user) return json_error(http::status::bad_request, "give user=NAME once", req);
    user = p.value;
  }
  if (!user || user->empty() || user->size() > kMaxCredentialUser)
    return json_error(http::status::bad_request, "need user=NAME (1-256 bytes)", req);
  if (const auto bad = check_credential_user(*user); !bad.empty())
    return json_error(http::status::bad_request, bad, req);
  const auto closed = hooks.close_user ? hooks.close_user(*user) : std::nullopt;
  if (!closed)
    return json_error(http::status::service_unavailable,
                      "a shard did not answer, try again (some allocations may be closed)", req);
  boost::json::object body;
  body["user"] = *user;
  body["closed"] = *closed;
  return text(http::status::ok, boost::json::serialize(body) + "\n", req, kJson);
}

// 405 with the methods the path allows (RFC 9110 §15.5.6).
Response method_not_allowed(const Request& req, bool allows_delete) {
  Response r = text(http::status::method_not_allowed,
                    allows_delete ? "only GET and DELETE\n" : "only GET\n", req);
  r.set(http::field::allow, allows_delete ? "GET, DELETE" : "GET");
  return r;
}

constexpr int kMaxRequestsPerConnection = 100;        // bounded keep-alive
constexpr std::chrono::seconds kRequestDeadline{10};  // to read one request and write its answer

// Read: the next request of the connection, parsed with the admin limits. nullopt when the
// client closed, missed the deadline, or sent what the parser refuses (too large, not HTTP).
asio::awaitable<std::optional<Request>> read_request(beast::tcp_stream& stream,
                                                     beast::flat_buffer& buffer) {
  stream.expires_after(kRequestDeadline);
  AdminParser parser;
  limit_admin_parser(parser);
  boost::system::error_code ec;
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return std::nullopt;
  co_return parser.release();
}

// Write: true when the connection stays open for another request.
asio::awaitable<bool> write_response(beast::tcp_stream& stream, const Response& res) {
  boost::system::error_code ec;
  co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec && res.keep_alive();
}

// Close: both directions; a client already gone is no error.
void close_connection(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace

std::string_view check_credential_user(std::string_view user) noexcept {
  if (user.empty() || user.size() > kMaxCredentialUser)
    return "need service=turn and username=NAME (1-256 bytes)";
  for (std::size_t i = 0; i < user.size();) {
    const long cp = next_code_point(user, i);
    if (cp < 0) return "username must be UTF-8";
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
      return "username must not contain control characters";
  }
  return {};
}

void limit_admin_parser(AdminParser& parser) {
  parser.body_limit(kAdminBodyLimit);
  parser.header_limit(kAdminHeaderLimit);
}

AdminResponse handle_admin_request(const AdminRequest& req, const config::Config& config,
                                   const AdminHooks& hooks,
                                   std::chrono::system_clock::time_point now) {
  auto target = boost::urls::parse_origin_form(req.target());
  // The API routes exist only with an admin.api_key.
  const bool sessions = target && config.admin_api_key && target->path() == kAllocationsPath;
  if (sessions && req.method() == http::verb::delete_)
    return route_close_user(req, *target, config, hooks);
  if (req.method() != http::verb::get) return method_not_allowed(req, sessions);
  if (!target) return text(http::status::not_found, "not found\n", req);
  const auto path = target->path();
  if (path == "/healthz") return route_healthz(req);
  if (path == "/readyz") return route_readyz(req, hooks);
  if (path == "/metrics") return route_metrics(req, hooks);
  if (sessions) return route_list_allocations(req, *target, config, hooks);
  if (path == "/api/v1/turn-credentials" && config.admin_api_key)
    return route_credentials(req, *target, config, hooks, now);
  return text(http::status::not_found, "not found\n", req);
}

AdminHttp::AdminHttp(asio::io_context& io, const config::Config& config, AdminHooks hooks)
    : acceptor_(io), config_(&config), hooks_(std::move(hooks)) {
  sockaddr_storage ss;
  const socklen_t len = io::to_sockaddr(*config.admin_listen, ss);
  tcp::endpoint ep;
  std::memcpy(ep.data(), &ss, len);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  boost::system::error_code ec;
  acceptor_.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot bind admin HTTP " + config.admin_listen->to_string());
  acceptor_.listen(64);
}

void AdminHttp::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void AdminHttp::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> AdminHttp::accept_loop() {
  boost::system::error_code ec;
  while (acceptor_.is_open()) {
    tcp::socket s = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open()) break;
      continue;
    }
    asio::co_spawn(acceptor_.get_executor(), serve(std::move(s)), asio::detached);
  }
}

// One connection: read a request, answer it, write the answer, at most
// kMaxRequestsPerConnection times while the client keeps the connection alive; then close.
asio::awaitable<void> AdminHttp::serve(tcp::socket socket) {
  beast::tcp_stream stream{std::move(socket)};
  beast::flat_buffer buffer;  // bytes read past one request start the next
  for (int served = 0; served < kMaxRequestsPerConnection; ++served) {
    auto req = co_await read_request(stream, buffer);
    if (!req) break;
    const Response res =
        handle_admin_request(*req, *config_, hooks_, std::chrono::system_clock::now());
    if (!co_await write_response(stream, res)) break;
  }
  close_connection(stream);
}

}  // namespace turnd::server
