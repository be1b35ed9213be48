#include "server/peer_filter.hpp"

#include <cstring>

namespace turnd::server {

using protocol::IpAddress;
using protocol::IpPrefix;

namespace {
std::vector<IpPrefix> parse_all(std::initializer_list<const char*> texts) {
  std::vector<IpPrefix> out;
  for (const char* t : texts) out.push_back(*IpPrefix::parse(t));
  return out;
}
}  // namespace

std::optional<IpAddress> PeerFilter::embedded_v4(const IpAddress& ip) noexcept {
  if (ip.is_v4()) return std::nullopt;
  static const auto mapped = *IpPrefix::parse("::ffff:0:0/96");
  static const auto compat = *IpPrefix::parse("::/96");
  static const auto nat64 = *IpPrefix::parse("64:ff9b::/96");  // well-known prefix: /96 only
  if (mapped.contains(ip) || compat.contains(ip) || nat64.contains(ip))
    return IpAddress::v4({ip.bytes[12], ip.bytes[13], ip.bytes[14], ip.bytes[15]});
  return std::nullopt;
}

const std::vector<IpPrefix>& PeerFilter::default_denied() {
  static const auto list = parse_all({
      "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
      "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4", "::/128",
      "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
      "fd00:ec2::254/128",  // AWS IMDS over IPv6 (inside fc00::/7 too; listed for clarity)
      "64:ff9b:1::/48",     // local-use NAT64 (RFC 8215): any embedding length, so no reading
  });
  return list;
}

PeerFilter::PeerFilter(std::vector<IpPrefix> allow, std::vector<IpPrefix> deny)
    : allow_(std::move(allow)), deny_(default_denied()) {
  deny_.insert(deny_.end(), deny.begin(), deny.end());
}

bool PeerFilter::matches(const std::vector<IpPrefix>& list, const IpAddress& ip) const noexcept {
  for (const auto& p : list)
    if (p.contains(ip)) return true;
  return false;
}

bool PeerFilter::explicitly_allowed(const IpAddress& peer) const noexcept {
  const auto v4 = embedded_v4(peer);
  return matches(allow_, peer) || (v4 && matches(allow_, *v4));
}

bool PeerFilter::allowed(const IpAddress& peer) const noexcept {
  // Judge the IPv4 address an IPv6 form stands for, so ::ffff:127.0.0.1 is loopback too; an
  // explicit allow of the IPv6 form itself still wins.
  if (explicitly_allowed(peer)) return true;
  const auto v4 = embedded_v4(peer);
  if (v4 && matches(deny_, *v4)) return false;
  return !matches(deny_, peer);
}

}  // namespace turnd::server
