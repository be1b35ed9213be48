#include "server/services.hpp"

#include <ifaddrs.h>

#include <algorithm>
#include <cstring>

#include "server/io/socket_address.hpp"

namespace turnd::server {

QuotaRegistry::Verdict QuotaRegistry::acquire(const std::string& user) {
  const unsigned total_limit = total_.load(std::memory_order_relaxed);
  unsigned seen = count_.load();
  do {
    if (total_limit != 0 && seen >= total_limit) return Verdict::TotalQuota;
  } while (!count_.compare_exchange_weak(seen, seen + 1));
  const unsigned per_user = per_user_.load(std::memory_order_relaxed);
  std::lock_guard lock{mutex_};
  auto& n = by_user_[user];
  if (per_user != 0 && n >= per_user) {
    if (n == 0) by_user_.erase(user);
    --count_;
    return Verdict::UserQuota;
  }
  ++n;
  return Verdict::Ok;
}

void QuotaRegistry::release(const std::string& user) {
  --count_;
  std::lock_guard lock{mutex_};
  auto it = by_user_.find(user);
  if (it != by_user_.end() && --it->second == 0) by_user_.erase(it);
}

namespace {
std::vector<protocol::IpAddress> host_addresses(const config::Config& c) {
  std::vector<protocol::IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr) continue;
      const int family = i->ifa_addr->sa_family;
      if (family != AF_INET && family != AF_INET6) continue;
      sockaddr_storage ss{};
      std::memcpy(&ss, i->ifa_addr, family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
      out.push_back(io::from_sockaddr(ss).ip);
    }
    freeifaddrs(list);
  }
  for (const auto& l : c.listen)
    if (!l.ip.is_unspecified()) out.push_back(l.ip);
  for (const auto& ip : c.relay_ips) out.push_back(ip);
  for (const auto& e : c.external_ips) {
    out.push_back(e.public_ip);
    if (e.private_ip) out.push_back(*e.private_ip);
  }
  out.push_back(*protocol::IpAddress::parse("::1"));
  return out;
}

io::UdpOffload offload_from(const config::Config& c) {
  const io::UdpOffload kernel = io::probe_udp_offload();
  return {c.udp_gso && kernel.gso, c.udp_gro && kernel.gro};
}
}  // namespace

ConnectionLimiter::Limits connection_limits(const config::Config& c) {
  return {.per_source = c.max_connections_per_source,
          .total = c.max_connections,
          .per_second = c.max_connection_rate_per_source,
          .limit_loopback = c.limit_loopback};
}

auth::CredentialsPtr credentials_from(const config::Config& c) {
  auto creds = std::make_shared<auth::Credentials>();
  creds->realm = c.realm;
  for (const auto& u : c.users) creds->users[u.name] = u.password;
  creds->secrets = c.auth_secrets;
  creds->index_userhashes();
  return creds;
}

SharedServices::SharedServices(const config::Config& c, const Clock& clk)
    : config(c),
      clock(clk),
      initial_policy(make_policy(c)),
      ports(c.relay_ports),
      quotas(c.user_quota, c.total_quota),
      handoff(std::max(1u, c.threads)),
      connections(connection_limits(c), clk),
      unauthenticated_replies(c.max_unauthenticated_per_second, clk.steady()),
      auth_options{c.nonce_lifetime, c.clock_skew, c.rest_separator},
      nonces(c.nonce_lifetime),
      credentials(credentials_from(c)),
      own_addresses(host_addresses(c)),
      udp_offload(offload_from(c)) {}

}  // namespace turnd::server
