#include "server/relay/shard_handoff.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <system_error>

namespace turnd::server::relay {

ShardHandoff::ShardHandoff(unsigned shards) {
  inboxes_.reserve(shards);
  for (unsigned i = 0; i < shards; ++i) {
    auto in = std::make_unique<Inbox>();
    in->fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (in->fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    in->from = std::make_unique<std::atomic<Ring*>[]>(shards);
    inboxes_.push_back(std::move(in));  // reserved: cannot throw and leak the descriptor
  }
}

ShardHandoff::~ShardHandoff() {
  // Every shard has stopped: the datagrams still queued go with their rings.
  for (auto& in : inboxes_) {
    for (unsigned from = 0; from < shards(); ++from) delete in->from[from].load();
    ::close(in->fd);
  }
}

ShardHandoff::Ring* ShardHandoff::ring(unsigned from, Inbox& in) noexcept {
  Ring* r = in.from[from].load(std::memory_order_relaxed);  // only this thread stores it
  if (r == nullptr) {
    // Once per pair of shards for the life of the process, not per datagram.
    r = new (std::nothrow) Ring();
    if (r != nullptr) in.from[from].store(r, std::memory_order_release);
  }
  return r;
}

ShardHandoff::Pushed ShardHandoff::push(unsigned from, unsigned to,
                                        const protocol::TransportAddress& target,
                                        const protocol::TransportAddress& source,
                                        protocol::ByteSpan data) noexcept {
  Inbox& in = *inboxes_[to];
  if (in.closed.load(std::memory_order_relaxed)) return Pushed::TargetStopped;
  Ring* r = ring(from, in);
  const bool queued = r != nullptr && r->try_push([&](HandoffItem& item) {
    item.to = target;
    item.from = source;
    item.length = static_cast<std::uint16_t>(data.size());  // <= kMaxPayload: checked by caller
    std::memcpy(item.slot + io::kHeadroom, data.data(), data.size());
  });
  if (!queued) return Pushed::QueueFull;
  wake(in);
  return Pushed::Queued;
}

// The wake-up protocol. The producer publishes its item, then looks at wake_pending; the
// consumer clears wake_pending, then looks at the rings. The seq_cst fences on both sides
// forbid the one bad outcome (each side reading the other's old value): either the consumer
// sees the item, or the producer sees the cleared flag and writes the eventfd. A flag already
// set means a wake-up is on its way, so a burst costs one write(2), not one per datagram.
void ShardHandoff::wake(Inbox& in) noexcept {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (in.wake_pending.load(std::memory_order_relaxed) ||
      in.wake_pending.exchange(true, std::memory_order_acq_rel))
    return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(in.fd, &one, sizeof one);  // cannot overflow
}

void ShardHandoff::rearm(Inbox& in) noexcept {
  std::uint64_t count = 0;
  [[maybe_unused]] const ssize_t n = ::read(in.fd, &count, sizeof count);  // EAGAIN: not woken
  in.wake_pending.store(false, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace turnd::server::relay
