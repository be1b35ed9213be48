#include "auth/authenticator.hpp"

#include <algorithm>
#include <cstring>

#include "auth/rest_credential.hpp"
#include "protocol/attributes/all.hpp"

namespace turnd::auth {

using namespace protocol;

namespace {
AuthResult fail(Verdict v, std::string_view reason) {
  AuthResult r;
  r.verdict = v;
  r.reason = reason;
  return r;
}
}  // namespace

Authenticator::Authenticator(AuthOptions options, CredentialsPtr credentials)
    : Authenticator(options, std::move(credentials), NonceFactory{options.nonce_lifetime}) {}

Authenticator::Authenticator(AuthOptions options, CredentialsPtr credentials, NonceFactory nonces)
    : options_(options), credentials_(std::move(credentials)), nonces_(std::move(nonces)) {}

std::optional<PasswordAlgorithmId> Authenticator::negotiated_algorithm(
    const MessageView& request, std::string_view nonce) const {
  const auto algorithms = request.get<PasswordAlgorithms>();
  const auto chosen = request.get<PasswordAlgorithm>();
  const bool has_list = algorithms.has_value(), has_choice = chosen.has_value();
  // RFC 8489 §9.2.4: without the nonce cookie, or with neither attribute, MD5 is used.
  if (!NonceFactory::has_security_features(nonce) || (!has_list && !has_choice))
    return PasswordAlgorithmId::Md5;
  if (has_list != has_choice) return std::nullopt;  // one without the other: 400
  // The list must be the one we sent (downgrade protection), the choice one of its entries.
  std::size_t i = 0;
  bool same_list = true, choice_offered = false;
  algorithms->for_each([&](std::uint16_t alg, ByteSpan params) {
    if (i >= kOffered.size() || alg != static_cast<std::uint16_t>(kOffered[i]) || !params.empty())
      same_list = false;
    if (alg == chosen->algorithm) choice_offered = true;
    ++i;
  });
  if (!same_list || i != kOffered.size() || !choice_offered) return std::nullopt;
  return static_cast<PasswordAlgorithmId>(chosen->algorithm);
}

template <class Password>
AuthResult Authenticator::verify_with_password(const MessageView& request,
                                               std::string_view username, Password&& password,
                                               PasswordAlgorithmId alg, int source) const {
  return verify_with_key(request, username, keys_.get(username, alg, source, [&] {
    return long_term_key(username, credentials_->realm, password(), alg);
  }));
}

AuthResult Authenticator::verify_with_key(const MessageView& request, std::string_view username,
                                          const IntegrityKey& key) const {
  AuthResult r;
  r.key = key;
  r.alg = request.has(AttrType::MessageIntegritySha256) ? IntegrityAlg::Sha256 : IntegrityAlg::Sha1;
  if (verify_integrity(request, r.key.span(), r.alg) != IntegrityResult::Ok)
    return fail(Verdict::Challenge, "message integrity check failed");
  r.verdict = Verdict::Ok;
  r.username = username;
  return r;
}

AuthResult Authenticator::verify_minted(const MessageView& request, std::string_view username,
                                        const MintedUser& user, PasswordAlgorithmId alg,
                                        Clock::time_point now) const {
  // The keys were derived when the credential was minted; the password is not stored.
  if (user.expires <= std::chrono::time_point_cast<std::chrono::seconds>(now))
    return fail(Verdict::Challenge, "minted credential expired");
  auto r = verify_with_key(request, username,
                           alg == PasswordAlgorithmId::Sha256 ? user.sha256 : user.md5);
  if (r.verdict == Verdict::Ok) r.expires = user.expires;
  return r;
}

AuthResult Authenticator::check(const MessageView& request, const IpAddress& client,
                                Clock::time_point now) const {
  if (!request.has(AttrType::MessageIntegrity) && !request.has(AttrType::MessageIntegritySha256))
    return fail(Verdict::Challenge, "no message integrity");
  const auto username_attr = request.get<Username>();
  const auto userhash_attr = request.get<Userhash>();
  const auto realm = request.get<Realm>();
  const auto nonce = request.get<Nonce>();
  if ((!username_attr && !userhash_attr) || !realm || !nonce)
    return fail(Verdict::BadRequest, "integrity without USERNAME/USERHASH, REALM or NONCE");

  switch (nonces_.check(nonce->text(), client, now)) {
    case NonceFactory::Check::Valid:
      break;
    case NonceFactory::Check::Expired:
      return fail(Verdict::StaleNonce, "nonce expired");
    case NonceFactory::Check::Invalid:
      return fail(Verdict::StaleNonce, "nonce not ours");
  }
  if (realm->text() != credentials_->realm) return fail(Verdict::Challenge, "wrong realm");
  const auto alg = negotiated_algorithm(request, nonce->text());
  if (!alg) return fail(Verdict::BadRequest, "PASSWORD-ALGORITHM(S) mismatch");

  std::string_view username;
  if (username_attr) {
    username = username_attr->text();
  } else {
    std::array<std::uint8_t, 32> hash;
    std::memcpy(hash.data(), userhash_attr->value.data(), 32);
    auto it = credentials_->userhashes.find(hash);
    if (it == credentials_->userhashes.end()) return fail(Verdict::Challenge, "unknown USERHASH");
    username = it->second;
  }

  if (auto user = credentials_->users.find(username); user != credentials_->users.end())
    return verify_with_password(
        request, username, [&]() -> std::string_view { return user->second; }, *alg,
        DerivedKeyCache::kStaticUser);
  if (auto minted = credentials_->minted.find(username); minted != credentials_->minted.end())
    return verify_minted(request, username, minted->second, *alg, now);

  const auto rest = parse_rest_username(username, options_.rest_separator);
  if (!rest || credentials_->secrets.empty()) return fail(Verdict::Challenge, "unknown user");
  if (rest->expiry + options_.clock_skew < std::chrono::time_point_cast<std::chrono::seconds>(now))
    return fail(Verdict::Challenge, "REST credential expired");
  const auto& secrets = credentials_->secrets;
  for (std::size_t i = 0; i < secrets.size(); ++i) {  // newest first; all active ones verify
    auto r = verify_with_password(
        request, username, [&] { return rest_password(secrets[i], username); }, *alg,
        static_cast<int>(i));
    if (r.verdict == Verdict::Ok) {
      r.expires = rest->expiry + options_.clock_skew;
      r.user_offset = r.username.size() - rest->user.size();
      return r;
    }
  }
  return fail(Verdict::Challenge, "message integrity check failed");
}

}  // namespace turnd::auth
