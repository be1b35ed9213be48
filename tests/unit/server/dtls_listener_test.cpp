// DtlsListener end to end on loopback: the listener runs on its own io_context thread, OpenSSL
// DTLS 1.2 clients (DTLS_client_method over connected UDP sockets, BIO_new_dgram) talk to it
// from the test's thread. The stateless cookie exchange, records both ways, what is dropped,
// the connection limit, the handshake deadline and the idle timeout. The message handler is a
// test double that answers every record with a fixed reply: the handler is not what is tested.
#include "server/io/dtls_listener.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <mutex>
#include <optional>
#include <thread>

#include "server/connection_limiter.hpp"
#include "server/io/socket_address.hpp"
#include "tls_test_support.hpp"

namespace turnd::server::test {
namespace {

using namespace std::chrono_literals;
using io::ListenerCounters;
using protocol::TransportAddress;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kReply = "fixed reply from the test handler";
constexpr std::size_t kDtls = ListenerCounters::kDtlsIndex;

/// Records what reaches the handler (from the listener's thread) and answers with kReply.
class ReplyingHandler final : public io::MessageHandler {
 public:
  protocol::ByteSpan on_client_message(const io::ClientContext& ctx,
                                       protocol::MutableByteSpan in) noexcept override {
    std::lock_guard lock(mutex_);
    messages_.emplace_back(reinterpret_cast<const char*>(in.data()), in.size());
    last_ = ctx;
    return {reinterpret_cast<const std::uint8_t*>(kReply.data()), kReply.size()};
  }
  void flush() noexcept override {}
  void on_connection_closed(const io::ClientContext& ctx) noexcept override {
    std::lock_guard lock(mutex_);
    closed_.push_back(ctx.client);
  }
  bool has_allocation(const io::ClientContext&) noexcept override { return false; }

  std::vector<std::string> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  io::ClientContext last() const {
    std::lock_guard lock(mutex_);
    return last_;
  }
  std::vector<TransportAddress> closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
  io::ClientContext last_;
  std::vector<TransportAddress> closed_;
};

TransportAddress local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return io::from_sockaddr(ss);
}

/// A UDP socket on 127.0.0.1:`port` (0: kernel-chosen); connected to `server` when given.
int udp_socket(std::optional<TransportAddress> server = std::nullopt, std::uint16_t port = 0) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  local.sin_port = htons(port);
  ::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local);
  if (server) {
    sockaddr_storage ss{};
    const socklen_t len = io::to_sockaddr(*server, ss);
    ::connect(fd, reinterpret_cast<const sockaddr*>(&ss), len);
  }
  return fd;
}

/// A port on 127.0.0.1 no UDP socket is bound to right now.
std::uint16_t free_udp_port() {
  const int fd = udp_socket();
  const auto port = local_address(fd).port;
  ::close(fd);
  return port;
}

bool readable(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
}

/// Waits (bounded) until `done` holds; the listener works on its own thread meanwhile.
template <class Pred>
bool wait_for(Pred done, std::chrono::milliseconds limit = 3s) {
  const auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return done();
}

