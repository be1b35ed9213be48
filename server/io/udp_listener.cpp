#include "server/io/udp_listener.hpp"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/socket_base.hpp>

#include "server/io/socket_address.hpp"
#include "server/io/socket_options.hpp"

namespace turnd::server::io {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
/// Larger kernel buffers absorb bursts (a browser's key frame, a flood of Binding checks).
void enlarge_buffers(int fd) {
  int size = 4 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}
}  // namespace

std::optional<udp::socket> try_open_udp_socket(asio::io_context& io,
                                               const protocol::TransportAddress& addr, bool reuse,
                                               boost::system::error_code& ec) {
  udp::socket s{io};
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(addr, ss);
  udp::endpoint ep;
  std::memcpy(ep.data(), &ss, len);
  // Every step reports through `ec`: EMFILE, ENFILE or ENOBUFS on open are as likely as
  // EADDRINUSE on bind, and the caller must get its port back in each case.
  s.open(ep.protocol(), ec);
  if (!ec && !addr.ip.is_v4()) s.set_option(asio::ip::v6_only(true), ec);
  if (!ec && reuse) set_reuse_port(s, ec);
  if (!ec) s.bind(ep, ec);
  if (!ec) s.non_blocking(true, ec);
  if (ec) return std::nullopt;
  return s;
}

udp::socket open_udp_socket(asio::io_context& io, const protocol::TransportAddress& addr,
                            bool reuse) {
  boost::system::error_code ec;
  auto s = try_open_udp_socket(io, addr, reuse, ec);
  if (!s) throw std::system_error(ec, "cannot bind UDP " + addr.to_string());
  return std::move(*s);
}

UdpListener::UdpListener(asio::io_context& io, const protocol::TransportAddress& addr,
                         MessageHandler& handler, SendBatch& sends, DatagramCounters& counters,
                         bool gro)
    : socket_(open_udp_socket(io, addr, true)),
      addr_(addr),
      handler_(handler),
      sends_(sends),
      batch_(&counters, gro) {
  enlarge_buffers(socket_.native_handle());
  batch_.prepare_socket(socket_.native_handle());
  // Only a wildcard bind needs to learn which local address a datagram was sent to (so the
  // answer leaves from it); a specific bind knows, and skips the per-datagram control message.
  if (addr.ip.is_unspecified()) enable_pktinfo(socket_.native_handle(), !addr.ip.is_v4());
}

void UdpListener::start() { wait_readable(); }

void UdpListener::wait_readable() {
  socket_.async_wait(udp::socket::wait_read, [this](const boost::system::error_code& ec) {
    if (ec) return;  // socket closed at shutdown
    on_readable();
    wait_readable();
  });
}

void UdpListener::on_readable() noexcept {
  // Bounded rounds so one busy socket cannot starve the shard's other sockets and timers.
  for (int round = 0; round < 16; ++round) {
    const int n = batch_.receive(socket_.native_handle(), addr_.port);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      Datagram& d = batch_[static_cast<std::size_t>(i)];
      if (d.truncated) continue;
      if (d.local.ip.is_unspecified()) d.local.ip = addr_.ip;
      const ClientContext ctx{d.from, d.local, Transport::Udp, this};
      auto reply = handler_.on_client_message(ctx, d.payload);
      if (!reply.empty()) send_to_client(reply, d.from, d.local);
    }
    sends_.flush();
    if (batch_.drained()) break;
  }
}

void UdpListener::send_to_client(protocol::ByteSpan bytes, const protocol::TransportAddress& client,
                                 const protocol::TransportAddress& local) noexcept {
  // With a wildcard bind, answer from the address the client sent to.
  const protocol::IpAddress* source = addr_.ip.is_unspecified() ? &local.ip : nullptr;
  sends_.enqueue(socket_.native_handle(), bytes, client, source);
}

}  // namespace turnd::server::io
