// One TURN allocation (RFC 8656 §2.2): the client's 5-tuple, its relayed transport address(es),
// permissions and channel bindings. Owner: its shard's thread (held by its AllocationTable);
// expiry is data (expires_at fields, judged by the shard's clock), swept once a second and
// checked lazily on use.
#pragma once

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/integrity.hpp"
#include "protocol/message_view.hpp"
#include "protocol/transport_address.hpp"
#include "server/client_context.hpp"
#include "server/clock.hpp"

namespace turnd::server {

namespace relay {
struct TcpAllocation;  // server/relay/tcp_relay.hpp
}

inline constexpr std::chrono::seconds kPermissionLifetime{300};  // RFC 8656 §9
inline constexpr std::chrono::seconds kChannelLifetime{600};     // RFC 8656 §12
/// An expired channel's number and peer stay reserved this long (RFC 8656 §12, last para).
inline constexpr std::chrono::seconds kChannelCooldown{300};

/// The client's side of the 5-tuple plus the transport: the allocation's identity.
struct FiveTuple {
  protocol::TransportAddress client;
  protocol::TransportAddress server;
  Transport transport = Transport::Udp;
  friend bool operator==(const FiveTuple&, const FiveTuple&) = default;
};
struct FiveTupleHash {
  std::size_t operator()(const FiveTuple& t) const noexcept {
    protocol::TransportAddressHash h;
    return h(t.client) * 31 ^ h(t.server) ^ static_cast<std::size_t>(t.transport);
  }
};

struct Permission {
  protocol::IpAddress peer;
  SteadyTime expires_at;
};

struct ChannelBinding {
  std::uint16_t number = 0;
  protocol::TransportAddress peer;
  SteadyTime expires_at;
  bool active(SteadyTime now) const noexcept { return now < expires_at; }
};

/// A relay socket and the addresses that go with it.
struct RelayEndpoint {
  explicit RelayEndpoint(boost::asio::ip::udp::socket s) : socket(std::move(s)) {}
  boost::asio::ip::udp::socket socket;
  protocol::TransportAddress bound;       // what the socket is bound to
  protocol::TransportAddress advertised;  // XOR-RELAYED-ADDRESS (external IP when behind NAT)
};

struct RelayCounters {
  std::uint64_t packets_to_peer = 0, bytes_to_peer = 0;
  std::uint64_t packets_from_peer = 0, bytes_from_peer = 0;
};

struct Allocation {
  std::uint64_t id = 0;
  FiveTuple five_tuple;
  ClientSink* sink = nullptr;  // the listener or connection the client's traffic uses
  std::string username;
  std::string quota_user;  // what QuotaRegistry counts (the user id of a REST username)
  protocol::IntegrityKey key;
  protocol::IntegrityAlg alg = protocol::IntegrityAlg::Sha1;
  std::optional<std::chrono::sys_seconds> credential_expires;  // REST credential
  SteadyTime expires_at;
  SteadyTime created_at;
  std::vector<RelayEndpoint> relays;  // one per address family (IPv4 first when both)
  // RFC 6062: non-null for a TCP allocation (its one relay has no UDP socket; this listens on
  // the relayed address and holds the peer connections).
  std::shared_ptr<relay::TcpAllocation> tcp;
  std::vector<Permission> permissions;
  std::vector<ChannelBinding> channels;
  RelayCounters counters;
  // The last request answered, so a retransmission gets the same answer (RFC 8656 §7.2).
  protocol::TransactionId last_transaction{};
  std::vector<std::uint8_t> last_response;

  RelayEndpoint* relay_for(protocol::Family f) noexcept;
  const RelayEndpoint* relay_for(protocol::Family f) const noexcept {
    return const_cast<Allocation*>(this)->relay_for(f);
  }
  bool has_permission(const protocol::IpAddress& peer, SteadyTime now) const noexcept;
  /// Whether `added` new permissions fit in `max` once expired ones are dropped. CreatePermission
  /// and ChannelBind both ask it before changing anything (all or nothing).
  bool has_room_for_permissions(std::size_t added, SteadyTime now, std::size_t max);
  /// Installs the permission for `peer`, or refreshes it for another 300 s (RFC 8656 §9).
  void install_permission(const protocol::IpAddress& peer, SteadyTime now);
  const ChannelBinding* channel_by_number(std::uint16_t number, SteadyTime now) const noexcept;
  const ChannelBinding* channel_by_peer(const protocol::TransportAddress& peer,
                                        SteadyTime now) const noexcept;
};

}  // namespace turnd::server
