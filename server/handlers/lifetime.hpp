// Lifetime arithmetic shared by Allocate and Refresh (RFC 8656 §7.2 step 7, §7.3).
#pragma once

#include <algorithm>
#include <chrono>

#include "auth/authenticator.hpp"
#include "protocol/attributes/numeric.hpp"
#include "protocol/message_view.hpp"
#include "server/shard_state.hpp"

namespace turnd::server::handlers {

/// min(requested, max), but never below the default; an absent LIFETIME means the default.
/// A REST credential caps it: an allocation does not outlive the credential that made it.
inline std::chrono::seconds granted_lifetime(const protocol::MessageView& msg,
                                             const auth::AuthResult& auth,
                                             const config::Config& config,
                                             std::chrono::sys_seconds now) {
  auto requested = config.default_lifetime;
  if (auto l = msg.get<protocol::Lifetime>()) requested = std::chrono::seconds{l->value};
  auto granted = std::max(config.default_lifetime, std::min(requested, config.max_lifetime));
  if (auth.expires) {
    const auto left = *auth.expires - now;
    granted = std::max(std::chrono::seconds{1}, std::min(granted, left));
  }
  return granted;
}

}  // namespace turnd::server::handlers
