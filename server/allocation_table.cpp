#include "server/allocation_table.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "protocol/attributes/address.hpp"
#include "protocol/channel_data.hpp"
#include "server/io/udp_listener.hpp"
#include "server/log_text.hpp"

namespace turnd::server {

using namespace protocol;
namespace asio = boost::asio;

AllocationTable::AllocationTable(asio::io_context& io, SharedServices& services,
                                 io::SendBatch& sends, ShardCounters& counters)
    : io_(io), services_(services), sends_(sends), counters_(counters), sweep_timer_(io) {}

AllocationTable::~AllocationTable() {
  while (!by_tuple_.empty()) remove(*by_tuple_.begin()->second, "server stopped");
}

Allocation* AllocationTable::find(const FiveTuple& t) noexcept {
  auto it = by_tuple_.find(t);
  return it == by_tuple_.end() ? nullptr : it->second.get();
}

Allocation& AllocationTable::insert(std::unique_ptr<Allocation> a) {
  Allocation& ref = *a;
  ++counters_.allocations_created;
  counters_.allocations.fetch_add(1, std::memory_order_relaxed);
  by_id_[ref.id] = &ref;
  for (const auto& r : ref.relays) {
    by_port_[r.bound.port] = &ref;
    services_.live_relays.add(r.bound);
    if (r.advertised != r.bound) services_.live_relays.add(r.advertised);
  }
  by_tuple_[ref.five_tuple] = std::move(a);
  for (std::size_t i = 0; i < ref.relays.size(); ++i) wait_relay(ref.id, i);
  return ref;
}

void AllocationTable::remove(Allocation& a, std::string_view reason) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - a.created_at);
  spdlog::info(
      "allocation {} {}: user \"{}\" client {} {} after {}s; to peer {} pkts {} bytes, from peer "
      "{} "
      "pkts {} bytes",
      a.id, reason, logsafe(a.username), to_string(a.five_tuple.transport),
      a.five_tuple.client.to_string(), seconds.count(), a.counters.packets_to_peer,
      a.counters.bytes_to_peer, a.counters.packets_from_peer, a.counters.bytes_from_peer);
  for (auto& r : a.relays) {
    services_.live_relays.remove(r.bound);
    if (r.advertised != r.bound) services_.live_relays.remove(r.advertised);
    by_port_.erase(r.bound.port);
    release_relay(r);
  }
  services_.quotas.release(a.quota_user);
  ++(reason == "expired" ? counters_.allocations_expired : counters_.allocations_deleted);
  counters_.allocations.fetch_sub(1, std::memory_order_relaxed);
  by_id_.erase(a.id);
  by_tuple_.erase(a.five_tuple);  // destroys `a`
}

void AllocationTable::remove_by_user(std::string_view user) {
  std::vector<Allocation*> doomed;
  for (auto& [t, a] : by_tuple_)
    if (a->username == user) doomed.push_back(a.get());
  for (auto* a : doomed) remove(*a, "closed: credential revoked");
}

namespace {
/// A relay port taken from the pool, given back on every path that does not keep it.
class PortLease {
 public:
  PortLease(RelayPortPool& pool, std::uint16_t port) noexcept : pool_(pool), port_(port) {}
  ~PortLease() {
    if (port_ != 0) pool_.give_back(port_);
  }
  PortLease(const PortLease&) = delete;
  PortLease& operator=(const PortLease&) = delete;
  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t keep() noexcept { return std::exchange(port_, 0); }

 private:
  RelayPortPool& pool_;
  std::uint16_t port_;
};
}  // namespace

