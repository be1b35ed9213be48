// Why a TLS or DTLS handshake failed, in the few classes an operator can act on; a label of
// turnd_tls_handshake_failures_total.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace turnd::server::io::tls {

enum class HandshakeFailure : std::uint8_t {
  Timeout,          ///< not done within tls.handshake_timeout (slow or stalled client)
  NotTls,           ///< the bytes are not TLS at all (HTTP, STUN in clear, garbage)
  ProtocolVersion,  ///< the client offers only versions below TLS 1.2 / DTLS 1.2
  NoSharedCipher,   ///< no cipher suite or group in common
  PeerAlert,        ///< the client aborted with an alert, e.g. it does not trust the certificate
  Closed,           ///< the client closed or reset the connection mid-handshake
  Other,
};
inline constexpr std::size_t kHandshakeFailureCount = 7;

std::string_view to_string(HandshakeFailure reason) noexcept;

/// Classifies an OpenSSL error code (ERR_get_error) of a failed handshake.
HandshakeFailure classify_handshake_error(unsigned long openssl_error) noexcept;

}  // namespace turnd::server::io::tls
