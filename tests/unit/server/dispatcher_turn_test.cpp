// Dispatcher, TURN requests (RFC 8656): the long-term credential challenge, Allocate and its
// retransmission, Refresh, CreatePermission and ChannelBind rules, 437/441/442. Requests are
// real bytes signed the way a client signs them; relay sockets are real (127.0.0.1).
#include <gtest/gtest.h>

#include "auth/rest_credential.hpp"
#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using namespace protocol;
using std::chrono::seconds;
using test::addr;
using test::build;
using test::Bytes;
using test::LongTerm;
using test::reply_code;
using test::request;
using test::TestServer;
using test::tid;

void expect_signed_by(ByteSpan reply, const LongTerm& who) {
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  const auto key = long_term_key(who.user, who.realm, who.password, PasswordAlgorithmId::Md5);
  EXPECT_EQ(verify_integrity(*msg, key.span(), IntegrityAlg::Sha1), IntegrityResult::Ok);
}

config::Config with_allowed_loopback(config::Config c = TestServer::default_config()) {
  c.allow_peers = {test::prefix("127.0.0.0/8")};
  return c;
}

class DispatcherTurn : public testing::Test {
 protected:
  Allocation* allocation() {
    return server.shard->allocations().find({server.ctx.client, server.ctx.local, Transport::Udp});
  }
  TestServer server;
};

TEST_F(DispatcherTurn, AllocateWithoutIntegrityIsChallenged) {
  const Bytes reply = server.send(build(request(Method::Allocate), tid(1), [](MessageBuilder& b) {
    b.add(RequestedTransport{kProtocolUdp});
  }));
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->type().is(Method::Allocate, Class::ErrorResponse));
  EXPECT_EQ(reply_code(reply), 401);
  ASSERT_TRUE(msg->get<Realm>());
  EXPECT_EQ(msg->get<Realm>()->text(), "turnd.test");
  ASSERT_TRUE(msg->get<Nonce>());
  EXPECT_TRUE(msg->get<Nonce>()->text().starts_with("obMatJos2")) << msg->get<Nonce>()->text();
  auto algorithms = msg->get<PasswordAlgorithms>();
  ASSERT_TRUE(algorithms);
  const Bytes sha256_then_md5 = {0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};
  EXPECT_EQ(Bytes(algorithms->raw.begin(), algorithms->raw.end()), sha256_then_md5);
  EXPECT_FALSE(msg->has(AttrType::MessageIntegrity)) << "a challenge cannot be signed";
  EXPECT_EQ(server.shard->allocations().size(), 0u);
}

TEST_F(DispatcherTurn, AllocateWithLongTermCredentials) {
  const LongTerm alice = server.alice();
  const Bytes reply = server.allocate(alice, 2);
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg);
  ASSERT_TRUE(msg->type().is(Method::Allocate, Class::SuccessResponse)) << reply_code(reply);
  EXPECT_EQ(msg->transaction_id(), tid(2));
  const auto relayed = TestServer::relayed(reply);
  EXPECT_EQ(relayed.ip, test::ip("127.0.0.1"));
  EXPECT_GE(relayed.port, server.config.relay_ports.min);
  EXPECT_LE(relayed.port, server.config.relay_ports.max);
  ASSERT_TRUE(msg->get<Lifetime>());
  EXPECT_EQ(msg->get<Lifetime>()->value, 600u);
  ASSERT_TRUE(msg->get<XorMappedAddress>());
  EXPECT_EQ(msg->get<XorMappedAddress>()->address, server.ctx.client);
  expect_signed_by(reply, alice);
  EXPECT_EQ(server.services->ports.in_use(), 1u);
  EXPECT_TRUE(server.services->live_relays.contains(relayed));
  ASSERT_NE(allocation(), nullptr);
  EXPECT_EQ(allocation()->username, "alice");
}

