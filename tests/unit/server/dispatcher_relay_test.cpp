// The relay through the dispatcher over loopback: ChannelData and Send indications from the
// client reach a real UDP peer from the relayed address; the peer's datagrams come back to the
// client's sink as ChannelData or Data indications; unpermitted traffic is dropped. Also: no
// file descriptor outlives an allocation.
#include <gtest/gtest.h>

#include <filesystem>

#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using namespace protocol;
using std::chrono::milliseconds;
using test::build;
using test::Bytes;
using test::LongTerm;
using test::reply_code;
using test::request;
using test::TestServer;
using test::tid;
using test::UdpPeer;

config::Config with_allowed_loopback() {
  auto c = TestServer::default_config();
  c.allow_peers = {test::prefix("127.0.0.0/8")};
  return c;
}

Bytes send_indication(const TransportAddress& peer, ByteSpan payload, std::uint8_t id) {
  return build({Method::Send, Class::Indication}, tid(id), [&](MessageBuilder& b) {
    b.add(XorPeerAddress{peer});
    b.add(Data{payload});
  });
}

class DispatcherRelay : public testing::Test {
 protected:
  void SetUp() override {
    alice_ = server_.alice();
    const Bytes reply = server_.allocate(alice_, 1);
    ASSERT_EQ(reply_code(reply), 0);
    relayed_ = TestServer::relayed(reply);
  }
  /// The next datagram the peer receives (empty after `wait`), checking it came from the relay.
  /// Loopback delivery is synchronous: a datagram that was sent is already queued.
  Bytes receive(UdpPeer& peer, milliseconds wait = milliseconds{1000}) {
    Bytes buf(2048);
    TransportAddress from;
    buf.resize(peer.receive(buf.data(), buf.size(), &from, wait));
    if (!buf.empty()) {
      EXPECT_EQ(from, relayed_) << "sent from the relayed address";
    }
    return buf;
  }

  TestServer server_{with_allowed_loopback()};
  LongTerm alice_;
  TransportAddress relayed_;
};

TEST_F(DispatcherRelay, ChannelDataReachesThePeer) {
  UdpPeer peer;
  ASSERT_EQ(reply_code(server_.channel_bind(alice_, 2, 0x4000, peer.address())), 0);
  const Bytes payload = {'h', 'e', 'l', 'l', 'o', ' ', 'p', 'e', 'e', 'r'};
  EXPECT_TRUE(server_.send(test::channel_data(0x4000, payload)).empty()) << "never answered";
  EXPECT_EQ(receive(peer), payload);

  Bytes padded = test::channel_data(0x4000, payload);
  padded.resize(padded.size() + 2, 0);  // RFC 8656 §12.5: trailing padding over UDP is ignored
  server_.send(padded);
  EXPECT_EQ(receive(peer), payload);

  server_.send(test::channel_data(0x4001, payload));  // not bound
  EXPECT_TRUE(receive(peer, milliseconds{100}).empty());
  EXPECT_EQ(server_.shard->counters().channel_data_dropped.get(), 1u);
  EXPECT_EQ(server_.shard->counters().packets_to_peer.get(), 2u);
}

TEST_F(DispatcherRelay, SendIndicationNeedsAPermission) {
  UdpPeer peer;
  const Bytes payload = {'i', 'n', 'd'};
  EXPECT_TRUE(server_.send(send_indication(peer.address(), payload, 3)).empty());
  EXPECT_TRUE(receive(peer, milliseconds{100}).empty()) << "no permission yet";

  ASSERT_EQ(reply_code(server_.create_permission(alice_, 4, peer.address())), 0);
  EXPECT_TRUE(server_.send(send_indication(peer.address(), payload, 5)).empty());
  EXPECT_EQ(receive(peer), payload);
}

