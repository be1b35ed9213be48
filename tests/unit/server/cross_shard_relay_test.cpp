// Relay to relay between two shards (RelayPath::hand_over -> ShardHandoff -> drain_handoff):
// two real shards sharing one SharedServices, each on its own io_context (pumped here, so
// every step is deterministic), A's allocation on shard 0 and B's on shard 1. A's datagram to
// B's relayed address reaches B's client without crossing a socket, with B's permission
// checked on shard 1; a burst past the ring drops and counts; a gone target or a stopped shard
// gets nothing. The hot path allocates nothing once the ring between the two shards exists.
#include <gtest/gtest.h>
#include <sys/ioctl.h>

#include "alloc_counter.hpp"
#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using namespace protocol;
using std::chrono::milliseconds;
using test::Bytes;
using test::LongTerm;
using test::reply_code;
using test::TestServer;
using turnd::test::allocations_during;

config::Config two_shards() {
  auto c = TestServer::default_config();
  c.threads = 2;
  c.allow_peers = {test::prefix("127.0.0.0/8")};
  return c;
}

class CrossShard : public testing::Test {
 protected:
  void SetUp() override {
    s0_.shard->start_handoff();
    shard1_.start_handoff();
    alice_ = s0_.alice();
    const Bytes a_reply = s0_.allocate(alice_, 1);
    ASSERT_EQ(reply_code(a_reply), 0);
    a_relayed_ = TestServer::relayed(a_reply);
    carol_ = s0_.user("carol", "secret");  // nonces verify on every shard
    const Bytes b_reply = send1(s0_.allocate_request(carol_, 1));
    ASSERT_EQ(reply_code(b_reply), 0);
    b_relayed_ = TestServer::relayed(b_reply);
    ASSERT_EQ(reply_code(s0_.channel_bind(alice_, 2, 0x4000, b_relayed_)), 0);
  }

  /// B's client sends `msg` to shard 1; returns the reply.
  Bytes send1(Bytes msg) {
    const ByteSpan reply = d1_.on_client_message(b_ctx_, msg);
    d1_.flush();
    return {reply.begin(), reply.end()};
  }
  /// Runs shard 1's ready handlers until `done()` or `timeout`.
  template <class Pred>
  bool pump1_until(Pred&& done, milliseconds timeout = milliseconds{2000}) {
    return test::pump_until(io1_, done, timeout);
  }
  void a_sends(std::size_t n = 1) {
    for (std::size_t i = 0; i < n; ++i) s0_.send(test::channel_data(0x4000, payload_));
  }
  /// Bytes waiting on B's relay socket: what the kernel path would have delivered.
  int b_socket_queued() {
    Allocation* b = shard1_.allocations().find_by_relay_port(b_relayed_.port);
    int n = -1;
    if (b != nullptr) ::ioctl(b->relays[0].socket.native_handle(), FIONREAD, &n);
    return n;
  }

  TestServer s0_{two_shards()};  // shard 0, and the SharedServices both shards use
  test::CapturingSink sink1_;    // B's client, on shard 1
  boost::asio::io_context io1_;
  ShardState shard1_{1, io1_, *s0_.services};
  Dispatcher d1_{shard1_};
  ClientContext b_ctx_{test::addr("127.0.0.1:40002"), test::addr("127.0.0.1:3478"), Transport::Udp,
                       &sink1_};
  LongTerm alice_, carol_;
  TransportAddress a_relayed_, b_relayed_;
  const Bytes payload_ = {'a', 'c', 'r', 'o', 's', 's'};
  const ShardCounters& c0_ = s0_.shard->counters();
  const ShardCounters& c1_ = shard1_.counters();
};

TEST_F(CrossShard, LiveRelaysKnowTheOwnerShard) {
  EXPECT_EQ(s0_.services->live_relays.owner(a_relayed_), 0u);
  EXPECT_EQ(s0_.services->live_relays.owner(b_relayed_), 1u);
}

TEST_F(CrossShard, RelayToRelayIsHandedOverWithTheTargetsPermission) {
  a_sends();
  EXPECT_EQ(c0_.handoff_cross_shard.get(), 1u);
  EXPECT_EQ(c0_.packets_to_peer.get(), 1u) << "counted by the sender, as on the kernel path";
  ASSERT_TRUE(pump1_until([&] { return c1_.peer_packets_without_permission.get() == 1; }))
      << "B has no permission for A's relayed address: dropped on shard 1";
  EXPECT_EQ(sink1_.size(), 0u);

  ASSERT_EQ(reply_code(send1(s0_.create_permission_request(carol_, 2, a_relayed_))), 0);
  a_sends();
  ASSERT_TRUE(pump1_until([&] { return sink1_.size() == 1; }));
  EXPECT_EQ(sink1_.record(0).client, b_ctx_.client);
  auto msg = MessageView::parse(sink1_.bytes(0));
  ASSERT_TRUE(msg && msg->type().is(Method::Data, Class::Indication));
  ASSERT_TRUE(msg->get<XorPeerAddress>() && msg->get<Data>());
  EXPECT_EQ(msg->get<XorPeerAddress>()->address, a_relayed_);
  EXPECT_EQ(Bytes(msg->get<Data>()->value.begin(), msg->get<Data>()->value.end()), payload_);

  ASSERT_EQ(reply_code(send1(s0_.channel_bind_request(carol_, 3, 0x4abc, a_relayed_))), 0);
  a_sends();
  EXPECT_EQ(b_socket_queued(), 0) << "nothing went through B's relay socket";
  ASSERT_TRUE(pump1_until([&] { return sink1_.size() == 2; }));
  const auto cd = sink1_.bytes(1);
  EXPECT_EQ(Bytes(cd.begin(), cd.end()), test::channel_data(0x4abc, payload_));

  pump1_until([] { return false; }, milliseconds{50});
  EXPECT_EQ(sink1_.size(), 2u) << "nothing crossed the sockets as well";
  EXPECT_EQ(b_socket_queued(), 0);
  EXPECT_EQ(c0_.handoff_cross_shard.get(), 3u);
  EXPECT_EQ(c0_.handoff_same_shard.get(), 0u);
  EXPECT_EQ(c1_.packets_from_peer.get(), 2u);
  EXPECT_EQ(c1_.peer_packets_without_permission.get(), 1u);
  EXPECT_GE(c1_.handoff_drains.get(), 3u);

  // And back: B's datagram to A's relayed address, drained by shard 0.
  ASSERT_EQ(reply_code(s0_.create_permission(alice_, 4, b_relayed_)), 0);
  send1(test::channel_data(0x4abc, payload_));
  EXPECT_EQ(c1_.handoff_cross_shard.get(), 1u);
  ASSERT_TRUE(s0_.pump_until([&] { return s0_.sink.size() == 1; }));
  EXPECT_EQ(s0_.sink.record(0).client, s0_.ctx.client);
}

