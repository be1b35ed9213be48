#include "server/allocation_table.hpp"

#include <spdlog/spdlog.h>

#include <span>
#include <vector>

#include "server/log_text.hpp"
#include "server/relay/relay_socket.hpp"
#include "server/relay/tcp_relay.hpp"

namespace turnd::server {

AllocationTable::~AllocationTable() {
  while (!by_tuple_.empty()) remove(*by_tuple_.begin()->second, "server stopped");
}

Allocation* AllocationTable::find(const FiveTuple& t) noexcept {
  TURND_ASSERT_OWNER(owner_);
  auto it = by_tuple_.find(t);
  return it == by_tuple_.end() ? nullptr : it->second.get();
}

Allocation* AllocationTable::find_by_id(std::uint64_t id) noexcept {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

Allocation* AllocationTable::find_by_relay_port(std::uint16_t port) noexcept {
  auto it = by_port_.find(port);
  return it == by_port_.end() ? nullptr : it->second;
}

Allocation& AllocationTable::insert(std::unique_ptr<Allocation> a) {
  TURND_ASSERT_OWNER(owner_);
  Allocation& ref = *a;
  ++counters_.allocations_created;
  counters_.allocations.fetch_add(1, std::memory_order_relaxed);
  counters_.allocations_by_transport[static_cast<std::size_t>(ref.five_tuple.transport)].fetch_add(
      1, std::memory_order_relaxed);
  by_id_[ref.id] = &ref;
  // A TCP allocation's relayed address is a TCP port: nothing is handed over to it, but
  // another allocation's Connect may reach it (through the kernel) past the own-address guard.
  for (const auto& r : ref.tcp ? ref.relays : std::span<const RelayEndpoint>{}) {
    services_.live_tcp_relays.add(r.advertised);
    if (r.advertised != r.bound) services_.live_tcp_relays.add(r.bound);
  }
  for (const auto& r : ref.tcp ? std::span<const RelayEndpoint>{} : ref.relays) {
    by_port_[r.bound.port] = &ref;
    // Clients send to the advertised address: that one is handed over between shards; a
    // different bound address (behind --external-ip) is reached through the kernel only.
    services_.live_relays.add(r.advertised, shard_);
    if (r.advertised != r.bound) services_.live_relays.add(r.bound);
  }
  by_tuple_[ref.five_tuple] = std::move(a);
  return ref;
}

void AllocationTable::remove(Allocation& a, std::string_view reason) {
  TURND_ASSERT_OWNER(owner_);
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(clock_.steady() - a.created_at);
  spdlog::info(
      "allocation {} {}: user \"{}\" client {} {} after {}s; to peer {} pkts {} bytes, from peer "
      "{} pkts {} bytes",
      a.id, reason, logsafe(a.username), to_string(a.five_tuple.transport),
      a.five_tuple.client.to_string(), seconds.count(), a.counters.packets_to_peer,
      a.counters.bytes_to_peer, a.counters.packets_from_peer, a.counters.bytes_from_peer);
  if (a.tcp) a.tcp->close();  // its peer and data connections go with it (RFC 6062)
  for (auto& r : a.relays) {
    if (a.tcp) {
      services_.live_tcp_relays.remove(r.bound);
      if (r.advertised != r.bound) services_.live_tcp_relays.remove(r.advertised);
      relay::close_relay_socket(r, services_.ports);
      continue;
    }
    services_.live_relays.remove(r.bound);
    if (r.advertised != r.bound) services_.live_relays.remove(r.advertised);
    by_port_.erase(r.bound.port);
    relay::close_relay_socket(r, services_.ports);
  }
  services_.quotas.release(a.quota_user);
  ++(reason == "expired" ? counters_.allocations_expired : counters_.allocations_deleted);
  counters_.allocations.fetch_sub(1, std::memory_order_relaxed);
  counters_.allocations_by_transport[static_cast<std::size_t>(a.five_tuple.transport)].fetch_sub(
      1, std::memory_order_relaxed);
  by_id_.erase(a.id);
  by_tuple_.erase(a.five_tuple);  // destroys `a`
}

std::size_t AllocationTable::remove_by_user(std::string_view user, std::string_view reason,
                                            UserMatch match) {
  std::vector<Allocation*> doomed;
  for (auto& [t, a] : by_tuple_)
    if (a->username == user || (match == UserMatch::UsernameOrUserId && a->quota_user == user))
      doomed.push_back(a.get());
  for (auto* a : doomed) remove(*a, reason);
  return doomed.size();
}

std::size_t AllocationTable::drop_denied_peers(const PeerFilter& filter) {
  TURND_ASSERT_OWNER(owner_);
  const SteadyTime now = clock_.steady();
  std::size_t dropped = 0;
  for (auto& [t, a] : by_tuple_) {
    dropped +=
        std::erase_if(a->permissions, [&](const Permission& p) { return !filter.allowed(p.peer); });
    for (auto& c : a->channels) {
      if (!c.active(now) || filter.allowed(c.peer.ip)) continue;
      c.expires_at = now;  // inactive from now, its number cools down (RFC 8656 §12)
      ++dropped;
    }
  }
  return dropped;
}

void AllocationTable::expire() {
  TURND_ASSERT_OWNER(owner_);
  const SteadyTime now = clock_.steady();
  std::vector<Allocation*> expired;
  for (auto& [t, a] : by_tuple_) {
    // An allocation never outlives its REST credential (re-checked at every Refresh too).
    if (now >= a->expires_at ||
        (a->credential_expires && clock_.wall_seconds() > *a->credential_expires)) {
      expired.push_back(a.get());
      continue;
    }
    std::erase_if(a->permissions, [&](const Permission& p) { return now >= p.expires_at; });
    std::erase_if(a->channels,
                  [&](const ChannelBinding& c) { return now >= c.expires_at + kChannelCooldown; });
  }
  for (auto* a : expired) remove(*a, "expired");
}

}  // namespace turnd::server
