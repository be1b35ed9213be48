// io::StreamBridge on real loopback TCP connections: bytes both ways in order, the bytes read
// past ConnectionBind and the ConnectionBind response delivered first, a FIN passed on as a
// FIN, a reset closing both sides, the connection-limit slot given back, and a reader that
// stalls costing one held chunk at most (none once it keeps up).
#include "server/io/stream_bridge.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <future>
#include <numeric>
#include <thread>

namespace turnd::server::io {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

/// A connected pair of loopback TCP sockets: `near` (ours) and `far` (the other end).
struct Pair {
  tcp::socket near, far;
};
Pair connected_pair(asio::io_context& io) {
  tcp::acceptor acceptor{io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}};
  tcp::socket far{io};
  far.connect(acceptor.local_endpoint());
  tcp::socket near = acceptor.accept();
  return {std::move(near), std::move(far)};
}

class CountingLimits final : public ConnectionLimits {
 public:
  Verdict acquire(const protocol::IpAddress&) override { return Verdict::Ok; }
  void release(const protocol::IpAddress&) noexcept override { ++released; }
  int released = 0;
};

struct BridgeFixture : ::testing::Test {
  asio::io_context io;
  Counter to_peer, from_peer;
  CountingLimits limits;
  Pair client = connected_pair(io);  // near: the adopted data connection; far: the TURN client
  Pair peer = connected_pair(io);    // near: the peer connection; far: the peer
  std::shared_ptr<StreamBridge> bridge;
  bool closed = false;
  StreamBridge::Totals totals;

  void start(std::vector<std::uint8_t> leftover, std::vector<std::uint8_t> first_to_client) {
    auto d = std::make_unique<DetachedStream>();
    d->fd = client.near.release();
    d->ctx.client = *protocol::TransportAddress::parse("127.0.0.1:1");
    d->leftover = std::move(leftover);
    d->limiter = &limits;
    bridge = std::make_shared<StreamBridge>(io, std::move(d), std::move(peer.near),
                                            std::move(first_to_client), to_peer, from_peer);
    bridge->start([this](const StreamBridge::Totals& t) {
      closed = true;
      totals = t;
    });
  }
  /// Runs the loop on another thread while `f` uses the far ends (blocking calls).
  template <class F>
  void with_loop(F&& f) {
    auto guard = asio::make_work_guard(io);
    std::thread t{[&] { io.run(); }};
    f();
    guard.reset();
    asio::post(io, [&] {
      if (bridge) bridge->close();
    });
    t.join();
  }
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  std::iota(v.begin(), v.end(), seed);
  return v;
}

TEST_F(BridgeFixture, RelaysBothWaysInOrderAfterLeftoverAndResponse) {
  start({'L', 'E', 'F', 'T'}, {'R', 'E', 'S', 'P'});
  const auto up = pattern(300'000, 1), down = pattern(200'000, 7);
  with_loop([&] {
    std::thread writer{[&] {
      asio::write(client.far, asio::buffer(up));
      asio::write(peer.far, asio::buffer(down));
    }};
    std::vector<std::uint8_t> got_up(4 + up.size()), got_down(4 + down.size());
    asio::read(peer.far, asio::buffer(got_up));
    asio::read(client.far, asio::buffer(got_down));
    writer.join();
    EXPECT_EQ(std::string(got_up.begin(), got_up.begin() + 4), "LEFT");
    EXPECT_TRUE(std::equal(up.begin(), up.end(), got_up.begin() + 4));
    EXPECT_EQ(std::string(got_down.begin(), got_down.begin() + 4), "RESP");
    EXPECT_TRUE(std::equal(down.begin(), down.end(), got_down.begin() + 4));
  });
  // The leftover is client data (counted); the response is not peer data (not counted).
  EXPECT_EQ(to_peer.get(), 4 + up.size());
  EXPECT_EQ(from_peer.get(), down.size());
}

