// libFuzzer target for the web listener's request handling (server/web_request.*) and its
// signalling checks (server/web_rooms.*), the parts of the listener that face the internet
// without a socket. Byte 0 picks the mode and set-up:
//  - bit 7 clear: the rest is raw request bytes, parsed by Beast's request parser with the
//    listener's limits (as WebHttp::serve_http does) and handed to handle_web_request. Bit 0:
//    web.demo on; bit 1: a REST secret is active; bit 2: the source's /credentials budget is
//    spent; bit 3: credential URIs are configured (turns: and stun: ones), else derived.
//  - bit 7 set: the rest is a signalling message for check_signal_message and a room name for
//    check_room_name, and also a program for WebRooms (3 bytes an operation: what, room, peer).
// Properties (HTTP): no crash or throw; the status is one of 200, 400, 403, 404, 405, 426, 429,
// 503; every answer carries the security headers; Content-Length is the size GET would send
// (no body for HEAD); a 405 names the allowed methods; a JSON answer parses (UTF-8 checked) as
// an object; without web.demo nothing but 400 and 404; a 200 page only for GET or HEAD of
// exactly one embedded file's path or short name (no traversal, no decoding), with that file's
// bytes; credentials only for GET /credentials with a secret and budget, for "<now+300>:
// web-demo", with the password the secret gives; the budget is taken only then, once; a
// WebSocket room only for a same-origin GET upgrade of /ws with one valid room; the same
// request gets the same answer. Properties (signalling): both checks agree with the grammar
// written out again below; WebRooms agrees with a model (two peers a room, at most kMaxRooms
// rooms, leave and other only see members).
#include <algorithm>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "auth/rest_credential.hpp"
#include "fuzz_http.hpp"
#include "fuzz_targets.hpp"
#include "protocol/result.hpp"
#include "server/web_assets.hpp"
#include "server/web_request.hpp"
#include "server/web_rooms.hpp"

