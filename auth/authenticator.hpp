// The long-term credential mechanism (RFC 8489 §9.2.4) as a pure function of a request, the
// client's address, the time and a credentials snapshot: no I/O, no state per client.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "auth/credential_store.hpp"
#include "auth/key_cache.hpp"
#include "auth/nonce.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_view.hpp"

namespace turnd::auth {

struct AuthOptions {
  std::chrono::seconds nonce_lifetime{600};
  std::chrono::seconds clock_skew{60};  // REST expiry tolerance
  char rest_separator = ':';
};

enum class Verdict : std::uint8_t {
  Ok,
  Challenge,   // 401 with REALM + NONCE (no integrity, unknown user, wrong key)
  StaleNonce,  // 438 with REALM + NONCE
  BadRequest,  // 400: integrity without USERNAME/REALM/NONCE, bad PASSWORD-ALGORITHM(S)
};

struct AuthResult {
  /// The user a quota counts: the user id of a REST username without its expiry, so that each
  /// fresh credential of one user does not bring a fresh quota.
  std::string_view quota_user() const noexcept {
    return std::string_view{username}.substr(user_offset);
  }

  Verdict verdict = Verdict::Challenge;
  protocol::IntegrityKey key;  // Ok: sign the response with this
  protocol::IntegrityAlg alg = protocol::IntegrityAlg::Sha1;
  std::string username;         // Ok: as sent (resolved from USERHASH)
  std::size_t user_offset = 0;  // Ok: where the user id starts in `username` (after a REST expiry)
  std::optional<std::chrono::sys_seconds> expires;  // Ok + REST or minted credential: its expiry
  std::string_view reason;                          // why not Ok, for debug logs
};

class Authenticator {
 public:
  Authenticator(AuthOptions options, CredentialsPtr credentials);
  Authenticator(AuthOptions options, CredentialsPtr credentials, NonceFactory nonces);

  AuthResult check(const protocol::MessageView& request, const protocol::IpAddress& client,
                   Clock::time_point now) const;
  std::string make_nonce(const protocol::IpAddress& client, Clock::time_point now) const {
    return nonces_.make(client, now);
  }
  const std::string& realm() const noexcept { return credentials_->realm; }
  /// Swaps in a new snapshot (reload, rotation). Called on the owning thread.
  void set_credentials(CredentialsPtr c) {
    credentials_ = std::move(c);
    keys_.clear();  // keys of the old snapshot (a removed secret, a changed password)
  }

  /// What the server offers in PASSWORD-ALGORITHMS, in order of preference.
  static constexpr std::array<protocol::PasswordAlgorithmId, 2> kOffered = {
      protocol::PasswordAlgorithmId::Sha256, protocol::PasswordAlgorithmId::Md5};

 private:
  std::optional<protocol::PasswordAlgorithmId> negotiated_algorithm(
      const protocol::MessageView& request, std::string_view nonce) const;
  /// `source`: DerivedKeyCache::kStaticUser, or the index of the REST secret `password` is
  /// derived from (computed only when the key is not cached).
  template <class Password>
  AuthResult verify_with_password(const protocol::MessageView& request, std::string_view username,
                                  Password&& password, protocol::PasswordAlgorithmId alg,
                                  int source) const;
  AuthResult verify_with_key(const protocol::MessageView& request, std::string_view username,
                             const protocol::IntegrityKey& key) const;
  AuthResult verify_minted(const protocol::MessageView& request, std::string_view username,
                           const MintedUser& user, protocol::PasswordAlgorithmId alg,
                           Clock::time_point now) const;

  AuthOptions options_;
  CredentialsPtr credentials_;
  NonceFactory nonces_;
  // check() is const to its callers; the keys it derived are a cache of the snapshot, cleared
  // with it. Owner: the Authenticator's thread, like the Authenticator.
  mutable DerivedKeyCache keys_;
};

}  // namespace turnd::auth
