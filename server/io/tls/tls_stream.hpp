// One server-side TLS session on a connected, non-blocking TCP socket. OpenSSL reads and
// writes the descriptor itself (a socket BIO): no copies through memory BIOs, and with
// SSL_MODE_RELEASE_BUFFERS nothing but the SSL is kept while the connection is idle. The
// caller waits for readiness (WantRead / WantWrite) and calls again.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <string_view>

#include "protocol/bytes.hpp"
#include "server/io/tls/handshake_failure.hpp"

namespace turnd::server::io::tls {

class TlsStream {
 public:
  enum class Status : std::uint8_t { Ok, WantRead, WantWrite, Closed, Failed };
  struct Result {
    std::size_t bytes = 0;
    Status status = Status::Ok;
  };

  /// Throws std::bad_alloc when OpenSSL cannot make the session.
  TlsStream(SSL_CTX* ctx, int fd);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  /// Ok once the handshake is done.
  Status handshake() noexcept;
  /// Ok with bytes > 0, or why there are none.
  Result read(protocol::MutableByteSpan out) noexcept;
  /// Ok with bytes > 0 (maybe fewer than given: partial writes), or why none were written.
  Result write(protocol::ByteSpan in) noexcept;
  /// Sends close_notify if the socket takes it now; never waits.
  void shutdown() noexcept;

  /// Why the handshake failed, after handshake() returned Closed or Failed.
  HandshakeFailure failure() const noexcept { return classify_handshake_error(last_error_); }
  std::string_view alpn() const noexcept;
  std::string_view version() const noexcept { return SSL_get_version(ssl_); }
  bool resumed() const noexcept { return SSL_session_reused(ssl_) == 1; }

 private:
  Status status_of(int ret) noexcept;

  SSL* ssl_;
  unsigned long last_error_ = 0;
};

}  // namespace turnd::server::io::tls
