#include "server/io/stream_bridge.hpp"

#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>

namespace turnd::server::io {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
tcp::socket adopt(asio::io_context& io, DetachedStream& d) {
  const bool v6 = !d.ctx.client.ip.is_v4();
  return tcp::socket(io, v6 ? tcp::v6() : tcp::v4(), d.release_fd());
}

/// Bytes a direction holds for its writer: exactly `first` (nothing allocated when empty).
StreamBridge::Buffer holding(protocol::ByteSpan first) {
  StreamBridge::Buffer b;
  if (first.empty()) return b;
  b.size = first.size();
  b.data.reset(new std::uint8_t[b.size]);
  std::copy(first.begin(), first.end(), b.data.get());
  return b;
}

/// The chunk just read, on its way to the other side. One per shard thread: both directions of
/// every bridge of the shard read into it and write it on with no suspension in between, and
/// what a writer does not take is copied out (holding) before the coroutine waits.
std::uint8_t* scratch() {
  thread_local std::array<std::uint8_t, StreamBridge::kBufferSize> bytes;
  return bytes.data();
}
}  // namespace

namespace {
/// A TLS result in the bridge's terms (Closed: close_notify or EOF).
StreamBridge::Side::Result from_tls(const tls::TlsStream::Result& r) noexcept {
  using Io = StreamBridge::Side::Io;
  switch (r.status) {
    case tls::TlsStream::Status::Ok:
      return {r.bytes, Io::Ok};
    case tls::TlsStream::Status::WantRead:
      return {0, Io::WantRead};
    case tls::TlsStream::Status::WantWrite:
      return {0, Io::WantWrite};
    case tls::TlsStream::Status::Closed:
      return {0, Io::End};
    case tls::TlsStream::Status::Failed:
      return {0, Io::Failed};
  }
  return {0, Io::Failed};
}
}  // namespace

StreamBridge::Side::Result StreamBridge::Side::read(protocol::MutableByteSpan out) noexcept {
  if (tls) return from_tls(tls->read(out));
  const ssize_t n = ::recv(socket.native_handle(), out.data(), out.size(), 0);
  if (n > 0) return {static_cast<std::size_t>(n), Io::Ok};
  if (n == 0) return {0, Io::End};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {0, Io::WantRead};
  return {0, Io::Failed};
}

StreamBridge::Side::Result StreamBridge::Side::write(protocol::ByteSpan in) noexcept {
  if (tls) {
    const Result r = from_tls(tls->write(in));
    return r.status == Io::End ? Result{0, Io::Failed} : r;  // a write cannot end cleanly
  }
  const ssize_t n = ::send(socket.native_handle(), in.data(), in.size(), MSG_NOSIGNAL);
  if (n >= 0) return {static_cast<std::size_t>(n), Io::Ok};
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return {0, Io::WantWrite};
  return {0, Io::Failed};
}

void StreamBridge::Side::shutdown_write() noexcept {
  if (tls) tls->shutdown();  // close_notify, if the socket takes it now
  ::shutdown(socket.native_handle(), SHUT_WR);
}

StreamBridge::StreamBridge(asio::io_context& io, std::unique_ptr<DetachedStream> client,
                           tcp::socket peer, std::vector<std::uint8_t> first_to_client,
                           Counter& to_peer, Counter& from_peer)
    : client_{adopt(io, *client), std::move(client->tls)},
      peer_{std::move(peer), nullptr},
      linger_(io),
      client_owner_(std::move(client)),
      to_peer_(to_peer),
      from_peer_(from_peer) {
  // What each direction writes first: the client's bytes read past ConnectionBind, and the
  // ConnectionBind response.
  to_peer_held_ = holding(client_owner_->leftover);
  client_owner_->leftover = {};
  to_client_held_ = holding(first_to_client);
  boost::system::error_code ec;
  client_.socket.non_blocking(true, ec);
  peer_.socket.non_blocking(true, ec);
  client_.socket.set_option(tcp::no_delay(true), ec);
  peer_.socket.set_option(tcp::no_delay(true), ec);
}

