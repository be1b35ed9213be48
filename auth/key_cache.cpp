#include "auth/key_cache.hpp"

#include <functional>

namespace turnd::auth {

DerivedKeyCache::Entry& DerivedKeyCache::slot(std::string_view username,
                                              protocol::PasswordAlgorithmId alg) {
  if (!entries_) entries_ = std::make_unique<std::array<Entry, kEntries>>();
  const std::size_t h =
      std::hash<std::string_view>{}(username) ^ static_cast<std::size_t>(alg) * 0x9e3779b97f4a7c15u;
  return (*entries_)[h % kEntries];
}

}  // namespace turnd::auth