TEST_F(DispatcherRelay, PeerDatagramsReachTheClient) {
  UdpPeer bound, permitted, same_ip, stranger{"127.0.0.2"};
  ASSERT_EQ(reply_code(server_.channel_bind(alice_, 6, 0x4321, bound.address())), 0);
  ASSERT_EQ(reply_code(server_.create_permission(alice_, 7, permitted.address())), 0);
  const Bytes payload = {'f', 'r', 'o', 'm', ' ', 'p', 'e', 'e', 'r'};
  auto& sink = server_.sink;

  ASSERT_TRUE(bound.send_to(relayed_, payload));
  ASSERT_TRUE(server_.pump_until([&] { return sink.size() == 1; }));
  const auto cd = sink.bytes(0);
  EXPECT_EQ(Bytes(cd.begin(), cd.end()), test::channel_data(0x4321, payload));
  EXPECT_EQ(sink.record(0).client, server_.ctx.client);
  EXPECT_EQ(sink.record(0).local, server_.ctx.local);

  ASSERT_TRUE(permitted.send_to(relayed_, payload));
  ASSERT_TRUE(server_.pump_until([&] { return sink.size() == 2; }));
  auto msg = MessageView::parse(sink.bytes(1));
  ASSERT_TRUE(msg) << to_string(msg.error());
  EXPECT_TRUE(msg->type().is(Method::Data, Class::Indication));
  ASSERT_TRUE(msg->get<XorPeerAddress>());
  EXPECT_EQ(msg->get<XorPeerAddress>()->address, permitted.address());
  ASSERT_TRUE(msg->get<Data>());
  EXPECT_EQ(Bytes(msg->get<Data>()->value.begin(), msg->get<Data>()->value.end()), payload);

  // RFC 8656 §9: permissions are per IP address; any port of a permitted IP gets through.
  ASSERT_TRUE(same_ip.send_to(relayed_, payload));
  ASSERT_TRUE(server_.pump_until([&] { return sink.size() == 3; }));
  msg = MessageView::parse(sink.bytes(2));
  ASSERT_TRUE(msg && msg->get<XorPeerAddress>());
  EXPECT_EQ(msg->get<XorPeerAddress>()->address, same_ip.address());

  const auto& counters = server_.shard->counters();
  ASSERT_TRUE(stranger.send_to(relayed_, payload));
  ASSERT_TRUE(
      server_.pump_until([&] { return counters.peer_packets_without_permission.get() == 1; }));
  EXPECT_EQ(sink.size(), 3u) << "no permission for 127.0.0.2: dropped";
  EXPECT_EQ(counters.packets_from_peer.get(), 3u);
  EXPECT_EQ(sink.overflow(), 0u);
}

// Both ends of a call on this shard: A's ChannelData to B's relayed address is handed over in
// the process and reaches B's client as if it had come from A's relayed address.
TEST_F(DispatcherRelay, RelayToRelayOnTheSameShardIsHandedOver) {
  const auto a_client = server_.ctx.client, b_client = test::addr("127.0.0.1:40002");
  server_.ctx.client = b_client;
  const LongTerm carol = server_.user("carol", "secret");
  const Bytes b_reply = server_.allocate(carol, 1);
  ASSERT_EQ(reply_code(b_reply), 0);
  const auto b_relayed = TestServer::relayed(b_reply);
  server_.ctx.client = a_client;
  ASSERT_EQ(reply_code(server_.channel_bind(alice_, 2, 0x4000, b_relayed)), 0);
  const Bytes payload = {'r', 'e', 'l', 'a', 'y'};
  const auto& counters = server_.shard->counters();

  server_.send(test::channel_data(0x4000, payload));
  EXPECT_EQ(server_.sink.size(), 0u) << "B has no permission for A's relayed address";
  EXPECT_EQ(counters.peer_packets_without_permission.get(), 1u);

  server_.ctx.client = b_client;
  ASSERT_EQ(reply_code(server_.create_permission(carol, 2, relayed_)), 0);
  server_.ctx.client = a_client;
  server_.send(test::channel_data(0x4000, payload));
  ASSERT_EQ(server_.sink.size(), 1u) << "delivered during the call, no socket in between";
  EXPECT_EQ(server_.sink.record(0).client, b_client);
  auto msg = MessageView::parse(server_.sink.bytes(0));
  ASSERT_TRUE(msg && msg->type().is(Method::Data, Class::Indication));
  ASSERT_TRUE(msg->get<XorPeerAddress>() && msg->get<Data>());
  EXPECT_EQ(msg->get<XorPeerAddress>()->address, relayed_);
  EXPECT_EQ(Bytes(msg->get<Data>()->value.begin(), msg->get<Data>()->value.end()), payload);

  server_.ctx.client = b_client;
  ASSERT_EQ(reply_code(server_.channel_bind(carol, 3, 0x4abc, relayed_)), 0);
  server_.ctx.client = a_client;
  server_.send(test::channel_data(0x4000, payload));
  ASSERT_EQ(server_.sink.size(), 2u);
  const auto cd = server_.sink.bytes(1);
  EXPECT_EQ(Bytes(cd.begin(), cd.end()), test::channel_data(0x4abc, payload));
  server_.pump_until([] { return false; }, milliseconds{50});
  EXPECT_EQ(server_.sink.size(), 2u) << "nothing crossed the sockets as well";
  EXPECT_EQ(counters.packets_from_peer.get(), 2u);
}

