#include "server/peer_filter.hpp"

namespace turnd::server {

using protocol::IpAddress;
using protocol::IpPrefix;

namespace {
std::vector<IpPrefix> parse_all(std::initializer_list<const char*> texts) {
  std::vector<IpPrefix> out;
  for (const char* t : texts) out.push_back(*IpPrefix::parse(t));
  return out;
}

bool matches_any(const std::vector<IpPrefix>& list, const IpAddress& ip) noexcept {
  for (const auto& p : list)
    if (p.contains(ip)) return true;
  return false;
}

/// Length of the most specific prefix of `list` containing `ip`, or -1.
int longest_match(const std::vector<IpPrefix>& list, const IpAddress& ip) noexcept {
  int best = -1;
  for (const auto& p : list)
    if (p.length > best && p.contains(ip)) best = p.length;
  return best;
}
}  // namespace

std::optional<PeerFilter::Embedded> PeerFilter::embedded(const IpAddress& ip) noexcept {
  if (ip.is_v4()) return std::nullopt;
  static const auto mapped = *IpPrefix::parse("::ffff:0:0/96");
  static const auto compat = *IpPrefix::parse("::/96");
  static const auto nat64 = *IpPrefix::parse("64:ff9b::/96");  // well-known prefix: /96 only
  static const auto six_to_four = *IpPrefix::parse("2002::/16");
  const auto& b = ip.bytes;
  if (mapped.contains(ip) || compat.contains(ip) || nat64.contains(ip))
    return Embedded{IpAddress::v4({b[12], b[13], b[14], b[15]}), 96};
  if (six_to_four.contains(ip)) return Embedded{IpAddress::v4({b[2], b[3], b[4], b[5]}), 16};
  return std::nullopt;
}

const std::vector<IpPrefix>& PeerFilter::default_denied() {
  static const auto list = parse_all({
      "0.0.0.0/8",         "10.0.0.0/8",    "100.64.0.0/10", "127.0.0.0/8",
      "169.254.0.0/16",    "172.16.0.0/12", "192.0.0.0/24",  "192.168.0.0/16",
      "198.18.0.0/15",     "224.0.0.0/4",   "240.0.0.0/4",   "::/128",
      "::1/128",           "fc00::/7",      "fe80::/10",     "ff00::/8",
      "fd00:ec2::254/128",  // AWS IMDS over IPv6 (inside fc00::/7 too; listed for clarity)
      "fec0::/10",          // site-local (deprecated by RFC 3879, still routed inside sites)
      "2001::/32",          // Teredo: the IPv4 addresses inside cannot be judged
      "::ffff:0:0:0/96",    // IPv4-translated (RFC 2765): reaches IPv4 through a translator
      "64:ff9b:1::/48",     // local-use NAT64 (RFC 8215): any embedding length, so no reading
  });
  return list;
}

PeerFilter::PeerFilter(std::vector<IpPrefix> allow, std::vector<IpPrefix> deny)
    : allow_(std::move(allow)), deny_(std::move(deny)) {}

std::optional<bool> PeerFilter::operator_verdict(const IpAddress& peer) const noexcept {
  int allow = longest_match(allow_, peer), deny = longest_match(deny_, peer);
  if (const auto e = embedded(peer)) {  // an IPv4 rule, as specific as its IPv6 spelling
    const int allow4 = longest_match(allow_, e->v4), deny4 = longest_match(deny_, e->v4);
    if (allow4 >= 0) allow = std::max(allow, allow4 + static_cast<int>(e->offset_bits));
    if (deny4 >= 0) deny = std::max(deny, deny4 + static_cast<int>(e->offset_bits));
  }
  if (allow < 0 && deny < 0) return std::nullopt;
  return allow > deny;  // the most specific rule; a deny wins a tie
}

bool PeerFilter::explicitly_allowed(const IpAddress& peer) const noexcept {
  return operator_verdict(peer).value_or(false);
}

bool PeerFilter::allowed(const IpAddress& peer) const noexcept {
  if (const auto verdict = operator_verdict(peer)) return *verdict;
  const auto e = embedded(peer);
  return !matches_any(default_denied(), peer) && !(e && matches_any(default_denied(), e->v4));
}

}  // namespace turnd::server