std::optional<RelayEndpoint> AllocationTable::open_relay(const IpAddress& ip, std::uint16_t port,
                                                         bool even, bool dont_fragment) {
  // A port can be taken by another process on the host: try a few before giving up. Any other
  // failure (EMFILE, ENFILE, ENOBUFS...) will not go away by trying another port.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::optional<std::uint16_t> taken = port;
    if (port == 0) taken = services_.ports.take(even);
    if (!taken) break;  // the range is exhausted
    PortLease lease{services_.ports, *taken};
    boost::system::error_code ec;
    auto socket = io::try_open_udp_socket(io_, TransportAddress{ip, lease.port()}, false, ec);
    if (socket) {
      if (dont_fragment && ip.is_v4()) {
        int mode = IP_PMTUDISC_DO;
        ::setsockopt(socket->native_handle(), IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof mode);
      }
      RelayEndpoint r{std::move(*socket)};
      r.bound = TransportAddress{ip, lease.port()};
      r.advertised = r.bound;
      lease.keep();
      return r;
    }
    if (port != 0 || ec != boost::asio::error::address_in_use) {
      if (ec != boost::asio::error::address_in_use)
        spdlog::warn("relay socket on {} failed: {}", ip.to_string(), ec.message());
      break;
    }
  }
  ++counters_.relay_open_failed;
  return std::nullopt;
}

void AllocationTable::release_relay(RelayEndpoint& r) {
  boost::system::error_code ec;
  r.socket.close(ec);
  services_.ports.give_back(r.bound.port);
}

void AllocationTable::wait_relay(std::uint64_t id, std::size_t relay_index) {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return;
  it->second->relays[relay_index].socket.async_wait(
      asio::ip::udp::socket::wait_read,
      [this, id, relay_index](const boost::system::error_code& ec) {
        if (ec) return;  // closed: the allocation is gone, do not touch it
        auto found = by_id_.find(id);
        if (found == by_id_.end()) return;
        on_relay_readable(*found->second, found->second->relays[relay_index]);
        wait_relay(id, relay_index);
      });
}

void AllocationTable::on_relay_readable(Allocation& a, RelayEndpoint& relay) noexcept {
  const SteadyTime now = std::chrono::steady_clock::now();
  for (int round = 0; round < 8; ++round) {
    const int n = relay_batch_.receive(relay.socket.native_handle(), relay.bound.port);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      auto& d = relay_batch_[static_cast<std::size_t>(i)];
      // RFC 8656 §10.3: without a permission for the peer's IP the datagram is dropped.
      if (d.truncated) {  // larger than a relay slot: not media, not relayed
        ++counters_.dropped_malformed;
        continue;
      }
      if (!a.has_permission(d.from.ip, now)) {
        ++counters_.peer_packets_without_permission;
        continue;
      }
      relay_to_client(a, d.from, d.payload, relay_batch_.slot(static_cast<std::size_t>(i)), now);
    }
    sends_.flush();
    if (static_cast<std::size_t>(n) < io::kBatchSize) break;
  }
}

void AllocationTable::relay_to_client(Allocation& a, const TransportAddress& from,
                                      MutableByteSpan data, const std::uint8_t* buffer_start,
                                      SteadyTime now) noexcept {
  // Every caller passes at most one relay slot; a larger payload could not be framed with a
  // 16-bit length, so it is never sent (a fuzz or logic error must not become a forged frame).
  TURND_ASSERT(data.size() <= kMaxRelayPayload);
  if (data.size() > kMaxRelayPayload) return;
  std::uint8_t* payload = data.data();
  const auto len = static_cast<std::uint16_t>(data.size());
  const bool stream = a.sink->is_stream();
  const std::size_t pad = (4 - len % 4) % 4;
  ++a.counters.packets_from_peer;
  a.counters.bytes_from_peer += len;
  ++counters_.packets_from_peer;
  counters_.bytes_from_peer.add(len);

  if (const ChannelBinding* ch = a.channel_by_peer(from, now)) {
    // RFC 8656 §12.6: ChannelData, written in the headroom in front of the payload.
    std::uint8_t* start = payload - kChannelDataHeaderSize;
    write_channel_data_header(start, ch->number, len);
    std::size_t total = kChannelDataHeaderSize + len;
    if (stream) {
      std::memset(payload + len, 0, pad);
      total += pad;
    }
    a.sink->send_to_client({start, total}, a.five_tuple.client, a.five_tuple.server);
    return;
  }
  // RFC 8656 §10.3: a Data indication with XOR-PEER-ADDRESS and DATA, also built in place.
  const std::size_t peer_attr = 4 + 4 + from.ip.size();
  const std::size_t header_len = kHeaderSize + peer_attr + 4;
  std::uint8_t* start = payload - header_len;
  if (start < buffer_start) return;
  Header h;
  ++indication_counter_;
  std::memcpy(h.transaction_id.data(), &indication_counter_, sizeof indication_counter_);
  std::memcpy(h.transaction_id.data() + 8, &a.id, 4);
  ByteWriter w{{start, header_len}};
  w.write_u16(MessageType{Method::Data, Class::Indication}.encode());
  w.write_u16(static_cast<std::uint16_t>(peer_attr + 4 + len + pad));
  w.write_u32(kMagicCookie);
  w.write_bytes(h.transaction_id);
  w.write_u16(static_cast<std::uint16_t>(AttrType::XorPeerAddress));
  w.write_u16(static_cast<std::uint16_t>(4 + from.ip.size()));
  XorPeerAddress{from}.encode(w, h);
  w.write_u16(static_cast<std::uint16_t>(AttrType::Data));
  w.write_u16(len);
  std::memset(payload + len, 0, pad);
  a.sink->send_to_client({start, header_len + len + pad}, a.five_tuple.client, a.five_tuple.server);
}

