#include "tools/turnctl/probe_run.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cstring>

#include "protocol/attributes/all.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_builder.hpp"

namespace turnd::turnctl::probe {

using namespace protocol;
using std::chrono::milliseconds;

namespace {

constexpr std::uint16_t kChannel = 0x4000;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string seconds(milliseconds t) {
  const std::string s = std::to_string(t.count() / 1000.0);
  return s.substr(0, s.find('.') + 2) + " s";
}

TransportAddress resolve(const ProbeUrl& url) {
  if (auto ip = IpAddress::parse(url.host)) return {*ip, url.port};
  addrinfo hints{};
  hints.ai_socktype = url.transport == Transport::Udp ? SOCK_DGRAM : SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(url.host.c_str(), nullptr, &hints, &res); rc != 0)
    throw std::runtime_error("cannot resolve " + url.host + ": " + ::gai_strerror(rc));
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  TransportAddress a = nat::from_sockaddr(ss);
  a.port = url.port;
  return a;
}

// What a response said.
struct Answer {
  std::vector<std::uint8_t> bytes;
  double rtt_ms = 0;
  MessageView view() const { return *MessageView::parse(bytes); }
  int code() const {
    auto e = view().get<ErrorCode>();
    return view().cls() == Class::ErrorResponse ? (e ? e->code : 400) : 0;
  }
  std::string phrase() const {
    auto e = view().get<ErrorCode>();
    return e ? std::string(e->reason) : std::string();
  }
};

// The long-term credential state of RFC 8489 §9.2 after the first 401.
struct Auth {
  std::string username, realm, nonce;
  std::vector<std::uint8_t> algorithms;  // PASSWORD-ALGORITHMS as the server sent it
  std::uint16_t algorithm = 0;           // the one chosen from it, 0: none sent
  IntegrityKey key;
};

class Session {
 public:
  Session(ServerConnection& conn, milliseconds timeout) : conn_(conn), timeout_(timeout) {}
  std::optional<Auth> auth;

  // One transaction; `add` puts the method's attributes in. Authenticated once `auth` is set,
  // retried once with the new nonce after a 438 (RFC 8489 §9.2.5).
  template <class Add>
  std::optional<Answer> transact(Method method, Add&& add) {
    for (int attempt = 0;; ++attempt) {
      const TransactionId id = nat::random_transaction_id();
      std::vector<std::uint8_t> buf(1500);
      MessageBuilder b{buf, {method, Class::Request}, id};
      add(b);
      if (auth) {
        b.add(Username{auth->username}).add(Realm{auth->realm}).add(Nonce{auth->nonce});
        if (auth->algorithm != 0) {
          b.add(PasswordAlgorithms{{}, auth->algorithms});
          b.add(PasswordAlgorithm{auth->algorithm, {}});
        }
        b.add_integrity(auth->key.span(), IntegrityAlg::Sha1);
      }
      b.add_fingerprint();
      auto wire = b.finish();
      if (!wire) throw std::logic_error("request does not fit its buffer");
      const auto start = Clock::now();
      auto bytes = conn_.transact(*wire, id, timeout_);
      if (!bytes) return std::nullopt;
      Answer a{std::move(*bytes), ms_since(start)};
      if (auth && a.code() == 438 && attempt == 0) {
        if (auto n = a.view().get<Nonce>()) {
          auth->nonce = std::string(n->text());
          continue;
        }
      }
      if (auth && a.view().has(AttrType::MessageIntegrity) &&
          verify_integrity(a.view(), auth->key.span()) == IntegrityResult::Mismatch)
        throw std::runtime_error(
            "the response's MESSAGE-INTEGRITY does not match our key (a proxy rewrote it, or the "
            "server derives keys differently)");
      return a;
    }
  }

