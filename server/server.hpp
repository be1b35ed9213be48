// The turnd process: N shards on N threads, plus the control thread (signals) that owns them.
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "server/services.hpp"
#include "server/shard.hpp"

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
  config::Config config_;
  std::unique_ptr<SharedServices> services_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
};

}  // namespace turnd::server
