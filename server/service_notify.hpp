// Tells the service manager (systemd, Type=notify) where turnd is in its life: ready once
// every listener is up, reloading around a SIGHUP, stopping at the start of a drain. A no-op
// when NOTIFY_SOCKET is not set (run by hand, in tests without it).
#pragma once

#include <string_view>

namespace turnd::server::service {

void notify_ready();
/// RELOADING=1 with MONOTONIC_USEC (systemd 253's Type=notify-reload wants it; older ones
/// ignore it). Follow with notify_ready() when the reload is over, applied or refused.
void notify_reloading();
void notify_stopping();
/// STATUS=<text>: what `systemctl status turnd` shows.
void notify_status(std::string_view text);

}  // namespace turnd::server::service