TEST_F(DispatcherTurn, LifetimeIsClampedBetweenDefaultAndMaximum) {
  const std::pair<std::uint32_t, std::uint32_t> kCases[] = {{5, 600}, {1200, 1200}, {99999, 3600}};
  std::uint8_t id = 10;
  for (auto [asked, granted] : kCases) {
    const LongTerm alice = server.alice();
    const Bytes reply = server.send(build(
        request(Method::Allocate), tid(id++),
        [&](MessageBuilder& b) {
          b.add(RequestedTransport{kProtocolUdp});
          b.add(Lifetime{asked});
        },
        &alice));
    auto msg = MessageView::parse(reply);
    ASSERT_TRUE(msg && msg->get<Lifetime>()) << reply_code(reply);
    EXPECT_EQ(msg->get<Lifetime>()->value, granted) << "asked " << asked;
    EXPECT_EQ(reply_code(server.refresh(alice, id++, asked)), 0);
    EXPECT_EQ(reply_code(server.refresh(alice, id++, 0)), 0);
  }
}

TEST_F(DispatcherTurn, WrongPasswordAndUnknownUserAreChallenged) {
  for (const auto& who : {server.user("alice", "not-wonderland"), server.user("mallory", "x")}) {
    const Bytes reply = server.allocate(who, 3);
    EXPECT_EQ(reply_code(reply), 401) << who.user;
    auto msg = MessageView::parse(reply);
    ASSERT_TRUE(msg);
    EXPECT_TRUE(msg->has(AttrType::Nonce));
    EXPECT_FALSE(msg->has(AttrType::MessageIntegrity));
  }
  EXPECT_EQ(server.shard->allocations().size(), 0u);
  EXPECT_EQ(server.services->ports.in_use(), 0u);
}

TEST(DispatcherRest, ExpiredRestCredentialIsChallengedValidOneCapsTheLifetime) {
  auto config = TestServer::default_config();
  config.auth_secrets = {"rest-secret"};
  TestServer server{config};
  const auto now = std::chrono::time_point_cast<seconds>(std::chrono::system_clock::now());
  const auto rest_user = [&](std::chrono::sys_seconds expiry) {
    const std::string name = auth::make_rest_username("bob", expiry, ':');
    return server.user(name, auth::rest_password("rest-secret", name));
  };
  EXPECT_EQ(reply_code(server.allocate(rest_user(now - seconds{3600}), 1)), 401);
  EXPECT_EQ(server.shard->allocations().size(), 0u);

  const Bytes reply = server.allocate(rest_user(now + seconds{120}), 2);
  auto msg = MessageView::parse(reply);
  ASSERT_TRUE(msg && msg->get<Lifetime>()) << reply_code(reply);
  EXPECT_LE(msg->get<Lifetime>()->value, 180u) << "expiry + 60 s clock skew";
  EXPECT_GE(msg->get<Lifetime>()->value, 170u);
}

TEST_F(DispatcherTurn, NonceOfAnotherClientAddressIsStale) {
  ClientContext other = server.ctx;
  other.client = addr("127.0.0.2:40001");
  const Bytes challenge = server.send_from(
      other, build(request(Method::Allocate), tid(4),
                   [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }));
  auto msg = MessageView::parse(challenge);
  ASSERT_TRUE(msg && msg->get<Nonce>());
  const LongTerm alice{"alice", "wonderland", "turnd.test", std::string(msg->get<Nonce>()->text())};
  EXPECT_EQ(reply_code(server.allocate(alice, 5)), 438);
}

TEST_F(DispatcherTurn, SecondAllocateIs437AndRetransmissionIsByteIdentical) {
  const LongTerm alice = server.alice();
  const Bytes first = server.allocate(alice, 6);
  ASSERT_EQ(reply_code(first), 0);
  const Bytes other = server.allocate(alice, 7);
  EXPECT_EQ(reply_code(other), 437);
  expect_signed_by(other, alice);
  EXPECT_EQ(server.allocate(alice, 6), first);
  EXPECT_EQ(server.services->ports.in_use(), 1u);
}

