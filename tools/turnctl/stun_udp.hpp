// A blocking UDP socket and STUN Binding transactions with RFC 8489 §6.2.1 retransmissions,
// for the client side of `turnctl nat-type`. One thread, poll(2) with deadlines; no Asio.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/message_view.hpp"
#include "protocol/transport_address.hpp"
#include "tools/turnctl/nat_behavior.hpp"

namespace turnd::turnctl::nat {

using Clock = std::chrono::steady_clock;

/// When to (re)send a request: 0, RTO, 3 RTO, 7 RTO, ... (RFC 8489 §6.2.1, RTO doubling, at most
/// `max_sends` = Rc sends), every one before `timeout`. The last wait runs to `timeout`.
std::vector<std::chrono::milliseconds> send_times(std::chrono::milliseconds rto,
                                                  std::chrono::milliseconds timeout,
                                                  int max_sends = 7);

/// A fresh random transaction id (RFC 8489 §6: 96 bits, uniform).
protocol::TransactionId random_transaction_id();

/// TransportAddress <-> sockaddr for the sockets of nat-type and probe.
socklen_t to_sockaddr(const protocol::TransportAddress& a, sockaddr_storage& ss);
protocol::TransportAddress from_sockaddr(const sockaddr_storage& ss);

/// CHANGE-REQUEST flags (RFC 5780 §7.2).
inline constexpr std::uint32_t kChangeIp = 0x4;
inline constexpr std::uint32_t kChangePort = 0x2;

/// A Binding request with a fresh random transaction id, optionally with CHANGE-REQUEST.
struct BindingRequest {
  protocol::TransactionId id{};
  std::vector<std::uint8_t> bytes;
};
BindingRequest make_binding_request(std::optional<std::uint32_t> change_flags);

struct Datagram {
  std::vector<std::uint8_t> bytes;
  protocol::TransportAddress from;
};

class UdpSocket {
 public:
  /// Binds to `local` (port 0: any); throws std::runtime_error with the reason.
  explicit UdpSocket(const protocol::TransportAddress& local);
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;

  protocol::TransportAddress local_address() const;
  /// Throws std::runtime_error when the kernel refuses (no route, ...).
  void send_to(protocol::ByteSpan bytes, const protocol::TransportAddress& to);
  /// The next datagram before `deadline`, or nullopt. ICMP errors are ignored (unconnected).
  std::optional<Datagram> receive(Clock::time_point deadline);

 private:
  int fd_ = -1;
};

/// The source address the kernel picks for packets to `to` (a connected UDP socket's name).
protocol::IpAddress source_address_for(const protocol::TransportAddress& to);

/// Resolves "HOST:PORT", "HOST" (port 3478), "[V6]:PORT"; throws std::invalid_argument when
/// the text is not that, std::runtime_error when the name does not resolve.
protocol::TransportAddress resolve_server(const std::string& text);

/// Sends `request` from `from` to `to` on the RFC 8489 §6.2.1 schedule (RTO 500 ms) and hands
/// every datagram `on` receives to `match` until it returns true (then true) or `timeout` is
/// over (then false).
template <class Match>
bool retransmit(protocol::ByteSpan request, UdpSocket& from, const protocol::TransportAddress& to,
                UdpSocket& on, std::chrono::milliseconds timeout, Match match) {
  const auto start = Clock::now();
  const auto sends = send_times(std::chrono::milliseconds{500}, timeout);
  for (std::size_t i = 0; i < sends.size(); ++i) {
    from.send_to(request, to);
    const auto until = start + (i + 1 < sends.size() ? sends[i + 1] : timeout);
    while (auto d = on.receive(until))
      if (match(*d)) return true;
  }
  return false;
}

/// One Binding transaction: the answer and the address it came from, or nullopt when none
/// arrived within `timeout`.
struct Exchange {
  BindingAnswer answer;
  protocol::TransportAddress from;
};
std::optional<Exchange> binding_transaction(UdpSocket& sock, const protocol::TransportAddress& to,
                                            std::optional<std::uint32_t> change_flags,
                                            std::chrono::milliseconds timeout);

/// RFC 5780 §4.5: `from` sends Binding requests to `target` (the mapped address of `to`); true
/// when one of them arrives on `to` within `timeout`.
bool hairpin_arrives(UdpSocket& from, UdpSocket& to, const protocol::TransportAddress& target,
                     std::chrono::milliseconds timeout);

}  // namespace turnd::turnctl::nat
