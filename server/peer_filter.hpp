// Which peer addresses an allocation may relay to. By default everything public is allowed
// and the ranges that would let a client reach the server's own host or network are denied
// (loopback, private, link-local/metadata, multicast, reserved, site-local fec0::/10), in every
// IPv6 form that carries an IPv4 address: IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96),
// NAT64 (64:ff9b::/96) and 6to4 (2002::/16, the IPv4 address in bits 16-47). Forms whose IPv4
// address cannot be judged are denied whole: Teredo (2001::/32, the client address is
// obfuscated and the server one is the relay's), IPv4-translated (::ffff:0:0:0/96) and the
// local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215; its embedding length is the operator's
// choice, RFC 6052 §2.2).
//
// The operator's --allow-peer and --deny-peer ranges are judged together, most specific first,
// and a deny wins a tie: an explicit deny is never overridden by a broader allow. An operator
// rule that matches decides; only when none matches does the built-in deny list apply (an
// --allow-peer range punches a hole into it). A rule written for the IPv4 address also covers
// its IPv6 forms, as if written for each (a /8 is as specific as the /104 it stands for under
// ::ffff:0:0/96).
// Owner: any thread (immutable once built; read per packet without locks).
#pragma once

#include <optional>
#include <vector>

#include "protocol/transport_address.hpp"

namespace turnd::server {

class PeerFilter {
 public:
  PeerFilter(std::vector<protocol::IpPrefix> allow, std::vector<protocol::IpPrefix> deny);

  bool allowed(const protocol::IpAddress& peer) const noexcept;
  /// Whether an --allow-peer range decides for `peer` (the operator opened it on purpose).
  bool explicitly_allowed(const protocol::IpAddress& peer) const noexcept;

  /// An IPv4 address carried inside an IPv6 one, and where it sits (in bits).
  struct Embedded {
    protocol::IpAddress v4;
    unsigned offset_bits;
  };
  /// The IPv4 address an IPv6 address stands for by mapping, compatibility, the NAT64
  /// well-known prefix or 6to4, if any.
  static std::optional<Embedded> embedded(const protocol::IpAddress& ip) noexcept;
  static std::optional<protocol::IpAddress> embedded_v4(const protocol::IpAddress& ip) noexcept {
    auto e = embedded(ip);
    return e ? std::optional{e->v4} : std::nullopt;
  }

  /// The built-in deny list, for documentation and tests.
  static const std::vector<protocol::IpPrefix>& default_denied();

 private:
  /// The operator rule that decides for `peer`: nullopt when none matches, else whether it
  /// allows.
  std::optional<bool> operator_verdict(const protocol::IpAddress& peer) const noexcept;

  std::vector<protocol::IpPrefix> allow_, deny_;
};

}  // namespace turnd::server
