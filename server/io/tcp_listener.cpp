#include "server/io/tcp_listener.hpp"

#include <netinet/tcp.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "protocol/stream_framer.hpp"
#include "server/io/socket_address.hpp"

namespace turnd::server::io {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

protocol::TransportAddress endpoint_address(const tcp::endpoint& ep) {
  sockaddr_storage ss{};
  std::memcpy(&ss, ep.data(), ep.size());
  return from_sockaddr(ss);
}
}  // namespace

TcpConnection::TcpConnection(tcp::socket socket, Dispatcher& dispatcher,
                             const protocol::TransportAddress& listen_addr)
    : socket_(std::move(socket)),
      idle_timer_(socket_.get_executor()),
      dispatcher_(dispatcher),
      in_(kInitialBuffer) {
  boost::system::error_code ec;
  ctx_.client = endpoint_address(socket_.remote_endpoint(ec));
  ctx_.local = endpoint_address(socket_.local_endpoint(ec));
  if (ctx_.local.ip.is_unspecified()) ctx_.local = listen_addr;
  ctx_.transport = Transport::Tcp;
  ctx_.sink = this;
  socket_.set_option(tcp::no_delay(true), ec);
}

void TcpConnection::start() { asio::co_spawn(socket_.get_executor(), read_loop(), asio::detached); }

asio::awaitable<void> TcpConnection::read_loop() {
  auto self = shared_from_this();  // keeps the connection alive while the loop runs
  boost::system::error_code ec;
  last_frame_ = std::chrono::steady_clock::now();
  arm_idle_timer();
  while (!closed_) {
    const std::size_t n =
        co_await socket_.async_read_some(asio::buffer(in_.data() + in_len_, in_.size() - in_len_),
                                         asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) break;
    in_len_ += n;
    process_frames();
  }
  close();
}

void TcpConnection::arm_idle_timer() {
  // One timer per connection, re-armed from the last complete frame: no timer churn per frame.
  idle_timer_.expires_at(last_frame_ + kIdleTimeout);
  idle_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& e) {
    auto c = weak.lock();
    if (!c || e || c->closed_) return;
    if (std::chrono::steady_clock::now() >= c->last_frame_ + kIdleTimeout) {
      c->close();
    } else {
      c->arm_idle_timer();
    }
  });
}

void TcpConnection::process_frames() noexcept {
  std::size_t pos = 0;
  while (!closed_ && pos < in_len_) {
    const protocol::ByteSpan rest{in_.data() + pos, in_len_ - pos};
    auto size = protocol::next_frame_size(rest);
    if (!size) {  // not STUN or ChannelData: the stream cannot be resynchronised
      close();
      return;
    }
    if (*size > in_.size()) in_.resize(*size);  // grows only for the rare large frame
    if (*size == 0 || *size > rest.size()) break;
    last_frame_ = std::chrono::steady_clock::now();
    auto reply = dispatcher_.on_client_message(ctx_, {in_.data() + pos, *size});
    if (!reply.empty()) send_to_client(reply, ctx_.client, ctx_.local);
    pos += *size;
  }
  dispatcher_.flush();
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
    in_len_ -= pos;
  }
}

void TcpConnection::send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress&,
                                   const protocol::TransportAddress&) noexcept {
  if (closed_ || pending_.size() + bytes.size() > kMaxPendingWrite) return;
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (!writing_) start_write();
}

void TcpConnection::start_write() {
  if (pending_.empty() || closed_) return;
  writing_ = true;
  std::swap(pending_, inflight_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(inflight_),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      self->inflight_.clear();
                      if (ec) {
                        self->close();
                        return;
                      }
                      self->start_write();
                    });
}

void TcpConnection::close() noexcept {
  if (closed_) return;
  closed_ = true;
  dispatcher_.on_connection_closed(this);
  boost::system::error_code ec;
  idle_timer_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

TcpListener::TcpListener(asio::io_context& io, const protocol::TransportAddress& addr,
                         Dispatcher& dispatcher)
    : acceptor_(io), addr_(addr), dispatcher_(dispatcher) {
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(addr, ss);
  tcp::endpoint ep;
  std::memcpy(ep.data(), &ss, len);
  acceptor_.open(ep.protocol());
  if (!addr.ip.is_v4()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.set_option(reuse_port(true));
  boost::system::error_code ec;
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
    std::make_shared<TcpConnection>(std::move(socket), dispatcher_, addr_)->start();
  }
}

}  // namespace turnd::server::io
