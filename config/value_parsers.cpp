#include "config/value_parsers.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>

#include "config/config_error.hpp"
#include "config/embedded_default.hpp"
#include "config/redis_url.hpp"

namespace turnd::config {
namespace {

using protocol::IpAddress;
using protocol::IpPrefix;
using protocol::TransportAddress;

template <class T>
Parsed<T> fail(std::string problem) {
  return unexpected(std::move(problem));
}

// Digits only: no sign, no spaces, no "0x". Too many digits saturate, to fail the range check.
std::optional<std::uint64_t> to_number(std::string_view digits) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || end != digits.data() + digits.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return std::numeric_limits<std::uint64_t>::max();
  return value;
}

// RFC 8489 counts REALM and SOFTWARE in characters, not bytes: skip UTF-8 continuation bytes.
std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

IpAddress without_host_bits(IpAddress ip, unsigned length) {
  for (unsigned bit = length; bit < ip.size() * 8; ++bit)
    ip.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return ip;
}

std::uint64_t unit_seconds(char unit) {
  constexpr std::string_view kUnits = "smhd";
  constexpr std::uint64_t kSeconds[] = {1, 60, 3600, 86400};
  auto i = kUnits.find(unit);
  return i == std::string_view::npos ? 0 : kSeconds[i];
}

constexpr std::string_view kEndpointHint = "expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478";
constexpr std::string_view kDurationHint = "expected seconds or a duration such as 30s, 10m, 1h30m";
constexpr std::string_view kPortHint = "expected ADDR:PORT with port 1-65535, IPv6 as [::1]:3478";

}  // namespace

Parsed<TransportAddress> parse_endpoint(std::string_view text) {
  if (auto a = TransportAddress::parse(text); a && a->port != 0) return *a;
  // Say which half is wrong: the address or the port.
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || IpAddress::parse(text))
    return fail<TransportAddress>(std::string(kEndpointHint));
  auto host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (auto ip = IpAddress::parse(host); ip && !ip->is_v4())
      return fail<TransportAddress>(std::string(kPortHint));
  } else if (auto ip = IpAddress::parse(host); ip && ip->is_v4()) {
    return fail<TransportAddress>(std::string(kPortHint));
  }
  return fail<TransportAddress>("ADDR must be an IP address (host names are not resolved); " +
                                std::string(kEndpointHint));
}

Parsed<IpAddress> parse_concrete_ip(std::string_view text) {
  auto ip = IpAddress::parse(text);
  if (!ip) return fail<IpAddress>("expected an IP address, e.g. 192.0.2.10 or 2001:db8::10");
  if (ip->is_unspecified()) return fail<IpAddress>("must be a concrete address, not 0.0.0.0 or ::");
  return *ip;
}

Parsed<IpPrefix> parse_prefix(std::string_view text) {
  if (auto p = IpPrefix::parse(text)) return *p;
  auto slash = text.find('/');
  auto base = IpAddress::parse(text.substr(0, slash));
  auto length = slash == std::string_view::npos ? std::nullopt : to_number(text.substr(slash + 1));
  if (base && length && *length <= base->size() * 8) {
    auto unsigned_length = static_cast<unsigned>(*length);
    return fail<IpPrefix>("host bits are set; did you mean " +
                          without_host_bits(*base, unsigned_length).to_string() + "/" +
                          std::to_string(unsigned_length) + "?");
  }
  return fail<IpPrefix>("expected ADDR/LENGTH, e.g. 10.0.0.0/8 or fe80::/10");
}

Parsed<ExternalIp> parse_external_ip(std::string_view text) {
  constexpr std::string_view kHint = "expected PUBLIC or PUBLIC/PRIVATE, e.g. 203.0.113.5/10.0.0.5";
  auto slash = text.find('/');
  auto public_ip = IpAddress::parse(text.substr(0, slash));
  if (!public_ip) return fail<ExternalIp>(std::string(kHint));
  if (public_ip->is_unspecified())
    return fail<ExternalIp>("PUBLIC must be a concrete address, not 0.0.0.0 or ::");
  ExternalIp external{*public_ip, std::nullopt};
  if (slash != std::string_view::npos) {
    external.private_ip = IpAddress::parse(text.substr(slash + 1));
    if (!external.private_ip) return fail<ExternalIp>(std::string(kHint));
    if (external.private_ip->family != public_ip->family)
      return fail<ExternalIp>("PUBLIC and PRIVATE must both be IPv4 or both be IPv6");
  }
  return external;
}

