#include "server/relay/relay_socket.hpp"

#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <utility>

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
}  // namespace

std::optional<RelayEndpoint> open_relay_socket(boost::asio::io_context& io, RelayPortPool& ports,
                                               const OpenRequest& request, Counter& failures) {
  // A port can be taken by another process on the host: try a few before giving up. Any other
  // failure (EMFILE, ENFILE, ENOBUFS...) will not go away by trying another port.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::optional<std::uint16_t> taken = request.port;
    if (request.port == 0) taken = ports.take(request.even);
    if (!taken) break;  // the range is exhausted
    PortLease lease{ports, *taken};
    const protocol::TransportAddress bound{request.ip, lease.port()};
    boost::system::error_code ec;
    auto socket = io::try_open_udp_socket(io, bound, false, ec);
    if (socket) {
      if (request.dont_fragment && request.ip.is_v4()) {
        int mode = IP_PMTUDISC_DO;
        ::setsockopt(socket->native_handle(), IPPROTO_IP, IP_MTU_DISCOVER, &mode, sizeof mode);
      }
      RelayEndpoint r{std::move(*socket)};
      r.bound = bound;
      r.advertised = bound;
      lease.keep();
      return r;
    }
    if (request.port != 0 || ec != boost::asio::error::address_in_use) {
      if (ec != boost::asio::error::address_in_use)
        spdlog::warn("relay socket on {} failed: {}", request.ip.to_string(), ec.message());
      break;
    }
  }
  ++failures;
  return std::nullopt;
}

void close_relay_socket(RelayEndpoint& relay, RelayPortPool& ports) noexcept {
  boost::system::error_code ec;
  relay.socket.close(ec);
  ports.give_back(relay.bound.port);
}

}  // namespace turnd::server::relay
