// The configuration compiled into turnd and used when no --config is given: the text of
// packaging/turnd.yaml, which documents every key. It configures no credentials: a turnd
// without any generates a random REST secret for its run (server/main.cpp, config/run_secret.hpp).
#pragma once

#include <string_view>

#include "config/config.hpp"

namespace turnd::config {

/// The REST secret that earlier versions shipped in their default config and documentation.
/// Anyone can mint credentials with it, so a config that sets it is refused (auth.secrets,
/// --auth-secret).
inline constexpr std::string_view kPublicSecret = "turnd-default-secret-change-me";

/// The embedded YAML text (a copy of packaging/turnd.yaml made at build time).
std::string_view embedded_default_yaml() noexcept;

/// Loads embedded_default_yaml(); `Config::source` is "<embedded>".
Config load_embedded_default();

/// True when `config` names a credential source: static users, REST secrets or Redis. Without
/// one, turnd generates a secret for the run and turnctl mint looks for it.
bool has_credentials(const Config& config) noexcept;

}  // namespace turnd::config
