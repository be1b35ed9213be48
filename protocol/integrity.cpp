#include "protocol/integrity.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace turnd::protocol {
namespace {

// EVP_MAC contexts are per thread and reused: no allocation per message after the first.
struct MacContexts {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
  ~MacContexts() {
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
  }
};

void digest(const EVP_MD* md, std::initializer_list<std::string_view> parts, std::uint8_t* out) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, md, nullptr);
  bool first = true;
  for (auto p : parts) {
    if (!first) EVP_DigestUpdate(ctx, ":", 1);
    EVP_DigestUpdate(ctx, p.data(), p.size());
    first = false;
  }
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
}

}  // namespace

bool IntegrityKey::operator==(const IntegrityKey& o) const noexcept {
  return size == o.size && CRYPTO_memcmp(bytes.data(), o.bytes.data(), size) == 0;
}

IntegrityKey long_term_key(std::string_view username, std::string_view realm,
                           std::string_view password, PasswordAlgorithmId alg) noexcept {
  IntegrityKey k;
  const bool sha256 = alg == PasswordAlgorithmId::Sha256;
  digest(sha256 ? EVP_sha256() : EVP_md5(), {username, realm, password}, k.bytes.data());
  k.size = sha256 ? 32 : 16;
  return k;
}

IntegrityKey short_term_key(std::string_view password) noexcept {
  IntegrityKey k;
  k.size = static_cast<std::uint16_t>(std::min(password.size(), k.bytes.size()));
  std::memcpy(k.bytes.data(), password.data(), k.size);
  return k;
}

std::array<std::uint8_t, 32> userhash(std::string_view username, std::string_view realm) noexcept {
  std::array<std::uint8_t, 32> h{};
  digest(EVP_sha256(), {username, realm}, h.data());
  return h;
}

std::size_t hmac_with_length(IntegrityAlg alg, ByteSpan key, ByteSpan prefix,
                             std::uint16_t length_field, std::uint8_t* out) noexcept {
  thread_local MacContexts mc;
  if (mc.ctx == nullptr || prefix.size() < kHeaderSize) return 0;
  char digest_name[8];
  std::strcpy(digest_name, alg == IntegrityAlg::Sha1 ? "SHA1" : "SHA256");
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                         OSSL_PARAM_construct_end()};
  std::uint8_t header[kHeaderSize];
  std::memcpy(header, prefix.data(), kHeaderSize);
  store_u16(header + 2, length_field);
  std::size_t len = 0;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer.
  static const std::uint8_t kEmpty[1] = {0};
  if (EVP_MAC_init(mc.ctx, key.empty() ? kEmpty : key.data(), key.size(), params) != 1 ||
      EVP_MAC_update(mc.ctx, header, kHeaderSize) != 1 ||
      EVP_MAC_update(mc.ctx, prefix.data() + kHeaderSize, prefix.size() - kHeaderSize) != 1 ||
      EVP_MAC_final(mc.ctx, out, &len, 32) != 1)
    return 0;
  return len;
}

IntegrityResult verify_integrity(const MessageView& msg, ByteSpan key, IntegrityAlg alg) noexcept {
  const RawAttribute* raw = msg.find(alg == IntegrityAlg::Sha1 ? AttrType::MessageIntegrity
                                                               : AttrType::MessageIntegritySha256);
  if (raw == nullptr) return IntegrityResult::Missing;
  const bool sha1 = alg == IntegrityAlg::Sha1;
  if (sha1 ? !MessageIntegrity::decode(raw->value, msg.header())
           : !MessageIntegritySha256::decode(raw->value, msg.header()))
    return IntegrityResult::Mismatch;
  // The length field covers the message up to and including this attribute.
  const auto end = raw->offset + 4 + raw->value.size();
  std::uint8_t mac[32];
  const std::size_t n = hmac_with_length(alg, key, msg.bytes().first(raw->offset),
                                         static_cast<std::uint16_t>(end - kHeaderSize), mac);
  if (n == 0 || raw->value.size() > n) return IntegrityResult::Mismatch;
  // MI-SHA256 may be truncated to 16+ bytes (§14.6): compare the prefix that was sent.
  return CRYPTO_memcmp(mac, raw->value.data(), raw->value.size()) == 0 ? IntegrityResult::Ok
                                                                       : IntegrityResult::Mismatch;
}

IntegrityResult verify_integrity(const MessageView& msg, ByteSpan key) noexcept {
  return msg.has(AttrType::MessageIntegritySha256)
             ? verify_integrity(msg, key, IntegrityAlg::Sha256)
             : verify_integrity(msg, key, IntegrityAlg::Sha1);
}

}  // namespace turnd::protocol
