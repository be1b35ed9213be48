// The turn: URIs a client uses to reach this server, derived from the listen addresses: the one
// derivation behind turnd's start-up iceServers line, the admin credential endpoint and
// `turnctl mint`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace turnd::config {

/// turn:HOST:PORT?transport=udp and ?transport=tcp for each listen address, in config order,
/// duplicates dropped. HOST (IPv6 in brackets) is, for each listen address:
///   1. `host` when given (turnctl mint --host), for every listen address;
///   2. else the public address of a relay.external_ips entry of its family whose private
///      address is the listen address, or that has none, or any when the listen address is a
///      wildcard (the last such entry wins);
///   3. else the listen address itself when it is specific;
///   4. else (a wildcard: 0.0.0.0, ::) this host's addresses of its family: its global ones (at
///      most four per family; link-local and loopback left out), or loopback when it has none.
/// No turns: URIs: turnd has no TLS listener yet.
std::vector<std::string> advertised_turn_uris(const Config& config, std::string_view host = {});

/// True when advertised_turn_uris (without `host`) would name only the addresses of the host it
/// runs on (step 4 for every listen address). turnctl mint refuses then, as it may run on
/// another host than turnd.
bool advertises_only_local_interfaces(const Config& config);

}  // namespace turnd::config
