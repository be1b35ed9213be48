// Every expiry of RFC 8489/8656 on a manual clock: permission (300 s), channel (600 s) and its
// 300 s cool-down, allocation lifetime, REST credential expiry during an allocation, nonce
// (438) and EVEN-PORT reservation token (30 s). A real shard on real bytes; time moves only
// when the test says so, so each case runs in milliseconds and checks the exact second.
#include <gtest/gtest.h>

#include "auth/rest_credential.hpp"
#include "protocol/channel_data.hpp"
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

config::Config expiry_config() {
  config::Config c = TestServer::default_config();
  c.allow_peers = {test::prefix("127.0.0.0/8")};
  c.auth_secrets = {"expiry-secret"};
  return c;
}

class Expiry : public testing::Test {
 protected:
  Allocation* allocation() {
    return server.shard->allocations().find({server.ctx.client, server.ctx.local, Transport::Udp});
  }
  /// Moves the clock and runs the shard's once-a-second sweep at the new time.
  void advance(seconds d) {
    clock.advance(d);
    server.shard->sweep();
  }
  /// Sends ChannelData on `channel`; true when it was relayed (counted to the peer).
  bool relayed(std::uint16_t channel) {
    const auto before = server.shard->counters().packets_to_peer.get();
    const std::uint8_t payload[4] = {1, 2, 3, 4};
    server.send(test::channel_data(channel, {payload, sizeof payload}));
    return server.shard->counters().packets_to_peer.get() == before + 1;
  }
  LongTerm rest_user(seconds valid_for) {
    const std::string name = auth::make_rest_username("bob", clock.wall_seconds() + valid_for, ':');
    return server.user(name, auth::rest_password("expiry-secret", name));
  }

  ManualClock clock;
  TestServer server{expiry_config(), clock};
  const TransportAddress peer = addr("127.0.0.1:40999");
};

TEST_F(Expiry, PermissionLastsExactly300Seconds) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  // The channel (600 s) outlives the permission it installs (300 s): what stops the data at
  // 300 s is the permission alone (RFC 8656 §12.5 drops ChannelData to a peer without one).
  ASSERT_EQ(reply_code(server.channel_bind(alice, 2, 0x4000, peer)), 0);
  advance(seconds{299});
  EXPECT_TRUE(relayed(0x4000)) << "at 299 s";
  advance(seconds{1});
  EXPECT_FALSE(relayed(0x4000)) << "at 300 s the permission has expired";
  EXPECT_TRUE(allocation()->permissions.empty()) << "the sweep dropped it";
  // A refresh installs it again for another 300 s.
  ASSERT_EQ(reply_code(server.create_permission(server.alice(), 3, peer)), 0);
  EXPECT_TRUE(relayed(0x4000));
}

TEST_F(Expiry, CreatePermissionRefreshRestartsThe300Seconds) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  ASSERT_EQ(reply_code(server.channel_bind(alice, 2, 0x4000, peer)), 0);
  advance(seconds{200});
  ASSERT_EQ(reply_code(server.create_permission(alice, 3, peer)), 0);
  advance(seconds{299});
  EXPECT_TRUE(relayed(0x4000)) << "499 s after the bind, 299 s after the refresh";
  advance(seconds{1});
  EXPECT_FALSE(relayed(0x4000));
}

