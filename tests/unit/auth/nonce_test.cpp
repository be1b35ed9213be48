// Stateless nonces (auth/nonce.hpp) at explicit times: valid until issue + lifetime, expired the
// second after, bound to the client address and to the key that made them.
#include "auth/nonce.hpp"

#include <gtest/gtest.h>

#include "auth_test_support.hpp"

namespace turnd::auth {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using test::kClient;
using test::kNow;
using Check = NonceFactory::Check;

constexpr seconds kLifetime{600};
constexpr std::array<std::uint8_t, 32> kKey{1, 2, 3};

TEST(Nonce, CarriesTheCookieAndTheSecurityFeatures) {
  const NonceFactory f{kLifetime, kKey};
  const auto n = f.make(kClient, kNow);
  EXPECT_EQ(n.size(), NonceFactory::kSize);
  EXPECT_TRUE(n.starts_with("obMatJos2wAAA")) << n;
  EXPECT_TRUE(NonceFactory::has_security_features(n));
  EXPECT_EQ(n.substr(13, 8), "6553f358") << "expiry 1700000600 in hex";
}

TEST(Nonce, ValidUntilItsLifetimeEndsExpiredTheSecondAfter) {
  const NonceFactory f{kLifetime, kKey};
  const auto n = f.make(kClient, kNow);
  EXPECT_EQ(f.check(n, kClient, kNow), Check::Valid);
  EXPECT_EQ(f.check(n, kClient, kNow + kLifetime - seconds{1}), Check::Valid);
  EXPECT_EQ(f.check(n, kClient, kNow + kLifetime), Check::Valid);
  // Whole seconds: the expiry second lasts to its end.
  EXPECT_EQ(f.check(n, kClient, kNow + kLifetime + milliseconds{999}), Check::Valid);
  EXPECT_EQ(f.check(n, kClient, kNow + kLifetime + seconds{1}), Check::Expired);
  EXPECT_EQ(f.check(n, kClient, kNow + seconds{86400}), Check::Expired);
}

TEST(Nonce, LifetimeIsTheFactorys) {
  const NonceFactory short_lived{seconds{30}, kKey};
  const auto n = short_lived.make(kClient, kNow);
  EXPECT_EQ(short_lived.check(n, kClient, kNow + seconds{30}), Check::Valid);
  EXPECT_EQ(short_lived.check(n, kClient, kNow + seconds{31}), Check::Expired);
  // The expiry travels in the nonce: a factory with a longer lifetime does not extend it.
  const NonceFactory long_lived{kLifetime, kKey};
  EXPECT_EQ(long_lived.check(n, kClient, kNow + seconds{31}), Check::Expired);
}

TEST(Nonce, BoundToTheClientAddress) {
  const NonceFactory f{kLifetime, kKey};
  const auto n = f.make(kClient, kNow);
  EXPECT_EQ(f.check(n, protocol::IpAddress::v4({192, 0, 2, 2}), kNow), Check::Invalid);
  EXPECT_EQ(f.check(n, *protocol::IpAddress::parse("::ffff:192.0.2.1"), kNow), Check::Invalid);
  EXPECT_EQ(f.check(n, kClient, kNow), Check::Valid);
}

TEST(Nonce, AVerifiedNonceStaysBoundToItsAddressAndBytes) {
  // check() remembers the nonces it verified (the requests of one allocation share one); the
  // memory must not change a verdict.
  const NonceFactory f{kLifetime, kKey};
  const auto n = f.make(kClient, kNow);
  ASSERT_EQ(f.check(n, kClient, kNow), Check::Valid);
  EXPECT_EQ(f.check(n, protocol::IpAddress::v4({192, 0, 2, 2}), kNow), Check::Invalid);
  std::string mac = n;
  mac.back() = mac.back() == 'A' ? 'B' : 'A';  // same slot, other bytes
  EXPECT_EQ(f.check(mac, kClient, kNow), Check::Invalid);
  EXPECT_EQ(f.check(n, kClient, kNow + kLifetime + seconds{1}), Check::Expired);
  EXPECT_EQ(f.check(n, kClient, kNow), Check::Valid);
  // A copy starts without the memory and still verifies.
  const NonceFactory copy = f;
  EXPECT_EQ(copy.check(n, kClient, kNow), Check::Valid);
}

TEST(Nonce, BoundToTheKey) {
  const NonceFactory f{kLifetime, kKey};
  const NonceFactory other{kLifetime, std::array<std::uint8_t, 32>{9}};
  EXPECT_EQ(other.check(f.make(kClient, kNow), kClient, kNow), Check::Invalid);
  // Two factories with the same key (nodes of a cluster) accept each other's nonces.
  EXPECT_EQ(NonceFactory(kLifetime, kKey).check(f.make(kClient, kNow), kClient, kNow),
            Check::Valid);
}

TEST(Nonce, ForgedOrMalformedIsInvalid) {
  const NonceFactory f{kLifetime, kKey};
  std::string n = f.make(kClient, kNow);
  std::string later = n;
  later[13] = 'f';  // a later expiry without the MAC that goes with it
  EXPECT_EQ(f.check(later, kClient, kNow), Check::Invalid);
  std::string mac = n;
  mac.back() = mac.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(f.check(mac, kClient, kNow), Check::Invalid);
  EXPECT_EQ(f.check(n.substr(0, n.size() - 1), kClient, kNow), Check::Invalid);
  EXPECT_EQ(f.check("", kClient, kNow), Check::Invalid);
  EXPECT_EQ(f.check("x" + n.substr(1), kClient, kNow), Check::Invalid);
}

}  // namespace
}  // namespace turnd::auth
