// turnctl check-config: the validation `turnd --check-config` runs, without turnd.
#include <iostream>

#include "config/cli.hpp"
#include "tools/turnctl/commands.hpp"

namespace turnd::turnctl {

void add_check_config_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("check-config", "validate a turnd config file (--config FILE)");
  cmd->callback([&ctx] {
    std::vector<std::string> args{"--check-config"};
    if (const auto file = ctx.config_file(); !file.empty())
      args = {"--config", file, "--check-config"};
    const auto cl = config::parse_command_line(args);  // throws ConfigError
    std::cout << cl.config.source << ": OK\n";
  });
}

}  // namespace turnd::turnctl
