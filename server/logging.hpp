// spdlog set-up for turnd: text lines or JSON lines on stderr (journald adds timestamps),
// written by one background thread from a bounded queue, so no I/O thread waits for stderr.
#pragma once

#include "config/config.hpp"

namespace turnd::server {

/// Makes the default logger asynchronous with the configured level and format. In JSON mode
/// every line is one valid JSON object; in text mode every message is one line (control bytes
/// escaped). Throws on an unknown level.
void setup_logging(const config::Config& config);

/// Writes the lines still queued and stops the writer thread; call before main returns.
void shutdown_logging() noexcept;

}  // namespace turnd::server
