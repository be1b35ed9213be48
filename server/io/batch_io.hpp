// Batched datagram I/O (recvmmsg/sendmmsg) over preallocated slots. Each slot leaves headroom
// in front of the payload so a ChannelData or Data-indication header can be written in place.
// The local (destination) address of each datagram is read from IP_PKTINFO so that a socket
// bound to a wildcard address answers from the address the client used. With UDP GRO a
// received buffer may hold several datagrams of one flow, split here; with UDP GSO a run of
// datagrams from one socket to one destination leaves as one segmented write.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/transport_address.hpp"
#include "server/io/counters.hpp"
#include "server/io/udp_offload.hpp"

namespace turnd::server::io {

inline constexpr std::size_t kBatchSize = 32;
inline constexpr std::size_t kHeadroom = 48;       // Data indication: 20 + 24 (v6 peer) + 4
inline constexpr std::size_t kSlotPayload = 2048;  // larger datagrams are truncated and dropped

/// Enables IP_PKTINFO / IPV6_RECVPKTINFO on a UDP socket so receive() reports local addresses.
void enable_pktinfo(int fd, bool ipv6);

struct Datagram {
  protocol::MutableByteSpan payload;  // inside the batch's memory
  /// Where writable memory in front of the payload begins (at least kHeadroom before it).
  /// Behind a split datagram it is the memory of the ones before it: consume datagrams in
  /// order, and write in front of one only when those before it are done with.
  std::uint8_t* buffer_start = nullptr;
  protocol::TransportAddress from;
  protocol::TransportAddress local;  // destination address (from pktinfo) with the socket's port
  bool truncated = false;            // larger than a relay slot: to be dropped
};

/// Receives up to kBatchSize buffers in one recvmmsg call. In GRO mode each buffer holds up to
/// 64 KiB and a coalesced one becomes several datagrams; then a call may yield more than
/// kBatchSize of them. At least 3 bytes after each payload are writable (frame padding).
class ReceiveBatch {
 public:
  /// `counters` may be null (tests). `gro`: buffers for coalesced datagrams; use
  /// prepare_socket() on the sockets read through it.
  explicit ReceiveBatch(DatagramCounters* counters = nullptr, bool gro = false);
  /// Turns on UDP_GRO for `fd` when this batch is in GRO mode (no-op otherwise).
  void prepare_socket(int fd) const noexcept;
  bool gro() const noexcept { return gro_; }
  /// Returns the number of datagrams (0 when the socket would block; -1 on another error).
  int receive(int fd, std::uint16_t local_port) noexcept;
  /// Whether the last receive() emptied the socket (fewer buffers than it could take).
  bool drained() const noexcept { return buffers_ < kBatchSize; }
  Datagram& operator[](std::size_t i) noexcept { return datagrams_[i]; }

 private:
  std::uint8_t* buffer(std::size_t i) noexcept { return storage_.get() + i * buffer_size_; }
  void add_datagram(const Datagram& meta, protocol::MutableByteSpan payload,
                    std::uint8_t* buffer_start) noexcept;

  bool gro_;
  std::size_t capacity_;     // payload bytes per buffer
  std::size_t buffer_size_;  // headroom + capacity (+ gaps of split datagrams)
  std::unique_ptr<std::uint8_t[]> storage_;
  std::array<mmsghdr, kBatchSize> headers_{};
  std::array<iovec, kBatchSize> iov_{};
  std::array<sockaddr_storage, kBatchSize> from_{};
  std::array<std::array<std::uint8_t, 96>, kBatchSize> control_{};
  std::vector<Datagram> datagrams_;  // reserved once; never grows past it
  std::size_t buffers_ = 0;
  DatagramCounters* counters_;
};

/// Collects outgoing datagrams (from any socket of the shard) and sends them per socket with
/// one sendmmsg call each: at flush(), when full, or at the end of the event loop's current
/// turn (flush_soon). A run of datagrams from one socket to one destination and source, of
/// one size (the last may be shorter), becomes one segmented write when GSO is on.
class SendBatch {
 public:
  SendBatch(DatagramCounters& counters, Counter& dropped);
  /// Segmented writes on (when the kernel has them) or off.
  void set_gso(bool on) noexcept { gso_ = on; }
  /// The loop flush_soon() posts to (the shard's).
  void attach(boost::asio::io_context& io) noexcept { io_ = &io; }
  /// Queues a copy of `bytes` from `fd` to `to`, sent from `source` when that is a specific
  /// address (nullptr or unspecified: let the kernel pick). Larger than a slot: dropped.
  void enqueue(int fd, protocol::ByteSpan bytes, const protocol::TransportAddress& to,
               const protocol::IpAddress* source) noexcept;
  /// Sends what is queued. Datagrams the kernel cannot take now (EAGAIN) are dropped and
  /// counted: UDP is lossy and a full socket buffer means the receiver is behind.
  void flush() noexcept;
  /// Flushes once the loop has run the handlers that are ready now (a relay wake-up of many
  /// sockets then sends to the listener socket in one call), or now without attach().
  void flush_soon() noexcept;

 private:
  struct Entry {
    int fd;
    std::uint16_t length;
    protocol::TransportAddress to;
    protocol::IpAddress source;  // unspecified: the kernel picks
  };
  std::uint8_t* slot(std::size_t i) noexcept { return storage_.get() + i * kSlotPayload; }
  /// Sends the entries order_[first, first + n), all from `fd`.
  void send_socket(int fd, std::size_t first, std::size_t n) noexcept;
  /// How many of order_[first, end) go in one message: a GSO run, or 1.
  std::size_t run_length(int fd, std::size_t first, std::size_t end) const noexcept;
  /// Fills headers_[m] for the entries order_[first, first + n) (n > 1: segmented).
  void build_message(std::size_t m, std::size_t first, std::size_t n) noexcept;
  /// Sends a segmented message the kernel refused as single datagrams.
  void resend_unsegmented(int fd, std::size_t first, std::size_t n) noexcept;
  bool gso_allowed(int fd) const noexcept;

  bool gso_ = false;
  bool flush_posted_ = false;
  boost::asio::io_context* io_ = nullptr;
  std::size_t count_ = 0;
  std::unique_ptr<std::uint8_t[]> storage_;
  std::array<Entry, kBatchSize> entries_{};
  std::array<std::uint8_t, kBatchSize> order_{};  // entry indexes grouped by socket
  // One sendmmsg call's messages.
  std::array<mmsghdr, kBatchSize> headers_{};
  std::array<std::size_t, kBatchSize> first_{}, segments_{};  // per message, in order_
  std::array<iovec, kBatchSize> iov_{};
  std::array<sockaddr_storage, kBatchSize> to_{};
  std::array<std::array<std::uint8_t, 64>, kBatchSize> control_{};
  /// Sockets whose segmented writes the kernel refused for good (EIO: no checksum offload on
  /// the route, EOPNOTSUPP), one bit per descriptor. A descriptor number reused by a later
  /// socket keeps the bit: that socket then just sends unsegmented.
  std::vector<std::uint64_t> no_gso_;
  DatagramCounters& counters_;
  Counter& dropped_;
};

}  // namespace turnd::server::io
