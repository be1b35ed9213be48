// The one exception type of config/: a start-up error that main() prints as a single line.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace turnd::config {

/// A configuration mistake. `what()` is one actionable line, such as
/// `/etc/turnd/turnd.yaml:14: listen[1]: "1.2.3.4:99999": expected ADDR:PORT with port 1-65535`
/// or `--listen "1.2.3.4": expected ADDR:PORT, e.g. 0.0.0.0:3478 or [::]:3478`.
class ConfigError : public std::runtime_error {
 public:
  /// A problem at `line` (1-based, 0 = unknown) of `file`, under `key` (e.g. "auth.users[1]").
  /// `value` is quoted in the message; leave it empty for values that may hold a secret.
  static ConfigError at(std::string file, int line, std::string key,
                        std::optional<std::string_view> value, std::string_view problem);
  /// A problem with the command-line flag `flag` (e.g. "--listen").
  static ConfigError flag(std::string flag, std::optional<std::string_view> value,
                          std::string_view problem);
  /// A message that needs no location, e.g. "cannot read FILE: No such file or directory".
  explicit ConfigError(const std::string& message, std::string file = {});

  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  /// Dotted YAML key or command-line flag; empty when the error is about the whole file.
  const std::string& key() const noexcept { return key_; }

 private:
  ConfigError(const std::string& message, std::string file, int line, std::string key);

  std::string file_;
  int line_ = 0;
  std::string key_;
};

/// `value` in double quotes, with quotes, backslashes and control characters escaped.
std::string quote(std::string_view value);

}  // namespace turnd::config
