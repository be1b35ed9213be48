// libFuzzer target for the admin HTTP request handling (server/admin_http.*): raw request
// bytes are parsed by Beast's request parser, exactly as AdminHttp::serve does, and handed to
// handle_admin_request. Input: byte 0 picks the set-up (bit 0: API key configured, bit 1: a
// secret is active, bit 2: ready, bit 3: the shards do not answer), the rest is the request.
// Properties: no crash; the status is one of 200, 400, 401, 404, 405, 503; a 405 names the
// allowed methods; Content-Length is the body's size; a JSON content type means the body
// parses as a JSON object; a 200 with credentials only for a GET that carried the right key,
// for the user asked for (no control characters), with the password the secret gives; the
// allocation list only for a GET with the right key; a kick (the close_user hook called) only
// for a DELETE with the right key, of one user without control characters, as the answer
// says; the same request at the same time gets the same answer.
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/rest_credential.hpp"
#include "fuzz_http.hpp"
#include "fuzz_targets.hpp"
#include "protocol/result.hpp"
#include "server/admin_http.hpp"

namespace turnd::fuzz {
namespace {

namespace http = boost::beast::http;
using server::AdminRequest;
using server::AdminResponse;

constexpr std::string_view kKey = "k-0123456789abcdef";
constexpr std::string_view kSecret = "admin-fuzz-secret";
const std::chrono::system_clock::time_point kNow{std::chrono::seconds{1735689600}};

config::Config make_config(bool with_key) {
  config::Config c;
  c.listen = {*protocol::TransportAddress::parse("127.0.0.1:3478")};
  c.realm = "fuzz.test";
  if (with_key) c.admin_api_key = std::string(kKey);
  c.credential_ttl = std::chrono::seconds(600);
  return c;
}

// The users the close_user hook was asked to kick, in order.
std::vector<std::string>& kicked() {
  static std::vector<std::string> users;
  return users;
}

server::AdminHooks make_hooks(bool with_secret, bool ready, bool shards_answer) {
  auto creds = std::make_shared<auth::Credentials>();
  creds->realm = "fuzz.test";
  if (with_secret) creds->secrets = {std::string(kSecret)};
  return {[] { return std::string("turnd_up 1\n"); }, [ready] { return ready; },
          [creds] { return auth::CredentialsPtr(creds); },
          [shards_answer]() -> std::optional<boost::json::array> {
            if (!shards_answer) return std::nullopt;
            // A client-chosen username with every kind of byte the JSON must escape.
            return boost::json::array{boost::json::object{{"username", "a\"\\\n\x01\x7f"}},
                                      boost::json::object{{"username", "b"}}};
          },
          [shards_answer](const std::string& user) -> std::optional<std::size_t> {
            kicked().push_back(user);
            if (!shards_answer) return std::nullopt;
            return user == "alice" ? 2 : 0;
          }};
}

// Parses like AdminHttp::serve (same limits); false when the bytes are not one request.
bool parse_request(const std::uint8_t* data, std::size_t size, AdminRequest& out) {
  server::AdminParser parser;
  server::limit_admin_parser(parser);
  return parse_one_request(data, size, parser, out);
}

// The key the request carries, found independently of the handler's own code.
bool carries_right_key(const AdminRequest& req) {
  const auto auth = req[http::field::authorization];
  if (auth.starts_with("Bearer ")) return auth.substr(7) == kKey;
  auto target = boost::urls::parse_origin_form(req.target());
  if (!target) return false;
  std::string last;
  for (auto p : target->params())
    if (p.key == "key") last = p.value;
  return last == kKey;
}

std::string requested_user(const AdminRequest& req, std::string_view param = "username") {
  std::string user;
  if (auto target = boost::urls::parse_origin_form(req.target()))
    for (auto p : target->params())
      if (p.key == param) user = p.value;
  return user;
}

std::string request_path(const AdminRequest& req) {
  auto target = boost::urls::parse_origin_form(req.target());
  return target ? std::string(target->path()) : std::string();
}

void check_allocations(const AdminRequest& req, const boost::json::object& body) {
  TURND_ASSERT(req.method() == http::verb::get);
  TURND_ASSERT(carries_right_key(req));
  TURND_ASSERT(body.at("count").to_number<std::uint64_t>() ==
               body.at("allocations").as_array().size());
}

void check_kick(const AdminRequest& req, const boost::json::object& body) {
  TURND_ASSERT(req.method() == http::verb::delete_);
  TURND_ASSERT(carries_right_key(req));
  TURND_ASSERT(kicked().size() == 1);
  const auto& user = body.at("user").as_string();
  TURND_ASSERT(std::string_view(user.data(), user.size()) == kicked().front());
  TURND_ASSERT(kicked().front() == requested_user(req, "user"));
  TURND_ASSERT(body.at("closed").to_number<std::uint64_t>() ==
               (kicked().front() == "alice" ? 2u : 0u));
}

void check_credentials(const AdminRequest& req, const boost::json::object& body, bool with_secret) {
  TURND_ASSERT(req.method() == http::verb::get);
  TURND_ASSERT(carries_right_key(req));
  TURND_ASSERT(with_secret);
  const auto& username = body.at("username").as_string();
  const std::string_view name{username.data(), username.size()};
  const auto rest = auth::parse_rest_username(name, ':');
  TURND_ASSERT(rest.has_value());
  TURND_ASSERT(rest->user == requested_user(req));
  for (unsigned char c : rest->user) TURND_ASSERT(c >= 0x20 && c != 0x7f);
  TURND_ASSERT(rest->expiry.time_since_epoch().count() == 1735689600 + 600);
  const auto& password = body.at("password").as_string();
  TURND_ASSERT(auth::rest_password(kSecret, name) ==
               std::string_view(password.data(), password.size()));
  TURND_ASSERT(body.at("ttl").as_int64() == 600);
}

void check_response(const AdminRequest& req, const AdminResponse& res, bool with_secret) {
  const unsigned status = res.result_int();
  TURND_ASSERT(status == 200 || status == 400 || status == 401 || status == 404 || status == 405 ||
               status == 503);
  TURND_ASSERT(res[http::field::content_length] == std::to_string(res.body().size()));
  if (status == 405) TURND_ASSERT(res[http::field::allow].starts_with("GET"));
  // The hook is asked only for an authorized DELETE of one user without control characters.
  for (const auto& user : kicked()) {
    TURND_ASSERT(req.method() == http::verb::delete_ && carries_right_key(req));
    TURND_ASSERT(request_path(req) == "/api/v1/allocations" && user == requested_user(req, "user"));
    for (unsigned char c : user) TURND_ASSERT(c >= 0x20 && c != 0x7f);
  }
  const bool is_json = res[http::field::content_type].starts_with("application/json");
  if (!is_json) {
    TURND_ASSERT(res.body().find("\"password\"") == std::string::npos);
    return;
  }
  const auto body = json_object_of(res.body());
  if (status == 200 && body.contains("allocations")) {
    check_allocations(req, body);
  } else if (status == 200 && body.contains("closed")) {
    check_kick(req, body);
  } else if (status == 200) {
    check_credentials(req, body, with_secret);
  } else {
    TURND_ASSERT(body.contains("error") && !body.contains("password"));
  }
}

}  // namespace

int check_admin_http(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const bool with_key = data[0] & 1, with_secret = data[0] & 2, ready = data[0] & 4;
  const bool shards_answer = !(data[0] & 8);
  static const config::Config kConfigs[2] = {make_config(false), make_config(true)};
  const config::Config& config = kConfigs[with_key];
  const auto hooks = make_hooks(with_secret, ready, shards_answer);
  AdminRequest req;
  if (!parse_request(data + 1, size - 1, req)) return 0;
  kicked().clear();
  const AdminResponse res = server::handle_admin_request(req, config, hooks, kNow);
  check_response(req, res, with_secret);
  if (!with_key) TURND_ASSERT(res.body().find("\"password\"") == std::string::npos);
  if (!with_key) TURND_ASSERT(kicked().empty());
  kicked().clear();
  const AdminResponse again = server::handle_admin_request(req, config, hooks, kNow);
  TURND_ASSERT(again.result() == res.result() && again.body() == res.body());
  return 0;
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_admin_http(data, size);
}
#endif
