// REST API usernames (draft-uberti-behave-turn-rest-00 §2.2): one row per accepted form and per
// refused one, and the password formula against values computed independently (Python hmac).
#include "auth/rest_credential.hpp"

#include <gtest/gtest.h>

namespace turnd::auth {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

struct Good {
  std::string_view username;
  char separator;
  long long expiry;
  std::string_view user;
  friend void PrintTo(const Good& g, std::ostream* os) { *os << g.username; }
};

const Good kGood[] = {
    {"1700000000:alice", ':', 1'700'000'000, "alice"},     {"0:a", ':', 0, "a"},
    {"1700000000:app:bob", ':', 1'700'000'000, "app:bob"},  // the user id may hold the separator
    {"1700000000.app:bob", '.', 1'700'000'000, "app:bob"}, {"1700000000:", ':', 1'700'000'000, ""},
    {"253402300799:max", ':', kMaxRestExpiry, "max"},  // 9999-12-31T23:59:59Z
};

class RestUsernameGood : public testing::TestWithParam<Good> {};

TEST_P(RestUsernameGood, SplitsExpiryAndUser) {
  const Good& g = GetParam();
  const auto r = parse_rest_username(g.username, g.separator);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expiry, sys_seconds{seconds{g.expiry}});
  EXPECT_EQ(r->user, g.user);
}
INSTANTIATE_TEST_SUITE_P(Rows, RestUsernameGood, testing::ValuesIn(kGood));

struct Bad {
  std::string_view username;
  char separator;
  friend void PrintTo(const Bad& b, std::ostream* os) { *os << b.username; }
};

const Bad kBad[] = {
    {"alice", ':'},                       // no separator
    {":alice", ':'},                      // no expiry
    {"1700000000.alice", ':'},            // another separator
    {"-0:alice", ':'},                    // sign (fuzz finding F2)
    {"+5:alice", ':'},                    // sign
    {" 1:alice", ':'},                    // space
    {"17x0:alice", ':'},                  // not decimal
    {"253402300800:alice", ':'},          // after 9999-12-31
    {"99999999999999999999:alice", ':'},  // past long long
};

class RestUsernameBad : public testing::TestWithParam<Bad> {};

TEST_P(RestUsernameBad, IsNoRestUsername) {
  EXPECT_FALSE(parse_rest_username(GetParam().username, GetParam().separator));
}
INSTANTIATE_TEST_SUITE_P(Rows, RestUsernameBad, testing::ValuesIn(kBad));

TEST(RestPassword, IsBase64OfHmacSha1OfTheUsername) {
  EXPECT_EQ(rest_password("north", "1700003600:alice"), "wjwSXO2ch1B6VaLTLMy2Avn5O9o=");
  EXPECT_EQ(rest_password("s3cr3t", "1700000060.app:bob"), "Foi8MDzxkxEwKbaDPdZN3rlRB4E=");
}

TEST(RestUsername, MadeOnesParseBack) {
  const sys_seconds expiry{seconds{1'700'000'060}};
  const auto username = make_rest_username("app:bob", expiry, '.');
  EXPECT_EQ(username, "1700000060.app:bob");
  const auto r = parse_rest_username(username, '.');
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expiry, expiry);
  EXPECT_EQ(r->user, "app:bob");
}

}  // namespace
}  // namespace turnd::auth
