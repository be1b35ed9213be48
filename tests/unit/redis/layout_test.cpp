// The Redis layout: key names, record decoding (malformed rows included) and events.
#include "auth/redis/layout.hpp"

#include <gtest/gtest.h>

#include "auth/mint.hpp"

namespace turnd::auth::redis {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

TEST(Layout, KeyNames) {
  EXPECT_EQ(secret_key("abc"), "turnd:secret:abc");
  EXPECT_EQ(user_key("turnd.local", "alice"), "turnd:user:turnd.local:alice");
  EXPECT_EQ(user_scan_pattern("turnd.local"), "turnd:user:turnd.local:*");
  EXPECT_EQ(user_scan_pattern("a*b?[c]\\"), "turnd:user:a\\*b\\?\\[c\\]\\\\:*");
}

TEST(Layout, SecretIdsSortByTimeAndAreValid) {
  const auto t =
      std::chrono::system_clock::time_point{std::chrono::milliseconds{1'700'000'000'123}};
  const auto a = new_secret_id(t), b = new_secret_id(t + std::chrono::milliseconds{1});
  EXPECT_TRUE(a.starts_with("1700000000123-")) << a;
  EXPECT_LT(a, b);
  EXPECT_EQ(check_secret_id(a), "");
  EXPECT_NE(check_secret_id(""), "");
  EXPECT_NE(check_secret_id("has space"), "");
  EXPECT_NE(check_secret_id(std::string(65, 'a')), "");
}

TEST(Layout, UserNames) {
  EXPECT_EQ(check_user_name("alice"), "");
  EXPECT_EQ(check_user_name("app:alice@example.com"), "");
  EXPECT_NE(check_user_name(""), "");
  EXPECT_NE(check_user_name("a b"), "");
  EXPECT_NE(check_user_name("a\nb"), "");
}

TEST(Layout, UserRecordRoundTrip) {
  const auto user = mint_user("alice", "turnd.local", "pw", sys_seconds{seconds{1'800'000'000}});
  const auto fields = user_fields(user);
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_EQ(fields[0], "md5");
  EXPECT_EQ(fields[1].size(), 32u);
  EXPECT_EQ(fields[3].size(), 64u);
  EXPECT_EQ(fields[5], "1800000000");
  auto back = decode_user(fields[1], fields[3], fields[5]);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, user);
}

struct BadUser {
  std::string_view name;
  std::optional<std::string> md5, sha256, expires;
  std::string_view error_has;
};

const std::string kMd5(32, 'a'), kSha(64, 'b');
const BadUser kBadUsers[] = {
    {"md5_missing", std::nullopt, kSha, "1", "md5: expected 32 hex digits"},
    {"md5_not_hex", std::string(32, 'z'), kSha, "1", "md5: expected 32 hex digits"},
    {"md5_short", std::string(30, 'a'), kSha, "1", "md5: expected 32 hex digits"},
    {"sha_missing", kMd5, std::nullopt, "1", "sha256: expected 64 hex digits"},
    {"sha_odd", kMd5, std::string(63, 'b') + "g", "1", "sha256: expected 64 hex digits"},
    {"expires_missing", kMd5, kSha, std::nullopt, "expires: expected unix seconds"},
    {"expires_text", kMd5, kSha, "tomorrow", "expires: expected unix seconds"},
    {"expires_negative", kMd5, kSha, "-5", "expires: expected unix seconds"},
    {"expires_float", kMd5, kSha, "1.5", "expires: expected unix seconds"},
};

class LayoutBadUser : public testing::TestWithParam<BadUser> {};

TEST_P(LayoutBadUser, IsAnErrorValue) {
  const auto& c = GetParam();
  auto user = decode_user(c.md5, c.sha256, c.expires);
  ASSERT_FALSE(user);
  EXPECT_NE(user.error().find(c.error_has), std::string::npos) << user.error();
}
INSTANTIATE_TEST_SUITE_P(Table, LayoutBadUser, testing::ValuesIn(kBadUsers),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Layout, UpperCaseHexIsAccepted) {
  EXPECT_TRUE(decode_user(std::string(32, 'A'), std::string(64, 'F'), "0"));
}

TEST(Layout, Events) {
  for (auto kind : {Event::Kind::SecretAdded, Event::Kind::SecretRetired, Event::Kind::UserAdded,
                    Event::Kind::UserRevoked}) {
    const Event e{kind, "x:y"};
    EXPECT_EQ(parse_event(format_event(e)), e);
  }
  EXPECT_EQ(format_event({Event::Kind::UserRevoked, "bob"}), "user-revoked bob");
  EXPECT_EQ(format_event({Event::Kind::SecretAdded, "1-a"}), "secret-added 1-a");
  EXPECT_FALSE(parse_event(""));
  EXPECT_FALSE(parse_event("user-revoked"));
  EXPECT_FALSE(parse_event("user-revoked "));
  EXPECT_FALSE(parse_event("user-deleted bob"));
}

TEST(Layout, UnixTime) {
  EXPECT_EQ(parse_unix_time("0"), sys_seconds{});
  EXPECT_EQ(parse_unix_time("1700000000"), sys_seconds{seconds{1'700'000'000}});
  EXPECT_FALSE(parse_unix_time(""));
  EXPECT_FALSE(parse_unix_time(" 1"));
  EXPECT_FALSE(parse_unix_time("99999999999999999999999"));
}

}  // namespace
}  // namespace turnd::auth::redis
