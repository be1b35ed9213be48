// One DTLS 1.2 session of a DTLS listener: the SSL of one client address, fed one datagram at a
// time through a memory BIO and writing each record as one datagram through the listener
// (datagram_bio.hpp). Made only after the client answered the cookie challenge, so a spoofed
// source never gets one. It is the ClientSink of its client: replies and relayed data are
// encrypted here.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <functional>

#include "protocol/bytes.hpp"
#include "server/io/client_context.hpp"
#include "server/io/tls/handshake_failure.hpp"
#include "server/io/tls/tls_context.hpp"

namespace turnd::server::io {

/// Where a DTLS SSL's records go: one datagram each, to `to` from `local`.
struct DatagramTarget {
  std::function<void(protocol::ByteSpan, const DatagramTarget&)>* send = nullptr;
  protocol::TransportAddress to, local;
  unsigned written = 0;  // datagrams written, for counting cookie challenges
};

/// A BIO that hands every write to target->send as one datagram. Reads are not supported.
BIO* new_datagram_bio(DatagramTarget* target);

class DtlsSession final : public ClientSink {
 public:
  enum class State : std::uint8_t { Handshaking, Open, Closed };

  /// Takes `ssl` (which verified the cookie and holds the ClientHello) with its BIOs.
  DtlsSession(SSL* ssl, BIO* read_bio, const ClientContext& ctx,
              std::function<void(protocol::ByteSpan, const DatagramTarget&)>& send,
              tls::TlsContextsPtr contexts, std::chrono::steady_clock::time_point now);
  ~DtlsSession() override;
  DtlsSession(const DtlsSession&) = delete;
  DtlsSession& operator=(const DtlsSession&) = delete;

  /// Feeds one datagram; `on_record` gets each decrypted record (a STUN message or
  /// ChannelData) in `scratch`, which has io::kHeadroom bytes free in front of it.
  template <class OnRecord>
  void receive(protocol::ByteSpan datagram, protocol::MutableByteSpan scratch,
               std::chrono::steady_clock::time_point now, OnRecord&& on_record);
  /// Advances the handshake (first flight, retransmissions); returns the state after it.
  State drive_handshake() noexcept;
  /// Retransmits a lost handshake flight when its timer is due.
  void on_tick() noexcept;
  /// The handshake's deadline passed: closed, failure Timeout.
  void time_out() noexcept {
    failure_ = tls::HandshakeFailure::Timeout;
    state_ = State::Closed;
  }

  void send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress& client,
                      const protocol::TransportAddress& local) noexcept override;
  bool is_stream() const noexcept override { return false; }

  State state() const noexcept { return state_; }
  /// Why the handshake failed, once state() is Closed before it was Open.
  tls::HandshakeFailure failure() const noexcept { return failure_; }
  bool resumed() const noexcept { return SSL_session_reused(ssl_) == 1; }
  const ClientContext& context() const noexcept { return ctx_; }
  std::chrono::steady_clock::time_point opened() const noexcept { return opened_; }
  std::chrono::steady_clock::time_point last_seen() const noexcept { return last_seen_; }
  /// Sends close_notify (when open) and marks the session closed.
  void close() noexcept;

 private:
  /// Classifies a failed SSL call; Closed state on anything but WANT_READ/WANT_WRITE.
  bool keeps_going(int ret) noexcept;
  bool read_record(protocol::MutableByteSpan out, std::size_t& n) noexcept;

  SSL* ssl_;
  BIO* read_bio_;  // owned by ssl_
  ClientContext ctx_;
  DatagramTarget target_;
  tls::TlsContextsPtr contexts_;  // until the handshake is done (the SNI callback uses it)
  std::chrono::steady_clock::time_point opened_, last_seen_;
  State state_ = State::Handshaking;
  tls::HandshakeFailure failure_ = tls::HandshakeFailure::Other;
};

template <class OnRecord>
void DtlsSession::receive(protocol::ByteSpan datagram, protocol::MutableByteSpan scratch,
                          std::chrono::steady_clock::time_point now, OnRecord&& on_record) {
  if (state_ == State::Closed) return;
  last_seen_ = now;
  BIO_write(read_bio_, datagram.data(), static_cast<int>(datagram.size()));
  if (state_ == State::Handshaking && drive_handshake() != State::Open) return;
  std::size_t n = 0;
  while (state_ == State::Open && read_record(scratch, n)) on_record(scratch.first(n));
}

}  // namespace turnd::server::io
