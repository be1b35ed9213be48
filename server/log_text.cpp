#include "server/log_text.hpp"

#include <cstdint>
#include <cstdio>

namespace turnd::server {

namespace {

constexpr char32_t kInvalid = 0xFFFFFFFF;

/// Decodes one UTF-8 sequence at `text[i]`: the code point and its length, or kInvalid and 1
/// for a byte that does not start a well-formed sequence (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF).
std::pair<char32_t, std::size_t> decode_utf8(std::string_view text, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) return {b0, 1};
  std::size_t len = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1Fu, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0Fu, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07u, min = 0x10000;
  } else {
    return {kInvalid, 1};
  }
  if (i + len > text.size()) return {kInvalid, 1};
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(k) & 0xC0u) != 0x80) return {kInvalid, 1};
    cp = (cp << 6) | (byte(k) & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {kInvalid, 1};
  return {cp, len};
}

void append_hex(std::string& out, const char* format, unsigned value) {
  char buf[16];
  std::snprintf(buf, sizeof buf, format, value);
  out += buf;
}

/// Code points that change how a terminal or viewer shows the line: C1 controls (U+0085 is a
/// line break to some tools), line/paragraph separators, bidirectional embeddings, overrides
/// and isolates ("Trojan Source").
bool is_invisible_control(char32_t cp) noexcept {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
         cp == 0x200F || cp == 0xFEFF;
}

}  // namespace

std::string escape_for_log(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto [cp, len] = decode_utf8(text, i);
    const auto b = static_cast<unsigned char>(text[i]);
    if (cp == kInvalid) {
      append_hex(out, "\\x%02x", b);
    } else if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F) {
      append_hex(out, "\\x%02x", b);
    } else if (is_invisible_control(cp)) {
      append_hex(out, "\\u%04x", static_cast<unsigned>(cp));
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string escape_for_json(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (std::size_t i = 0; i < text.size();) {
    const auto [cp, len] = decode_utf8(text, i);
    if (cp == kInvalid) {
      out += "\\ufffd";
    } else if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F || cp == 0x2028 || cp == 0x2029) {
      append_hex(out, "\\u%04x", static_cast<unsigned>(cp));
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string to_valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const auto [cp, len] = decode_utf8(text, i);
    if (cp == kInvalid)
      out += "\xEF\xBF\xBD";  // U+FFFD
    else
      out.append(text.substr(i, len));
    i += len;
  }
  return out;
}

std::string escape_controls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F)
      append_hex(out, "\\x%02x", b);
    else
      out += c;
  }
  return out;
}

}  // namespace turnd::server
