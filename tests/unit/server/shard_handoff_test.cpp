// ShardHandoff, the rings between shards: a full ring drops and says so (never blocks), order
// survives wrap-around, a stopped shard refuses without blocking and what it left is freed,
// one eventfd write per drain cycle, and real threads moving a million datagrams intact.
#include "server/relay/shard_handoff.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace turnd::server::relay {
namespace {

using Pushed = ShardHandoff::Pushed;
using protocol::TransportAddress;
constexpr std::size_t kCap = ShardHandoff::kRingCapacity;

const TransportAddress kTarget = *TransportAddress::parse("127.0.0.1:50002");
const TransportAddress kSource = *TransportAddress::parse("127.0.0.1:50001");

/// A datagram whose length and bytes follow from `seq` (1 to 64 bytes, first 8 = seq).
std::vector<std::uint8_t> datagram(std::uint64_t seq) {
  std::vector<std::uint8_t> d(8 + seq % 57);
  std::memcpy(d.data(), &seq, 8);
  for (std::size_t i = 8; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(seq * 31 + i);
  return d;
}

Pushed push(ShardHandoff& h, std::uint64_t seq, unsigned from = 0, unsigned to = 1) {
  const auto d = datagram(seq);
  return h.push(from, to, kTarget, kSource, {d.data(), d.size()});
}

/// The sequence number of an item, after checking its bytes, length and addresses.
std::uint64_t check(HandoffItem& item) {
  std::uint64_t seq = 0;
  std::memcpy(&seq, item.payload().data(), 8);
  const auto expected = datagram(seq);
  EXPECT_EQ(item.length, expected.size());
  EXPECT_EQ(std::memcmp(item.payload().data(), expected.data(), expected.size()), 0) << seq;
  EXPECT_EQ(item.to, kTarget);
  EXPECT_EQ(item.from, kSource);
  return seq;
}

bool readable(int fd, int timeout_ms = 0) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

TEST(ShardHandoff, AFullRingDropsAndNeverBlocks) {
  ShardHandoff h{2};
  for (std::uint64_t i = 0; i < kCap; ++i) ASSERT_EQ(push(h, i), Pushed::Queued) << i;
  const auto start = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < 10000; ++i) ASSERT_EQ(push(h, kCap + i), Pushed::QueueFull);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1)) << "no waiting";

  std::uint64_t next = 0;
  EXPECT_EQ(h.drain(1, [&](HandoffItem& item) { EXPECT_EQ(check(item), next++); }), kCap);
  EXPECT_EQ(push(h, 7), Pushed::Queued) << "room again once drained";
  EXPECT_EQ(h.drain(1, [&](HandoffItem& item) { EXPECT_EQ(check(item), 7u); }), 1u);
  EXPECT_EQ(h.drain(0, [](HandoffItem&) { ADD_FAILURE() << "nothing for shard 0"; }), 0u);
}

TEST(ShardHandoff, OrderSurvivesWrapAround) {
  ShardHandoff h{2};
  std::uint64_t pushed = 0, next = 0;
  // Uneven rounds, so the indexes wrap at many offsets of the ring, 40 times over.
  for (std::size_t round = 0; round < 100; ++round) {
    const std::size_t n = 1 + (round * 97) % kCap;
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(push(h, pushed++), Pushed::Queued);
    h.drain(1, [&](HandoffItem& item) { ASSERT_EQ(check(item), next++); });
    ASSERT_EQ(next, pushed);
  }
  EXPECT_GT(pushed, 40 * kCap);
}

TEST(ShardHandoff, OneWakeUpPerDrainCycle) {
  ShardHandoff h{2};
  const int fd = h.wake_fd(1);
  EXPECT_FALSE(readable(fd));
  for (std::uint64_t i = 0; i < 100; ++i) ASSERT_EQ(push(h, i), Pushed::Queued);
  ASSERT_TRUE(readable(fd));
  EXPECT_FALSE(readable(h.wake_fd(0))) << "only the target is woken";
  std::uint64_t writes = 0;
  ASSERT_EQ(::read(fd, &writes, sizeof writes), 8);
  EXPECT_EQ(writes, 1u) << "100 datagrams, one write(2)";

  EXPECT_EQ(h.drain(1, [](HandoffItem&) {}), 100u);
  EXPECT_FALSE(readable(fd));
  ASSERT_EQ(push(h, 100), Pushed::Queued);
  EXPECT_TRUE(readable(fd)) << "a push after the drain wakes again";
  EXPECT_EQ(h.drain(1, [](HandoffItem&) {}), 1u);
  EXPECT_FALSE(readable(fd));
}

