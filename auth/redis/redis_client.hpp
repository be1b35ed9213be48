// A blocking connection to Redis (hiredis) with timeouts, for turnctl and the RedisStore
// thread; never for an I/O thread. Every failure is a RedisError value; after a Connection
// error the client is unusable (ok() is false) and the caller connects again.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth/redis/redis_url.hpp"
#include "auth/redis/reply.hpp"

struct redisContext;  // hiredis

namespace turnd::auth::redis {

/// A command and its arguments, binary safe: {"HSET", key, "md5", hex}.
using Command = std::vector<std::string>;

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};  ///< per reply; not used by wait_message
};

class RedisClient {
 public:
  /// Connects, authenticates (AUTH) and selects the database of `url`. The error message
  /// is the cause alone ("Connection refused", "AUTH: WRONGPASS ..."); callers add the URL.
  static RedisResult<RedisClient> connect(const RedisUrl& url, ClientOptions options = {});

  RedisClient(RedisClient&&) noexcept = default;
  RedisClient& operator=(RedisClient&&) noexcept = default;
  ~RedisClient();

  /// Sends one command and reads its reply. An error reply is returned as a Reply of type
  /// Error; the as_* checks turn it into ErrorKind::Server.
  RedisResult<Reply> command(const Command& args);
  /// Sends all commands, then reads one reply per command (round trips: one).
  RedisResult<std::vector<Reply>> pipeline(std::span<const Command> commands);
  /// MULTI, the commands, EXEC: the replies of the commands, all applied or none.
  RedisResult<std::vector<Reply>> transaction(std::span<const Command> commands);

  /// SUBSCRIBE `channel`. Afterwards use only wait_message on this connection.
  RedisResult<Done> subscribe(const std::string& channel);
  /// Waits up to `timeout` for a message on the subscribed channel and returns its payload;
  /// nullopt when the time is up or `wake_fd` (if >= 0) became readable.
  RedisResult<std::optional<std::string>> wait_message(std::chrono::milliseconds timeout,
                                                       int wake_fd = -1);

  /// False after a Connection error.
  bool ok() const noexcept;
  const RedisUrl& url() const noexcept { return url_; }

 private:
  struct Free {
    void operator()(redisContext* c) const noexcept;
  };
  RedisClient(std::unique_ptr<redisContext, Free> ctx, RedisUrl url);
  RedisError connection_error(std::string_view context) const;
  RedisResult<Done> append(const Command& args);
  RedisResult<Reply> read_reply(std::string_view context);

  std::unique_ptr<redisContext, Free> ctx_;
  RedisUrl url_;
  std::string channel_;  ///< set once subscribed
};

}  // namespace turnd::auth::redis
