// Conversions between sockaddr and protocol::TransportAddress (the only place that knows both).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstring>

#include "protocol/transport_address.hpp"

namespace turnd::server::io {

/// IPv4-mapped IPv6 source addresses (from a dual-stack socket) are returned as IPv4.
inline protocol::TransportAddress from_sockaddr(const sockaddr_storage& ss) noexcept {
  protocol::TransportAddress a;
  if (ss.ss_family == AF_INET) {
    const auto& s4 = reinterpret_cast<const sockaddr_in&>(ss);
    a.ip.family = protocol::Family::V4;
    std::memcpy(a.ip.bytes.data(), &s4.sin_addr, 4);
    a.port = ntohs(s4.sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto& s6 = reinterpret_cast<const sockaddr_in6&>(ss);
    a.ip.family = protocol::Family::V6;
    std::memcpy(a.ip.bytes.data(), &s6.sin6_addr, 16);
    a.ip = a.ip.unmapped();
    a.port = ntohs(s6.sin6_port);
  }
  return a;
}

/// Returns the sockaddr length used.
inline socklen_t to_sockaddr(const protocol::TransportAddress& a, sockaddr_storage& ss) noexcept {
  std::memset(&ss, 0, sizeof ss);
  if (a.ip.is_v4()) {
    auto& s4 = reinterpret_cast<sockaddr_in&>(ss);
    s4.sin_family = AF_INET;
    std::memcpy(&s4.sin_addr, a.ip.bytes.data(), 4);
    s4.sin_port = htons(a.port);
    return sizeof(sockaddr_in);
  }
  auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
  s6.sin6_family = AF_INET6;
  std::memcpy(&s6.sin6_addr, a.ip.bytes.data(), 16);
  s6.sin6_port = htons(a.port);
  return sizeof(sockaddr_in6);
}

/// The same conversions for Asio's TCP endpoints (listeners, relay sockets of RFC 6062).
inline boost::asio::ip::tcp::endpoint to_tcp_endpoint(
    const protocol::TransportAddress& a) noexcept {
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(a, ss);
  boost::asio::ip::tcp::endpoint ep;
  std::memcpy(ep.data(), &ss, len);
  return ep;
}
inline protocol::TransportAddress from_tcp_endpoint(
    const boost::asio::ip::tcp::endpoint& ep) noexcept {
  sockaddr_storage ss{};
  std::memcpy(&ss, ep.data(), ep.size());
  return from_sockaddr(ss);
}

}  // namespace turnd::server::io
