// parse_redis_url: one row per accepted form and per mistake, with the message it gives.
#include "auth/redis/redis_url.hpp"

#include <gtest/gtest.h>

namespace turnd::auth::redis {
namespace {

struct Good {
  std::string_view text;
  RedisUrl want;
  std::string_view display;
  friend void PrintTo(const Good& g, std::ostream* os) { *os << g.text; }
};

const Good kGood[] = {
    {"redis://127.0.0.1", {"127.0.0.1", 6379, "", "", 0}, "redis://127.0.0.1:6379/0"},
    {"redis://127.0.0.1:6390/0", {"127.0.0.1", 6390, "", "", 0}, "redis://127.0.0.1:6390/0"},
    {"redis://localhost/3", {"localhost", 6379, "", "", 3}, "redis://localhost:6379/3"},
    {"redis://localhost/", {"localhost", 6379, "", "", 0}, "redis://localhost:6379/0"},
    {"redis://:s3cret@10.0.0.5:7000/2",
     {"10.0.0.5", 7000, "", "s3cret", 2},
     "redis://:***@10.0.0.5:7000/2"},
    {"redis://turnd:pa%40ss@redis.example/1",
     {"redis.example", 6379, "turnd", "pa@ss", 1},
     "redis://turnd:***@redis.example:6379/1"},
    {"redis://[::1]:6380", {"::1", 6380, "", "", 0}, "redis://[::1]:6380/0"},
};

class RedisUrlGood : public testing::TestWithParam<Good> {};

TEST_P(RedisUrlGood, Parses) {
  const auto& c = GetParam();
  auto url = parse_redis_url(c.text);
  ASSERT_TRUE(url) << url.error();
  EXPECT_EQ(*url, c.want);
  EXPECT_EQ(url->display(), c.display);
}
INSTANTIATE_TEST_SUITE_P(Table, RedisUrlGood, testing::ValuesIn(kGood));

struct Bad {
  std::string_view text;
  std::string_view error_has;
  friend void PrintTo(const Bad& b, std::ostream* os) { *os << '"' << b.text << '"'; }
};

const Bad kBad[] = {
    {"", "expected redis://"},
    {"127.0.0.1:6379", "expected redis://"},
    {"http://127.0.0.1", "expected redis://"},
    {"rediss://127.0.0.1", "TLS"},
    {"unix:///run/redis.sock", "Unix sockets"},
    {"redis://", "HOST is missing"},
    {"redis://127.0.0.1:0", "port must be 1-65535"},
    {"redis://127.0.0.1:65536", "port must be 1-65535"},
    {"redis://127.0.0.1:http", "port must be 1-65535"},
    {"redis://127.0.0.1/x", "DB must be a database number"},
    {"redis://127.0.0.1/1/2", "DB must be a database number"},
    {"redis://127.0.0.1/-1", "DB must be a database number"},
    {"redis://127.0.0.1?db=1", "no ?query"},
    {"redis://secret@127.0.0.1", "redis://:PASSWORD@HOST"},
    {"redis://user:@127.0.0.1", "password after ':' is empty"},
};

class RedisUrlBad : public testing::TestWithParam<Bad> {};

TEST_P(RedisUrlBad, SaysWhatToWrite) {
  const auto& c = GetParam();
  auto url = parse_redis_url(c.text);
  ASSERT_FALSE(url) << c.text << " parsed as " << url->display();
  EXPECT_NE(url.error().find(c.error_has), std::string::npos) << url.error();
  EXPECT_EQ(url.error().find("secret"), std::string::npos) << "leaks the password: " << url.error();
}
INSTANTIATE_TEST_SUITE_P(Table, RedisUrlBad, testing::ValuesIn(kBad));

}  // namespace
}  // namespace turnd::auth::redis
