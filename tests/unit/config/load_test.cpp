#include "config/load.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "config/config_error.hpp"
#include "config/embedded_default.hpp"
#include "config/settings.hpp"

namespace turnd::config {
namespace {

using protocol::IpAddress;
using protocol::IpPrefix;
using protocol::TransportAddress;
using std::chrono::seconds;

const std::string kExamplePath = TURND_SOURCE_DIR "/packaging/turnd.yaml";

std::string load_error(std::string_view yaml) {
  try {
    load_string(yaml, "turnd.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TransportAddress endpoint(std::string_view text) { return *TransportAddress::parse(text); }
IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }
IpPrefix prefix(std::string_view text) { return *IpPrefix::parse(text); }

// --- every mistake gives one line: FILE:LINE: KEY: "VALUE": what is wrong -------------------

struct ErrorCase {
  std::string name, yaml, message;
};

const ErrorCase kErrors[] = {
    {"bad_port_in_list", "listen:\n  - \"0.0.0.0:3478\"\n  - \"1.2.3.4:99999\"\n",
     R"(turnd.yaml:3: listen[1]: "1.2.3.4:99999": expected ADDR:PORT with port 1-65535, IPv6 as [::1]:3478)"},
    {"missing_port_flow_list", "listen: [\"0.0.0.0:3478\", \"1.2.3.4\"]\n",
     R"(turnd.yaml:1: listen[1]: "1.2.3.4": expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478)"},
    {"ipv6_port_zero", "listen: [\"[::1]:0\"]",
     R"(turnd.yaml:1: listen[0]: "[::1]:0": expected ADDR:PORT with port 1-65535, IPv6 as [::1]:3478)"},
    {"alternate_server_unspecified", "alternate_servers: [\"0.0.0.0:3478\"]",
     R"(turnd.yaml:1: alternate_servers[0]: "0.0.0.0:3478": expected a reachable address and port, e.g. 192.0.2.10:3478)"},
    {"shutdown_grace_too_long", "shutdown_grace: 2h",
     R"(turnd.yaml:1: shutdown_grace: "2h": must be 0-3600 seconds)"},
    {"listen_twice", "listen: [\"[::]:3478\", \"[::]:3478\"]",
     R"(turnd.yaml:1: listen[1]: "[::]:3478": address listed twice)"},
    {"listen_empty", "realm: x\nlisten: []",
     "turnd.yaml:2: listen: at least one address is needed, e.g. 0.0.0.0:3478"},
    {"listen_not_a_list", "listen: \"0.0.0.0:3478\"",
     R"(turnd.yaml:1: listen: expected a list such as ["0.0.0.0:3478"])"},
    {"typo_top_level", "realm: a\nrelam: b",
     "turnd.yaml:2: relam: unknown key; did you mean realm or relay?"},
    {"typo_swapped_letters", "thraeds: 1",
     "turnd.yaml:1: thraeds: unknown key; did you mean threads?"},
    {"typo_nested", "relay:\n  max_lifetme: 10",
     "turnd.yaml:2: relay.max_lifetme: unknown key; did you mean max_lifetime?"},
    {"dashes_for_underscores", "relay:\n  max-lifetime: 10",
     "turnd.yaml:2: relay.max-lifetime: unknown key; did you mean max_lifetime?"},
    {"key_in_wrong_section", "users: []",
     "turnd.yaml:1: users: unknown key here; did you mean auth.users?"},
    {"key_should_be_top_level", "relay:\n  realm: x",
     "turnd.yaml:2: relay.realm: unknown key here; did you mean top-level realm?"},
    {"unknown_key", "\n\nfrobnicate: 1",
     "turnd.yaml:3: frobnicate: unknown key; expected one of: listen, listen_tls, "
     "listen_dtls, alternate_listen, realm, threads, udp, log, software, shutdown_grace, "
     "alternate_servers, auth, relay, limits, tls, admin, web"},
    {"unknown_key_deep", "limits:\n  foo: 1",
     "turnd.yaml:2: limits.foo: unknown key; expected one of: user_quota, total_quota, "
     "max_permissions_per_allocation, max_channels_per_allocation, "
     "max_tcp_connections_per_allocation, max_unauthenticated_per_second, "
     "max_unauthenticated_bytes_per_second, max_connections_per_source, "
     "max_connection_rate_per_source, max_connections, "
     "limit_loopback, first_message_timeout, connection_idle_timeout"},
    {"key_twice", "realm: a\nrealm: b", "turnd.yaml:2: realm: key given twice"},
    {"list_for_scalar", "threads: [1]",
     R"(turnd.yaml:1: threads: expected a value such as "4", not a list)"},
    {"map_for_scalar", "realm: {a: b}",
     R"(turnd.yaml:1: realm: expected a value such as "example.org", not a map)"},
    {"scalar_for_section", "log: info",
     "turnd.yaml:1: log: expected a map with keys level, format"},
    {"not_a_map", "- a\n- b", "turnd.yaml:1: expected a map of settings, e.g. realm: example.org"},
    {"missing_value", "realm:\n", R"(turnd.yaml:1: realm: missing value, e.g. "example.org")"},
    {"too_many_threads", "threads: 2000",
     R"(turnd.yaml:1: threads: "2000": expected a whole number 0-1024)"},
    {"negative_threads", "threads: -1",
     R"(turnd.yaml:1: threads: "-1": expected a whole number 0-1024)"},
    {"log_level", "log:\n  level: verbose",
     R"(turnd.yaml:2: log.level: "verbose": expected one of trace, debug, info, warn, error, critical, off)"},
    {"log_format", "log: {format: xml}",
     R"(turnd.yaml:1: log.format: "xml": expected text or json)"},
    {"realm_empty", "realm: \"\"", R"(turnd.yaml:1: realm: "": must be 1-127 characters)"},
    {"realm_too_long", "realm: " + std::string(128, 'r'),
     "turnd.yaml:1: realm: \"" + std::string(128, 'r') + "\": must be 1-127 characters"},
    {"software_too_long", "software: " + std::string(128, 's'),
     "turnd.yaml:1: software: \"" + std::string(128, 's') +
         "\": must be at most 127 characters (\"\" = do not send)"},
    {"user_without_colon", "auth:\n  users: [alice]",
     "turnd.yaml:2: auth.users[0]: expected NAME:PASSWORD"},
    {"user_without_password", "auth:\n  users:\n    - \"alice:\"",
     "turnd.yaml:3: auth.users[0]: user \"alice\" has no password"},
    {"user_map_without_password", "auth:\n  users:\n    - name: alice",
     "turnd.yaml:3: auth.users[0]: user \"alice\" has no password"},
    {"user_map_without_name", "auth:\n  users:\n    - password: x",
     "turnd.yaml:3: auth.users[0]: user name must not be empty"},
    {"user_map_typo", "auth:\n  users:\n    - name: alice\n      pasword: x",
     "turnd.yaml:4: auth.users[0].pasword: unknown key; did you mean password?"},
    {"user_map_unknown_field", "auth:\n  users:\n    - {name: alice, realm: x}",
     "turnd.yaml:3: auth.users[0].realm: unknown key; expected name and password"},
    {"user_map_field_twice", "auth:\n  users:\n    - {name: alice, password: x, name: bob}",
     "turnd.yaml:3: auth.users[0].name: key given twice"},
    {"user_map_nested", "auth:\n  users:\n    - name: [alice]",
     "turnd.yaml:3: auth.users[0].name: expected a string"},
    {"duplicate_user", "auth:\n  users:\n    - alice:a\n    - {name: alice, password: b}",
     "turnd.yaml:4: auth.users[1]: user \"alice\" is listed twice"},
    {"empty_secret_is_not_echoed", "auth:\n  secrets: [\"\"]",
     "turnd.yaml:2: auth.secrets[0]: secret must not be empty"},
    {"nonce_lifetime_zero", "auth:\n  nonce_lifetime: 0s",
     R"(turnd.yaml:2: auth.nonce_lifetime: "0s": must be 1-86400 seconds)"},
    {"clock_skew_unit", "auth:\n  clock_skew: 1 minute",
     R"(turnd.yaml:2: auth.clock_skew: "1 minute": expected seconds or a duration such as 30s, 10m, 1h30m)"},
    {"rest_separator", "auth:\n  rest_separator: \"::\"",
     R"(turnd.yaml:2: auth.rest_separator: "::": expected one punctuation character such as ":")"},
    {"redis_scheme", "auth:\n  redis: \"http://127.0.0.1\"",
     R"(turnd.yaml:2: auth.redis: "http://127.0.0.1": expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], e.g. redis://127.0.0.1:6379/0)"},
    {"redis_password_is_not_echoed", "auth:\n  redis: \"redis://:hunter2@127.0.0.1:0\"",
     "turnd.yaml:2: auth.redis: port must be 1-65535"},
    {"relay_ip_any", "relay:\n  ips: [\"0.0.0.0\"]",
     R"(turnd.yaml:2: relay.ips[0]: "0.0.0.0": must be a concrete address, not 0.0.0.0 or ::)"},
    {"port_range_reversed", "relay:\n  ports: 2000-1000",
     R"(turnd.yaml:2: relay.ports: "2000-1000": LO must not be greater than HI)"},
    {"port_range_zero", "relay:\n  ports: 0-1000",
     R"(turnd.yaml:2: relay.ports: "0-1000": ports must be 1-65535)"},
    {"port_range_too_high", "relay:\n  ports: 1000-65536",
     R"(turnd.yaml:2: relay.ports: "1000-65536": ports must be 1-65535)"},
    {"port_range_single", "relay:\n  ports: 3478",
     R"(turnd.yaml:2: relay.ports: "3478": expected LO-HI, e.g. 49152-65535)"},
    {"external_ip", "relay:\n  external_ips:\n    - 203.0.113.5/fd00::5",
     R"(turnd.yaml:3: relay.external_ips[0]: "203.0.113.5/fd00::5": PUBLIC and PRIVATE must both be IPv4 or both be IPv6)"},
    {"cidr_host_bits", "relay:\n  allow_peers: [\"10.1.0.0/8\"]",
     R"(turnd.yaml:2: relay.allow_peers[0]: "10.1.0.0/8": host bits are set; did you mean 10.0.0.0/8?)"},
    {"cidr_garbage", "relay:\n  deny_peers: [\"10.0.0.0/40\"]",
     R"(turnd.yaml:2: relay.deny_peers[0]: "10.0.0.0/40": expected ADDR/LENGTH, e.g. 10.0.0.0/8 or fe80::/10)"},
    {"lifetime_zero", "relay:\n  default_lifetime: 0",
     R"(turnd.yaml:2: relay.default_lifetime: "0": must be 1-86400 seconds)"},
    {"max_lifetime_over_a_day", "relay:\n  max_lifetime: 2d",
     R"(turnd.yaml:2: relay.max_lifetime: "2d": must be 1-86400 seconds)"},
    {"max_below_default", "relay:\n  max_lifetime: 300",
     R"(turnd.yaml:2: relay.max_lifetime: "300": must be at least relay.default_lifetime (600 seconds))"},
    {"default_above_max", "relay:\n  default_lifetime: 2h",
     R"(turnd.yaml:2: relay.default_lifetime: "2h": must not exceed relay.max_lifetime (3600 seconds))"},
    {"bool", "relay:\n  strict_channel_numbers: yes",
     R"(turnd.yaml:2: relay.strict_channel_numbers: "yes": expected true or false)"},
    {"no_channels", "limits:\n  max_channels_per_allocation: 0",
     R"(turnd.yaml:2: limits.max_channels_per_allocation: "0": expected a whole number 1-16384)"},
    {"alternate_wildcard", "listen: [\"192.0.2.1:3478\"]\nalternate_listen: 0.0.0.0:3479",
     R"(turnd.yaml:2: alternate_listen: "0.0.0.0:3479": needs a specific IP, not a wildcard)"},
    {"alternate_without_specific_listen", "alternate_listen: 192.0.2.2:3479",
     R"(turnd.yaml:1: alternate_listen: "192.0.2.2:3479": pairs with a listen address of its )"
     R"(family that is not a wildcard, and there is none (e.g. listen: ["192.0.2.1:3478"] with )"
     R"(alternate_listen: "192.0.2.2:3479"))"},
    {"alternate_other_family", "listen: [\"192.0.2.1:3478\"]\nalternate_listen: \"[::1]:3479\"",
     R"(turnd.yaml:2: alternate_listen: "[::1]:3479": pairs with a listen address of its family )"
     R"(that is not a wildcard, and there is none (e.g. listen: ["192.0.2.1:3478"] with )"
     R"(alternate_listen: "192.0.2.2:3479"))"},
    {"alternate_is_listen", "listen: [\"192.0.2.1:3478\"]\nalternate_listen: 192.0.2.1:3478",
     R"(turnd.yaml:2: alternate_listen: "192.0.2.1:3478": is the listen address )"
     R"(192.0.2.1:3478 itself)"},
    {"alternate_same_port", "listen: [\"192.0.2.1:3478\"]\nalternate_listen: 192.0.2.2:3478",
     R"(turnd.yaml:2: alternate_listen: "192.0.2.2:3478": needs a port other than 3478 of )"
     R"(listen 192.0.2.1:3478 (RFC 5780 changes the IP and the port))"},
    {"alternate_clashes_with_wildcard",
     "listen: [\"192.0.2.1:3478\", \"0.0.0.0:3479\"]\nalternate_listen: 192.0.2.2:3479",
     R"(turnd.yaml:2: alternate_listen: "192.0.2.2:3479": RFC 5780 needs 192.0.2.1:3479, which )"
     R"(listen 0.0.0.0:3479 takes)"},
    {"admin_listen", "admin:\n  listen: localhost:9641",
     R"(turnd.yaml:2: admin.listen: "localhost:9641": ADDR must be an IP address (host names are not resolved); expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478)"},
    {"value_is_escaped", "realm: ok\nthreads: \"4\\t\\\"\"",
     R"(turnd.yaml:2: threads: "4\x09\"": expected a whole number 0-1024)"},
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class LoadErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(LoadErrors, NameFileLineKeyValueAndFix) {
  EXPECT_EQ(load_error(GetParam().yaml), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(Table, LoadErrors, testing::ValuesIn(kErrors),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Load, YamlSyntaxErrorHasFileAndLine) {
  EXPECT_EQ(load_error("realm: a\nlisten: [\"0.0.0.0:3478\"\nthreads: 1\n"),
            "turnd.yaml:3: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(load_error("realm: a\n  threads: 1\n"),
            "turnd.yaml:2: invalid YAML: illegal map value");
}

TEST(Load, ErrorCarriesFileLineAndKey) {
  try {
    load_string("relay:\n  ports: 5-1", "/etc/turnd/turnd.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "/etc/turnd/turnd.yaml");
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.key(), "relay.ports");
  }
}

TEST(Load, UnreadableFile) {
  try {
    load_file("/nonexistent/turnd.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "cannot read /nonexistent/turnd.yaml: No such file or directory");
    EXPECT_EQ(e.file(), "/nonexistent/turnd.yaml");
  }
  EXPECT_THROW(
      {
        try {
          load_file(TURND_SOURCE_DIR);
        } catch (const ConfigError& e) {
          EXPECT_EQ(std::string(e.what()), "cannot read " TURND_SOURCE_DIR ": Is a directory");
          throw;
        }
      },
      ConfigError);
}

TEST(Load, QuoteEscapes) { EXPECT_EQ(quote("a\"b\\c\nd\te"), R"("a\"b\\c\nd\x09e")"); }

// --- values ---------------------------------------------------------------------------------

TEST(Load, EmptyDocumentGivesStructDefaults) {
  Config expected;
  expected.source = "turnd.yaml";
  EXPECT_EQ(load_string("", "turnd.yaml"), expected);
  EXPECT_EQ(load_string("# only a comment\n", "turnd.yaml"), expected);
  EXPECT_EQ(load_string("auth:\nrelay: {}\n", "turnd.yaml"), expected);
}

TEST(Load, StructDefaults) {
  const Config c;
  EXPECT_EQ(c.listen, (std::vector{endpoint("0.0.0.0:3478"), endpoint("[::]:3478")}));
  EXPECT_EQ(c.realm, "turnd.local");
  EXPECT_EQ(c.relay_ports, (PortRange{49152, 65535}));
  EXPECT_EQ(c.default_lifetime, seconds{600});
  EXPECT_EQ(c.max_lifetime, seconds{3600});
  EXPECT_TRUE(c.auth_secrets.empty());
  EXPECT_FALSE(has_credentials(c));
}

TEST(Load, EveryKey) {
  const auto c = load_string(R"(
listen: ["192.0.2.1:3478", "[2001:db8::1]:3479"]
realm: example.org
threads: 4
log: { level: debug, format: json }
software: ""
auth:
  users: [ { name: alice, password: secret }, "bob:pa:ss" ]
  secrets: ["s3cr3t", "old"]
  nonce_lifetime: 10m
  clock_skew: 30s
  rest_separator: "-"
  redis: "redis://:pw@127.0.0.1:6379/1"
relay:
  ips: ["192.0.2.10", "2001:db8::10"]
  ports: "40000-40100"
  external_ips: ["203.0.113.5/10.0.0.5", "203.0.113.6"]
  allow_peers: ["127.0.0.0/8", "::1"]
  deny_peers: ["198.51.100.0/24"]
  default_lifetime: 5m
  max_lifetime: 1h30m
  strict_channel_numbers: true
limits:
  user_quota: 10
  total_quota: 1000
  max_permissions_per_allocation: 8
  max_channels_per_allocation: 16
  max_unauthenticated_per_second: 0
admin:
  listen: "127.0.0.1:9641"
)",
                             "full.yaml");
  EXPECT_EQ(c.source, "full.yaml");
  EXPECT_EQ(c.listen, (std::vector{endpoint("192.0.2.1:3478"), endpoint("[2001:db8::1]:3479")}));
  EXPECT_EQ(c.realm, "example.org");
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_format, LogFormat::Json);
  EXPECT_EQ(c.software, "");
  EXPECT_EQ(c.users, (std::vector<StaticUser>{{"alice", "secret"}, {"bob", "pa:ss"}}));
  EXPECT_EQ(c.auth_secrets, (std::vector<std::string>{"s3cr3t", "old"}));
  EXPECT_EQ(c.nonce_lifetime, seconds{600});
  EXPECT_EQ(c.clock_skew, seconds{30});
  EXPECT_EQ(c.rest_separator, '-');
  EXPECT_EQ(c.redis, "redis://:pw@127.0.0.1:6379/1");
  EXPECT_EQ(c.relay_ips, (std::vector{ip("192.0.2.10"), ip("2001:db8::10")}));
  EXPECT_EQ(c.relay_ports, (PortRange{40000, 40100}));
  EXPECT_EQ(c.external_ips, (std::vector<ExternalIp>{{ip("203.0.113.5"), ip("10.0.0.5")},
                                                     {ip("203.0.113.6"), {}}}));
  EXPECT_EQ(c.allow_peers, (std::vector{prefix("127.0.0.0/8"), prefix("::1/128")}));
  EXPECT_EQ(c.deny_peers, (std::vector{prefix("198.51.100.0/24")}));
  EXPECT_EQ(c.default_lifetime, seconds{300});
  EXPECT_EQ(c.max_lifetime, seconds{5400});
  EXPECT_TRUE(c.strict_channel_numbers);
  EXPECT_EQ(c.user_quota, 10u);
  EXPECT_EQ(c.total_quota, 1000u);
  EXPECT_EQ(c.max_permissions_per_allocation, 8u);
  EXPECT_EQ(c.max_channels_per_allocation, 16u);
  EXPECT_EQ(c.max_unauthenticated_per_second, 0u);
  EXPECT_EQ(c.admin_listen, endpoint("127.0.0.1:9641"));
}

TEST(Load, Durations) {
  const std::pair<std::string_view, seconds> kCases[] = {
      {"600", seconds{600}}, {"\"30s\"", seconds{30}}, {"10m", seconds{600}},
      {"1h", seconds{3600}}, {"1h30m", seconds{5400}}, {"1d", seconds{86400}},
  };
  for (auto [text, expected] : kCases) {
    auto c =
        load_string("relay:\n  max_lifetime: " + std::string(text) + "\n  default_lifetime: 30");
    EXPECT_EQ(c.max_lifetime, expected) << text;
  }
}

TEST(Load, Ipv6OnlyListen) {
  auto c = load_string("listen: [\"[::]:3478\", \"[2001:db8::1]:5349\"]", "v6.yaml");
  EXPECT_EQ(c.listen, (std::vector{endpoint("[::]:3478"), endpoint("[2001:db8::1]:5349")}));
  EXPECT_FALSE(c.listen[1].ip.is_v4());
}

TEST(Load, NullClearsListsAndOptionals) {
  auto c =
      load_string("relay:\n  allow_peers:\nauth:\n  redis: ~\n  secrets: null\nadmin:\n  listen:");
  EXPECT_TRUE(c.allow_peers.empty());
  EXPECT_FALSE(c.redis);
  EXPECT_TRUE(c.auth_secrets.empty());
  EXPECT_FALSE(c.admin_listen);
}

// --- the shipped example and the embedded default -------------------------------------------

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void collect_keys(const YAML::Node& map, const std::string& prefix, std::set<std::string>& out) {
  for (const auto& entry : map) {
    const std::string key =
        prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
    out.insert(key);
    if (entry.second.IsMap()) collect_keys(entry.second, key, out);
  }
}

TEST(Example, ListsEveryKey) {
  std::set<std::string> keys;
  collect_keys(YAML::LoadFile(kExamplePath), "", keys);
  for (const auto& s : settings()) EXPECT_TRUE(keys.count(std::string(s.key))) << s.key;
}

TEST(Example, EveryKeyHasItsDefault) {
  Config expected;
  expected.source = kExamplePath;
  EXPECT_EQ(load_file(kExamplePath), expected);
}

TEST(Example, EveryKeyIsCommented) {
  // Every "key: value" line comes right after a comment line.
  std::istringstream in(read_text(kExamplePath));
  std::string line, previous;
  while (std::getline(in, line)) {
    const auto start = line.find_first_not_of(' ');
    const bool is_setting =
        start != std::string::npos && line[start] != '#' && line.find(": ") != std::string::npos;
    if (is_setting) {
      EXPECT_EQ(previous.find_first_not_of(' '), previous.find('#'))
          << "no comment above: " << line;
    }
    previous = line;
  }
}

TEST(EmbeddedDefault, IsTheExample) {
  EXPECT_EQ(embedded_default_yaml(), read_text(kExamplePath));
  Config embedded = load_embedded_default();
  EXPECT_EQ(embedded.source, "<embedded>");
  EXPECT_FALSE(has_credentials(embedded));  // no public secret: turnd generates one per run
  embedded.source = kExamplePath;
  EXPECT_EQ(embedded, load_file(kExamplePath));
}

TEST(Settings, ExamplesAreValidAndFlagsDocumented) {
  std::set<std::string_view> flags;
  for (const auto& s : settings()) {
    Config c;
    if (s.clear) s.clear(c);
    // auth.secret_file reads its file at once: secret_file_test.cpp tests it with real files.
    if (s.key != "auth.secret_file") {
      EXPECT_EQ(s.set(c, s.example), "") << s.key;
    }
    EXPECT_EQ(find_setting(s.key), &s);
    if (s.flag.empty()) continue;
    EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
    EXPECT_FALSE(s.help.empty()) << s.flag;
    EXPECT_EQ(s.metavar.empty(), s.shape == Shape::Switch) << s.flag;
  }
}

}  // namespace
}  // namespace turnd::config
