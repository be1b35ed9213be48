// The turnctl subcommands, one file each; main.cpp wires them into the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include "tools/turnctl/context.hpp"

namespace turnd::turnctl {

/// A failure with an exit status of its own (nat-type: 3 unreachable, 4 no RFC 5780;
/// probe: 3 unreachable, 4 a step failed); main
/// prints the message and exits with `status`.
struct FailureWithStatus : Failure {
  FailureWithStatus(int s, const std::string& what) : Failure(what), status(s) {}
  int status;
};

/// turnctl secret add | list | retire
void add_secret_commands(CLI::App& app, Context& ctx);
/// turnctl user add | list | revoke
void add_user_commands(CLI::App& app, Context& ctx);
/// turnctl mint
void add_mint_command(CLI::App& app, Context& ctx);
/// turnctl check-config
void add_check_config_command(CLI::App& app, Context& ctx);
/// turnctl cert self-signed
void add_cert_commands(CLI::App& app, Context& ctx);
/// turnctl sessions | kick (through turnd's admin listener)
void add_sessions_commands(CLI::App& app, Context& ctx);
/// turnctl nat-type (RFC 5780 client tests against a STUN server)
void add_nat_type_command(CLI::App& app, Context& ctx);
/// turnctl probe (Binding, Allocate, permission, channel, relay echo against stun:/turn: URLs)
void add_probe_command(CLI::App& app, Context& ctx);

}  // namespace turnd::turnctl