/// An OpenSSL DTLS 1.2 client on its own connected UDP socket (its own source port), driven
/// without blocking: handshake flights are retransmitted on DTLSv1_get_timeout.
class DtlsClient {
 public:
  /// `port`: the client's own port, 0 for any.
  DtlsClient(SSL_CTX* ctx, const TransportAddress& server, std::uint16_t port = 0)
      : fd_(udp_socket(server, port)) {
    ssl_.reset(SSL_new(ctx));
    BIO* bio = BIO_new_dgram(fd_, BIO_NOCLOSE);
    sockaddr_storage ss{};
    io::to_sockaddr(server, ss);
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &ss);
    SSL_set_bio(ssl_.get(), bio, bio);
    SSL_set_connect_state(ssl_.get());
  }
  ~DtlsClient() {
    ssl_.reset();
    ::close(fd_);
  }
  DtlsClient(const DtlsClient&) = delete;
  DtlsClient& operator=(const DtlsClient&) = delete;

  SSL* ssl() const noexcept { return ssl_.get(); }
  int fd() const noexcept { return fd_; }
  TransportAddress address() const { return local_address(fd_); }

  /// One step of the handshake; false once it failed.
  bool step(bool& done) {
    const int ret = SSL_do_handshake(ssl_.get());
    done = ret == 1;
    const int err = done ? SSL_ERROR_NONE : SSL_get_error(ssl_.get(), ret);
    ERR_clear_error();
    return done || err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  }
  /// The whole handshake, retransmitting as needed; false on failure or after `limit`.
  bool handshake(std::chrono::milliseconds limit = 3s) {
    const auto deadline = Clock::now() + limit;
    bool done = false;
    while (Clock::now() < deadline) {
      if (!step(done)) return false;
      if (done) return true;
      if (!readable(fd_, 20ms)) DTLSv1_handle_timeout(ssl_.get());
    }
    return false;
  }
  bool write(std::string_view text) {
    return SSL_write(ssl_.get(), text.data(), static_cast<int>(text.size())) ==
           static_cast<int>(text.size());
  }
  /// The next record's text; nullopt after `limit`, on close_notify (closed() true) or error.
  std::optional<std::string> read(std::chrono::milliseconds limit = 2s) {
    const auto deadline = Clock::now() + limit;
    char buf[2048];
    while (Clock::now() < deadline) {
      const int n = SSL_read(ssl_.get(), buf, sizeof buf);
      if (n > 0) return std::string(buf, static_cast<std::size_t>(n));
      const int err = SSL_get_error(ssl_.get(), n);
      ERR_clear_error();
      if (err == SSL_ERROR_ZERO_RETURN) closed_ = true;
      if (err != SSL_ERROR_WANT_READ) return std::nullopt;
      readable(fd_, 20ms);
    }
    return std::nullopt;
  }
  bool closed() const noexcept { return closed_; }

 private:
  int fd_;
  UniqueSsl ssl_;
  bool closed_ = false;
};

/// A DTLS client on memory BIOs whose datagrams the test carries itself, one flight at a time,
/// so it can stop at a chosen point of the handshake. (OpenSSL on a socket BIO may go through
/// several flights in one SSL_do_handshake when the answers are quick.)
class FlightByFlightClient {
 public:
  FlightByFlightClient(SSL_CTX* ctx, const TransportAddress& server) : fd_(udp_socket(server)) {
    ssl_.reset(SSL_new(ctx));
    in_ = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in_, -1);  // empty: wait for the next datagram
    out_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_.get(), in_, out_);
    SSL_set_options(ssl_.get(), SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl_.get(), 1400);
    SSL_set_connect_state(ssl_.get());
  }
  ~FlightByFlightClient() {
    ssl_.reset();
    ::close(fd_);
  }
  FlightByFlightClient(const FlightByFlightClient&) = delete;
  FlightByFlightClient& operator=(const FlightByFlightClient&) = delete;

  int fd() const noexcept { return fd_; }
  TransportAddress address() const { return local_address(fd_); }
  /// Runs the handshake on what was received and sends what it wrote as one datagram.
  bool send_flight() {
    SSL_do_handshake(ssl_.get());
    ERR_clear_error();
    char buf[4096];
    const int n = BIO_read(out_, buf, sizeof buf);
    return n > 0 && ::send(fd_, buf, static_cast<std::size_t>(n), 0) == n;
  }
  /// Hands the next datagram to the SSL (not processed until send_flight()).
  bool receive(std::chrono::milliseconds limit) {
    if (!readable(fd_, limit)) return false;
    char buf[4096];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 && BIO_write(in_, buf, static_cast<int>(n)) == n;
  }

 private:
  int fd_;
  UniqueSsl ssl_;
  BIO* in_ = nullptr;   // owned by ssl_
  BIO* out_ = nullptr;  // owned by ssl_
};

class DtlsListenerTest : public testing::Test {
 protected:
  DtlsListenerTest() {
    store_.install(io::tls::TlsContexts::load(files_));
    SSL_CTX_set_session_cache_mode(client_ctx_.get(), SSL_SESS_CACHE_OFF);
  }
  ~DtlsListenerTest() override { stop(); }

