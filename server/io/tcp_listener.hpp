// TCP listener of one shard on one listen address (SO_REUSEPORT, like UDP) and its
// connections: STUN and ChannelData framed on the stream (RFC 8656 §12.5, RFC 8489 §6.2.2).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <vector>

#include "server/client_context.hpp"
#include "server/dispatcher.hpp"

namespace turnd::server::io {

class TcpConnection final : public ClientSink, public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(boost::asio::ip::tcp::socket socket, Dispatcher& dispatcher,
                const protocol::TransportAddress& listen_addr);
  void start();
  void send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress& client,
                      const protocol::TransportAddress& local) noexcept override;
  bool is_stream() const noexcept override { return true; }
  void close() noexcept;

  /// Bytes queued but not yet written beyond which further frames are dropped: a client that
  /// does not read must not make the server buffer without bound.
  static constexpr std::size_t kMaxPendingWrite = 1 << 20;
  /// A connection that has not completed a frame for this long is closed (slowloris guard).
  static constexpr std::chrono::seconds kIdleTimeout{300};
  /// Most frames (requests, media) fit; the buffer grows for a larger one.
  static constexpr std::size_t kInitialBuffer = 4096;

 private:
  boost::asio::awaitable<void> read_loop();
  void process_frames() noexcept;
  void start_write();
  void arm_idle_timer();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer idle_timer_;
  Dispatcher& dispatcher_;
  ClientContext ctx_;
  std::vector<std::uint8_t> in_;
  std::size_t in_len_ = 0;
  std::vector<std::uint8_t> pending_, inflight_;
  std::chrono::steady_clock::time_point last_frame_;
  bool writing_ = false;
  bool closed_ = false;
};

class TcpListener {
 public:
  TcpListener(boost::asio::io_context& io, const protocol::TransportAddress& addr,
              Dispatcher& dispatcher);
  void start();
  void close() noexcept;

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::ip::tcp::acceptor acceptor_;
  protocol::TransportAddress addr_;
  Dispatcher& dispatcher_;
};

}  // namespace turnd::server::io
