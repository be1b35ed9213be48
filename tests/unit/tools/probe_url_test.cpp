// turnctl probe's pure parts: URL parsing (RFC 7064/7065 forms, IPv6, defaults, bad URLs with
// the fix in the message) and the plain reasons for STUN error codes.
#include "tools/turnctl/probe_url.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "tools/turnctl/probe_run.hpp"

namespace turnd::turnctl::probe {
namespace {

TEST(ProbeUrl, TurnUdpDefault) {
  const auto u = parse_probe_url("turn:turn.example.org");
  EXPECT_TRUE(u.turn);
  EXPECT_EQ(u.host, "turn.example.org");
  EXPECT_EQ(u.port, 3478);
  EXPECT_EQ(u.transport, Transport::Udp);
}

TEST(ProbeUrl, TurnTcpWithPort) {
  const auto u = parse_probe_url("turn:127.0.0.1:3479?transport=tcp");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 3479);
  EXPECT_EQ(u.transport, Transport::Tcp);
}

TEST(ProbeUrl, Ipv6InBrackets) {
  const auto u = parse_probe_url("turn:[::1]:3478?transport=tcp");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.port, 3478);
  EXPECT_EQ(u.transport, Transport::Tcp);
  EXPECT_EQ(parse_probe_url("stun:[2001:db8::1]").port, 3478);
}

TEST(ProbeUrl, TurnsIsTlsOverTcp) {
  auto u = parse_probe_url("turns:turn.example.org:443");
  EXPECT_TRUE(u.turn);
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.transport, Transport::Tls);
  EXPECT_EQ(parse_probe_url("turns:h").port, 5349);
  EXPECT_EQ(parse_probe_url("turns:h?transport=tcp").transport, Transport::Tls);
}

TEST(ProbeUrl, Stun) {
  const auto u = parse_probe_url("STUN:stun.example.org:19302");
  EXPECT_FALSE(u.turn);
  EXPECT_EQ(u.port, 19302);
  EXPECT_EQ(u.transport, Transport::Udp);
}

void expect_bad(const std::string& url, const std::string& says) {
  try {
    parse_probe_url(url);
    ADD_FAILURE() << url << " was accepted";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(says), std::string::npos) << what;
    EXPECT_NE(what.find("Write turn:HOST:PORT?transport=udp"), std::string::npos) << what;
  }
}

TEST(ProbeUrl, BadUrlsSayWhatIsWrongAndHowToWriteThem) {
  expect_bad("127.0.0.1:3478", "no scheme");
  expect_bad("http://x", "unknown scheme");
  expect_bad("turn://host:3478", "no '//'");
  expect_bad("turn:::1:3478", "in brackets");
  expect_bad("turn:[::1:3478", "without ']'");
  expect_bad("turn:[127.0.0.1]:3478", "IPv6 addresses only");
  expect_bad("turn:host:", "without a port");
  expect_bad("turn:host:99999", "not in 1-65535");
  expect_bad("turn:host:abc", "not a number");
  expect_bad("turn:host?transport=sctp", "neither udp nor tcp");
  expect_bad("turn:host?proto=udp", "only query");
  expect_bad("stun:host?transport=tcp", "take no");
  expect_bad("turns:host?transport=udp", "DTLS");
  expect_bad("turn:", "no host");
  expect_bad("turn:user@host", "'@'");
}

TEST(ProbeReasons, PlainWords) {
  EXPECT_NE(explain_error("allocate", 401, "Unauthorized", true, "").find("wrong --secret"),
            std::string::npos);
  EXPECT_NE(explain_error("allocate", 401, "", false, "").find("give --secret"), std::string::npos);
  const auto denied = explain_error("permission", 403, "Forbidden", true, "127.0.0.1:5000");
  EXPECT_NE(denied.find("peer filter denies the peer 127.0.0.1:5000"), std::string::npos);
  EXPECT_NE(denied.find("--peer"), std::string::npos);
  EXPECT_NE(denied.find("allow_peer"), std::string::npos);
  EXPECT_NE(denied.find("--allow-loopback-peers"), std::string::npos);
  EXPECT_EQ(explain_error("allocate", 508, "", true, "").rfind("508: ", 0), 0u);
  EXPECT_NE(explain_error("refresh", 437, "", true, "").find("allocation"), std::string::npos);
}

}  // namespace
}  // namespace turnd::turnctl::probe
