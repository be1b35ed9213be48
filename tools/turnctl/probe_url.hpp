// The URLs `turnctl probe` takes (RFC 7064 stun:/stuns:, RFC 7065 turn:/turns:): which server,
// which transport, and whether to run the TURN steps. Pure parsing, unit-tested on its own.
#pragma once

#include <cstdint>
#include <string>

namespace turnd::turnctl::probe {

enum class Transport { Udp, Tcp, Tls };

struct ProbeUrl {
  std::string text;   ///< as given, for the report
  bool turn = false;  ///< turn:/turns: (Allocate and the relay steps); false for stun:
  std::string host;   ///< a name or an IP address, without IPv6 brackets
  std::uint16_t port = 0;
  Transport transport = Transport::Udp;
};

/// "udp", "tcp", "tls"
const char* to_string(Transport t) noexcept;

/// Parses stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT] (TLS over
/// TCP; ?transport=tcp allowed); HOST may be [IPv6]. Default ports: 3478, turns: 5349.
/// Throws std::invalid_argument with what is wrong and how to write it instead.
ProbeUrl parse_probe_url(const std::string& text);

}  // namespace turnd::turnctl::probe
