// The relay hot path never allocates: with the counting allocators of tests/unit/common
// (alloc_counter.hpp: operator new and the C allocator, since Boost.Asio allocates with
// aligned_alloc), a warmed-up allocation relays ChannelData and Send indications client -> peer
// through Dispatcher::on_client_message, and peer -> client datagrams through the relay socket's
// readiness handler (io_context::poll), over real loopback sockets. Its own executable, because
// the replacements are global. When something does allocate, the stack of the first allocation
// of each kind is printed.
#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>
#include <cstdlib>
#include <cstring>

#include "alloc_counter.hpp"
#include "server_test_support.hpp"

namespace turnd::server {
namespace {

using namespace protocol;
using test::Bytes;
using test::reply_code;
using test::TestServer;
using turnd::test::allocations_during;

constexpr int kRounds = 1000;

class RelayHotPath : public testing::Test {
 protected:
  static config::Config config() {
    auto c = TestServer::default_config();
    c.allow_peers = {test::prefix("127.0.0.0/8")};
    return c;
  }
  void SetUp() override {
    const auto alice = server_.alice();
    const Bytes reply = server_.allocate(alice, 1);
    ASSERT_EQ(reply_code(reply), 0);
    relayed_ = TestServer::relayed(reply);
    ASSERT_EQ(reply_code(server_.channel_bind(alice, 2, 0x4000, bound_.address())), 0);
    ASSERT_EQ(reply_code(server_.create_permission(alice, 3, permitted_.address())), 0);
    channel_data_ = test::channel_data(0x4000, payload_);
    indication_ =
        test::build({Method::Send, Class::Indication}, test::tid(4), [&](MessageBuilder& b) {
          b.add(XorPeerAddress{permitted_.address()});
          b.add(Data{payload_});
        });
    scratch_.resize(2048);
    // Warm-up: one datagram each way on each path (first-use statics, asio's handler memory).
    std::size_t n = 0;
    ASSERT_EQ(client_sends(channel_data_, 1, bound_, n), 1u);
    ASSERT_EQ(client_sends(indication_, 1, permitted_, n), 1u);
    ASSERT_TRUE(peer_sends(bound_, 1, 1));
    ASSERT_TRUE(peer_sends(permitted_, 1, 1));
    server_.sink.clear();
  }

  /// The client sends `msg` `count` times (flushing every 25, as a listener flushes per batch);
  /// returns how many the peer received intact, all received in `n`.
  std::size_t client_sends(const Bytes& msg, int count, test::UdpPeer& peer, std::size_t& n) {
    std::size_t intact = 0;
    for (int i = 0; i < count; ++i) {
      std::memcpy(scratch_.data(), msg.data(), msg.size());
      const auto reply = server_.dispatcher->on_client_message(
          server_.ctx, MutableByteSpan{scratch_.data(), msg.size()});
      if (!reply.empty()) return 0;
      if (i % 25 == 24 || i == count - 1) {
        server_.dispatcher->flush();
        intact += peer.drain(payload_, n);
      }
    }
    return intact;
  }
  /// The peer sends `count` datagrams to the relayed address in bursts of `burst`, each burst
  /// handled by polling the io_context until the sink has them.
  bool peer_sends(test::UdpPeer& peer, int count, int burst_size) {
    for (int sent = 0; sent < count;) {
      const int burst = std::min(burst_size, count - sent);
      const std::size_t want = server_.sink.size() + static_cast<std::size_t>(burst);
      for (int i = 0; i < burst; ++i)
        if (!peer.send_to(relayed_, payload_)) return false;
      if (!server_.pump_until([&] { return server_.sink.size() >= want; })) return false;
      sent += burst;
    }
    return true;
  }

