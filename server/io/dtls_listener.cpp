#include "server/io/dtls_listener.hpp"

#include <openssl/err.h>

#include <vector>

#include "server/io/socket_address.hpp"
#include "server/io/udp_listener.hpp"

namespace turnd::server::io {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
// DTLS record header: content type, version (0xFEFF DTLS 1.0 / 0xFEFD DTLS 1.2), epoch,
// sequence number, length; then the handshake header, whose first byte is its type.
constexpr std::size_t kRecordHeader = 13;
constexpr std::uint8_t kHandshake = 22, kClientHello = 1;

bool looks_like_client_hello(protocol::ByteSpan d) noexcept {
  return d.size() > kRecordHeader + 12 && d[0] == kHandshake && d[1] == 0xFE &&
         (d[2] == 0xFF || d[2] == 0xFD) && d[3] == 0 && d[4] == 0 &&  // epoch 0
         d[kRecordHeader] == kClientHello;
}

}  // namespace

DtlsListener::DtlsListener(asio::io_context& io, const protocol::TransportAddress& addr,
                           MessageHandler& handler, SendBatch& sends, StreamPolicy policy,
                           ListenerCounters& counters)
    : socket_(open_udp_socket(io, addr, true)),
      tick_(io),
      addr_(addr),
      handler_(handler),
      sends_(sends),
      policy_(policy),
      counters_(counters) {
  if (addr.ip.is_unspecified()) enable_pktinfo(socket_.native_handle(), !addr.ip.is_v4());
  send_ = [this](protocol::ByteSpan bytes, const DatagramTarget& target) {
    send_datagram(bytes, target);
  };
  listen_target_.send = &send_;
}

DtlsListener::~DtlsListener() {
  // At shutdown the sessions go without telling the handler (it may be gone already).
  for (auto& [address, session] : sessions_)
    if (policy_.limiter != nullptr) policy_.limiter->release(address.ip);
  SSL_free(listen_ssl_);
}

void DtlsListener::start() {
  wait_readable();
  arm_tick();
}

void DtlsListener::close() noexcept {
  closed_ = true;
  boost::system::error_code ec;
  tick_.cancel();
  socket_.close(ec);
}

void DtlsListener::wait_readable() {
  socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || closed_) return;
    on_readable();
    wait_readable();
  });
}

void DtlsListener::on_readable() noexcept {
  for (int round = 0; round < 16; ++round) {
    const int n = batch_.receive(socket_.native_handle(), addr_.port);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      Datagram& d = batch_[static_cast<std::size_t>(i)];
      if (d.truncated) {
        ++counters_.dtls_datagrams_dropped;
        continue;
      }
      if (d.local.ip.is_unspecified()) d.local.ip = addr_.ip;
      on_datagram(d, d.buffer_start);
    }
    handler_.flush();
    sends_.flush();
    if (batch_.drained()) break;
  }
}

void DtlsListener::on_datagram(Datagram& d, std::uint8_t* slot) noexcept {
  auto it = sessions_.find(d.from);
  if (it == sessions_.end()) {
    on_hello(d, nullptr);
    return;
  }
  DtlsSession& session = *it->second;
  if (session.state() == DtlsSession::State::Open && looks_like_client_hello(d.payload)) {
    // The client started over from the same address (an app restart behind the same NAT
    // mapping). The old session ends only when the new ClientHello returns a cookie: a
    // spoofed one cannot close someone else's session.
    on_hello(d, &session);
    return;
  }
  const bool was_open = session.state() == DtlsSession::State::Open;
  // Decrypted records go to the slot's own memory (the ciphertext is in the BIO by then),
  // with the headroom in front that the handler may frame into.
  const protocol::MutableByteSpan scratch{slot + kHeadroom, kSlotPayload};
  session.receive(d.payload, scratch, std::chrono::steady_clock::now(),
                  [&](protocol::MutableByteSpan record) {
                    auto reply = handler_.on_client_message(session.context(), record);
                    if (!reply.empty()) session.send_to_client(reply, d.from, d.local);
                  });
  if (!was_open && session.state() == DtlsSession::State::Open) {
    ++counters_.tls_handshakes[ListenerCounters::kDtlsIndex];
    if (session.resumed()) ++counters_.tls_resumed[ListenerCounters::kDtlsIndex];
  }
  if (session.state() == DtlsSession::State::Closed) {
    if (!was_open) count_failure(session);
    close_session(session);
  }
}

bool DtlsListener::prepare_listen_ssl() noexcept {
  if (policy_.tls == nullptr) return false;
  auto current = policy_.tls->current();
  if (current == nullptr) return false;
  if (listen_ssl_ != nullptr && current == listen_contexts_) return true;
  SSL_free(listen_ssl_);  // made with certificates a reload replaced
  listen_ssl_ = nullptr;
  SSL* ssl = SSL_new(current->dtls());
  BIO* read_bio = BIO_new(BIO_s_mem());
  BIO* write_bio = new_datagram_bio(&listen_target_);
  if (ssl == nullptr || read_bio == nullptr || write_bio == nullptr) {
    SSL_free(ssl);
    BIO_free(read_bio);
    BIO_free(write_bio);
    ERR_clear_error();
    return false;
  }
  BIO_set_mem_eof_return(read_bio, -1);  // empty means "wait for the next datagram"
  SSL_set_bio(ssl, read_bio, write_bio);
  SSL_set_accept_state(ssl);
  listen_ssl_ = ssl;
  listen_read_bio_ = read_bio;
  listen_contexts_ = std::move(current);
  return true;
}

