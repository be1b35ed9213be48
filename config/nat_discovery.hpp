// The four addresses of RFC 5780 NAT behaviour discovery (§6: a server with an alternate IP
// and port), derived from `listen` and `alternate_listen`. One rule, used by the config check
// (file:line errors) and by the shards that open the sockets.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/value_parsers.hpp"

namespace turnd::config {

/// Which of the four addresses: bit 0 set = the alternate IP, bit 1 set = the alternate port.
/// CHANGE-REQUEST's flags flip these bits; OTHER-ADDRESS is the role with both flipped.
enum class DiscoveryRole : std::uint8_t { Primary = 0, OtherIp = 1, OtherPort = 2, OtherBoth = 3 };

struct NatDiscoveryAddresses {
  /// Indexed by DiscoveryRole: IP1:P1 (the paired listen address), IP2:P1, IP1:P2, IP2:P2.
  std::array<protocol::TransportAddress, 4> at{};
  /// Roles that are also `listen` addresses (Primary always): their listener serves TURN as
  /// well; the others get Binding-only listeners of their own.
  std::array<bool, 4> is_listen{true, false, false, false};
  /// false: alternate_listen has the listen IP and another port (change port only); then
  /// only Primary and OtherPort exist.
  bool change_ip = true;

  const protocol::TransportAddress& operator[](DiscoveryRole r) const noexcept {
    return at[static_cast<std::size_t>(r)];
  }
  bool has(DiscoveryRole r) const noexcept {
    return change_ip || (static_cast<unsigned>(r) & 1u) == 0;
  }
};

/// Nothing without alternate_listen; the addresses, or what is wrong with the pairing (no
/// specific listen address of its family, same address, same port on another IP, a clash with
/// another listener).
Parsed<std::optional<NatDiscoveryAddresses>> nat_discovery_addresses(const Config& c);

/// For the start-up log: "192.0.2.1:3478 (listen), 192.0.2.2:3478, ... (change IP and port)".
std::string describe(const NatDiscoveryAddresses& a);

}  // namespace turnd::config
