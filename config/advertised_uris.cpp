#include "config/advertised_uris.hpp"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <optional>

namespace turnd::config {

namespace {

using protocol::Family;
using protocol::IpAddress;
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
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
    IpAddress ip;
    if (family == Family::V4 && i->ifa_addr->sa_family == AF_INET) {
      std::array<std::uint8_t, 4> b{};
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
      ip = IpAddress::v4(b);
    } else if (family == Family::V6 && i->ifa_addr->sa_family == AF_INET6) {
      std::array<std::uint8_t, 16> b{};
      std::memcpy(b.data(), &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
      ip = IpAddress::v6(b);
    } else {
      continue;
    }
    if (is_link_local_or_loopback(ip) || std::find(out.begin(), out.end(), ip) != out.end())
      continue;
    out.push_back(ip);
    if (out.size() == kMaxHostsPerFamily) break;
  }
  ::freeifaddrs(list);
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

void add_uris(std::vector<std::string>& uris, const std::string& host, std::uint16_t port) {
  const std::string base = "turn:" + host + ":" + std::to_string(port);
  for (const char* transport : {"?transport=udp", "?transport=tcp"})
    if (std::find(uris.begin(), uris.end(), base + transport) == uris.end())
      uris.push_back(base + transport);
}

}  // namespace

std::vector<std::string> advertised_turn_uris(const Config& config, std::string_view host) {
  std::vector<std::string> uris;
  for (const auto& l : config.listen) {
    if (!host.empty()) {
      add_uris(uris, uri_host(host), l.port);
      continue;
    }
    for (const auto& ip : hosts_for(l, config)) add_uris(uris, uri_host(ip), l.port);
  }
  return uris;
}

bool advertises_only_local_interfaces(const Config& config) {
  return std::all_of(config.listen.begin(), config.listen.end(), [&](const TransportAddress& l) {
    return l.ip.is_unspecified() && !external_host(l, config);
  });
}

}  // namespace turnd::config
