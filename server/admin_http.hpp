// The admin listener (loopback by default): Prometheus /metrics, /healthz, /readyz and the
// TURN REST API credential endpoint (draft-uberti-behave-turn-rest §2.1), on the control
// thread. Shards are only read through their relaxed counters.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>

#include "auth/credential_store.hpp"
#include "config/config.hpp"

namespace turnd::server {

struct AdminHooks {
  std::function<std::string()> metrics;               // Prometheus text exposition
  std::function<bool()> ready;                        // listeners up, not draining
  std::function<auth::CredentialsPtr()> credentials;  // current snapshot (newest secret first)
};

class AdminHttp {
 public:
  /// Binds the listener now (a bad address fails start-up); throws std::system_error.
  AdminHttp(boost::asio::io_context& io, const config::Config& config, AdminHooks hooks);
  void start();
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  const config::Config& config_;
  AdminHooks hooks_;
};

/// The URIs the credential endpoint returns when none are configured: turn: over UDP and TCP
/// for each listen address that is specific (or its external address).
std::vector<std::string> default_turn_uris(const config::Config& config);

}  // namespace turnd::server
