#include "server/io/tls/handshake_failure.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace turnd::server::io::tls {

std::string_view to_string(HandshakeFailure reason) noexcept {
  switch (reason) {
    case HandshakeFailure::Timeout:
      return "timeout";
    case HandshakeFailure::NotTls:
      return "not_tls";
    case HandshakeFailure::ProtocolVersion:
      return "protocol_version";
    case HandshakeFailure::NoSharedCipher:
      return "no_shared_cipher";
    case HandshakeFailure::PeerAlert:
      return "peer_alert";
    case HandshakeFailure::Closed:
      return "closed";
    case HandshakeFailure::Other:
      return "other";
  }
  return "other";
}

HandshakeFailure classify_handshake_error(unsigned long openssl_error) noexcept {
  if (openssl_error == 0) return HandshakeFailure::Closed;  // EOF or reset, no TLS error
  if (ERR_GET_LIB(openssl_error) != ERR_LIB_SSL) return HandshakeFailure::Other;
  const int reason = ERR_GET_REASON(openssl_error);
  // Alerts the client sent arrive as SSL_AD_REASON_OFFSET + the alert's description.
  if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
    return HandshakeFailure::PeerAlert;
  }
  switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_UNKNOWN_SSL_VERSION:
      return HandshakeFailure::ProtocolVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      return HandshakeFailure::NoSharedCipher;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_RECORD_LENGTH_MISMATCH:
    case SSL_R_LENGTH_MISMATCH:
    case SSL_R_UNEXPECTED_MESSAGE:
    case SSL_R_UNEXPECTED_RECORD:
      return HandshakeFailure::NotTls;
    case SSL_R_UNEXPECTED_EOF_WHILE_READING:
      return HandshakeFailure::Closed;
    default:
      return HandshakeFailure::Other;
  }
}

}  // namespace turnd::server::io::tls
