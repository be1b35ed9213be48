// turnctl nat-type: the client side of RFC 5780 §4 over UDP against a STUN server with a second
// address (turnd with alternate_listen, coturn with two listening IPs): the mapped address,
// the NAT's mapping and filtering behaviour, and whether it hairpins.
//
// Order of the tests on one socket: filtering first (§4.4), while the socket has talked to the
// primary address only, so no earlier packet of ours opened the NAT to the other address; then
// mapping (§4.3); then hairpinning (§4.5) from a second socket to the first one's mapped address.
#include <boost/json.hpp>
#include <iostream>

#include "tools/turnctl/commands.hpp"
#include "tools/turnctl/nat_behavior.hpp"
#include "tools/turnctl/stun_udp.hpp"

namespace turnd::turnctl {

namespace {

using nat::Behavior;
using protocol::TransportAddress;
using std::chrono::milliseconds;

constexpr int kExitUnreachable = 3;
constexpr int kExitNoRfc5780 = 4;

struct NatTypeArgs {
  std::string server, local;
  bool json = false;
  double timeout = 3;
};

struct Report {
  TransportAddress server, local;
  std::optional<TransportAddress> mapped, other;
  Behavior mapping = Behavior::Unknown, filtering = Behavior::Unknown;
  std::optional<bool> hairpinning;
  std::vector<std::string> problems;  // one plain sentence per test that could not be done
  bool behind_nat() const { return mapped && *mapped != local; }
};

const char* const kNoRfc5780Hint =
    "turnd supports RFC 5780 with a second address: alternate_listen: ADDR:PORT in its config "
    "(or --alternate-listen ADDR:PORT; another IP and port for full change-IP/change-port "
    "support)";

TransportAddress local_bind_address(const std::string& text, const TransportAddress& server) {
  protocol::TransportAddress a;
  if (text.empty()) {
    a.ip.family = server.ip.family;  // all zero: the wildcard address of the server's family
  } else if (auto ta = TransportAddress::parse(text)) {
    a = *ta;
  } else if (auto ip = protocol::IpAddress::parse(text)) {
    a.ip = *ip;
  } else {
    throw UsageError("--local " + text + ": expected an IP address or IP:PORT");
  }
  if (a.ip.family != server.ip.family)
    throw UsageError("--local " + text + " and --server " + server.to_string() +
                     " are of different address families");
  return a;
}

// Test I: the mapped address and OTHER-ADDRESS; exits 3 or 4 (through FailureWithStatus) when
// the server does not answer or cannot run the other tests.
void test_one(nat::UdpSocket& sock, Report& r, milliseconds timeout) {
  auto ex = nat::binding_transaction(sock, r.server, std::nullopt, timeout);
  if (!ex)
    throw FailureWithStatus(kExitUnreachable,
                            "no answer from " + r.server.to_string() + " within " +
                                std::to_string(timeout.count() / 1000.0).substr(0, 4) +
                                " s (is a STUN server listening there on UDP?)");
  if (ex->answer.error_code != 0)
    throw FailureWithStatus(kExitUnreachable, r.server.to_string() +
                                                  " answered Binding with error " +
                                                  std::to_string(ex->answer.error_code));
  r.mapped = ex->answer.mapped;
  r.other = ex->answer.other_address;
  if (!r.other)  // also what a server with RFC 5780 on one IP only sends (§6)
    throw FailureWithStatus(kExitNoRfc5780, r.server.to_string() +
                                                " sent no OTHER-ADDRESS: it does not support RFC "
                                                "5780 (NAT behaviour discovery) with a second IP "
                                                "address. " +
                                                kNoRfc5780Hint);
  if (r.other->ip.family != r.server.ip.family || r.other->ip == r.server.ip ||
      r.other->port == r.server.port)
    throw FailureWithStatus(kExitNoRfc5780, r.server.to_string() + "'s OTHER-ADDRESS " +
                                                r.other->to_string() +
                                                " is no use for the tests: they need another IP "
                                                "of the same family and another port. " +
                                                kNoRfc5780Hint);
}

// RFC 5780 §4.4: CHANGE-REQUEST change IP and port, then change port only.
void filtering_tests(nat::UdpSocket& sock, Report& r, milliseconds timeout) {
  const TransportAddress both = *r.other;
  const TransportAddress port_only{r.server.ip, r.other->port};
  auto change = [&](std::uint32_t flags, const TransportAddress& expect) -> bool {
    auto ex = nat::binding_transaction(sock, r.server, flags, timeout);
    if (!ex) return false;
    if (ex->answer.error_code != 0)
      throw FailureWithStatus(kExitNoRfc5780,
                              r.server.to_string() + " answered CHANGE-REQUEST with error " +
                                  std::to_string(ex->answer.error_code) + ". " + kNoRfc5780Hint);
    if (!nat::answered_from(ex->from, expect, ex->answer))
      throw FailureWithStatus(kExitNoRfc5780, r.server.to_string() +
                                                  " answered CHANGE-REQUEST "
                                                  "from " +
                                                  ex->from.to_string() + ", not from " +
                                                  expect.to_string() +
                                                  ": it ignores CHANGE-REQUEST");
    return true;
  };
  const bool test2 = change(nat::kChangeIp | nat::kChangePort, both);
  std::optional<bool> test3;
  if (!test2) test3 = change(nat::kChangePort, port_only);
  r.filtering = nat::filtering_behavior(test2, test3);
}

// RFC 5780 §4.3: Binding to the other IP with the primary port, then the other IP and port.
void mapping_tests(nat::UdpSocket& sock, Report& r, milliseconds timeout) {
  auto mapped_via = [&](const TransportAddress& to) -> std::optional<TransportAddress> {
    auto ex = nat::binding_transaction(sock, to, std::nullopt, timeout);
    if (!ex || ex->answer.error_code != 0) {
      r.problems.push_back("mapping: no answer from " + to.to_string() +
                           " (the server's other "
                           "address) within the timeout; mapping behaviour unknown");
      return std::nullopt;
    }
    return ex->answer.mapped;
  };
  const auto test2 = mapped_via({r.other->ip, r.server.port});
  std::optional<TransportAddress> test3;
  if (test2 && *test2 != *r.mapped) test3 = mapped_via(*r.other);
  r.mapping = nat::mapping_behavior(r.mapped, test2, test3);
}

void hairpin_test(nat::UdpSocket& first, Report& r, milliseconds timeout) {
  nat::UdpSocket second{TransportAddress{r.local.ip, 0}};
  r.hairpinning = nat::hairpin_arrives(second, first, *r.mapped, timeout);
}

Report run_tests(const NatTypeArgs& a) {
  Report r;
  try {
    r.server = nat::resolve_server(a.server);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  } catch (const std::runtime_error& e) {
    throw FailureWithStatus(kExitUnreachable, e.what());
  }
  const milliseconds timeout{static_cast<long>(a.timeout * 1000)};
  try {
    nat::UdpSocket sock{local_bind_address(a.local, r.server)};
    r.local = sock.local_address();
    if (r.local.ip.is_unspecified()) r.local.ip = nat::source_address_for(r.server);
    test_one(sock, r, timeout);
    filtering_tests(sock, r, timeout);
    mapping_tests(sock, r, timeout);
    hairpin_test(sock, r, timeout);
  } catch (const FailureWithStatus&) {
    throw;
  } catch (const std::runtime_error& e) {  // socket errors: no route, address not local, ...
    throw FailureWithStatus(kExitUnreachable, e.what());
  }
  return r;
}

std::string yes_no(std::optional<bool> b) { return !b ? "unknown" : *b ? "yes" : "no"; }

void print_text(const Report& r) {
  std::cout << "server          " << r.server.to_string() << " (other address "
            << r.other->to_string() << ")\n"
            << "local address   " << r.local.to_string() << "\n"
            << "mapped address  " << r.mapped->to_string()
            << (r.behind_nat() ? "" : " (the local address: no NAT)") << "\n"
            << "mapping         " << nat::to_string(r.mapping) << "\n"
            << "filtering       " << nat::to_string(r.filtering) << "\n"
            << "hairpinning     " << yes_no(r.hairpinning) << "\n"
            << "NAT type        " << nat::classic_name(r.behind_nat(), r.mapping, r.filtering)
            << " (RFC 3489 name)\n";
  for (const auto& p : r.problems) std::cout << "note: " << p << "\n";
}

void print_json(const Report& r) {
  boost::json::object o;
  auto opt = [](const std::optional<TransportAddress>& a) -> boost::json::value {
    return a ? boost::json::value(a->to_string()) : boost::json::value(nullptr);
  };
  o["server"] = r.server.to_string();
  o["other_address"] = opt(r.other);
  o["local"] = r.local.to_string();
  o["mapped"] = opt(r.mapped);
  o["behind_nat"] = r.behind_nat();
  o["mapping"] = nat::to_json_name(r.mapping);
  o["filtering"] = nat::to_json_name(r.filtering);
  o["hairpinning"] = r.hairpinning ? boost::json::value(*r.hairpinning) : nullptr;
  o["nat_type"] = nat::classic_name(r.behind_nat(), r.mapping, r.filtering);
  boost::json::array problems;
  for (const auto& p : r.problems) problems.emplace_back(p);
  o["problems"] = std::move(problems);
  std::cout << boost::json::serialize(o) << "\n";
}

}  // namespace

void add_nat_type_command(CLI::App& app, Context&) {
  auto args = std::make_shared<NatTypeArgs>();
  auto* cmd = app.add_subcommand(
      "nat-type",
      "discover the NAT in front of this host (RFC 5780 over UDP): mapped address, mapping and "
      "filtering behaviour, hairpinning. Needs a server with RFC 5780 (turnd with "
      "alternate_listen). Exit status: 0 the tests ran, 3 no answer from the server (or it "
      "cannot be reached), 4 the server lacks RFC 5780 (no OTHER-ADDRESS, CHANGE-REQUEST refused "
      "or ignored)");
  cmd->add_option("--server", args->server, "STUN server, HOST:PORT (port default 3478)")
      ->required();
  cmd->add_flag("--json", args->json, "print one JSON object (for scripts)");
  cmd->add_option("--timeout", args->timeout,
                  "seconds to wait for each answer, retransmitting per RFC 8489 (default 3)")
      ->check(CLI::Range(0.1, 60.0));
  cmd->add_option("--local", args->local, "local address to send from, IP or IP:PORT");
  cmd->callback([args] {
    Report r;
    try {
      r = run_tests(*args);
    } catch (const FailureWithStatus& e) {
      if (args->json)  // scripts get the reason on stdout too
        std::cout << boost::json::serialize(
                         boost::json::object{{"error", e.what()}, {"exit_status", e.status}})
                  << "\n";
      throw;
    }
    if (args->json)
      print_json(r);
    else
      print_text(r);
  });
}

}  // namespace turnd::turnctl
