#include "server/services.hpp"

namespace turnd::server {

QuotaRegistry::Verdict QuotaRegistry::acquire(const std::string& user) {
  if (total_ != 0 && count_.load() >= total_) return Verdict::TotalQuota;
  if (per_user_ != 0) {
    std::lock_guard lock{mutex_};
    auto& n = by_user_[user];
    if (n >= per_user_) return Verdict::UserQuota;
    ++n;
  }
  ++count_;
  return Verdict::Ok;
}

void QuotaRegistry::release(const std::string& user) {
  --count_;
  if (per_user_ == 0) return;
  std::lock_guard lock{mutex_};
  auto it = by_user_.find(user);
  if (it != by_user_.end() && --it->second == 0) by_user_.erase(it);
}

namespace {
auth::CredentialsPtr credentials_from(const config::Config& c) {
  auto creds = std::make_shared<auth::Credentials>();
  creds->realm = c.realm;
  for (const auto& u : c.users) creds->users[u.name] = u.password;
  creds->secrets = c.auth_secrets;
  creds->index_userhashes();
  return creds;
}
}  // namespace

SharedServices::SharedServices(const config::Config& c)
    : config(c),
      ports(c.relay_ports),
      quotas(c.user_quota, c.total_quota),
      peer_filter(c.allow_peers, c.deny_peers),
      auth_options{c.nonce_lifetime, c.clock_skew, c.rest_separator},
      nonces(c.nonce_lifetime),
      credentials(credentials_from(c)) {}

}  // namespace turnd::server
