#include "tools/turnctl/admin_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>

namespace turnd::turnctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// --admin: "http://HOST:PORT", "http://HOST:PORT/" or "HOST:PORT", HOST an IP address (IPv6
// in brackets), as admin.listen is.
protocol::TransportAddress parse_admin_flag(std::string_view text) {
  std::string_view rest = text;
  if (rest.starts_with("https://"))
    throw UsageError("--admin " + std::string(text) +
                     ": turnd's admin listener speaks plain HTTP (http://HOST:PORT)");
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  if (rest.ends_with('/')) rest.remove_suffix(1);
  auto address = protocol::TransportAddress::parse(rest);
  if (!address || address->port == 0)
    throw UsageError("--admin " + printable(text) +
                     ": expected http://IP:PORT, e.g. http://127.0.0.1:9641");
  return *address;
}

// A listener on 0.0.0.0 or :: is reached through loopback of its family.
protocol::TransportAddress reachable(protocol::TransportAddress a) {
  if (a.ip.is_unspecified()) a.ip = *protocol::IpAddress::parse(a.ip.is_v4() ? "127.0.0.1" : "::1");
  return a;
}

void check_key(const std::string& key, const std::string& where) {
  if (key.empty()) throw UsageError(where + ": the API key must not be empty");
  for (const unsigned char c : key)
    if (c < 0x20 || c == 0x7f)
      throw Failure(where +
                    ": the API key has a control character and cannot be sent in an "
                    "HTTP header");
}

}  // namespace

AdminEndpoint find_admin(Context& ctx, const AdminFlags& flags) {
  AdminEndpoint e;
  const auto& config = ctx.config();
  if (!flags.admin.empty()) {
    e.address = parse_admin_flag(flags.admin);
    e.origin = "--admin is " + e.address.to_string();
  } else if (config.admin_listen) {
    e.address = reachable(*config.admin_listen);
    e.origin = "admin.listen is " + config.admin_listen->to_string() + " in " + ctx.config_name();
  } else {
    throw Failure(ctx.config_name() +
                  " has no admin listener: set admin.listen (e.g. \"127.0.0.1:9641\") and "
                  "admin.api_key in " +
                  ctx.where_to_configure() + " and restart turnd, or pass --admin http://IP:PORT");
  }
  if (!flags.api_key.empty()) {
    e.key = flags.api_key;
    e.key_origin = "--api-key";
    check_key(e.key, e.key_origin);
  } else if (config.admin_api_key) {
    e.key = *config.admin_api_key;
    e.key_origin = "admin.api_key in " + ctx.config_name();
    check_key(e.key, e.key_origin);
  } else {
    throw Failure(ctx.config_name() + " has no admin API key: set admin.api_key in " +
                  ctx.where_to_configure() +
                  " (e.g. the output of 'openssl rand -hex 32') and restart turnd, or pass "
                  "--api-key KEY");
  }
  return e;
}

AdminReply admin_call(const AdminEndpoint& endpoint, http::verb verb, const std::string& target) {
  asio::io_context io;
  beast::tcp_stream stream{io};
  const asio::ip::tcp::endpoint to{asio::ip::make_address(endpoint.address.ip.to_string()),
                                   endpoint.address.port};
  http::request<http::empty_body> req{verb, target, 11};
  req.set(http::field::host, endpoint.address.to_string());
  req.set(http::field::authorization, "Bearer " + endpoint.key);
  req.set(http::field::user_agent, "turnctl");
  req.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAdminReply);
  beast::flat_buffer buffer;
  boost::system::error_code result;
  const char* step = "connect";
  // One deadline for the three steps: the stream cancels whichever is running when it passes.
  stream.expires_after(kAdminTimeout);
  stream.async_connect(to, [&](boost::system::error_code ec) {
    if (ec) return void(result = ec);
    step = "send the request";
    http::async_write(stream, req, [&](boost::system::error_code ec, std::size_t) {
      if (ec) return void(result = ec);
      step = "read the answer";
      http::async_read(stream, buffer, parser,
                       [&](boost::system::error_code ec, std::size_t) { result = ec; });
    });
  });
  io.run();
  const std::string where = "turnd's admin listener at " + endpoint.address.to_string();
  if (result == beast::error::timeout)
    throw Failure(where + " did not answer within " + format_duration(kAdminTimeout) + " (could " +
                  "not " + step + "; is turnd running? " + endpoint.origin + ")");
  if (result && std::string_view(step) == "connect")
    throw Failure("cannot reach " + where + ": " + result.message() + " (is turnd running? " +
                  endpoint.origin + ")");
  if (result == http::error::body_limit)
    throw Failure(where + " answered more than " + std::to_string(kMaxAdminReply >> 20) + " MiB");
  if (result)
    throw Failure(where + ": could not " + step + ": " + result.message() + " (is that turnd? " +
                  endpoint.origin + ")");
  return {parser.get().result_int(), parser.get().body()};
}

std::string admin_error_text(const AdminReply& reply) {
  boost::system::error_code ec;
  const auto value = boost::json::parse(reply.body, ec);
  if (!ec && value.is_object())
    if (const auto* error = value.as_object().if_contains("error"); error && error->is_string())
      return printable(error->as_string());
  return printable(reply.body.substr(0, std::min(reply.body.find('\n'), std::size_t{200})));
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char hex[16];
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x7f) {
      out += static_cast<char>(b);
      ++i;
      continue;
    }
    // The length of the UTF-8 sequence at i, 0 when it is not one (overlong, truncated or
    // surrogate sequences are escaped byte by byte: the terminal gets no raw control).
    std::size_t len = b >= 0xC2 && b <= 0xDF   ? 2
                      : (b & 0xF0) == 0xE0     ? 3
                      : b >= 0xF0 && b <= 0xF4 ? 4
                                               : 0;
    if (len == 0 || i + len > text.size()) len = 0;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) len = 0;
    unsigned long cp = 0;
    if (len > 0) {
      cp = b & (0x7F >> len);
      for (std::size_t k = 1; k < len; ++k)
        cp = cp << 6 | (static_cast<unsigned char>(text[i + k]) & 0x3F);
      static constexpr unsigned long kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) len = 0;
    }
    const bool control = cp >= 0x80 && cp <= 0x9F;
    const bool bidi = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
    if (len == 0) {
      std::snprintf(hex, sizeof hex, "\\x%02X", b);
      out += hex;
      ++i;
    } else if (control || bidi) {
      std::snprintf(hex, sizeof hex, "\\u{%04lX}", cp);
      out += hex;
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace turnd::turnctl
