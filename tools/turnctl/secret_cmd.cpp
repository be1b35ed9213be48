// turnctl secret add | list | retire: the REST API shared secrets in Redis.
#include <iostream>
#include <memory>

#include "auth/mint.hpp"
#include "auth/redis/credential_repo.hpp"
#include "config/value_parsers.hpp"
#include "tools/turnctl/commands.hpp"

namespace turnd::turnctl {

namespace {

constexpr std::size_t kSecretBytes = 32;

struct SecretArgs {
  std::string value, id;
  bool show_values = false;
};

void add(Context& ctx, const SecretArgs& args) {
  std::string value = args.value.empty() ? auth::random_base64(kSecretBytes) : args.value;
  auto client = ctx.connect_redis();
  auth::redis::CredentialRepo repo{client, ctx.realm()};
  std::cout << ctx.need(repo.add_secret(value, std::chrono::system_clock::now())) << "\n";
}

void list(Context& ctx, const SecretArgs& args) {
  auto client = ctx.connect_redis();
  auth::redis::CredentialRepo repo{client, ctx.realm()};
  const auto listing = ctx.need(repo.secrets());
  if (listing.secrets.empty()) {
    std::cout << "no secrets in Redis (run 'turnctl secret add')\n";
  } else {
    std::cout << "ID                   CREATED (UTC)          " << (args.show_values ? "VALUE" : "")
              << "\n";
    bool first = true;
    for (const auto& s : listing.secrets) {
      std::cout << s.id << std::string(s.id.size() < 21 ? 21 - s.id.size() : 1, ' ')
                << format_time(s.created) << "   " << (args.show_values ? s.value + "   " : "")
                << (first ? "(minting)" : "") << "\n";
      first = false;
    }
  }
  if (const auto n = ctx.config().auth_secrets.size(); n > 0)
    std::cout << "also accepted: " << n << " secret(s) from auth.secrets in " << ctx.config_name()
              << "\n";
  if (print_problems(listing.problems))
    throw Failure("some secrets in Redis are unusable (see above)");
}

void retire(Context& ctx, const SecretArgs& args) {
  auto client = ctx.connect_redis();
  auth::redis::CredentialRepo repo{client, ctx.realm()};
  if (!ctx.need(repo.retire_secret(args.id)))
    throw Failure("no secret " + args.id + " in Redis (see 'turnctl secret list')");
  std::cout << "retired secret " << args.id << "\n";
}

}  // namespace

void add_secret_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<SecretArgs>();
  auto* secret = app.add_subcommand("secret", "manage the REST API shared secrets in Redis");
  secret->require_subcommand(1);

  auto* add_cmd =
      secret->add_subcommand("add", "add a secret; it mints from now on (prints its id)");
  add_cmd->add_option("--value", args->value, "the secret (default: 32 random bytes, base64)")
      ->check([](const std::string& v) {
        auto ok = config::parse_secret(v);
        return ok ? std::string() : ok.error();
      });
  add_cmd->callback([&ctx, args] { add(ctx, *args); });

  auto* list_cmd =
      secret->add_subcommand("list", "list the active secrets, newest (minting) first");
  list_cmd->add_flag("--show-values", args->show_values, "also print the secret values");
  list_cmd->callback([&ctx, args] { list(ctx, *args); });

  auto* retire_cmd = secret->add_subcommand("retire", "stop accepting a secret");
  retire_cmd->add_option("ID", args->id, "the secret id (see 'turnctl secret list')")->required();
  retire_cmd->callback([&ctx, args] { retire(ctx, *args); });
}

}  // namespace turnd::turnctl