  /// Starts the listener with `policy` (its TLS store set here) on its own thread.
  void start(io::StreamPolicy policy = {}) {
    policy.tls = &store_;
    listener_ =
        std::make_unique<io::DtlsListener>(io_, server_, handler_, sends_, policy, counters_);
    listener_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  /// Closes the listener on its thread and waits for the thread to end.
  void stop() {
    if (!thread_.joinable()) return;
    boost::asio::post(io_, [this] { listener_->close(); });
    thread_.join();
  }
  std::uint64_t handshakes() const { return counters_.tls_handshakes[kDtls].get(); }
  std::uint64_t failures(io::tls::HandshakeFailure reason) const {
    return counters_.tls_handshake_failures[kDtls][static_cast<std::size_t>(reason)].get();
  }

  TempDir dir_;
  io::tls::TlsFiles files_{write_pair(dir_, "a", make_cert({.cn = "a.example"})), {}};
  io::tls::TlsContextStore store_;
  UniqueSslCtx client_ctx_ = client_context(true);
  TransportAddress server_{protocol::IpAddress::v4({127, 0, 0, 1}), free_udp_port()};
  boost::asio::io_context io_;
  ReplyingHandler handler_;
  ListenerCounters counters_;
  ConnectionLimiter limiter_{{}};  // outlives the listener, which gives its slots back
  io::Counter send_dropped_;
  io::SendBatch sends_{counters_, send_dropped_};
  std::unique_ptr<io::DtlsListener> listener_;
  std::thread thread_;
};

TEST_F(DtlsListenerTest, CookieThenHandshakeThenRecordsBothWays) {
  start();
  DtlsClient client(client_ctx_.get(), server_);
  const std::string_view alpn = "\x09stun.turn";
  ASSERT_EQ(SSL_set_alpn_protos(client.ssl(), reinterpret_cast<const unsigned char*>(alpn.data()),
                                static_cast<unsigned>(alpn.size())),
            0);
  ASSERT_TRUE(client.handshake());
  EXPECT_EQ(counters_.dtls_hello_verify_sent.get(), 1u) << "the first ClientHello is challenged";
  ASSERT_TRUE(wait_for([&] { return handshakes() == 1; }));
  EXPECT_EQ(std::string_view(SSL_get_version(client.ssl())), "DTLSv1.2");
  EXPECT_EQ(io::tls::selected_alpn(client.ssl()), "stun.turn");
  EXPECT_EQ(peer_cn(client.ssl()), "a.example");

  ASSERT_TRUE(client.write("a record for the handler"));
  ASSERT_TRUE(readable(client.fd(), 2s));
  char raw[2048];
  const auto n = ::recv(client.fd(), raw, sizeof raw, MSG_PEEK);
  ASSERT_GT(n, 13);
  const std::string_view wire(raw, static_cast<std::size_t>(n));
  EXPECT_EQ(wire[0], 23) << "an application_data record";
  EXPECT_EQ(wire.find(kReply.substr(0, 8)), std::string_view::npos) << "the reply is encrypted";
  EXPECT_EQ(client.read(), std::string(kReply));

  const auto messages = handler_.messages();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0], "a record for the handler");
  const auto ctx = handler_.last();
  EXPECT_EQ(ctx.transport, io::Transport::Dtls);
  EXPECT_EQ(ctx.client, client.address());
  EXPECT_EQ(ctx.local, server_);
  ASSERT_NE(ctx.sink, nullptr);
  EXPECT_FALSE(ctx.sink->is_stream());
  EXPECT_EQ(counters_.dtls_datagrams_dropped.get(), 0u);
  EXPECT_EQ(failures(io::tls::HandshakeFailure::Timeout), 0u);
}