 private:
  ServerConnection& conn_;
  milliseconds timeout_;
};

// Turns the 401 challenge into the credential state; the algorithm per RFC 8489 §9.2.4.
Auth make_auth(const Answer& challenge, const ProbeOptions& o) {
  const MessageView v = challenge.view();
  Auth a;
  a.username = o.username;
  if (auto r = v.get<Realm>()) a.realm = std::string(r->text());
  if (auto n = v.get<Nonce>()) a.nonce = std::string(n->text());
  PasswordAlgorithmId alg = PasswordAlgorithmId::Md5;
  if (auto list = v.get<PasswordAlgorithms>(); list && a.nonce.starts_with("obMatJos2")) {
    a.algorithms.assign(list->raw.begin(), list->raw.end());
    bool md5 = false, sha256 = false;
    list->for_each([&](std::uint16_t id, ByteSpan) {
      md5 |= id == static_cast<std::uint16_t>(PasswordAlgorithmId::Md5);
      sha256 |= id == static_cast<std::uint16_t>(PasswordAlgorithmId::Sha256);
    });
    alg = md5 || !sha256 ? PasswordAlgorithmId::Md5 : PasswordAlgorithmId::Sha256;
    a.algorithm = static_cast<std::uint16_t>(alg);
  }
  a.key = long_term_key(a.username, a.realm, o.password, alg);
  return a;
}

std::string timeout_text(const char* what, const UrlReport& r, milliseconds timeout) {
  std::string s = std::string("timeout: no answer to ") + what + " from " + r.server->to_string() +
                  " over " + to_string(r.url.transport) + " within " + seconds(timeout);
  if (r.url.transport == Transport::Udp)
    s += " (retransmitted per RFC 8489; is the server running and UDP port " +
         std::to_string(r.url.port) + " open?)";
  return s;
}

// --peer, else the control socket's local address; when that is of another family than the
// relayed address (IPv6 control, IPv4 relay), the address this host reaches the relay from.
TransportAddress peer_bind_address(const ProbeOptions& o, const UrlReport& r) {
  if (o.peer.empty())
    return {r.local->ip.family == r.relayed->ip.family ? r.local->ip
                                                       : nat::source_address_for(*r.relayed),
            0};
  if (auto a = TransportAddress::parse(o.peer)) return *a;
  if (auto ip = IpAddress::parse(o.peer)) return {*ip, 0};
  throw std::invalid_argument("--peer " + o.peer + ": expected an IP address or IP:PORT");
}

class Runner {
 public:
  Runner(UrlReport& r, const ProbeOptions& o) : r_(r), o_(o) {}

  void run() {
    r_.server = resolve(r_.url);
    const auto start = Clock::now();
    try {
      conn_.emplace(r_.url.transport, r_.url.host, *r_.server, o_.tls, o_.timeout);
    } catch (const ConnectError& e) {
      r_.unreachable = e.unreachable;
      fail("connect", e.what());
      return;
    }
    r_.local = conn_->local_address();
    if (r_.url.transport != Transport::Udp)
      pass("connect", ms_since(start),
           std::string(r_.url.transport == Transport::Tls ? "TLS" : "TCP") + " from " +
               r_.local->to_string());
    session_.emplace(*conn_, o_.timeout);
    if (!binding() || !r_.url.turn) return;
    if (!allocate()) return;
    try {
      relay_steps();
    } catch (const std::exception& e) {
      fail("relay", e.what());
    }
    refresh_zero();
  }

 private:
  void pass(const std::string& step, double rtt, std::string detail) {
    r_.steps.push_back({step, true, rtt, std::move(detail), 0});
  }
  void fail(const std::string& step, std::string why, int code = 0) {
    r_.steps.push_back({step, false, std::nullopt, std::move(why), code});
  }
  // A failed answer (nullopt: timeout) as a failed step; true when it was a success.
  bool check(const std::string& step, const std::optional<Answer>& a, const char* what) {
    if (!a) {
      fail(step, timeout_text(what, r_, o_.timeout));
      return false;
    }
    if (a->code() != 0) {
      fail(step,
           explain_error(step, a->code(), a->phrase(), !o_.username.empty(),
                         r_.peer ? r_.peer->to_string() : ""),
           a->code());
      return false;
    }
    return true;
  }

  bool binding() {
    auto a = session_->transact(Method::Binding, [](MessageBuilder&) {});
    if (!a) r_.unreachable = true;
    if (!check("binding", a, "Binding")) return false;
    const MessageView v = a->view();
    if (auto m = v.get<XorMappedAddress>())
      r_.mapped = m->address;
    else if (auto m2 = v.get<MappedAddress>())
      r_.mapped = m2->address;
    pass("binding", a->rtt_ms,
         r_.mapped ? "reflexive " + r_.mapped->to_string() : "no XOR-MAPPED-ADDRESS in the answer");
    return true;
  }

