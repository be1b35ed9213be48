// The sessions API of the admin listener (server/admin_http.hpp) as the pure function
// handle_admin_request: the routes, the key, the methods, and a list of 10,000 allocations.
// The integration test (tests/integration/test_sessions.py) runs it against a real turnd.
#include <gtest/gtest.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "server/admin_http.hpp"

namespace turnd::server {
namespace {

namespace http = boost::beast::http;

constexpr const char* kKey = "k-unit-0123456789";
const std::chrono::system_clock::time_point kNow{std::chrono::seconds{1735689600}};

config::Config with_key() {
  config::Config c;
  c.admin_api_key = kKey;
  return c;
}

AdminRequest request(http::verb verb, const std::string& target, bool key = true) {
  AdminRequest r{verb, target, 11};
  if (key) r.set(http::field::authorization, std::string("Bearer ") + kKey);
  return r;
}

// An allocation as allocation_json.cpp describes it, with 64 permissions and channels (the
// default per-allocation limits): the largest a client can make one.
boost::json::object big_allocation(int i) {
  boost::json::array permissions, channels;
  for (int k = 0; k < 64; ++k) {
    permissions.push_back(
        {{"peer", "198.51.100." + std::to_string(k)}, {"expires_in_seconds", 300}});
    channels.push_back({{"number", 0x4000 + k},
                        {"peer", "198.51.100." + std::to_string(k) + ":5000"},
                        {"expires_in_seconds", 600}});
  }
  return {{"id", i},
          {"username", "1735693200:user" + std::to_string(i)},
          {"user", "user" + std::to_string(i)},
          {"transport", "udp"},
          {"relayed", boost::json::array{"203.0.113.1:50000"}},
          {"permissions", std::move(permissions)},
          {"channels", std::move(channels)}};
}

struct Recorder {
  std::vector<std::string> kicked;
  std::size_t listed = 0;
  bool answer = true;
  AdminHooks hooks() {
    AdminHooks h;
    h.allocations = [this]() -> std::optional<boost::json::array> {
      if (!answer) return std::nullopt;
      boost::json::array all;
      for (std::size_t i = 0; i < listed; ++i) all.push_back(big_allocation(static_cast<int>(i)));
      return all;
    };
    h.close_user = [this](const std::string& user) -> std::optional<std::size_t> {
      kicked.push_back(user);
      if (!answer) return std::nullopt;
      return user == "alice" ? 3 : 0;
    };
    return h;
  }
};

TEST(AdminSessions, TenThousandAllocationsAreOneValidDocument) {
  Recorder rec;
  rec.listed = 10000;
  const auto res = handle_admin_request(request(http::verb::get, "/api/v1/allocations"), with_key(),
                                        rec.hooks(), kNow);
  ASSERT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(res[http::field::content_length], std::to_string(res.body().size()));
  const auto doc = boost::json::parse(res.body()).as_object();
  EXPECT_EQ(doc.at("count").to_number<std::size_t>(), 10000u);
  EXPECT_EQ(doc.at("allocations").as_array().size(), 10000u);
  // What the docs promise: a few KiB for the largest allocation, so 10,000 stay tens of MB.
  EXPECT_LT(res.body().size(), 100u << 20) << res.body().size();
}

TEST(AdminSessions, KickNamesOneUser) {
  Recorder rec;
  auto res = handle_admin_request(request(http::verb::delete_, "/api/v1/allocations?user=alice"),
                                  with_key(), rec.hooks(), kNow);
  ASSERT_EQ(res.result(), http::status::ok) << res.body();
  EXPECT_EQ(boost::json::parse(res.body()), boost::json::parse(R"({"user":"alice","closed":3})"));
  EXPECT_EQ(rec.kicked, std::vector<std::string>{"alice"});
  // Percent-decoded, UTF-8 kept.
  res = handle_admin_request(request(http::verb::delete_, "/api/v1/allocations?user=al%C3%AFce"),
                             with_key(), rec.hooks(), kNow);
  EXPECT_EQ(res.result(), http::status::ok);
  EXPECT_EQ(rec.kicked.back(),
            "al\xc3\xaf"
            "ce");
}

TEST(AdminSessions, RefusedKicksCallNoHook) {
  Recorder rec;
  for (const char* target :
       {"/api/v1/allocations", "/api/v1/allocations?user=", "/api/v1/allocations?user=a%00",
        "/api/v1/allocations?user=a%1b", "/api/v1/allocations?user=%c2%85",
        "/api/v1/allocations?user=%ff", "/api/v1/allocations?user=a&user=b"}) {
    const auto res =
        handle_admin_request(request(http::verb::delete_, target), with_key(), rec.hooks(), kNow);
    EXPECT_EQ(res.result(), http::status::bad_request) << target;
  }
  const auto unauthorized = handle_admin_request(
      request(http::verb::delete_, "/api/v1/allocations?user=alice&key=wrong", false), with_key(),
      rec.hooks(), kNow);
  EXPECT_EQ(unauthorized.result(), http::status::unauthorized);
  const auto no_api =
      handle_admin_request(request(http::verb::delete_, "/api/v1/allocations?user=alice"),
                           config::Config{}, rec.hooks(), kNow);
  EXPECT_EQ(no_api.result(), http::status::method_not_allowed);
  EXPECT_TRUE(rec.kicked.empty());
}

TEST(AdminSessions, ShardsThatDoNotAnswerAre503) {
  Recorder rec;
  rec.answer = false;
  for (auto verb : {http::verb::get, http::verb::delete_}) {
    const auto res = handle_admin_request(request(verb, "/api/v1/allocations?user=alice"),
                                          with_key(), rec.hooks(), kNow);
    EXPECT_EQ(res.result(), http::status::service_unavailable);
    EXPECT_TRUE(boost::json::parse(res.body()).as_object().contains("error"));
  }
}

TEST(AdminSessions, MethodsAndTheRouteWithoutAKey) {
  Recorder rec;
  auto res = handle_admin_request(request(http::verb::put, "/api/v1/allocations"), with_key(),
                                  rec.hooks(), kNow);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET, DELETE");
  res =
      handle_admin_request(request(http::verb::delete_, "/metrics"), with_key(), rec.hooks(), kNow);
  EXPECT_EQ(res.result(), http::status::method_not_allowed);
  EXPECT_EQ(res[http::field::allow], "GET");
  res = handle_admin_request(request(http::verb::get, "/api/v1/allocations"), config::Config{},
                             rec.hooks(), kNow);
  EXPECT_EQ(res.result(), http::status::not_found);
}

}  // namespace
}  // namespace turnd::server
