// Minting credentials: the one code path behind `turnctl mint`, `turnctl user add` and the
// server's credential endpoint, so what is handed out is derived exactly as it is verified
// (auth/rest_credential.hpp, auth/authenticator.hpp).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "auth/credential_store.hpp"

namespace turnd::auth {

/// A TURN REST API credential (draft-uberti-behave-turn-rest-00 §2.2) and where to use it.
struct MintedCredential {
  std::string username;  ///< "<unix expiry>SEP<user>"
  std::string password;  ///< base64(HMAC-SHA1(secret, username))
  std::chrono::seconds ttl{};
  std::vector<std::string> uris;  ///< turn:/turns:/stun: URIs for the iceServers entry
};

/// REST credential for `user`, valid until now + ttl, signed with `secret` (the newest one).
MintedCredential mint_rest(std::string_view user, std::chrono::seconds ttl, std::string_view secret,
                           char separator, std::chrono::sys_seconds now,
                           std::vector<std::string> uris = {});

/// The keys of a long-term credential with a lifetime (RFC 8489 §9.2.2): what Redis stores
/// and the authenticator checks, computed from a password that is then thrown away.
MintedUser mint_user(std::string_view name, std::string_view realm, std::string_view password,
                     std::chrono::sys_seconds expires);

/// `bytes` random bytes (OpenSSL RAND_bytes) in standard base64. Throws on RNG failure.
std::string random_base64(std::size_t bytes);
/// `bytes` random bytes in base64url without padding: safe in shells, URLs and YAML.
std::string random_token(std::size_t bytes);

/// One RTCIceServer dictionary: {"urls":[...],"username":"...","credential":"..."}.
std::string to_ice_server_json(const MintedCredential& c);
/// Shell assignments TURN_USERNAME, TURN_PASSWORD, TURN_TTL, TURN_URIS (space separated),
/// single-quoted, one per line; `eval "$(turnctl mint ... --format env)"` sets them.
std::string to_env(const MintedCredential& c);
/// A JavaScript statement: `const iceServers = [{...}];`, for pasting into a page.
std::string to_js(const MintedCredential& c);

}  // namespace turnd::auth