TEST_F(Expiry, ChannelLasts600SecondsThenCoolsDownFor300) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  ASSERT_EQ(reply_code(server.refresh(alice, 2, 3600)), 0);
  ASSERT_EQ(reply_code(server.channel_bind(alice, 3, 0x4000, peer)), 0);
  // Keep the permission alive on its own (CreatePermission does not refresh the channel).
  advance(seconds{290});
  ASSERT_EQ(reply_code(server.create_permission(alice, 4, peer)), 0);
  advance(seconds{290});
  ASSERT_EQ(reply_code(server.create_permission(alice, 5, peer)), 0);
  advance(seconds{19});
  EXPECT_TRUE(relayed(0x4000)) << "at 599 s";
  advance(seconds{1});
  EXPECT_FALSE(relayed(0x4000)) << "at 600 s the channel has expired";

  // Cool-down (RFC 8656 §12): for 300 s the number cannot go to another peer, nor the peer
  // to another number.
  const TransportAddress other = addr("127.0.0.1:40998");
  EXPECT_EQ(reply_code(server.channel_bind(alice, 6, 0x4000, other)), 400);
  EXPECT_EQ(reply_code(server.channel_bind(alice, 7, 0x4001, peer)), 400);
  advance(seconds{299});
  const LongTerm later = server.alice();  // the first nonce is older than its 600 s by now
  EXPECT_EQ(reply_code(server.channel_bind(later, 8, 0x4000, other)), 400) << "at 899 s";
  advance(seconds{1});
  EXPECT_EQ(reply_code(server.channel_bind(later, 9, 0x4000, other)), 0) << "at 900 s";
  EXPECT_TRUE(relayed(0x4000));
}

TEST_F(Expiry, AllocationExpiresAtItsLifetime) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);  // default lifetime: 600 s
  advance(seconds{599});
  EXPECT_NE(allocation(), nullptr) << "at 599 s";
  advance(seconds{1});
  EXPECT_EQ(allocation(), nullptr) << "at 600 s";
  EXPECT_EQ(server.shard->counters().allocations_expired.get(), 1u);
  EXPECT_EQ(reply_code(server.refresh(server.alice(), 2, 600)), 437) << "no allocation left";
}

TEST_F(Expiry, RefreshExtendsTheLifetimeFromNow) {
  const LongTerm alice = server.alice();
  ASSERT_EQ(reply_code(server.allocate(alice, 1)), 0);
  advance(seconds{500});
  ASSERT_EQ(reply_code(server.refresh(alice, 2, 600)), 0);
  advance(seconds{599});
  EXPECT_NE(allocation(), nullptr) << "1099 s after Allocate, 599 s after Refresh";
  advance(seconds{1});
  EXPECT_EQ(allocation(), nullptr);
}

TEST_F(Expiry, RestCredentialEndsTheAllocationWhenItExpires) {
  // Asked for an hour, granted what the credential has left: its 120 s plus the clock skew
  // it is accepted with (60 s by default), 180 s.
  const LongTerm bob = rest_user(seconds{120});
  const Bytes reply = server.send(build(
      request(Method::Allocate), tid(1),
      [](MessageBuilder& b) {
        b.add(RequestedTransport{kProtocolUdp});
        b.add(Lifetime{3600});
      },
      &bob));
  ASSERT_EQ(reply_code(reply), 0);
  ASSERT_TRUE(MessageView::parse(reply)->get<Lifetime>());
  EXPECT_EQ(MessageView::parse(reply)->get<Lifetime>()->value, 180u);

  advance(seconds{60});
  // A Refresh with the same credential cannot go past it either: 120 s are left.
  const Bytes refreshed = server.refresh(server.user(bob.user, bob.password), 2, 3600);
  ASSERT_EQ(reply_code(refreshed), 0);
  EXPECT_EQ(MessageView::parse(refreshed)->get<Lifetime>()->value, 120u);
  advance(seconds{119});
  EXPECT_NE(allocation(), nullptr) << "at 179 s";
  advance(seconds{1});
  EXPECT_EQ(allocation(), nullptr) << "at 180 s the credential has run out";
}

TEST_F(Expiry, RestCredentialIsAcceptedUntilExpiryPlusClockSkew) {
  const LongTerm bob = rest_user(seconds{10});
  advance(seconds{10 + 60});  // the default clock_skew is 60 s
  EXPECT_EQ(reply_code(server.allocate(server.user(bob.user, bob.password), 1)), 0)
      << "expired 60 s ago: within the skew";
  ASSERT_EQ(reply_code(server.refresh(server.user(bob.user, bob.password), 2, 0)), 0);
  advance(seconds{1});
  EXPECT_EQ(reply_code(server.allocate(server.user(bob.user, bob.password), 3)), 401)
      << "61 s past its expiry";
}

