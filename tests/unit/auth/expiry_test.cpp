// Expiry in Authenticator::check at explicit times, no sleeping: the nonce (438 after
// nonce_lifetime), the nonce's client address, REST usernames (expiry + clock_skew) and minted
// credentials. Each check is a real request signed the way a client signs it.
#include <gtest/gtest.h>

#include "auth/authenticator.hpp"
#include "auth/mint.hpp"
#include "auth/rest_credential.hpp"
#include "auth_test_support.hpp"

namespace turnd::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::kClient;
using test::kNow;
using test::kNowS;
using test::kRealm;
using test::Signing;

constexpr std::string_view kSecret = "north";

class Expiry : public testing::Test {
 protected:
  Expiry() {
    auto c = std::make_shared<Credentials>();
    c->realm = kRealm;
    c->users.emplace("alice", "wonderland");
    c->secrets = {std::string{kSecret}};
    c->minted.emplace("minted", mint_user("minted", kRealm, "pw", kNowS + seconds{3600}));
    c->index_userhashes();
    credentials_ = c;
    options_.nonce_lifetime = seconds{600};
    options_.clock_skew = seconds{60};
  }

  Authenticator authenticator() const {
    return Authenticator{options_, credentials_,
                         NonceFactory{options_.nonce_lifetime, std::array<std::uint8_t, 32>{7}}};
  }
  /// `s` signs with a nonce issued to `nonce_for` at `issued`; checked from `from` at `now`.
  AuthResult check(const Signing& s, Clock::time_point issued, Clock::time_point now,
                   const protocol::IpAddress& nonce_for = kClient,
                   const protocol::IpAddress& from = kClient) {
    const auto auth = authenticator();
    const auto request = test::signed_request(buffer_, s, auth.make_nonce(nonce_for, issued));
    return auth.check(request, from, now);
  }
  /// With a fresh nonce: only the credential's own expiry matters.
  AuthResult check_at(const Signing& s, Clock::time_point now) { return check(s, now, now); }

  AuthOptions options_;
  CredentialsPtr credentials_;
  std::vector<std::uint8_t> buffer_;
};

const Signing kAlice{.user = "alice", .password = "wonderland"};

TEST_F(Expiry, NonceIsStaleExactlyAfterNonceLifetime) {
  EXPECT_EQ(check(kAlice, kNow, kNow).verdict, Verdict::Ok);
  EXPECT_EQ(check(kAlice, kNow, kNow + seconds{599}).verdict, Verdict::Ok);
  EXPECT_EQ(check(kAlice, kNow, kNow + seconds{600}).verdict, Verdict::Ok);
  EXPECT_EQ(check(kAlice, kNow, kNow + seconds{600} + milliseconds{999}).verdict, Verdict::Ok);
  const auto stale = check(kAlice, kNow, kNow + seconds{601});
  EXPECT_EQ(stale.verdict, Verdict::StaleNonce);  // 438
  EXPECT_EQ(stale.reason, "nonce expired");
}

TEST_F(Expiry, NonceLifetimeIsTheConfiguredOne) {
  options_.nonce_lifetime = seconds{5};
  EXPECT_EQ(check(kAlice, kNow, kNow + seconds{5}).verdict, Verdict::Ok);
  EXPECT_EQ(check(kAlice, kNow, kNow + seconds{6}).verdict, Verdict::StaleNonce);
}

TEST_F(Expiry, NonceOfAnotherClientAddressIsRefused) {
  const auto other = protocol::IpAddress::v4({198, 51, 100, 7});
  const auto r = check(kAlice, kNow, kNow, other, kClient);
  EXPECT_EQ(r.verdict, Verdict::StaleNonce);
  EXPECT_EQ(r.reason, "nonce not ours");
  EXPECT_EQ(check(kAlice, kNow, kNow, other, other).verdict, Verdict::Ok);
}

TEST_F(Expiry, RestUsernameValidUntilExpiryPlusClockSkew) {
  const auto expiry = kNowS + seconds{3600};
  const auto username = make_rest_username("carol", expiry, ':');
  const auto password = rest_password(kSecret, username);
  const Signing carol{.user = username, .password = password};

  const auto last = check_at(carol, expiry + seconds{60});
  ASSERT_EQ(last.verdict, Verdict::Ok) << last.reason;
  EXPECT_EQ(last.expires, expiry + seconds{60});
  EXPECT_EQ(last.quota_user(), "carol");
  const auto late = check_at(carol, expiry + seconds{61});
  EXPECT_EQ(late.verdict, Verdict::Challenge);  // 401
  EXPECT_EQ(late.reason, "REST credential expired");
  // Before its expiry, and within the skew of a client clock that runs ahead.
  EXPECT_EQ(check_at(carol, kNow).verdict, Verdict::Ok);
  EXPECT_EQ(check_at(carol, expiry).verdict, Verdict::Ok);
}

TEST_F(Expiry, RestUsernameWithoutClockSkew) {
  options_.clock_skew = seconds{0};
  const auto expiry = kNowS + seconds{10};
  const auto username = make_rest_username("carol", expiry, ':');
  const auto password = rest_password(kSecret, username);
  const Signing carol{.user = username, .password = password};
  EXPECT_EQ(check_at(carol, expiry).verdict, Verdict::Ok);
  EXPECT_EQ(check_at(carol, expiry + seconds{1}).verdict, Verdict::Challenge);
}

TEST_F(Expiry, MintedRestCredentialExpiresAfterItsTtl) {
  // What `turnctl mint` hands out: a REST username valid for ttl from the minting time.
  const auto minted = mint_rest("dave", seconds{600}, kSecret, ':', kNowS);
  const Signing dave{.user = minted.username, .password = minted.password};
  const auto ok = check_at(dave, kNow + seconds{600 + 60});
  ASSERT_EQ(ok.verdict, Verdict::Ok) << ok.reason;
  EXPECT_EQ(ok.expires, kNowS + seconds{600 + 60});
  EXPECT_EQ(check_at(dave, kNow + seconds{600 + 61}).verdict, Verdict::Challenge);
}

TEST_F(Expiry, MintedUserExpiresAtItsExpirySecond) {
  const Signing minted{.user = "minted", .password = "pw"};
  const auto ok = check_at(minted, kNow + seconds{3599} + milliseconds{999});
  ASSERT_EQ(ok.verdict, Verdict::Ok) << ok.reason;
  EXPECT_EQ(ok.expires, kNowS + seconds{3600});
  const auto expired = check_at(minted, kNow + seconds{3600});
  EXPECT_EQ(expired.verdict, Verdict::Challenge);
  EXPECT_EQ(expired.reason, "minted credential expired");
}

TEST_F(Expiry, StaticUsersDoNotExpire) {
  const auto r = check_at(kAlice, kNow + seconds{10LL * 365 * 86400});
  ASSERT_EQ(r.verdict, Verdict::Ok) << r.reason;
  EXPECT_FALSE(r.expires);
}

}  // namespace
}  // namespace turnd::auth
