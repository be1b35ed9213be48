// Time-limited credentials of the TURN REST API (draft-uberti-behave-turn-rest-00 §2.2):
//   username = "<unix expiry>" SEP "<user id>"     password = base64(HMAC-SHA1(secret, username))
// The expiry is the first field; the user id may itself contain the separator ("exp:user:app").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace turnd::auth {

struct RestUsername {
  std::chrono::sys_seconds expiry;
  std::string_view user;  // views the username
};

/// The latest expiry a REST username may carry: 9999-12-31T23:59:59Z.
inline constexpr long long kMaxRestExpiry = 253'402'300'799;

/// Splits a REST username; nullopt when it does not start with a decimal expiry (at most
/// kMaxRestExpiry) and SEP.
std::optional<RestUsername> parse_rest_username(std::string_view username, char separator) noexcept;

/// base64(HMAC-SHA1(secret, username)): the password a backend hands out with the username.
std::string rest_password(std::string_view secret, std::string_view username);

/// username for `user` valid until now + ttl.
std::string make_rest_username(std::string_view user, std::chrono::sys_seconds expiry,
                               char separator);

}  // namespace turnd::auth