TEST_F(BridgeFixture, AStalledReaderCostsOneHeldChunkAtMostAndNoneOnceItKeepsUp) {
  // Small kernel buffers towards the client, so the bridge meets a full socket quickly.
  client.near.set_option(tcp::socket::send_buffer_size(65536));
  client.far.set_option(tcp::socket::receive_buffer_size(65536));
  start({}, {});
  const auto down = pattern(2'000'000, 3);
  const auto held = [&] {
    std::promise<std::size_t> p;
    asio::post(io, [&] { p.set_value(bridge->held_bytes()); });
    return p.get_future().get();
  };
  with_loop([&] {
    std::thread writer{[&] { asio::write(peer.far, asio::buffer(down)); }};
    std::size_t most = 0;
    for (int i = 0; i < 20; ++i) {  // the client reads nothing for 200 ms
      most = std::max(most, held());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GT(most, 0u) << "the client's socket never filled: the test proves nothing";
    EXPECT_LE(most, StreamBridge::kBufferSize);
    std::vector<std::uint8_t> got(down.size());
    asio::read(client.far, asio::buffer(got));
    writer.join();
    EXPECT_TRUE(got == down);
    EXPECT_EQ(held(), 0u);
  });
  EXPECT_EQ(from_peer.get(), down.size());
}

TEST_F(BridgeFixture, FinFromThePeerReachesTheClientAndBothCloseWhenTheClientEndsToo) {
  start({}, {});
  with_loop([&] {
    asio::write(peer.far, asio::buffer(std::string("bye")));
    peer.far.shutdown(tcp::socket::shutdown_send);
    std::array<char, 16> buf{};
    boost::system::error_code ec;
    std::size_t n = asio::read(client.far, asio::buffer(buf), ec);
    EXPECT_EQ(ec, asio::error::eof);  // the FIN was passed on after the bytes
    EXPECT_EQ(std::string(buf.data(), n), "bye");
    // Half closed: the client may still send to the peer.
    asio::write(client.far, asio::buffer(std::string("late")));
    n = asio::read(peer.far, asio::buffer(buf.data(), 4), ec);
    EXPECT_EQ(std::string(buf.data(), n), "late");
    client.far.shutdown(tcp::socket::shutdown_send);
    n = asio::read(peer.far, asio::buffer(buf), ec);
    EXPECT_EQ(ec, asio::error::eof);
    for (int i = 0; i < 200 && !closed; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  EXPECT_TRUE(closed);
  EXPECT_EQ(totals.from_peer, 3u);
  EXPECT_EQ(totals.to_peer, 4u);
  EXPECT_EQ(limits.released, 1);  // the data connection's slot went back with it
}

// RFC 6062 §5.5: a closed peer connection closes the client's too, even when the client keeps
// its side open; the other direction gets kHalfCloseLinger to finish first.
TEST_F(BridgeFixture, AHalfClosedPairIsClosedAfterTheLinger) {
  start({}, {});
  const auto began = std::chrono::steady_clock::now();
  with_loop([&] {
    peer.far.shutdown(tcp::socket::shutdown_send);
    for (int i = 0; i < 800 && !closed; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  EXPECT_TRUE(closed);
  EXPECT_GE(std::chrono::steady_clock::now() - began, StreamBridge::kHalfCloseLinger);
}

TEST_F(BridgeFixture, AResetPeerClosesTheClientConnection) {
  start({}, {});
  with_loop([&] {
    peer.far.set_option(asio::socket_base::linger(true, 0));
    peer.far.close();  // RST
    std::array<char, 16> buf{};
    boost::system::error_code ec;
    asio::read(client.far, asio::buffer(buf), ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    for (int i = 0; i < 200 && !closed; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  EXPECT_TRUE(closed);
}

TEST_F(BridgeFixture, CloseEndsBothSidesWithoutTheCallback) {
  start({}, {});
  with_loop([&] {
    asio::post(io, [&] { bridge->close(); });
    std::array<char, 16> buf{};
    boost::system::error_code ec;
    asio::read(client.far, asio::buffer(buf), ec);
    EXPECT_TRUE(ec);
    asio::read(peer.far, asio::buffer(buf), ec);
    EXPECT_TRUE(ec);
  });
  EXPECT_FALSE(closed);
  bridge.reset();
  EXPECT_EQ(limits.released, 1);
}

}  // namespace
}  // namespace turnd::server::io
