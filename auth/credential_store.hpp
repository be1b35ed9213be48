// What the authenticator verifies against: an immutable snapshot of static users, REST secrets
// and per-user keys minted into Redis (auth/redis/). Shards hold a shared_ptr<const Credentials>
// and the control plane swaps in a new one on reload or rotation; nothing here is mutated in place.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/integrity.hpp"

namespace turnd::auth {

/// A long-term credential minted with a lifetime (turnctl user add): only the keys are kept,
/// never the password. Valid until `expires`; an allocation made with it cannot outlive it.
struct MintedUser {
  protocol::IntegrityKey md5;     ///< MD5(name:realm:password), for MESSAGE-INTEGRITY keys
  protocol::IntegrityKey sha256;  ///< SHA-256(name:realm:password), PASSWORD-ALGORITHM SHA-256
  std::chrono::sys_seconds expires{};
  friend bool operator==(const MintedUser&, const MintedUser&) = default;
};

struct Credentials {
  std::string realm;
  std::map<std::string, std::string, std::less<>> users;  // name -> password
  std::vector<std::string> secrets;                       // REST secrets, newest first
  /// Minted users (Redis) by name. A static user of the same name takes precedence.
  std::map<std::string, MintedUser, std::less<>> minted;
  /// USERHASH (SHA-256 of "user:realm") -> user name, for RFC 8489 username anonymity.
  std::map<std::array<std::uint8_t, 32>, std::string> userhashes;

  /// Fills userhashes from users and minted; call after setting realm, users and minted.
  void index_userhashes();
};

using CredentialsPtr = std::shared_ptr<const Credentials>;

}  // namespace turnd::auth
