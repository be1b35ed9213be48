// A shard: one thread, one io_context, its own sockets on every listen address, and the state
// of the clients the kernel hashes to it. Nothing in a shard is touched by another thread;
// the control plane talks to it only through post(). Owner: its shard's thread once run()
// starts (the post_* and stop() methods are the thread-safe exceptions).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <future>
#include <memory>
#include <vector>

#include "config/config.hpp"
#include "server/dispatcher.hpp"
#include "server/io/batch_io.hpp"
#include "server/io/dtls_listener.hpp"
#include "server/io/tcp_listener.hpp"
#include "server/io/udp_listener.hpp"
#include "server/shard_state.hpp"

namespace turnd::server {

class Shard {
 public:
  Shard(unsigned id, SharedServices& services);
  /// Binds this shard's sockets; throws std::system_error naming the address on failure.
  void open_listeners();
  /// Runs the event loop until stop(); the thread that calls it owns the shard from then on.
  void run();
  /// Thread-safe: asks the shard to close its sockets and return from run().
  void stop();
  boost::asio::io_context& io() noexcept { return io_; }
  const ShardState& state() const noexcept { return state_; }
  ShardState& state() noexcept { return state_; }

  /// Thread-safe: installs a new credentials snapshot on this shard.
  void post_credentials(auth::CredentialsPtr credentials);
  /// Thread-safe: closes the allocations of `user` on this shard, logging `reason` (a revoked
  /// credential, an operator's kick). The future holds how many were closed.
  std::future<std::size_t> post_close_user(
      std::string user, std::string reason,
      AllocationTable::UserMatch match = AllocationTable::UserMatch::Username);
  /// Thread-safe: installs a reloaded policy on this shard.
  void post_policy(PolicyPtr policy);
  /// Thread-safe: a JSON description of every allocation of this shard, as of when the shard
  /// gets to it (see allocation_json.hpp).
  std::future<boost::json::array> describe_allocations();

 private:
  void open_nat_discovery_listeners(const io::StreamPolicy& stream_policy);

  boost::asio::io_context io_{1};
  const config::Config& config_;
  ShardState state_;
  Dispatcher dispatcher_;
  std::vector<std::unique_ptr<io::UdpListener>> udp_;
  std::vector<std::unique_ptr<io::TcpListener>> tcp_;
  std::vector<std::unique_ptr<io::DtlsListener>> dtls_;
};

}  // namespace turnd::server
