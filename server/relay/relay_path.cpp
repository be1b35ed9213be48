#include "server/relay/relay_path.hpp"

#include <cstring>

namespace turnd::server::relay {

using namespace protocol;
namespace asio = boost::asio;

static_assert(HandoffItem::kMaxPayload == kMaxRelayPayload, "a ring slot holds a relay slot");

void RelayPath::watch(Allocation& a) {
  for (std::size_t i = 0; i < a.relays.size(); ++i) {
    batch_.prepare_socket(a.relays[i].socket.native_handle());
    wait_readable(a.id, i);
  }
}

void RelayPath::wait_readable(std::uint64_t id, std::size_t relay_index) {
  Allocation* a = table_.find_by_id(id);
  if (a == nullptr) return;
  a->relays[relay_index].socket.async_wait(
      asio::ip::udp::socket::wait_read,
      [this, id, relay_index](const boost::system::error_code& ec) {
        if (ec) return;  // closed: the allocation is gone, do not touch it
        Allocation* found = table_.find_by_id(id);
        if (found == nullptr) return;
        on_readable(*found, found->relays[relay_index]);
        wait_readable(id, relay_index);
      });
}

void RelayPath::on_readable(Allocation& a, RelayEndpoint& relay) noexcept {
  clock_.tick();
  const SteadyTime now = clock_.steady();
  for (int round = 0; round < 8; ++round) {
    const int n = batch_.receive(relay.socket.native_handle(), relay.bound.port);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      auto& d = batch_[static_cast<std::size_t>(i)];
      if (d.truncated) {  // larger than a relay slot: not media, not relayed
        ++counters_.dropped_malformed;
        continue;
      }
      // RFC 8656 §10.3: without a permission for the peer's IP the datagram is dropped.
      if (!a.has_permission(d.from.ip, now)) {
        ++counters_.peer_packets_without_permission;
        continue;
      }
      to_client(a, d.from, d.payload, d.buffer_start);
    }
    if (batch_.drained()) break;
  }
  // Other relay sockets are often ready in the same turn of the loop, most sending to the
  // same listener socket: one sendmmsg (and segmented writes per client) for all of them.
  sends_.flush_soon();
}

void RelayPath::to_client(Allocation& a, const TransportAddress& from, MutableByteSpan data,
                          const std::uint8_t* buffer_start) noexcept {
  if (data.size() > kMaxRelayPayload) return;  // never framed (16-bit lengths)
  ++a.counters.packets_from_peer;
  a.counters.bytes_from_peer += data.size();
  ++counters_.packets_from_peer;
  counters_.bytes_from_peer.add(data.size());
  const ByteSpan framed = frame_for_client(a, from, data, buffer_start, a.sink->is_stream(),
                                           clock_.steady(), indications_);
  if (!framed.empty()) a.sink->send_to_client(framed, a.five_tuple.client, a.five_tuple.server);
}

Allocation* RelayPath::relay_target(const TransportAddress& relayed) noexcept {
  Allocation* target = table_.find_by_relay_port(relayed.port);
  if (target == nullptr) return nullptr;
  const RelayEndpoint* r = target->relay_for(relayed.ip.family);
  return r != nullptr && r->advertised == relayed ? target : nullptr;
}

void RelayPath::deliver_from_relay(Allocation& target, const TransportAddress& from,
                                   MutableByteSpan payload,
                                   const std::uint8_t* buffer_start) noexcept {
  // RFC 8656 §10.3 as for a datagram off the network: the target needs a permission for the
  // sender's relayed IP.
  if (!target.has_permission(from.ip, clock_.steady())) {
    ++counters_.peer_packets_without_permission;
    return;
  }
  to_client(target, from, payload, buffer_start);
}

bool RelayPath::hand_over(Allocation& from, const RelayEndpoint& relay,
                          const TransportAddress& peer, ByteSpan data) noexcept {
  // Relay to relay (both browsers of a call on this server): deliver to the target allocation
  // directly, as if the datagram had crossed the network from our relayed address: two system
  // calls instead of four, and no hairpin through a NAT. Another shard's allocation gets it
  // through that shard's inbox (only in the exact form it advertised: another form, such as
  // IPv4-mapped, goes through the kernel as it does on this shard).
  const auto owner = services_.live_relays.owner(peer);
  if (owner && *owner != shard_ && *owner < services_.handoff.shards() &&
      peer.ip == peer.ip.unmapped())
    return hand_to_shard(*owner, from, relay, peer, data);
  Allocation* target = relay_target(peer);
  if (target == nullptr) return false;
  count_to_peer(from, data.size());
  ++counters_.handoff_same_shard;
  std::uint8_t* payload = handover_.data() + io::kHeadroom;
  std::memcpy(payload, data.data(), data.size());
  deliver_from_relay(*target, relay.advertised, {payload, data.size()}, handover_.data());
  return true;
}

bool RelayPath::hand_to_shard(unsigned owner, Allocation& from, const RelayEndpoint& relay,
                              const TransportAddress& peer, ByteSpan data) noexcept {
  // Counted as sent, as a datagram the kernel took; the owner checks the permission with its
  // own table and clock when it drains (drain_handoff).
  count_to_peer(from, data.size());
  switch (services_.handoff.push(shard_, owner, peer, relay.advertised, data)) {
    case ShardHandoff::Pushed::Queued:
      ++counters_.handoff_cross_shard;
      break;
    case ShardHandoff::Pushed::QueueFull:
      ++counters_.handoff_dropped_queue_full;
      break;
    case ShardHandoff::Pushed::TargetStopped:
      ++counters_.handoff_dropped_target_stopped;
      break;
  }
  return true;
}

void RelayPath::drain_handoff() noexcept {
  ++counters_.handoff_drains;
  services_.handoff.drain(shard_, [this](HandoffItem& item) {
    // An allocation gone since the datagram was queued gets nothing, as its closed relay
    // socket would have.
    if (Allocation* target = relay_target(item.to))
      deliver_from_relay(*target, item.from, item.payload(), item.slot);
  });
  sends_.flush();
}

void RelayPath::count_to_peer(Allocation& a, std::size_t bytes) noexcept {
  ++a.counters.packets_to_peer;
  a.counters.bytes_to_peer += bytes;
  ++counters_.packets_to_peer;
  counters_.bytes_to_peer.add(bytes);
}

void RelayPath::send_to_peer(Allocation& a, const TransportAddress& peer, ByteSpan data) noexcept {
  RelayEndpoint* relay = a.relay_for(peer.ip.family);
  if (relay == nullptr) return;
  // One size rule for every path: what does not fit a relay slot is not relayed, whether it
  // would cross the kernel (where the receiving relay socket would truncate and drop it) or
  // be handed over inside the process (where it used to overflow a 16-bit length field).
  if (data.size() > kMaxRelayPayload) {
    ++counters_.relay_oversize_dropped;
    return;
  }
  if (services_.is_own_address(peer.ip) && hand_over(a, *relay, peer, data)) return;
  // The server's own addresses are reachable only at the exact relayed address of a live
  // allocation (relay to relay when both ends of a call use this server), never other
  // services on the host, unless the operator allowed that range explicitly.
  if (services_.is_guarded_own_address(peer.ip, policy_->peer_filter) &&
      !services_.live_relays.contains(peer)) {
    ++counters_.channel_data_dropped;
    return;
  }
  count_to_peer(a, data.size());
  sends_.enqueue(relay->socket.native_handle(), data, peer, nullptr);
}

}  // namespace turnd::server::relay