TEST(ShardHandoff, AStoppedShardRefusesWithoutBlockingAndLeavesNothingBehind) {
  {
    ShardHandoff h{3};
    for (std::uint64_t i = 0; i < 10; ++i) ASSERT_EQ(push(h, i, 0, 1), Pushed::Queued);
    for (std::uint64_t i = 0; i < 10; ++i) ASSERT_EQ(push(h, i, 2, 1), Pushed::Queued);
    h.close(1);  // shard 1 stops with 20 datagrams queued to it
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < 100000; ++i) ASSERT_EQ(push(h, i, 0, 1), Pushed::TargetStopped);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
    EXPECT_EQ(push(h, 1, 1, 2), Pushed::Queued) << "the others still take datagrams";
  }  // the rings and what they hold are freed here (the ASan build's leak check sees it)
}

TEST(ShardHandoff, ARingCostsWellUnderAMebibyte) {
  EXPECT_LT(sizeof(ShardHandoff::Ring), 600u * 1024);
  // 16 shards that all relay to each other: 240 rings, ~130 MiB; pairs that do not, nothing.
  EXPECT_LT(16 * 15 * sizeof(ShardHandoff::Ring), 140u << 20);
}

// Real threads: producers on shards 0 and 2, the consumer on shard 1 sleeping in poll() on
// its eventfd like a shard's io_context. A lost wake-up would leave it asleep with datagrams
// queued: the poll timeout then fails the test. Producers retry when the ring is full (a
// shard would drop); every datagram arrives once, in order per sender, bytes intact.
TEST(ShardHandoff, ThreadsMoveAMillionDatagramsIntact) {
  constexpr std::uint64_t kPerProducer = 500'000;
  ShardHandoff h{3};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto first = [](unsigned from) { return std::uint64_t{from} << 40; };  // sender in the bytes
  auto produce = [&](unsigned from) {
    for (std::uint64_t seq = first(from); seq < first(from) + kPerProducer;) {
      if (push(h, seq, from, 1) == Pushed::Queued)
        ++seq;
      else if (std::chrono::steady_clock::now() > deadline)
        return;
      else
        std::this_thread::yield();
    }
  };
  std::thread p0{produce, 0u}, p2{produce, 2u};

  std::uint64_t next[3] = {first(0), 0, first(2)}, received = 0, drains = 0, checksum = 0;
  bool lost_wakeup = false;
  while (received < 2 * kPerProducer && std::chrono::steady_clock::now() < deadline) {
    if (!readable(h.wake_fd(1), 10'000)) {
      lost_wakeup = true;
      break;
    }
    ++drains;
    received += h.drain(1, [&](HandoffItem& item) {
      std::uint64_t seq = 0;
      std::memcpy(&seq, item.payload().data(), 8);
      const auto from = static_cast<unsigned>(seq >> 40);
      if (from != 0 && from != 2) {
        ADD_FAILURE() << "no such sender: " << seq;
        return;
      }
      if (next[from] != seq) ADD_FAILURE() << "out of order: " << seq;
      next[from] = seq + 1;
      const auto expected = datagram(seq);
      if (item.length != expected.size() ||
          std::memcmp(item.payload().data(), expected.data(), expected.size()) != 0)
        ADD_FAILURE() << "corrupt datagram " << seq;
      for (std::size_t i = 0; i < item.length; ++i) checksum += item.payload().data()[i];
    });
  }
  p0.join();
  p2.join();
  EXPECT_FALSE(lost_wakeup) << "asleep with datagrams queued after " << received;
  EXPECT_EQ(received, 2 * kPerProducer);
  EXPECT_EQ(next[0], first(0) + kPerProducer);
  EXPECT_EQ(next[2], first(2) + kPerProducer);
  std::uint64_t expected_sum = 0;
  for (unsigned from : {0u, 2u})
    for (std::uint64_t seq = first(from); seq < first(from) + kPerProducer; ++seq)
      for (auto b : datagram(seq)) expected_sum += b;
  EXPECT_EQ(checksum, expected_sum);
  EXPECT_LT(drains, received) << "woken per batch, not per datagram";
  std::printf("%llu datagrams in %llu drain cycles\n", static_cast<unsigned long long>(received),
              static_cast<unsigned long long>(drains));
}

}  // namespace
}  // namespace turnd::server::relay
