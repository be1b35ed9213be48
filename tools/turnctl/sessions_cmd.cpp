// turnctl sessions: the live allocations of a running turnd as a table (or its JSON), and
// turnctl kick USER: close a user's allocations. Both ask turnd's admin listener
// (GET and DELETE /api/v1/allocations), found in turnd's config.
#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <iostream>
#include <memory>

#include "tools/turnctl/admin_client.hpp"
#include "tools/turnctl/commands.hpp"

namespace turnd::turnctl {

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

constexpr const char* kAllocations = "/api/v1/allocations";
constexpr std::size_t kMaxCell = 48;  // longer text (a hostile username) is cut, marked with ~

// The answer's status as a Failure (or UsageError for a 400: the argument was refused).
void check_status(const AdminEndpoint& e, const AdminReply& r) {
  const std::string where = "turnd at " + e.address.to_string();
  switch (r.status) {
    case 200:
      return;
    case 400:
      throw UsageError(where + " refused the request: " + admin_error_text(r));
    case 401:
      throw Failure(where + " refused the API key (401): " + e.key_origin +
                    " is not the key turnd runs with");
    case 404:
      throw Failure(where +
                    " has no sessions API (404): set admin.api_key in turnd's config and "
                    "restart it (" +
                    e.origin + ")");
    default:
      throw Failure(where + " answered " + std::to_string(r.status) + ": " + admin_error_text(r));
  }
}

json::object parse_object(const AdminEndpoint& e, const AdminReply& r) {
  boost::system::error_code ec;
  auto value = json::parse(r.body, ec);
  if (ec || !value.is_object())
    throw Failure("turnd at " + e.address.to_string() + " answered no JSON object" +
                  (ec ? ": " + ec.message() : ""));
  return std::move(value.as_object());
}

// Field access that tolerates a missing or mistyped field (an older or newer turnd).
std::string str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t num(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

std::size_t count(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_array() ? v->as_array().size() : 0;
}

std::int64_t bytes(const json::object& o, std::string_view direction) {
  const auto* v = o.if_contains(direction);
  return v && v->is_object() ? num(v->as_object(), "bytes") : 0;
}

// 999, 1.2K, 3.4M, 5.6G (powers of 1024).
std::string human_bytes(std::int64_t n) {
  if (n < 1024) return std::to_string(std::max<std::int64_t>(n, 0)) + "B";
  double v = static_cast<double>(n);
  const char* unit = "KMGTP";
  for (v /= 1024; v >= 1024 && unit[1] != '\0'; v /= 1024) ++unit;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%c", v, *unit);
  return text;
}

// Printable, and at most kMaxCell code points.
std::string cell(std::string_view text) {
  std::string out = printable(text);
  std::size_t points = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if ((static_cast<unsigned char>(out[i]) & 0xC0) == 0x80) continue;
    if (++points > kMaxCell) return out.substr(0, i) + "~";
  }
  return out;
}

std::size_t width(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

using Row = std::vector<std::string>;

Row row_of(const json::object& a) {
  std::string relayed;
  if (const auto* r = a.if_contains("relayed"); r && r->is_array())
    for (const auto& v : r->as_array())
      if (v.is_string()) relayed += (relayed.empty() ? "" : ",") + std::string(v.as_string());
  return {cell(str(a, "user")),
          cell(str(a, "client")),
          cell(str(a, "transport")),
          cell(relayed),
          format_duration(std::chrono::seconds{num(a, "age_seconds")}),
          format_duration(std::chrono::seconds{num(a, "expires_in_seconds")}),
          std::to_string(count(a, "permissions")),
          std::to_string(count(a, "channels")),
          human_bytes(bytes(a, "to_peer")),
          human_bytes(bytes(a, "from_peer"))};
}

void print_table(std::vector<Row> rows) {
  const Row header{"USER",    "CLIENT", "TRANSPORT", "RELAYED", "AGE",
                   "EXPIRES", "PERMS",  "CHANNELS",  "TO PEER", "FROM PEER"};
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.front() < b.front(); });
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) {
    widths[c] = width(header[c]);
    for (const auto& r : rows) widths[c] = std::max(widths[c], width(r[c]));
  }
  auto print = [&](const Row& r) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(widths[c] - width(r[c]) + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print(header);
  for (const auto& r : rows) print(r);
}

void sessions(Context& ctx, const AdminFlags& flags, bool as_json) {
  const auto endpoint = find_admin(ctx, flags);
  const auto reply = admin_call(endpoint, http::verb::get, kAllocations);
  check_status(endpoint, reply);
  const auto body = parse_object(endpoint, reply);
  if (as_json) {
    std::cout << reply.body << (reply.body.ends_with('\n') ? "" : "\n");
    return;
  }
  const auto* list = body.if_contains("allocations");
  if (!list || !list->is_array())
    throw Failure("turnd at " + endpoint.address.to_string() + " answered no allocation list");
  std::vector<Row> rows;
  for (const auto& a : list->as_array())
    if (a.is_object()) rows.push_back(row_of(a.as_object()));
  if (rows.empty()) {
    std::cout << "no allocations\n";
    return;
  }
  print_table(std::move(rows));
  std::cout << list->as_array().size() << " allocation(s)\n";
}

void kick(Context& ctx, const AdminFlags& flags, const std::string& user) {
  if (user.empty()) throw UsageError("USER must not be empty");
  const auto endpoint = find_admin(ctx, flags);
  const std::string target = std::string(kAllocations) +
                             "?user=" + boost::urls::encode(user, boost::urls::unreserved_chars);
  const auto reply = admin_call(endpoint, http::verb::delete_, target);
  check_status(endpoint, reply);
  const auto closed = num(parse_object(endpoint, reply), "closed");
  if (closed == 0)
    std::cout << "no allocations of user \"" << printable(user) << "\"\n";
  else
    std::cout << "closed " << closed << " allocation(s) of user \"" << printable(user) << "\"\n";
}

void add_admin_flags(CLI::App* cmd, AdminFlags& flags) {
  cmd->add_option("--admin", flags.admin,
                  "turnd's admin listener, http://IP:PORT (default: admin.listen of the config)");
  cmd->add_option("--api-key", flags.api_key,
                  "admin API key (default: admin.api_key of the config; on the command line "
                  "other local users can see it)");
}

}  // namespace

void add_sessions_commands(CLI::App& app, Context& ctx) {
  auto flags = std::make_shared<AdminFlags>();
  auto as_json = std::make_shared<bool>(false);
  auto* list = app.add_subcommand("sessions", "list the live allocations of the running turnd");
  add_admin_flags(list, *flags);
  list->add_flag("--json", *as_json, "print turnd's JSON answer instead of a table");
  list->callback([&ctx, flags, as_json] { sessions(ctx, *flags, *as_json); });

  auto user = std::make_shared<std::string>();
  auto* close = app.add_subcommand(
      "kick", "close every allocation of USER (a REST user id or an exact username)");
  add_admin_flags(close, *flags);
  close->add_option("USER", *user, "user id or username")->required();
  close->callback([&ctx, flags, user] { kick(ctx, *flags, *user); });
}

}  // namespace turnd::turnctl
