// Who sent a message and how: the client's side of the 5-tuple as handlers see it, and the
// sink that delivers bytes back to that client.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/transport_address.hpp"

namespace turnd::server::io {

enum class Transport : std::uint8_t { Udp, Tcp, Tls, Dtls };
std::string_view to_string(Transport) noexcept;

/// Delivers bytes to one client over the transport its requests arrive on. Implemented by the
/// UDP listener (a send batch on its socket) and by a TCP/TLS connection (its write queue).
class ClientSink {
 public:
  virtual ~ClientSink() = default;
  virtual void send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress& client,
                              const protocol::TransportAddress& local) noexcept = 0;
  /// Stream transports need ChannelData padded to 4 bytes (RFC 8656 §12.5).
  virtual bool is_stream() const noexcept = 0;
};

class StreamControl;  // server/io/detached_stream.hpp

struct ClientContext {
  protocol::TransportAddress client;  // source address of the request
  protocol::TransportAddress local;   // the server address it was sent to
  Transport transport = Transport::Udp;
  ClientSink* sink = nullptr;       // lives as long as the listener or connection
  StreamControl* stream = nullptr;  // TCP and TLS connections: detach() for RFC 6062
};

}  // namespace turnd::server::io
