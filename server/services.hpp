// State shared by all shards. Owner: any thread. Most of it is touched only on the control
// path (Allocate, teardown, reload): the relay port pool and quotas (a mutex or CAS each), the
// credential snapshot every shard's Authenticator starts from, the clock. Two parts are read
// per packet and are lock-free for that: the own addresses (immutable after start) and the
// live relayed addresses (LiveRelays, atomics); the per-source limiters of unauthenticated
// replies and connections are shared atomics too. The rings of the hand-off between shards
// (ShardHandoff) are here so that they outlive every shard. The peer filter is not here: each shard
// reads it from its Policy (server/policy.hpp), which a reload replaces.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "server/clock.hpp"
#include "server/connection_limiter.hpp"
#include "server/io/tls/tls_context.hpp"
#include "server/io/udp_offload.hpp"
#include "server/live_relays.hpp"
#include "server/peer_filter.hpp"
#include "server/policy.hpp"
#include "server/relay/shard_handoff.hpp"
#include "server/relay_port_pool.hpp"
#include "server/reply_limiter.hpp"

namespace turnd::server {

class ShardState;  // server/shard_state.hpp

/// Allocation counts per user and in total, for the configured quotas (0 = unlimited). `user`
/// is the quota key: the user part of a REST username, so each new credential of one user does
/// not bring a fresh quota. Counted per user even when that quota is off, so that a reload
/// that turns it on counts the allocations already made.
class QuotaRegistry {
 public:
  QuotaRegistry(unsigned per_user, unsigned total) : per_user_(per_user), total_(total) {}
  enum class Verdict : std::uint8_t { Ok, UserQuota, TotalQuota };
  /// Counts one more allocation for `user` unless a quota forbids it. Exact across shards:
  /// the total is taken with compare-and-swap, never checked and then incremented.
  Verdict acquire(const std::string& user);
  void release(const std::string& user);
  unsigned total() const noexcept { return count_.load(std::memory_order_relaxed); }
  /// A reload's new quotas; allocations over them stay, new ones are refused.
  void set_limits(unsigned per_user, unsigned total) noexcept {
    per_user_.store(per_user, std::memory_order_relaxed);
    total_.store(total, std::memory_order_relaxed);
  }

 private:
  std::atomic<unsigned> per_user_, total_;
  std::atomic<unsigned> count_{0};
  std::mutex mutex_;
  std::unordered_map<std::string, unsigned> by_user_;
};

/// The config's own users and secrets as a credentials snapshot (Redis adds its own to it).
auth::CredentialsPtr credentials_from(const config::Config& c);
/// The config's limits on TCP/TLS connections and DTLS sessions (start and reload).
ConnectionLimiter::Limits connection_limits(const config::Config& c);

struct SharedServices {
  explicit SharedServices(const config::Config& config, const Clock& clock = system_clock());

  /// The start-up config: what only a restart changes (listen addresses, threads, relay ports
  /// and IPs, Redis). What a reload changes is read from the shard's Policy instead.
  const config::Config& config;
  const Clock& clock;  // the one clock of every expiry (tests pass a ManualClock)
  /// The policy the shards start with (the start-up config); reloads post newer ones.
  PolicyPtr initial_policy;
  RelayPortPool ports;
  QuotaRegistry quotas;
  LiveRelays live_relays;         // exact relayed addresses of live allocations, and owners
  LiveRelays live_tcp_relays;     // the same for TCP allocations (RFC 6062): Connect may reach them
  relay::ShardHandoff handoff;    // relay to relay between shards: one inbox per shard
  ConnectionLimiter connections;  // TCP/TLS connections, DTLS sessions: per source, in total
  io::tls::TlsContextStore tls;   // certificates of new TLS/DTLS handshakes (reload swaps)
  SourceRateLimiter unauthenticated_replies;  // per source IP, all shards together
  auth::AuthOptions auth_options;
  auth::NonceFactory nonces;  // one key for all shards: a nonce from one verifies on another
  auth::CredentialsPtr credentials;
  /// Addresses of this host (interfaces, listen, relay and external IPs); loopback too.
  std::vector<protocol::IpAddress> own_addresses;
  /// UDP GSO and GRO: on where the config allows and the kernel has them.
  io::UdpOffload udp_offload;
  std::atomic<std::uint64_t> next_allocation_id{0};
  /// Every shard's state, filled before any shard runs: an RFC 6062 ConnectionBind is carried
  /// to the shard that owns its connection id. Empty in tests that make shards by hand.
  std::vector<ShardState*> shard_states;
  /// SIGTERM received: new allocations are refused (or redirected), existing ones go on.
  std::atomic<bool> draining{false};

  /// A peer on this host that only live relayed addresses may be sent to: one of our addresses
  /// that no --allow-peer range of `filter` (the shard's current policy) opens explicitly.
  bool is_guarded_own_address(const protocol::IpAddress& ip,
                              const PeerFilter& filter) const noexcept {
    return is_own_address(ip) && !filter.explicitly_allowed(ip);
  }
  /// One of our addresses, also in an IPv6 form that reaches it (a NAT64 translator delivers
  /// 64:ff9b::<our IPv4> to us).
  bool is_own_address(const protocol::IpAddress& ip) const noexcept {
    if (const auto v4 = PeerFilter::embedded_v4(ip); v4 && is_own_address(*v4)) return true;
    static const auto loopback4 = *protocol::IpPrefix::parse("127.0.0.0/8");
    bool own = loopback4.contains(ip);
    for (std::size_t i = 0; !own && i < own_addresses.size(); ++i) own = own_addresses[i] == ip;
    return own;
  }
};

}  // namespace turnd::server
