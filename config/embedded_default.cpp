#include "config/embedded_default.hpp"

#include "config/load.hpp"

namespace turnd::config {

Config load_embedded_default() { return load_string(embedded_default_yaml(), "<embedded>"); }

bool has_credentials(const Config& config) noexcept {
  return !config.users.empty() || !config.auth_secrets.empty() || config.redis.has_value();
}

}  // namespace turnd::config
