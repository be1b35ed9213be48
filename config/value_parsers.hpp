// Text -> typed value for every kind of setting. Shared by the YAML loader and the command line,
// so a value is accepted or refused with the same words wherever it is written.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "protocol/result.hpp"

namespace turnd::config {

/// A parsed value, or what is wrong with the text (one phrase, no location, no secret).
template <class T>
using Parsed = Result<T, std::string>;

/// "ADDR:PORT" with port 1-65535; IPv6 in brackets: "[::]:3478".
Parsed<protocol::TransportAddress> parse_endpoint(std::string_view text);
/// A concrete IP address (not 0.0.0.0 or ::), e.g. a relay address.
Parsed<protocol::IpAddress> parse_concrete_ip(std::string_view text);
/// "10.0.0.0/8", "fe80::/10" or a bare address; host bits must be zero.
Parsed<protocol::IpPrefix> parse_prefix(std::string_view text);
/// "PUBLIC" or "PUBLIC/PRIVATE", both of one family.
Parsed<ExternalIp> parse_external_ip(std::string_view text);
/// "LO-HI" with 1 <= LO <= HI <= 65535.
Parsed<PortRange> parse_port_range(std::string_view text);
/// Whole seconds ("600") or units s, m, h, d ("30s", "10m", "1h30m"), within [min, max].
Parsed<std::chrono::seconds> parse_duration(std::string_view text, std::chrono::seconds min,
                                            std::chrono::seconds max);
/// A decimal number within [min, max].
Parsed<unsigned> parse_unsigned(std::string_view text, unsigned min, unsigned max);
/// true or false (YAML 1.2 spellings).
Parsed<bool> parse_bool(std::string_view text);
/// "NAME:PASSWORD", split at the first colon; both parts non-empty.
Parsed<StaticUser> parse_user(std::string_view text);
/// Why `user` is unusable (empty name or password), or an empty string when it is fine.
std::string check_user(const StaticUser& user);
/// redis://[:PASSWORD@]HOST[:PORT][/DB]; returned unchanged when valid.
Parsed<std::string> parse_redis_setting(std::string_view text);
/// trace, debug, info, warn, error, critical or off.
Parsed<std::string> parse_log_level(std::string_view text);
/// text or json.
Parsed<LogFormat> parse_log_format(std::string_view text);
/// 1-127 characters (RFC 8489 §14.9).
Parsed<std::string> parse_realm(std::string_view text);
/// 0-127 characters (RFC 8489 §14.14); empty means the attribute is not sent.
Parsed<std::string> parse_software(std::string_view text);
/// One ASCII punctuation character, such as ':'.
Parsed<char> parse_rest_separator(std::string_view text);
/// A non-empty shared secret.
Parsed<std::string> parse_secret(std::string_view text);
/// A file name: non-empty, no control characters. Whether it exists is checked by its user.
Parsed<std::string> parse_path(std::string_view text);

}  // namespace turnd::config
