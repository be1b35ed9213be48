#include "server/relay/relay_socket.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/v6_only.hpp>
#include <utility>

#include "server/io/socket_address.hpp"
#include "server/io/socket_options.hpp"
#include "server/io/udp_listener.hpp"

namespace turnd::server::relay {

namespace {
/// A relay port taken from the pool, given back on every path that does not keep it.
class PortLease {
 public:
  PortLease(RelayPortPool& pool, std::uint16_t port) noexcept : pool_(pool), port_(port) {}
  ~PortLease() {
    if (port_ != 0) pool_.give_back(port_);
  }
  PortLease(const PortLease&) = delete;
  PortLease& operator=(const PortLease&) = delete;
  std::uint16_t port() const noexcept { return port_; }
  std::uint16_t keep() noexcept { return std::exchange(port_, 0); }

 private:
  RelayPortPool& pool_;
  std::uint16_t port_;
};

/// Binds whatever `try_bind(address, ec)` makes to a port of the pool (the requested one, or
/// one the pool picks). A port can be taken by another process on the host: a few are tried
/// before giving up. Any other failure (EMFILE, ENFILE, ENOBUFS...) will not go away by trying
/// another port.
template <class TryBind>
auto bind_relay_port(RelayPortPool& ports, const protocol::IpAddress& ip, std::uint16_t port,
                     bool even, Counter& failures, TryBind&& try_bind)
    -> decltype(try_bind(protocol::TransportAddress{},
                         std::declval<boost::system::error_code&>())) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::optional<std::uint16_t> taken = port;
    if (port == 0) taken = ports.take(even);
    if (!taken) break;  // the range is exhausted
    PortLease lease{ports, *taken};
    const protocol::TransportAddress bound{ip, lease.port()};
    boost::system::error_code ec;
    auto made = try_bind(bound, ec);
    if (made) {
      lease.keep();
      return made;
    }
    if (port != 0 || ec != boost::asio::error::address_in_use) {
      if (ec != boost::asio::error::address_in_use)
        spdlog::warn("relay socket on {} failed: {}", ip.to_string(), ec.message());
      break;
    }
  }
  ++failures;
  return std::nullopt;
}

void share_port(boost::asio::ip::tcp::acceptor& a, boost::system::error_code& ec) {
  a.set_option(boost::asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) io::set_reuse_port(a, ec);
}
}  // namespace

std::optional<RelayEndpoint> open_relay_socket(boost::asio::io_context& io, RelayPortPool& ports,
                                               const OpenRequest& request, Counter& failures) {
  return bind_relay_port(ports, request.ip, request.port, request.even, failures,
                         [&](const protocol::TransportAddress& bound,
                             boost::system::error_code& ec) -> std::optional<RelayEndpoint> {
                           auto socket = io::try_open_udp_socket(io, bound, false, ec);
                           if (!socket) return std::nullopt;
                           if (request.dont_fragment && request.ip.is_v4()) {
                             int mode = IP_PMTUDISC_DO;
                             ::setsockopt(socket->native_handle(), IPPROTO_IP, IP_MTU_DISCOVER,
                                          &mode, sizeof mode);
                           }
                           RelayEndpoint r{std::move(*socket)};
                           r.bound = bound;
                           r.advertised = bound;
                           return r;
                         });
}

std::optional<TcpRelayEndpoint> open_tcp_relay_socket(boost::asio::io_context& io,
                                                      RelayPortPool& ports,
                                                      const protocol::IpAddress& ip,
                                                      Counter& failures) {
  using boost::asio::ip::tcp;
  return bind_relay_port(ports, ip, 0, false, failures,
                         [&](const protocol::TransportAddress& bound,
                             boost::system::error_code& ec) -> std::optional<TcpRelayEndpoint> {
                           const tcp::endpoint ep = io::to_tcp_endpoint(bound);
                           tcp::acceptor acceptor{io};
                           acceptor.open(ep.protocol(), ec);
                           if (!ec && !ip.is_v4())
                             acceptor.set_option(boost::asio::ip::v6_only(true), ec);
                           if (!ec) share_port(acceptor, ec);
                           if (!ec) acceptor.bind(ep, ec);
                           if (!ec) acceptor.listen(64, ec);
                           if (ec) return std::nullopt;
                           RelayEndpoint r{boost::asio::ip::udp::socket{io}};
                           r.bound = bound;
                           r.advertised = bound;
                           return TcpRelayEndpoint{std::move(r), std::move(acceptor)};
                         });
}

boost::asio::ip::tcp::socket open_tcp_connect_socket(boost::asio::io_context& io,
                                                     const protocol::TransportAddress& relayed,
                                                     boost::system::error_code& ec) {
  using boost::asio::ip::tcp;
  const tcp::endpoint ep = io::to_tcp_endpoint(relayed);
  tcp::socket socket{io};
  socket.open(ep.protocol(), ec);
  if (!ec && !relayed.ip.is_v4()) socket.set_option(boost::asio::ip::v6_only(true), ec);
  if (!ec) socket.set_option(tcp::socket::reuse_address(true), ec);
  if (!ec) io::set_reuse_port(socket, ec);
  if (!ec) socket.bind(ep, ec);
  return socket;
}

void close_relay_socket(RelayEndpoint& relay, RelayPortPool& ports) noexcept {
  boost::system::error_code ec;
  relay.socket.close(ec);
  ports.give_back(relay.bound.port);
}

}  // namespace turnd::server::relay
