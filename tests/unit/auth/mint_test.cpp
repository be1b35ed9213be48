// Minting: REST credentials and minted-user keys against values computed independently
// (Python hmac/hashlib), and the three output formats.
#include "auth/mint.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <span>

#include "auth/rest_credential.hpp"

namespace turnd::auth {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

const sys_seconds kNow{seconds{1'700'000'000}};

std::string hex(std::span<const std::uint8_t> bytes) {
  std::string out;
  char two[3];
  for (const auto b : bytes) {
    std::snprintf(two, sizeof two, "%02x", b);
    out += two;
  }
  return out;
}

TEST(MintRest, MatchesTheRestApiFormula) {
  const auto c = mint_rest("alice", seconds{3600}, "north", ':', kNow, {"turn:h:3478"});
  EXPECT_EQ(c.username, "1700003600:alice");
  EXPECT_EQ(c.password, "wjwSXO2ch1B6VaLTLMy2Avn5O9o=");  // base64(HMAC-SHA1("north", username))
  EXPECT_EQ(c.ttl, seconds{3600});
  EXPECT_EQ(c.uris, std::vector<std::string>{"turn:h:3478"});
  auto parsed = parse_rest_username(c.username, ':');
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->expiry, kNow + seconds{3600});
  EXPECT_EQ(parsed->user, "alice");
}

TEST(MintRest, UsesTheSeparator) {
  EXPECT_EQ(mint_rest("app:bob", seconds{60}, "s", '.', kNow).username, "1700000060.app:bob");
}

TEST(MintUser, KeysAreMd5AndSha256OfNameRealmPassword) {
  const auto u = mint_user("alice", "turnd.test", "pw", kNow);
  EXPECT_EQ(hex(u.md5.span()), "de09115f01d6366daa50084115d81829");
  EXPECT_EQ(hex(u.sha256.span()),
            "191f02ec97e42791a7f91b1fd2c244bb56301536b67850047930841c2d21f702");
  EXPECT_EQ(u.expires, kNow);
}

TEST(MintFormats, JsonIsAnIceServerEntry) {
  const auto c =
      mint_rest("al\"ice", seconds{60}, "s", ':', kNow, {"turn:a?transport=udp", "turn:b"});
  const auto v = boost::json::parse(to_ice_server_json(c));
  const auto& o = v.as_object();
  EXPECT_EQ(o.size(), 3u);
  EXPECT_EQ(o.at("username").as_string(), c.username);
  EXPECT_EQ(o.at("credential").as_string(), c.password);
  ASSERT_EQ(o.at("urls").as_array().size(), 2u);
  EXPECT_EQ(o.at("urls").as_array()[0].as_string(), "turn:a?transport=udp");
}

TEST(MintFormats, EnvIsShellQuoted) {
  const auto c = mint_rest("o'neil", seconds{60}, "s", ':', kNow, {"turn:a", "turn:b"});
  const auto env = to_env(c);
  EXPECT_NE(env.find("TURN_USERNAME='1700000060:o'\\''neil'\n"), std::string::npos) << env;
  EXPECT_NE(env.find("TURN_PASSWORD='" + c.password + "'\n"), std::string::npos) << env;
  EXPECT_NE(env.find("TURN_TTL=60\n"), std::string::npos) << env;
  EXPECT_NE(env.find("TURN_URIS='turn:a turn:b'\n"), std::string::npos) << env;
}

TEST(MintFormats, JsIsAStatement) {
  const auto c = mint_rest("alice", seconds{60}, "s", ':', kNow, {"turn:a"});
  EXPECT_EQ(to_js(c), "const iceServers = [" + to_ice_server_json(c) + "];\n");
}

TEST(Random, TokensDifferAndHaveTheirSize) {
  EXPECT_EQ(random_base64(32).size(), 44u);
  EXPECT_EQ(random_token(18).size(), 24u);
  EXPECT_NE(random_token(18), random_token(18));
  EXPECT_EQ(random_token(18).find_first_of("+/="), std::string::npos);
}

}  // namespace
}  // namespace turnd::auth
