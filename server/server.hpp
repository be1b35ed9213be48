// The turnd process: N shards on N threads, plus the control thread that owns them and handles
// signals (SIGHUP reload, SIGTERM drain, SIGINT stop), the admin listener and Redis callbacks.
// Owner: the control thread (main); shards are reached only through Shard::post_*.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "auth/redis/redis_store.hpp"
#include "config/config.hpp"
#include "server/certificate_reloader.hpp"
#include "server/policy.hpp"
#include "server/services.hpp"
#include "server/shard.hpp"

namespace turnd::server {

class AdminHttp;
class WebHttp;

/// Number of shards when the config says 0: the CPUs this process may run on.
unsigned usable_cpus() noexcept;

/// Where the config came from, to read it again on SIGHUP.
struct ConfigSource {
  /// The command line after the program name; empty = reload keeps the running config.
  std::vector<std::string> args;
  /// The secret main generated because the config named no credentials: kept by a reload
  /// whose config still names none.
  std::optional<std::string> generated_secret;
};

class Server {
 public:
  explicit Server(config::Config config, ConfigSource source = {});
  ~Server();
  /// Opens every socket of every shard (so a bad address fails before anything runs), starts
  /// the shard threads and blocks until turnd stops (SIGINT, a second SIGTERM, the end of a
  /// drain). Throws on start-up failure.
  void run();

 private:
  std::string metrics() const;
  std::unique_ptr<auth::redis::RedisStore> start_redis();
  auth::CredentialsPtr credentials() const;
  /// The admin's session list and kick: ask every shard, wait at most kShardAnswerTimeout.
  std::optional<boost::json::array> describe_allocations();
  std::optional<std::size_t> close_user(const std::string& user);

  void wait_for_signal();
  void on_signal(int sig);
  /// SIGHUP: read the config again and apply what a reload can change, or refuse it whole.
  void reload();
  void apply(PolicyPtr next);
  /// SIGTERM: refuse new allocations, let the others go on for shutdown_grace, then stop.
  void begin_drain();
  void check_drained();
  /// Stops everything now (idempotent): Redis, shards, admin, timers.
  void stop_now();
  void log_web_listener() const;
  std::int64_t live_allocations() const;

  config::Config config_;  // the start-up config: what services_ and listeners were made from
  ConfigSource source_;
  PolicyPtr policy_;  // the running one (start-up, then each applied reload)
  boost::asio::io_context control_;
  boost::asio::signal_set signals_{control_};
  boost::asio::steady_timer drain_timer_{control_};
  std::chrono::steady_clock::time_point drain_deadline_;
  std::unique_ptr<SharedServices> services_;
  std::unique_ptr<CertificateReloader> certificates_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  std::unique_ptr<AdminHttp> admin_;
  std::unique_ptr<WebHttp> web_;  // web.listen: the /call and /ice pages
  std::unique_ptr<auth::redis::RedisStore> redis_;
  mutable std::mutex credentials_mutex_;  // control plane only: admin HTTP and Redis threads
  auth::CredentialsPtr credentials_;
  std::atomic<int> redis_up_{-1};
  std::uint64_t reloads_applied_ = 0, reloads_refused_ = 0;  // control thread
  bool stopped_ = false;
};

}  // namespace turnd::server
