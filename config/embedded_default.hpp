// The configuration compiled into turnd and used when no --config is given: the text of
// packaging/turnd.yaml, which documents every key. It carries a well-known REST secret so that
// turnd works out of the box without Redis; the server logs a hint while that secret is in use.
#pragma once

#include <string_view>

#include "config/config.hpp"

namespace turnd::config {

/// The shared secret of the embedded default. Anyone can mint credentials with it.
inline constexpr std::string_view kDefaultSecret = "turnd-default-secret-change-me";

/// The embedded YAML text (a copy of packaging/turnd.yaml made at build time).
std::string_view embedded_default_yaml() noexcept;

/// Loads embedded_default_yaml(); `Config::source` is "<embedded>".
Config load_embedded_default();

/// True while `config` accepts kDefaultSecret, so the server can tell the operator to change it.
bool uses_default_secret(const Config& config) noexcept;

/// The public default secret exists so a bare `turnd` works out of the box. Once the operator
/// configures a real credential source (Redis, or static users) it must not stay a way in:
/// removes it then and returns true.
bool drop_superseded_default_secret(Config& config);

}  // namespace turnd::config
