// One UDP socket of one shard on one listen address (SO_REUSEPORT: every shard has its own and
// the kernel keeps each client on one of them). Reads in batches and answers in batches.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <optional>

#include "server/io/batch_io.hpp"
#include "server/io/client_context.hpp"
#include "server/io/message_handler.hpp"

namespace turnd::server::io {

/// Opens a non-blocking UDP socket bound to `addr` with SO_REUSEPORT (and IPV6_V6ONLY for
/// IPv6). Throws std::system_error naming the address when it cannot.
/// The same without exceptions: nullopt and `ec` set when any step fails (the socket is closed).
std::optional<boost::asio::ip::udp::socket> try_open_udp_socket(
    boost::asio::io_context& io, const protocol::TransportAddress& addr, bool reuse_port,
    boost::system::error_code& ec);
boost::asio::ip::udp::socket open_udp_socket(boost::asio::io_context& io,
                                             const protocol::TransportAddress& addr,
                                             bool reuse_port);

class UdpListener final : public ClientSink {
 public:
  UdpListener(boost::asio::io_context& io, const protocol::TransportAddress& addr,
              MessageHandler& handler, SendBatch& sends, DatagramCounters& counters, bool gro);
  void start();
  void send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress& client,
                      const protocol::TransportAddress& local) noexcept override;
  bool is_stream() const noexcept override { return false; }
  /// The socket, for replies that leave from it without a request on it (RFC 5780).
  int native_handle() noexcept { return socket_.native_handle(); }

 private:
  void wait_readable();
  void on_readable() noexcept;

  boost::asio::ip::udp::socket socket_;
  protocol::TransportAddress addr_;
  MessageHandler& handler_;
  SendBatch& sends_;
  ReceiveBatch batch_;
};

}  // namespace turnd::server::io