TEST_F(CrossShard, ABurstPastTheRingDropsCountsAndWakesOnce) {
  ASSERT_EQ(reply_code(send1(s0_.create_permission_request(carol_, 2, a_relayed_))), 0);
  constexpr std::size_t kCap = relay::ShardHandoff::kRingCapacity, kSent = kCap + 44;
  a_sends(kSent);  // shard 1 does not run meanwhile
  EXPECT_EQ(c0_.handoff_cross_shard.get(), kCap);
  EXPECT_EQ(c0_.handoff_dropped_queue_full.get(), kSent - kCap);
  EXPECT_EQ(c0_.packets_to_peer.get(), kSent);
  ASSERT_TRUE(pump1_until([&] { return sink1_.size() == kCap; }));
  EXPECT_EQ(c1_.handoff_drains.get(), 1u) << "one wake-up for the whole burst";
  a_sends();
  ASSERT_TRUE(pump1_until([&] { return sink1_.size() == kCap + 1; })) << "room again";
}

TEST_F(CrossShard, ATargetGoneBeforeTheDrainGetsNothing) {
  ASSERT_EQ(reply_code(send1(s0_.create_permission_request(carol_, 2, a_relayed_))), 0);
  a_sends();                                                           // queued to shard 1
  ASSERT_EQ(reply_code(send1(s0_.refresh_request(carol_, 3, 0))), 0);  // B leaves first
  ASSERT_TRUE(pump1_until([&] { return c1_.handoff_drains.get() == 1; }));
  EXPECT_EQ(sink1_.size(), 0u);
  EXPECT_EQ(c1_.packets_from_peer.get(), 0u);
  EXPECT_EQ(c1_.peer_packets_without_permission.get(), 0u);
  EXPECT_FALSE(s0_.services->live_relays.owner(b_relayed_));
}

TEST_F(CrossShard, AStoppedShardIsNotWaitedFor) {
  shard1_.stop_handoff();
  a_sends(1000);
  EXPECT_EQ(c0_.handoff_dropped_target_stopped.get(), 1000u);
  EXPECT_EQ(c0_.handoff_cross_shard.get(), 0u);
}

TEST_F(CrossShard, SameShardRelayIsCountedAsSuch) {
  const auto a_client = s0_.ctx.client;
  s0_.ctx.client.port = 40003;
  const LongTerm carol = s0_.user("carol", "secret");
  const Bytes c_reply = s0_.allocate(carol, 5);
  ASSERT_EQ(reply_code(c_reply), 0);
  s0_.ctx.client = a_client;
  ASSERT_EQ(reply_code(s0_.channel_bind(alice_, 6, 0x4001, TestServer::relayed(c_reply))), 0);
  s0_.send(test::channel_data(0x4001, payload_));
  EXPECT_EQ(c0_.handoff_same_shard.get(), 1u);
  EXPECT_EQ(c0_.handoff_cross_shard.get(), 0u);
}

TEST_F(CrossShard, TheHotPathDoesNotAllocate) {
  ASSERT_EQ(reply_code(send1(s0_.create_permission_request(carol_, 2, a_relayed_))), 0);
  a_sends();  // warm-up: the ring 0 -> 1 is made on the first datagram
  ASSERT_TRUE(pump1_until([&] { return sink1_.size() == 1; }));
  sink1_.clear();
  Bytes frame = test::channel_data(0x4000, payload_), scratch = frame;
  const auto n = allocations_during([&] {
    for (int round = 0; round < 100; ++round) {
      for (int i = 0; i < 10; ++i) {
        scratch = frame;  // same size: no allocation
        s0_.dispatcher->on_client_message(s0_.ctx, MutableByteSpan{scratch.data(), scratch.size()});
      }
      s0_.dispatcher->flush();
      pump1_until([&] { return sink1_.size() == static_cast<std::size_t>(round + 1) * 10; });
    }
  });
  EXPECT_EQ(sink1_.size(), 1000u);
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
}

}  // namespace
}  // namespace turnd::server
