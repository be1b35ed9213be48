// YAML -> Config, with every value validated. Errors name the file, line and key.
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace turnd::config {

/// Reads and validates the YAML file at `path`; `Config::source` is set to `path`.
/// Throws ConfigError: "cannot read FILE: REASON" or "FILE:LINE: KEY: "VALUE": PROBLEM".
Config load_file(const std::string& path);

/// Parses and validates YAML text; `source` names it in messages and in `Config::source`.
/// An empty document gives the built-in defaults. Throws ConfigError.
Config load_string(std::string_view yaml, std::string source = "<string>");

}  // namespace turnd::config
