// SendBatch and ReceiveBatch on real loopback sockets: which datagrams leave as one segmented
// write (UDP GSO), that receivers see them as the datagrams that were queued, how a coalesced
// buffer (UDP GRO) is split, and the per-socket grouping that keeps each socket's order.
#include "server/io/batch_io.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "server/io/socket_address.hpp"
#include "server/io/udp_offload.hpp"

namespace turnd::server::io {
namespace {

using protocol::IpAddress;
using protocol::TransportAddress;

/// A UDP socket bound to 127.0.0.1 on a free port, closed at the end.
struct LoopbackSocket {
  LoopbackSocket() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    address = {IpAddress::v4({127, 0, 0, 1}), ntohs(a.sin_port)};
  }
  ~LoopbackSocket() { ::close(fd); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  /// Every datagram waiting, as strings, read one by one (no GRO on this socket).
  std::vector<std::string> drain() const {
    std::vector<std::string> out;
    char buf[70000];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0;)
      out.emplace_back(buf, static_cast<std::size_t>(n));
    return out;
  }
  int fd;
  TransportAddress address;
};

std::string payload(char c, std::size_t size) { return std::string(size, c); }

protocol::ByteSpan bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

class BatchIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!probe_udp_offload().gso) GTEST_SKIP() << "this kernel has no UDP_SEGMENT";
    sends_.set_gso(true);
  }
  void send(const LoopbackSocket& from, const LoopbackSocket& to, const std::string& data) {
    sends_.enqueue(from.fd, bytes(data), to.address, nullptr);
  }

  DatagramCounters counters_;
  Counter dropped_;
  SendBatch sends_{counters_, dropped_};
  LoopbackSocket a_, b_, receiver_, other_receiver_;
};

TEST_F(BatchIoTest, ARunOfOneSizeToOneAddressIsOneSegmentedWrite) {
  std::vector<std::string> sent;
  for (char c = 'a'; c < 'a' + 10; ++c) sent.push_back(payload(c, 100));
  sent.push_back(payload('z', 40));  // the last of a run may be shorter
  for (const auto& s : sent) send(a_, receiver_, s);
  sends_.flush();
  EXPECT_EQ(receiver_.drain(), sent);  // a receiver without GRO sees the datagrams queued
  EXPECT_EQ(counters_.udp_send_calls.get(), 1u);
  EXPECT_EQ(counters_.udp_gso_writes.get(), 1u);
  EXPECT_EQ(counters_.udp_sent.get(), 11u);
  EXPECT_EQ(dropped_.get(), 0u);
}

TEST_F(BatchIoTest, ARunEndsAtALargerOrShorterDatagramOrAnotherDestination) {
  const std::vector<std::string> to_receiver = {payload('a', 100), payload('b', 100),
                                                payload('c', 120),  // larger: a new run
                                                payload('d', 60),   // shorter: ends that run
                                                payload('e', 60)};  // ...so this starts one
  for (const auto& s : to_receiver) send(a_, receiver_, s);
  send(a_, other_receiver_, payload('x', 100));
  send(a_, receiver_, payload('f', 60));  // after another address: a new run
  sends_.flush();
  std::vector<std::string> expected = to_receiver;
  expected.push_back(payload('f', 60));
  EXPECT_EQ(receiver_.drain(), expected);
  EXPECT_EQ(other_receiver_.drain(), std::vector<std::string>{payload('x', 100)});
  // Messages: [a b] [c d] [e] [x] [f]: runs are of consecutive datagrams.
  EXPECT_EQ(counters_.udp_send_calls.get(), 1u);  // one socket: one sendmmsg
  EXPECT_EQ(counters_.udp_gso_writes.get(), 2u);
  EXPECT_EQ(counters_.udp_sent.get(), 7u);
}

TEST_F(BatchIoTest, DatagramsLargerThanAnyLinkAllowsAreNotSegmented) {
  const std::string big = payload('a', kMaxGsoSegmentSize + 1);
  for (int i = 0; i < 3; ++i) send(a_, receiver_, big);
  sends_.flush();
  EXPECT_EQ(receiver_.drain().size(), 3u);
  EXPECT_EQ(counters_.udp_gso_writes.get(), 0u);
  EXPECT_EQ(counters_.udp_send_calls.get(), 1u);  // still one sendmmsg of three messages
}

TEST_F(BatchIoTest, SegmentedWritesOffSendsEachDatagramAlone) {
  sends_.set_gso(false);
  for (int i = 0; i < 5; ++i) send(a_, receiver_, payload('a', 100));
  sends_.flush();
  EXPECT_EQ(receiver_.drain().size(), 5u);
  EXPECT_EQ(counters_.udp_gso_writes.get(), 0u);
  EXPECT_EQ(counters_.udp_sent.get(), 5u);
}

TEST_F(BatchIoTest, InterleavedSocketsAreGroupedKeepingEachSocketsOrder) {
  // a b a b ... from two sockets: two sendmmsg calls, not one per change of socket.
  for (char c = 'a'; c < 'a' + 8; ++c) {
    send(a_, receiver_, payload(c, 50 + c));
    send(b_, other_receiver_, payload(static_cast<char>(c + 10), 50 + c));
  }
  sends_.flush();
  const auto at_receiver = receiver_.drain();
  ASSERT_EQ(at_receiver.size(), 8u);
  for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(at_receiver[i][0], 'a' + static_cast<int>(i));
  EXPECT_EQ(other_receiver_.drain().size(), 8u);
  EXPECT_EQ(counters_.udp_send_calls.get(), 2u);
}

