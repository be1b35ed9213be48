// The turn: URIs a client uses to reach this server, derived from the listen addresses.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace turnd::config {

/// turn:HOST:PORT?transport=udp and ?transport=tcp for each listen address, with the public
/// address of a matching relay.external_ips entry instead when there is one. A wildcard listen
/// address (0.0.0.0, ::) stands for this host's addresses of its family: its global ones (at
/// most four per family; link-local and loopback left out), or loopback when it has none.
std::vector<std::string> advertised_turn_uris(const Config& config);

}  // namespace turnd::config
