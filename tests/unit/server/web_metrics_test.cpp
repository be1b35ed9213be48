// The web listener's metrics (server/web_metrics.hpp): the path label of any target is one of
// five, statuses fold into "other", and what a scrape shows.
#include "server/web_metrics.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace turnd::server {
namespace {

TEST(WebMetrics, PathLabelsAreFixed) {
  EXPECT_EQ(web_path_of("/"), WebPath::Page);
  EXPECT_EQ(web_path_of("/call?room=abc"), WebPath::Page);
  EXPECT_EQ(web_path_of("/ice"), WebPath::Page);
  EXPECT_EQ(web_path_of("/call.html"), WebPath::Page);
  EXPECT_EQ(web_path_of("/call.js"), WebPath::File);
  EXPECT_EQ(web_path_of("/web.css"), WebPath::File);
  EXPECT_EQ(web_path_of("/credentials"), WebPath::Credentials);
  EXPECT_EQ(web_path_of("/ws?room=a"), WebPath::WebSocket);
  for (const char* other : {"", "*", "/../call.js", "/%2e%2e/call.js", "/call.js/", "//call.js",
                            "/CALL.JS", "http://x/call.js", "/credentials/", "/wss", "/etc/passwd"})
    EXPECT_EQ(web_path_of(other), WebPath::Other) << other;
}

// Every request_total series a scrape shows, after `targets` were answered with `statuses`.
std::set<std::string> request_series(const WebCounters& c) {
  std::string text;
  render_web_metrics(text, c);
  std::set<std::string> series;
  for (std::size_t at = 0;
       (at = text.find("\nturnd_web_requests_total{", at)) != std::string::npos;)
    ++at, series.insert(text.substr(at, text.find(' ', at) - at));
  return series;
}

TEST(WebMetrics, HostileTargetsAndStatusesAddNoSeries) {
  WebCounters c;
  for (int i = 0; i < 1000; ++i) c.request("/random-" + std::to_string(i), 404);
  for (unsigned status = 100; status < 600; ++status) c.request("/x", status);
  c.request("/call", 200);
  c.request("/ws?room=a", 101);
  const auto series = request_series(c);
  EXPECT_EQ(series, (std::set<std::string>{
                        R"(turnd_web_requests_total{path="other",status="101"})",
                        R"(turnd_web_requests_total{path="other",status="200"})",
                        R"(turnd_web_requests_total{path="other",status="400"})",
                        R"(turnd_web_requests_total{path="other",status="403"})",
                        R"(turnd_web_requests_total{path="other",status="404"})",
                        R"(turnd_web_requests_total{path="other",status="405"})",
                        R"(turnd_web_requests_total{path="other",status="426"})",
                        R"(turnd_web_requests_total{path="other",status="429"})",
                        R"(turnd_web_requests_total{path="other",status="503"})",
                        R"(turnd_web_requests_total{path="other",status="other"})",
                        R"(turnd_web_requests_total{path="page",status="200"})",
                        R"(turnd_web_requests_total{path="ws",status="101"})",
                    }));
  EXPECT_EQ(c.requests[static_cast<std::size_t>(WebPath::Other)][4].get(), 1001u);  // 404
}

TEST(WebMetrics, ScrapeShowsRefusalsCredentialsAndGauges) {
  WebCounters c;
  c.refuse(WebRefusal::RoomFull);
  c.refuse(WebRefusal::RoomFull);
  c.refuse(WebRefusal::SlowReader);
  ++c.credentials_minted;
  WebCounters::set(c.connections, 3);
  WebCounters::set(c.websockets, 2);
  WebCounters::set(c.rooms, 1);
  std::string text;
  render_web_metrics(text, c);
  for (const char* line : {"turnd_web_refused_total{reason=\"room_full\"} 2\n",
                           "turnd_web_refused_total{reason=\"slow_reader\"} 1\n",
                           "turnd_web_refused_total{reason=\"per_source\"} 0\n",
                           "turnd_web_refused_total{reason=\"oversize_message\"} 0\n",
                           "turnd_web_credentials_minted_total 1\n", "turnd_web_connections 3\n",
                           "turnd_web_websockets 2\n", "turnd_web_rooms 1\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  EXPECT_EQ(text.find("turnd_web_requests_total{"), std::string::npos);  // none yet
}

}  // namespace
}  // namespace turnd::server
