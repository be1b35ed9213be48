// Redis replies as owned values, and the typed checks every caller goes through: a reply of an
// unexpected type is an error value that says what was expected, never a crash or a guess.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.hpp"

namespace turnd::auth::redis {

enum class ErrorKind : std::uint8_t {
  Connection,  ///< cannot connect, I/O error, timeout, closed, protocol error: reconnect
  Server,      ///< Redis answered with an error reply (WRONGTYPE, NOAUTH, ...)
  Data,        ///< a reply of an unexpected type, or a stored record that is malformed
};

struct RedisError {
  ErrorKind kind = ErrorKind::Connection;
  std::string
      message;  ///< one phrase with its context, e.g. "ZREVRANGE turnd:secrets: WRONGTYPE ..."
};

template <class T>
using RedisResult = Result<T, RedisError>;

/// The value of a command that answers only "OK".
struct Done {};

/// One reply, copied out of hiredis (which frees its own at once).
struct Reply {
  enum class Type : std::uint8_t { Nil, Integer, String, Status, Error, Array };
  Type type = Type::Nil;
  long long integer = 0;
  std::string text;             ///< String, Status and Error
  std::vector<Reply> elements;  ///< Array

  /// "nil", "an integer", "a bulk string", "a status", "an error", "an array"
  std::string_view type_name() const noexcept;
};

/// The typed checks. `context` names the command and key for the message, e.g.
/// "HMGET turnd:user:r:alice". An Error reply becomes ErrorKind::Server, any other type than
/// the one expected ErrorKind::Data.
RedisResult<long long> as_integer(const Reply& r, std::string_view context);
RedisResult<std::string> as_string(const Reply& r, std::string_view context);
RedisResult<std::optional<std::string>> as_optional_string(const Reply& r,
                                                           std::string_view context);
RedisResult<Done> as_ok(const Reply& r, std::string_view context);
/// An array of bulk strings (ZREVRANGE, SCAN keys).
RedisResult<std::vector<std::string>> as_strings(const Reply& r, std::string_view context);
/// An array of bulk strings or nils (HMGET), of exactly `count` elements.
RedisResult<std::vector<std::optional<std::string>>> as_optional_strings(const Reply& r,
                                                                         std::size_t count,
                                                                         std::string_view context);

/// An error of kind Data: "CONTEXT: PROBLEM".
RedisError data_error(std::string_view context, std::string_view problem);

}  // namespace turnd::auth::redis
