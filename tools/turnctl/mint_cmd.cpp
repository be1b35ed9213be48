// turnctl mint: a TURN REST API credential from the newest active secret, printed as an
// RTCIceServer entry (or shell variables, or a JavaScript statement).
#include <iostream>
#include <memory>

#include "auth/mint.hpp"
#include "auth/redis/credential_repo.hpp"
#include "config/advertised_uris.hpp"
#include "config/embedded_default.hpp"
#include "config/run_secret.hpp"
#include "tools/turnctl/commands.hpp"

namespace turnd::turnctl {

namespace {

constexpr std::chrono::seconds kMaxMintTtl{30 * 86400};

struct MintArgs {
  std::string user, ttl = "1h", host, format = "json";
  std::vector<std::string> uris;
};

// A config without any credentials is what turnd runs with a secret it generated for the run:
// read that from the run-secret file and say so.
std::string run_secret(Context& ctx) {
  std::optional<config::RunSecret> found;
  try {
    found = config::read_run_secret();
  } catch (const std::runtime_error& e) {
    throw Failure(e.what());
  }
  if (!found) {
    std::string looked;
    for (const auto& dir : config::run_secret_dirs())
      looked += (looked.empty() ? "" : ", ") + (dir / config::kRunSecretFile).string();
    throw Failure(ctx.config_name() +
                  " has no credentials and no running turnd left its generated secret here (" +
                  looked + "): start turnd, or set auth.secrets in " + ctx.where_to_configure() +
                  " or run 'turnctl secret add'");
  }
  std::cerr << "turnctl: using the secret turnd generated for its current run, from "
            << found->file.string() << "\n";
  return found->secret;
}

// The newest secret in Redis; without Redis (or with none there) the config's first secret;
// with no credentials configured at all, the secret of the running turnd.
std::string newest_secret(Context& ctx) {
  if (!config::has_credentials(ctx.config())) return run_secret(ctx);
  if (ctx.redis_url()) {
    auto client = ctx.connect_redis();
    auth::redis::CredentialRepo repo{client, ctx.realm()};
    const auto listing = ctx.need(repo.secrets());
    print_problems(listing.problems);
    if (!listing.secrets.empty()) return listing.secrets.front().value;
  }
  const auto& secrets = ctx.config().auth_secrets;
  if (secrets.empty())
    throw Failure("no active secret: run 'turnctl secret add' or set auth.secrets in " +
                  ctx.where_to_configure());
  return secrets.front();
}

// The listen and listen_tls addresses, for a message: "0.0.0.0:3478, [::]:3478, 0.0.0.0:443
// (TLS)".
std::string listen_list(const config::Config& c) {
  std::string out;
  for (const auto& l : c.listen) out += (out.empty() ? "" : ", ") + l.to_string();
  for (const auto& l : c.listen_tls) out += (out.empty() ? "" : ", ") + l.to_string() + " (TLS)";
  return out;
}

// The default URIs: config::advertised_turn_uris, the same as turnd's admin endpoint and its
// start-up line (turn: for listen, turns: for listen_tls, with --host as the host of every
// address). A config that listens on wildcard addresses only (the packaged one), with no
// relay.external_ips for them, would name the addresses of the host turnctl runs on, some of
// them private: one host for all of them then (config::choose_fallback_host), said on stderr,
// as a guess the operator can see.
std::vector<std::string> default_uris(Context& ctx, const std::string& host_flag) {
  const auto& c = ctx.config();
  if (!host_flag.empty() || !config::advertises_only_local_interfaces(c))
    return config::advertised_turn_uris(c, host_flag);
  const auto fallback = config::choose_fallback_host(c.external_ips, config::this_host_fqdn(),
                                                     config::this_host_addresses());
  if (!fallback)
    throw UsageError("no address for the URIs: " + ctx.config_name() + " listens on " +
                     listen_list(c) +
                     " only, sets no relay.external_ips, and this host has no name with a dot "
                     "and no address but loopback and link-local; pass --host HOST or --uri "
                     "turn:HOST:PORT?transport=udp");
  std::cerr << "turnctl: " << ctx.config_name() << " listens on " << listen_list(c)
            << " only: using " << fallback->host << " (" << config::to_string(fallback->source)
            << ") in the URIs (--host overrides)\n";
  return config::advertised_turn_uris(c, fallback->host);
}

void check_uri(const std::string& uri) {
  for (std::string_view scheme : {"turn:", "turns:", "stun:", "stuns:"})
    if (uri.starts_with(scheme) && uri.size() > scheme.size()) return;
  throw UsageError("--uri " + uri + ": expected turn:HOST:PORT?transport=udp (or turns:, stun:)");
}

void mint(Context& ctx, const MintArgs& args) {
  if (args.user.empty()) throw UsageError("--user: must not be empty");
  const auto ttl = parse_ttl(args.ttl, kMaxMintTtl);
  std::vector<std::string> uris = args.uris;
  for (const auto& uri : uris) check_uri(uri);
  if (uris.empty()) uris = default_uris(ctx, args.host);
  const auto credential = auth::mint_rest(args.user, ttl, newest_secret(ctx),
                                          ctx.config().rest_separator, now_seconds(), uris);
  if (args.format == "env")
    std::cout << auth::to_env(credential);
  else if (args.format == "js")
    std::cout << auth::to_js(credential);
  else
    std::cout << auth::to_ice_server_json(credential) << "\n";
}

}  // namespace

void add_mint_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<MintArgs>();
  auto* cmd = app.add_subcommand(
      "mint", "mint a time-limited (REST API) credential for a browser's iceServers");
  cmd->add_option("--user", args->user, "user id put into the username")->required();
  cmd->add_option("--ttl", args->ttl, "lifetime: 30s, 10m, 1h, 1d, ...")->capture_default_str();
  cmd->add_option("--uri", args->uris,
                  "a URI for \"urls\" (repeatable); default turn:HOST:PORT?transport=udp and "
                  "tcp, and turns:HOST:PORT?transport=tcp for listen_tls");
  cmd->add_option("--host", args->host, "HOST for the default URIs (default: from the config)");
  cmd->add_option("--format", args->format, "json (iceServers entry), env or js")
      ->capture_default_str()
      ->check(CLI::IsMember({"json", "env", "js"}));
  cmd->callback([&ctx, args] { mint(ctx, *args); });
}

}  // namespace turnd::turnctl