TEST_F(DispatcherTurn, RefreshZeroDeletesTheAllocation) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 8)), 0);
  const Bytes extended = server.refresh(alice, 9, 1200);
  ASSERT_EQ(reply_code(extended), 0);
  EXPECT_EQ(MessageView::parse(extended)->get<Lifetime>()->value, 1200u);

  const Bytes deleted = server.refresh(alice, 10, 0);
  auto msg = MessageView::parse(deleted);
  ASSERT_TRUE(msg);
  EXPECT_TRUE(msg->type().is(Method::Refresh, Class::SuccessResponse));
  ASSERT_TRUE(msg->get<Lifetime>());
  EXPECT_EQ(msg->get<Lifetime>()->value, 0u);
  expect_signed_by(deleted, alice);
  EXPECT_EQ(server.shard->allocations().size(), 0u);
  EXPECT_EQ(server.services->ports.in_use(), 0u);
  EXPECT_EQ(reply_code(server.refresh(alice, 11, 0)), 437);
  EXPECT_EQ(reply_code(server.create_permission(alice, 12, addr("8.8.8.8:53"))), 437);
}

TEST_F(DispatcherTurn, CreatePermissionToLoopbackIsForbiddenByDefault) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 13)), 0);
  const Bytes reply = server.create_permission(alice, 14, addr("127.0.0.1:5000"));
  EXPECT_EQ(reply_code(reply), 403);
  expect_signed_by(reply, alice);
  EXPECT_TRUE(allocation()->permissions.empty());
  EXPECT_EQ(reply_code(server.create_permission(alice, 15, addr("[::ffff:127.0.0.1]:5000"))), 443)
      << "an IPv6 peer on an IPv4 allocation";
  EXPECT_EQ(reply_code(server.send(build(
                request(Method::CreatePermission), tid(16), [](auto&) {}, &alice))),
            400)
      << "no XOR-PEER-ADDRESS";
}

TEST(DispatcherAllowPeer, CreatePermissionToAllowedLoopback) {
  TestServer server{with_allowed_loopback()};
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  const Bytes reply = server.create_permission(alice, 2, addr("127.0.0.1:5000"));
  EXPECT_EQ(reply_code(reply), 0);
  expect_signed_by(reply, alice);
  EXPECT_EQ(reply_code(server.create_permission(alice, 3, addr("10.0.0.1:5000"))), 403)
      << "only the allowed range";
}

TEST(DispatcherAllowPeer, ChannelBindRules) {
  TestServer server{with_allowed_loopback()};
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  const auto p1 = addr("127.0.0.1:5001"), p2 = addr("127.0.0.1:5002");
  EXPECT_EQ(reply_code(server.channel_bind(alice, 2, 0x3fff, p1)), 400);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 3, 0x8000, p1)), 400);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 4, 0x4000, p1)), 0);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 5, 0x4000, p2)), 400) << "number taken";
  EXPECT_EQ(reply_code(server.channel_bind(alice, 6, 0x4001, p1)), 400) << "peer bound";
  EXPECT_EQ(reply_code(server.channel_bind(alice, 7, 0x4000, p1)), 0) << "refresh";
  EXPECT_EQ(reply_code(server.channel_bind(alice, 8, 0x7fff, p2)), 0) << "RFC 5766 range";
  EXPECT_EQ(reply_code(server.channel_bind(alice, 9, 0x4002, addr("10.0.0.1:1"))), 403);
  EXPECT_EQ(reply_code(server.send(build(
                request(Method::ChannelBind), tid(10),
                [&](MessageBuilder& b) { b.add(XorPeerAddress{p1}); }, &alice))),
            400)
      << "no CHANNEL-NUMBER";
  const Allocation* a =
      server.shard->allocations().find({server.ctx.client, server.ctx.local, Transport::Udp});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->channels.size(), 2u);
  EXPECT_TRUE(a->has_permission(p1.ip, std::chrono::steady_clock::now()))
      << "ChannelBind installs the permission";
}

