// The web listener's answers (server/web_request.hpp) to raw request bytes parsed as WebHttp
// parses them, hostile ones included; the signalling rooms and message checks
// (server/web_rooms.hpp); the per-source budgets (server/web_rate.hpp); config's web.* checks.
#include "server/web_request.hpp"

#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <memory>
#include <string>

#include "auth/rest_credential.hpp"
#include "config/config_error.hpp"
#include "config/load.hpp"
#include "server/web_assets.hpp"
#include "server/web_rate.hpp"
#include "server/web_rooms.hpp"

namespace turnd::server {
namespace {

namespace http = boost::beast::http;
using namespace std::chrono_literals;

const std::chrono::system_clock::time_point kNow{std::chrono::seconds{1735689600}};
constexpr std::string_view kSecret = "web-test-secret";

config::Config demo_config(bool demo = true) {
  config::Config c;
  c.listen = {*protocol::TransportAddress::parse("127.0.0.1:3478")};
  c.web_listen = protocol::TransportAddress::parse("127.0.0.1:8080");
  c.web_demo = demo;
  return c;
}

struct WebEnv {
  config::Config config = demo_config();
  bool with_secret = true;
  int budget = 100;  // /credentials the source may still take
  int minted = 0;
};

// Parses `raw` with the web listener's limits; nullopt when the parser refuses it (the
// listener then closes the connection without an answer).
std::optional<WebRequest> parse(std::string_view raw) {
  WebParser parser;
  limit_web_parser(parser);
  boost::system::error_code ec;
  parser.eager(true);
  parser.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  if (ec || !parser.is_done()) return std::nullopt;
  return parser.release();
}

WebAnswer ask(std::string_view raw, WebEnv& s) {
  auto req = parse(raw);
  EXPECT_TRUE(req) << raw;
  if (!req) return {};
  auto creds = std::make_shared<auth::Credentials>();
  if (s.with_secret) creds->secrets = {std::string(kSecret)};
  WebHooks hooks{[creds] { return auth::CredentialsPtr(creds); },
                 [&s] { return s.budget-- > 0 && ++s.minted; }};
  return handle_web_request(*req, s.config, hooks, kNow);
}

WebAnswer get(std::string_view target, WebEnv& s, std::string_view extra = "") {
  return ask("GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n" +
                 std::string(extra) + "\r\n",
             s);
}

void expect_security_headers(const WebResponse& r) {
  const auto csp = std::string(r["Content-Security-Policy"]);
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self' wss:"), std::string::npos) << csp;
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(r["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(r["Permissions-Policy"].find("camera=(self), microphone=(self)"), 0u);
}

TEST(WebRequest, PagesAndFilesWithTheirTypes) {
  WebEnv s;
  const std::pair<std::string_view, std::string_view> cases[] = {{"/", "text/html"},
                                                                 {"/call", "text/html"},
                                                                 {"/call?room=abc", "text/html"},
                                                                 {"/ice", "text/html"},
                                                                 {"/call.js", "text/javascript"},
                                                                 {"/ice.js", "text/javascript"},
                                                                 {"/common.js", "text/javascript"},
                                                                 {"/web.css", "text/css"}};
  for (const auto& [target, type] : cases) {
    const auto a = get(target, s);
    EXPECT_EQ(a.response.result(), http::status::ok) << target;
    EXPECT_TRUE(a.response[http::field::content_type].starts_with(type)) << target;
    EXPECT_FALSE(a.response.body().empty()) << target;
    EXPECT_EQ(a.response[http::field::content_length], std::to_string(a.response.body().size()));
    EXPECT_TRUE(a.websocket_room.empty());
    expect_security_headers(a.response);
  }
}

TEST(WebRequest, NoInlineScriptOrStyleInThePages) {
  // The CSP forbids them: a page that had one would break silently in the browser.
  for (const auto& asset : web_assets()) {
    if (!asset.path.ends_with(".html")) continue;
    const std::string body(asset.body);
    for (std::size_t at = body.find("<script"); at != std::string::npos;
         at = body.find("<script", at + 1))
      EXPECT_NE(body.substr(at, 80).find("src=\"/"), std::string::npos) << asset.path;
    EXPECT_EQ(body.find("style=\""), std::string::npos) << asset.path;
    EXPECT_EQ(body.find("<style"), std::string::npos) << asset.path;
    EXPECT_EQ(body.find("onclick="), std::string::npos) << asset.path;
  }
}

TEST(WebRequest, HeadHasTheLengthAndNoBody) {
  WebEnv s;
  const auto a = ask("HEAD /call.js HTTP/1.1\r\nHost: x\r\n\r\n", s);
  EXPECT_EQ(a.response.result(), http::status::ok);
  EXPECT_TRUE(a.response.body().empty());
  EXPECT_NE(a.response[http::field::content_length], "0");
}

TEST(WebRequest, EverythingIs404WithoutDemo) {
  WebEnv s;
  s.config = demo_config(false);
  for (auto target : {"/", "/call", "/ice", "/call.js", "/credentials", "/ws?room=a"}) {
    const auto a = get(target, s, "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    EXPECT_EQ(a.response.result(), http::status::not_found) << target;
    EXPECT_TRUE(a.websocket_room.empty());
  }
  EXPECT_EQ(s.minted, 0);
}

TEST(WebRequest, TraversalAndOddPathsAreUnknownNames) {
  WebEnv s;
  for (auto target :
       {"/../call.js", "/a/../call.js", "/%2e%2e/call.js", "/%2E%2E/etc/passwd", "/call.js/",
        "//call.js", "/call.js%00", "/call.js%00.html", "/./call.js", "/CALL.JS", "/call%2ejs",
        "/web", "/server/web/call.js", "/.git/config", "/%2fetc%2fpasswd", "/index"}) {
    const auto a = get(target, s);
    EXPECT_EQ(a.response.result(), http::status::not_found) << target;
    expect_security_headers(a.response);
  }
}

TEST(WebRequest, BadTargetsAre400) {
  WebEnv s;
  for (auto target : {"*", "http://evil.example/call", "call.js", "/call?%zz"}) {
    const auto a = get(target, s);
    EXPECT_TRUE(a.response.result() == http::status::bad_request ||
                a.response.result() == http::status::not_found)
        << target << " " << a.response.result_int();
  }
}

TEST(WebRequest, ParserRefusesNulOversizeAndBodies) {
  EXPECT_FALSE(parse(std::string("GET /call\0.js HTTP/1.1\r\nHost: x\r\n\r\n", 35)));
  EXPECT_FALSE(parse("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(9000, 'b') + "\r\n\r\n"));
  EXPECT_FALSE(
      parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'c')));
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n"));
  EXPECT_FALSE(parse("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"));  // a TLS ClientHello
}

TEST(WebRequest, OnlyGetAndHeadForPages) {
  WebEnv s;
  for (auto method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"}) {
    const std::string raw = std::string(method) + " /call HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto a = ask(raw, s);
    EXPECT_EQ(a.response.result(), http::status::method_not_allowed) << method;
    EXPECT_EQ(a.response[http::field::allow], "GET, HEAD") << method;
  }
  const auto a = ask("POST /credentials HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", s);
  EXPECT_EQ(a.response.result(), http::status::method_not_allowed);
  EXPECT_EQ(a.response[http::field::allow], "GET");
  EXPECT_EQ(s.minted, 0);
}

TEST(WebRequest, CredentialsAreMintedFromTheNewestSecret) {
  WebEnv s;
  const auto a = get("/credentials", s);
  ASSERT_EQ(a.response.result(), http::status::ok) << a.response.body();
  EXPECT_EQ(a.response[http::field::cache_control], "no-store");
  const auto body = boost::json::parse(a.response.body()).as_object();
  EXPECT_EQ(body.at("ttl").as_int64(), 300);
  const auto& servers = body.at("iceServers").as_array();
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].at("urls").as_array().at(0).as_string(), "stun:127.0.0.1:3478");
  const auto& turn = servers[1].as_object();
  EXPECT_EQ(turn.at("urls").as_array().at(0).as_string(), "turn:127.0.0.1:3478?transport=udp");
  EXPECT_EQ(turn.at("urls").as_array().at(1).as_string(), "turn:127.0.0.1:3478?transport=tcp");
  const std::string user(turn.at("username").as_string());
  EXPECT_EQ(user, std::to_string(1735689600 + 300) + ":web-demo");
  EXPECT_EQ(turn.at("credential").as_string(), auth::rest_password(kSecret, user));
  EXPECT_EQ(a.response.body().find(kSecret), std::string::npos);
}

TEST(WebRequest, CredentialsWithoutASecretAre503AndBudgeted) {
  WebEnv s;
  s.with_secret = false;
  auto a = get("/credentials", s);
  EXPECT_EQ(a.response.result(), http::status::service_unavailable);
  EXPECT_NE(boost::json::parse(a.response.body()).at("error").as_string().find("no REST secret"),
            std::string::npos);
  s.with_secret = true;
  s.budget = 1;
  EXPECT_EQ(get("/credentials", s).response.result(), http::status::ok);
  a = get("/credentials", s);
  EXPECT_EQ(a.response.result(), http::status::too_many_requests);
  EXPECT_TRUE(boost::json::parse(a.response.body()).is_object());
}

constexpr std::string_view kUpgrade =
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

TEST(WebRequest, WebSocketUpgradeNamesTheRoom) {
  WebEnv s;
  auto a = get("/ws?room=Room_1-x", s, kUpgrade);
  EXPECT_EQ(a.websocket_room, "Room_1-x");
  a = get("/ws?room=abc", s, std::string(kUpgrade) + "Origin: http://127.0.0.1:8080\r\n");
  EXPECT_EQ(a.websocket_room, "abc");
  a = get("/ws?room=abc", s, std::string(kUpgrade) + "Origin: https://evil.example\r\n");
  EXPECT_EQ(a.response.result(), http::status::forbidden);
  EXPECT_TRUE(a.websocket_room.empty());
  a = get("/ws?room=abc", s);
  EXPECT_EQ(a.response.result(), http::status::upgrade_required);
  for (auto target : {"/ws", "/ws?room=", "/ws?room=a%2fb", "/ws?room=a.b", "/ws?room=%00",
                      "/ws?room=a&room=b", "/ws?room=%C3%A9"}) {
    a = get(target, s, kUpgrade);
    EXPECT_EQ(a.response.result(), http::status::bad_request) << target;
    EXPECT_TRUE(a.websocket_room.empty()) << target;
  }
  a = get("/ws?room=" + std::string(65, 'a'), s, kUpgrade);
  EXPECT_EQ(a.response.result(), http::status::bad_request);
}

TEST(WebRooms, TwoPeersPerRoom) {
  WebRooms rooms;
  int a, b, c;
  EXPECT_EQ(rooms.join("r", &a), WebRooms::Join::First);
  EXPECT_EQ(rooms.other("r", &a), nullptr);
  EXPECT_EQ(rooms.join("r", &b), WebRooms::Join::Second);
  EXPECT_EQ(rooms.other("r", &a), &b);
  EXPECT_EQ(rooms.other("r", &b), &a);
  EXPECT_EQ(rooms.join("r", &c), WebRooms::Join::Full);
  EXPECT_EQ(rooms.other("r", &c), nullptr);
  EXPECT_EQ(rooms.leave("r", &c), nullptr);  // F10: refused, so nobody is told it left
  EXPECT_EQ(rooms.other("r", &a), &b);
  EXPECT_EQ(rooms.leave("r", &a), &b);
  EXPECT_EQ(rooms.join("r", &c), WebRooms::Join::Second);
  EXPECT_EQ(rooms.other("r", &b), &c);
  EXPECT_EQ(rooms.leave("r", &b), &c);
  EXPECT_EQ(rooms.leave("r", &c), nullptr);
  EXPECT_EQ(rooms.rooms(), 0u);  // an empty room is gone
}

TEST(WebRooms, RoomCountIsCapped) {
  WebRooms rooms;
  int peer;
  for (std::size_t i = 0; i < kMaxRooms; ++i)
    EXPECT_EQ(rooms.join("r" + std::to_string(i), &peer), WebRooms::Join::First);
  EXPECT_EQ(rooms.join("one-more", &peer), WebRooms::Join::TooManyRooms);
  EXPECT_EQ(rooms.join("r0", &peer), WebRooms::Join::Second);  // joining an open one is fine
}

TEST(WebRooms, RoomNames) {
  EXPECT_EQ(check_room_name("abc-DEF_123"), "");
  EXPECT_EQ(check_room_name(std::string(64, 'x')), "");
  EXPECT_NE(check_room_name(""), "");
  EXPECT_NE(check_room_name(std::string(65, 'x')), "");
  using namespace std::string_view_literals;
  for (auto bad : {"a b"sv, "a/b"sv, ".."sv, "a.b"sv, "a\nb"sv, "a\0b"sv, "é"sv})
    EXPECT_NE(check_room_name(bad), "") << bad;
}

TEST(WebRooms, SignalMessages) {
  for (auto ok : {R"({"type":"offer","sdp":"v=0"})", R"({"type":"answer","sdp":""})",
                  R"({"type":"candidate","candidate":{"candidate":"x"}})", R"({"type":"bye"})"})
    EXPECT_EQ(check_signal_message(ok), "") << ok;
  for (auto bad : {"", "{", "null", "[]", R"("offer")", R"({"sdp":"x"})", R"({"type":1})",
                   R"({"type":"joined"})", R"({"type":"peer-left"})", R"({"type":"offer"} x)"})
    EXPECT_NE(check_signal_message(bad), "") << bad;
  const std::string big =
      R"({"type":"offer","sdp":")" + std::string(kMaxSignalMessage, 'a') + "\"}";
  EXPECT_NE(check_signal_message(big), "");
}

TEST(WebRate, TokenBucketRefills) {
  const auto t0 = TokenBucket::Clock::time_point{};
  TokenBucket b{2, 1, t0};
  EXPECT_TRUE(b.take(t0));
  EXPECT_TRUE(b.take(t0));
  EXPECT_FALSE(b.take(t0));
  EXPECT_FALSE(b.take(t0 + 500ms));
  EXPECT_TRUE(b.take(t0 + 1s));
  EXPECT_TRUE(b.full(t0 + 10s));
}

TEST(WebRate, PerSourceAndBoundedTable) {
  const auto t0 = TokenBucket::Clock::time_point{};
  SourceRate rate{1, 1.0 / 60, 2};
  const auto a = *protocol::IpAddress::parse("192.0.2.1");
  const auto b = *protocol::IpAddress::parse("192.0.2.2");
  const auto c = *protocol::IpAddress::parse("192.0.2.3");
  EXPECT_TRUE(rate.take(a, t0));
  EXPECT_FALSE(rate.take(a, t0 + 1s));
  EXPECT_TRUE(rate.take(b, t0));
  EXPECT_FALSE(rate.take(c, t0 + 1s));  // table full of sources that are not refilled
  EXPECT_TRUE(rate.take(c, t0 + 61s));  // full ones are forgotten to make room
  EXPECT_LE(rate.sources(), 2u);
  // One IPv6 /64 is one source.
  SourceRate v6{1, 0.001, 10};
  EXPECT_TRUE(v6.take(*protocol::IpAddress::parse("2001:db8::1"), t0));
  EXPECT_FALSE(v6.take(*protocol::IpAddress::parse("2001:db8::ffff"), t0));
}

TEST(WebRate, ConnectionsPerSourceAndTotal) {
  SourceConnections conns{2, 3};
  const auto a = *protocol::IpAddress::parse("192.0.2.1");
  const auto b = *protocol::IpAddress::parse("192.0.2.2");
  EXPECT_TRUE(conns.acquire(a));
  EXPECT_TRUE(conns.acquire(a));
  EXPECT_FALSE(conns.acquire(a));
  EXPECT_TRUE(conns.acquire(b));
  EXPECT_FALSE(conns.acquire(b));  // total
  conns.release(a);
  EXPECT_TRUE(conns.acquire(b));
  EXPECT_EQ(conns.open(), 3u);
}

std::string load_error(const std::string& yaml) {
  try {
    config::load_string(yaml, "turnd.yaml");
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(WebConfig, PlainHttpOnlyOnLoopback) {
  const std::string base = "auth:\n  secrets: [s]\n";
  EXPECT_EQ(load_error(base + "web:\n  listen: \"127.0.0.1:8080\"\n  demo: true\n"), "");
  EXPECT_EQ(load_error(base + "web:\n  listen: \"[::1]:8080\"\n"), "");
  const auto e = load_error(base + "web:\n  listen: \"0.0.0.0:8443\"\n  demo: true\n");
  EXPECT_NE(e.find("turnd.yaml:"), std::string::npos) << e;
  EXPECT_NE(e.find("web.listen"), std::string::npos) << e;
  EXPECT_NE(e.find("tls.cert"), std::string::npos) << e;
  const auto c = config::load_string(base, "turnd.yaml");
  EXPECT_FALSE(c.web_listen);
  EXPECT_FALSE(c.web_demo);
}

}  // namespace
}  // namespace turnd::server
