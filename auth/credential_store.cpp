#include "auth/credential_store.hpp"

#include "protocol/integrity.hpp"

namespace turnd::auth {

void Credentials::index_userhashes() {
  userhashes.clear();
  for (const auto& [name, password] : users) userhashes[protocol::userhash(name, realm)] = name;
  for (const auto& [name, keys] : minted)
    userhashes.try_emplace(protocol::userhash(name, realm), name);
}

}  // namespace turnd::auth