// Issue 9, defect 1: the hand-off accepted 64 KiB while the kernel path never delivers more
// than one relay slot; the Data indication's 16-bit length then wrapped and the rest of A's
// bytes reached B's TCP stream as frames of their own (forged Data indications). Now every
// size delivers exactly what the kernel path would: up to 2048 bytes intact, nothing above.
class HandOverSizes : public DispatcherRelay, public testing::WithParamInterface<std::size_t> {};

TEST_P(HandOverSizes, DeliverExactlyWhatTheKernelPathWould) {
  const std::size_t size = GetParam();
  server_.sink.set_stream(true);  // B's client is on TCP: a wrapped length would be parsed
  const auto a_client = server_.ctx.client, b_client = test::addr("127.0.0.1:40002");
  server_.ctx.client = b_client;
  const LongTerm carol = server_.user("carol", "secret");
  const Bytes b_reply = server_.allocate(carol, 1);
  ASSERT_EQ(reply_code(b_reply), 0);
  ASSERT_EQ(reply_code(server_.create_permission(carol, 2, relayed_)), 0);
  server_.ctx.client = a_client;
  const auto b_relayed = TestServer::relayed(b_reply);
  ASSERT_EQ(reply_code(server_.channel_bind(alice_, 2, 0x4000, b_relayed)), 0);

  // A payload made of forged Data indications, as an attacker would send.
  Bytes payload(size);
  const Bytes forged = send_indication(test::addr("192.0.2.66:9"), as_bytes("forged"), 9);
  for (std::size_t i = 0; i < size; ++i) payload[i] = forged[i % forged.size()];
  Bytes frame = test::channel_data(0x4000, {});
  frame[2] = static_cast<std::uint8_t>(size >> 8);
  frame[3] = static_cast<std::uint8_t>(size);
  frame.insert(frame.end(), payload.begin(), payload.end());
  server_.send(frame);
  const auto& counters = server_.shard->counters();
  if (size > relay::kMaxRelayPayload) {
    EXPECT_EQ(server_.sink.size(), 0u) << "larger than a relay slot: not relayed";
    EXPECT_EQ(counters.relay_oversize_dropped.get(), 1u);
    return;
  }
  ASSERT_EQ(server_.sink.size(), 1u);
  const auto delivered = server_.sink.bytes(0);
  auto msg = MessageView::parse(delivered);
  ASSERT_TRUE(msg) << to_string(msg.error());
  EXPECT_EQ(delivered.size(), kHeaderSize + load_u16(delivered.data() + 2)) << "one frame only";
  EXPECT_EQ(delivered.size() % 4, 0u) << "padded on a stream";
  ASSERT_TRUE(msg->get<Data>());
  EXPECT_EQ(Bytes(msg->get<Data>()->value.begin(), msg->get<Data>()->value.end()), payload);
  EXPECT_EQ(msg->get<XorPeerAddress>()->address, relayed_);
}
INSTANTIATE_TEST_SUITE_P(Sizes, HandOverSizes,
                         testing::Values(1, 2047, 2048, 2049, 4096, 65531, 65535));

TEST_F(DispatcherRelay, OversizeToAnExternalPeerIsDroppedToo) {
  UdpPeer peer;
  ASSERT_EQ(reply_code(server_.channel_bind(alice_, 2, 0x4000, peer.address())), 0);
  Bytes big(relay::kMaxRelayPayload + 1, 'x');
  server_.send(test::channel_data(0x4000, big));
  EXPECT_TRUE(receive(peer, milliseconds{100}).empty());
  EXPECT_EQ(server_.shard->counters().relay_oversize_dropped.get(), 1u);
  big.pop_back();
  server_.send(test::channel_data(0x4000, big));
  EXPECT_EQ(receive(peer).size(), relay::kMaxRelayPayload) << "one relay slot still goes out";
}

