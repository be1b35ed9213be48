#include "server/io/tcp_listener.hpp"

#include <netinet/tcp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/system_error.hpp>
#include <cstring>

#include "protocol/channel_data.hpp"
#include "protocol/message_view.hpp"
#include "protocol/stream_framer.hpp"
#include "server/io/socket_address.hpp"
#include "server/io/socket_options.hpp"

namespace turnd::server::io {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
protocol::TransportAddress endpoint_address(const tcp::endpoint& ep) {
  return from_tcp_endpoint(ep);
}

/// After a burst to a slow client, a write buffer larger than this is given back.
constexpr std::size_t kKeptWriteCapacity = 16 * 1024;
}  // namespace

TcpConnection::TcpConnection(tcp::socket socket, MessageHandler& handler,
                             const protocol::TransportAddress& listen_addr,
                             const StreamPolicy& policy, ListenerCounters& counters, bool counted,
                             tls::TlsContextsPtr tls)
    : socket_(std::move(socket)),
      timer_(socket_.get_executor()),
      handler_(handler),
      policy_(policy),
      counters_(counters),
      in_(kReadBuffer),
      counted_(counted) {
  boost::system::error_code ec;
  ctx_.client = endpoint_address(socket_.remote_endpoint(ec));
  ctx_.local = endpoint_address(socket_.local_endpoint(ec));
  if (ctx_.local.ip.is_unspecified()) ctx_.local = listen_addr;
  ctx_.transport = Transport::Tcp;
  ctx_.sink = this;
  ctx_.stream = this;
  socket_.set_option(tcp::no_delay(true), ec);
  handshake_done_ = tls == nullptr;
  if (tls != nullptr) {
    // OpenSSL reads and writes the descriptor itself and must never block the shard.
    socket_.non_blocking(true, ec);
    tls_ = std::make_unique<tls::TlsStream>(tls->tls(), socket_.native_handle());
    tls_contexts_ = std::move(tls);
    ctx_.transport = Transport::Tls;
  }
}

TcpConnection::~TcpConnection() {
  // Only the limiter (shared, outlives every shard) is touched here: at shutdown a connection
  // is destroyed with its io_context, after the shard's message handler and counters.
  if (counted_ && policy_.limiter != nullptr) policy_.limiter->release(ctx_.client.ip);
}

void TcpConnection::start() { asio::co_spawn(socket_.get_executor(), read_loop(), asio::detached); }

asio::awaitable<void> TcpConnection::read_loop() {
  auto self = shared_from_this();  // keeps the connection alive while the loop runs
  boost::system::error_code ec;
  opened_ = last_frame_ = std::chrono::steady_clock::now();
  arm_timer();
  if (tls_) {
    if (co_await tls_handshake()) co_await tls_read_loop();
    close();
    co_return;
  }
  while (!closed_) {
    const std::size_t n =
        co_await socket_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) break;
    in_len_ += n;
    process_frames();
    handler_.flush();
  }
  close();
}

asio::awaitable<bool> TcpConnection::tls_handshake() {
  const std::size_t t = ListenerCounters::kTlsIndex;
  boost::system::error_code ec;
  for (;;) {
    const auto status = tls_->handshake();
    if (status == tls::TlsStream::Status::Ok) break;
    if (status == tls::TlsStream::Status::WantRead || status == tls::TlsStream::Status::WantWrite) {
      co_await socket_.async_wait(status == tls::TlsStream::Status::WantRead
                                      ? tcp::socket::wait_read
                                      : tcp::socket::wait_write,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec || closed_) co_return false;  // closed by the timer, which counted it
      continue;
    }
    ++counters_.tls_handshake_failures[t][static_cast<std::size_t>(tls_->failure())];
    co_return false;
  }
  handshake_done_ = true;
  tls_contexts_.reset();  // the session holds its SSL_CTX; the set may go with a reload
  ++counters_.tls_handshakes[t];
  if (tls_->resumed()) ++counters_.tls_resumed[t];
  if (!pending_.empty() && !writing_) start_write();
  co_return true;
}