TEST_F(Expiry, NonceIsStaleAfterItsLifetime) {
  const LongTerm alice = server.alice();  // its nonce is minted now; nonce_lifetime: 600 s
  advance(seconds{600});
  EXPECT_EQ(reply_code(server.allocate(alice, 1)), 0) << "at 600 s (whole seconds)";
  ASSERT_EQ(reply_code(server.refresh(alice, 2, 0)), 0);
  advance(seconds{1});
  const Bytes stale = server.allocate(alice, 3);
  EXPECT_EQ(reply_code(stale), 438) << "at 601 s";
  // The 438 carries a fresh nonce that works.
  auto msg = MessageView::parse(stale);
  ASSERT_TRUE(msg && msg->get<Nonce>());
  LongTerm renewed = alice;
  renewed.nonce = std::string(msg->get<Nonce>()->text());
  EXPECT_EQ(reply_code(server.allocate(renewed, 4)), 0);
}

/// An Allocate with EVEN-PORT (R bit set); returns the reply.
Bytes allocate_reserving(TestServer& server, const LongTerm& who, std::uint8_t id) {
  return server.send(build(
      request(Method::Allocate), tid(id),
      [](MessageBuilder& b) {
        b.add(RequestedTransport{kProtocolUdp});
        b.add(EvenPort{true});
      },
      &who));
}

/// An Allocate from another client port that redeems `token`.
Bytes allocate_with_token(TestServer& server, const LongTerm& who, std::uint8_t id, ByteSpan token,
                          std::uint16_t client_port) {
  ClientContext other = server.ctx;
  other.client.port = client_port;
  return server.send_from(other, build(
                                     request(Method::Allocate), tid(id),
                                     [&](MessageBuilder& b) {
                                       b.add(RequestedTransport{kProtocolUdp});
                                       b.add(protocol::ReservationToken{token});
                                     },
                                     &who));
}

/// Reserves an even/odd pair from the test's client; returns the Allocate reply.
Bytes reserve_pair(TestServer& server, Bytes& token) {
  const Bytes reply = allocate_reserving(server, server.alice(), 1);
  auto msg = MessageView::parse(reply);
  if (!msg || !msg->get<protocol::ReservationToken>()) return {};
  const auto value = msg->get<protocol::ReservationToken>()->value;
  token.assign(value.begin(), value.end());
  return reply;
}

TEST_F(Expiry, ReservationTokenHoldsTheOddPortFor30Seconds) {
  Bytes token;
  const Bytes first = reserve_pair(server, token);
  ASSERT_EQ(reply_code(first), 0);
  advance(seconds{30});
  const Bytes redeemed = allocate_with_token(server, server.alice(), 2, token, 40002);
  ASSERT_EQ(reply_code(redeemed), 0) << "at 30 s the token still holds the odd port";
  EXPECT_EQ(TestServer::relayed(redeemed).port, TestServer::relayed(first).port + 1);
}

TEST_F(Expiry, ReservationTokenIsRefusedAfter30Seconds) {
  Bytes token;
  ASSERT_EQ(reply_code(reserve_pair(server, token)), 0);
  advance(seconds{31});  // the sweep frees the reserved port
  EXPECT_EQ(reply_code(allocate_with_token(server, server.alice(), 2, token, 40002)), 508);
}

TEST_F(Expiry, ReservationTokenRedeemedLateWithoutASweepIsRefusedToo) {
  Bytes token;
  ASSERT_EQ(reply_code(reserve_pair(server, token)), 0);
  clock.advance(seconds{31});  // no sweep: redeem itself must see the token is stale
  EXPECT_EQ(reply_code(allocate_with_token(server, server.alice(), 2, token, 40002)), 508);
}

}  // namespace
}  // namespace turnd::server