TEST_F(DtlsListenerTest, NonDtlsDatagramsAreDroppedAndCountedWithoutAnAnswer) {
  start();
  const int fd = udp_socket(server_);
  const std::string_view not_dtls[] = {
      "hello, this is not DTLS",
      std::string_view("\x00\x01\x00\x00\x21\x12\xa4\x42"
                       "turnd-dtls12",
                       20),  // STUN in clear
      std::string_view("\x17\xfe\xfd\x00\x01\x00\x00\x00\x00\x00\x01\x00\x04"
                       "abcd",
                       17),  // data
  };
  for (auto d : not_dtls)
    ASSERT_EQ(::send(fd, d.data(), d.size(), 0), static_cast<ssize_t>(d.size()));
  EXPECT_TRUE(wait_for([&] { return counters_.dtls_datagrams_dropped.get() == 3; }));
  EXPECT_FALSE(readable(fd, 300ms)) << "nothing is sent back";
  EXPECT_EQ(counters_.dtls_hello_verify_sent.get(), 0u);
  EXPECT_TRUE(handler_.messages().empty());
  ::close(fd);
}

TEST_F(DtlsListenerTest, ConnectionLimitRefusesASecondSessionFromTheSameIp) {
  limiter_.set_limits({.per_source = 1, .total = 0, .per_second = 0, .limit_loopback = true});
  start({.limiter = &limiter_});
  DtlsClient first(client_ctx_.get(), server_);
  ASSERT_TRUE(first.handshake());
  ASSERT_TRUE(wait_for([&] { return handshakes() == 1; }));
  EXPECT_EQ(limiter_.open(), 1u);

  // Same IP, another port: challenged (that costs nothing), then refused once its cookie
  // proved the address. Less than the client's first retransmission timeout (1 s) of trying.
  DtlsClient second(client_ctx_.get(), server_);
  EXPECT_FALSE(second.handshake(600ms));
  EXPECT_TRUE(wait_for([&] { return counters_.dtls_refused_per_source.get() == 1; }));
  EXPECT_EQ(counters_.dtls_hello_verify_sent.get(), 2u);
  EXPECT_EQ(handshakes(), 1u);
  EXPECT_EQ(limiter_.open(), 1u);

  // The first one's close_notify ends its session and frees the slot: a third gets in.
  ASSERT_EQ(SSL_shutdown(first.ssl()), 0);
  EXPECT_TRUE(wait_for([&] { return limiter_.open() == 0; }));
  EXPECT_EQ(handler_.closed(), std::vector<TransportAddress>{first.address()});
  DtlsClient third(client_ctx_.get(), server_);
  ASSERT_TRUE(third.handshake());
  EXPECT_TRUE(wait_for([&] { return handshakes() == 2; }));
  EXPECT_EQ(limiter_.open(), 1u);
}

TEST_F(DtlsListenerTest, HandshakeDeadlineClosesAClientThatStopsAfterTheCookie) {
  start({.idle_timeout = 60s, .limiter = &limiter_, .handshake_timeout = 1s});
  FlightByFlightClient client(client_ctx_.get(), server_);
  ASSERT_TRUE(client.send_flight());  // ClientHello
  ASSERT_TRUE(client.receive(2s));    // HelloVerifyRequest
  EXPECT_EQ(counters_.dtls_hello_verify_sent.get(), 1u);
  ASSERT_TRUE(client.send_flight());  // ClientHello with the cookie
  ASSERT_TRUE(readable(client.fd(), 2s)) << "the cookie made a session: its first flight";
  EXPECT_TRUE(wait_for([&] { return limiter_.open() == 1; }));
  // ... and the client goes quiet. The deadline (1 s, checked every 250 ms) ends the session.
  const auto quiet = Clock::now();
  ASSERT_TRUE(wait_for([&] { return failures(io::tls::HandshakeFailure::Timeout) == 1; }));
  EXPECT_GE(Clock::now() - quiet, 500ms);
  EXPECT_TRUE(wait_for([&] { return limiter_.open() == 0; }));
  EXPECT_EQ(handshakes(), 0u);
  EXPECT_EQ(handler_.closed(), std::vector<TransportAddress>{client.address()});
}

