#include "config/cli.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/embedded_default.hpp"

namespace turnd::config {
namespace {

using protocol::IpAddress;
using protocol::IpPrefix;
using protocol::TransportAddress;
using std::chrono::seconds;
using Args = std::vector<std::string>;

TransportAddress endpoint(std::string_view text) { return *TransportAddress::parse(text); }

std::string cli_error(const Args& args) {
  try {
    parse_command_line(args);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// A config file in the test's temporary directory.
class CommandLineTest : public testing::Test {
 protected:
  std::string write_config(const std::string& yaml) {
    const std::string path = testing::TempDir() + "cli_test_" +
                             testing::UnitTest::GetInstance()->current_test_info()->name() +
                             ".yaml";
    std::ofstream(path) << yaml;
    return path;
  }
};

TEST_F(CommandLineTest, NoArgumentsUsesEmbeddedDefault) {
  auto cl = parse_command_line(Args{});
  EXPECT_FALSE(cl.show_help || cl.show_version || cl.check_config);
  EXPECT_EQ(cl.config.source, "<embedded>");
  EXPECT_EQ(cl.config.listen, (std::vector{endpoint("0.0.0.0:3478"), endpoint("[::]:3478")}));
  EXPECT_EQ(cl.config.realm, "turnd.local");
  EXPECT_FALSE(has_credentials(cl.config));  // turnd generates a secret for the run
}

TEST_F(CommandLineTest, ArgcArgv) {
  const char* argv[] = {"turnd", "--realm", "example.org", "--check-config"};
  auto cl = parse_command_line(4, argv);
  EXPECT_EQ(cl.config.realm, "example.org");
  EXPECT_TRUE(cl.check_config);
}

TEST_F(CommandLineTest, HelpAndVersionLoadNothing) {
  auto help = parse_command_line(Args{"--config", "/nonexistent.yaml", "--help"});
  EXPECT_TRUE(help.show_help);
  EXPECT_NE(help.help_text.find("Usage: turnd"), std::string::npos) << help.help_text;
  for (const char* flag : {"--config FILE", "--listen ADDR:PORT", "--user NAME:PASSWORD",
                           "--external-ip PUBLIC[/PRIVATE]", "--strict-channel-numbers",
                           "--check-config", "--version"})
    EXPECT_NE(help.help_text.find(flag), std::string::npos) << flag << "\n" << help.help_text;
  EXPECT_TRUE(parse_command_line(Args{"-h"}).show_help);

  auto version = parse_command_line(Args{"--config", "/nonexistent.yaml", "--version"});
  EXPECT_TRUE(version.show_version);
  EXPECT_FALSE(version.show_help);
}

TEST_F(CommandLineTest, FlagsOverrideTheFile) {
  auto path = write_config(R"(
realm: file.example
threads: 2
listen: ["192.0.2.1:3478", "192.0.2.2:3478"]
log: { level: warn }
auth:
  secrets: [a, b]
relay:
  max_lifetime: 2h
  ports: 1000-2000
)");
  auto cl = parse_command_line(Args{"--config", path, "--realm", "flag.example", "--threads", "8",
                                    "--log-format", "json", "--max-lifetime", "30m"});
  const Config& c = cl.config;
  EXPECT_EQ(c.source, path);
  EXPECT_EQ(c.realm, "flag.example");
  EXPECT_EQ(c.threads, 8u);
  EXPECT_EQ(c.log_level, "warn");  // from the file
  EXPECT_EQ(c.log_format, LogFormat::Json);
  EXPECT_EQ(c.max_lifetime, seconds{1800});
  EXPECT_EQ(c.relay_ports, (PortRange{1000, 2000}));
  EXPECT_EQ(c.listen, (std::vector{endpoint("192.0.2.1:3478"), endpoint("192.0.2.2:3478")}));
  EXPECT_EQ(c.auth_secrets, (std::vector<std::string>{"a", "b"}));
}

TEST_F(CommandLineTest, RepeatableFlagReplacesTheFileList) {
  auto path = write_config(
      "listen: [\"192.0.2.1:3478\", \"192.0.2.2:3478\"]\n"
      "auth: { secrets: [a, b], users: [\"carol:x\"] }\n");
  auto c =
      parse_command_line(Args{"-c", path, "--listen", "[::1]:3478", "--auth-secret", "new",
                              "--user", "alice:1", "--listen", "127.0.0.1:3479", "--user", "bob:2"})
          .config;
  EXPECT_EQ(c.listen, (std::vector{endpoint("[::1]:3478"), endpoint("127.0.0.1:3479")}));
  EXPECT_EQ(c.auth_secrets, (std::vector<std::string>{"new"}));
  EXPECT_EQ(c.users, (std::vector<StaticUser>{{"alice", "1"}, {"bob", "2"}}));
  EXPECT_TRUE(has_credentials(parse_command_line(Args{"--auth-secret", "mine"}).config));
}

TEST_F(CommandLineTest, EveryFlag) {
  auto c = parse_command_line(Args{"--listen",
                                   "[::]:3478",
                                   "--realm",
                                   "r",
                                   "--threads",
                                   "1",
                                   "--log-level",
                                   "trace",
                                   "--log-format",
                                   "json",
                                   "--user",
                                   "alice:pw",
                                   "--auth-secret",
                                   "s",
                                   "--redis",
                                   "redis://127.0.0.1:6379/0",
                                   "--relay-ip",
                                   "192.0.2.10",
                                   "--relay-ip",
                                   "2001:db8::10",
                                   "--relay-ports",
                                   "50000-50010",
                                   "--external-ip",
                                   "203.0.113.5/192.0.2.10",
                                   "--allow-peer",
                                   "127.0.0.0/8",
                                   "--deny-peer",
                                   "198.51.100.0/24",
                                   "--max-lifetime",
                                   "3000",
                                   "--user-quota",
                                   "3",
                                   "--total-quota",
                                   "100",
                                   "--strict-channel-numbers",
                                   "--admin-listen",
                                   "127.0.0.1:9641"})
               .config;
  EXPECT_EQ(c.listen, (std::vector{endpoint("[::]:3478")}));
  EXPECT_EQ(c.realm, "r");
  EXPECT_EQ(c.threads, 1u);
  EXPECT_EQ(c.log_level, "trace");
  EXPECT_EQ(c.log_format, LogFormat::Json);
  EXPECT_EQ(c.users, (std::vector<StaticUser>{{"alice", "pw"}}));
  EXPECT_EQ(c.auth_secrets, (std::vector<std::string>{"s"}));
  EXPECT_EQ(c.redis, "redis://127.0.0.1:6379/0");
  EXPECT_EQ(c.relay_ips,
            (std::vector{*IpAddress::parse("192.0.2.10"), *IpAddress::parse("2001:db8::10")}));
  EXPECT_EQ(c.relay_ports, (PortRange{50000, 50010}));
  EXPECT_EQ(c.external_ips, (std::vector<ExternalIp>{{*IpAddress::parse("203.0.113.5"),
                                                      IpAddress::parse("192.0.2.10")}}));
  EXPECT_EQ(c.allow_peers, (std::vector{*IpPrefix::parse("127.0.0.0/8")}));
  EXPECT_EQ(c.deny_peers, (std::vector{*IpPrefix::parse("198.51.100.0/24")}));
  EXPECT_EQ(c.max_lifetime, seconds{3000});
  EXPECT_EQ(c.user_quota, 3u);
  EXPECT_EQ(c.total_quota, 100u);
  EXPECT_TRUE(c.strict_channel_numbers);
  EXPECT_EQ(c.admin_listen, endpoint("127.0.0.1:9641"));
}

TEST_F(CommandLineTest, SingleValuedFlagGivenTwiceTakesTheLast) {
  EXPECT_EQ(parse_command_line(Args{"--realm", "a", "--realm", "b"}).config.realm, "b");
}

struct FlagErrorCase {
  std::string name;
  Args args;
  std::string message;
};

const FlagErrorCase kFlagErrors[] = {
    {"listen_without_port",
     {"--listen", "1.2.3.4"},
     R"(--listen "1.2.3.4": expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478)"},
    {"listen_bad_port",
     {"--listen", "0.0.0.0:3478", "--listen", "[::]:99999"},
     R"(--listen "[::]:99999": expected ADDR:PORT with port 1-65535, IPv6 as [::1]:3478)"},
    {"threads", {"--threads", "many"}, R"(--threads "many": expected a whole number 0-1024)"},
    {"log_level",
     {"--log-level", "loud"},
     R"(--log-level "loud": expected one of trace, debug, info, warn, error, critical, off)"},
    {"user_is_not_echoed", {"--user", "alice=secret"}, "--user: expected NAME:PASSWORD"},
    {"duplicate_user",
     {"--user", "alice:1", "--user", "alice:2"},
     R"(--user: user "alice" is listed twice)"},
    {"empty_secret", {"--auth-secret", ""}, "--auth-secret: secret must not be empty"},
    {"relay_ports",
     {"--relay-ports", "65535-1"},
     R"(--relay-ports "65535-1": LO must not be greater than HI)"},
    {"deny_peer",
     {"--deny-peer", "192.168.1.1/16"},
     R"(--deny-peer "192.168.1.1/16": host bits are set; did you mean 192.168.0.0/16?)"},
    {"max_lifetime_below_default",
     {"--max-lifetime", "60"},
     R"(--max-lifetime "60": must be at least relay.default_lifetime (600 seconds))"},
    {"redis_password_hidden",
     {"--redis", "redis://:pw@host:99999"},
     "--redis: port must be 1-65535"},
    {"admin_listen",
     {"--admin-listen", "9641"},
     R"(--admin-listen "9641": expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478)"},
    {"unknown_flag",
     {"--frobnicate"},
     "The following argument was not expected: --frobnicate (see turnd --help)"},
    {"missing_value", {"--realm"}, "--realm: 1 required REALM missing (see turnd --help)"},
    {"two_values_for_one_flag",
     {"--listen", "0.0.0.0:3478", "[::]:3478"},
     "The following argument was not expected: [::]:3478 (see turnd --help)"},
    {"switch_takes_no_value",
     {"--strict-channel-numbers=false"},
     "strict-channel-numbers was given a disallowed flag override (see turnd --help)"},
    {"missing_config_file",
     {"--config", "/nonexistent.yaml"},
     "cannot read /nonexistent.yaml: No such file or directory"},
};

void PrintTo(const FlagErrorCase& c, std::ostream* os) { *os << c.name; }

class FlagErrors : public testing::TestWithParam<FlagErrorCase> {};

TEST_P(FlagErrors, NameTheFlagAndTheFix) {
  EXPECT_EQ(cli_error(GetParam().args), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(Table, FlagErrors, testing::ValuesIn(kFlagErrors),
                         [](const auto& info) { return info.param.name; });

TEST_F(CommandLineTest, FileErrorsKeepFileAndLine) {
  auto path = write_config("realm: ok\nrelay:\n  ports: 9-1\n");
  EXPECT_EQ(cli_error({"--config", path}),
            path + R"(:3: relay.ports: "9-1": LO must not be greater than HI)");
}

TEST_F(CommandLineTest, FlagCheckedAgainstTheFile) {
  auto path = write_config("relay:\n  default_lifetime: 20m\n  max_lifetime: 1h\n");
  EXPECT_EQ(cli_error({"--config", path, "--max-lifetime", "10m"}),
            R"(--max-lifetime "10m": must be at least relay.default_lifetime (1200 seconds))");
}

TEST(Credentials, AnySourceCounts) {
  EXPECT_FALSE(has_credentials(parse_command_line(Args{}).config));
  EXPECT_TRUE(has_credentials(parse_command_line(Args{"--redis", "redis://127.0.0.1/0"}).config));
  EXPECT_TRUE(has_credentials(parse_command_line(Args{"--user", "alice:pw"}).config));
  EXPECT_TRUE(has_credentials(parse_command_line(Args{"--auth-secret", "mine"}).config));
}

TEST_F(CommandLineTest, TheOldPublicSecretIsAConfigError) {
  const std::string why = ": this is the public secret of turnd's old default config";
  const auto starts = [](const std::string& text, const std::string& prefix) {
    return text.rfind(prefix, 0) == 0;
  };
  auto e = cli_error({"--auth-secret", "turnd-default-secret-change-me"});
  EXPECT_TRUE(starts(e, "--auth-secret" + why)) << e;
  const auto path = write_config(
      "realm: x\nauth:\n  secrets:\n    - mine\n    - turnd-default-secret-change-me\n");
  e = cli_error({"--config", path});
  EXPECT_TRUE(starts(e, path + ":5: auth.secrets[1]" + why)) << e;
  const auto api = write_config("admin:\n  api_key: turnd-default-secret-change-me\n");
  e = cli_error({"--config", api});
  EXPECT_TRUE(starts(e, api + ":2: admin.api_key" + why)) << e;
}

}  // namespace
}  // namespace turnd::config
