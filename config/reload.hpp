// What a reload (SIGHUP) may change. Some settings are bound to sockets, threads or state
// made once at start-up; a reload keeps their running values, logs each one that changed as
// "needs a restart", and applies everything else.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace turnd::config {

/// The dotted keys of the settings a reload cannot apply, in packaging/turnd.yaml order:
/// listen, listen_tls, listen_dtls, realm, threads, log.format, auth.nonce_lifetime,
/// auth.clock_skew, auth.rest_separator, auth.redis, relay.ips, relay.ports, relay.external_ips,
/// admin.listen.
const std::vector<std::string>& restart_only_keys();

/// The restart-only keys whose value differs between `running` and `next`.
std::vector<std::string> restart_only_changes(const Config& running, const Config& next);

/// `next` with every restart-only setting taken from `running`: what a reload installs.
Config reloadable_part(const Config& running, Config next);

}  // namespace turnd::config
