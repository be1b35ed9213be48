#include "server/io/tls/tls_stream.hpp"

#include <openssl/err.h>

#include <climits>
#include <new>

#include "server/io/tls/tls_context.hpp"

namespace turnd::server::io::tls {

TlsStream::TlsStream(SSL_CTX* ctx, int fd) : ssl_(SSL_new(ctx)) {
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd) != 1) {
    SSL_free(ssl_);
    ERR_clear_error();
    throw std::bad_alloc();
  }
  SSL_set_accept_state(ssl_);
}

TlsStream::~TlsStream() { SSL_free(ssl_); }

TlsStream::Status TlsStream::status_of(int ret) noexcept {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return Status::WantRead;
    case SSL_ERROR_WANT_WRITE:
      return Status::WantWrite;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return Status::Closed;
    case SSL_ERROR_SYSCALL:  // EOF or reset without close_notify, or a socket error
      last_error_ = ERR_get_error();
      ERR_clear_error();
      return last_error_ == 0 ? Status::Closed : Status::Failed;
    default:
      last_error_ = ERR_get_error();
      ERR_clear_error();  // the queue is per thread: leave nothing for the next connection
      return Status::Failed;
  }
}

TlsStream::Status TlsStream::handshake() noexcept {
  const int ret = SSL_do_handshake(ssl_);
  return ret == 1 ? Status::Ok : status_of(ret);
}

TlsStream::Result TlsStream::read(protocol::MutableByteSpan out) noexcept {
  const int n =
      SSL_read(ssl_, out.data(), static_cast<int>(std::min<std::size_t>(out.size(), INT_MAX)));
  if (n > 0) return {static_cast<std::size_t>(n), Status::Ok};
  return {0, status_of(n)};
}

TlsStream::Result TlsStream::write(protocol::ByteSpan in) noexcept {
  const int n =
      SSL_write(ssl_, in.data(), static_cast<int>(std::min<std::size_t>(in.size(), INT_MAX)));
  if (n > 0) return {static_cast<std::size_t>(n), Status::Ok};
  return {0, status_of(n)};
}

void TlsStream::shutdown() noexcept {
  if (SSL_is_init_finished(ssl_) == 1) SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string_view TlsStream::alpn() const noexcept { return selected_alpn(ssl_); }

}  // namespace turnd::server::io::tls
