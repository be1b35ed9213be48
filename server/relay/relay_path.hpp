// The relay data path of one shard (RFC 8656 §10-12): peer -> client (read the relay
// sockets in batches, check the permission, frame in place, send to the client's sink),
// client -> peer (one size rule, the own-address guard, batched sends) and the hand-off
// between two allocations of this server (relay to relay without the kernel: directly on this
// shard, through ShardHandoff to another). It looks allocations up in the table and never
// owns one. Owner: its shard's thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/transport_address.hpp"
#include "server/allocation.hpp"
#include "server/allocation_table.hpp"
#include "server/clock.hpp"
#include "server/io/batch_io.hpp"
#include "server/metrics.hpp"
#include "server/policy.hpp"
#include "server/relay/client_framing.hpp"
#include "server/relay/shard_handoff.hpp"
#include "server/services.hpp"

namespace turnd::server::relay {

class RelayPath {
 public:
  RelayPath(unsigned shard, AllocationTable& table, SharedServices& services, io::SendBatch& sends,
            ShardCounters& counters, EventClock& clock, const PolicyPtr& policy) noexcept
      : shard_(shard),
        table_(table),
        services_(services),
        sends_(sends),
        counters_(counters),
        clock_(clock),
        policy_(policy) {}

  /// Starts reading the relay sockets of `a` (just inserted in the table). Reading stops by
  /// itself when the allocation leaves the table (its sockets close).
  void watch(Allocation& a);
  /// Client -> peer: sends `data` from the allocation's relay of the peer's family.
  void send_to_peer(Allocation& a, const protocol::TransportAddress& peer,
                    protocol::ByteSpan data) noexcept;
  /// Delivers what other shards handed over to this one (its inbox's wake-up fired), then
  /// sends. Bounded: at most one ring's capacity per other shard.
  void drain_handoff() noexcept;

 private:
  void wait_readable(std::uint64_t id, std::size_t relay_index);
  void on_readable(Allocation& a, RelayEndpoint& relay) noexcept;
  /// Peer -> client: counts, frames and sends one datagram of `a`'s relay.
  void to_client(Allocation& a, const protocol::TransportAddress& from,
                 protocol::MutableByteSpan data, const std::uint8_t* buffer_start) noexcept;
  /// Delivers to another allocation of this server when `peer` is its relayed address.
  bool hand_over(Allocation& from, const RelayEndpoint& relay,
                 const protocol::TransportAddress& peer, protocol::ByteSpan data) noexcept;
  /// Queues to shard `owner`, whose allocation holds `peer`; counts, drops when full.
  bool hand_to_shard(unsigned owner, Allocation& from, const RelayEndpoint& relay,
                     const protocol::TransportAddress& peer, protocol::ByteSpan data) noexcept;
  /// The allocation of this shard whose advertised relayed address is exactly `relayed`.
  Allocation* relay_target(const protocol::TransportAddress& relayed) noexcept;
  /// Peer -> client for a datagram from another relay of this server: permission, then send.
  void deliver_from_relay(Allocation& target, const protocol::TransportAddress& from,
                          protocol::MutableByteSpan payload,
                          const std::uint8_t* buffer_start) noexcept;
  void count_to_peer(Allocation& a, std::size_t bytes) noexcept;

  unsigned shard_;
  AllocationTable& table_;
  SharedServices& services_;
  io::SendBatch& sends_;
  ShardCounters& counters_;
  EventClock& clock_;
  const PolicyPtr& policy_;  // the shard's current one
  // One relay slot, as the kernel path delivers: headroom, payload, stream padding.
  std::vector<std::uint8_t> handover_ =
      std::vector<std::uint8_t>(io::kHeadroom + kMaxRelayPayload + 4);
  io::ReceiveBatch batch_{&counters_, services_.udp_offload.gro};
  std::uint64_t indications_ = 0;
};

}  // namespace turnd::server::relay
