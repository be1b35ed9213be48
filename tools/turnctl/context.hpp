// What every turnctl command shares: the global options, the config file they point to, the
// Redis connection, and the two kinds of failure (exit 1: runtime, exit 2: usage).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "auth/redis/redis_client.hpp"
#include "config/config.hpp"

namespace turnd::turnctl {

/// The command line is wrong: main prints the message and exits 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// The command could not do its job: main prints the message and exits 1.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline constexpr const char* kDefaultConfig = "/etc/turnd/turnd.yaml";

class Context {
 public:
  std::string config_path;     ///< --config; empty = kDefaultConfig if it exists, else embedded
  std::string redis_override;  ///< --redis
  std::string realm_override;  ///< --realm

  /// The config file to read, or "" for the embedded default.
  std::string config_file() const;
  /// Loaded on first use; throws config::ConfigError.
  const config::Config& config();
  std::string realm();
  /// Where to set auth.redis, for hints: the file, or "a config file (--config FILE)".
  std::string where_to_configure();
  /// The config in a sentence: the file, or "the built-in default config".
  std::string config_name();

  /// The Redis URL from --redis or auth.redis; nullopt when neither is set.
  std::optional<auth::redis::RedisUrl> redis_url();
  /// Connects to Redis or throws Failure saying how to fix it.
  auth::redis::RedisClient connect_redis();
  /// Throws Failure: "Redis at URL: <what went wrong>".
  [[noreturn]] void fail(const auth::redis::RedisError& e);

  template <class T>
  T need(auth::redis::RedisResult<T> r) {
    if (!r) fail(r.error());
    return std::move(*r);
  }

 private:
  std::optional<config::Config> config_;
  std::string redis_display_;
};

/// "2024-06-01 12:00:00Z"
std::string format_time(std::chrono::sys_seconds t);
/// "1h", "1h30m", "45s", "2d3h"
std::string format_duration(std::chrono::seconds d);
/// Parses a --ttl value (30s, 10m, 1h, 1d, 1h30m) within [1 s, max]; UsageError otherwise.
std::chrono::seconds parse_ttl(const std::string& text, std::chrono::seconds max);
std::chrono::sys_seconds now_seconds();
/// Prints each problem of a listing to stderr; true if there were any.
bool print_problems(const std::vector<std::string>& problems);

}  // namespace turnd::turnctl
