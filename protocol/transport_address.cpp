#include "protocol/transport_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace turnd::protocol {

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> b) noexcept {
  IpAddress a;
  a.family = Family::V4;
  std::memcpy(a.bytes.data(), b.data(), 4);
  return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& b) noexcept {
  IpAddress a;
  a.family = Family::V6;
  a.bytes = b;
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) noexcept {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) {
    a.family = Family::V4;
    return a;
  }
  if (inet_pton(AF_INET6, buf, a.bytes.data()) == 1) {
    a.family = Family::V6;
    return a;
  }
  return std::nullopt;
}

bool IpAddress::is_unspecified() const noexcept {
  for (std::size_t i = 0; i < size(); ++i)
    if (bytes[i] != 0) return false;
  return true;
}

IpAddress IpAddress::unmapped() const noexcept {
  static constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (family != Family::V6 || std::memcmp(bytes.data(), kMappedPrefix, 12) != 0) return *this;
  return v4({bytes[12], bytes[13], bytes[14], bytes[15]});
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

std::optional<TransportAddress> TransportAddress::parse(std::string_view text) noexcept {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  auto ip = IpAddress::parse(host);
  if (!ip || (text.front() == '[') != !ip->is_v4()) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || port.empty() || value > 65535)
    return std::nullopt;
  return TransportAddress{*ip, static_cast<std::uint16_t>(value)};
}

std::string TransportAddress::to_string() const {
  return ip.is_v4() ? ip.to_string() + ":" + std::to_string(port)
                    : "[" + ip.to_string() + "]:" + std::to_string(port);
}

std::optional<IpPrefix> IpPrefix::parse(std::string_view text) noexcept {
  auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return std::nullopt;
  unsigned max_len = static_cast<unsigned>(ip->size() * 8), len = max_len;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
        len > max_len)
      return std::nullopt;
  }
  IpPrefix p{*ip, static_cast<std::uint8_t>(len)};
  IpAddress masked = *ip;
  for (unsigned bit = len; bit < max_len; ++bit)
    masked.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  if (masked != *ip) return std::nullopt;  // host bits set: almost always a typo
  return p;
}

bool IpPrefix::contains(const IpAddress& ip) const noexcept {
  if (ip.family != base.family) return false;
  unsigned full = length / 8, rest = length % 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
  return (ip.bytes[full] & mask) == (base.bytes[full] & mask);
}

std::string IpPrefix::to_string() const { return base.to_string() + "/" + std::to_string(length); }

std::size_t TransportAddressHash::operator()(const TransportAddress& a) const noexcept {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a: short keys, no allocation
  for (std::size_t i = 0; i < a.ip.size(); ++i) h = (h ^ a.ip.bytes[i]) * 1099511628211ull;
  h = (h ^ a.port) * 1099511628211ull;
  return static_cast<std::size_t>(h ^ static_cast<std::uint8_t>(a.ip.family));
}

}  // namespace turnd::protocol