StreamBridge::~StreamBridge() = default;

void StreamBridge::start(OnClosed on_closed) {
  on_closed_ = std::move(on_closed);
  auto self = shared_from_this();
  asio::co_spawn(
      peer_.socket.get_executor(),
      [self]() {
        return self->pump(self->client_, self->peer_, self->to_peer_held_, true, self->to_peer_,
                          self->totals_.to_peer);
      },
      asio::detached);
  asio::co_spawn(
      peer_.socket.get_executor(),
      [self]() {
        return self->pump(self->peer_, self->client_, self->to_client_held_, false,
                          self->from_peer_, self->totals_.from_peer);
      },
      asio::detached);
}

asio::awaitable<bool> StreamBridge::wait(Side& side, Side::Io why) {
  boost::system::error_code ec;
  co_await side.socket.async_wait(
      why == Side::Io::WantRead ? tcp::socket::wait_read : tcp::socket::wait_write,
      asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

// One direction, until the source ends (passed on as a FIN) or either side fails (both close):
// read a chunk into the shard's scratch and write it straight on. Only what the writer does not
// take at once is copied into `held` (exactly that many bytes), written out while the source
// is not read, and freed: a pair that keeps up, or is idle, holds no buffer at all.
asio::awaitable<void> StreamBridge::pump(Side& from, Side& to, Buffer& held, bool count_held,
                                         Counter& counter, std::uint64_t& total) {
  auto self = shared_from_this();  // alive until both directions are done
  const auto count = [&](std::size_t n) {
    counter.add(n);
    total += n;
  };
  for (;;) {
    if (held.size > 0) {
      for (std::size_t off = 0; off < held.size;) {
        const auto w = to.write({held.data.get() + off, held.size - off});
        if (w.status == Side::Io::Ok) {
          off += w.bytes;
        } else if ((w.status != Side::Io::WantRead && w.status != Side::Io::WantWrite) ||
                   !co_await wait(to, w.status) || closed_) {
          direction_done(true);
          co_return;
        }
      }
      if (count_held) count(held.size);
      held = {};
    }
    count_held = true;
    std::uint8_t* chunk = scratch();
    std::size_t len = 0;
    while (len == 0) {
      if (closed_) co_return;
      const auto r = from.read({chunk, kBufferSize});
      if (r.status == Side::Io::Ok) {
        len = r.bytes;
      } else if (r.status == Side::Io::End) {
        to.shutdown_write();
        direction_done(false);
        co_return;
      } else if ((r.status != Side::Io::WantRead && r.status != Side::Io::WantWrite) ||
                 !co_await wait(from, r.status)) {
        direction_done(true);
        co_return;
      }
    }
    std::size_t off = 0;
    while (off < len) {
      const auto w = to.write({chunk + off, len - off});
      if (w.status == Side::Io::Ok) {
        off += w.bytes;
      } else if (w.status == Side::Io::WantRead || w.status == Side::Io::WantWrite) {
        break;  // the rest is held below and written after a wait
      } else {
        direction_done(true);
        co_return;
      }
    }
    count(off);
    held = holding({chunk + off, len - off});
  }
}

void StreamBridge::direction_done(bool failed) noexcept {
  if (closed_) return;
  if (!failed && --directions_left_ > 0) {  // half closed: the other way may finish its bytes
    linger_.expires_after(kHalfCloseLinger);
    linger_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->direction_done(true);
    });
    return;
  }
  auto done = std::move(on_closed_);
  close();
  if (done) done(totals_);
}

void StreamBridge::close() noexcept {
  if (closed_) return;
  closed_ = true;
  on_closed_ = nullptr;
  boost::system::error_code ec;
  client_.socket.close(ec);  // wakes the waits of both directions with an error
  peer_.socket.close(ec);
  client_owner_.reset();  // gives its connection-limit slot back
  linger_.cancel();
}

}  // namespace turnd::server::io
