#include "tools/turnctl/context.hpp"

#include <ctime>
#include <filesystem>
#include <iostream>

#include "config/config_error.hpp"
#include "config/embedded_default.hpp"
#include "config/load.hpp"
#include "config/value_parsers.hpp"

namespace turnd::turnctl {

namespace redis = auth::redis;

std::string Context::config_file() const {
  if (!config_path.empty()) return config_path;
  std::error_code ec;
  return std::filesystem::exists(kDefaultConfig, ec) ? kDefaultConfig : "";
}

const config::Config& Context::config() {
  if (!config_) {
    const auto file = config_file();
    config_ = file.empty() ? config::load_embedded_default() : config::load_file(file);
    if (!redis_override.empty()) config_->redis = redis_override;
  }
  return *config_;
}

std::string Context::realm() {
  if (realm_override.empty()) return config().realm;
  if (auto ok = config::parse_realm(realm_override); !ok)
    throw UsageError("--realm: " + ok.error());
  return realm_override;
}

std::string Context::where_to_configure() {
  const auto file = config_file();
  return file.empty() ? "a config file (--config FILE)" : file;
}

std::string Context::config_name() {
  const auto file = config_file();
  return file.empty() ? "the built-in default config" : file;
}

std::optional<redis::RedisUrl> Context::redis_url() {
  if (!redis_override.empty()) {
    auto url = redis::parse_redis_url(redis_override);
    if (!url) throw UsageError("--redis: " + url.error());
    return *url;
  }
  if (!config().redis) return std::nullopt;
  auto url = redis::parse_redis_url(*config().redis);
  if (!url) throw Failure(where_to_configure() + ": auth.redis: " + url.error());
  return *url;
}

redis::RedisClient Context::connect_redis() {
  auto url = redis_url();
  if (!url)
    throw Failure("no Redis configured: set auth.redis in " + where_to_configure() +
                  " or pass --redis URL, e.g. --redis redis://127.0.0.1:6379/0");
  redis_display_ = url->display();
  auto client = redis::RedisClient::connect(*url);
  if (client) return std::move(*client);
  const auto& e = client.error();
  const std::string fix = redis_override.empty()
                              ? "set auth.redis in " + where_to_configure() + " or pass --redis URL"
                              : "check --redis URL";
  const bool not_redis =
      e.kind == redis::ErrorKind::Data || e.message.find("Protocol error") != std::string::npos;
  if (not_redis)
    throw Failure("Redis at " + redis_display_ + " does not answer like Redis: " + e.message +
                  " (is that really redis-server? " + fix + ")");
  if (e.kind == redis::ErrorKind::Connection)
    throw Failure("Redis unreachable at " + redis_display_ + ": " + e.message +
                  " (is redis-server running? " + fix + ")");
  std::string hint = fix;
  if (e.message.find("NOAUTH") != std::string::npos)
    hint = "Redis wants a password: write the URL as redis://:PASSWORD@HOST:PORT/DB";
  else if (e.message.find("WRONGPASS") != std::string::npos || e.message.starts_with("AUTH"))
    hint = "check the user and password in the Redis URL";
  throw Failure("Redis at " + redis_display_ + " refused us: " + e.message + " (" + hint + ")");
}

void Context::fail(const redis::RedisError& e) {
  throw Failure("Redis at " + redis_display_ + ": " + e.message);
}

bool print_problems(const std::vector<std::string>& problems) {
  for (const auto& p : problems) std::cerr << "turnctl: " << p << "\n";
  return !problems.empty();
}

std::string format_time(std::chrono::sys_seconds t) {
  const std::time_t tt = t.time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%SZ", &tm);
  return text;
}

std::string format_duration(std::chrono::seconds d) {
  if (d.count() <= 0) return "0s";
  std::string out;
  long long left = d.count();
  for (auto [unit, size] : {std::pair{'d', 86400LL}, {'h', 3600LL}, {'m', 60LL}, {'s', 1LL}}) {
    if (left >= size) out += std::to_string(left / size) + unit;
    left %= size;
  }
  return out;
}

std::chrono::seconds parse_ttl(const std::string& text, std::chrono::seconds max) {
  auto ttl = config::parse_duration(text, std::chrono::seconds{1}, max);
  if (!ttl)
    throw UsageError("--ttl " + config::quote(text) +
                     ": expected a duration like 30s, 10m, 1h, 1d (at most " +
                     format_duration(max) + ")");
  return *ttl;
}

std::chrono::sys_seconds now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace turnd::turnctl
