#include "auth/nonce.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace turnd::auth {

namespace {
constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// An HMAC-SHA256 context keyed with `key`; nullptr if OpenSSL refuses.
EVP_MAC_CTX* keyed_sha256(const std::array<std::uint8_t, 32>& key) noexcept {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  EVP_MAC_free(mac);  // the context keeps its own reference
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (ctx != nullptr && EVP_MAC_init(ctx, key.data(), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}
}  // namespace

void NonceFactory::MacFree::operator()(void* ctx) const noexcept {
  EVP_MAC_CTX_free(static_cast<EVP_MAC_CTX*>(ctx));
}

NonceFactory::NonceFactory(std::chrono::seconds lifetime) : lifetime_(lifetime) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("cannot get random bytes for the nonce key");
  mac_.reset(keyed_sha256(key_));
}

NonceFactory::NonceFactory(std::chrono::seconds lifetime, const std::array<std::uint8_t, 32>& key)
    : lifetime_(lifetime), key_(key), mac_(keyed_sha256(key_)) {}

NonceFactory::~NonceFactory() = default;

void NonceFactory::mac(std::string_view expiry_hex, const protocol::IpAddress& client,
                       char out[16]) const noexcept {
  std::uint8_t input[8 + 17];
  std::memcpy(input, expiry_hex.data(), 8);
  input[8] = static_cast<std::uint8_t>(client.family);
  std::memcpy(input + 9, client.bytes.data(), 16);
  std::uint8_t digest[EVP_MAX_MD_SIZE]{};
  auto* ctx = static_cast<EVP_MAC_CTX*>(mac_.get());
  std::size_t len = 0;
  // A null key re-initialises the context with the key it has (no new ipad/opad).
  if (ctx == nullptr || EVP_MAC_init(ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(ctx, input, sizeof input) != 1 ||
      EVP_MAC_final(ctx, digest, &len, sizeof digest) != 1) {
    unsigned n = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), input, sizeof input, digest, &n);
  }
  // 16 base64url characters = 96 bits of MAC: ample against forgery within a nonce lifetime.
  for (int i = 0; i < 16; ++i) {
    const unsigned bit = static_cast<unsigned>(i) * 6;
    const unsigned v = ((digest[bit / 8] << 8) | digest[bit / 8 + 1]) >> (10 - bit % 8);
    out[i] = kBase64Url[v & 0x3f];
  }
}

std::string NonceFactory::make(const protocol::IpAddress& client, Clock::time_point now) const {
  const auto expiry =
      std::chrono::duration_cast<std::chrono::seconds>((now + lifetime_).time_since_epoch())
          .count();
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08llx", static_cast<unsigned long long>(expiry) & 0xffffffffull);
  std::string n;
  n.reserve(kSize);
  n.append(kCookie).append(kFeatures).append(hex, 8);
  char m[16];
  mac({hex, 8}, client, m);
  n.append(m, 16);
  return n;
}

NonceFactory::Check NonceFactory::check(std::string_view nonce, const protocol::IpAddress& client,
                                        Clock::time_point now) const noexcept {
  if (nonce.size() != kSize || !nonce.starts_with(kCookie)) return Check::Invalid;
  const std::string_view hex = nonce.substr(13, 8);
  if (!verified_before(nonce, client)) {
    char m[16];
    mac(hex, client, m);
    if (CRYPTO_memcmp(m, nonce.data() + 21, 16) != 0) return Check::Invalid;
    remember_verified(nonce, client);
  }
  unsigned long long expiry = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + 8, expiry, 16);
  if (ec != std::errc{} || end != hex.data() + 8) return Check::Invalid;
  const auto now_s = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  return (now_s & 0xffffffffull) > expiry ? Check::Expired : Check::Valid;
}

namespace {
/// The slot of a nonce: its MAC characters are uniformly distributed.
std::size_t verified_slot(std::string_view nonce, std::size_t slots) noexcept {
  std::uint64_t h = 0;
  std::memcpy(&h, nonce.data() + 21, sizeof h);
  return static_cast<std::size_t>(h % slots);
}
}  // namespace

bool NonceFactory::verified_before(std::string_view nonce,
                                   const protocol::IpAddress& client) const noexcept {
  if (!verified_) return false;
  const Verified& v = (*verified_)[verified_slot(nonce, kVerifiedSlots)];
  return v.valid && v.client == client && CRYPTO_memcmp(v.nonce.data(), nonce.data(), kSize) == 0;
}

void NonceFactory::remember_verified(std::string_view nonce,
                                     const protocol::IpAddress& client) const noexcept {
  if (!verified_) {
    try {
      verified_ = std::make_unique<std::array<Verified, kVerifiedSlots>>();
    } catch (...) {
      return;  // no memory: verify each time, as without it
    }
  }
  Verified& v = (*verified_)[verified_slot(nonce, kVerifiedSlots)];
  std::memcpy(v.nonce.data(), nonce.data(), kSize);
  v.client = client;
  v.valid = true;
}

bool NonceFactory::has_security_features(std::string_view nonce) noexcept {
  return nonce.starts_with(kCookie) && nonce.size() >= 13;
}

}  // namespace turnd::auth
