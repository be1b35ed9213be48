#include "server/io/udp_offload.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace turnd::server::io {

UdpOffload probe_udp_offload() noexcept {
  UdpOffload support;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return support;
  int segment = 0;
  support.gso = ::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &segment, sizeof segment) == 0;
  support.gro = enable_gro(fd);
  ::close(fd);
  return support;
}

bool enable_gro(int fd) noexcept {
  const int on = 1;
  return ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
}

std::size_t split_coalesced(std::uint8_t* data, std::size_t length, std::size_t segment_size,
                            std::size_t capacity, protocol::MutableByteSpan* out,
                            std::size_t max_out) noexcept {
  if (segment_size == 0 || length == 0) return 0;
  const std::size_t stride = segment_size + kGroSegmentGap;
  std::size_t count = (length + segment_size - 1) / segment_size;
  if (count > max_out) count = max_out;
  // The last kept segment must end, with its gap, inside the buffer.
  while (count > 0) {
    const std::size_t last = count - 1;
    const std::size_t last_size = std::min(segment_size, length - last * segment_size);
    if (last * stride + last_size + kGroSegmentGap <= capacity) break;
    --count;
  }
  // From the back, so that no segment is overwritten before it has moved.
  for (std::size_t k = count; k-- > 0;) {
    const std::size_t size = std::min(segment_size, length - k * segment_size);
    std::uint8_t* to = data + k * stride;
    if (k != 0) std::memmove(to, data + k * segment_size, size);
    out[k] = {to, size};
  }
  return count;
}

}  // namespace turnd::server::io
