// TCP listener of one shard on one listen address (SO_REUSEPORT, like UDP) and its
// connections: STUN and ChannelData framed on the stream (RFC 8656 §12.5, RFC 8489 §6.2.2),
// in clear or inside TLS (a TLS listener: the same framing after the handshake).
// What an unauthenticated client can cost is bounded: connections per source and in total, a
// deadline for the first valid STUN message, a fixed read buffer (larger frames are skipped,
// never buffered) and a capped write queue.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <vector>

#include "server/io/client_context.hpp"
#include "server/io/connection_limits.hpp"
#include "server/io/counters.hpp"
#include "server/io/detached_stream.hpp"
#include "server/io/message_handler.hpp"
#include "server/io/tls/tls_context.hpp"
#include "server/io/tls/tls_stream.hpp"

namespace turnd::server::io {

/// Limits every stream connection of a listener obeys.
struct StreamPolicy {
  std::chrono::seconds first_message_timeout{10};
  std::chrono::seconds idle_timeout{300};
  ConnectionLimits* limiter = nullptr;  // shared by all shards; nullptr = no limits
  /// TLS listeners: the certificates of new handshakes (shared, swapped by a reload); the
  /// handshake must be done within handshake_timeout (and the first message within
  /// first_message_timeout of the connection's start).
  tls::TlsContextStore* tls = nullptr;
  std::chrono::seconds handshake_timeout{10};
};

class TcpConnection final : public ClientSink,
                            public StreamControl,
                            public std::enable_shared_from_this<TcpConnection> {
 public:
  /// `counted` says whether the connection holds a slot of policy.limiter to give back.
  /// `tls` non-null: a TLS connection with these certificates (its handshake comes first).
  TcpConnection(boost::asio::ip::tcp::socket socket, MessageHandler& handler,
                const protocol::TransportAddress& listen_addr, const StreamPolicy& policy,
                ListenerCounters& counters, bool counted, tls::TlsContextsPtr tls = nullptr);
  ~TcpConnection() override;
  void start();
  void send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress& client,
                      const protocol::TransportAddress& local) noexcept override;
  bool is_stream() const noexcept override { return true; }
  std::unique_ptr<DetachedStream> detach() noexcept override;
  void close() noexcept;

  /// Bytes queued but not yet written beyond which further frames are dropped: a client that
  /// does not read must not make the server buffer without bound. A client without an
  /// allocation (nothing authenticated yet) gets a smaller queue.
  static constexpr std::size_t kMaxPendingWrite = 256 * 1024;
  static constexpr std::size_t kMaxPendingWriteUnauthenticated = 32 * 1024;
  /// The read buffer, allocated once. Requests and relayable ChannelData (one relay slot of
  /// 2048 bytes) fit; a larger frame is read past and dropped, never buffered.
  static constexpr std::size_t kReadBuffer = 4096;

 private:
  boost::asio::awaitable<void> read_loop();
  boost::asio::awaitable<bool> tls_handshake();
  boost::asio::awaitable<void> tls_read_loop();
  void tls_write() noexcept;
  /// Hands the complete frames in in_ to the handler; the caller flushes the handler's send
  /// batch (once per readable event).
  void process_frames() noexcept;
  /// Drops the frame at the front of the buffer that does not fit it; returns bytes consumed.
  std::size_t skip_oversize_frame(std::size_t frame_size, std::size_t buffered) noexcept;
  void start_write();
  void arm_timer();
  void on_timer() noexcept;

  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  MessageHandler& handler_;
  const StreamPolicy policy_;  // a copy: the connection may outlive its listener at shutdown
  ListenerCounters& counters_;
  ClientContext ctx_;
  std::vector<std::uint8_t> in_;
  std::size_t in_len_ = 0;
  std::size_t skip_ = 0;       // bytes of an oversize frame still to read past
  std::size_t frame_end_ = 0;  // end of the frame being handled (detach keeps what follows)
  std::vector<std::uint8_t> pending_, inflight_;
  std::chrono::steady_clock::time_point opened_, last_frame_;
  std::unique_ptr<tls::TlsStream> tls_;  // null for TCP in clear
  tls::TlsContextsPtr tls_contexts_;     // kept until the handshake is done (SNI callback)
  std::size_t write_pos_ = 0;            // TLS: bytes of inflight_ already written
  bool handshake_done_ = false;          // TLS handshake done (always true in clear)
  bool validated_ = false;               // a valid STUN message arrived: the idle timeout applies
  bool counted_ = false;                 // holds a ConnectionLimits slot
  bool writing_ = false;
  bool closed_ = false;
  bool detached_ = false;  // handed over by detach(): nothing of it is ours any more
};

class TcpListener {
 public:
  TcpListener(boost::asio::io_context& io, const protocol::TransportAddress& addr,
              MessageHandler& handler, StreamPolicy policy, ListenerCounters& counters);
  void start();
  void close() noexcept;
  /// A reload's new timeouts: connections accepted from now on get them; open ones keep theirs.
  void set_timeouts(std::chrono::seconds first_message, std::chrono::seconds idle,
                    std::chrono::seconds handshake) noexcept {
    policy_.first_message_timeout = first_message;
    policy_.idle_timeout = idle;
    policy_.handshake_timeout = handshake;
  }

 private:
  boost::asio::awaitable<void> accept_loop();
  /// Takes a connection slot for `socket`'s source and returns the source; nullopt (counted)
  /// when a limit refuses it or the peer already left.
  std::optional<protocol::IpAddress> admit(boost::asio::ip::tcp::socket& socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  protocol::TransportAddress addr_;
  MessageHandler& handler_;
  StreamPolicy policy_;
  ListenerCounters& counters_;
};

}  // namespace turnd::server::io
