#include "server/shard_state.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace turnd::server {

namespace {
// This shard's share of limits.max_unauthenticated_bytes_per_second (threads is restart-only,
// so the shares of all shards keep adding up to the whole).
std::uint64_t byte_share(const config::Config& c) {
  return c.max_unauthenticated_bytes_per_second / std::max(1u, c.threads);
}

int dup_or_throw(int fd) {
  const int copy = ::dup(fd);
  if (copy < 0) throw std::system_error(errno, std::generic_category(), "dup eventfd");
  return copy;
}
}  // namespace

ShardState::ShardState(unsigned shard_id, boost::asio::io_context& io, SharedServices& services)
    : id_(shard_id),
      io_(io),
      services_(services),
      clock_(services.clock),
      policy_(services.initial_policy),
      auth_(services.auth_options, services.credentials, services.nonces),
      allocations_(shard_id, services, counters_, clock_, owner_),
      relay_(shard_id, allocations_, services, sends_, counters_, clock_, policy_),
      unauthenticated_bytes_(byte_share(services.config), services.clock.steady()),
      nat_discovery_(services.config),
      sweep_timer_(io),
      handoff_wake_(io) {
  // A shard past the configured count (tests make extra ones) has no inbox: it is only ever
  // reached through the kernel.
  if (shard_id < services.handoff.shards())
    handoff_wake_.assign(dup_or_throw(services.handoff.wake_fd(shard_id)));
  sends_.set_gso(services.udp_offload.gso);
  sends_.attach(io);
}

void ShardState::set_policy(PolicyPtr policy) noexcept {
  TURND_ASSERT_OWNER(owner_);
  policy_ = std::move(policy);
  unauthenticated_bytes_.set_rate(byte_share(policy_->config));
  // A peer the new filter denies loses its permissions and channels now, in both directions;
  // the relay path checks permissions, not the filter, for each packet.
  begin_event();
  allocations_.drop_denied_peers(policy_->peer_filter);
}

void ShardState::sweep() {
  begin_event();
  allocations_.expire();
  tcp_relay_.sweep();
  services_.ports.expire_reservations(clock_.steady());
}

void ShardState::start_sweeping() {
  sweep();
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) start_sweeping();
  });
}

void ShardState::stop_sweeping() { sweep_timer_.cancel(); }

void ShardState::start_handoff() {
  if (!handoff_wake_.is_open()) return;
  handoff_wake_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this](const boost::system::error_code& ec) {
                             if (ec) return;  // stopped
                             begin_event();
                             relay_.drain_handoff();
                             start_handoff();
                           });
}

void ShardState::stop_handoff() {
  if (id_ < services_.handoff.shards())
    services_.handoff.close(id_);  // other shards drop what they would queue to this one
  boost::system::error_code ignored;
  handoff_wake_.cancel(ignored);
}

}  // namespace turnd::server