TEST_F(BatchIoTest, AFullBatchIsSentBeforeMoreIsQueued) {
  for (std::size_t i = 0; i < kBatchSize + 3; ++i) send(a_, receiver_, payload('a', 10));
  EXPECT_EQ(receiver_.drain().size(), kBatchSize);  // sent when the 33rd was queued
  sends_.flush();
  EXPECT_EQ(receiver_.drain().size(), 3u);
}

TEST_F(BatchIoTest, FlushSoonWaitsForTheLoopsTurn) {
  boost::asio::io_context io;
  sends_.attach(io);
  send(a_, receiver_, payload('a', 10));
  sends_.flush_soon();
  sends_.flush_soon();  // posted once
  send(b_, receiver_, payload('b', 10));
  EXPECT_TRUE(receiver_.drain().empty());
  EXPECT_EQ(io.poll(), 1u);
  EXPECT_EQ(receiver_.drain().size(), 2u);
}

TEST_F(BatchIoTest, AGroReceiverGetsOneBufferAndSplitsIt) {
  ReceiveBatch batch{&counters_, true};
  if (!probe_udp_offload().gro) GTEST_SKIP() << "this kernel has no UDP_GRO";
  batch.prepare_socket(receiver_.fd);
  std::vector<std::string> sent;
  for (char c = 'a'; c < 'a' + 20; ++c) sent.push_back(payload(c, 300));
  sent.push_back(payload('z', 7));
  for (const auto& s : sent) send(a_, receiver_, s);
  sends_.flush();
  const int n = batch.receive(receiver_.fd, receiver_.address.port);
  ASSERT_EQ(n, 21);
  // On loopback the segmented write arrives as it left: one buffer, split here.
  EXPECT_EQ(counters_.udp_gro_buffers.get(), 1u);
  EXPECT_EQ(counters_.udp_receive_calls.get(), 1u);
  EXPECT_TRUE(batch.drained());
  for (int i = 0; i < n; ++i) {
    Datagram& d = batch[static_cast<std::size_t>(i)];
    EXPECT_FALSE(d.truncated);
    EXPECT_EQ(d.from, a_.address);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(d.payload.data()), d.payload.size()),
              sent[static_cast<std::size_t>(i)]);
    EXPECT_GE(d.payload.data() - d.buffer_start, static_cast<std::ptrdiff_t>(kHeadroom));
  }
  // The relay pads frames in place: the bytes after one datagram are not the next one's.
  for (int i = 0; i < n - 1; ++i) {
    Datagram& d = batch[static_cast<std::size_t>(i)];
    std::memset(d.payload.data() + d.payload.size(), 0xff, kGroSegmentGap);
    EXPECT_EQ(batch[static_cast<std::size_t>(i) + 1].payload[0], sent[i + 1][0]);
  }
}

TEST_F(BatchIoTest, DatagramsLargerThanARelaySlotAreMarkedTruncatedInBothModes) {
  for (bool gro : {false, true}) {
    ReceiveBatch batch{nullptr, gro};
    batch.prepare_socket(receiver_.fd);
    // SendBatch itself refuses more than a slot: send the larger one directly.
    const std::string large = payload('a', kSlotPayload + 1);
    sockaddr_storage to;
    const socklen_t to_len = to_sockaddr(receiver_.address, to);
    ASSERT_EQ(
        ::sendto(a_.fd, large.data(), large.size(), 0, reinterpret_cast<sockaddr*>(&to), to_len),
        static_cast<ssize_t>(large.size()));
    send(a_, receiver_, payload('c', kSlotPayload));
    sends_.flush();
    ASSERT_EQ(batch.receive(receiver_.fd, receiver_.address.port), 2);
    EXPECT_TRUE(batch[0].truncated) << "gro " << gro;
    EXPECT_FALSE(batch[1].truncated) << "gro " << gro;
    EXPECT_EQ(batch[1].payload.size(), kSlotPayload);
  }
}

TEST(SplitCoalesced, SpreadsSegmentsApartInPlace) {
  std::vector<std::uint8_t> buf(100, 0);
  std::iota(buf.begin(), buf.begin() + 25, 1);  // 25 bytes: segments of 10, 10, 5
  std::array<protocol::MutableByteSpan, 8> out;
  ASSERT_EQ(split_coalesced(buf.data(), 25, 10, buf.size(), out.data(), out.size()), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(out[k].data(), buf.data() + k * (10 + kGroSegmentGap));
    EXPECT_EQ(out[k].size(), k < 2 ? 10u : 5u);
    for (std::size_t j = 0; j < out[k].size(); ++j) EXPECT_EQ(out[k][j], k * 10 + j + 1);
  }
}

TEST(SplitCoalesced, KeepsWhatFitsTheBufferAndTheOutput) {
  std::vector<std::uint8_t> buf(100, 7);
  std::array<protocol::MutableByteSpan, 8> out;
  // 6 segments of 10 need 6 * 14 = 84 bytes: a 60-byte buffer keeps 4 (3 * 14 + 10 + 4).
  EXPECT_EQ(split_coalesced(buf.data(), 60, 10, 60, out.data(), out.size()), 4u);
  EXPECT_EQ(split_coalesced(buf.data(), 60, 10, buf.size(), out.data(), 2), 2u);
  EXPECT_EQ(split_coalesced(buf.data(), 60, 0, buf.size(), out.data(), out.size()), 0u);
}

}  // namespace
}  // namespace turnd::server::io
