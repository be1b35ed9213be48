// The turnd command line: flags on top of a YAML file (or of the embedded default).
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace turnd::config {

/// What the command line asks for. When show_help or show_version is set, nothing was loaded
/// and `config` holds the built-in defaults.
struct CommandLine {
  Config config;
  bool check_config = false;  ///< --check-config: validate, report, exit
  bool show_version = false;  ///< --version: main prints the version and exits 0
  bool show_help = false;     ///< --help: main prints help_text to stdout and exits 0
  std::string help_text;
};

/// Parses argv, loads --config FILE (or the embedded default), applies the flags on top (a
/// repeatable flag replaces that list from the file) and validates the result.
/// Throws ConfigError with one actionable line, e.g.
/// `--listen "1.2.3.4": expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478`.
CommandLine parse_command_line(int argc, const char* const* argv);

/// The same for the arguments after the program name; for tests and tools.
CommandLine parse_command_line(const std::vector<std::string>& args);

}  // namespace turnd::config