asio::awaitable<void> TcpConnection::tls_read_loop() {
  boost::system::error_code ec;
  while (!closed_) {
    // Read until OpenSSL has nothing more: it may hold decrypted bytes (and, with read-ahead,
    // whole records) the socket no longer signals.
    const auto r = tls_->read({in_.data() + in_len_, in_.size() - in_len_});
    if (r.bytes > 0) {
      in_len_ += r.bytes;
      process_frames();
      continue;
    }
    // One flush of the shard's send batch per readable event, not per SSL_read: the datagrams
    // the event's frames relayed leave in one sendmmsg.
    handler_.flush();
    if (r.status != tls::TlsStream::Status::WantRead &&
        r.status != tls::TlsStream::Status::WantWrite)
      co_return;  // close_notify, reset or a TLS error
    co_await socket_.async_wait(r.status == tls::TlsStream::Status::WantRead
                                    ? tcp::socket::wait_read
                                    : tcp::socket::wait_write,
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
  }
  handler_.flush();  // closed while reading: what its frames queued still goes out
}

void TcpConnection::arm_timer() {
  // One timer per connection, re-armed lazily from the last complete frame: no timer churn
  // per frame. Until the first valid STUN message the short deadline applies, and until the
  // TLS handshake is done the handshake's if that is earlier.
  auto first_deadline = opened_ + policy_.first_message_timeout;
  if (!handshake_done_)
    first_deadline = std::min(first_deadline, opened_ + policy_.handshake_timeout);
  timer_.expires_at(validated_ ? last_frame_ + policy_.idle_timeout : first_deadline);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& e) {
    auto c = weak.lock();
    if (c && !e && !c->closed_) c->on_timer();
  });
}

void TcpConnection::on_timer() noexcept {
  const auto now = std::chrono::steady_clock::now();
  if (!handshake_done_ && now >= opened_ + policy_.handshake_timeout) {
    ++counters_.tls_handshake_failures[ListenerCounters::kTlsIndex]
                                      [static_cast<std::size_t>(tls::HandshakeFailure::Timeout)];
    close();
  } else if (!validated_ && now >= opened_ + policy_.first_message_timeout) {
    ++counters_.tcp_closed_first_message_timeout;
    close();
  } else if (validated_ && now >= last_frame_ + policy_.idle_timeout) {
    ++counters_.tcp_closed_idle_timeout;
    close();
  } else {
    arm_timer();
  }
}

std::size_t TcpConnection::skip_oversize_frame(std::size_t frame_size,
                                               std::size_t buffered) noexcept {
  const bool channel_data = protocol::looks_like_channel_data({in_.data(), buffered});
  ++(channel_data ? counters_.relay_oversize_dropped : counters_.dropped_malformed);
  skip_ = frame_size - buffered;
  return buffered;
}

void TcpConnection::process_frames() noexcept {
  std::size_t pos = 0;
  if (skip_ > 0) {  // the rest of an oversize frame: read past it
    pos = std::min(skip_, in_len_);
    skip_ -= pos;
  }
  while (!closed_ && pos < in_len_) {
    const protocol::ByteSpan rest{in_.data() + pos, in_len_ - pos};
    auto size = protocol::next_frame_size(rest);
    if (!size) {  // not STUN or ChannelData: the stream cannot be resynchronised
      ++counters_.tcp_closed_not_stun;
      close();
      return;
    }
    if (*size > in_.size()) {  // never buffered: only one relay slot would be relayed anyway
      pos += skip_oversize_frame(*size, rest.size());
      break;
    }
    if (*size == 0 || *size > rest.size()) break;
    const protocol::MutableByteSpan frame{in_.data() + pos, *size};
    if (!validated_ && protocol::looks_like_stun(frame) && protocol::MessageView::parse(frame))
      validated_ = true;
    last_frame_ = std::chrono::steady_clock::now();
    frame_end_ = pos + *size;
    auto reply = handler_.on_client_message(ctx_, frame);
    if (detached_) return;  // the frame made it a data connection of another owner
    if (!reply.empty()) send_to_client(reply, ctx_.client, ctx_.local);
    pos += *size;
  }
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
  }
}

std::unique_ptr<DetachedStream> TcpConnection::detach() noexcept {
  if (closed_ || writing_ || !pending_.empty()) return nullptr;
  try {
    auto d = std::make_unique<DetachedStream>();
    d->leftover.assign(in_.begin() + static_cast<std::ptrdiff_t>(frame_end_),
                       in_.begin() + static_cast<std::ptrdiff_t>(in_len_));
    boost::system::error_code ec;
    timer_.cancel();
    d->fd = socket_.release(ec);
    if (ec) return nullptr;
    d->tls = std::move(tls_);
    d->ctx = ctx_;
    d->ctx.sink = nullptr;
    d->ctx.stream = nullptr;
    if (counted_) d->limiter = policy_.limiter;
    counted_ = false;
    closed_ = detached_ = true;  // the loops stop; close() has nothing left to do
    in_len_ = 0;
    return d;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void TcpConnection::send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress&,
                                   const protocol::TransportAddress&) noexcept {
  if (closed_) return;
  const std::size_t queued = pending_.size() + bytes.size();
  if (queued > kMaxPendingWrite ||
      (queued > kMaxPendingWriteUnauthenticated && !handler_.has_allocation(ctx_))) {
    ++counters_.tcp_write_dropped;
    return;
  }
  try {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  } catch (const std::bad_alloc&) {
    ++counters_.tcp_write_dropped;
    return;
  }
  if (!writing_ && handshake_done_) start_write();
}

void TcpConnection::start_write() {
  if (pending_.empty() || closed_) return;
  if (tls_) {
    tls_write();
    return;
  }
  writing_ = true;
  std::swap(pending_, inflight_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(inflight_),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      self->inflight_.clear();
                      if (self->inflight_.capacity() > kKeptWriteCapacity)
                        std::vector<std::uint8_t>{}.swap(self->inflight_);
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->start_write();
                    });
}

