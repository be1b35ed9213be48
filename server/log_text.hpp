// Client-chosen text in log lines. A username, realm, SOFTWARE, reason phrase or Redis reply
// goes into a line through `logsafe(value)`, which escapes everything that could end the line,
// forge a field or hide text in a terminal; the JSON formatter (server/logging.cpp) then escapes
// the whole message once more for JSON. Not for the packet path: it formats into a string.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace turnd::server {

/// A client-chosen value on its way into a log line; format it with `{}`.
struct LogSafe {
  std::string_view text;
};

/// Marks `text` as client-chosen: `spdlog::info("user \"{}\"", logsafe(username))`.
constexpr LogSafe logsafe(std::string_view text) noexcept { return LogSafe{text}; }

/// `text` with `"` and `\` escaped by a backslash; \n, \r, \t; other control bytes and bytes
/// that are not valid UTF-8 as \xHH; C1 controls, line/paragraph separators and bidirectional
/// overrides as \uHHHH. The result is printable UTF-8 without `"` or a line break, and distinct
/// inputs give distinct outputs.
std::string escape_for_log(std::string_view text);

/// `text` as the inside of a JSON string (RFC 8259): `"`, `\` and control characters escaped,
/// bytes that are not valid UTF-8 replaced by \ufffd, U+2028/U+2029 escaped.
std::string escape_for_json(std::string_view text);

/// `text` with each byte that is not part of valid UTF-8 replaced by U+FFFD: client-chosen text
/// for a Boost.JSON value (its serializer escapes controls but copies other bytes as they are),
/// so the document stays valid UTF-8 for every reader (server/allocation_json.cpp).
std::string to_valid_utf8(std::string_view text);

/// Control bytes (< 0x20, 0x7f) as \xHH, everything else unchanged: applied to every text-mode
/// message, so a call site that forgot `logsafe` still cannot start a new line.
std::string escape_controls(std::string_view text);

}  // namespace turnd::server

template <>
struct fmt::formatter<turnd::server::LogSafe> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const turnd::server::LogSafe& v, FormatContext& ctx) const -> decltype(ctx.out()) {
    return fmt::formatter<std::string_view>::format(turnd::server::escape_for_log(v.text), ctx);
  }
};
