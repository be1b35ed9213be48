// The Redis layout shared by turnd (RedisStore) and turnctl: key names, the fields of each
// record, and the pub/sub events. Full description: auth/redis/README.md.
//
//   turnd:secrets                    sorted set  score = created (unix s), member = secret id
//   turnd:secret:<id>                hash        value, created
//   turnd:user:<realm>:<name>        hash        md5, sha256 (hex keys), expires (unix s); EXPIRE =
//   TTL turnd:events                     channel     "secret-added <id>", "secret-retired <id>",
//                                                "user-added <name>", "user-revoked <name>"
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "auth/credential_store.hpp"
#include "protocol/result.hpp"

namespace turnd::auth::redis {

inline constexpr std::string_view kSecretsKey = "turnd:secrets";
inline constexpr std::string_view kEventsChannel = "turnd:events";

/// "turnd:secret:<id>"
std::string secret_key(std::string_view id);
/// "turnd:user:<realm>:", the prefix of every user key of `realm`.
std::string user_key_prefix(std::string_view realm);
/// "turnd:user:<realm>:<name>"
std::string user_key(std::string_view realm, std::string_view name);
/// A SCAN MATCH pattern for the user keys of `realm`, its glob characters escaped.
std::string user_scan_pattern(std::string_view realm);

/// A new secret id: "<unix milliseconds, 13 digits>-<4 hex digits>". Ids of one second sort
/// by time, which ZREVRANGE uses to break ties of equal scores.
std::string new_secret_id(std::chrono::system_clock::time_point now);
/// Why `id` cannot be a secret id (1-64 of A-Z a-z 0-9 . _ -), or "" when it can.
std::string check_secret_id(std::string_view id);
/// Why `name` cannot be a minted user name (1-256 bytes, no control characters or spaces),
/// or "" when it can.
std::string check_user_name(std::string_view name);

/// HSET arguments of a user record: md5 HEX sha256 HEX expires UNIX.
std::vector<std::string> user_fields(const MintedUser& user);
/// The HMGET fields user_fields writes, in the order decode_user takes them.
inline constexpr std::string_view kUserFieldNames[] = {"md5", "sha256", "expires"};
/// A user record from its three fields; the error names the field and what it must hold,
/// e.g. `md5: expected 32 hex digits`.
Result<MintedUser, std::string> decode_user(const std::optional<std::string>& md5,
                                            const std::optional<std::string>& sha256,
                                            const std::optional<std::string>& expires);

/// Lower-case hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);
/// Decimal unix seconds >= 0; nullopt for anything else.
std::optional<std::chrono::sys_seconds> parse_unix_time(std::string_view text);

/// One message on kEventsChannel.
struct Event {
  enum class Kind : std::uint8_t { SecretAdded, SecretRetired, UserAdded, UserRevoked };
  Kind kind;
  std::string subject;  ///< secret id or user name
  friend bool operator==(const Event&, const Event&) = default;
};
std::string format_event(const Event& e);
/// nullopt for a message that is not one of the four forms.
std::optional<Event> parse_event(std::string_view message);

}  // namespace turnd::auth::redis
