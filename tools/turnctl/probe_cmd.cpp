// turnctl probe: "does my TURN server work?" from the command line. For each stun:/turn:/turns:
// URL: Binding, then Allocate (long-term credentials), CreatePermission, ChannelBind, a relay
// echo through a UDP peer socket of our own, Refresh 0; a table (or --json) of what worked, the
// round-trip times and a plain reason for each failure. Only standard STUN/TURN, so it works
// against coturn as well as turnd.
#include <boost/json.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "auth/mint.hpp"
#include "tools/turnctl/commands.hpp"
#include "tools/turnctl/probe_run.hpp"

namespace turnd::turnctl {

namespace {

using probe::UrlReport;

constexpr int kExitUnreachable = 3;
constexpr int kExitStepFailed = 4;

struct ProbeArgs {
  std::vector<std::string> urls;
  std::string secret, user, peer, ca;
  bool json = false, insecure = false;
  double timeout = 5;
};

probe::ProbeOptions make_options(const ProbeArgs& a, const Context& ctx) {
  probe::ProbeOptions o;
  if (!a.secret.empty() && !a.user.empty()) throw UsageError("give --secret or --user, not both");
  if (!a.secret.empty()) {
    const auto now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    auto c = auth::mint_rest("probe", std::chrono::hours(1), a.secret, ':', now);
    o.username = c.username;
    o.password = c.password;
  } else if (!a.user.empty()) {
    const auto colon = a.user.find(':');
    if (colon == std::string::npos || colon == 0)
      throw UsageError("--user " + a.user + ": expected USER:PASSWORD");
    o.username = a.user.substr(0, colon);
    o.password = a.user.substr(colon + 1);
  }
  o.realm = ctx.realm_override;
  if (!a.peer.empty() && !protocol::TransportAddress::parse(a.peer) &&
      !protocol::IpAddress::parse(a.peer))
    throw UsageError("--peer " + a.peer + ": expected a local IP address or IP:PORT");
  o.peer = a.peer;
  o.tls.insecure = a.insecure;
  o.tls.ca_file = a.ca;
  o.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  return o;
}

std::string opt_text(const std::optional<protocol::TransportAddress>& a) {
  return a ? a->to_string() : "-";
}

std::string rtt_text(const probe::Step& s) {
  if (!s.rtt_ms) return "-";
  std::ostringstream o;
  o << std::fixed << std::setprecision(*s.rtt_ms < 10 ? 2 : 1) << *s.rtt_ms << " ms";
  return o.str();
}

void print_table(const std::vector<UrlReport>& reports) {
  std::size_t url_w = 3;
  for (const auto& r : reports) url_w = std::max(url_w, r.url.text.size());
  auto row = [&](const std::string& url, const std::string& step, const std::string& result,
                 const std::string& rtt, const std::string& detail) {
    std::cout << std::left << std::setw(static_cast<int>(url_w) + 2) << url << std::setw(14) << step
              << std::setw(8) << result << std::setw(11) << rtt << detail << "\n";
  };
  row("URL", "STEP", "RESULT", "RTT", "DETAIL");
  for (const auto& r : reports) {
    bool first = true;
    for (const auto& s : r.steps) {
      row(first ? r.url.text : "", s.name, s.ok ? "ok" : "FAIL", rtt_text(s), s.detail);
      first = false;
    }
  }
  std::cout << "\n";
  for (const auto& r : reports)
    std::cout << (r.ok() ? "OK      " : "FAILED  ") << r.url.text << "  reflexive "
              << opt_text(r.mapped)
              << (r.url.turn ? "  relayed " + opt_text(r.relayed) : std::string()) << "\n";
}

void print_json(const std::vector<UrlReport>& reports, int status) {
  auto opt = [](const std::optional<protocol::TransportAddress>& a) -> boost::json::value {
    return a ? boost::json::value(a->to_string()) : boost::json::value(nullptr);
  };
  boost::json::array urls;
  for (const auto& r : reports) {
    boost::json::array steps;
    for (const auto& s : r.steps) {
      boost::json::object o{{"step", s.name}, {"ok", s.ok}, {"detail", s.detail}};
      o["rtt_ms"] = s.rtt_ms ? boost::json::value(*s.rtt_ms) : nullptr;
      o["error_code"] = s.error_code ? boost::json::value(s.error_code) : nullptr;
      steps.push_back(std::move(o));
    }
    urls.push_back(boost::json::object{{"url", r.url.text},
                                       {"transport", probe::to_string(r.url.transport)},
                                       {"ok", r.ok()},
                                       {"unreachable", r.unreachable},
                                       {"server", opt(r.server)},
                                       {"local", opt(r.local)},
                                       {"reflexive", opt(r.mapped)},
                                       {"relayed", opt(r.relayed)},
                                       {"peer", opt(r.peer)},
                                       {"steps", std::move(steps)}});
  }
  std::cout << boost::json::serialize(boost::json::object{
                   {"ok", status == 0}, {"exit_status", status}, {"urls", std::move(urls)}})
            << "\n";
}

}  // namespace

void add_probe_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ProbeArgs>();
  auto* cmd = app.add_subcommand(
      "probe",
      "check STUN/TURN servers end to end: Binding; for turn:/turns: also Allocate, "
      "CreatePermission, ChannelBind, a relay echo through a local UDP peer and Refresh 0. "
      "Works against any TURN server. URLs: turn:HOST:PORT?transport=udp|tcp, turns:HOST:PORT "
      "(TLS; the certificate is checked against HOST, a name also sent as SNI), stun:HOST[:PORT], "
      "stuns:HOST[:PORT]. Exit status: 0 every URL worked, 2 bad command line or URL, 3 a "
      "server could not be reached (timeout, connection refused, unknown host), 4 a server "
      "answered but a step failed (401, 403, 438, 508, wrong realm, TLS certificate error, relay "
      "echo lost); 3 wins when both happen");
  cmd->add_option("url", args->urls, "stun:, stuns:, turn: or turns: URLs to probe")->required();
  cmd->add_option("--secret", args->secret,
                  "REST API shared secret: mints the credential <expiry>:probe (HMAC-SHA1)");
  cmd->add_option("--user", args->user, "long-term credential USER:PASSWORD");
  cmd->add_flag("--json", args->json, "print one JSON document (for scripts)");
  cmd->add_option("--timeout", args->timeout,
                  "seconds to wait for each answer, retransmitting over UDP per RFC 8489 "
                  "(default 5)")
      ->check(CLI::Range(0.1, 60.0));
  cmd->add_option("--peer", args->peer,
                  "local address of the echo peer, IP or IP:PORT (default: the address the "
                  "probe talks to the server from); the server must be allowed to relay to it");
  cmd->add_flag("--insecure", args->insecure,
                "turns:/stuns: do not check the server's certificate");
  cmd->add_option("--ca", args->ca,
                  "turns:/stuns: trust the CA certificates in this PEM file (any server's, e.g. "
                  "the cert.pem of turnctl cert self-signed)");
  cmd->callback([args, &ctx] {
    std::vector<probe::ProbeUrl> urls;
    for (const auto& u : args->urls) {
      try {
        urls.push_back(probe::parse_probe_url(u));
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
    }
    const probe::ProbeOptions options = make_options(*args, ctx);
    std::vector<UrlReport> reports;
    bool unreachable = false, failed = false;
    for (const auto& u : urls) {
      try {
        reports.push_back(probe::run_probe(u, options));
      } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
      }
      unreachable |= reports.back().unreachable;
      failed |= !reports.back().ok();
    }
    const int status = unreachable ? kExitUnreachable : failed ? kExitStepFailed : 0;
    if (args->json)
      print_json(reports, status);
    else
      print_table(reports);
    if (status != 0)
      throw FailureWithStatus(
          status, unreachable ? "a server could not be reached" : "a probe step failed");
  });
}

}  // namespace turnd::turnctl
