// Which peer addresses an allocation may relay to. By default everything public is allowed
// and the ranges that would let a client reach the server's own host or network are denied
// (loopback, private, link-local/metadata, multicast, reserved), in every form that maps to
// them: IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) and NAT64 (64:ff9b::/96). The
// local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215) is denied whole: its embedding length is the
// operator's choice (RFC 6052 §2.2), so the IPv4 address behind it cannot be read back.
#pragma once

#include <optional>
#include <vector>

#include "protocol/transport_address.hpp"

namespace turnd::server {

class PeerFilter {
 public:
  /// `allow` punches holes into the built-in deny list (and into `deny`); `deny` adds ranges.
  PeerFilter(std::vector<protocol::IpPrefix> allow, std::vector<protocol::IpPrefix> deny);

  bool allowed(const protocol::IpAddress& peer) const noexcept;
  /// Whether an --allow-peer range covers `peer` (the operator opened it on purpose).
  bool explicitly_allowed(const protocol::IpAddress& peer) const noexcept;

  /// The IPv4 address an IPv6 address stands for by mapping, compatibility or the NAT64
  /// well-known prefix, if any.
  static std::optional<protocol::IpAddress> embedded_v4(const protocol::IpAddress& ip) noexcept;

  /// The built-in deny list, for documentation and tests.
  static const std::vector<protocol::IpPrefix>& default_denied();

 private:
  bool matches(const std::vector<protocol::IpPrefix>& list,
               const protocol::IpAddress& ip) const noexcept;
  std::vector<protocol::IpPrefix> allow_, deny_;
};

}  // namespace turnd::server
