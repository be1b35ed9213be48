// What a reload and a drain change on a shard: the Allocate answer while draining (508, or 300
// ALTERNATE-SERVER of the client's family), a reloaded policy (peer filter) and quotas taking
// effect for the next request while the allocation that exists goes on.
#include <gtest/gtest.h>

#include "server/policy.hpp"
#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using namespace protocol;
using test::addr;
using test::reply_code;
using test::TestServer;

std::optional<TransportAddress> alternate_server(const test::Bytes& reply) {
  auto view = MessageView::parse(reply);
  if (!view) return std::nullopt;
  auto a = view->get<AlternateServer>();
  if (!a) return std::nullopt;
  return a->address;
}

TEST(Drain, NewAllocateGets508AndTheExistingOneGoesOn) {
  TestServer server;
  const auto alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  server.services->draining = true;
  ClientContext other = server.ctx;
  other.client.port = 40002;
  const auto other_alloc = test::build(
      test::request(Method::Allocate), test::tid(2),
      [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }, &alice);
  EXPECT_EQ(reply_code(server.send_from(other, other_alloc)), 508);
  EXPECT_EQ(reply_code(server.allocate(alice, 1)), 0) << "a retransmission still gets its answer";
  EXPECT_EQ(reply_code(server.refresh(alice, 3, 600)), 0) << "the allocation refreshes";
}

TEST(Drain, AlternateServerOfTheClientsFamily) {
  auto config = TestServer::default_config();
  config.alternate_servers = {addr("[2001:db8::10]:3478"), addr("192.0.2.10:3478")};
  TestServer server{config};
  server.services->draining = true;
  const auto reply = server.allocate(server.alice(), 1);
  EXPECT_EQ(reply_code(reply), 300);
  EXPECT_EQ(alternate_server(reply), addr("192.0.2.10:3478"));
}

TEST(Drain, Gets508WithoutAnAlternateOfTheFamily) {
  auto config = TestServer::default_config();
  config.alternate_servers = {addr("[2001:db8::10]:3478")};
  TestServer server{config};
  server.services->draining = true;
  const auto reply = server.allocate(server.alice(), 1);
  EXPECT_EQ(reply_code(reply), 508);
  EXPECT_FALSE(alternate_server(reply));
}

TEST(Reload, ANewPeerFilterAppliesToTheNextRequest) {
  auto config = TestServer::default_config();
  config.allow_peers = {test::prefix("10.0.0.0/8")};
  TestServer server{config};
  const auto alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  ASSERT_EQ(reply_code(server.create_permission(alice, 2, addr("10.0.0.1:5000"))), 0);
  ASSERT_EQ(reply_code(server.channel_bind(alice, 3, 0x4000, addr("10.0.0.3:5000"))), 0);
  auto reloaded = config;
  reloaded.allow_peers.clear();
  server.shard->set_policy(make_policy(reloaded));
  EXPECT_EQ(reply_code(server.create_permission(alice, 4, addr("10.0.0.2:5000"))), 403);
  EXPECT_EQ(reply_code(server.refresh(alice, 5, 600)), 0) << "the allocation is still there";
  // What the old filter let in is gone too, so peers' packets stop in both directions.
  const Allocation* a =
      server.shard->allocations().find({server.ctx.client, server.ctx.local, server.ctx.transport});
  ASSERT_NE(a, nullptr);
  const auto now = server.shard->now().steady();
  EXPECT_FALSE(a->has_permission(test::ip("10.0.0.1"), now));
  EXPECT_FALSE(a->has_permission(test::ip("10.0.0.3"), now));
  EXPECT_EQ(a->channel_by_number(0x4000, now), nullptr);
}

TEST(Reload, AQuotaTurnedOnCountsTheAllocationsThatExist) {
  TestServer server;  // no quota
  const auto alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  server.services->quotas.set_limits(1, 0);
  ClientContext other = server.ctx;
  other.client.port = 40002;
  const auto second = test::build(
      test::request(Method::Allocate), test::tid(2),
      [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }, &alice);
  EXPECT_EQ(reply_code(server.send_from(other, second)), 486);
  server.services->quotas.set_limits(0, 0);
  EXPECT_EQ(reply_code(server.send_from(other, second)), 0);
}

}  // namespace
}  // namespace turnd::server
