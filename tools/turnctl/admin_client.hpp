// turnctl's way to turnd's admin listener (server/admin_http.hpp): where it is and which key
// it wants, from turnd's config (admin.listen, admin.api_key) or --admin / --api-key, and one
// synchronous HTTP request with a deadline.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <string>

#include "protocol/transport_address.hpp"
#include "tools/turnctl/context.hpp"

namespace turnd::turnctl {

/// The command-line overrides of the admin commands.
struct AdminFlags {
  std::string admin;    ///< --admin http://HOST:PORT (or HOST:PORT)
  std::string api_key;  ///< --api-key KEY
};

/// Where turnd's admin listener is, the key it wants, and where both came from (for messages).
struct AdminEndpoint {
  protocol::TransportAddress address;  ///< what turnctl connects to (a wildcard made loopback)
  std::string key;
  std::string origin;      ///< "admin.listen is 127.0.0.1:9641 in FILE" or "--admin is ..."
  std::string key_origin;  ///< "admin.api_key in FILE" or "--api-key"
};

/// Finds the admin listener and key, or throws Failure naming the config key to set (UsageError
/// for a malformed --admin or --api-key).
AdminEndpoint find_admin(Context& ctx, const AdminFlags& flags);

struct AdminReply {
  unsigned status = 0;
  std::string body;
};

/// Longest answer turnctl reads (about 400,000 allocations of JSON).
inline constexpr std::size_t kMaxAdminReply = 256u << 20;
inline constexpr std::chrono::seconds kAdminTimeout{10};

/// One request (`target` already percent-encoded) with "Authorization: Bearer KEY"; connect,
/// write and read within kAdminTimeout. Throws Failure saying whether turnd is running when it
/// cannot be reached, and when the answer is not HTTP or too large.
AdminReply admin_call(const AdminEndpoint& endpoint, boost::beast::http::verb verb,
                      const std::string& target);

/// The "error" of a JSON error answer, or its first line: for messages (made printable).
std::string admin_error_text(const AdminReply& reply);

/// `text` safe to print on a terminal: C0, DEL and C1 controls and bidirectional overrides as
/// \xHH or \u{HHHH} escapes; bytes that are not UTF-8 as \xHH.
std::string printable(std::string_view text);

}  // namespace turnd::turnctl
