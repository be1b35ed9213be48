#include "auth/nonce.hpp"

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
}

NonceFactory::NonceFactory(std::chrono::seconds lifetime) : lifetime_(lifetime) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1)
    throw std::runtime_error("cannot get random bytes for the nonce key");
}

NonceFactory::NonceFactory(std::chrono::seconds lifetime, const std::array<std::uint8_t, 32>& key)
    : lifetime_(lifetime), key_(key) {}

void NonceFactory::mac(std::string_view expiry_hex, const protocol::IpAddress& client,
                       char out[16]) const noexcept {
  std::uint8_t input[8 + 17];
  std::memcpy(input, expiry_hex.data(), 8);
  input[8] = static_cast<std::uint8_t>(client.family);
  std::memcpy(input + 9, client.bytes.data(), 16);
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), input, sizeof input, digest, &len);
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
  char m[16];
  mac(hex, client, m);
  if (CRYPTO_memcmp(m, nonce.data() + 21, 16) != 0) return Check::Invalid;
  unsigned long long expiry = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + 8, expiry, 16);
  if (ec != std::errc{} || end != hex.data() + 8) return Check::Invalid;
  const auto now_s = static_cast<unsigned long long>(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  return (now_s & 0xffffffffull) > expiry ? Check::Expired : Check::Valid;
}

bool NonceFactory::has_security_features(std::string_view nonce) noexcept {
  return nonce.starts_with(kCookie) && nonce.size() >= 13;
}

}  // namespace turnd::auth