  bool allocate() {
    auto add = [](MessageBuilder& b) {
      b.add(RequestedTransport{kProtocolUdp});
      b.add(Lifetime{60});
    };
    auto first = session_->transact(Method::Allocate, add);
    if (!first) {
      fail("allocate", timeout_text("Allocate", r_, o_.timeout));
      return false;
    }
    std::string how = "without credentials (the server asked for none)";
    std::optional<Answer> a = first;
    if (first->code() == 401) {
      if (o_.username.empty()) return check("allocate", first, "Allocate");
      session_->auth = make_auth(*first, o_);
      const auto& realm = session_->auth->realm;
      if (!o_.realm.empty() && realm != o_.realm) {
        fail("allocate", "wrong realm: the server's REALM is '" + realm + "', --realm says '" +
                             o_.realm + "' (credentials minted for one realm fail in the other)");
        return false;
      }
      how = "after the 401 challenge, realm " + realm;
      a = session_->transact(Method::Allocate, add);
    }
    if (!check("allocate", a, "the authenticated Allocate")) return false;
    const MessageView v = a->view();
    if (auto rel = v.get<XorRelayedAddress>()) r_.relayed = rel->address;
    if (!r_.mapped)
      if (auto m = v.get<XorMappedAddress>()) r_.mapped = m->address;
    auto life = v.get<Lifetime>();
    allocated_ = true;
    if (!r_.relayed) {
      fail("allocate", "the Allocate success has no XOR-RELAYED-ADDRESS");
      return false;
    }
    pass("allocate", a->rtt_ms,
         "relayed " + r_.relayed->to_string() +
             (life ? ", lifetime " + std::to_string(life->value) + " s" : "") + " (" + how + ")");
    return true;
  }

  void relay_steps() {
    nat::UdpSocket peer{peer_bind_address(o_, r_)};
    r_.peer = peer.local_address();
    if (r_.peer->ip.family != r_.relayed->ip.family) {
      fail("permission", "the peer " + r_.peer->to_string() + " and the relayed address " +
                             r_.relayed->to_string() +
                             " are of different families: give --peer of the relay's family");
      return;
    }
    const TransportAddress p = *r_.peer;
    auto perm = session_->transact(Method::CreatePermission,
                                   [&](MessageBuilder& b) { b.add(XorPeerAddress{p}); });
    if (!check("permission", perm, "CreatePermission")) return;
    pass("permission", perm->rtt_ms, "peer " + p.to_string());
    auto bind = session_->transact(Method::ChannelBind, [&](MessageBuilder& b) {
      b.add(ChannelNumber{kChannel});
      b.add(XorPeerAddress{p});
    });
    if (!check("channel-bind", bind, "ChannelBind")) return;
    pass("channel-bind", bind->rtt_ms, "channel 0x4000 to " + p.to_string());
    echo(peer);
  }

  // ChannelData to the peer through the relay, the peer sends it back to the relayed address,
  // and it must come back on the channel. Resent on the RFC 8489 schedule over UDP.
  void echo(nat::UdpSocket& peer) {
    const TransactionId salt = nat::random_transaction_id();
    std::vector<std::uint8_t> payload{'t', 'u', 'r', 'n', 'c', 't', 'l',
                                      ' ', 'p', 'r', 'o', 'b', 'e', ' '};
    payload.insert(payload.end(), salt.begin(), salt.end());
    const auto start = Clock::now();
    const auto sends = r_.url.transport == Transport::Udp
                           ? nat::send_times(milliseconds{500}, o_.timeout)
                           : std::vector<milliseconds>{milliseconds{0}};
    std::optional<TransportAddress> seen_from;
    for (std::size_t i = 0; i < sends.size(); ++i) {
      const auto sent = Clock::now();
      conn_->send_channel_data(kChannel, payload);
      const auto until = start + (i + 1 < sends.size() ? sends[i + 1] : o_.timeout);
      bool arrived = false;
      while (auto d = peer.receive(until)) {
        if (d->bytes != payload) continue;
        seen_from = d->from;
        peer.send_to(payload, d->from);
        arrived = true;
        break;
      }
      if (!arrived) continue;
      while (auto back = conn_->receive_channel_data(kChannel, until))
        if (*back == payload) {
          pass("relay-echo", ms_since(sent),
               std::to_string(payload.size()) + " bytes to peer " + r_.peer->to_string() +
                   " and back, from the relay " + seen_from->to_string());
          return;
        }
    }
    if (!seen_from)
      fail("relay-echo", "the peer " + r_.peer->to_string() + " got nothing from the relay " +
                             r_.relayed->to_string() + " within " + seconds(o_.timeout) +
                             ": the server dropped the data (a peer filter that drops without "
                             "403, or a firewall between the relay address and the peer)");
    else
      fail("relay-echo", "the peer " + r_.peer->to_string() + " got the data from " +
                             seen_from->to_string() +
                             " and echoed it, but nothing came back "
                             "on the channel within " +
                             seconds(o_.timeout));
  }

