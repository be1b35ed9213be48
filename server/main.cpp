// turnd: parse the command line, set up logging, run the server. Start-up errors print one
// actionable line and exit non-zero; nothing below main throws once the shards run.
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "auth/mint.hpp"
#include "config/advertised_uris.hpp"
#include "config/cli.hpp"
#include "config/config_error.hpp"
#include "config/embedded_default.hpp"
#include "config/run_secret.hpp"
#include "protocol/version.hpp"
#include "server/certificate_reloader.hpp"
#include "server/logging.hpp"
#include "server/server.hpp"

namespace {

using namespace turnd;

/// Lifetime of the credential logged for a run without configured credentials.
constexpr std::chrono::seconds kRunCredentialTtl{24 * 3600};

/// No users, secrets or Redis: a random REST secret for this run only, kept in a private file
/// for `turnctl mint`, and a ready-to-paste iceServers entry in the log. Returns the file, or
/// nullopt when it could not be written (the entry is logged all the same).
std::optional<std::filesystem::path> generate_run_secret(config::Config& config) {
  const std::string secret = auth::random_token(32);
  config.auth_secrets = {secret};
  std::optional<std::filesystem::path> file;
  try {
    file = config::write_run_secret(secret);
    spdlog::info(
        "no credentials configured (auth.users, auth.secrets, auth.redis): generated a random "
        "REST secret for this run, in {} for 'turnctl mint --user NAME'",
        file->string());
  } catch (const std::exception& e) {
    spdlog::warn(
        "no credentials configured: generated a random REST secret for this run, but could not "
        "keep it for turnctl: {}",
        e.what());
  }
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  const auto entry =
      auth::mint_rest("turnd-guest", kRunCredentialTtl, secret, config.rest_separator, now,
                      config::advertised_turn_uris(config));
  spdlog::info(
      "iceServers entry valid for 24h (paste it into new RTCPeerConnection({{iceServers: "
      "[...]}})): {}",
      auth::to_ice_server_json(entry));
  return file;
}

/// After logging is set up, errors are log lines too (so a JSON log stays JSON).
int fail_logged(config::LogFormat format, const std::exception& e) {
  if (format == config::LogFormat::Json)
    spdlog::critical("{}", e.what());
  else
    std::cerr << "turnd: " << e.what() << "\n";
  server::shutdown_logging();
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
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
    if (auto files = server::tls_files_of(cl.config)) {
      try {  // the certificate files too: a check that passes must mean turnd starts
        const auto contexts = server::io::tls::TlsContexts::load(*files);
        std::cout << "TLS certificate " << contexts->summary() << "\n";
      } catch (const std::exception& e) {
        std::cerr << "turnd: " << e.what() << "\n";
        return 1;
      }
    }
    std::cout << cl.config.source << ": OK\n";
    return 0;
  }
  try {
    server::setup_logging(cl.config);
  } catch (const std::exception& e) {
    std::cerr << "turnd: " << e.what() << "\n";
    return 1;
  }
  const auto log_format = cl.config.log_format;
  std::optional<std::filesystem::path> run_secret_file;
  std::string run_secret;
  try {
    if (!config::has_credentials(cl.config)) {
      run_secret_file = generate_run_secret(cl.config);
      run_secret = cl.config.auth_secrets.front();
    }
    // SIGHUP reads the same command line again (the file and the flags on top of it).
    server::ConfigSource source{std::vector<std::string>(argv + 1, argv + argc), std::nullopt};
    if (!run_secret.empty()) source.generated_secret = run_secret;
    server::Server{std::move(cl.config), std::move(source)}.run();
  } catch (const std::exception& e) {
    if (run_secret_file) config::remove_run_secret(*run_secret_file, run_secret);
    return fail_logged(log_format, e);
  }
  if (run_secret_file) config::remove_run_secret(*run_secret_file, run_secret);
  server::shutdown_logging();
  return 0;
}
