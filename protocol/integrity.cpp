#include "protocol/integrity.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace turnd::protocol {
namespace {

// OpenSSL 3 looks an algorithm up by name (a lock and a hash table) whenever a context is set
// up from a name or a legacy EVP_md5()-style handle: a few microseconds per message, more than
// the hash itself. So the algorithms are fetched once per process, and the contexts are kept
// per thread with their digest already set: a message costs the key set-up and the hash only.
const EVP_MD* fetched_md(IntegrityAlg alg) {
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return alg == IntegrityAlg::Sha1 ? sha1 : sha256;
}
const EVP_MD* fetched_md5() {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md5;
}

// One HMAC context per digest and thread, its digest chosen once.
struct MacContexts {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* sha1 = with_digest("SHA1");
  EVP_MAC_CTX* sha256 = with_digest("SHA256");
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~MacContexts() {
    OPENSSL_cleanse(last_sha1.bytes.data(), last_sha1.bytes.size());
    OPENSSL_cleanse(last_sha256.bytes.data(), last_sha256.bytes.size());
    EVP_MAC_CTX_free(sha1);
    EVP_MAC_CTX_free(sha256);
    EVP_MD_CTX_free(md);
    EVP_MAC_free(mac);
  }
  EVP_MAC_CTX* with_digest(const char* name) const {
    EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
    char digest_name[8];
    std::strcpy(digest_name, name);
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    if (ctx != nullptr && EVP_MAC_CTX_set_params(ctx, params) != 1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    return ctx;
  }
  /// The context for `alg`, keyed with `key`; nullptr on failure. A request is verified and
  /// its response signed with the same key, and an allocation's requests all use one: when the
  /// key is the one this context had last, it is only re-initialised (no new ipad/opad).
  EVP_MAC_CTX* keyed(IntegrityAlg alg, ByteSpan key) noexcept {
    const bool sha1_alg = alg == IntegrityAlg::Sha1;
    EVP_MAC_CTX* ctx = sha1_alg ? sha1 : sha256;
    LastKey& last = sha1_alg ? last_sha1 : last_sha256;
    if (ctx == nullptr) return nullptr;
    if (last.valid && last.size == key.size() &&
        CRYPTO_memcmp(last.bytes.data(), key.data(), key.size()) == 0)
      return EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 ? ctx : nullptr;
    // An empty key is legal for HMAC; OpenSSL wants a non-null pointer (a null one keeps the
    // previous key).
    static const std::uint8_t kEmpty[1] = {0};
    last.valid = false;
    if (EVP_MAC_init(ctx, key.empty() ? kEmpty : key.data(), key.size(), nullptr) != 1)
      return nullptr;
    if (key.size() <= last.bytes.size()) {
      std::memcpy(last.bytes.data(), key.data(), key.size());
      last.size = key.size();
      last.valid = true;
    }
    return ctx;
  }

  struct LastKey {
    std::array<std::uint8_t, 64> bytes{};
    std::size_t size = 0;
    bool valid = false;
  };
  LastKey last_sha1, last_sha256;
};

MacContexts& contexts() {
  thread_local MacContexts mc;
  return mc;
}

void digest(const EVP_MD* md, std::initializer_list<std::string_view> parts, std::uint8_t* out) {
  EVP_MD_CTX* ctx = contexts().md;
  EVP_DigestInit_ex(ctx, md, nullptr);
  bool first = true;
  for (auto p : parts) {
    if (!first) EVP_DigestUpdate(ctx, ":", 1);
    EVP_DigestUpdate(ctx, p.data(), p.size());
    first = false;
  }
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, out, &len);
}

}  // namespace

bool IntegrityKey::operator==(const IntegrityKey& o) const noexcept {
  return size == o.size && CRYPTO_memcmp(bytes.data(), o.bytes.data(), size) == 0;
}

IntegrityKey long_term_key(std::string_view username, std::string_view realm,
                           std::string_view password, PasswordAlgorithmId alg) noexcept {
  IntegrityKey k;
  const bool sha256 = alg == PasswordAlgorithmId::Sha256;
  digest(sha256 ? fetched_md(IntegrityAlg::Sha256) : fetched_md5(), {username, realm, password},
         k.bytes.data());
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
  digest(fetched_md(IntegrityAlg::Sha256), {username, realm}, h.data());
  return h;
}

std::size_t hmac_with_length(IntegrityAlg alg, ByteSpan key, ByteSpan prefix,
                             std::uint16_t length_field, std::uint8_t* out) noexcept {
  if (prefix.size() < kHeaderSize) return 0;
  EVP_MAC_CTX* ctx = contexts().keyed(alg, key);
  if (ctx == nullptr) return 0;
  std::uint8_t header[kHeaderSize];
  std::memcpy(header, prefix.data(), kHeaderSize);
  store_u16(header + 2, length_field);
  std::size_t len = 0;
  if (EVP_MAC_update(ctx, header, kHeaderSize) != 1 ||
      EVP_MAC_update(ctx, prefix.data() + kHeaderSize, prefix.size() - kHeaderSize) != 1 ||
      EVP_MAC_final(ctx, out, &len, 32) != 1)
    return 0;
  return len;
}

std::size_t hmac(IntegrityAlg alg, ByteSpan key, ByteSpan data, std::uint8_t* out) noexcept {
  EVP_MAC_CTX* ctx = contexts().keyed(alg, key);
  std::size_t len = 0;
  if (ctx == nullptr || EVP_MAC_update(ctx, data.data(), data.size()) != 1 ||
      EVP_MAC_final(ctx, out, &len, 32) != 1)
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