  void refresh_zero() {
    if (!allocated_) return;
    try {
      auto a = session_->transact(Method::Refresh, [](MessageBuilder& b) { b.add(Lifetime{0}); });
      if (check("refresh", a, "Refresh (lifetime 0)"))
        pass("refresh", a->rtt_ms, "allocation released (lifetime 0)");
    } catch (const std::exception& e) {
      fail("refresh", e.what());
    }
  }

  UrlReport& r_;
  const ProbeOptions& o_;
  std::optional<ServerConnection> conn_;
  std::optional<Session> session_;
  bool allocated_ = false;
};

}  // namespace

bool UrlReport::ok() const noexcept {
  if (steps.empty()) return false;
  for (const auto& s : steps)
    if (!s.ok) return false;
  return true;
}

std::string explain_error(const std::string& step, int code, const std::string& phrase,
                          bool have_credentials, const std::string& peer) {
  const std::string head = std::to_string(code) + (phrase.empty() ? "" : " " + phrase) + ": ";
  switch (code) {
    case 300:
      return head + "the server redirects to its ALTERNATE-SERVER (it may be draining)";
    case 400:
      return head + "the server refused the request as malformed";
    case 401:
      return head + (have_credentials
                         ? "the server refused the credentials: wrong --secret (not one of the "
                           "server's REST secrets) or wrong password for --user, or the clocks "
                           "differ by more than the credential's lifetime"
                         : "the server wants credentials: give --secret S (REST API) or "
                           "--user U:P");
    case 403:
      if (step == "permission" || step == "channel-bind")
        return head + "the server's peer filter denies the peer " + peer +
               ". turnd denies loopback and private peers by default: allow it in the "
               "server's allow_peer (e.g. --allow-peer 127.0.0.0/8), or probe with --peer set to "
               "an address the server may relay to; coturn needs --allow-loopback-peers for "
               "127.0.0.1";
      return head + "the server refused the request for this user";
    case 420:
      return head + "the server does not understand a comprehension-required attribute";
    case 437:
      return head +
             "the server has another allocation for this client address and port, or "
             "none for this request (a stale allocation of an earlier run?)";
    case 438:
      return head + "the nonce was stale twice in a row (server nonce lifetime too short?)";
    case 441:
      return head + "the credentials differ from the ones the allocation was made with";
    case 442:
      return head + "the server does not relay UDP";
    case 486:
      return head + "this user has too many allocations (the server's user quota)";
    case 508:
      return head +
             "the server has no relay port free or is at its total quota (or is "
             "shutting down): widen its relay port range or raise the quota";
    default:
      return head + "the server refused " + step;
  }
}

UrlReport run_probe(const ProbeUrl& url, const ProbeOptions& options) {
  UrlReport r;
  r.url = url;
  try {
    Runner{r, options}.run();
  } catch (const std::invalid_argument&) {
    throw;  // a bad --peer: a usage error for the whole command
  } catch (const std::exception& e) {
    r.unreachable = r.steps.empty();
    r.steps.push_back({r.steps.empty() ? "connect" : "error", false, std::nullopt, e.what(), 0});
  }
  return r;
}

}  // namespace turnd::turnctl::probe
