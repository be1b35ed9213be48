// A shard's allocations: the sole owner of every Allocation, indexed by 5-tuple, plus the
// relay half of the data path (peer -> client) and the client -> peer send.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "server/allocation.hpp"
#include "server/io/batch_io.hpp"
#include "server/metrics.hpp"
#include "server/services.hpp"

namespace turnd::server {

/// Largest payload relayed in either direction: one relay slot. A peer's larger datagram is
/// truncated by the kernel into the slot and dropped; a client's is dropped before sending.
inline constexpr std::size_t kMaxRelayPayload = io::kSlotPayload;

class AllocationTable {
 public:
  AllocationTable(boost::asio::io_context& io, SharedServices& services, io::SendBatch& sends,
                  ShardCounters& counters);
  ~AllocationTable();

  Allocation* find(const FiveTuple& t) noexcept;
  /// Adds a new allocation (relays already opened); starts reading its relay sockets.
  Allocation& insert(std::unique_ptr<Allocation> a);
  /// Closes the relay sockets, returns the ports and the quota, logs the totals.
  void remove(Allocation& a, std::string_view reason);
  /// Removes every allocation of `user` (its credential was revoked).
  void remove_by_user(std::string_view user);

  /// Opens a relay socket on `ip`:`port` (port 0 = take one from the pool; `even` for
  /// EVEN-PORT). nullopt when no port could be bound.
  std::optional<RelayEndpoint> open_relay(const protocol::IpAddress& ip, std::uint16_t port,
                                          bool even, bool dont_fragment);
  /// Returns a relay endpoint's port to the pool (an endpoint not yet inserted).
  void release_relay(RelayEndpoint& r);

  /// Client -> peer: sends `data` from the allocation's relay of the peer's family.
  void send_to_peer(Allocation& a, const protocol::TransportAddress& peer,
                    protocol::ByteSpan data) noexcept;

  /// Starts the once-a-second expiry sweep.
  void start();
  void stop();
  std::size_t size() const noexcept { return by_tuple_.size(); }
  SharedServices& services() noexcept { return services_; }
  /// Unique across shards, so log lines of different shards never share an id.
  std::uint64_t next_id() noexcept { return services_.next_allocation_id.fetch_add(1) + 1; }

 private:
  void wait_relay(std::uint64_t id, std::size_t relay_index);
  void on_relay_readable(Allocation& a, RelayEndpoint& relay) noexcept;
  /// Peer -> client: ChannelData or a Data indication built in the headroom before `data`
  /// (which must lie inside a buffer starting at `buffer_start`).
  void relay_to_client(Allocation& a, const protocol::TransportAddress& from,
                       protocol::MutableByteSpan data, const std::uint8_t* buffer_start,
                       SteadyTime now) noexcept;
  /// Delivers to another allocation of this shard when `peer` is its relayed address.
  bool hand_over(Allocation& from, const RelayEndpoint& relay,
                 const protocol::TransportAddress& peer, protocol::ByteSpan data) noexcept;
  void sweep();
  void count_to_peer(Allocation& a, std::size_t bytes) noexcept;

  boost::asio::io_context& io_;
  SharedServices& services_;
  io::SendBatch& sends_;
  ShardCounters& counters_;
  boost::asio::steady_timer sweep_timer_;
  std::unordered_map<FiveTuple, std::unique_ptr<Allocation>, FiveTupleHash> by_tuple_;
  std::unordered_map<std::uint64_t, Allocation*> by_id_;
  std::unordered_map<std::uint16_t, Allocation*> by_port_;  // relay port -> allocation
  // One relay slot, as the kernel path delivers: headroom, payload, stream padding.
  std::vector<std::uint8_t> handover_ =
      std::vector<std::uint8_t>(io::kHeadroom + kMaxRelayPayload + 4);
  io::ReceiveBatch relay_batch_;
  std::uint64_t indication_counter_ = 0;
};

}  // namespace turnd::server
