// The turnd process: N shards on N threads, plus the control thread (signals) that owns them.
// Owner: the control thread (main); shards are reached only through Shard::post_*.
#pragma once

#include <atomic>
#include <boost/json/array.hpp>
#include <optional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "auth/redis/redis_store.hpp"
#include "config/config.hpp"
#include "server/services.hpp"
#include "server/shard.hpp"

namespace turnd::auth::redis {
class RedisStore;
}

namespace turnd::server {

/// Number of shards when the config says 0: the CPUs this process may run on.
unsigned usable_cpus() noexcept;

class Server {
 public:
  explicit Server(config::Config config);
  /// Opens every socket of every shard (so a bad address fails before anything runs), starts
  /// the shard threads and blocks until SIGINT or SIGTERM. Throws on start-up failure.
  void run();

 private:
  std::string metrics() const;
  std::unique_ptr<auth::redis::RedisStore> start_redis();
  auth::CredentialsPtr credentials() const;
  /// The admin's session list and kick: ask every shard, wait at most kShardAnswerTimeout.
  std::optional<boost::json::array> describe_allocations();
  std::optional<std::size_t> close_user(const std::string& user);

  config::Config config_;
  std::unique_ptr<SharedServices> services_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  mutable std::mutex credentials_mutex_;  // control plane only: admin HTTP and Redis threads
  auth::CredentialsPtr credentials_;
  std::atomic<int> redis_up_{-1};
};

}  // namespace turnd::server
