#include "config/embedded_default.hpp"

#include <algorithm>

#include "config/load.hpp"

namespace turnd::config {

Config load_embedded_default() { return load_string(embedded_default_yaml(), "<embedded>"); }

bool uses_default_secret(const Config& config) noexcept {
  return std::find(config.auth_secrets.begin(), config.auth_secrets.end(), kDefaultSecret) !=
         config.auth_secrets.end();
}

bool drop_superseded_default_secret(Config& config) {
  if (!uses_default_secret(config) || (!config.redis && config.users.empty())) return false;
  std::erase(config.auth_secrets, std::string(kDefaultSecret));
  return true;
}

}  // namespace turnd::config
