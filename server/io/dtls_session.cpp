#include "server/io/dtls_session.hpp"

#include <openssl/err.h>

#include <climits>

namespace turnd::server::io {
namespace {

int datagram_write(BIO* bio, const char* data, int len) {
  auto* target = static_cast<DatagramTarget*>(BIO_get_data(bio));
  if (target == nullptr || target->send == nullptr || len <= 0) return len;
  ++target->written;
  (*target->send)({reinterpret_cast<const std::uint8_t*>(data), static_cast<std::size_t>(len)},
                  *target);
  return len;  // UDP: a datagram the kernel drops is lost like any other
}

long datagram_ctrl(BIO*, int cmd, long, void*) {
  // Flush succeeds; the datagram queries (MTU, peer, timeouts) have no answer: OpenSSL then
  // uses the link MTU the session sets.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD* datagram_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "turnd datagram");
    BIO_meth_set_write(m, datagram_write);
    BIO_meth_set_ctrl(m, datagram_ctrl);
    return m;
  }();
  return method;
}

// Handshake flights are cut to fit this (certificate chains are larger than one datagram).
constexpr long kLinkMtu = 1400;

}  // namespace

BIO* new_datagram_bio(DatagramTarget* target) {
  BIO* bio = BIO_new(datagram_method());
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, target);
  BIO_set_init(bio, 1);
  return bio;
}

DtlsSession::DtlsSession(SSL* ssl, BIO* read_bio, const ClientContext& ctx,
                         std::function<void(protocol::ByteSpan, const DatagramTarget&)>& send,
                         tls::TlsContextsPtr contexts, std::chrono::steady_clock::time_point now)
    : ssl_(ssl),
      read_bio_(read_bio),
      ctx_(ctx),
      contexts_(std::move(contexts)),
      opened_(now),
      last_seen_(now) {
  ctx_.sink = this;
  ctx_.transport = Transport::Dtls;
  target_.send = &send;
  target_.to = ctx.client;
  target_.local = ctx.local;
  BIO_set_data(SSL_get_wbio(ssl_), &target_);  // the listener's challenge target until now
  // The handshake checks the cookie of the buffered ClientHello once more.
  tls::set_cookie_peer(ssl_, &ctx_.client);
  SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
  DTLS_set_link_mtu(ssl_, kLinkMtu);
}

DtlsSession::~DtlsSession() { SSL_free(ssl_); }

bool DtlsSession::keeps_going(int ret) noexcept {
  const int err = SSL_get_error(ssl_, ret);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return true;
  const unsigned long e = (err == SSL_ERROR_ZERO_RETURN) ? 0 : ERR_get_error();
  ERR_clear_error();  // the queue is per thread: leave nothing for the next session
  if (state_ == State::Handshaking) failure_ = tls::classify_handshake_error(e);
  state_ = State::Closed;
  return false;
}

DtlsSession::State DtlsSession::drive_handshake() noexcept {
  if (state_ != State::Handshaking) return state_;
  const int ret = SSL_do_handshake(ssl_);
  if (ret == 1) {
    state_ = State::Open;
    contexts_.reset();
  } else {
    keeps_going(ret);
  }
  return state_;
}

void DtlsSession::on_tick() noexcept {
  if (state_ != State::Handshaking) return;
  timeval left{};
  if (DTLSv1_get_timeout(ssl_, &left) == 1 && left.tv_sec == 0 && left.tv_usec == 0) {
    if (DTLSv1_handle_timeout(ssl_) < 0) {
      ERR_clear_error();
      failure_ = tls::HandshakeFailure::Timeout;  // too many retransmissions
      state_ = State::Closed;
    }
  }
}

bool DtlsSession::read_record(protocol::MutableByteSpan out, std::size_t& n) noexcept {
  const int ret =
      SSL_read(ssl_, out.data(), static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX)));
  if (ret > 0) {
    n = static_cast<std::size_t>(ret);
    return true;
  }
  keeps_going(ret);
  return false;
}

void DtlsSession::send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress&,
                                 const protocol::TransportAddress&) noexcept {
  if (state_ != State::Open) return;
  const int ret = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
  if (ret <= 0) ERR_clear_error();  // dropped like a lost datagram; the session goes on
}

void DtlsSession::close() noexcept {
  if (state_ == State::Open) SSL_shutdown(ssl_);
  ERR_clear_error();
  state_ = State::Closed;
}

}  // namespace turnd::server::io
