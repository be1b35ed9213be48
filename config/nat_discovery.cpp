#include "config/nat_discovery.hpp"

#include <algorithm>
#include <vector>

namespace turnd::config {
namespace {

using protocol::TransportAddress;

/// The listen address the alternate pairs with: the first specific one of its family on
/// another IP (full RFC 5780), else the one on its IP (change port only). Wildcards cannot
/// pair: RFC 5780 must know which IP a request came to and answer from the other one.
const TransportAddress* paired_listen(const Config& c, const TransportAddress& alt) {
  const TransportAddress* same_ip = nullptr;
  for (const auto& l : c.listen) {
    if (l.ip.family != alt.ip.family || l.ip.is_unspecified()) continue;
    if (!(l.ip == alt.ip)) return &l;
    if (same_ip == nullptr) same_ip = &l;
  }
  return same_ip;
}

/// Whether a listener on `l` takes (part of) `a`: same family and port, same IP or a wildcard.
bool overlaps(const TransportAddress& l, const TransportAddress& a) {
  return l.port == a.port && l.ip.family == a.ip.family && (l.ip == a.ip || l.ip.is_unspecified());
}

/// A listener that takes `a` without being exactly `a` in `listen` (TLS on its TCP port, DTLS
/// on its UDP port, a wildcard): "" when there is none.
std::string clash(const Config& c, const TransportAddress& a) {
  const std::pair<const char*, const std::vector<TransportAddress>*> keys[] = {
      {"listen", &c.listen}, {"listen_tls", &c.listen_tls}, {"listen_dtls", &c.listen_dtls}};
  for (const auto& [key, list] : keys)
    for (const auto& l : *list)
      if (overlaps(l, a) && !(list == &c.listen && l == a))
        return "RFC 5780 needs " + a.to_string() + ", which " + key + " " + l.to_string() +
               " takes";
  return {};
}

}  // namespace

Parsed<std::optional<NatDiscoveryAddresses>> nat_discovery_addresses(const Config& c) {
  if (!c.alternate_listen) return std::optional<NatDiscoveryAddresses>{};
  const TransportAddress& alt = *c.alternate_listen;
  if (alt.ip.is_unspecified())
    return unexpected(std::string{"needs a specific IP, not a wildcard"});
  const TransportAddress* primary = paired_listen(c, alt);
  if (primary == nullptr)
    return unexpected(std::string{
        "pairs with a listen address of its family that is not a wildcard, and there is none "
        "(e.g. listen: [\"192.0.2.1:3478\"] with alternate_listen: \"192.0.2.2:3479\")"});
  if (alt.port == primary->port)
    return unexpected(alt.ip == primary->ip
                          ? "is the listen address " + primary->to_string() + " itself"
                          : "needs a port other than " + std::to_string(primary->port) +
                                " of listen " + primary->to_string() +
                                " (RFC 5780 changes the IP and the port)");

  NatDiscoveryAddresses out;
  out.change_ip = !(alt.ip == primary->ip);
  out.at[0] = *primary;
  out.at[1] = {alt.ip, primary->port};
  out.at[2] = {primary->ip, alt.port};
  out.at[3] = alt;
  for (unsigned r = 1; r < 4; ++r) {
    if (!out.has(static_cast<DiscoveryRole>(r))) continue;
    if (auto problem = clash(c, out.at[r]); !problem.empty()) return unexpected(problem);
    out.is_listen[r] = std::find(c.listen.begin(), c.listen.end(), out.at[r]) != c.listen.end();
  }
  return std::optional<NatDiscoveryAddresses>{out};
}

std::string describe(const NatDiscoveryAddresses& a) {
  std::string out;
  for (std::size_t r = 0; r < 4; ++r) {
    if (!a.has(static_cast<DiscoveryRole>(r))) continue;
    if (!out.empty()) out += ", ";
    out += a.at[r].to_string() + (a.is_listen[r] ? " (listen)" : "");
  }
  return out + (a.change_ip ? " (change IP and port)" : " (change port only)");
}

}  // namespace turnd::config