  TestServer server_{config()};
  test::UdpPeer bound_, permitted_;
  TransportAddress relayed_;
  const Bytes payload_ = Bytes(100, 0x5a);
  Bytes channel_data_, indication_, scratch_;
};

TEST_F(RelayHotPath, CountingHookSeesAllocations) {
  EXPECT_GT(allocations_during([&] { server_.fresh_nonce(); }, false).new_calls, 0);
  void* volatile p = nullptr;
  EXPECT_GT(allocations_during([&] { p = std::malloc(64); }, false).c_calls, 0);
  std::free(p);

  // Asio's operation memory is visible to the hook: an async_wait started outside run() has
  // no per-thread cache to recycle from and takes its memory from aligned_alloc.
  boost::asio::ip::udp::socket s{server_.io, {boost::asio::ip::address_v4::loopback(), 0}};
  const auto outside = allocations_during(
      [&] { s.async_wait(boost::asio::socket_base::wait_read, [](boost::system::error_code) {}); },
      false);
  EXPECT_GE(outside.c_calls, 1);
  s.close();
  server_.pump_until([] { return false; }, std::chrono::milliseconds{10});
}

TEST_F(RelayHotPath, ChannelDataClientToPeerDoesNotAllocate) {
  std::size_t received = 0, intact = 0;
  const auto n =
      allocations_during([&] { intact = client_sends(channel_data_, kRounds, bound_, received); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  EXPECT_EQ(received, static_cast<std::size_t>(kRounds));
  EXPECT_EQ(intact, static_cast<std::size_t>(kRounds));
}

TEST_F(RelayHotPath, SendIndicationClientToPeerDoesNotAllocate) {
  std::size_t received = 0, intact = 0;
  const auto n = allocations_during(
      [&] { intact = client_sends(indication_, kRounds, permitted_, received); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  EXPECT_EQ(received, static_cast<std::size_t>(kRounds));
  EXPECT_EQ(intact, static_cast<std::size_t>(kRounds));
}

// Relay to relay on the same shard (RelayPath::hand_over in server/relay/relay_path.cpp): A's
// ChannelData to B's relayed address becomes a Data indication on B's client sink inside
// on_client_message.
TEST_F(RelayHotPath, RelayToRelayHandOverDoesNotAllocate) {
  const auto a_client = server_.ctx.client;
  server_.ctx.client.port = 40002;
  const auto carol = server_.user("carol", "secret");
  const Bytes b_reply = server_.allocate(carol, 1);
  ASSERT_EQ(reply_code(b_reply), 0);
  ASSERT_EQ(reply_code(server_.create_permission(carol, 2, relayed_)), 0);
  server_.ctx.client = a_client;
  const auto alice = server_.alice();
  ASSERT_EQ(reply_code(server_.channel_bind(alice, 5, 0x4001, TestServer::relayed(b_reply))), 0);
  const Bytes to_b = test::channel_data(0x4001, payload_);
  std::size_t received = 0;
  client_sends(to_b, 1, bound_, received);  // warm-up
  server_.sink.clear();

  const auto n = allocations_during([&] { client_sends(to_b, kRounds, bound_, received); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  EXPECT_EQ(received, 0u) << "nothing went to the plain peer";
  ASSERT_EQ(server_.sink.size(), static_cast<std::size_t>(kRounds));
  for (std::size_t i = 0; i < server_.sink.size(); ++i) {
    auto msg = MessageView::parse(server_.sink.bytes(i));
    ASSERT_TRUE(msg && msg->get<XorPeerAddress>() && msg->get<Data>()) << "datagram " << i;
    EXPECT_EQ(msg->get<XorPeerAddress>()->address, relayed_);
    EXPECT_EQ(server_.sink.record(i).client.port, 40002);
  }
}

TEST_F(RelayHotPath, ChannelDataPeerToClientDoesNotAllocate) {
  bool delivered = false;
  // One datagram per readiness event (kRounds handler runs, each re-arming its async_wait),
  // then bursts that fill whole recvmmsg batches (32).
  const auto n = allocations_during(
      [&] { delivered = peer_sends(bound_, kRounds, 1) && peer_sends(bound_, kRounds, 32); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  ASSERT_TRUE(delivered);
  ASSERT_EQ(server_.sink.size(), static_cast<std::size_t>(2 * kRounds));
  EXPECT_EQ(server_.sink.overflow(), 0u);
  for (std::size_t i = 0; i < server_.sink.size(); ++i) {
    const auto got = server_.sink.bytes(i);
    ASSERT_EQ(Bytes(got.begin(), got.end()), channel_data_) << "datagram " << i;
  }
}

TEST_F(RelayHotPath, DataIndicationPeerToClientDoesNotAllocate) {
  bool delivered = false;
  const auto n = allocations_during([&] { delivered = peer_sends(permitted_, kRounds, 20); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  ASSERT_TRUE(delivered);
  ASSERT_EQ(server_.sink.size(), static_cast<std::size_t>(kRounds));
  for (std::size_t i = 0; i < server_.sink.size(); ++i) {
    auto msg = MessageView::parse(server_.sink.bytes(i));
    ASSERT_TRUE(msg && msg->type().is(Method::Data, Class::Indication)) << "datagram " << i;
    ASSERT_TRUE(msg->get<XorPeerAddress>() && msg->get<Data>());
    EXPECT_EQ(msg->get<XorPeerAddress>()->address, permitted_.address());
    ASSERT_EQ(Bytes(msg->get<Data>()->value.begin(), msg->get<Data>()->value.end()), payload_);
  }
}

}  // namespace
}  // namespace turnd::server
