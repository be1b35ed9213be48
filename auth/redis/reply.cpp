#include "auth/redis/reply.hpp"

namespace turnd::auth::redis {

namespace {

RedisError unexpected_type(const Reply& r, std::string_view context, std::string_view expected) {
  if (r.type == Reply::Type::Error)
    return RedisError{ErrorKind::Server, std::string(context) + ": " + r.text};
  return data_error(
      context, "expected " + std::string(expected) + " reply, got " + std::string(r.type_name()));
}

}  // namespace

std::string_view Reply::type_name() const noexcept {
  switch (type) {
    case Type::Nil:
      return "nil";
    case Type::Integer:
      return "an integer";
    case Type::String:
      return "a bulk string";
    case Type::Status:
      return "a status";
    case Type::Error:
      return "an error";
    case Type::Array:
      return "an array";
  }
  return "an unknown type";
}

RedisError data_error(std::string_view context, std::string_view problem) {
  return RedisError{ErrorKind::Data, std::string(context) + ": " + std::string(problem)};
}

RedisResult<long long> as_integer(const Reply& r, std::string_view context) {
  if (r.type != Reply::Type::Integer) return unexpected(unexpected_type(r, context, "an integer"));
  return r.integer;
}

RedisResult<std::string> as_string(const Reply& r, std::string_view context) {
  if (r.type != Reply::Type::String)
    return unexpected(unexpected_type(r, context, "a bulk string"));
  return r.text;
}

RedisResult<std::optional<std::string>> as_optional_string(const Reply& r,
                                                           std::string_view context) {
  if (r.type == Reply::Type::Nil) return std::optional<std::string>{};
  if (r.type != Reply::Type::String)
    return unexpected(unexpected_type(r, context, "a bulk string or nil"));
  return std::optional<std::string>{r.text};
}

RedisResult<Done> as_ok(const Reply& r, std::string_view context) {
  if (r.type != Reply::Type::Status || r.text != "OK")
    return unexpected(unexpected_type(r, context, "an OK status"));
  return Done{};
}

RedisResult<std::vector<std::string>> as_strings(const Reply& r, std::string_view context) {
  if (r.type != Reply::Type::Array)
    return unexpected(unexpected_type(r, context, "an array of strings"));
  std::vector<std::string> out;
  out.reserve(r.elements.size());
  for (const auto& e : r.elements) {
    if (e.type != Reply::Type::String)
      return unexpected(unexpected_type(e, context, "an array element that is a bulk string"));
    out.push_back(e.text);
  }
  return out;
}

RedisResult<std::vector<std::optional<std::string>>> as_optional_strings(const Reply& r,
                                                                         std::size_t count,
                                                                         std::string_view context) {
  if (r.type != Reply::Type::Array) return unexpected(unexpected_type(r, context, "an array"));
  if (r.elements.size() != count)
    return unexpected(data_error(context, "expected " + std::to_string(count) + " elements, got " +
                                              std::to_string(r.elements.size())));
  std::vector<std::optional<std::string>> out;
  out.reserve(count);
  for (const auto& e : r.elements) {
    auto s = as_optional_string(e, context);
    if (!s) return unexpected(s.error());
    out.push_back(*s);
  }
  return out;
}

}  // namespace turnd::auth::redis
