#include "config/value_parsers.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace turnd::config {
namespace {

using std::chrono::seconds;

// One row: the text, and either the value it gives (printed back) or the problem reported.
struct TextCase {
  std::string_view text;
  std::string_view expect;  // the value's to_string(), or the problem text
  bool ok;
};

template <class Parse, class Print>
void run_cases(std::string_view what, std::initializer_list<TextCase> cases, Parse parse,
               Print print) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(what) + " " + std::string(c.text));
    auto parsed = parse(c.text);
    ASSERT_EQ(parsed.has_value(), c.ok) << (parsed ? print(*parsed) : parsed.error());
    EXPECT_EQ(parsed ? print(*parsed) : parsed.error(), c.expect);
  }
}

constexpr std::string_view kEndpoint = "expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478";
constexpr std::string_view kPort = "expected ADDR:PORT with port 1-65535, IPv6 as [::1]:3478";
constexpr std::string_view kHostName =
    "ADDR must be an IP address (host names are not resolved); expected ADDR:PORT, e.g. "
    "0.0.0.0:3478 or [::]:3478";

TEST(ValueParsers, Endpoint) {
  run_cases("endpoint",
            {
                {"0.0.0.0:3478", "0.0.0.0:3478", true},
                {"[::]:3478", "[::]:3478", true},
                {"[2001:db8::1]:5349", "[2001:db8::1]:5349", true},
                {"1.2.3.4:65535", "1.2.3.4:65535", true},
                {"1.2.3.4", kEndpoint, false},
                {"", kEndpoint, false},
                {"::1", kEndpoint, false},
                {"1.2.3.4:99999", kPort, false},
                {"1.2.3.4:0", kPort, false},
                {"1.2.3.4:", kPort, false},
                {"1.2.3.4:x", kPort, false},
                {"[::1]:70000", kPort, false},
                {"localhost:3478", kHostName, false},
                {"[1.2.3.4]:3478", kHostName, false},
            },
            parse_endpoint, [](const auto& a) { return a.to_string(); });
}

TEST(ValueParsers, ConcreteIp) {
  constexpr std::string_view kBad = "expected an IP address, e.g. 192.0.2.10 or 2001:db8::10";
  constexpr std::string_view kAny = "must be a concrete address, not 0.0.0.0 or ::";
  run_cases("ip",
            {
                {"192.0.2.10", "192.0.2.10", true},
                {"2001:db8::10", "2001:db8::10", true},
                {"0.0.0.0", kAny, false},
                {"::", kAny, false},
                {"192.0.2.10:3478", kBad, false},
                {"host", kBad, false},
            },
            parse_concrete_ip, [](const auto& a) { return a.to_string(); });
}

TEST(ValueParsers, Prefix) {
  constexpr std::string_view kBad = "expected ADDR/LENGTH, e.g. 10.0.0.0/8 or fe80::/10";
  run_cases("prefix",
            {
                {"10.0.0.0/8", "10.0.0.0/8", true},
                {"fe80::/10", "fe80::/10", true},
                {"192.0.2.1", "192.0.2.1/32", true},
                {"10.1.2.3/8", "host bits are set; did you mean 10.0.0.0/8?", false},
                {"fe80::1/10", "host bits are set; did you mean fe80::/10?", false},
                {"10.0.0.0/33", kBad, false},
                {"10.0.0.0/", kBad, false},
                {"10/8", kBad, false},
            },
            parse_prefix, [](const auto& p) { return p.to_string(); });
}

TEST(ValueParsers, ExternalIp) {
  constexpr std::string_view kBad = "expected PUBLIC or PUBLIC/PRIVATE, e.g. 203.0.113.5/10.0.0.5";
  run_cases(
      "external ip",
      {
          {"203.0.113.5", "203.0.113.5", true},
          {"203.0.113.5/10.0.0.5", "203.0.113.5/10.0.0.5", true},
          {"2001:db8::5/fd00::5", "2001:db8::5/fd00::5", true},
          {"203.0.113.5/fd00::5", "PUBLIC and PRIVATE must both be IPv4 or both be IPv6", false},
          {"0.0.0.0/10.0.0.5", "PUBLIC must be a concrete address, not 0.0.0.0 or ::", false},
          {"203.0.113.5/", kBad, false},
          {"2001:db8::/64", kBad, false},
          {"example.com", kBad, false},
      },
      parse_external_ip, [](const ExternalIp& e) {
        return e.public_ip.to_string() + (e.private_ip ? "/" + e.private_ip->to_string() : "");
      });
}

TEST(ValueParsers, PortRange) {
  constexpr std::string_view kBad = "expected LO-HI, e.g. 49152-65535";
  constexpr std::string_view kRange = "ports must be 1-65535";
  run_cases("ports",
            {
                {"49152-65535", "49152-65535", true},
                {"3478-3478", "3478-3478", true},
                {"0-100", kRange, false},
                {"1000-65536", kRange, false},
                {"2000-1000", "LO must not be greater than HI", false},
                {"1000", kBad, false},
                {"1000-", kBad, false},
                {"-1000", kBad, false},
                {"a-b", kBad, false},
                {"1000 - 2000", kBad, false},
            },
            parse_port_range,
            [](const PortRange& r) { return std::to_string(r.min) + "-" + std::to_string(r.max); });
}

