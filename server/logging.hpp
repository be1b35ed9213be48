// spdlog set-up for turnd: text lines or JSON lines on stderr (journald adds timestamps),
// written in batches by one background thread from a bounded buffer (server/logging_sink.hpp),
// so no I/O thread waits for stderr or pays a system call per line.
#pragma once

#include "config/config.hpp"

namespace turnd::server {

/// Makes the default logger write through the batching sink with the configured level and
/// format. In JSON mode every line is one valid JSON object; in text mode every message is one
/// line (control bytes escaped). Throws on an unknown level.
void setup_logging(const config::Config& config);

/// Writes the lines still queued and stops the writer thread; call before main returns.
void shutdown_logging() noexcept;

}  // namespace turnd::server
