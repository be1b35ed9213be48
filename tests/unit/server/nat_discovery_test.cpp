// RFC 5780 Binding on a real shard (server/nat_discovery.hpp, server/handlers/binding.cpp):
// the attributes of the answer, the socket a CHANGE-REQUEST answer leaves from (each role's
// socket is a real UDP socket here), RESPONSE-PORT, the PADDING cap, TCP, the 420s where
// NAT discovery is not served, and TURN on the Binding-only addresses.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_test_support.hpp"

namespace turnd::server::test {
namespace {

using namespace protocol;

/// A UDP socket on 127.0.0.1 that plays one role's socket of the shard.
struct RoleSocket {
  RoleSocket() {
    fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    socklen_t len = sizeof sa;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
    port = ntohs(sa.sin_port);
  }
  ~RoleSocket() { ::close(fd); }
  int fd = -1;
  std::uint16_t port = 0;
};

config::Config with_alternate(std::string_view alternate) {
  auto c = TestServer::default_config();
  c.alternate_listen = addr(alternate);
  return c;
}

Bytes binding(std::uint8_t id, std::initializer_list<std::pair<AttrType, Bytes>> attrs = {},
              std::uint32_t cookie = kMagicCookie) {
  return build(
      request(Method::Binding), tid(id),
      [&](MessageBuilder& b) {
        for (const auto& [type, value] : attrs)
          b.add_raw(static_cast<std::uint16_t>(type), ByteSpan{value});
      },
      nullptr, false, cookie);
}
Bytes flags(std::uint8_t f) { return {0, 0, 0, f}; }
Bytes port_value(std::uint16_t p) {
  return {static_cast<std::uint8_t>(p >> 8), static_cast<std::uint8_t>(p), 0, 0};
}

std::vector<std::uint16_t> unknown_of(ByteSpan reply) {
  auto msg = MessageView::parse(reply);
  auto u = msg->get<UnknownAttributes>();
  std::vector<std::uint16_t> out;
  if (u)
    for (std::size_t i = 0; i < u->size(); ++i) out.push_back(u->at(i));
  return out;
}

class NatDiscoveryTest : public testing::Test {
 protected:
  NatDiscoveryTest() : server(with_alternate("127.0.0.2:3479")) {
    for (int r = 0; r < 4; ++r)
      server.shard->nat_discovery().set_socket(static_cast<DiscoveryRole>(r), sockets[r].fd);
    server.ctx.client = client.address();
  }
  TestServer server;
  RoleSocket sockets[4];
  UdpPeer client;  // the client: answers routed through a role's socket arrive here
};

TEST_F(NatDiscoveryTest, BindingNamesOriginAndOtherAddress) {
  const Bytes reply = server.send(binding(1));
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get<XorMappedAddress>()->address, server.ctx.client);
  EXPECT_EQ(msg->get<MappedAddress>()->address, server.ctx.client);
  EXPECT_EQ(msg->get<ResponseOrigin>()->address, addr("127.0.0.1:3478"));
  EXPECT_EQ(msg->get<OtherAddress>()->address, addr("127.0.0.2:3479"));
  EXPECT_EQ(server.shard->counters().nat_discovery_plain.get(), 1u);
}

TEST_F(NatDiscoveryTest, ChangeRequestLeavesFromThatRolesSocket) {
  struct Case {
    std::uint8_t flags;
    int role;
    const char* origin;
  };
  const Case kCases[] = {
      {0x4, 1, "127.0.0.2:3478"}, {0x2, 2, "127.0.0.1:3479"}, {0x6, 3, "127.0.0.2:3479"}};
  std::uint8_t id = 10;
  for (const auto& c : kCases) {
    const Bytes reply = server.send(binding(id++, {{AttrType::ChangeRequest, flags(c.flags)}}));
    EXPECT_TRUE(reply.empty()) << "answer for the listener itself";
    std::uint8_t buf[2048];
    TransportAddress from;
    const std::size_t n = client.receive(buf, sizeof buf, &from, std::chrono::seconds(2));
    ASSERT_GT(n, 0u) << int(c.flags);
    EXPECT_EQ(from.port, sockets[c.role].port) << int(c.flags);
    auto msg = MessageView::parse(ByteSpan{buf, n});
    ASSERT_TRUE(msg);
    EXPECT_EQ(msg->get<ResponseOrigin>()->address, addr(c.origin));
    EXPECT_EQ(msg->get<XorMappedAddress>()->address, server.ctx.client);
  }
  EXPECT_EQ(server.shard->counters().nat_discovery_change_ip.get(), 1u);
  EXPECT_EQ(server.shard->counters().nat_discovery_change_port.get(), 1u);
  EXPECT_EQ(server.shard->counters().nat_discovery_change_ip_port.get(), 1u);
}

TEST_F(NatDiscoveryTest, ResponsePortGoesToThatPortOfTheClient) {
  UdpPeer other;
  const Bytes reply =
      server.send(binding(20, {{AttrType::ResponsePort, port_value(other.address().port)}}));
  EXPECT_TRUE(reply.empty());
  std::uint8_t buf[2048];
  TransportAddress from;
  ASSERT_GT(other.receive(buf, sizeof buf, &from, std::chrono::seconds(2)), 0u);
  EXPECT_EQ(from.port, sockets[0].port);
  EXPECT_EQ(server.shard->counters().nat_discovery_response_port.get(), 1u);
}

TEST_F(NatDiscoveryTest, PaddingIsCappedByTheRequestAndTheMtu) {
  const std::size_t plain = server.send(binding(30)).size();
  for (std::size_t n : {0u, 3u, 100u, 1500u, 1900u}) {
    const Bytes req = binding(31, {{AttrType::Padding, Bytes(n, 0xab)}});
    const Bytes reply = server.send(req);
    auto msg = MessageView::parse(reply);
    ASSERT_TRUE(msg) << n;
    auto pad = msg->get<Padding>();
    ASSERT_TRUE(pad) << n;
    EXPECT_EQ(pad->length, std::min<std::size_t>(1500, (req.size() - 4) / 4 * 4)) << n;
    EXPECT_LE(reply.size() - plain, req.size()) << n;
  }
}

TEST_F(NatDiscoveryTest, BadRequestsGet400) {
  const std::pair<const char*, Bytes> kCases[] = {
      {"padding with response port",
       binding(40, {{AttrType::Padding, Bytes(8)}, {AttrType::ResponsePort, port_value(9)}})},
      {"response port 0", binding(41, {{AttrType::ResponsePort, port_value(0)}})},
      {"short response port", binding(42, {{AttrType::ResponsePort, Bytes{0, 9}}})},
      {"short change request", binding(43, {{AttrType::ChangeRequest, Bytes{6}}})},
  };
  for (const auto& [name, req] : kCases) EXPECT_EQ(reply_code(server.send(req)), 400) << name;
}

TEST_F(NatDiscoveryTest, TcpGetsThePlainAnswerOnly) {
  ClientContext tcp = server.ctx;
  tcp.transport = Transport::Tcp;
  auto ok = MessageView::parse(server.send_from(tcp, binding(50)));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->get<OtherAddress>());
  EXPECT_EQ(reply_code(server.send_from(tcp, binding(51, {{AttrType::ChangeRequest, flags(0)}}))),
            0);
  for (auto attr :
       {std::pair{AttrType::ChangeRequest, flags(0x4)},
        std::pair{AttrType::ResponsePort, port_value(9)}, std::pair{AttrType::Padding, Bytes(8)}})
    EXPECT_EQ(reply_code(server.send_from(tcp, binding(52, {attr}))), 400)
        << static_cast<int>(attr.first);
}

