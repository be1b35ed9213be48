// DTLS 1.2 listener of one shard on one listen address (SO_REUSEPORT like UDP, so the kernel
// keeps each client on one shard). A datagram from an address without a session must be a
// ClientHello; it is answered statelessly with a cookie challenge (HelloVerifyRequest, no
// larger than the ClientHello), and only a ClientHello that returns the cookie makes a
// session: a spoofed source costs neither memory nor amplification. Sessions count against
// the connection limits; their handshake has a deadline and their silence an idle timeout.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <unordered_map>

#include "server/io/batch_io.hpp"
#include "server/io/dtls_session.hpp"
#include "server/io/message_handler.hpp"
#include "server/io/tcp_listener.hpp"

namespace turnd::server::io {

class DtlsListener {
 public:
  /// Uses policy's limiter, tls store, handshake and idle timeouts (first_message_timeout is
  /// the handshake's for DTLS: a session exists only once the client proved its address).
  DtlsListener(boost::asio::io_context& io, const protocol::TransportAddress& addr,
               MessageHandler& handler, SendBatch& sends, StreamPolicy policy,
               ListenerCounters& counters);
  ~DtlsListener();
  void start();
  void close() noexcept;
  void set_timeouts(std::chrono::seconds idle, std::chrono::seconds handshake) noexcept {
    policy_.idle_timeout = idle;
    policy_.handshake_timeout = handshake;
  }
  std::size_t sessions() const noexcept { return sessions_.size(); }

  /// How often handshakes are retransmitted and deadlines checked.
  static constexpr std::chrono::milliseconds kTick{250};

 private:
  void wait_readable();
  void on_readable() noexcept;
  void on_datagram(Datagram& d, std::uint8_t* slot) noexcept;
  /// A ClientHello from an address without a session, or with `replaced`: the cookie
  /// exchange, then a new session (ending `replaced`).
  void on_hello(const Datagram& d, DtlsSession* replaced) noexcept;
  /// An SSL ready for DTLSv1_listen with the current certificates; false without TLS.
  bool prepare_listen_ssl() noexcept;
  void count_failure(const DtlsSession& s) noexcept;
  /// Ends `s` (its allocation too) and gives back its connection slot; `s` is gone after.
  void close_session(DtlsSession& s) noexcept;
  void send_datagram(protocol::ByteSpan bytes, const DatagramTarget& target) noexcept;
  void arm_tick();
  void on_tick() noexcept;

  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer tick_;
  protocol::TransportAddress addr_;
  MessageHandler& handler_;
  SendBatch& sends_;
  StreamPolicy policy_;
  ListenerCounters& counters_;
  ReceiveBatch batch_{&counters_};  // no GRO: a slot is also the decrypted records' scratch
  std::function<void(protocol::ByteSpan, const DatagramTarget&)> send_;
  std::unordered_map<protocol::TransportAddress, std::unique_ptr<DtlsSession>,
                     protocol::TransportAddressHash>
      sessions_;
  // The SSL that answers ClientHellos without a session; on a verified cookie it becomes that
  // client's session and a new one is made.
  SSL* listen_ssl_ = nullptr;
  BIO* listen_read_bio_ = nullptr;
  DatagramTarget listen_target_;
  tls::TlsContextsPtr listen_contexts_;
  bool closed_ = false;
};

}  // namespace turnd::server::io