bool AllocationTable::hand_over(Allocation& from, const RelayEndpoint& relay,
                                const TransportAddress& peer, ByteSpan data) noexcept {
  // Relay to relay on this shard (both browsers of a call on this server): deliver to the
  // target allocation directly, as if the datagram had crossed the network from our relayed
  // address: two system calls instead of four, and no hairpin through a NAT.
  auto it = by_port_.find(peer.port);
  if (it == by_port_.end()) return false;
  Allocation& target = *it->second;
  const RelayEndpoint* target_relay = target.relay_for(peer.ip.family);
  if (target_relay == nullptr || target_relay->advertised != peer) return false;
  count_to_peer(from, data.size());
  const SteadyTime now = std::chrono::steady_clock::now();
  if (!target.has_permission(relay.advertised.ip, now)) {
    ++counters_.peer_packets_without_permission;
    return true;
  }
  std::uint8_t* payload = handover_.data() + io::kHeadroom;
  std::memcpy(payload, data.data(), data.size());
  relay_to_client(target, relay.advertised, {payload, data.size()}, handover_.data(), now);
  return true;
}

void AllocationTable::count_to_peer(Allocation& a, std::size_t bytes) noexcept {
  ++a.counters.packets_to_peer;
  a.counters.bytes_to_peer += bytes;
  ++counters_.packets_to_peer;
  counters_.bytes_to_peer.add(bytes);
}

void AllocationTable::send_to_peer(Allocation& a, const TransportAddress& peer,
                                   ByteSpan data) noexcept {
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
  if (services_.is_guarded_own_address(peer.ip) && !services_.live_relays.contains(peer)) {
    ++counters_.channel_data_dropped;
    return;
  }
  count_to_peer(a, data.size());
  sends_.enqueue(relay->socket.native_handle(), data, peer, nullptr);
}

void AllocationTable::start() { sweep(); }

void AllocationTable::stop() { sweep_timer_.cancel(); }

void AllocationTable::sweep() {
  const SteadyTime now = std::chrono::steady_clock::now();
  const auto wall =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  std::vector<Allocation*> expired;
  for (auto& [t, a] : by_tuple_) {
    // An allocation never outlives its REST credential (re-checked at every Refresh too).
    if (now >= a->expires_at || (a->credential_expires && wall > *a->credential_expires)) {
      expired.push_back(a.get());
      continue;
    }
    std::erase_if(a->permissions, [&](const Permission& p) { return now >= p.expires_at; });
    std::erase_if(a->channels,
                  [&](const ChannelBinding& c) { return now >= c.expires_at + kChannelCooldown; });
  }
  for (auto* a : expired) remove(*a, "expired");
  services_.ports.expire_reservations(now);
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) sweep();
  });
}

}  // namespace turnd::server