TEST(ValueParsers, Duration) {
  constexpr std::string_view kBad = "expected seconds or a duration such as 30s, 10m, 1h30m";
  constexpr std::string_view kRange = "must be 1-86400 seconds";
  run_cases(
      "duration",
      {
          {"600", "600", true},     {"30s", "30", true},   {"10m", "600", true},
          {"1h", "3600", true},     {"1d", "86400", true}, {"1h30m", "5400", true},
          {"1m30s", "90", true},    {"0", kRange, false},  {"0s", kRange, false},
          {"86401", kRange, false}, {"2d", kRange, false}, {"99999999999999999999d", kRange, false},
          {"", kBad, false},        {"10x", kBad, false},  {"m", kBad, false},
          {"1h30", kBad, false},    {"-5", kBad, false},   {"1.5h", kBad, false},
          {"10 m", kBad, false},
      },
      [](std::string_view t) { return parse_duration(t, seconds{1}, seconds{86400}); },
      [](seconds s) { return std::to_string(s.count()); });
}

TEST(ValueParsers, Unsigned) {
  constexpr std::string_view kBad = "expected a whole number 0-1024";
  run_cases(
      "unsigned",
      {
          {"0", "0", true},
          {"1024", "1024", true},
          {"1025", kBad, false},
          {"-1", kBad, false},
          {"+1", kBad, false},
          {"0x10", kBad, false},
          {"", kBad, false},
          {"99999999999999999999999", kBad, false},
      },
      [](std::string_view t) { return parse_unsigned(t, 0, 1024); },
      [](unsigned n) { return std::to_string(n); });
}

TEST(ValueParsers, SmallEnumsAndStrings) {
  auto same = [](const auto& v) { return std::string(v); };
  run_cases("bool",
            {{"true", "1", true}, {"False", "0", true}, {"yes", "expected true or false", false}},
            parse_bool, [](bool b) { return std::to_string(b); });
  run_cases("log level",
            {{"warn", "warn", true},
             {"off", "off", true},
             {"warning", "expected one of trace, debug, info, warn, error, critical, off", false}},
            parse_log_level, same);
  run_cases("log format", {{"json", "json", true}, {"JSON", "expected text or json", false}},
            parse_log_format, [](LogFormat f) { return f == LogFormat::Json ? "json" : "text"; });
  const std::string long_realm(128, 'r');
  const std::string utf8_realm = std::string(127, 'r').substr(1) + "é";  // 127 chars, 128 bytes
  run_cases("realm",
            {{"example.org", "example.org", true},
             {utf8_realm, utf8_realm, true},
             {"", "must be 1-127 characters", false},
             {long_realm, "must be 1-127 characters", false}},
            parse_realm, same);
  run_cases(
      "software",
      {{"", "", true}, {long_realm, "must be at most 127 characters (\"\" = do not send)", false}},
      parse_software, same);
  const std::string_view kSeparator = "expected one punctuation character such as \":\"";
  run_cases("separator",
            {{":", ":", true},
             {"-", "-", true},
             {"", kSeparator, false},
             {"::", kSeparator, false},
             {"a", kSeparator, false},
             {" ", kSeparator, false}},
            parse_rest_separator, [](char c) { return std::string(1, c); });
  run_cases("secret", {{"s3cr3t", "s3cr3t", true}, {"", "secret must not be empty", false}},
            parse_secret, same);
}

TEST(ValueParsers, User) {
  run_cases("user",
            {
                {"alice:secret", "alice/secret", true},
                {"alice:pass:word", "alice/pass:word", true},
                {"alice", "expected NAME:PASSWORD", false},
                {"alice:", "user \"alice\" has no password", false},
                {":secret", "user name must not be empty", false},
            },
            parse_user, [](const StaticUser& u) { return u.name + "/" + u.password; });
}

TEST(ValueParsers, RedisUrl) {
  // The one Redis URL parser (config/redis_url) decides; these rows check the setting keeps
  // the text and reports its message. Every form is tabled in tests/unit/redis/redis_url_test.
  constexpr std::string_view kBad =
      "expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], e.g. redis://127.0.0.1:6379/0";
  run_cases(
      "redis",
      {
          {"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", true},
          {"redis://:pw@redis.internal:6379/2", "redis://:pw@redis.internal:6379/2", true},
          {"redis://localhost", "redis://localhost", true},
          {"redis://[::1]:6379", "redis://[::1]:6379", true},
          {"http://127.0.0.1:6379", kBad, false},
          {"127.0.0.1:6379", kBad, false},
          {"redis://127.0.0.1:0", "port must be 1-65535", false},
          {"redis://127.0.0.1:70000", "port must be 1-65535", false},
          {"redis://127.0.0.1/db", "DB must be a database number, e.g. redis://127.0.0.1:6379/0",
           false},
          // Issue 9, defect 8: the config accepted this and the client then refused it at start.
          {"redis://127.0.0.1/2000000",
           "DB must be a database number, e.g. redis://127.0.0.1:6379/0", false},
          {"redis://user:pw@127.0.0.1", "redis://user:pw@127.0.0.1", true},
      },
      parse_redis_setting, [](const std::string& s) { return s; });
}

}  // namespace
}  // namespace turnd::config