TEST_F(NatDiscoveryTest, Rfc3489ClientGetsSourceAndChangedAddress) {
  auto msg = MessageView::parse(server.send(binding(60, {}, 0x01020304)));
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->get<SourceAddress>()->address, addr("127.0.0.1:3478"));
  EXPECT_EQ(msg->get<ChangedAddress>()->address, addr("127.0.0.2:3479"));
  EXPECT_FALSE(msg->get<XorMappedAddress>());
}

TEST_F(NatDiscoveryTest, AlternateAddressesServeBindingOnly) {
  ClientContext alt = server.ctx;
  alt.local = addr("127.0.0.2:3479");
  const Bytes allocate = build(request(Method::Allocate), tid(70),
                               [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); });
  EXPECT_EQ(reply_code(server.send_from(alt, allocate)), 400);
  EXPECT_EQ(reply_code(server.send(allocate)), 401);  // the listen address: challenged
  EXPECT_EQ(reply_code(server.send_from(alt, binding(71))), 0);
}

TEST_F(NatDiscoveryTest, OtherListenAddressesAndMethodsGet420) {
  ClientContext elsewhere = server.ctx;
  elsewhere.local = addr("127.0.0.1:5000");  // not one of the four
  const Bytes req = binding(80, {{AttrType::Padding, Bytes(8)},
                                 {AttrType::ChangeRequest, flags(0x2)},
                                 {static_cast<AttrType>(0x0031), Bytes(4)}});
  const Bytes reply = server.send_from(elsewhere, req);
  EXPECT_EQ(reply_code(reply), 420);
  EXPECT_EQ(unknown_of(reply), (std::vector<std::uint16_t>{0x0031, 0x0026, 0x0003}));
  // An empty CHANGE-REQUEST asks for nothing and is answered anywhere.
  EXPECT_EQ(
      reply_code(server.send_from(elsewhere, binding(81, {{AttrType::ChangeRequest, flags(0)}}))),
      0);
  const Bytes allocate = build(request(Method::Allocate), tid(82), [](MessageBuilder& b) {
    b.add(RequestedTransport{kProtocolUdp});
    b.add(ChangeRequest{});
  });
  const Bytes refused = server.send(allocate);
  EXPECT_EQ(reply_code(refused), 420);
  EXPECT_EQ(unknown_of(refused), (std::vector<std::uint16_t>{0x0003}));
}

TEST(NatDiscoveryPortOnly, ChangeIpGets420AndNoOtherAddress) {
  TestServer server(with_alternate("127.0.0.1:3479"));
  const Bytes change_ip = binding(1, {{AttrType::ChangeRequest, flags(0x4)}});
  const Bytes reply = server.send(change_ip);
  EXPECT_EQ(reply_code(reply), 420);
  EXPECT_EQ(unknown_of(reply), (std::vector<std::uint16_t>{0x0003}));
  auto plain = MessageView::parse(server.send(binding(2)));
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->get<ResponseOrigin>());
  EXPECT_FALSE(plain->get<OtherAddress>());
}

TEST(NatDiscoveryOff, Rfc5780AttributesGet420) {
  TestServer server;
  const Bytes reply = server.send(
      binding(1, {{AttrType::ResponsePort, port_value(9)}, {AttrType::ChangeRequest, flags(0x6)}}));
  EXPECT_EQ(reply_code(reply), 420);
  EXPECT_EQ(unknown_of(reply), (std::vector<std::uint16_t>{0x0027, 0x0003}));
  auto plain = MessageView::parse(server.send(binding(2)));
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->get<ResponseOrigin>());
  EXPECT_FALSE(plain->get<OtherAddress>());
}

}  // namespace
}  // namespace turnd::server::test
