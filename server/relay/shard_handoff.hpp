// The relay-to-relay hand-off between shards: when a client of shard A sends to the relayed
// address of an allocation of shard B, A copies the datagram into the ring A -> B and B
// delivers it to its client, as the same-shard hand-off does, without the kernel.
//
//   shard A (producer)                        shard B (consumer)
//   push: copy into ring[A->B] ------------>  eventfd readable (one write per drain cycle)
//         if !wake_pending: set it, write     drain: clear wake_pending, then every ring[*->B]
//
// One SPSC ring per ordered pair (from, to), allocated on the first datagram between the two
// (N shards may need N*(N-1) rings; only the pairs that relay to each other pay for theirs).
// A full ring drops (the caller counts), never blocks. A stopped shard's inbox refuses
// datagrams; what is left in the rings is freed with this object, after every shard stopped.
// Owner: SharedServices. push() runs on the sending shard's thread, drain() on the target's.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/transport_address.hpp"
#include "server/io/batch_io.hpp"
#include "server/relay/spsc_ring.hpp"

namespace turnd::server::relay {

/// One relay datagram between shards, in a slot laid out as a relay socket's: headroom for the
/// client's framing, the payload (up to one relay slot), room for stream padding.
struct HandoffItem {
  static constexpr std::size_t kMaxPayload = io::kSlotPayload;  // relay::kMaxRelayPayload
  protocol::TransportAddress to;    // the target allocation's relayed address
  protocol::TransportAddress from;  // the sender's relayed address: the peer the target sees
  std::uint16_t length = 0;
  std::uint8_t slot[io::kHeadroom + kMaxPayload + 4];  // not initialised: written before read

  protocol::MutableByteSpan payload() noexcept { return {slot + io::kHeadroom, length}; }
};

class ShardHandoff {
 public:
  /// Datagrams one ring holds: 256 slots of ~2.2 KiB, 0.55 MiB per pair of shards in use.
  static constexpr std::size_t kRingCapacity = 256;
  using Ring = SpscRing<HandoffItem, kRingCapacity>;

  /// One inbox (and eventfd) per shard. Throws std::system_error when eventfd fails.
  explicit ShardHandoff(unsigned shards);
  ~ShardHandoff();
  ShardHandoff(const ShardHandoff&) = delete;
  ShardHandoff& operator=(const ShardHandoff&) = delete;

  unsigned shards() const noexcept { return static_cast<unsigned>(inboxes_.size()); }

  enum class Pushed : std::uint8_t { Queued, QueueFull, TargetStopped };
  /// On shard `from`'s thread: copies `data` (at most HandoffItem::kMaxPayload bytes) into the
  /// ring from -> to and wakes shard `to` unless a wake-up is already pending. Never blocks.
  Pushed push(unsigned from, unsigned to, const protocol::TransportAddress& target,
              const protocol::TransportAddress& source, protocol::ByteSpan data) noexcept;

  /// Readable when shard `shard` has been woken. Owned here (open until destruction), so a
  /// producer never writes to a closed descriptor; the shard watches a dup() of it.
  int wake_fd(unsigned shard) const noexcept { return inboxes_[shard]->fd; }

  /// On shard `shard`'s thread: consumes the wake-up, then calls `f(HandoffItem&)` on every
  /// datagram queued to it (at most kRingCapacity per sender, so a drain is bounded); a later
  /// push wakes the shard again. Returns how many.
  template <class F>
  std::size_t drain(unsigned shard, F&& f) noexcept {
    Inbox& in = *inboxes_[shard];
    rearm(in);
    std::size_t n = 0;
    for (unsigned from = 0; from < shards(); ++from)
      if (Ring* r = in.from[from].load(std::memory_order_acquire)) n += r->drain(f);
    return n;
  }

  /// Shard `shard` stops: datagrams to it are refused (TargetStopped) from now on. Any thread.
  void close(unsigned shard) noexcept {
    inboxes_[shard]->closed.store(true, std::memory_order_relaxed);
  }

 private:
  struct alignas(64) Inbox {
    int fd = -1;
    std::atomic<bool> wake_pending{false};
    std::atomic<bool> closed{false};
    std::unique_ptr<std::atomic<Ring*>[]> from;  // [sender shard], null until first used
  };
  /// The ring from -> `in`, made on first use (the producer is its only writer). Null when
  /// memory is short: the datagram is then dropped like on a full ring.
  Ring* ring(unsigned from, Inbox& in) noexcept;
  void wake(Inbox& in) noexcept;
  void rearm(Inbox& in) noexcept;

  std::vector<std::unique_ptr<Inbox>> inboxes_;
};

}  // namespace turnd::server::relay
