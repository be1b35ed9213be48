// The table of every setting: its YAML key, its command-line flag, and how its text is parsed.
// The YAML loader and the command line both walk this table, so a key cannot exist in one and
// be forgotten in the other, and packaging/turnd.yaml is tested against it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace turnd::config {

enum class Shape : std::uint8_t {
  Value,     ///< one scalar
  Optional,  ///< one scalar, or null/absent for "not set"
  List,      ///< a YAML list; a repeatable flag that replaces the whole list
  Switch,    ///< true/false; a flag without a value that sets it
};

enum class Secrecy : std::uint8_t {
  Public,       ///< the value may be quoted in messages
  Secret,       ///< never quote the value
  UrlPassword,  ///< quote it unless it holds "user:password@"
};

/// One setting. `set`, `clear` and `check` return what is wrong, or "" when all is well.
struct Setting {
  std::string_view key = {};      ///< dotted YAML key, e.g. "relay.max_lifetime"
  std::string_view flag = {};     ///< command-line flag, "" for file-only settings
  std::string_view metavar = {};  ///< what the flag takes, e.g. "ADDR:PORT"
  std::string_view example = {};  ///< a valid value (one item for lists), for help and type errors
  std::string_view help = {};     ///< one line for --help
  Shape shape = Shape::Value;
  Secrecy secrecy = Secrecy::Public;
  /// Parses `text` into `config`; for a List, parses one item and appends it.
  std::string (*set)(Config& config, std::string_view text) = nullptr;
  /// List: empties it. Optional: unsets it. Null otherwise.
  void (*clear)(Config& config) = nullptr;
  /// Checks against other settings, once every value is in; null when there is nothing to check.
  std::string (*check)(const Config& config) = nullptr;

  /// Whether `text`, given for this setting, may be quoted back in an error message.
  bool may_show(std::string_view text) const noexcept;
};

/// Every setting, in the order of packaging/turnd.yaml.
std::span<const Setting> settings() noexcept;
/// The setting with dotted key `key`, or null.
const Setting* find_setting(std::string_view key) noexcept;
/// Appends `user` unless it is incomplete or its name is taken; returns what is wrong, or "".
std::string add_user(Config& config, StaticUser user);

}  // namespace turnd::config
