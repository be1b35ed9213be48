// What the authenticator verifies against: an immutable snapshot of static users and REST
// secrets (later also Redis-minted keys). Shards hold a shared_ptr<const Credentials> and the
// control plane swaps in a new one on reload or rotation; nothing here is mutated in place.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace turnd::auth {

struct Credentials {
  std::string realm;
  std::map<std::string, std::string, std::less<>> users;  // name -> password
  std::vector<std::string> secrets;                       // REST secrets, newest first
  /// USERHASH (SHA-256 of "user:realm") -> user name, for RFC 8489 username anonymity.
  std::map<std::array<std::uint8_t, 32>, std::string> userhashes;

  /// Fills userhashes from users; call after setting realm and users.
  void index_userhashes();
};

using CredentialsPtr = std::shared_ptr<const Credentials>;

}  // namespace turnd::auth
