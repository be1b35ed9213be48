#include "config/config_error.hpp"

#include <cstdio>

namespace turnd::config {

namespace {
/// Control characters (a NUL, a line break) written as escapes, so an error stays one line and
/// a hostile file cannot forge a second (finding F5); `quotes` also escapes `"` and `\`.
std::string escaped(std::string_view text, bool quotes) {
  std::string out;
  for (char c : text) {
    if (quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}

/// A key name or yaml-cpp's message on one line.
std::string one_line(std::string_view text) { return escaped(text, false); }
}  // namespace

std::string quote(std::string_view value) { return '"' + escaped(value, true) + '"'; }

ConfigError::ConfigError(const std::string& message, std::string file)
    : std::runtime_error(message), file_(std::move(file)) {}

ConfigError::ConfigError(const std::string& message, std::string file, int line, std::string key)
    : std::runtime_error(message), file_(std::move(file)), line_(line), key_(std::move(key)) {}

ConfigError ConfigError::at(std::string file, int line, std::string key,
                            std::optional<std::string_view> value, std::string_view problem) {
  key = one_line(key);
  std::string message = file;
  if (line > 0) message += ":" + std::to_string(line);
  message += ": ";
  if (!key.empty()) message += key + ": ";
  if (value) message += quote(*value) + ": ";
  message += one_line(problem);
  return ConfigError(message, std::move(file), line, std::move(key));
}

ConfigError ConfigError::flag(std::string flag, std::optional<std::string_view> value,
                              std::string_view problem) {
  std::string message = flag;
  if (value) message += " " + quote(*value);
  message += ": ";
  message += problem;
  return ConfigError(message, {}, 0, std::move(flag));
}

}  // namespace turnd::config
