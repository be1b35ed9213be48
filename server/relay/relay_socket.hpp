// Relay sockets (RFC 8656 §7.2 step 6): a UDP socket on the relay IP with a port from the
// shared pool, and its return. The port goes back to the pool on every path that does not
// keep it (a bind race with another process, EMFILE, ENOBUFS...). Owner: its shard's thread
// (the pool inside is shared and locks).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>

#include "protocol/transport_address.hpp"
#include "server/allocation.hpp"
#include "server/metrics.hpp"
#include "server/relay_port_pool.hpp"

namespace turnd::server::relay {

struct OpenRequest {
  protocol::IpAddress ip;
  std::uint16_t port = 0;  // 0: take one from the pool
  bool even = false;       // EVEN-PORT (when the pool chooses)
  bool dont_fragment = false;
};

/// Opens a relay socket; nullopt when no port could be bound (the range is exhausted, or the
/// host refuses sockets). `failures` counts the refusals.
std::optional<RelayEndpoint> open_relay_socket(boost::asio::io_context& io, RelayPortPool& ports,
                                               const OpenRequest& request, Counter& failures);

/// The relayed address of a TCP allocation (RFC 6062 §5.1): a listening socket on the relay IP
/// with a port from the same pool (no UDP socket: `endpoint.socket` stays closed).
struct TcpRelayEndpoint {
  RelayEndpoint endpoint;
  boost::asio::ip::tcp::acceptor acceptor;
};
std::optional<TcpRelayEndpoint> open_tcp_relay_socket(boost::asio::io_context& io,
                                                      RelayPortPool& ports,
                                                      const protocol::IpAddress& ip,
                                                      Counter& failures);
/// A socket bound to a TCP relayed address, for an outgoing connection to a peer (RFC 6062
/// §5.2: "the local endpoint is the relayed transport address"); it shares the port with the
/// listening socket (SO_REUSEADDR and SO_REUSEPORT on both).
boost::asio::ip::tcp::socket open_tcp_connect_socket(boost::asio::io_context& io,
                                                     const protocol::TransportAddress& relayed,
                                                     boost::system::error_code& ec);

/// Closes the socket and returns its port to the pool.
void close_relay_socket(RelayEndpoint& relay, RelayPortPool& ports) noexcept;

}  // namespace turnd::server::relay
