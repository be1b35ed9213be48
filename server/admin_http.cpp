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
#include "server/io/socket_address.hpp"

namespace turnd::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

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

bool key_matches(std::string_view given, const std::string& expected) {
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

}  // namespace

std::vector<std::string> default_turn_uris(const config::Config& config) {
  std::vector<std::string> uris;
  for (const auto& l : config.listen) {
    protocol::IpAddress host = l.ip;
    for (const auto& e : config.external_ips)
      if (e.public_ip.family == l.ip.family &&
          (!e.private_ip || *e.private_ip == l.ip || l.ip.is_unspecified()))
        host = e.public_ip;
    if (host.is_unspecified()) continue;
    const std::string h = host.is_v4() ? host.to_string() : "[" + host.to_string() + "]";
    const std::string base = "turn:" + h + ":" + std::to_string(l.port);
    uris.push_back(base + "?transport=udp");
    uris.push_back(base + "?transport=tcp");
  }
  return uris;
}

AdminHttp::AdminHttp(asio::io_context& io, const config::Config& config, AdminHooks hooks)
    : acceptor_(io), config_(config), hooks_(std::move(hooks)) {
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

asio::awaitable<void> AdminHttp::serve(tcp::socket socket) {
  beast::tcp_stream stream{std::move(socket)};
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  for (int served = 0; served < 100; ++served) {  // bounded keep-alive
    stream.expires_after(std::chrono::seconds(10));
    http::request_parser<http::string_body> parser;
    parser.body_limit(8192);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    const Request& req = parser.get();
    Response res;
    auto target = boost::urls::parse_origin_form(req.target());
    const std::string path = target ? std::string(target->path()) : std::string{};
    if (req.method() != http::verb::get) {
      res = text(http::status::method_not_allowed, "only GET\n", req);
    } else if (path == "/healthz") {
      res = text(http::status::ok, "ok\n", req);
    } else if (path == "/readyz") {
      const bool ready = hooks_.ready && hooks_.ready();
      res = text(ready ? http::status::ok : http::status::service_unavailable,
                 ready ? "ready\n" : "not ready\n", req);
    } else if (path == "/metrics") {
      res = text(http::status::ok, hooks_.metrics ? hooks_.metrics() : "", req,
                 "text/plain; version=0.0.4; charset=utf-8");
    } else if (path == "/api/v1/turn-credentials" && config_.admin_api_key) {
      auto params = target->params();
      std::string key, username, service;
      for (auto p : params) {
        if (p.key == "key") key = p.value;
        if (p.key == "username") username = p.value;
        if (p.key == "service") service = p.value;
      }
      if (auto auth = req[http::field::authorization]; auth.starts_with("Bearer "))
        key = std::string(auth.substr(7));
      const auto creds = hooks_.credentials ? hooks_.credentials() : nullptr;
      if (!key_matches(key, *config_.admin_api_key)) {
        res = text(http::status::unauthorized, "{\"error\":\"missing or wrong API key\"}\n", req,
                   "application/json");
      } else if (username.empty() || username.size() > 256 ||
                 (!service.empty() && service != "turn")) {
        res = text(http::status::bad_request,
                   "{\"error\":\"need service=turn and username=NAME (at most 256 bytes)\"}\n", req,
                   "application/json");
      } else if (!creds || creds->secrets.empty()) {
        res =
            text(http::status::service_unavailable,
                 "{\"error\":\"no active secret: run 'turnctl secret add' or set auth.secrets\"}\n",
                 req, "application/json");
      } else {
        // The same minting code as `turnctl mint`, which is the code that verifies.
        const auto minted = auth::mint_rest(
            username, config_.credential_ttl, creds->secrets.front(), config_.rest_separator,
            std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()),
            config_.credential_uris.empty() ? default_turn_uris(config_) : config_.credential_uris);
        boost::json::object body;
        body["username"] = minted.username;
        body["password"] = minted.password;
        body["ttl"] = minted.ttl.count();
        boost::json::array uris;
        for (const auto& u : minted.uris) uris.emplace_back(u);
        body["uris"] = std::move(uris);
        res = text(http::status::ok, boost::json::serialize(body) + "\n", req, "application/json");
      }
    } else {
      res = text(http::status::not_found, "not found\n", req);
    }
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace turnd::server
