#include "config/embedded_default.hpp"

#include <algorithm>

#include "config/load.hpp"

namespace turnd::config {

Config load_embedded_default() { return load_string(embedded_default_yaml(), "<embedded>"); }

bool uses_default_secret(const Config& config) noexcept {
  return std::find(config.auth_secrets.begin(), config.auth_secrets.end(), kDefaultSecret) !=
         config.auth_secrets.end();
}

}  // namespace turnd::config
