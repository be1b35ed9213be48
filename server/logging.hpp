// spdlog set-up for turnd: text lines or JSON lines on stderr (journald adds timestamps).
#pragma once

#include "config/config.hpp"

namespace turnd::server {

/// Applies the configured level and format to the default logger. Throws on an unknown level.
void setup_logging(const config::Config& config);

}  // namespace turnd::server
