// RFC 5780 NAT behaviour discovery on the server side: which of the four addresses a request
// came to, which RFC 5780 attributes are served where, and the route of a reply that leaves
// from another of the four sockets or goes to another port (CHANGE-REQUEST, RESPONSE-PORT).
// handlers::handle_binding decides the answer (server/handlers/binding.cpp); the dispatcher
// applies the anti-amplification limits and then hands the reply to deliver().
// Owner: its shard's thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "config/config.hpp"
#include "config/nat_discovery.hpp"
#include "protocol/message_view.hpp"
#include "server/client_context.hpp"

namespace turnd::server {

class ShardState;
using config::DiscoveryRole;

/// What a Binding answer on one of the four addresses did, for /metrics
/// (turnd_nat_discovery_replies_total{kind}) and for the limits: all but Plain always count
/// against the unauthenticated-reply limits, whatever their size.
enum class NatReplyKind : std::uint8_t {
  None,          // not an RFC 5780 address: an ordinary Binding answer
  Plain,         // RFC 5780 attributes, back the way the request came
  ChangeIp,      // from the other IP (CHANGE-REQUEST A)
  ChangePort,    // from the other port (B)
  ChangeIpPort,  // from the other IP and port (A and B)
  ResponsePort,  // to another port of the client (RESPONSE-PORT), from the same address
  Padding,       // with PADDING
};

/// Where a reply goes when it does not go back through the listener it came from.
struct NatReplyRoute {
  NatReplyKind kind = NatReplyKind::None;
  int fd = -1;  // >= 0: sent from this socket of the shard, to `to`
  protocol::TransportAddress to;

  /// Whether the reply counts against the unauthenticated-reply limits even when it is not
  /// larger than its request: it reflects to another port, leaves from another address, or
  /// is grown by PADDING.
  bool always_limited() const noexcept {
    return kind != NatReplyKind::None && kind != NatReplyKind::Plain;
  }
};

/// The unknown comprehension-required attributes of one request, as answered in a 420.
struct UnknownList {
  std::array<std::uint16_t, protocol::MessageView::kMaxAttributes> types{};
  std::size_t count = 0;
  std::span<const std::uint16_t> span() const noexcept { return {types.data(), count}; }
  bool empty() const noexcept { return count == 0; }
};

class NatDiscovery {
 public:
  /// From the start-up config (alternate_listen checked by the config loader; throws
  /// std::invalid_argument if it is wrong all the same).
  explicit NatDiscovery(const config::Config& config);

  bool enabled() const noexcept { return addresses_.has_value(); }
  const config::NatDiscoveryAddresses& addresses() const noexcept { return *addresses_; }
  /// The role of `local` (the address a request came to), or nullopt: not one of the four.
  std::optional<DiscoveryRole> role_of(const protocol::TransportAddress& local) const noexcept;
  /// Whether `local` is one of the addresses opened for NAT discovery alone (Binding only).
  bool binding_only(const protocol::TransportAddress& local) const noexcept;
  /// This shard's UDP socket of `role` (set once the listeners are open).
  void set_socket(DiscoveryRole role, int fd) noexcept { fds_[index(role)] = fd; }
  int socket(DiscoveryRole role) const noexcept { return fds_[index(role)]; }

  /// The parser's unknown comprehension-required attributes of `msg`, plus the RFC 5780 ones
  /// where they are not served: anywhere but in a Binding request to one of the four
  /// addresses. A CHANGE-REQUEST with neither flag asks for nothing and passes in any Binding
  /// (JSTUN-style clients send one to every server; coturn answers them too).
  UnknownList unknown_attributes(const protocol::MessageView& msg,
                                 const ClientContext& ctx) const noexcept;

 private:
  static std::size_t index(DiscoveryRole r) noexcept { return static_cast<std::size_t>(r); }
  std::optional<config::NatDiscoveryAddresses> addresses_;
  std::array<int, 4> fds_{-1, -1, -1, -1};
};

/// Sends `reply` the way `route` says and counts it: from another socket of the shard (then
/// returns nothing for the listener to send), or returns it for the listener.
protocol::ByteSpan deliver(const NatReplyRoute& route, protocol::ByteSpan reply,
                           ShardState& shard) noexcept;

}  // namespace turnd::server
