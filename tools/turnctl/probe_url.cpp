#include "tools/turnctl/probe_url.hpp"

#include <cctype>
#include <stdexcept>

namespace turnd::turnctl::probe {

namespace {

[[noreturn]] void bad(const std::string& url, const std::string& why) {
  throw std::invalid_argument(
      "bad URL '" + url + "': " + why +
      ". Write turn:HOST:PORT?transport=udp, turn:HOST:PORT?transport=tcp, turns:HOST:PORT, "
      "stun:HOST:PORT (IPv6 in brackets: turn:[::1]:3478)");
}

std::uint16_t parse_port(const std::string& url, const std::string& digits) {
  if (digits.empty() || digits.size() > 5 ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    bad(url, "the port '" + digits + "' is not a number");
  const int p = std::stoi(digits);
  if (p < 1 || p > 65535) bad(url, "the port " + digits + " is not in 1-65535");
  return static_cast<std::uint16_t>(p);
}

}  // namespace

const char* to_string(Transport t) noexcept {
  switch (t) {
    case Transport::Udp:
      return "udp";
    case Transport::Tcp:
      return "tcp";
    case Transport::Tls:
      return "tls";
  }
  return "?";
}

ProbeUrl parse_probe_url(const std::string& text) {
  ProbeUrl u;
  u.text = text;
  const auto colon = text.find(':');
  std::string scheme = colon == std::string::npos ? "" : text.substr(0, colon);
  if (scheme.empty() ||
      scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
          std::string::npos)
    bad(text, "no scheme (stun:, turn: or turns:) before the host");
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool secure = false;
  if (scheme == "turn") {
    u.turn = true;
  } else if (scheme == "turns") {
    u.turn = secure = true;
  } else if (scheme == "stun") {
  } else if (scheme == "stuns") {
    secure = true;
  } else {
    bad(text, "unknown scheme '" + scheme + ":'");
  }
  std::string rest = text.substr(colon + 1);
  if (rest.starts_with("//")) bad(text, "no '//' after the scheme (RFC 7065: turn:HOST)");
  std::string query;
  if (const auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string port;
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string::npos) bad(text, "'[' without ']' around the IPv6 address");
    u.host = rest.substr(1, close - 1);
    const std::string after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') bad(text, "expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) bad(text, "':' without a port");
    }
    if (u.host.find(':') == std::string::npos) bad(text, "brackets are for IPv6 addresses only");
  } else {
    const auto c = rest.find(':');
    if (c != std::string::npos && rest.find(':', c + 1) != std::string::npos)
      bad(text, "an IPv6 address must be in brackets");
    u.host = rest.substr(0, c);
    if (c != std::string::npos) {
      port = rest.substr(c + 1);
      if (port.empty()) bad(text, "':' without a port");
    }
  }
  if (u.host.empty()) bad(text, "no host");
  if (u.host.find_first_of("/@ ") != std::string::npos)
    bad(text, "the host '" + u.host + "' has a '/', '@' or space");
  u.port = port.empty() ? (secure ? 5349 : 3478) : parse_port(text, port);
  u.transport = secure ? Transport::Tls : Transport::Udp;
  if (!query.empty()) {
    if (!u.turn) bad(text, "stun: URLs take no '?transport=' (RFC 7064)");
    if (!query.starts_with("transport="))
      bad(text, "the only query is '?transport=udp' or '?transport=tcp'");
    const std::string t = query.substr(10);
    if (t == "tcp") {
      if (!secure) u.transport = Transport::Tcp;
    } else if (t == "udp") {
      if (secure) bad(text, "turns: is TLS over TCP; '?transport=udp' (DTLS) is not probed");
    } else {
      bad(text, "transport '" + t + "' is neither udp nor tcp");
    }
  }
  return u;
}

}  // namespace turnd::turnctl::probe
