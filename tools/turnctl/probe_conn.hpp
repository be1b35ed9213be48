// `turnctl probe`'s connection to one server: UDP (requests retransmitted per RFC 8489
// §6.2.1, through nat-type's socket and schedule), TCP, or TLS over TCP (OpenSSL, verified
// against the system trust store or --ca). STUN and ChannelData share it as RFC 8656 §12 says.
// Blocking with deadlines (poll), one thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/message_view.hpp"
#include "protocol/transport_address.hpp"
#include "tools/turnctl/probe_url.hpp"
#include "tools/turnctl/stun_udp.hpp"

namespace turnd::turnctl::probe {

using Clock = nat::Clock;

struct TlsOptions {
  bool insecure = false;  ///< --insecure: no certificate check
  std::string ca_file;    ///< --ca: trust this PEM file instead of the system store
};

/// The connection could not be made; `unreachable` for timeouts and refusals (exit 3), false
/// for TLS certificate and handshake failures (exit 4).
struct ConnectError : std::runtime_error {
  ConnectError(bool u, const std::string& what) : std::runtime_error(what), unreachable(u) {}
  bool unreachable;
};

class ServerConnection {
 public:
  /// Opens a socket to `server` over `transport`; for TCP and TLS connects (and handshakes,
  /// checking the certificate against `host`) within `timeout`. Throws ConnectError.
  ServerConnection(Transport transport, const std::string& host,
                   const protocol::TransportAddress& server, const TlsOptions& tls,
                   std::chrono::milliseconds timeout);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  /// The address packets to the server leave from (never the wildcard).
  protocol::TransportAddress local_address() const { return local_; }

  /// Sends `request` and returns the response to `id` (success or error), or nullopt when none
  /// came within `timeout`. UDP retransmits; TCP and TLS send once (RFC 8489 §6.2.2).
  std::optional<std::vector<std::uint8_t>> transact(protocol::ByteSpan request,
                                                    const protocol::TransactionId& id,
                                                    std::chrono::milliseconds timeout);
  /// Sends `data` in a ChannelData message on `channel` (padded to 4 bytes on streams).
  void send_channel_data(std::uint16_t channel, protocol::ByteSpan data);
  /// The payload of the next ChannelData on `channel` before `deadline`; other frames are
  /// skipped.
  std::optional<std::vector<std::uint8_t>> receive_channel_data(std::uint16_t channel,
                                                                Clock::time_point deadline);

 private:
  struct Stream;
  void send_frame(protocol::ByteSpan bytes);
  /// The next datagram from the server, or the next whole frame of the stream.
  std::optional<std::vector<std::uint8_t>> next_frame(Clock::time_point deadline);

  Transport transport_;
  protocol::TransportAddress server_, local_;
  std::unique_ptr<nat::UdpSocket> udp_;
  std::unique_ptr<Stream> stream_;
};

}  // namespace turnd::turnctl::probe
