// auth.secret_file / --auth-secret-file: secrets kept in a private file of their own.
#include "config/secret_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/cli.hpp"
#include "config/config_error.hpp"
#include "config/embedded_default.hpp"
#include "config/load.hpp"

namespace turnd::config {
namespace {

using Args = std::vector<std::string>;
using Secrets = std::vector<std::string>;

class SecretFileTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(testing::TempDir()) /
           ("secret_file_test_" +
            std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A file named `name` in the test's directory holding `text`, with `mode`.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0640) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  static std::string load_error(const std::string& yaml) {
    try {
      load_string(yaml, "turnd.yaml");
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }

  static std::string cli_error(const Args& args) {
    try {
      parse_command_line(args);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }

  std::filesystem::path dir_;
};

TEST_F(SecretFileTest, OnePerLineNewestFirstCommentsAndBlanksSkipped) {
  const auto path = write("secret", "# rotated 2026-01\n\n  newest \t\nolder\r\n   \n#old\nold\n");
  EXPECT_EQ(read_secret_file(path).value(), (Secrets{"newest", "older", "old"}));
  const auto c = load_string("auth:\n  secret_file: " + path + "\n");
  EXPECT_EQ(c.auth_secret_file, path);
  EXPECT_EQ(c.auth_secrets, (Secrets{"newest", "older", "old"}));
  EXPECT_TRUE(has_credentials(c));
}

TEST_F(SecretFileTest, AppendedAfterTheListedSecretsWhateverTheOrder) {
  const auto path = write("secret", "from-file\n");
  EXPECT_EQ(load_string("auth:\n  secrets: [a, b]\n  secret_file: " + path).auth_secrets,
            (Secrets{"a", "b", "from-file"}));
  EXPECT_EQ(load_string("auth:\n  secret_file: " + path + "\n  secrets: [a, b]").auth_secrets,
            (Secrets{"a", "b", "from-file"}));
}

TEST_F(SecretFileTest, OwnerOnlyAndGroupReadableModesAreAccepted) {
  for (mode_t mode : {0400, 0600, 0640, 0440}) {
    const auto path = write("secret", "s\n", mode);
    EXPECT_TRUE(read_secret_file(path).has_value()) << std::oct << mode;
  }
}

TEST_F(SecretFileTest, FlagsOnTopOfTheFile) {
  const auto file_a = write("a", "secret-a\n");
  const auto file_b = write("b", "secret-b1\nsecret-b2\n");
  const auto config = write("turnd.yaml", "auth:\n  secrets: [listed]\n  secret_file: " + file_a);
  // --auth-secret replaces the listed secrets; the file's stay, last.
  EXPECT_EQ(parse_command_line(Args{"-c", config, "--auth-secret", "flag"}).config.auth_secrets,
            (Secrets{"flag", "secret-a"}));
  // --auth-secret-file replaces the file named in the config.
  auto c = parse_command_line(Args{"-c", config, "--auth-secret-file", file_b}).config;
  EXPECT_EQ(c.auth_secrets, (Secrets{"listed", "secret-b1", "secret-b2"}));
  EXPECT_EQ(c.auth_secret_file, file_b);
  // Without a config: the embedded default has no credentials, the file brings them.
  c = parse_command_line(Args{"--auth-secret-file", file_a}).config;
  EXPECT_EQ(c.auth_secrets, (Secrets{"secret-a"}));
  EXPECT_TRUE(has_credentials(c));
}

TEST_F(SecretFileTest, NullMeansNoFile) {
  const auto c = load_string("auth:\n  secret_file: null\n");
  EXPECT_FALSE(c.auth_secret_file);
  EXPECT_TRUE(c.auth_secrets.empty());
}

TEST_F(SecretFileTest, ErrorsNameConfigFileLineKeyAndSecretFile) {
  const auto missing = (dir_ / "missing").string();
  EXPECT_EQ(load_error("realm: x\nauth:\n  secret_file: " + missing),
            "turnd.yaml:3: auth.secret_file: \"" + missing +
                "\": cannot read it: No such file or directory");

  const auto world = write("world", "s\n", 0644);
  EXPECT_EQ(load_error("auth:\n  secret_file: " + world),
            "turnd.yaml:2: auth.secret_file: \"" + world +
                "\": readable by every user (mode 0644): chmod 0640 it, owned by root and "
                "turnd's group");

  const auto group_writable = write("group_writable", "s\n", 0660);
  EXPECT_EQ(load_error("auth:\n  secret_file: " + group_writable),
            "turnd.yaml:2: auth.secret_file: \"" + group_writable +
                "\": writable by others than its owner (mode 0660): chmod 0640 it, owned by root "
                "and turnd's group");

  const std::string no_secret =
      "\": holds no secret (one per line, newest first; blank lines and # comments are "
      "skipped); make one with: openssl rand -base64 32";
  const auto empty = write("empty", "");
  EXPECT_EQ(load_error("auth:\n  secret_file: " + empty),
            "turnd.yaml:2: auth.secret_file: \"" + empty + no_secret);
  const auto comments = write("comments", "# nothing yet\n\n");
  EXPECT_EQ(load_error("auth:\n  secret_file: " + comments),
            "turnd.yaml:2: auth.secret_file: \"" + comments + no_secret);

  EXPECT_EQ(load_error("auth:\n  secret_file: " + dir_.string()),
            "turnd.yaml:2: auth.secret_file: \"" + dir_.string() + "\": not a regular file");
  EXPECT_EQ(load_error("auth:\n  secret_file: \"\""),
            "turnd.yaml:2: auth.secret_file: \"\": expected a file name, e.g. /etc/turnd/secret");

  const auto big = write("big", std::string(kMaxSecretFileBytes + 1, 'x'));
  EXPECT_EQ(
      load_error("auth:\n  secret_file: " + big),
      "turnd.yaml:2: auth.secret_file: \"" + big + "\": larger than 64 KiB: not a file of secrets");
}

TEST_F(SecretFileTest, BadLineIsNamedAndNeverQuoted) {
  const auto path = write("public", "good\n# comment\n" + std::string(kPublicSecret) + "\n");
  const auto e = load_error("auth:\n  secret_file: " + path);
  EXPECT_TRUE(e.starts_with("turnd.yaml:2: auth.secret_file: \"" + path +
                            "\": line 3: this is the public secret"))
      << e;
  EXPECT_EQ(e.find("good"), std::string::npos) << e;
}

TEST_F(SecretFileTest, FlagErrorNamesTheFlag) {
  const auto world = write("world", "s\n", 0604);
  EXPECT_EQ(cli_error({"--auth-secret-file", world}),
            "--auth-secret-file \"" + world +
                "\": readable by every user (mode 0604): chmod 0640 it, owned by root and "
                "turnd's group");
}

}  // namespace
}  // namespace turnd::config