TEST(DispatcherAllowPeer, StrictChannelNumbersRejectTheRfc5766Range) {
  auto config = with_allowed_loopback();
  config.strict_channel_numbers = true;
  TestServer server{config};
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 2, 0x5000, addr("127.0.0.1:5001"))), 400);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 3, 0x4fff, addr("127.0.0.1:5001"))), 0);
}

TEST_F(DispatcherTurn, OtherUserOnTheSameFiveTupleGets441) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 17)), 0);
  const LongTerm carol = server.user("carol", "secret");
  const Bytes reply = server.create_permission(carol, 18, addr("8.8.8.8:53"));
  EXPECT_EQ(reply_code(reply), 441);
  expect_signed_by(reply, carol);
  EXPECT_EQ(reply_code(server.refresh(carol, 19, 0)), 441);
  EXPECT_EQ(server.shard->allocations().size(), 1u) << "carol cannot delete it";
}

// UDP relaying, and TCP relaying (RFC 6062 §5.1) only for a client on TCP or TLS: this one
// uses UDP (400); any other protocol is 442.
TEST_F(DispatcherTurn, RelaysUdpAndTcpOnlyTcpForStreamClients) {
  const LongTerm alice = server.alice();
  const auto allocate_with = [&](std::uint8_t id, auto&& attrs) {
    return reply_code(server.send(build(request(Method::Allocate), tid(id), attrs, &alice)));
  };
  EXPECT_EQ(allocate_with(20, [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolTcp}); }),
            400);
  EXPECT_EQ(allocate_with(22, [](MessageBuilder& b) { b.add(RequestedTransport{132}); }), 442)
      << "SCTP";
  EXPECT_EQ(allocate_with(21, [](MessageBuilder&) {}), 400) << "no REQUESTED-TRANSPORT";
  EXPECT_EQ(server.shard->allocations().size(), 0u);
  EXPECT_EQ(server.services->ports.in_use(), 0u);
}

// Issue 9, defect 5: one budget per source IP for every reply to an unauthenticated UDP
// request that is larger than the request, whatever its kind, shared by all shards.
Bytes unauthenticated_allocate(std::uint8_t id) {
  return build(request(Method::Allocate), tid(id),
               [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); });
}

TEST(DispatcherLimits, EveryUnauthenticatedReplyKindSharesTheSourceBudget) {
  auto config = TestServer::default_config();
  config.limit_loopback = true;               // the test client is 127.0.0.1
  config.max_unauthenticated_per_second = 2;  // bursts of 4
  TestServer server{config};
  EXPECT_EQ(reply_code(server.send(unauthenticated_allocate(1))), 401);
  EXPECT_EQ(reply_code(server.send(build(request(Method::Binding), tid(2), [](auto&) {}))), 0);
  Bytes unknown = build(request(Method::Binding), tid(3), [](MessageBuilder& b) {
    b.add_raw(0x0077, as_bytes("x"));  // comprehension-required and unknown: 420
  });
  EXPECT_EQ(reply_code(server.send(unknown)), 420);
  Bytes refresh_without_auth = build(request(Method::Refresh), tid(4), [](auto&) {});
  EXPECT_EQ(reply_code(server.send(refresh_without_auth)), 401);
  EXPECT_TRUE(server.send(build(request(Method::Binding), tid(5), [](auto&) {})).empty())
      << "budget of 4 used up, Binding too";
  EXPECT_TRUE(server.send(unauthenticated_allocate(6)).empty());
  EXPECT_EQ(server.shard->counters().unauthenticated_limited_source.get(), 2u);

  ClientContext other = server.ctx;
  other.client = test::addr("127.0.0.9:40001");
  EXPECT_EQ(reply_code(server.send_from(other, unauthenticated_allocate(7))), 401)
      << "another source has its own budget";
  ClientContext tcp = server.ctx;
  tcp.transport = Transport::Tcp;
  EXPECT_EQ(reply_code(server.send_from(tcp, unauthenticated_allocate(8))), 401)
      << "TCP is not spoofable";
  ClientContext another_port = server.ctx;
  another_port.client.port = 50000;
  EXPECT_TRUE(server.send_from(another_port, unauthenticated_allocate(9)).empty())
      << "a source is its IP address, whatever the port";
}

