// Authenticator with minted users (keys only, with an expiry): real request bytes, signed the
// way a client signs them, checked against a Credentials snapshot. No Redis involved.
#include <gtest/gtest.h>

#include "auth/authenticator.hpp"
#include "auth/mint.hpp"
#include "auth_test_support.hpp"

namespace turnd::auth {
namespace {

using namespace protocol;
using std::chrono::seconds;
using test::kClient;
using test::kNow;
using test::kNowS;
using test::kRealm;
using test::Signing;

class MintedAuth : public testing::Test {
 protected:
  MintedAuth() {
    auto c = std::make_shared<Credentials>();
    c->realm = kRealm;
    c->minted.emplace("alice", mint_user("alice", kRealm, "wonderland", kNowS + seconds{3600}));
    c->minted.emplace("old", mint_user("old", kRealm, "pw", kNowS - seconds{1}));
    c->index_userhashes();
    credentials_ = c;
  }

  AuthResult check(const Signing& s, Clock::time_point now = kNow) {
    Authenticator auth{AuthOptions{}, credentials_, NonceFactory{seconds{600}, {}}};
    const auto request = test::signed_request(buffer_, s, auth.make_nonce(kClient, now));
    return auth.check(request, kClient, now);
  }

  CredentialsPtr credentials_;
  std::vector<std::uint8_t> buffer_;
};

TEST_F(MintedAuth, Md5KeyVerifiesAndCarriesTheExpiry) {
  auto r = check({.user = "alice", .password = "wonderland"});
  ASSERT_EQ(r.verdict, Verdict::Ok) << r.reason;
  EXPECT_EQ(r.username, "alice");
  EXPECT_EQ(r.key, credentials_->minted.at("alice").md5);
  ASSERT_TRUE(r.expires);
  EXPECT_EQ(*r.expires, kNowS + seconds{3600});
}

TEST_F(MintedAuth, Sha256PasswordAlgorithmUsesTheSha256Key) {
  auto r = check({.user = "alice",
                  .password = "wonderland",
                  .password_alg = PasswordAlgorithmId::Sha256,
                  .negotiate = true,
                  .mac = IntegrityAlg::Sha256});
  ASSERT_EQ(r.verdict, Verdict::Ok) << r.reason;
  EXPECT_EQ(r.key, credentials_->minted.at("alice").sha256);
  EXPECT_EQ(r.alg, IntegrityAlg::Sha256);
}

TEST_F(MintedAuth, Md5NegotiatedExplicitly) {
  auto r = check({.user = "alice",
                  .password = "wonderland",
                  .password_alg = PasswordAlgorithmId::Md5,
                  .negotiate = true});
  ASSERT_EQ(r.verdict, Verdict::Ok) << r.reason;
  EXPECT_EQ(r.key, credentials_->minted.at("alice").md5);
}

TEST_F(MintedAuth, UserhashFindsAMintedUser) {
  auto r = check({.user = "alice", .password = "wonderland", .userhash = true});
  ASSERT_EQ(r.verdict, Verdict::Ok) << r.reason;
  EXPECT_EQ(r.username, "alice");
}

TEST_F(MintedAuth, WrongPasswordIsChallenged) {
  EXPECT_EQ(check({.user = "alice", .password = "looking-glass"}).verdict, Verdict::Challenge);
}

TEST_F(MintedAuth, ExpiredIsChallenged) {
  auto r = check({.user = "old", .password = "pw"});
  EXPECT_EQ(r.verdict, Verdict::Challenge);
  EXPECT_EQ(r.reason, "minted credential expired");
  // alice at her expiry second: no longer valid.
  EXPECT_EQ(check({.user = "alice", .password = "wonderland"}, kNow + seconds{3600}).verdict,
            Verdict::Challenge);
  EXPECT_EQ(check({.user = "alice", .password = "wonderland"}, kNow + seconds{3599}).verdict,
            Verdict::Ok);
}

TEST_F(MintedAuth, RevokedMeansAbsentFromTheNextSnapshot) {
  auto c = std::make_shared<Credentials>(*credentials_);
  c->minted.erase("alice");
  c->index_userhashes();
  credentials_ = c;
  auto r = check({.user = "alice", .password = "wonderland"});
  EXPECT_EQ(r.verdict, Verdict::Challenge);
  EXPECT_EQ(r.reason, "unknown user");
}

TEST_F(MintedAuth, StaticUserOfTheSameNameWins) {
  auto c = std::make_shared<Credentials>(*credentials_);
  c->users.emplace("alice", "static-pw");
  c->index_userhashes();
  credentials_ = c;
  EXPECT_EQ(check({.user = "alice", .password = "static-pw"}).verdict, Verdict::Ok);
  EXPECT_FALSE(check({.user = "alice", .password = "static-pw"}).expires);
  EXPECT_EQ(check({.user = "alice", .password = "wonderland"}).verdict, Verdict::Challenge);
}

TEST_F(MintedAuth, RestCredentialsStillWorkAlongside) {
  auto c = std::make_shared<Credentials>(*credentials_);
  c->secrets = {"north"};
  credentials_ = c;
  const auto rest = mint_rest("carol", seconds{600}, "north", ':', kNowS);
  auto r = check({.user = rest.username, .password = rest.password});
  ASSERT_EQ(r.verdict, Verdict::Ok) << r.reason;
  ASSERT_TRUE(r.expires);
}

}  // namespace
}  // namespace turnd::auth