TEST_F(DtlsListenerTest, IdleTimeoutClosesAnOpenSessionWithCloseNotify) {
  start({.idle_timeout = 1s});
  DtlsClient client(client_ctx_.get(), server_);
  ASSERT_TRUE(client.handshake());
  ASSERT_TRUE(client.write("one request"));
  EXPECT_EQ(client.read(), std::string(kReply));
  const auto last = Clock::now();
  ASSERT_TRUE(wait_for([&] { return counters_.dtls_closed_idle_timeout.get() == 1; }));
  EXPECT_GE(Clock::now() - last, 900ms);
  EXPECT_TRUE(wait_for([&] { return handler_.closed().size() == 1; }));
  EXPECT_EQ(handler_.closed(), std::vector<TransportAddress>{client.address()});
  EXPECT_EQ(client.read(), std::nullopt);
  EXPECT_TRUE(client.closed()) << "the server said close_notify";
  stop();
  EXPECT_EQ(listener_->sessions(), 0u);
}

TEST_F(DtlsListenerTest, ClientStartingOverFromItsAddressReplacesItsSession) {
  start({.limiter = &limiter_});
  std::uint16_t port = 0;
  {
    DtlsClient first(client_ctx_.get(), server_);
    ASSERT_TRUE(first.handshake());
    port = first.address().port;
  }  // gone without close_notify (an app restart behind the same NAT mapping)
  ASSERT_TRUE(wait_for([&] { return handshakes() == 1; }));
  DtlsClient again(client_ctx_.get(), server_, port);
  ASSERT_EQ(again.address().port, port);
  ASSERT_TRUE(again.handshake());
  ASSERT_TRUE(wait_for([&] { return handshakes() == 2; }));
  EXPECT_EQ(counters_.dtls_hello_verify_sent.get(), 2u) << "the new ClientHello proved the address";
  EXPECT_EQ(handler_.closed(), std::vector<TransportAddress>{again.address()}) << "the old one";
  EXPECT_EQ(limiter_.open(), 1u);
  ASSERT_TRUE(again.write("after the restart"));
  EXPECT_EQ(again.read(), std::string(kReply));
  stop();
  EXPECT_EQ(listener_->sessions(), 1u);
}

TEST_F(DtlsListenerTest, TicketResumesAlsoAfterTheCertificatesWereReloaded) {
  start();
  UniqueSession session;
  {
    DtlsClient client(client_ctx_.get(), server_);
    ASSERT_TRUE(client.handshake());
    session.reset(SSL_get1_session(client.ssl()));
    SSL_shutdown(client.ssl());
  }
  {
    DtlsClient client(client_ctx_.get(), server_);
    SSL_set_session(client.ssl(), session.get());
    ASSERT_TRUE(client.handshake());
    EXPECT_EQ(SSL_session_reused(client.ssl()), 1);
    session.reset(SSL_get1_session(client.ssl()));
    SSL_shutdown(client.ssl());
  }
  EXPECT_TRUE(wait_for([&] { return counters_.tls_resumed[kDtls].get() == 1; }));
  // A reload as CertificateReloader does it: the new set takes over the ticket keys.
  files_.main = write_pair(dir_, "a2", make_cert({.cn = "a2.example"}));
  store_.install(io::tls::TlsContexts::load(files_, store_.current().get()));
  {
    DtlsClient client(client_ctx_.get(), server_);
    ASSERT_TRUE(client.handshake());
    EXPECT_EQ(peer_cn(client.ssl()), "a2.example") << "new handshakes get the new chain";
    SSL_shutdown(client.ssl());
  }
  DtlsClient client(client_ctx_.get(), server_);
  SSL_set_session(client.ssl(), session.get());
  ASSERT_TRUE(client.handshake());
  EXPECT_EQ(SSL_session_reused(client.ssl()), 1) << "DTLS tickets survive a reload";
  EXPECT_TRUE(wait_for([&] { return handshakes() == 4; }));
  EXPECT_EQ(counters_.tls_resumed[kDtls].get(), 2u);
}

}  // namespace
}  // namespace turnd::server::test
