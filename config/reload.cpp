#include "config/reload.hpp"

#include <functional>

namespace turnd::config {
namespace {

// One restart-only setting: its key, whether it differs, and how to keep the running value.
struct RestartOnly {
  std::string key;
  std::function<bool(const Config&, const Config&)> differs;
  std::function<void(const Config& running, Config& next)> keep;
};

template <class T>
RestartOnly field(std::string key, T Config::*member) {
  return {std::move(key),
          [member](const Config& a, const Config& b) { return !(a.*member == b.*member); },
          [member](const Config& running, Config& next) { next.*member = running.*member; }};
}

// Why each is restart-only: listen/threads/relay.*/udp.* are sockets and shards opened once; the
// realm, nonce lifetime, skew and separator are baked into every shard's Authenticator and the
// nonces in flight; auth.redis is the store's connection; log.format the sinks; admin.listen
// the admin socket; web.listen and web.demo the web socket and its rooms.
const std::vector<RestartOnly>& table() {
  static const std::vector<RestartOnly> t = {
      field("listen", &Config::listen),
      field("listen_tls", &Config::listen_tls),
      field("listen_dtls", &Config::listen_dtls),
      field("alternate_listen", &Config::alternate_listen),
      field("realm", &Config::realm),
      field("threads", &Config::threads),
      field("udp.gso", &Config::udp_gso),
      field("udp.gro", &Config::udp_gro),
      field("log.format", &Config::log_format),
      field("auth.nonce_lifetime", &Config::nonce_lifetime),
      field("auth.clock_skew", &Config::clock_skew),
      field("auth.rest_separator", &Config::rest_separator),
      field("auth.redis", &Config::redis),
      field("relay.ips", &Config::relay_ips),
      field("relay.ports", &Config::relay_ports),
      field("relay.external_ips", &Config::external_ips),
      field("admin.listen", &Config::admin_listen),
      field("web.listen", &Config::web_listen),
      field("web.demo", &Config::web_demo),
  };
  return t;
}

}  // namespace

const std::vector<std::string>& restart_only_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& r : table()) k.push_back(r.key);
    return k;
  }();
  return keys;
}

std::vector<std::string> restart_only_changes(const Config& running, const Config& next) {
  std::vector<std::string> changed;
  for (const auto& r : table())
    if (r.differs(running, next)) changed.push_back(r.key);
  return changed;
}

Config reloadable_part(const Config& running, Config next) {
  for (const auto& r : table()) r.keep(running, next);
  return next;
}

}  // namespace turnd::config
