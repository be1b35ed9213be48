// TlsContexts: what load() refuses and how it says so, and real handshakes against its
// contexts through the server's TlsStream (a client SSL on a socketpair): versions, ALPN
// (RFC 7443), SNI among chains, ticket resumption across a reload, and the reason a failed
// handshake is counted under.
#include "server/io/tls/tls_context.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "server/io/tls/handshake_failure.hpp"
#include "tls_test_support.hpp"

namespace turnd::server::test {
namespace {

using io::tls::HandshakeFailure;
using io::tls::TlsContexts;
using io::tls::TlsError;
using io::tls::TlsFiles;
using Status = io::tls::TlsStream::Status;

testing::AssertionResult contains(std::string_view text, std::string_view part) {
  if (text.find(part) != std::string_view::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// --- load(): every refusal names the file and what is wrong with it.

enum class Broken { MissingCert, MissingKey, CertNotPem, KeyNotPem, KeyOfAnotherCert, Expired };
enum class Names { CertFile, KeyFile };
struct LoadCase {
  std::string_view name;
  Broken broken;
  Names names;
  std::string_view why;
  bool in_sni_chain = false;  // the broken pair is a tls.certs entry, not the main one
};
const LoadCase kLoadCases[] = {
    {"missing_cert", Broken::MissingCert, Names::CertFile, "No such file"},
    {"missing_key", Broken::MissingKey, Names::KeyFile, "No such file"},
    {"cert_not_pem", Broken::CertNotPem, Names::CertFile, "not a PEM certificate chain"},
    {"key_not_pem", Broken::KeyNotPem, Names::KeyFile, "not a PEM private key"},
    {"key_of_another_cert", Broken::KeyOfAnotherCert, Names::KeyFile, "does not match"},
    {"expired", Broken::Expired, Names::CertFile, "expired"},
    {"sni_chain_key_mismatch", Broken::KeyOfAnotherCert, Names::KeyFile, "does not match", true},
    {"sni_chain_expired", Broken::Expired, Names::CertFile, "expired", true},
};

io::tls::CertificateFiles broken_pair(const TempDir& dir, Broken broken) {
  const TestCert cert = make_cert({.cn = "broken.example"});
  auto files = write_pair(dir, "broken", cert);
  switch (broken) {
    case Broken::MissingCert:
      ::unlink(files.cert.c_str());
      break;
    case Broken::MissingKey:
      ::unlink(files.key.c_str());
      break;
    case Broken::CertNotPem:
      write_file(files.cert, "this is not a certificate\n");
      break;
    case Broken::KeyNotPem:
      write_file(files.key, std::string(64, '\x01'));
      break;
    case Broken::KeyOfAnotherCert:
      write_file(files.key, make_cert({.cn = "other.example"}).key_pem);
      break;
    case Broken::Expired:
      write_pair(dir, "broken",
                 make_cert({.cn = "broken.example",
                            .not_before = -std::chrono::hours(48),
                            .not_after = -std::chrono::hours(24)}));
      break;
  }
  return files;
}

class TlsContextLoad : public testing::TestWithParam<LoadCase> {
 protected:
  TempDir dir_;
  io::tls::CertificateFiles good_ = write_pair(dir_, "good", make_cert({.cn = "a.example"}));
};

TEST_P(TlsContextLoad, RefusesNamingTheFileAndTheReason) {
  const auto& c = GetParam();
  const auto broken = broken_pair(dir_, c.broken);
  TlsFiles files{broken, {}};
  if (c.in_sni_chain) files = {good_, {broken}};
  std::string error = "(loaded)";
  try {
    TlsContexts::load(files);
  } catch (const TlsError& e) {
    error = e.what();
  }
  const bool cert = c.names == Names::CertFile;
  EXPECT_TRUE(contains(
      error, (cert ? "tls.cert " : "tls.key ") + (cert ? broken.cert : broken.key) + ": "));
  EXPECT_TRUE(contains(error, c.why));
}
INSTANTIATE_TEST_SUITE_P(Tls, TlsContextLoad, testing::ValuesIn(kLoadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TlsContextLoadOk, SummaryNamesTheCnAndExpiry) {
  TempDir dir;
  const auto main = write_pair(dir, "a", make_cert({.cn = "a.example"}));
  const auto contexts = TlsContexts::load({main, {}});
  EXPECT_TRUE(contains(contexts->summary(), "CN=a.example"));
  EXPECT_TRUE(contains(contexts->summary(), "valid until "));
  EXPECT_TRUE(contains(contexts->summary(), " UTC"));
  EXPECT_NE(contexts->tls(), nullptr);
  EXPECT_NE(contexts->dtls(), nullptr);
  const auto in_a_day = std::chrono::system_clock::now() + std::chrono::hours(24);
  EXPECT_LT(std::chrono::abs(contexts->not_after() - in_a_day), std::chrono::minutes(1));
}

TEST(TlsContextLoadOk, SniChainsAreCountedAndTheEarliestExpiryWins) {
  TempDir dir;
  const auto main = write_pair(dir, "a", make_cert({.cn = "a.example"}));
  const auto soon =
      write_pair(dir, "b", make_cert({.cn = "b.example", .not_after = std::chrono::hours(2)}));
  const auto contexts = TlsContexts::load({main, {soon}});
  EXPECT_TRUE(contains(contexts->summary(), "CN=a.example"));
  EXPECT_TRUE(contains(contexts->summary(), "1 chain(s) chosen by SNI"));
  const auto in_two_hours = std::chrono::system_clock::now() + std::chrono::hours(2);
  EXPECT_LT(std::chrono::abs(contexts->not_after() - in_two_hours), std::chrono::minutes(1));
}

// --- Handshakes against the loaded contexts. Main chain a.example, a second for b.example.

class TlsHandshake : public testing::Test {
 protected:
  TempDir dir_;
  TlsFiles files_{write_pair(dir_, "a", make_cert({.cn = "a.example"})),
                  {write_pair(dir_, "b", make_cert({.cn = "b.example"}))}};
  io::tls::TlsContextsPtr contexts_ = TlsContexts::load(files_);
  UniqueSslCtx client_ctx_ = client_context();

  void limit_client(int max_version) {
    SSL_CTX_set_max_proto_version(client_ctx_.get(), max_version);
  }
};

struct VersionCase {
  std::string_view name;
  int max_version;
  std::string_view expect;
};
class TlsVersions : public TlsHandshake, public testing::WithParamInterface<VersionCase> {};
const VersionCase kVersions[] = {
    {"tls1_3", TLS1_3_VERSION, "TLSv1.3"},
    {"tls1_2", TLS1_2_VERSION, "TLSv1.2"},
};

TEST_P(TlsVersions, HandshakeSucceeds) {
  limit_client(GetParam().max_version);
  TlsPair pair(contexts_->tls(), client_ctx_.get());
  const auto out = pair.handshake();
  ASSERT_TRUE(out.client_ok);
  ASSERT_EQ(out.server, Status::Ok);
  EXPECT_EQ(pair.server().version(), GetParam().expect);
  EXPECT_EQ(std::string_view(SSL_get_version(pair.client())), GetParam().expect);
  EXPECT_FALSE(pair.server().resumed());
}
INSTANTIATE_TEST_SUITE_P(Tls, TlsVersions, testing::ValuesIn(kVersions),
                         [](const auto& info) { return std::string(info.param.name); });

struct AlpnCase {
  std::string_view name;
  std::vector<std::string_view> offer;
  std::string_view selected;
};
class TlsAlpn : public TlsHandshake, public testing::WithParamInterface<AlpnCase> {};
const AlpnCase kAlpnCases[] = {
    {"stun_turn", {"stun.turn"}, "stun.turn"},
    {"nat_discovery", {"stun.nat-discovery"}, "stun.nat-discovery"},
    {"h2_only_no_alpn", {"h2"}, ""},
    {"none_offered", {}, ""},
    {"h2_then_nat_discovery", {"h2", "stun.nat-discovery"}, "stun.nat-discovery"},
    {"server_prefers_stun_turn", {"stun.nat-discovery", "stun.turn"}, "stun.turn"},
};

TEST_P(TlsAlpn, SelectsAStunProtocolOrNoneAndServesEither) {
  std::string wire;
  for (auto p : GetParam().offer) wire += static_cast<char>(p.size()) + std::string(p);
  TlsPair pair(contexts_->tls(), client_ctx_.get());
  if (!wire.empty()) {
    ASSERT_EQ(
        SSL_set_alpn_protos(pair.client(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size())),
        0);
  }
  const auto out = pair.handshake();
  ASSERT_TRUE(out.client_ok);
  ASSERT_EQ(out.server, Status::Ok);
  EXPECT_EQ(pair.server().alpn(), GetParam().selected);
  EXPECT_EQ(io::tls::selected_alpn(pair.client()), GetParam().selected);
}
INSTANTIATE_TEST_SUITE_P(Tls, TlsAlpn, testing::ValuesIn(kAlpnCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct SniCase {
  std::string_view name;
  const char* server_name;  // nullptr: no SNI
  std::string_view leaf_cn;
};
class TlsSni : public TlsHandshake, public testing::WithParamInterface<SniCase> {};
const SniCase kSniCases[] = {
    {"second_chain", "b.example", "b.example"},
    {"second_chain_any_case", "B.Example", "b.example"},
    {"main_chain_by_name", "a.example", "a.example"},
    {"unknown_name_gets_main", "c.example", "a.example"},
    {"no_sni_gets_main", nullptr, "a.example"},
};

TEST_P(TlsSni, ServesTheChainValidForTheName) {
  TlsPair pair(contexts_->tls(), client_ctx_.get());
  if (GetParam().server_name != nullptr) {
    ASSERT_EQ(SSL_set_tlsext_host_name(pair.client(), GetParam().server_name), 1);
  }
  const auto out = pair.handshake();
  ASSERT_TRUE(out.client_ok);
  ASSERT_EQ(out.server, Status::Ok);
  EXPECT_EQ(peer_cn(pair.client()), GetParam().leaf_cn);
}
INSTANTIATE_TEST_SUITE_P(Tls, TlsSni, testing::ValuesIn(kSniCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- Resumption from stateless tickets, also once the certificates were reloaded.

class TlsResumption : public TlsHandshake, public testing::WithParamInterface<VersionCase> {
 protected:
  /// A handshake against `server` offering `session` (or none); its resumable session.
  UniqueSession connect(SSL_CTX* server, SSL_SESSION* session, bool expect_resumed) {
    TlsPair pair(server, client_ctx_.get());
    if (session != nullptr) {
      EXPECT_EQ(SSL_set_session(pair.client(), session), 1);
    }
    const auto out = pair.handshake();
    EXPECT_TRUE(out.client_ok);
    EXPECT_EQ(out.server, Status::Ok);
    EXPECT_EQ(pair.server().resumed(), expect_resumed);
    EXPECT_EQ(SSL_session_reused(pair.client()) == 1, expect_resumed);
    auto next = pair.client_session();
    EXPECT_TRUE(next != nullptr && SSL_SESSION_is_resumable(next.get()) == 1);
    return next;
  }
};

TEST_P(TlsResumption, TicketResumesAndStillDoesAfterAReload) {
  limit_client(GetParam().max_version);
  auto session = connect(contexts_->tls(), nullptr, false);
  ASSERT_NE(session, nullptr);
  session = connect(contexts_->tls(), session.get(), true);
  ASSERT_NE(session, nullptr);
  // A reload (new certificate files) hands the ticket keys over: old tickets stay good.
  files_.main = write_pair(dir_, "a2", make_cert({.cn = "a.example"}));
  const auto reloaded = TlsContexts::load(files_, contexts_.get());
  session = connect(reloaded->tls(), session.get(), true);
  ASSERT_NE(session, nullptr);
  // Without the previous set (a fresh start) the ticket is not understood: a full handshake.
  const auto fresh = TlsContexts::load(files_);
  connect(fresh->tls(), session.get(), false);
}
INSTANTIATE_TEST_SUITE_P(Tls, TlsResumption, testing::ValuesIn(kVersions),
                         [](const auto& info) { return std::string(info.param.name); });

// --- Why a handshake failed: the classes an operator sees on /metrics.

struct GarbageCase {
  std::string_view name;
  std::string_view bytes;
  HandshakeFailure expect;
};
class TlsGarbage : public TlsHandshake, public testing::WithParamInterface<GarbageCase> {};
// A STUN Binding request in clear: type 0x0001, length 0, magic cookie, transaction ID.
using namespace std::string_view_literals;
constexpr auto kStunBinding = "\x00\x01\x00\x00\x21\x12\xa4\x42turnd-tls-12"sv;
const GarbageCase kGarbage[] = {
    {"http_request", "GET / HTTP/1.1\r\nHost: turn.example\r\n\r\n", HandshakeFailure::NotTls},
    {"stun_in_clear", kStunBinding, HandshakeFailure::NotTls},
    {"random_bytes", "\x5a\x17\x99\x01\x00\x42\xff\x10\x20\x30\x40\x50"sv,
     HandshakeFailure::NotTls},
};

TEST_P(TlsGarbage, IsCountedAsNotTls) {
  TlsPair pair(contexts_->tls(), client_ctx_.get());
  const auto bytes = GetParam().bytes;
  ASSERT_EQ(::write(pair.client_fd(), bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  EXPECT_EQ(pair.server_handshake(), Status::Failed);
  EXPECT_EQ(pair.server().failure(), GetParam().expect) << to_string(pair.server().failure());
}
INSTANTIATE_TEST_SUITE_P(Tls, TlsGarbage, testing::ValuesIn(kGarbage),
                         [](const auto& info) { return std::string(info.param.name); });

// OpenSSL clients the server must refuse, each set up by `configure` on its context.
struct RefusedCase {
  std::string_view name;
  void (*configure)(SSL_CTX*);
  HandshakeFailure expect;
};
class TlsRefused : public TlsHandshake, public testing::WithParamInterface<RefusedCase> {};
const RefusedCase kRefused[] = {
    {"tls1_1_client",
     [](SSL_CTX* c) {
       // OpenSSL 3 offers TLS 1.1 only at security level 0.
       SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0");
       SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
       SSL_CTX_set_max_proto_version(c, TLS1_1_VERSION);
     },
     HandshakeFailure::ProtocolVersion},
    {"rsa_key_exchange_only",
     [](SSL_CTX* c) {
       SSL_CTX_set_max_proto_version(c, TLS1_2_VERSION);
       SSL_CTX_set_cipher_list(c, "AES128-SHA");
     },
     HandshakeFailure::NoSharedCipher},
    // A client that checks the certificate against no trust anchor aborts with unknown_ca.
    {"client_alert_unknown_ca", [](SSL_CTX* c) { SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr); },
     HandshakeFailure::PeerAlert},
};

TEST_P(TlsRefused, FailsWithTheReasonCounted) {
  GetParam().configure(client_ctx_.get());
  TlsPair pair(contexts_->tls(), client_ctx_.get());
  const auto out = pair.handshake();
  EXPECT_FALSE(out.client_ok);
  ASSERT_EQ(out.server, Status::Failed);
  EXPECT_EQ(pair.server().failure(), GetParam().expect) << to_string(pair.server().failure());
}
INSTANTIATE_TEST_SUITE_P(Tls, TlsRefused, testing::ValuesIn(kRefused),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(TlsHandshake, ClientLeavingMidHandshakeIsClosed) {
  TlsPair pair(contexts_->tls(), client_ctx_.get());
  ASSERT_EQ(::shutdown(pair.client_fd(), SHUT_WR), 0);
  // OpenSSL 3 reports the EOF as an error (unexpected EOF); either way it counts as closed.
  const auto status = pair.server_handshake();
  EXPECT_TRUE(status == Status::Closed || status == Status::Failed);
  EXPECT_EQ(pair.server().failure(), HandshakeFailure::Closed);
}

TEST(HandshakeFailureNames, EachReasonHasItsOwnLabel) {
  std::vector<std::string_view> seen;
  for (std::size_t i = 0; i < io::tls::kHandshakeFailureCount; ++i) {
    const auto label = to_string(static_cast<HandshakeFailure>(i));
    EXPECT_FALSE(label.empty());
    for (auto other : seen) EXPECT_NE(label, other);
    seen.push_back(label);
  }
  EXPECT_EQ(to_string(HandshakeFailure::ProtocolVersion), "protocol_version");
  EXPECT_EQ(to_string(HandshakeFailure::NotTls), "not_tls");
  EXPECT_EQ(to_string(HandshakeFailure::PeerAlert), "peer_alert");
}

TEST(HandshakeFailureNames, ErrorsOutsideTheSslLibraryAreOther) {
  EXPECT_EQ(io::tls::classify_handshake_error(0), HandshakeFailure::Closed);
  EXPECT_EQ(io::tls::classify_handshake_error(ERR_PACK(ERR_LIB_SYS, 0, 104)),
            HandshakeFailure::Other);
  EXPECT_EQ(io::tls::classify_handshake_error(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_VERSION_TOO_LOW)),
            HandshakeFailure::ProtocolVersion);
}

}  // namespace
}  // namespace turnd::server::test
