#include "tools/turnctl/stun_udp.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "protocol/message_builder.hpp"

namespace turnd::turnctl::nat {

using protocol::IpAddress;
using protocol::TransportAddress;
using std::chrono::milliseconds;

namespace {
std::string errno_text() { return std::strerror(errno); }
}  // namespace

socklen_t to_sockaddr(const TransportAddress& a, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (a.ip.is_v4()) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    s->sin_family = AF_INET;
    s->sin_port = htons(a.port);
    std::memcpy(&s->sin_addr, a.ip.bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
  s->sin6_family = AF_INET6;
  s->sin6_port = htons(a.port);
  std::memcpy(&s->sin6_addr, a.ip.bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

TransportAddress from_sockaddr(const sockaddr_storage& ss) {
  TransportAddress a;
  if (ss.ss_family == AF_INET) {
    const auto* s = reinterpret_cast<const sockaddr_in*>(&ss);
    std::array<std::uint8_t, 4> b{};
    std::memcpy(b.data(), &s->sin_addr, 4);
    a.ip = IpAddress::v4(b);
    a.port = ntohs(s->sin_port);
  } else {
    const auto* s = reinterpret_cast<const sockaddr_in6*>(&ss);
    std::array<std::uint8_t, 16> b{};
    std::memcpy(b.data(), &s->sin6_addr, 16);
    a.ip = IpAddress::v6(b).unmapped();
    a.port = ntohs(s->sin6_port);
  }
  return a;
}

namespace {

int open_socket(const IpAddress& ip) {
  const int fd = ::socket(ip.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("cannot open a UDP socket: " + errno_text());
  return fd;
}

// bind(2) or connect(2) `fd` to `a`; on failure closes `fd` and throws what + a + the reason.
void attach(int fd, const TransportAddress& a, int (*op)(int, const sockaddr*, socklen_t),
            const char* what) {
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(a, ss);
  if (op(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    throw std::runtime_error(what + a.to_string() + ": " + why);
  }
}

TransportAddress socket_name(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return from_sockaddr(ss);
}

}  // namespace

std::vector<milliseconds> send_times(milliseconds rto, milliseconds timeout, int max_sends) {
  std::vector<milliseconds> out;
  milliseconds at{0};
  for (int i = 0; i < max_sends && at < timeout; ++i) {
    out.push_back(at);
    at += rto;
    rto *= 2;
  }
  return out;
}

protocol::TransactionId random_transaction_id() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  protocol::TransactionId id;
  for (auto& b : id) b = static_cast<std::uint8_t>(rng());
  return id;
}

BindingRequest make_binding_request(std::optional<std::uint32_t> change_flags) {
  BindingRequest r;
  r.id = random_transaction_id();
  r.bytes.resize(64);
  protocol::MessageBuilder b{r.bytes, {protocol::Method::Binding, protocol::Class::Request}, r.id};
  if (change_flags) {
    std::uint8_t value[4];
    protocol::store_u32(value, *change_flags);
    b.add_raw(static_cast<std::uint16_t>(protocol::AttrType::ChangeRequest), value);
  }
  b.add_fingerprint();
  auto wire = b.finish();
  if (!wire) throw std::logic_error("Binding request does not fit its buffer");
  r.bytes.resize(wire->size());
  return r;
}

UdpSocket::UdpSocket(const TransportAddress& local) : fd_(open_socket(local.ip)) {
  attach(fd_, local, ::bind, "cannot bind a UDP socket to ");
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

TransportAddress UdpSocket::local_address() const { return socket_name(fd_); }

void UdpSocket::send_to(protocol::ByteSpan bytes, const TransportAddress& to) {
  sockaddr_storage ss;
  const socklen_t len = to_sockaddr(to, ss);
  if (::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) < 0 &&
      errno != ECONNREFUSED)  // an earlier ICMP port unreachable, reported on this send
    throw std::runtime_error("cannot send to " + to.to_string() + ": " + errno_text());
}

std::optional<Datagram> UdpSocket::receive(Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) throw std::runtime_error("poll: " + errno_text());
    if (n <= 0) continue;
    Datagram d;
    d.bytes.resize(2048);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const ssize_t got =
        ::recvfrom(fd_, d.bytes.data(), d.bytes.size(), 0, reinterpret_cast<sockaddr*>(&ss), &len);
    if (got < 0) continue;  // ECONNREFUSED and the like: wait on for an answer
    d.bytes.resize(static_cast<std::size_t>(got));
    d.from = from_sockaddr(ss);
    return d;
  }
}

IpAddress source_address_for(const TransportAddress& to) {
  const int fd = open_socket(to.ip);
  attach(fd, to, ::connect, "no route to ");
  const IpAddress ip = socket_name(fd).ip;
  ::close(fd);
  return ip;
}

TransportAddress resolve_server(const std::string& text) {
  if (auto a = TransportAddress::parse(text)) return *a;
  std::string host = text, port = "3478";
  if (auto ip = IpAddress::parse(text)) return {*ip, 3478};  // a bare IPv6 or IPv4 address
  if (const auto colon = text.rfind(':'); colon != std::string::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  if (host.empty() || host.find(':') != std::string::npos || port.empty() ||
      port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    throw std::invalid_argument("--server " + text +
                                ": expected HOST:PORT (e.g. stun.example.org:3478)");
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw std::runtime_error("cannot resolve " + host + ": " + ::gai_strerror(rc));
  sockaddr_storage ss{};
  std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  return from_sockaddr(ss);
}

std::optional<Exchange> binding_transaction(UdpSocket& sock, const TransportAddress& to,
                                            std::optional<std::uint32_t> change_flags,
                                            milliseconds timeout) {
  const BindingRequest req = make_binding_request(change_flags);
  std::optional<Exchange> out;
  retransmit(req.bytes, sock, to, sock, timeout, [&](const Datagram& d) {
    if (auto answer = read_binding_answer(d.bytes, req.id)) out = Exchange{*answer, d.from};
    return out.has_value();
  });
  return out;
}

bool hairpin_arrives(UdpSocket& from, UdpSocket& to, const TransportAddress& target,
                     milliseconds timeout) {
  const BindingRequest req = make_binding_request(std::nullopt);
  return retransmit(req.bytes, from, target, to, timeout, [&](const Datagram& d) {
    auto msg = protocol::MessageView::parse(d.bytes);
    return msg && msg->transaction_id() == req.id &&
           msg->type().is(protocol::Method::Binding, protocol::Class::Request);
  });
}

}  // namespace turnd::turnctl::nat
