// The Authenticator's cache of derived long-term keys (auth/key_cache.hpp): a hit verifies
// exactly what a fresh derivation would, and a new credentials snapshot forgets every key (a
// changed password, a removed REST secret no longer verifies; an added one does).
#include <gtest/gtest.h>

#include "auth/authenticator.hpp"
#include "auth/rest_credential.hpp"
#include "auth_test_support.hpp"

namespace turnd::auth {
namespace {

using std::chrono::seconds;
using test::kClient;
using test::kNow;
using test::kNowS;
using test::kRealm;
using test::Signing;

CredentialsPtr snapshot(std::string_view alice_password, std::vector<std::string> secrets) {
  auto c = std::make_shared<Credentials>();
  c->realm = kRealm;
  c->users.emplace("alice", std::string{alice_password});
  c->secrets = std::move(secrets);
  c->index_userhashes();
  return c;
}

class KeyCache : public testing::Test {
 protected:
  Verdict check(const Signing& s) {
    const auto request = test::signed_request(buffer_, s, auth_.make_nonce(kClient, kNow));
    return auth_.check(request, kClient, kNow).verdict;
  }

  Authenticator auth_{AuthOptions{}, snapshot("wonderland", {"north"}),
                      NonceFactory{seconds{600}, std::array<std::uint8_t, 32>{7}}};
  std::vector<std::uint8_t> buffer_;
};

TEST_F(KeyCache, StaticUserVerifiesAgainAndAWrongPasswordStillFails) {
  const Signing right{.user = "alice", .password = "wonderland"};
  const Signing wrong{.user = "alice", .password = "looking-glass"};
  EXPECT_EQ(check(right), Verdict::Ok);
  EXPECT_EQ(check(right), Verdict::Ok);  // from the cache
  EXPECT_EQ(check(wrong), Verdict::Challenge);
  EXPECT_EQ(check(right), Verdict::Ok);
  const Signing sha256{.user = "alice",
                       .password = "wonderland",
                       .password_alg = protocol::PasswordAlgorithmId::Sha256,
                       .negotiate = true};
  EXPECT_EQ(check(sha256), Verdict::Ok);  // another algorithm, another key
  EXPECT_EQ(check(right), Verdict::Ok);
}

TEST_F(KeyCache, ChangedPasswordIsNotServedFromTheCache) {
  const Signing old_password{.user = "alice", .password = "wonderland"};
  ASSERT_EQ(check(old_password), Verdict::Ok);
  auth_.set_credentials(snapshot("rabbit", {"north"}));
  EXPECT_EQ(check(old_password), Verdict::Challenge);
  EXPECT_EQ(check({.user = "alice", .password = "rabbit"}), Verdict::Ok);
}

TEST_F(KeyCache, RestKeysFollowTheSecrets) {
  const auto user = make_rest_username("bob", kNowS + seconds{3600}, ':');
  const auto password = rest_password("north", user);
  const Signing rest{.user = user, .password = password};
  ASSERT_EQ(check(rest), Verdict::Ok);
  EXPECT_EQ(check(rest), Verdict::Ok);
  auth_.set_credentials(snapshot("wonderland", {"south"}));  // "north" rotated out
  EXPECT_EQ(check(rest), Verdict::Challenge);
  auth_.set_credentials(snapshot("wonderland", {"south", "north"}));  // now the older one
  EXPECT_EQ(check(rest), Verdict::Ok);
  EXPECT_EQ(check(rest), Verdict::Ok);
  const auto other = rest_password("south", user);
  EXPECT_EQ(check({.user = user, .password = other}), Verdict::Ok);  // the newer one too
  EXPECT_EQ(check(rest), Verdict::Ok);
}

}  // namespace
}  // namespace turnd::auth
