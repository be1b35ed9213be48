#include "auth/redis/layout.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <random>

namespace turnd::auth::redis {

namespace {

constexpr std::string_view kEventNames[] = {"secret-added", "secret-retired", "user-added",
                                            "user-revoked"};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A key of exactly `size` bytes from 2 * size hex digits.
std::optional<protocol::IntegrityKey> key_from_hex(const std::optional<std::string>& hex,
                                                   std::size_t size) {
  if (!hex || hex->size() != 2 * size) return std::nullopt;
  protocol::IntegrityKey key;
  key.size = static_cast<std::uint8_t>(size);
  for (std::size_t i = 0; i < size; ++i) {
    const int hi = hex_value((*hex)[2 * i]), lo = hex_value((*hex)[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    key.bytes[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return key;
}

}  // namespace

std::string secret_key(std::string_view id) { return "turnd:secret:" + std::string(id); }

std::string user_key_prefix(std::string_view realm) {
  return "turnd:user:" + std::string(realm) + ":";
}

std::string user_key(std::string_view realm, std::string_view name) {
  return user_key_prefix(realm) + std::string(name);
}

std::string user_scan_pattern(std::string_view realm) {
  std::string pattern;
  for (char c : user_key_prefix(realm)) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern + "*";
}

std::string new_secret_id(std::chrono::system_clock::time_point now) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  std::random_device random;  // uniqueness only; the id is not a secret
  char id[32];
  std::snprintf(id, sizeof id, "%013lld-%04x", static_cast<long long>(ms.count()),
                static_cast<unsigned>(random() & 0xffffu));
  return id;
}

std::string check_secret_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return "a secret id has 1-64 characters";
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return "a secret id consists of A-Z a-z 0-9 . _ -";
  }
  return {};
}

std::string check_user_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return "a user name has 1-256 bytes";
  for (char c : name)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return "a user name must not contain spaces or control characters";
  return {};
}

std::vector<std::string> user_fields(const MintedUser& user) {
  return {std::string(kUserFieldNames[0]), to_hex(user.md5.span()),
          std::string(kUserFieldNames[1]), to_hex(user.sha256.span()),
          std::string(kUserFieldNames[2]), std::to_string(user.expires.time_since_epoch().count())};
}

Result<MintedUser, std::string> decode_user(const std::optional<std::string>& md5,
                                            const std::optional<std::string>& sha256,
                                            const std::optional<std::string>& expires) {
  auto md5_key = key_from_hex(md5, 16);
  if (!md5_key) return unexpected(std::string("md5: expected 32 hex digits"));
  auto sha256_key = key_from_hex(sha256, 32);
  if (!sha256_key) return unexpected(std::string("sha256: expected 64 hex digits"));
  auto when = expires ? parse_unix_time(*expires) : std::nullopt;
  if (!when) return unexpected(std::string("expires: expected unix seconds"));
  return MintedUser{*md5_key, *sha256_key, *when};
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

std::optional<std::chrono::sys_seconds> parse_unix_time(std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 0)
    return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::seconds{value}};
}

std::string format_event(const Event& e) {
  return std::string(kEventNames[static_cast<std::size_t>(e.kind)]) + " " + e.subject;
}

std::optional<Event> parse_event(std::string_view message) {
  const auto space = message.find(' ');
  if (space == std::string_view::npos || space + 1 == message.size()) return std::nullopt;
  for (std::size_t i = 0; i < std::size(kEventNames); ++i)
    if (message.substr(0, space) == kEventNames[i])
      return Event{static_cast<Event::Kind>(i), std::string(message.substr(space + 1))};
  return std::nullopt;
}

}  // namespace turnd::auth::redis
