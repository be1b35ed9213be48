// UDP segmentation offload on send (UDP_SEGMENT, "GSO") and receive coalescing (UDP_GRO): the
// kernel moves several datagrams of one flow through its stack as one buffer, which is where a
// relay's time goes (the per-datagram UDP path, not the system calls). Support is probed once
// at start; the config can turn either off. Linux 4.18 (GSO) and 5.0 (GRO) or later.
#pragma once

#include <netinet/udp.h>

#include <cstddef>
#include <cstdint>

#include "protocol/bytes.hpp"

// glibc headers older than the kernel's options.
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace turnd::server::io {

struct UdpOffload {
  bool gso = false;
  bool gro = false;
};

/// What this kernel supports, probed on a throw-away socket.
UdpOffload probe_udp_offload() noexcept;

/// Asks the kernel to hand `fd`'s datagrams of one flow over coalesced (UDP_GRO). The reader
/// must then use a buffer that can hold them (ReceiveBatch in GRO mode).
bool enable_gro(int fd) noexcept;

/// Segments per segmented write: UDP_MAX_SEGMENTS of older kernels (newer ones allow 128).
inline constexpr std::size_t kMaxGsoSegments = 64;
/// Bytes per segmented write, below the 65,507-byte UDP payload limit of IPv4.
inline constexpr std::size_t kMaxGsoBytes = 65000;
/// Largest segment sent segmented. The kernel refuses a segment larger than the route's MTU
/// allows (a datagram sent alone would be fragmented instead); 1232 bytes fit every link that
/// carries IPv6 (1280 - 40 - 8) and hold what WebRTC sends (about 1200 bytes plus framing).
inline constexpr std::size_t kMaxGsoSegmentSize = 1232;

/// Coalesced datagrams kept per received buffer (the kernel makes at most 64 from a network
/// and, on loopback, passes a sender's segmented write of up to 128 as it is).
inline constexpr std::size_t kMaxGroSegments = 128;
/// Free bytes left after each split datagram: the relay pads a frame to 4 bytes in place.
inline constexpr std::size_t kGroSegmentGap = 4;

/// Splits a coalesced buffer of `length` bytes at `data` into datagrams of `segment_size`
/// bytes (the last may be shorter), moving them apart in place so that kGroSegmentGap bytes
/// follow each. `capacity` bytes are writable at `data`. Writes at most `max_out` spans to
/// `out` and returns how many; the segments that did not fit (count or capacity) are left out.
std::size_t split_coalesced(std::uint8_t* data, std::size_t length, std::size_t segment_size,
                            std::size_t capacity, protocol::MutableByteSpan* out,
                            std::size_t max_out) noexcept;

}  // namespace turnd::server::io