namespace turnd::fuzz {
namespace {

namespace http = boost::beast::http;
using server::WebAnswer;
using server::WebRequest;
using server::WebResponse;

constexpr std::string_view kSecret = "web-fuzz-secret";
constexpr std::int64_t kNowSeconds = 1735689600;
const std::chrono::system_clock::time_point kNow{std::chrono::seconds{kNowSeconds}};

config::Config make_config(bool demo, bool uris) {
  config::Config c;
  c.listen = {*protocol::TransportAddress::parse("127.0.0.1:3478")};
  c.realm = "fuzz.test";
  c.web_listen = protocol::TransportAddress::parse("127.0.0.1:8080");
  c.web_demo = demo;
  if (uris)
    c.credential_uris = {"stun:turn.example:3478", "turn:turn.example:3478?transport=udp",
                         "turns:turn.example:5349?transport=tcp"};
  return c;
}

// Parses like WebHttp::serve_http (same limits); false when the bytes are not one request
// (the listener then closes the connection without an answer).
bool parse_request(const std::uint8_t* data, std::size_t size, WebRequest& out) {
  server::WebParser parser;
  server::limit_web_parser(parser);
  return parse_one_request(data, size, parser, out);
}

// The embedded file a path names, found independently of the handler's own table walk.
const server::WebAsset* asset_named(std::string_view path) {
  static const std::map<std::string_view, std::string_view> kShort = {
      {"/", "/index.html"}, {"/call", "/call.html"}, {"/ice", "/ice.html"}};
  if (auto it = kShort.find(path); it != kShort.end()) path = it->second;
  for (const auto& a : server::web_assets())
    if (a.path == path) return &a;
  return nullptr;
}

bool valid_room(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

struct Setup {
  bool demo, with_secret, budget_spent, uris;
};

struct Seen {
  int budget_taken = 0;
};

void check_headers(const WebRequest& req, const WebResponse& res) {
  TURND_ASSERT(res["Content-Security-Policy"].find("default-src 'self'") != std::string::npos);
  TURND_ASSERT(res["Content-Security-Policy"].find("unsafe") == std::string::npos);
  TURND_ASSERT(res["X-Content-Type-Options"] == "nosniff");
  TURND_ASSERT(res["Referrer-Policy"] == "no-referrer");
  TURND_ASSERT(res["X-Frame-Options"] == "DENY");
  TURND_ASSERT(!res["Permissions-Policy"].empty());
  TURND_ASSERT(!res[http::field::content_type].empty());
  if (req.method() == http::verb::head)
    TURND_ASSERT(res.body().empty());
  else
    TURND_ASSERT(res[http::field::content_length] == std::to_string(res.body().size()));
}

void check_credentials(const boost::json::object& body, const Setup& s) {
  const auto& servers = body.at("iceServers").as_array();
  TURND_ASSERT(servers.size() == 2);  // stun: ones (given, or derived from turn: UDP), turn: ones
  const auto& turn = servers.back().as_object();
  const auto& username = turn.at("username").as_string();
  const std::string_view name{username.data(), username.size()};
  TURND_ASSERT(name == std::to_string(kNowSeconds + 300) + ":web-demo");
  const auto& password = turn.at("credential").as_string();
  TURND_ASSERT(auth::rest_password(kSecret, name) ==
               std::string_view(password.data(), password.size()));
  for (const auto& u : turn.at("urls").as_array())
    TURND_ASSERT(!u.as_string().starts_with("stun:"));
  for (const auto& u : servers.front().as_object().at("urls").as_array())
    TURND_ASSERT(u.as_string().starts_with("stun:"));
  TURND_ASSERT(body.at("ttl").as_int64() == 300);
  if (s.uris) TURND_ASSERT(turn.at("urls").as_array().size() == 2);  // turn: and turns:
}

void check_answer(const WebRequest& req, const WebAnswer& a, const Setup& s, const Seen& seen) {
  const auto target = boost::urls::parse_origin_form(req.target());
  const std::string_view path =
      target ? std::string_view(target->encoded_path()) : std::string_view{};
  const bool get = req.method() == http::verb::get, head = req.method() == http::verb::head;
  TURND_ASSERT(seen.budget_taken <= 1);
  if (seen.budget_taken) TURND_ASSERT(s.demo && s.with_secret && get && path == "/credentials");
  if (!a.websocket_room.empty()) {
    // A WebSocket only as RFC 6455 asks, from our own pages, to one valid room.
    TURND_ASSERT(s.demo && get && path == "/ws");
    TURND_ASSERT(boost::beast::websocket::is_upgrade(req));
    const auto origin = req[http::field::origin];
    TURND_ASSERT(origin.empty() || origin.ends_with("://" + std::string(req[http::field::host])));
    TURND_ASSERT(valid_room(a.websocket_room));
    int rooms = 0;
    for (auto p : target->params()) {
      if (p.key != "room") continue;
      ++rooms;
      TURND_ASSERT(p.value == a.websocket_room);
    }
    TURND_ASSERT(rooms == 1);
    return;
  }
  const WebResponse& res = a.response;
  const unsigned status = res.result_int();
  TURND_ASSERT(status == 200 || status == 400 || status == 403 || status == 404 || status == 405 ||
               status == 426 || status == 429 || status == 503);
  TURND_ASSERT(res.version() == req.version());
  check_headers(req, res);
  if (!s.demo) TURND_ASSERT(status == 400 || status == 404);
  if (!target) TURND_ASSERT(status == 400);
  if (status == 405) TURND_ASSERT(res[http::field::allow].starts_with("GET"));
  if (status == 403 || status == 426) TURND_ASSERT(path == "/ws");
  if (status == 429) TURND_ASSERT(path == "/credentials" && seen.budget_taken && s.budget_spent);
  if (status == 503) TURND_ASSERT(path == "/credentials" && !s.with_secret);
  if (status == 200 && path == "/credentials") {
    TURND_ASSERT(get && s.with_secret && !s.budget_spent && seen.budget_taken == 1);
  } else if (status == 200) {
    // A page: exactly an embedded file's name, never a decoded or normalised one.
    const auto* asset = asset_named(path);
    TURND_ASSERT(asset && (get || head));
    TURND_ASSERT(res[http::field::content_type] == asset->content_type);
    TURND_ASSERT(res[http::field::content_length] == std::to_string(asset->body.size()));
    if (get) TURND_ASSERT(res.body() == asset->body);
  }
  if (!res[http::field::content_type].starts_with("application/json") || head) {
    TURND_ASSERT(res.body().find("\"credential\"") == std::string::npos);
    return;
  }
  const auto body = json_object_of(res.body());
  if (status == 200)
    check_credentials(body, s);
  else
    TURND_ASSERT(body.contains("error") && !body.contains("iceServers"));
}

int check_http(const Setup& s, const std::uint8_t* data, std::size_t size) {
  static const config::Config kConfigs[2][2] = {
      {make_config(false, false), make_config(false, true)},
      {make_config(true, false), make_config(true, true)}};
  const config::Config& config = kConfigs[s.demo][s.uris];
  auto creds = std::make_shared<auth::Credentials>();
  creds->realm = "fuzz.test";
  if (s.with_secret) creds->secrets = {std::string(kSecret), "older-secret"};
  Seen seen;
  const server::WebHooks hooks{[creds] { return auth::CredentialsPtr(creds); },
                               [&] {
                                 ++seen.budget_taken;
                                 return !s.budget_spent;
                               }};
  WebRequest req;
  if (!parse_request(data, size, req)) return 0;
  const WebAnswer a = server::handle_web_request(req, config, hooks, kNow);
  check_answer(req, a, s, seen);
  const WebAnswer again = server::handle_web_request(req, config, hooks, kNow);
  TURND_ASSERT(again.websocket_room == a.websocket_room);
  TURND_ASSERT(again.response.result() == a.response.result());
  TURND_ASSERT(again.response.body() == a.response.body());
  return 0;
}

// The grammar of server/web_rooms.hpp written out again.
bool valid_signal(std::string_view text) {
  if (text.size() > server::kMaxSignalMessage) return false;
  boost::system::error_code ec;
  const auto v = boost::json::parse(text, ec);
  if (ec || !v.is_object()) return false;
  const auto it = v.as_object().find("type");
  if (it == v.as_object().end() || !it->value().is_string()) return false;
  const auto& t = it->value().as_string();
  return t == "offer" || t == "answer" || t == "candidate" || t == "bye";
}

// WebRooms against a model: room -> its members (at most two), each peer in one room at most,
// as WebHttp uses it (a socket joins once; it leaves only a room it is in).
void check_rooms(const std::uint8_t* data, std::size_t size) {
  static const char kPeers[256] = {};
  server::WebRooms rooms;
  std::map<std::string, std::vector<server::WebRooms::Peer>> model;
  std::map<server::WebRooms::Peer, std::string> room_of;
  for (std::size_t i = 0; i + 3 <= size; i += 3) {
    const std::string name = "r" + std::to_string(data[i + 1] % 160);  // past kMaxRooms
    const server::WebRooms::Peer peer = &kPeers[data[i + 2]];
    auto& members = model[name];
    const bool member = room_of.contains(peer) && room_of[peer] == name;
    switch (data[i] % 3) {
      case 0: {  // join
        if (room_of.contains(peer)) break;
        const auto got = rooms.join(name, peer);
        const std::size_t open =
            std::count_if(model.begin(), model.end(), [](auto& kv) { return !kv.second.empty(); });
        if (members.empty() && open >= server::kMaxRooms) {
          TURND_ASSERT(got == server::WebRooms::Join::TooManyRooms);
        } else if (members.size() == 2) {
          TURND_ASSERT(got == server::WebRooms::Join::Full);
        } else {
          TURND_ASSERT(got == (members.empty() ? server::WebRooms::Join::First
                                               : server::WebRooms::Join::Second));
          members.push_back(peer);
          room_of[peer] = name;
        }
        break;
      }
      case 1: {  // leave
        const auto stays = rooms.leave(name, peer);
        if (!member) {
          TURND_ASSERT(stays == nullptr);  // a stranger's leave tells nobody "peer-left"
          break;
        }
        std::erase(members, peer);
        room_of.erase(peer);
        TURND_ASSERT(stays == (members.empty() ? nullptr : members.front()));
        break;
      }
      case 2: {  // other
        const auto other = rooms.other(name, peer);
        if (!member)
          TURND_ASSERT(other == nullptr);
        else
          TURND_ASSERT(
              other ==
              (members.size() == 2 ? (members[0] == peer ? members[1] : members[0]) : nullptr));
        break;
      }
    }
    const std::size_t open =
        std::count_if(model.begin(), model.end(), [](auto& kv) { return !kv.second.empty(); });
    TURND_ASSERT(rooms.rooms() == open);
  }
}

int check_signalling(const std::uint8_t* data, std::size_t size) {
  const std::string_view text{reinterpret_cast<const char*>(data), size};
  TURND_ASSERT(server::check_room_name(text).empty() == valid_room(text));
  TURND_ASSERT(server::check_signal_message(text).empty() == valid_signal(text));
  check_rooms(data, size);
  return 0;
}

}  // namespace

int check_web(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if (data[0] & 0x80) return check_signalling(data + 1, size - 1);
  const Setup s{(data[0] & 1) != 0, (data[0] & 2) != 0, (data[0] & 4) != 0, (data[0] & 8) != 0};
  return check_http(s, data + 1, size - 1);
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_web(data, size);
}
#endif
