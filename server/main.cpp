// turnd: parse the command line, set up logging, run the server. Start-up errors print one
// actionable line and exit non-zero; nothing below main throws once the shards run.
#include <spdlog/spdlog.h>

#include <iostream>

#include "config/cli.hpp"
#include "config/config_error.hpp"
#include "config/embedded_default.hpp"
#include "protocol/version.hpp"
#include "server/logging.hpp"
#include "server/server.hpp"

int main(int argc, char** argv) {
  using namespace turnd;
  config::CommandLine cl;
  try {
    cl = config::parse_command_line(argc, argv);
  } catch (const config::ConfigError& e) {
    std::cerr << "turnd: " << e.what() << "\n";
    return 2;
  }
  if (cl.show_help) {
    std::cout << cl.help_text;
    return 0;
  }
  if (cl.show_version) {
    std::cout << "turnd " << kVersion << "\n";
    return 0;
  }
  if (cl.check_config) {
    std::cout << cl.config.source << ": OK\n";
    return 0;
  }
  try {
    server::setup_logging(cl.config);
    if (config::drop_superseded_default_secret(cl.config))
      spdlog::info("the embedded default REST secret is off: Redis or static users are configured");
    if (config::uses_default_secret(cl.config))
      spdlog::warn(
          "using the embedded default REST secret: set auth.secrets in a config file "
          "(--config) or --auth-secret before exposing this server");
    server::Server{std::move(cl.config)}.run();
  } catch (const std::exception& e) {
    std::cerr << "turnd: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
