// Batched datagram I/O (recvmmsg/sendmmsg) over preallocated slots. Each slot leaves headroom
// in front of the payload so a ChannelData or Data-indication header can be written in place.
// The local (destination) address of each datagram is read from IP_PKTINFO so that a socket
// bound to a wildcard address answers from the address the client used.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <memory>

#include "protocol/bytes.hpp"
#include "protocol/transport_address.hpp"
#include "server/io/counters.hpp"

namespace turnd::server::io {

inline constexpr std::size_t kBatchSize = 32;
inline constexpr std::size_t kHeadroom = 48;       // Data indication: 20 + 24 (v6 peer) + 4
inline constexpr std::size_t kSlotPayload = 2048;  // larger datagrams are truncated and dropped

/// Enables IP_PKTINFO / IPV6_RECVPKTINFO on a UDP socket so receive() reports local addresses.
void enable_pktinfo(int fd, bool ipv6);

struct Datagram {
  protocol::MutableByteSpan payload;  // points into the slot, after the headroom
  protocol::TransportAddress from;
  protocol::TransportAddress local;  // destination address (from pktinfo) with the socket's port
  bool truncated = false;
};

/// Receives up to kBatchSize datagrams in one recvmmsg call.
class ReceiveBatch {
 public:
  ReceiveBatch();
  /// Returns the number received (0 when the socket would block; -1 on another error).
  int receive(int fd, std::uint16_t local_port) noexcept;
  Datagram& operator[](std::size_t i) noexcept { return datagrams_[i]; }
  /// The slot memory of datagram i, including headroom (for in-place header writes).
  std::uint8_t* slot(std::size_t i) noexcept { return storage_.get() + i * kSlotSize; }
  static constexpr std::size_t kSlotSize = kHeadroom + kSlotPayload;

 private:
  std::unique_ptr<std::uint8_t[]> storage_;
  std::array<mmsghdr, kBatchSize> headers_{};
  std::array<iovec, kBatchSize> iov_{};
  std::array<sockaddr_storage, kBatchSize> from_{};
  std::array<std::array<std::uint8_t, 64>, kBatchSize> control_{};
  std::array<Datagram, kBatchSize> datagrams_{};
};

/// Collects outgoing datagrams and sends them with one sendmmsg call per flush.
class SendBatch {
 public:
  explicit SendBatch(Counter& dropped);
  /// A buffer for the next datagram; call commit() with its length, or don't to discard it.
  protocol::MutableByteSpan acquire(int fd) noexcept;
  /// Queues the acquired buffer's first `length` bytes to `to`, sent from `source` when that
  /// is a specific address (nullptr or unspecified: let the kernel pick).
  void commit(std::size_t length, const protocol::TransportAddress& to,
              const protocol::IpAddress* source) noexcept;
  /// Queues a copy of `bytes` (helper for callers that built elsewhere).
  void enqueue(int fd, protocol::ByteSpan bytes, const protocol::TransportAddress& to,
               const protocol::IpAddress* source) noexcept;
  /// Sends what is queued. Datagrams the kernel cannot take now (EAGAIN) are dropped and
  /// counted: UDP is lossy and a full socket buffer means the receiver is behind.
  void flush() noexcept;

 private:
  int fd_ = -1;
  std::size_t count_ = 0;
  std::unique_ptr<std::uint8_t[]> storage_;
  std::array<mmsghdr, kBatchSize> headers_{};
  std::array<iovec, kBatchSize> iov_{};
  std::array<sockaddr_storage, kBatchSize> to_{};
  std::array<std::array<std::uint8_t, 64>, kBatchSize> control_{};
  Counter& dropped_;
};

}  // namespace turnd::server::io
