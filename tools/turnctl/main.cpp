// turnctl: the operator's command line for turnd (credentials, secrets, config checks, test
// certificates, live sessions). It reads the same config file as turnd, so it finds Redis, the
// realm and the admin listener by itself.
// Exit status: 0 ok, 1 the command failed, 2 the command line is wrong; nat-type adds 3 (server
// unreachable) and 4 (server lacks RFC 5780), probe 3 (a server unreachable) and 4 (a step
// failed).
#include <CLI/CLI.hpp>
#include <iostream>

#include "config/config_error.hpp"
#include "protocol/version.hpp"
#include "tools/turnctl/commands.hpp"

int main(int argc, char** argv) {
  using namespace turnd::turnctl;
  Context ctx;
  CLI::App app{"turnctl - manage turnd credentials, configuration and sessions", "turnctl"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("turnctl ") + turnd::kVersion);
  app.fallthrough();  // global options may follow the subcommand: turnctl mint --config F
  app.add_option("--config", ctx.config_path,
                 std::string("turnd config file (default ") + kDefaultConfig +
                     " if it exists, else the built-in default)");
  app.add_option("--redis", ctx.redis_override, "Redis URL, overrides auth.redis of the config");
  app.add_option("--realm", ctx.realm_override, "realm, overrides realm of the config");

  app.add_subcommand("version", "print the turnctl version")->callback([] {
    std::cout << "turnctl " << turnd::kVersion << "\n";
  });
  add_secret_commands(app, ctx);
  add_user_commands(app, ctx);
  add_mint_command(app, ctx);
  add_check_config_command(app, ctx);
  add_cert_commands(app, ctx);
  add_sessions_commands(app, ctx);
  add_nat_type_command(app, ctx);
  add_probe_command(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const FailureWithStatus& e) {
    std::cerr << "turnctl: " << e.what() << "\n";
    return e.status;
  } catch (const UsageError& e) {
    std::cerr << "turnctl: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {  // Failure, config::ConfigError, std::bad_alloc, ...
    std::cerr << "turnctl: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
