// CertificateReloader on a real io_context and real files: loaded at start, a renewal on disk
// picked up by polling (once two looks agree), a broken new pair refused while the old
// contexts keep serving, and SIGHUP's reload(config) applied at once.
#include "server/certificate_reloader.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "tls_test_support.hpp"

namespace turnd::server::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using io::tls::TlsContextsPtr;

config::Config config_of(const io::tls::CertificateFiles& files) {
  config::Config c;
  c.tls_cert = files.cert;
  c.tls_key = files.key;
  return c;
}

/// The CN of the leaf new handshakes on `contexts` get.
std::string leaf_cn(const TlsContextsPtr& contexts) {
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_CTX_get0_certificate(contexts->tls())),
                            NID_commonName, cn, sizeof cn);
  return cn;
}

class CertificateReloaderTest : public testing::Test {
 protected:
  /// Runs the control io_context until `done` holds or `limit` passed; how long it took.
  template <class Pred>
  Clock::duration run_until(Pred done, Clock::duration limit) {
    const auto start = Clock::now();
    while (!done() && Clock::now() - start < limit) control_.run_for(20ms);
    return Clock::now() - start;
  }
  std::string served_cn() { return leaf_cn(store_.current()); }

  // Two poll intervals (the second look confirms the change) and some slack for a busy host.
  static constexpr auto kPickUp = 2 * CertificateReloader::kPollInterval + 500ms;

  TempDir dir_;
  io::tls::CertificateFiles files_ = write_pair(dir_, "turn", make_cert({.cn = "old.example"}));
  config::Config config_ = config_of(files_);
  boost::asio::io_context control_;
  io::tls::TlsContextStore store_;
  CertificateReloader reloader_{control_, store_};
};

TEST_F(CertificateReloaderTest, StartLoadsTheFiles) {
  reloader_.start(config_);
  ASSERT_NE(store_.current(), nullptr);
  EXPECT_EQ(served_cn(), "old.example");
  const auto in_a_day = std::chrono::system_clock::now() + 24h;
  EXPECT_NEAR(static_cast<double>(reloader_.expiry_unix()),
              static_cast<double>(std::chrono::system_clock::to_time_t(in_a_day)), 60.0);
  EXPECT_EQ(reloader_.reloads_applied(), 0u);
  EXPECT_EQ(reloader_.reloads_failed(), 0u);
}

TEST_F(CertificateReloaderTest, StartWithoutTlsOrWithABrokenPair) {
  CertificateReloader without{control_, store_};
  without.start(config::Config{});
  EXPECT_EQ(store_.current(), nullptr);
  EXPECT_EQ(without.expiry_unix(), 0);
  auto missing = config_;
  missing.tls_key = dir_.path("missing.key");
  EXPECT_THROW(reloader_.start(missing), io::tls::TlsError) << "turnd does not start";
  EXPECT_EQ(store_.current(), nullptr);
}

TEST_F(CertificateReloaderTest, RenewedFilesArePickedUpWithinTwoPolls) {
  reloader_.start(config_);
  const auto old = store_.current();
  write_pair(dir_, "turn", make_cert({.cn = "new.example"}));
  const auto took = run_until([&] { return store_.current() != old; }, kPickUp + 2s);
  ASSERT_NE(store_.current(), old);
  EXPECT_LE(took, kPickUp);
  EXPECT_EQ(served_cn(), "new.example");
  EXPECT_EQ(reloader_.reloads_applied(), 1u);
  EXPECT_EQ(reloader_.reloads_failed(), 0u);
  reloader_.stop();
}

TEST_F(CertificateReloaderTest, BrokenNewPairIsRefusedAndTheOldContextsStay) {
  reloader_.start(config_);
  const auto old = store_.current();
  // A renewal that replaced the certificate but not (yet) its key.
  write_file(files_.cert, make_cert({.cn = "new.example"}).cert_pem);
  run_until([&] { return reloader_.reloads_failed() == 1; }, kPickUp + 2s);
  ASSERT_EQ(reloader_.reloads_failed(), 1u);
  EXPECT_EQ(store_.current(), old);
  EXPECT_EQ(served_cn(), "old.example");
  // Not tried (nor logged) again on every poll while the files stay as they are.
  run_until([] { return false; }, CertificateReloader::kPollInterval + 200ms);
  EXPECT_EQ(reloader_.reloads_failed(), 1u);
  EXPECT_EQ(reloader_.reloads_applied(), 0u);
  EXPECT_EQ(store_.current(), old);
  reloader_.stop();
}

TEST_F(CertificateReloaderTest, SighupLoadsWhatTheConfigNamesAtOnce) {
  reloader_.start(config_);
  const auto old = store_.current();
  // Other files, named by the reloaded config: applied without waiting for a poll.
  const auto other = write_pair(dir_, "other", make_cert({.cn = "other.example"}));
  reloader_.reload(config_of(other));
  EXPECT_EQ(served_cn(), "other.example");
  EXPECT_EQ(reloader_.reloads_applied(), 1u);
  // The same files again, unchanged: SIGHUP loads anyway.
  reloader_.reload(config_of(other));
  EXPECT_EQ(reloader_.reloads_applied(), 2u);
  // A config whose pair is broken: refused, the running one stays.
  auto broken = config_of(other);
  broken.tls_key = files_.key;  // the key of old.example
  reloader_.reload(broken);
  EXPECT_EQ(reloader_.reloads_failed(), 1u);
  EXPECT_EQ(served_cn(), "other.example");
  // A config without TLS keys keeps what runs.
  reloader_.reload(config::Config{});
  EXPECT_EQ(served_cn(), "other.example");
  EXPECT_NE(store_.current(), old);
  reloader_.stop();
}

TEST_F(CertificateReloaderTest, SighupAfterAStartWithoutTlsStartsServing) {
  reloader_.start(config::Config{});
  EXPECT_EQ(store_.current(), nullptr);
  reloader_.reload(config_);
  ASSERT_NE(store_.current(), nullptr);
  EXPECT_EQ(served_cn(), "old.example");
  EXPECT_EQ(reloader_.reloads_applied(), 1u);
}

TEST_F(CertificateReloaderTest, ReloadKeepsTicketKeysSoTicketsResume) {
  reloader_.start(config_);
  UniqueSslCtx client_ctx = client_context();
  UniqueSession session;
  {
    TlsPair pair(store_.current()->tls(), client_ctx.get());
    ASSERT_TRUE(pair.handshake().client_ok);
    session = pair.client_session();
  }
  ASSERT_NE(session, nullptr);
  write_pair(dir_, "turn", make_cert({.cn = "new.example"}));
  reloader_.reload(config_);
  ASSERT_EQ(served_cn(), "new.example");
  TlsPair pair(store_.current()->tls(), client_ctx.get());
  ASSERT_EQ(SSL_set_session(pair.client(), session.get()), 1);
  ASSERT_TRUE(pair.handshake().client_ok);
  EXPECT_TRUE(pair.server().resumed());
}

}  // namespace
}  // namespace turnd::server::test