Parsed<PortRange> parse_port_range(std::string_view text) {
  auto dash = text.find('-');
  auto lo = to_number(text.substr(0, dash));
  auto hi = dash == std::string_view::npos ? std::nullopt : to_number(text.substr(dash + 1));
  if (!lo || !hi) return fail<PortRange>("expected LO-HI, e.g. 49152-65535");
  if (*lo < 1 || *lo > 65535 || *hi < 1 || *hi > 65535)
    return fail<PortRange>("ports must be 1-65535");
  if (*lo > *hi) return fail<PortRange>("LO must not be greater than HI");
  return PortRange{static_cast<std::uint16_t>(*lo), static_cast<std::uint16_t>(*hi)};
}

Parsed<std::chrono::seconds> parse_duration(std::string_view text, std::chrono::seconds min,
                                            std::chrono::seconds max) {
  constexpr std::uint64_t kHuge = std::uint64_t{1} << 40;  // far above any limit, no overflow
  std::uint64_t total = 0;
  if (auto seconds = to_number(text)) {
    total = *seconds;
  } else {
    if (text.empty()) return fail<std::chrono::seconds>(std::string(kDurationHint));
    for (std::string_view rest = text; !rest.empty();) {  // NUMBER UNIT [NUMBER UNIT]...
      auto digits_end = rest.find_first_not_of("0123456789");
      auto number = to_number(rest.substr(0, digits_end));
      auto unit = digits_end == std::string_view::npos ? 0 : unit_seconds(rest[digits_end]);
      if (!number || unit == 0) return fail<std::chrono::seconds>(std::string(kDurationHint));
      total = std::min(kHuge, total + std::min(kHuge, *number) * unit);
      rest.remove_prefix(digits_end + 1);
    }
  }
  if (total < static_cast<std::uint64_t>(min.count()) ||
      total > static_cast<std::uint64_t>(max.count()))
    return fail<std::chrono::seconds>("must be " + std::to_string(min.count()) + "-" +
                                      std::to_string(max.count()) + " seconds");
  return std::chrono::seconds(static_cast<std::int64_t>(total));
}

Parsed<unsigned> parse_unsigned(std::string_view text, unsigned min, unsigned max) {
  auto value = to_number(text);
  if (!value || *value < min || *value > max)
    return fail<unsigned>("expected a whole number " + std::to_string(min) + "-" +
                          std::to_string(max));
  return static_cast<unsigned>(*value);
}

Parsed<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return fail<bool>("expected true or false");
}

std::string check_user(const StaticUser& user) {
  if (user.name.empty()) return "user name must not be empty";
  if (user.password.empty()) return "user " + quote(user.name) + " has no password";
  return {};
}

Parsed<StaticUser> parse_user(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return fail<StaticUser>("expected NAME:PASSWORD");
  StaticUser user{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  if (auto problem = check_user(user); !problem.empty()) return fail<StaticUser>(problem);
  return user;
}

Parsed<std::string> parse_redis_setting(std::string_view text) {
  // The same parser the Redis client uses: what passes here connects there.
  auto url = parse_redis_url(text);
  if (!url) return fail<std::string>(url.error());
  return std::string(text);
}

Parsed<std::string> parse_log_level(std::string_view text) {
  for (std::string_view level : {"trace", "debug", "info", "warn", "error", "critical", "off"})
    if (text == level) return std::string(text);
  return fail<std::string>("expected one of trace, debug, info, warn, error, critical, off");
}

Parsed<LogFormat> parse_log_format(std::string_view text) {
  if (text == "text") return LogFormat::Text;
  if (text == "json") return LogFormat::Json;
  return fail<LogFormat>("expected text or json");
}

Parsed<std::string> parse_realm(std::string_view text) {
  auto length = utf8_length(text);
  if (length == 0 || length > 127) return fail<std::string>("must be 1-127 characters");
  return std::string(text);
}

Parsed<std::string> parse_software(std::string_view text) {
  if (utf8_length(text) > 127)
    return fail<std::string>("must be at most 127 characters (\"\" = do not send)");
  return std::string(text);
}

Parsed<char> parse_rest_separator(std::string_view text) {
  if (text.size() != 1 || !std::ispunct(static_cast<unsigned char>(text[0])))
    return fail<char>("expected one punctuation character such as \":\"");
  return text[0];
}

Parsed<std::string> parse_secret(std::string_view text) {
  if (text.empty()) return fail<std::string>("secret must not be empty");
  if (text == kPublicSecret)
    return fail<std::string>(
        "this is the public secret of turnd's old default config, anyone can mint credentials "
        "with it: choose your own (e.g. openssl rand -base64 32), or set no credentials at all "
        "and turnd generates a secret for each run");
  return std::string(text);
}

Parsed<std::string> parse_path(std::string_view text) {
  if (text.empty()) return fail<std::string>("expected a file name, e.g. /etc/turnd/cert.pem");
  for (const unsigned char ch : text)
    if (ch < 0x20 || ch == 0x7F) return fail<std::string>("file name holds a control character");
  return std::string(text);
}

}  // namespace turnd::config
