// turnctl user add | list | revoke: long-term credentials with a lifetime, kept in Redis as
// keys only. The password is printed once and stored nowhere.
#include <iostream>
#include <memory>

#include "auth/mint.hpp"
#include "auth/redis/credential_repo.hpp"
#include "tools/turnctl/commands.hpp"

namespace turnd::turnctl {

namespace {

constexpr std::size_t kPasswordBytes = 18;  // 24 base64url characters
constexpr std::chrono::seconds kMaxUserTtl{365 * 86400};

struct UserArgs {
  std::string name, password, ttl;
};

void check_name(const std::string& name) {
  if (auto problem = auth::redis::check_user_name(name); !problem.empty())
    throw UsageError("NAME " + name + ": " + problem);
}

void add(Context& ctx, const UserArgs& args) {
  check_name(args.name);
  const auto ttl = parse_ttl(args.ttl, kMaxUserTtl);
  const std::string password =
      args.password.empty() ? auth::random_token(kPasswordBytes) : args.password;
  const auto realm = ctx.realm();
  const auto expires = now_seconds() + ttl;
  auto client = ctx.connect_redis();
  auth::redis::CredentialRepo repo{client, realm};
  const bool replaced =
      ctx.need(repo.add_user(args.name, auth::mint_user(args.name, realm, password, expires), ttl));
  std::cout << "user:     " << args.name << (replaced ? " (replaced)" : "") << "\n"
            << "realm:    " << realm << "\n"
            << "password: " << password << "\n"
            << "expires:  " << format_time(expires) << " (in " << format_duration(ttl) << ")\n"
            << "The password is shown only now; turnd keeps keys derived from it.\n";
}

void list(Context& ctx) {
  auto client = ctx.connect_redis();
  const auto realm = ctx.realm();
  auth::redis::CredentialRepo repo{client, realm};
  const auto now = now_seconds();
  const auto listing = ctx.need(repo.users(now));
  if (listing.users.empty()) std::cout << "no minted users in realm " << realm << "\n";
  for (const auto& [name, user] : listing.users)
    std::cout << name << "   expires " << format_time(user.expires) << " (in "
              << format_duration(user.expires - now) << ")\n";
  if (print_problems(listing.problems))
    throw Failure("some users in Redis are unusable (see above)");
}

void revoke(Context& ctx, const UserArgs& args) {
  auto client = ctx.connect_redis();
  const auto realm = ctx.realm();
  auth::redis::CredentialRepo repo{client, realm};
  if (!ctx.need(repo.revoke_user(args.name)))
    throw Failure("no user " + args.name + " in realm " + realm + " (see 'turnctl user list')");
  std::cout << "revoked " << args.name << "; turnd closes their allocations within seconds\n";
}

}  // namespace

void add_user_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<UserArgs>();
  auto* user = app.add_subcommand("user", "manage minted long-term users in Redis");
  user->require_subcommand(1);

  auto* add_cmd = user->add_subcommand("add", "add (or replace) a user; prints the password once");
  add_cmd->add_option("NAME", args->name, "user name")->required();
  add_cmd->add_option("--ttl", args->ttl, "lifetime: 30s, 10m, 1h, 1d, ...")->required();
  add_cmd->add_option("--password", args->password, "the password (default: random)");
  add_cmd->callback([&ctx, args] { add(ctx, *args); });

  auto* list_cmd = user->add_subcommand("list", "list the unexpired users of the realm");
  list_cmd->callback([&ctx] { list(ctx); });

  auto* revoke_cmd = user->add_subcommand("revoke", "delete a user and close their allocations");
  revoke_cmd->add_option("NAME", args->name, "user name")->required();
  revoke_cmd->callback([&ctx, args] { revoke(ctx, *args); });
}

}  // namespace turnd::turnctl
