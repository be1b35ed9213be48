#include "config/advertised_uris.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>

namespace turnd::config {

namespace {

using protocol::Family;
using protocol::IpAddress;
using protocol::IpPrefix;
using protocol::TransportAddress;

constexpr std::size_t kMaxHostsPerFamily = 4;

bool is_link_local_or_loopback(const IpAddress& ip) {
  if (ip.is_v4()) return ip.bytes[0] == 127 || (ip.bytes[0] == 169 && ip.bytes[1] == 254);
  static const auto loopback = *IpAddress::parse("::1");
  return ip == loopback || (ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80);
}

/// The addresses of the interfaces that are up, of `family`, without link-local and loopback.
std::vector<IpAddress> host_addresses(Family family) {
  std::vector<IpAddress> out;
  for (const auto& ip : this_host_addresses()) {
    if (ip.family != family || is_link_local_or_loopback(ip) ||
        std::find(out.begin(), out.end(), ip) != out.end())
      continue;
    out.push_back(ip);
    if (out.size() == kMaxHostsPerFamily) break;
  }
  if (out.empty()) out.push_back(*IpAddress::parse(family == Family::V4 ? "127.0.0.1" : "::1"));
  return out;
}

/// Step 2: the public address of the relay.external_ips entry for listen address `l`.
std::optional<IpAddress> external_host(const TransportAddress& l, const Config& config) {
  std::optional<IpAddress> host;
  for (const auto& e : config.external_ips)
    if (e.public_ip.family == l.ip.family &&
        (!e.private_ip || *e.private_ip == l.ip || l.ip.is_unspecified()))
      host = e.public_ip;
  return host;
}

/// Steps 2-4 for listen address `l`.
std::vector<IpAddress> hosts_for(const TransportAddress& l, const Config& config) {
  if (auto external = external_host(l, config)) return {*external};
  if (!l.ip.is_unspecified()) return {l.ip};
  return host_addresses(l.ip.family);
}

std::string uri_host(const IpAddress& ip) {
  return ip.is_v4() ? ip.to_string() : "[" + ip.to_string() + "]";
}

/// A --host value as a URI host: an IPv6 address gets its brackets.
std::string uri_host(std::string_view host) {
  if (host.find(':') != std::string_view::npos && !host.starts_with('['))
    return "[" + std::string(host) + "]";
  return std::string(host);
}

enum class Listener { Plain, Tls };

/// What one listener serves at host:port: turn: over UDP and TCP for a plain one (listen),
/// turns: over TCP for a TLS one (listen_tls). A URI listed already is not added again.
void add_uris(std::vector<std::string>& uris, const std::string& host, std::uint16_t port,
              Listener kind) {
  const std::string hostport = host + ":" + std::to_string(port);
  const auto add = [&](std::string uri) {
    if (std::find(uris.begin(), uris.end(), uri) == uris.end()) uris.push_back(std::move(uri));
  };
  if (kind == Listener::Tls) return add("turns:" + hostport + "?transport=tcp");
  add("turn:" + hostport + "?transport=udp");
  add("turn:" + hostport + "?transport=tcp");
}

}  // namespace

std::vector<std::string> advertised_turn_uris(const Config& config, std::string_view host) {
  std::vector<std::string> uris;
  const auto add_for = [&](const TransportAddress& l, Listener kind) {
    if (!host.empty()) return add_uris(uris, uri_host(host), l.port, kind);
    for (const auto& ip : hosts_for(l, config)) add_uris(uris, uri_host(ip), l.port, kind);
  };
  for (const auto& l : config.listen) add_for(l, Listener::Plain);
  for (const auto& l : config.listen_tls) add_for(l, Listener::Tls);
  return uris;
}

bool advertises_only_local_interfaces(const Config& config) {
  const auto local = [&](const TransportAddress& l) {
    return l.ip.is_unspecified() && !external_host(l, config);
  };
  return std::all_of(config.listen.begin(), config.listen.end(), local) &&
         std::all_of(config.listen_tls.begin(), config.listen_tls.end(), local);
}

namespace {

// Not reachable from elsewhere on the Internet, or not unicast (RFC 6890's special-purpose
// registries, the parts an interface can carry): what a global address is not.
bool is_global_unicast(const IpAddress& ip) {
  static const auto kNotGlobal = [] {
    std::vector<IpPrefix> out;
    for (const char* p :
         {"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
          "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
          "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3", "2001:db8::/32"})
      out.push_back(*IpPrefix::parse(p));
    return out;
  }();
  static const auto kV6Global = *IpPrefix::parse("2000::/3");
  if (!ip.is_v4() && !kV6Global.contains(ip)) return false;
  return std::none_of(kNotGlobal.begin(), kNotGlobal.end(),
                      [&](const IpPrefix& p) { return p.contains(ip); });
}

// A DNS name a client elsewhere may resolve: letters, digits, '-' and '.', with a dot, and not
// a name of loopback.
bool is_usable_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.find('.') == std::string_view::npos ||
      name.front() == '.' || name.back() == '.')
    return false;
  for (const char ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '.') return false;
  return name != "localhost" && !name.starts_with("localhost.") && !name.ends_with(".localhost");
}

}  // namespace

std::optional<FallbackHost> choose_fallback_host(const std::vector<ExternalIp>& external_ips,
                                                 std::string_view fqdn,
                                                 const std::vector<IpAddress>& interfaces) {
  if (!external_ips.empty())
    return FallbackHost{external_ips.front().public_ip.to_string(), FallbackSource::ExternalIp};
  if (is_usable_host_name(fqdn)) return FallbackHost{std::string(fqdn), FallbackSource::HostName};
  for (const auto& ip : interfaces)
    if (is_global_unicast(ip)) return FallbackHost{ip.to_string(), FallbackSource::GlobalAddress};
  for (const auto& ip : interfaces)
    if (!is_link_local_or_loopback(ip) && !ip.is_unspecified())
      return FallbackHost{ip.to_string(), FallbackSource::OtherAddress};
  return std::nullopt;
}

std::string_view to_string(FallbackSource source) noexcept {
  switch (source) {
    case FallbackSource::ExternalIp:
      return "the first relay.external_ips address";
    case FallbackSource::HostName:
      return "this host's name";
    case FallbackSource::GlobalAddress:
      return "this host's first global address";
    case FallbackSource::OtherAddress:
      return "this host's first address; it has no global one, so clients elsewhere may not "
             "reach it";
  }
  return "?";
}

std::string this_host_fqdn() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return {};
  addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_family = AF_UNSPEC;
  addrinfo* found = nullptr;
  if (::getaddrinfo(name.data(), nullptr, &hints, &found) != 0) return {};
  std::string fqdn = found != nullptr && found->ai_canonname != nullptr ? found->ai_canonname : "";
  ::freeaddrinfo(found);
  return fqdn;
}

std::vector<IpAddress> this_host_addresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      std::array<std::uint8_t, 4> b{};
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
      out.push_back(IpAddress::v4(b));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      std::array<std::uint8_t, 16> b{};
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
      out.push_back(IpAddress::v6(b));
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace turnd::config