// Issue 9, defect 7: the own-address guard compares the exact relayed (IP, port), not the
// port alone: a live relay port on another IP of the host is not a relayed address.
TEST(OwnAddressGuard, OnlyTheExactLiveRelayedAddressIsReachable) {
  auto config = TestServer::default_config();  // no --allow-peer: 127/8 is own and guarded
  TestServer server{config};
  const LongTerm alice = server.alice();
  const Bytes reply = server.allocate(alice, 1);
  ASSERT_EQ(reply_code(reply), 0);
  const auto relayed = TestServer::relayed(reply);
  EXPECT_TRUE(server.services->live_relays.contains(relayed));
  TransportAddress other_ip = relayed;
  other_ip.ip = test::ip("127.0.0.2");
  EXPECT_FALSE(server.services->live_relays.contains(other_ip));
  ASSERT_EQ(reply_code(server.refresh(alice, 2, 0)), 0);
  EXPECT_FALSE(server.services->live_relays.contains(relayed)) << "gone with the allocation";
}

// Every open descriptor of this process, from /proc/self/fd.
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

/// An allocation with a channel and traffic both ways, as a client would use it.
void exercise(TestServer& server, std::uint16_t client_port, UdpPeer& peer) {
  server.ctx.client.port = client_port;
  const LongTerm alice = server.alice();
  const Bytes reply = server.allocate(alice, 1);
  ASSERT_EQ(reply_code(reply), 0);
  ASSERT_EQ(reply_code(server.channel_bind(alice, 2, 0x4000, peer.address())), 0);
  server.send(test::channel_data(0x4000, as_bytes("x")));
  std::uint8_t buf[64];
  EXPECT_EQ(peer.receive(buf, sizeof buf, nullptr, milliseconds{1000}), 1u);
  const std::size_t before = server.sink.size();
  ASSERT_TRUE(peer.send_to(TestServer::relayed(reply), as_bytes("y")));
  ASSERT_TRUE(server.pump_until([&] { return server.sink.size() == before + 1; }));
}

TEST(FdLeak, RefreshZeroClosesEverything) {
  UdpPeer peer;
  TestServer server{with_allowed_loopback()};
  server.fresh_nonce();  // lazily opened process-wide descriptors, if any, exist from here
  const std::size_t before = open_fds();
  exercise(server, 40001, peer);
  EXPECT_EQ(open_fds(), before + 1) << "the relay socket";
  ASSERT_EQ(reply_code(server.refresh(server.alice(), 3, 0)), 0);
  EXPECT_EQ(open_fds(), before);
  server.pump_until([] { return false; }, milliseconds{50});  // cancelled waits complete
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(server.services->ports.in_use(), 0u);
}

TEST(FdLeak, RevocationClosesEverything) {
  UdpPeer peer;
  TestServer server{with_allowed_loopback()};
  server.fresh_nonce();
  const std::size_t before = open_fds();
  exercise(server, 40001, peer);
  server.shard->allocations().remove_by_user("carol", "closed: credential revoked");
  EXPECT_EQ(server.shard->allocations().size(), 1u) << "only the revoked user's";
  server.shard->allocations().remove_by_user("alice", "closed: credential revoked");
  EXPECT_EQ(server.shard->allocations().size(), 0u);
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(server.services->ports.in_use(), 0u);
}

TEST(FdLeak, TableDestructionClosesEverything) {
  UdpPeer peer;
  { TestServer warm_up{with_allowed_loopback()}; }
  const std::size_t before = open_fds();
  {
    TestServer server{with_allowed_loopback()};
    for (std::uint16_t port : {40001, 40002, 40003}) exercise(server, port, peer);
    EXPECT_EQ(server.shard->allocations().size(), 3u);
    EXPECT_GT(open_fds(), before + 3);
  }
  EXPECT_EQ(open_fds(), before) << "sockets, epoll and timer descriptors are all closed";
}

}  // namespace
}  // namespace turnd::server
