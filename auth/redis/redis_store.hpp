// RedisStore: keeps a credentials snapshot in step with Redis on a thread of its own, so no
// I/O thread ever waits on Redis.
//
//   start() ──> [store thread] connect (commands) + connect & SUBSCRIBE turnd:events
//                   │  load secrets + users of the realm, merge with the static credentials
//                   │  ──> on_snapshot(ptr)   on_revoked(name) for each user gone or re-keyed
//                   ├─ event on turnd:events ──> reload at once (events are coalesced)
//                   ├─ every `refresh` ────────> reload (drops expired users)
//                   └─ connection lost ──> on_state(false), keep the last snapshot, reconnect
//                                          with back-off 100 ms, 200 ms, ... 10 s
//
// Callbacks run on the store thread, one at a time; they must hand work to the server's own
// threads (e.g. asio::post) and return quickly. stop() (or the destructor) joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "auth/credential_store.hpp"
#include "auth/redis/credential_repo.hpp"
#include "auth/redis/redis_client.hpp"

namespace turnd::auth::redis {

enum class LogLevel : std::uint8_t { Debug, Info, Warn, Error };

struct RedisStoreOptions {
  std::string url;                   ///< redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
  std::string realm;                 ///< users of this realm are loaded; also the snapshot's realm
  std::chrono::seconds refresh{30};  ///< full reload period (expiries, missed events)
  Credentials static_credentials;    ///< config users and secrets: always part of the snapshot
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{10'000};
  ClientOptions client;  ///< connect and command timeouts
};

struct RedisStoreCallbacks {
  /// A new snapshot to install (only when it differs from the last one).
  std::function<void(CredentialsPtr)> on_snapshot;
  /// A minted user was revoked (or re-keyed): close their allocations. Called after the
  /// on_snapshot that no longer accepts the old key.
  std::function<void(const std::string& user)> on_revoked;
  /// Redis became reachable (true) or unreachable (false); called on changes only.
  std::function<void(bool up)> on_state;
  /// One line per state change, snapshot or new problem; never contains a secret. Lines do
  /// not say "redis" themselves ("up at redis://...", "unreachable at ..."): prefix them.
  std::function<void(LogLevel, const std::string&)> log;
};

class RedisStore {
 public:
  /// Throws std::invalid_argument when options.url is not a valid redis:// URL.
  RedisStore(RedisStoreOptions options, RedisStoreCallbacks callbacks);
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  /// Starts the store thread; the first snapshot follows once Redis answers.
  void start();
  /// Stops and joins the thread; waits at most for the connect or command in progress
  /// (ClientOptions timeouts, 2 s by default). Idempotent.
  void stop();
  /// A reload's config users and secrets: merged at once with the last Redis data (also while
  /// Redis is down) and published if the snapshot changes; any thread.
  void set_static_credentials(Credentials statics);
  /// Whether Redis is reachable right now; any thread.
  bool up() const noexcept { return up_.load(std::memory_order_relaxed); }

 private:
  void run();
  /// One connection's life: connect, subscribe, load, follow events. Returns on a connection
  /// error (its message) or stop.
  RedisResult<Done> session(std::chrono::milliseconds& backoff);
  /// Loads and publishes. Connection errors are returned; data problems are logged.
  RedisResult<Done> reload(CredentialRepo& repo);
  void publish(CredentialsPtr next);
  void set_state(bool up, const std::string& why);
  void report(LogLevel level, const std::string& line);
  /// Logs each problem not logged before. `complete`: these are all problems of a full load.
  void report_problems(const std::vector<std::string>& problems, bool complete);
  /// Sleeps for `d` unless stop() wakes it.
  void pause(std::chrono::milliseconds d);
  /// Store thread: installs statics set by set_static_credentials, if any, and republishes.
  void apply_new_statics();

  RedisStoreOptions options_;
  RedisStoreCallbacks callbacks_;
  RedisUrl url_;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> up_{false};
  std::mutex statics_mutex_;
  std::optional<Credentials> new_statics_;  ///< guarded by statics_mutex_
  // Store thread only:
  int state_ = -1;              ///< -1 unknown, 0 down, 1 up
  SecretListing last_secrets_;  ///< what the last load found, to merge new statics with
  UserListing last_users_;
  CredentialsPtr current_;
  std::set<std::string> reported_;  ///< problems already logged, to log each once
};

}  // namespace turnd::auth::redis
