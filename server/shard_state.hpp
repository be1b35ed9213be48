// Everything one shard's handlers read and change: its clock, allocations, relay path,
// authenticator, send batch and counters. Owner: its shard's thread (checked in builds with
// assertions); the control thread reaches it only through Shard::post_*.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>

#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "server/allocation_table.hpp"
#include "server/clock.hpp"
#include "server/io/batch_io.hpp"
#include "server/metrics.hpp"
#include "server/nat_discovery.hpp"
#include "server/policy.hpp"
#include "server/relay/relay_path.hpp"
#include "server/relay/tcp_relay.hpp"
#include "server/reply_limiter.hpp"
#include "server/services.hpp"
#include "server/thread_owner.hpp"

namespace turnd::server {

class ShardState {
 public:
  ShardState(unsigned shard_id, boost::asio::io_context& io, SharedServices& services);

  unsigned id() const noexcept { return id_; }
  boost::asio::io_context& io() noexcept { return io_; }
  /// The current config: the start-up one, or the last one a reload posted.
  const config::Config& config() const noexcept { return policy_->config; }
  const Policy& policy() const noexcept { return *policy_; }
  /// Installs a reloaded policy (on this shard's thread, between events).
  void set_policy(PolicyPtr policy) noexcept;
  std::string_view software() const noexcept { return policy_->config.software; }
  SharedServices& services() noexcept { return services_; }
  auth::Authenticator& auth() noexcept { return auth_; }
  AllocationTable& allocations() noexcept { return allocations_; }
  relay::RelayPath& relay() noexcept { return relay_; }
  relay::TcpRelay& tcp_relay() noexcept { return tcp_relay_; }
  io::SendBatch& sends() noexcept { return sends_; }
  /// RFC 5780: the four addresses and this shard's sockets on them.
  NatDiscovery& nat_discovery() noexcept { return nat_discovery_; }
  /// This shard's share of the global cap on unauthenticated reply bytes.
  ReplyByteBudget& unauthenticated_bytes() noexcept { return unauthenticated_bytes_; }
  ShardCounters& counters() noexcept { return counters_; }
  const ShardCounters& counters() const noexcept { return counters_; }

  /// Starts an event (a client message, a relay wake-up, a sweep): reads the clock once.
  void begin_event() noexcept {
    TURND_ASSERT_OWNER(owner_);
    clock_.tick();
  }
  /// The time of the current event.
  const EventClock& now() const noexcept { return clock_; }
  ThreadOwner& owner() noexcept { return owner_; }

  /// Expires allocations, permissions, channels and reservations once a second until stop.
  void start_sweeping();
  void stop_sweeping();
  /// One sweep, now (the timer's work; tests call it after moving a ManualClock).
  void sweep();
  /// Delivers what other shards hand over to this one each time they wake it, until stop.
  void start_handoff();
  /// This shard stops: other shards' datagrams to it are dropped from now on.
  void stop_handoff();

 private:
  unsigned id_;
  boost::asio::io_context& io_;
  SharedServices& services_;
  ThreadOwner owner_;
  EventClock clock_;
  PolicyPtr policy_;
  // Declared before allocations_ and relay_, which keep references to them.
  ShardCounters counters_;
  io::SendBatch sends_{counters_, counters_.send_dropped};
  auth::Authenticator auth_;
  AllocationTable allocations_;
  relay::RelayPath relay_;
  relay::TcpRelay tcp_relay_{*this};
  ReplyByteBudget unauthenticated_bytes_;
  NatDiscovery nat_discovery_;
  boost::asio::steady_timer sweep_timer_;
  // A dup() of this shard's ShardHandoff eventfd: closing ours never closes the producers'.
  boost::asio::posix::stream_descriptor handoff_wake_;
};

}  // namespace turnd::server