TEST(DispatcherLimits, LoopbackSourcesAreNotLimitedByDefault) {
  auto config = TestServer::default_config();
  config.max_unauthenticated_per_second = 1;
  config.max_unauthenticated_bytes_per_second = 1000;
  TestServer server{config};
  for (std::uint8_t id = 1; id < 20; ++id)
    EXPECT_EQ(reply_code(server.send(unauthenticated_allocate(id))), 401) << int{id};
  ClientContext remote = server.ctx;
  remote.client = test::addr("192.0.2.1:40001");
  EXPECT_EQ(reply_code(server.send_from(remote, unauthenticated_allocate(30))), 401);
  EXPECT_EQ(reply_code(server.send_from(remote, unauthenticated_allocate(31))), 401);
  EXPECT_TRUE(server.send_from(remote, unauthenticated_allocate(32)).empty())
      << "a remote source is limited (burst of 2)";
}

TEST(DispatcherLimits, AuthenticatedRepliesAreNotLimited) {
  auto config = TestServer::default_config();
  config.limit_loopback = true;  // the test client is 127.0.0.1
  config.max_unauthenticated_per_second = 1;
  TestServer server{config};
  const LongTerm alice = server.alice();  // takes one 401
  EXPECT_EQ(reply_code(server.allocate(alice, 1)), 0);
  for (std::uint8_t id = 2; id < 12; ++id)
    EXPECT_EQ(reply_code(server.refresh(alice, id, 600)), 0) << int{id};
}

TEST(DispatcherLimits, RepliesNoLargerThanTheRequestAreNotLimited) {
  auto config = TestServer::default_config();
  config.limit_loopback = true;  // the test client is 127.0.0.1
  config.max_unauthenticated_per_second = 1;
  TestServer server{config};
  const std::string padding(200, 'p');
  for (std::uint8_t id = 1; id < 10; ++id) {
    Bytes big = build(request(Method::Binding), tid(id),
                      [&](MessageBuilder& b) { b.add_raw(0x8077, as_bytes(padding)); });
    EXPECT_EQ(reply_code(server.send(big)), 0) << "no amplification: answered " << int{id};
  }
}

TEST(DispatcherLimits, TheSourceBudgetIsSharedByAllShards) {
  auto config = TestServer::default_config();
  config.limit_loopback = true;               // the test client is 127.0.0.1
  config.max_unauthenticated_per_second = 1;  // bursts of 2
  TestServer server{config};
  boost::asio::io_context io2;
  ShardState shard2{1, io2, *server.services};
  Dispatcher dispatcher2{shard2};
  EXPECT_EQ(reply_code(server.send(unauthenticated_allocate(1))), 401);
  Bytes second = unauthenticated_allocate(2);
  ClientContext ctx2 = server.ctx;
  ctx2.client.port = 40123;  // the kernel hashed this source port to the other shard
  const ByteSpan answer = dispatcher2.on_client_message(ctx2, second);
  EXPECT_EQ(reply_code(Bytes(answer.begin(), answer.end())), 401);
  Bytes third = unauthenticated_allocate(3);
  EXPECT_TRUE(dispatcher2.on_client_message(ctx2, third).empty());
  EXPECT_TRUE(server.send(unauthenticated_allocate(4)).empty());
}

