#include "server_test_support.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <system_error>

#include "protocol/channel_data.hpp"
#include "server/io/socket_address.hpp"

namespace turnd::server::test {

using namespace protocol;

config::PortRange test_port_range(std::uint16_t size) {
  const auto slot = static_cast<std::uint16_t>(::getpid() % 200);
  const auto min = static_cast<std::uint16_t>(20000 + slot * 50);
  return {min, static_cast<std::uint16_t>(min + std::min<std::uint16_t>(size, 50) - 1)};
}

CapturingSink::CapturingSink(std::size_t max_datagrams, std::size_t max_bytes) : arena_(max_bytes) {
  records_.reserve(max_datagrams);
}

void CapturingSink::send_to_client(ByteSpan bytes, const TransportAddress& client,
                                   const TransportAddress& local) noexcept {
  if (records_.size() == records_.capacity() || arena_.size() - used_ < bytes.size()) {
    ++overflow_;
    return;
  }
  std::memcpy(arena_.data() + used_, bytes.data(), bytes.size());
  records_.push_back({used_, bytes.size(), client, local});
  used_ += bytes.size();
}

void CapturingSink::clear() noexcept {
  records_.clear();
  used_ = 0;
  overflow_ = 0;
}

UdpPeer::UdpPeer(std::string_view ip)
    : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_storage ss;
  const socklen_t len = io::to_sockaddr(TransportAddress{test::ip(ip), 0}, ss);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd_);
    throw std::system_error(e, std::generic_category(), "bind " + std::string(ip));
  }
  socklen_t got = sizeof ss;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &got);
  address_ = io::from_sockaddr(ss);
}

UdpPeer::~UdpPeer() { ::close(fd_); }

bool UdpPeer::send_to(const TransportAddress& to, ByteSpan bytes) noexcept {
  sockaddr_storage ss;
  const socklen_t len = io::to_sockaddr(to, ss);
  return ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&ss),
                  len) == static_cast<ssize_t>(bytes.size());
}

std::size_t UdpPeer::receive(std::uint8_t* buf, std::size_t cap, TransportAddress* from,
                             std::chrono::milliseconds timeout) noexcept {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return 0;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  const ssize_t n = ::recvfrom(fd_, buf, cap, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), &len);
  if (n <= 0) return 0;
  if (from != nullptr) *from = io::from_sockaddr(ss);
  return static_cast<std::size_t>(n);
}

std::size_t UdpPeer::drain(ByteSpan expected, std::size_t& n) noexcept {
  std::uint8_t buf[2048];
  std::size_t equal = 0;
  for (;;) {
    const ssize_t got = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (got < 0) return equal;
    ++n;
    if (static_cast<std::size_t>(got) == expected.size() &&
        std::memcmp(buf, expected.data(), expected.size()) == 0)
      ++equal;
  }
}

Bytes channel_data(std::uint16_t channel, ByteSpan payload) {
  Bytes out(kChannelDataHeaderSize + payload.size());
  write_channel_data_header(out.data(), channel, static_cast<std::uint16_t>(payload.size()));
  std::memcpy(out.data() + kChannelDataHeaderSize, payload.data(), payload.size());
  return out;
}

int reply_code(ByteSpan reply) {
  auto msg = MessageView::parse(reply);
  if (!msg) return -1;
  if (msg->cls() == Class::SuccessResponse) return 0;
  if (msg->cls() != Class::ErrorResponse) return -1;
  auto e = msg->get<ErrorCode>();
  return e ? e->code : -1;
}

config::Config TestServer::default_config() {
  config::Config c;
  c.listen = {addr("127.0.0.1:3478")};
  c.realm = "turnd.test";
  c.users = {{"alice", "wonderland"}, {"carol", "secret"}};
  c.relay_ports = test_port_range();
  return c;
}

TestServer::TestServer(config::Config c, const Clock& clock) : config(std::move(c)) {
  spdlog::set_level(spdlog::level::warn);  // allocation create/delete lines are info
  services = std::make_unique<SharedServices>(config, clock);
  shard = std::make_unique<ShardState>(0, io, *services);
  dispatcher = std::make_unique<Dispatcher>(*shard);
  ctx = ClientContext{addr("127.0.0.1:40001"), addr("127.0.0.1:3478"), Transport::Udp, &sink};
}

TestServer::~TestServer() = default;

Bytes TestServer::send(Bytes msg) { return send_from(ctx, std::move(msg)); }

Bytes TestServer::send_from(const ClientContext& c, Bytes msg) {
  const ByteSpan reply = dispatcher->on_client_message(c, msg);
  dispatcher->flush();
  return {reply.begin(), reply.end()};
}

std::string TestServer::fresh_nonce() {
  const Bytes reply = send(build(request(Method::Allocate), tid(0xF0), [](MessageBuilder& b) {
    b.add(RequestedTransport{kProtocolUdp});
  }));
  auto msg = MessageView::parse(reply);
  if (!msg || !msg->get<Nonce>()) throw std::runtime_error("no 401 with NONCE");
  return std::string(msg->get<Nonce>()->text());
}

LongTerm TestServer::user(std::string name, std::string password) {
  return {std::move(name), std::move(password), config.realm, fresh_nonce()};
}

LongTerm TestServer::alice() { return user("alice", "wonderland"); }

Bytes TestServer::allocate(const LongTerm& auth, std::uint8_t id) {
  return send(allocate_request(auth, id));
}

Bytes TestServer::allocate_request(const LongTerm& auth, std::uint8_t id) {
  return build(
      request(Method::Allocate), tid(id),
      [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }, &auth);
}

TransportAddress TestServer::relayed(ByteSpan reply) {
  auto msg = MessageView::parse(reply);
  if (!msg || !msg->get<XorRelayedAddress>()) throw std::runtime_error("no XOR-RELAYED-ADDRESS");
  return msg->get<XorRelayedAddress>()->address;
}

Bytes TestServer::create_permission(const LongTerm& auth, std::uint8_t id,
                                    const TransportAddress& peer) {
  return send(create_permission_request(auth, id, peer));
}

Bytes TestServer::create_permission_request(const LongTerm& auth, std::uint8_t id,
                                            const TransportAddress& peer) {
  return build(
      request(Method::CreatePermission), tid(id),
      [&](MessageBuilder& b) { b.add(XorPeerAddress{peer}); }, &auth);
}

Bytes TestServer::channel_bind(const LongTerm& auth, std::uint8_t id, std::uint16_t channel,
                               const TransportAddress& peer) {
  return send(channel_bind_request(auth, id, channel, peer));
}

Bytes TestServer::channel_bind_request(const LongTerm& auth, std::uint8_t id, std::uint16_t channel,
                                       const TransportAddress& peer) {
  return build(
      request(Method::ChannelBind), tid(id),
      [&](MessageBuilder& b) {
        b.add(ChannelNumber{channel});
        b.add(XorPeerAddress{peer});
      },
      &auth);
}

Bytes TestServer::refresh(const LongTerm& auth, std::uint8_t id, std::uint32_t lifetime) {
  return send(refresh_request(auth, id, lifetime));
}

Bytes TestServer::refresh_request(const LongTerm& auth, std::uint8_t id, std::uint32_t lifetime) {
  return build(
      request(Method::Refresh), tid(id), [&](MessageBuilder& b) { b.add(Lifetime{lifetime}); },
      &auth);
}

}  // namespace turnd::server::test
