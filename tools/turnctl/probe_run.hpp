// `turnctl probe`'s steps against one URL (Binding; for turn:/turns: Allocate with long-term
// credentials, CreatePermission, ChannelBind, a relay echo through a local UDP peer, Refresh 0)
// and what each one found, in words an operator can act on.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "protocol/transport_address.hpp"
#include "tools/turnctl/probe_conn.hpp"
#include "tools/turnctl/probe_url.hpp"

namespace turnd::turnctl::probe {

struct ProbeOptions {
  std::string username, password;  ///< empty: no credentials (the 401 is then reported)
  std::string realm;               ///< --realm: the REALM the server must send; "" no check
  std::string peer;                ///< --peer IP or IP:PORT; "" the control socket's address
  TlsOptions tls;
  std::chrono::milliseconds timeout{5000};
};

struct Step {
  std::string name;  ///< connect, binding, allocate, permission, channel-bind, relay-echo, refresh
  bool ok = false;
  std::optional<double> rtt_ms;
  std::string detail;  ///< what it found (ok) or why it failed, in plain words
  int error_code = 0;  ///< the STUN ERROR-CODE of a failure, 0 when none
};

struct UrlReport {
  ProbeUrl url;
  std::optional<protocol::TransportAddress> server, local, mapped, relayed, peer;
  std::vector<Step> steps;
  bool unreachable = false;  ///< no answer, refused, no such host: exit 3 rather than 4
  bool ok() const noexcept;
};

UrlReport run_probe(const ProbeUrl& url, const ProbeOptions& options);

/// The plain reason for a STUN error response to `step` (pure; unit-tested).
std::string explain_error(const std::string& step, int code, const std::string& phrase,
                          bool have_credentials, const std::string& peer);

}  // namespace turnd::turnctl::probe