TEST(DispatcherLimits, GlobalByteCapHoldsForManySources) {
  auto config = TestServer::default_config();
  config.limit_loopback = true;  // the test client is 127.0.0.1
  config.max_unauthenticated_per_second = 0;
  config.max_unauthenticated_bytes_per_second = 1000;
  config.threads = 1;
  TestServer server{config};
  std::size_t bytes = 0;
  for (int i = 0; i < 200; ++i) {
    ClientContext from = server.ctx;
    from.client.ip = IpAddress::v4(
        {10, 9, static_cast<std::uint8_t>(i / 250), static_cast<std::uint8_t>(i % 250 + 1)});
    bytes += server.send_from(from, unauthenticated_allocate(static_cast<std::uint8_t>(i))).size();
  }
  EXPECT_LE(bytes, 1000u + 200u) << "one second's worth, give or take one reply";
  EXPECT_GT(server.shard->counters().unauthenticated_limited_global.get(), 150u);
}

// Issue 9, defect 8: the quota counts the user id of a REST username, not the whole name
// with its expiry (each fresh credential used to bring a fresh quota).
TEST(DispatcherLimits, UserQuotaCountsTheUserIdOfRestUsernames) {
  auto config = TestServer::default_config();
  config.user_quota = 1;
  config.auth_secrets = {"quota-test-secret"};
  TestServer server{config};
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto rest = [&](long long expiry) {
    const std::string name = std::to_string(expiry) + ":bob";
    return server.user(name, auth::rest_password("quota-test-secret", name));
  };
  ASSERT_EQ(reply_code(server.allocate(rest(now + 3600), 1)), 0);
  ClientContext second = server.ctx;
  second.client.port = 40002;
  const LongTerm fresh = rest(now + 7200);
  EXPECT_EQ(
      reply_code(server.send_from(
          second, build(
                      request(Method::Allocate), tid(2),
                      [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }, &fresh))),
      486)
      << "a new credential of the same user";
  ASSERT_EQ(reply_code(server.refresh(rest(now + 3600), 3, 0)), 0);
  EXPECT_EQ(
      reply_code(server.send_from(
          second, build(
                      request(Method::Allocate), tid(4),
                      [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }, &fresh))),
      0)
      << "the quota came back with the deletion";
}

TEST(DispatcherLimits, RestExpiryNearInt64MaxIsRefusedNotOverflowed) {
  auto config = TestServer::default_config();
  config.auth_secrets = {"s"};
  TestServer server{config};
  for (const char* expiry : {"9223372036854775807", "9223372036854775747", "253402300800"}) {
    const std::string name = std::string(expiry) + ":mallory";
    EXPECT_EQ(reply_code(server.allocate(server.user(name, auth::rest_password("s", name)), 1)),
              401)
        << expiry;
  }
}

// Issue 9, defect 8: ChannelBind installs a permission; it counts against the same cap as
// CreatePermission (it used to skip the check).
TEST(DispatcherLimits, ChannelBindObeysThePermissionCap) {
  auto config = TestServer::default_config();
  config.max_permissions_per_allocation = 1;
  config.allow_peers = {test::prefix("127.0.0.0/8")};
  TestServer server{config};
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  ASSERT_EQ(reply_code(server.create_permission(alice, 2, test::addr("127.0.0.5:1000"))), 0);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 3, 0x4000, test::addr("127.0.0.6:1000"))), 508);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 4, 0x4001, test::addr("127.0.0.5:2000"))), 0)
      << "the permitted peer's IP needs no new permission";
  const Allocation* a =
      server.shard->allocations().find({server.ctx.client, server.ctx.local, server.ctx.transport});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->permissions.size(), 1u);
  EXPECT_EQ(a->channels.size(), 1u) << "the refused ChannelBind left nothing behind";
}

TEST(DispatcherLimits, UserQuota) {
  auto config = TestServer::default_config();
  config.user_quota = 1;
  TestServer server{config};
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  ClientContext second = server.ctx;
  second.client.port = 40002;
  EXPECT_EQ(
      reply_code(server.send_from(
          second, build(
                      request(Method::Allocate), tid(2),
                      [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }, &alice))),
      486);
  EXPECT_EQ(server.services->ports.in_use(), 1u);
}

}  // namespace
}  // namespace turnd::server
