// Where Redis is: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], as in the `redis:` setting and
// turnctl --redis. USER is a Redis 6 ACL user; without it AUTH sends the password alone.
// The one parser of these URLs: the config check and the Redis client both use it, so a URL
// that --check-config accepts is one the client can use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/result.hpp"

namespace turnd::config {

struct RedisUrl {
  std::string host;  ///< host name or IP address (IPv6 without brackets)
  std::uint16_t port = 6379;
  std::string user;      ///< ACL user; empty = AUTH with the password only
  std::string password;  ///< empty = no AUTH
  unsigned db = 0;       ///< SELECT this database after connecting

  /// The URL for messages and logs, password masked: "redis://:***@127.0.0.1:6379/0".
  std::string display() const;
  friend bool operator==(const RedisUrl&, const RedisUrl&) = default;
};

/// Parses a redis:// URL (percent-encoded user and password are decoded). The error is one
/// phrase saying what to write instead, e.g. `port must be 1-65535`; it never quotes a password.
Result<RedisUrl, std::string> parse_redis_url(std::string_view text);

}  // namespace turnd::config
