// A shard's allocations: the sole owner of every Allocation, indexed by 5-tuple (requests),
// by id (relay socket wake-ups) and by relay port (the relay-to-relay hand-off), and their
// expiry. The data path that uses them is server/relay/. Owner: its shard's thread.
#pragma once

#include <memory>
#include <string_view>
#include <unordered_map>

#include "server/allocation.hpp"
#include "server/clock.hpp"
#include "server/metrics.hpp"
#include "server/peer_filter.hpp"
#include "server/services.hpp"
#include "server/thread_owner.hpp"

namespace turnd::server {

class AllocationTable {
 public:
  AllocationTable(unsigned shard, SharedServices& services, ShardCounters& counters,
                  const EventClock& clock, const ThreadOwner& owner) noexcept
      : shard_(shard), services_(services), counters_(counters), clock_(clock), owner_(owner) {}
  ~AllocationTable();
  AllocationTable(const AllocationTable&) = delete;
  AllocationTable& operator=(const AllocationTable&) = delete;

  Allocation* find(const FiveTuple& t) noexcept;
  Allocation* find_by_id(std::uint64_t id) noexcept;
  /// The allocation whose relay socket is bound to `port` (ports are unique per host).
  Allocation* find_by_relay_port(std::uint16_t port) noexcept;
  /// Adds a new allocation (relays already opened; the caller starts reading them).
  Allocation& insert(std::unique_ptr<Allocation> a);
  /// Closes the relay sockets, returns the ports and the quota, logs the totals.
  void remove(Allocation& a, std::string_view reason);
  /// Whom remove_by_user closes: exactly that USERNAME (a revoked credential), or also every
  /// REST username of that user id ("<expiry>:user", an operator's kick).
  enum class UserMatch : std::uint8_t { Username, UsernameOrUserId };
  /// Removes every allocation of `user`; returns how many.
  std::size_t remove_by_user(std::string_view user, std::string_view reason,
                             UserMatch match = UserMatch::Username);
  /// Calls `f(const Allocation&)` for each allocation (the admin's session list).
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [tuple, a] : by_tuple_) f(*a);
  }
  /// A reload's peer filter: drops the permissions of peers it now denies and ends the channels
  /// bound to them (their numbers cool down as after an expiry), both directions at once.
  /// Returns how many permissions and channels went.
  std::size_t drop_denied_peers(const PeerFilter& filter);
  /// Removes expired allocations (lifetime or REST credential) and drops expired permissions
  /// and channels past their cool-down, as of the clock's current event.
  void expire();

  std::size_t size() const noexcept { return by_tuple_.size(); }
  /// Unique across shards, so log lines of different shards never share an id.
  std::uint64_t next_id() noexcept { return services_.next_allocation_id.fetch_add(1) + 1; }

 private:
  unsigned shard_;  // recorded in LiveRelays: other shards hand this shard's datagrams over
  SharedServices& services_;
  ShardCounters& counters_;
  const EventClock& clock_;
  const ThreadOwner& owner_;
  std::unordered_map<FiveTuple, std::unique_ptr<Allocation>, FiveTupleHash> by_tuple_;
  std::unordered_map<std::uint64_t, Allocation*> by_id_;
  std::unordered_map<std::uint16_t, Allocation*> by_port_;  // relay port -> allocation
};

}  // namespace turnd::server