// Writes inflight_ then pending_ through TLS until both are empty or the socket is full; then
// waits for it to drain. Partial writes resume at write_pos_ (SSL_MODE_ENABLE_PARTIAL_WRITE).
void TcpConnection::tls_write() noexcept {
  while (!closed_) {
    if (write_pos_ == inflight_.size()) {
      inflight_.clear();
      write_pos_ = 0;
      if (inflight_.capacity() > kKeptWriteCapacity) std::vector<std::uint8_t>{}.swap(inflight_);
      if (pending_.empty()) {
        writing_ = false;
        return;
      }
      std::swap(pending_, inflight_);
    }
    const auto r = tls_->write({inflight_.data() + write_pos_, inflight_.size() - write_pos_});
    if (r.bytes > 0) {
      write_pos_ += r.bytes;
      continue;
    }
    if (r.status != tls::TlsStream::Status::WantRead &&
        r.status != tls::TlsStream::Status::WantWrite) {
      close();
      return;
    }
    writing_ = true;
    socket_.async_wait(r.status == tls::TlsStream::Status::WantWrite ? tcp::socket::wait_write
                                                                     : tcp::socket::wait_read,
                       [self = shared_from_this()](const boost::system::error_code& ec) {
                         if (ec || self->closed_) return;
                         self->tls_write();
                       });
    return;
  }
}

void TcpConnection::close() noexcept {
  if (closed_) return;
  closed_ = true;
  handler_.on_connection_closed(ctx_);
  boost::system::error_code ec;
  if (tls_ && handshake_done_) tls_->shutdown();
  timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  if (counted_ && policy_.limiter != nullptr) policy_.limiter->release(ctx_.client.ip);
  counted_ = false;
  std::vector<std::uint8_t>{}.swap(pending_);
}

TcpListener::TcpListener(asio::io_context& io, const protocol::TransportAddress& addr,
                         MessageHandler& handler, StreamPolicy policy, ListenerCounters& counters)
    : acceptor_(io), addr_(addr), handler_(handler), policy_(policy), counters_(counters) {
  const tcp::endpoint ep = to_tcp_endpoint(addr);
  acceptor_.open(ep.protocol());
  if (!addr.ip.is_v4()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  boost::system::error_code ec;
  set_reuse_port(acceptor_, ec);
  if (ec) throw boost::system::system_error(ec, "set_option");
  acceptor_.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot bind TCP " + addr.to_string());
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "cannot listen on TCP " + addr.to_string());
}

void TcpListener::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

void TcpListener::close() noexcept {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

std::optional<protocol::IpAddress> TcpListener::admit(tcp::socket& socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;  // already reset by the peer
  const protocol::IpAddress source = endpoint_address(remote).ip;
  if (policy_.limiter == nullptr) return source;
  switch (policy_.limiter->acquire(source)) {
    case ConnectionLimits::Verdict::Ok:
      return source;
    case ConnectionLimits::Verdict::PerSource:
      ++counters_.tcp_refused_per_source;
      return std::nullopt;
    case ConnectionLimits::Verdict::Total:
      ++counters_.tcp_refused_total;
      return std::nullopt;
    case ConnectionLimits::Verdict::Rate:
      ++counters_.tcp_refused_rate;
      return std::nullopt;
  }
  return std::nullopt;
}

asio::awaitable<void> TcpListener::accept_loop() {
  boost::system::error_code ec;
  while (acceptor_.is_open()) {
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      asio::steady_timer t{acceptor_.get_executor(), std::chrono::milliseconds(50)};
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    const auto source = admit(socket);
    if (!source) {  // over a limit: closed at once, before it costs a buffer
      socket.close(ec);
      continue;
    }
    std::shared_ptr<TcpConnection> connection;
    try {
      // A TLS listener's new connection takes the certificates current now; a reload later
      // leaves it on these.
      tls::TlsContextsPtr contexts = policy_.tls != nullptr ? policy_.tls->current() : nullptr;
      if (policy_.tls != nullptr && contexts == nullptr) throw std::runtime_error("no TLS");
      connection =
          std::make_shared<TcpConnection>(std::move(socket), handler_, addr_, policy_, counters_,
                                          policy_.limiter != nullptr, std::move(contexts));
    } catch (const std::exception&) {  // out of memory: the socket closed with the attempt
      if (policy_.limiter != nullptr) policy_.limiter->release(*source);
      continue;
    }
    connection->start();
  }
}

}  // namespace turnd::server::io