void DtlsListener::on_hello(const Datagram& d, DtlsSession* replaced) noexcept {
  if (!looks_like_client_hello(d.payload) || !prepare_listen_ssl()) {
    ++counters_.dtls_datagrams_dropped;
    return;
  }
  BIO_write(listen_read_bio_, d.payload.data(), static_cast<int>(d.payload.size()));
  listen_target_.to = d.from;
  listen_target_.local = d.local;
  listen_target_.written = 0;
  tls::set_cookie_peer(listen_ssl_, &d.from);
  BIO_ADDR* unused = BIO_ADDR_new();
  const int verified = DTLSv1_listen(listen_ssl_, unused);
  BIO_ADDR_free(unused);
  tls::set_cookie_peer(listen_ssl_, nullptr);
  (void)BIO_reset(listen_read_bio_);  // whatever DTLSv1_listen left unread
  if (verified <= 0) {
    ERR_clear_error();
    if (listen_target_.written > 0) {
      ++counters_.dtls_hello_verify_sent;
    } else {
      ++counters_.dtls_datagrams_dropped;
    }
    if (verified < 0) {  // a fatal error leaves the SSL unusable: start afresh
      SSL_free(listen_ssl_);
      listen_ssl_ = nullptr;
    }
    return;
  }
  // The client returned its cookie: it owns this address. Now it may cost a session.
  if (replaced != nullptr) close_session(*replaced);
  if (policy_.limiter != nullptr) {
    const auto verdict = policy_.limiter->acquire(d.from.ip);
    if (verdict != ConnectionLimits::Verdict::Ok) {
      ++(verdict == ConnectionLimits::Verdict::PerSource ? counters_.dtls_refused_per_source
         : verdict == ConnectionLimits::Verdict::Total   ? counters_.dtls_refused_total
                                                         : counters_.dtls_refused_rate);
      SSL_free(listen_ssl_);
      listen_ssl_ = nullptr;
      return;
    }
  }
  SSL* ssl = std::exchange(listen_ssl_, nullptr);
  const ClientContext ctx{d.from, d.local, Transport::Dtls, nullptr};
  try {
    auto session = std::make_unique<DtlsSession>(ssl, listen_read_bio_, ctx, send_,
                                                 std::move(listen_contexts_),
                                                 std::chrono::steady_clock::now());
    DtlsSession& s = *session;
    sessions_.emplace(d.from, std::move(session));
    s.drive_handshake();  // ServerHello ... ServerHelloDone
    if (s.state() == DtlsSession::State::Closed) {
      count_failure(s);
      close_session(s);
    }
  } catch (const std::bad_alloc&) {
    SSL_free(ssl);
    if (policy_.limiter != nullptr) policy_.limiter->release(d.from.ip);
  }
  listen_contexts_.reset();
}

void DtlsListener::count_failure(const DtlsSession& s) noexcept {
  ++counters_.tls_handshake_failures[ListenerCounters::kDtlsIndex]
                                    [static_cast<std::size_t>(s.failure())];
}

void DtlsListener::close_session(DtlsSession& s) noexcept {
  const protocol::TransportAddress address = s.context().client;  // s goes with the erase
  s.close();                                                      // close_notify when it was open
  handler_.on_connection_closed(s.context());                     // its allocation, if it has one
  if (policy_.limiter != nullptr) policy_.limiter->release(address.ip);
  sessions_.erase(address);
}

void DtlsListener::send_datagram(protocol::ByteSpan bytes, const DatagramTarget& target) noexcept {
  const protocol::IpAddress* source = addr_.ip.is_unspecified() ? &target.local.ip : nullptr;
  if (bytes.size() <= kSlotPayload) {
    sends_.enqueue(socket_.native_handle(), bytes, target.to, source);
    return;
  }
  // A record of a full relay slot plus DTLS overhead: larger than a batch slot, sent alone.
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(target.to, ss);
  if (::sendto(socket_.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT,
               reinterpret_cast<const sockaddr*>(&ss), len) < 0)
    ++counters_.tcp_write_dropped;
}

void DtlsListener::arm_tick() {
  tick_.expires_after(kTick);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !closed_) on_tick();
  });
}

void DtlsListener::on_tick() noexcept {
  const auto now = std::chrono::steady_clock::now();
  std::vector<DtlsSession*> ended;
  for (auto& [address, session] : sessions_) {
    DtlsSession& s = *session;
    if (s.state() == DtlsSession::State::Handshaking) {
      if (now >= s.opened() + policy_.handshake_timeout) s.time_out();
      s.on_tick();  // retransmits a lost flight; too many make it a timeout
      if (s.state() == DtlsSession::State::Closed) {
        count_failure(s);
        ended.push_back(&s);
      }
    } else if (now >= s.last_seen() + policy_.idle_timeout) {
      ++counters_.dtls_closed_idle_timeout;
      ended.push_back(&s);
    }
  }
  for (DtlsSession* s : ended) close_session(*s);
  sends_.flush();
  arm_tick();
}

}  // namespace turnd::server::io
