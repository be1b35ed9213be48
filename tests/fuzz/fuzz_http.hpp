// What the HTTP fuzz targets share: raw bytes through a Beast request parser, as a listener's
// read loop feeds it (fuzz_admin_http, fuzz_web).
#pragma once

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "protocol/result.hpp"

namespace turnd::fuzz {

/// Feeds `data` to `parser` (limits already set) until it has one request; false when the
/// bytes are not one whole request (the listener then closes the connection unanswered).
template <class Parser, class Request>
bool parse_one_request(const std::uint8_t* data, std::size_t size, Parser& parser, Request& out) {
  namespace http = boost::beast::http;
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (!parser.is_done() && used < size) {
    const std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    used += n;
    if (ec == http::error::need_more && n == 0) return false;  // truncated request
    if (ec && ec != http::error::need_more) return false;
  }
  if (!parser.is_done()) return false;
  out = parser.release();
  return true;
}

/// A JSON answer's body, which must parse (that checks its UTF-8 too) as one object.
inline boost::json::object json_object_of(const std::string& body) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  TURND_ASSERT(!ec);
  TURND_ASSERT(value.is_object());
  return std::move(value.as_object());
}

}  // namespace turnd::fuzz
