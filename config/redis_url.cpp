#include "config/redis_url.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

namespace turnd::config {

namespace {

constexpr std::string_view kForm =
    "expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], e.g. redis://127.0.0.1:6379/0";
constexpr unsigned kMaxDb = 1u << 20;  // far above Redis' default of 16 databases

Result<RedisUrl, std::string> redis_fail(std::string problem) {
  return unexpected(std::move(problem));
}

bool parse_number(std::string_view digits, unsigned max, unsigned& out) {
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return !digits.empty() && ec == std::errc{} && end == digits.data() + digits.size() && out <= max;
}

}  // namespace

std::string RedisUrl::display() const {
  std::string out = "redis://";
  if (!user.empty() || !password.empty()) out += user + (password.empty() ? "@" : ":***@");
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port) + "/" + std::to_string(db);
}

Result<RedisUrl, std::string> parse_redis_url(std::string_view text) {
  if (text.starts_with("rediss://"))
    return redis_fail("rediss:// (TLS) is not supported; use redis://");
  if (text.starts_with("unix:") || text.starts_with("redis+unix:"))
    return redis_fail("Unix sockets are not supported; " + std::string(kForm));
  auto url = boost::urls::parse_uri(text);
  if (!url || url->scheme() != "redis") return redis_fail(std::string(kForm));
  if (url->encoded_host().empty()) return redis_fail("HOST is missing; " + std::string(kForm));
  if (url->has_query() || url->has_fragment())
    return redis_fail("no ?query or #fragment allowed; " + std::string(kForm));

  RedisUrl r;
  r.host = url->host_address();
  if (url->has_port()) {
    unsigned port = 0;
    if (!parse_number(url->port(), 65535, port) || port == 0)
      return redis_fail("port must be 1-65535");
    r.port = static_cast<std::uint16_t>(port);
  }
  if (url->has_userinfo()) {
    if (!url->has_password())
      return redis_fail(
          "write the password as redis://:PASSWORD@HOST or redis://USER:PASSWORD@HOST");
    r.user = url->user();
    r.password = url->password();
    if (r.password.empty()) return redis_fail("the password after ':' is empty");
  }
  const auto path = url->encoded_path();
  if (!path.empty() && path != "/" && !parse_number(std::string_view(path).substr(1), kMaxDb, r.db))
    return redis_fail("DB must be a database number, e.g. redis://127.0.0.1:6379/0");
  return r;
}

}  // namespace turnd::config
