// Which peer addresses an allocation may relay to. By default everything public is allowed
// and the ranges that would let a client reach the server's own host or network are denied
// (loopback, private, link-local/metadata, multicast, reserved), in every form that maps to
// them: IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96) and NAT64 (64:ff9b::/96).
#pragma once

#include <vector>

#include "protocol/transport_address.hpp"

namespace turnd::server {

class PeerFilter {
 public:
  /// `allow` punches holes into the built-in deny list (and into `deny`); `deny` adds ranges.
  PeerFilter(std::vector<protocol::IpPrefix> allow, std::vector<protocol::IpPrefix> deny);

  bool allowed(const protocol::IpAddress& peer) const noexcept;
  /// Whether an --allow-peer range covers `peer` (the operator opened it on purpose).
  bool explicitly_allowed(const protocol::IpAddress& peer) const noexcept {
    return matches(allow_, peer);
  }

  /// The built-in deny list, for documentation and tests.
  static const std::vector<protocol::IpPrefix>& default_denied();

 private:
  bool matches(const std::vector<protocol::IpPrefix>& list, const protocol::IpAddress& ip) const noexcept;
  std::vector<protocol::IpPrefix> allow_, deny_;
};

}  // namespace turnd::server
