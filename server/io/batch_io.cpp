#include "server/io/batch_io.hpp"

#include <netinet/udp.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "server/io/socket_address.hpp"

namespace turnd::server::io {

namespace {
constexpr std::size_t kGroCapacity = 65536;  // the most one coalesced buffer holds

/// Writes one control message at `c` and returns the next one's place.
template <class T>
cmsghdr* put_cmsg(msghdr& h, cmsghdr* c, int level, int type, const T& value) noexcept {
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(sizeof(T));
  std::memcpy(CMSG_DATA(c), &value, sizeof(T));
  h.msg_controllen += CMSG_SPACE(sizeof(T));
  return reinterpret_cast<cmsghdr*>(reinterpret_cast<std::uint8_t*>(c) + CMSG_SPACE(sizeof(T)));
}

/// IP_PKTINFO / IPV6_PKTINFO for `source`, and UDP_SEGMENT when `segment` is not 0.
void put_control(msghdr& h, std::uint8_t* buf, std::size_t size, const protocol::IpAddress& source,
                 std::uint16_t segment) noexcept {
  if (source.is_unspecified() && segment == 0) return;
  std::memset(buf, 0, size);
  h.msg_control = buf;
  h.msg_controllen = 0;
  auto* c = reinterpret_cast<cmsghdr*>(buf);
  if (!source.is_unspecified()) {
    if (source.is_v4()) {
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, source.bytes.data(), 4);
      c = put_cmsg(h, c, IPPROTO_IP, IP_PKTINFO, info);
    } else {
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, source.bytes.data(), 16);
      c = put_cmsg(h, c, IPPROTO_IPV6, IPV6_PKTINFO, info);
    }
  }
  if (segment != 0) put_cmsg(h, c, SOL_UDP, UDP_SEGMENT, segment);
}

std::size_t descriptor_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return std::min<std::size_t>(limit.rlim_cur, 1 << 20);
}
}  // namespace

void enable_pktinfo(int fd, bool ipv6) {
  int on = 1;
  if (ipv6)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
  else
    ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
}

// ---- receive ----------------------------------------------------------------------------

ReceiveBatch::ReceiveBatch(DatagramCounters* counters, bool gro)
    : gro_(gro),
      capacity_(gro ? kGroCapacity : kSlotPayload),
      buffer_size_(kHeadroom + capacity_ + (gro ? kMaxGroSegments * kGroSegmentGap : 0)),
      // Not zeroed: only the pages the kernel writes become resident.
      storage_(new std::uint8_t[kBatchSize * buffer_size_]),
      counters_(counters) {
  datagrams_.reserve(gro ? kBatchSize * kMaxGroSegments : kBatchSize);
}

void ReceiveBatch::prepare_socket(int fd) const noexcept {
  if (gro_) enable_gro(fd);
}

void ReceiveBatch::add_datagram(const Datagram& meta, protocol::MutableByteSpan payload,
                                std::uint8_t* buffer_start) noexcept {
  // Within the reservation (kMaxGroSegments per buffer at most): no allocation, and only
  // the entries used are ever touched.
  Datagram& d = datagrams_.emplace_back(meta);
  d.payload = payload;
  d.buffer_start = buffer_start;
  // One rule whatever the buffer: what does not fit a relay slot is not relayed.
  if (payload.size() > kSlotPayload) d.truncated = true;
}

int ReceiveBatch::receive(int fd, std::uint16_t local_port) noexcept {
  for (std::size_t i = 0; i < kBatchSize; ++i) {
    iov_[i] = {buffer(i) + kHeadroom, capacity_};
    auto& h = headers_[i].msg_hdr;
    h = {};
    h.msg_name = &from_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iov_[i];
    h.msg_iovlen = 1;
    h.msg_control = control_[i].data();
    h.msg_controllen = control_[i].size();
  }
  const int n = ::recvmmsg(fd, headers_.data(), kBatchSize, MSG_DONTWAIT, nullptr);
  datagrams_.clear();
  buffers_ = 0;
  if (counters_ != nullptr) ++counters_->udp_receive_calls;
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
  buffers_ = static_cast<std::size_t>(n);
  std::size_t coalesced = 0, dropped = 0;
  for (int i = 0; i < n; ++i) {
    const auto& h = headers_[i].msg_hdr;
    Datagram meta;
    meta.truncated = (h.msg_flags & MSG_TRUNC) != 0;
    meta.from = from_sockaddr(from_[i]);
    meta.local.port = local_port;
    int segment = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        meta.local.ip.family = protocol::Family::V4;
        std::memcpy(meta.local.ip.bytes.data(), &info.ipi_addr, 4);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        meta.local.ip.family = protocol::Family::V6;
        std::memcpy(meta.local.ip.bytes.data(), &info.ipi6_addr, 16);
        meta.local.ip = meta.local.ip.unmapped();
      } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        std::memcpy(&segment, CMSG_DATA(c), sizeof segment);
      }
    }
    std::uint8_t* start = buffer(static_cast<std::size_t>(i));
    std::uint8_t* data = start + kHeadroom;
    const std::size_t length = headers_[i].msg_len;
    if (segment <= 0 || static_cast<std::size_t>(segment) >= length || meta.truncated) {
      add_datagram(meta, {data, length}, start);
      continue;
    }
    ++coalesced;
    std::array<protocol::MutableByteSpan, kMaxGroSegments> parts;
    const std::size_t seg = static_cast<std::size_t>(segment);
    const std::size_t kept =
        split_coalesced(data, length, seg, buffer_size_ - kHeadroom, parts.data(), parts.size());
    dropped += (length + seg - 1) / seg - kept;
    for (std::size_t k = 0; k < kept; ++k) add_datagram(meta, parts[k], start);
  }
  if (counters_ != nullptr) {
    counters_->udp_received.add(datagrams_.size());
    if (coalesced != 0) counters_->udp_gro_buffers.add(coalesced);
    if (dropped != 0) counters_->udp_gro_dropped.add(dropped);
  }
  return static_cast<int>(datagrams_.size());
}

// ---- send -------------------------------------------------------------------------------

SendBatch::SendBatch(DatagramCounters& counters, Counter& dropped)
    : storage_(new std::uint8_t[kBatchSize * kSlotPayload]),
      no_gso_((descriptor_limit() + 63) / 64),
      counters_(counters),
      dropped_(dropped) {}

void SendBatch::enqueue(int fd, protocol::ByteSpan bytes, const protocol::TransportAddress& to,
                        const protocol::IpAddress* source) noexcept {
  if (bytes.size() > kSlotPayload) {
    ++dropped_;
    return;
  }
  if (count_ == kBatchSize) flush();
  Entry& e = entries_[count_];
  e.fd = fd;
  e.length = static_cast<std::uint16_t>(bytes.size());
  e.to = to;
  e.source =
      (source != nullptr && source->family == to.ip.family) ? *source : protocol::IpAddress{};
  std::memcpy(slot(count_), bytes.data(), bytes.size());
  ++count_;
}

void SendBatch::flush_soon() noexcept {
  if (io_ == nullptr) return flush();
  if (flush_posted_ || count_ == 0) return;
  flush_posted_ = true;
  boost::asio::post(*io_, [this] {
    flush_posted_ = false;
    flush();
  });
}

void SendBatch::flush() noexcept {
  if (count_ == 0) return;
  // Group by socket, keeping each socket's order (a stable insertion sort of <= 32 indexes).
  for (std::size_t i = 0; i < count_; ++i) {
    std::size_t j = i;
    while (j > 0 && entries_[order_[j - 1]].fd > entries_[i].fd) {
      order_[j] = order_[j - 1];
      --j;
    }
    order_[j] = static_cast<std::uint8_t>(i);
  }
  for (std::size_t first = 0; first < count_;) {
    const int fd = entries_[order_[first]].fd;
    std::size_t end = first + 1;
    while (end < count_ && entries_[order_[end]].fd == fd) ++end;
    send_socket(fd, first, end - first);
    first = end;
  }
  count_ = 0;
}

bool SendBatch::gso_allowed(int fd) const noexcept {
  if (!gso_) return false;
  const auto i = static_cast<std::size_t>(fd);
  return i / 64 >= no_gso_.size() || (no_gso_[i / 64] & (1ULL << (i % 64))) == 0;
}

std::size_t SendBatch::run_length(int fd, std::size_t first, std::size_t end) const noexcept {
  const Entry& head = entries_[order_[first]];
  const std::size_t segment = head.length;
  if (segment == 0 || segment > kMaxGsoSegmentSize || !gso_allowed(fd)) return 1;
  std::size_t n = 1, bytes = segment;
  while (first + n < end && n < kMaxGsoSegments) {
    const Entry& e = entries_[order_[first + n]];
    if (e.to != head.to || e.source != head.source) break;
    if (e.length > segment || e.length == 0 || bytes + e.length > kMaxGsoBytes) break;
    bytes += e.length;
    ++n;
    if (e.length < segment) break;  // only the last segment may be shorter
  }
  return n;
}

void SendBatch::build_message(std::size_t m, std::size_t first, std::size_t n) noexcept {
  const Entry& head = entries_[order_[first]];
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = order_[first + k];
    iov_[first + k] = {slot(i), entries_[i].length};
  }
  auto& h = headers_[m].msg_hdr;
  h = {};
  h.msg_name = &to_[m];
  h.msg_namelen = to_sockaddr(head.to, to_[m]);
  h.msg_iov = &iov_[first];
  h.msg_iovlen = n;
  put_control(h, control_[m].data(), control_[m].size(), head.source,
              n > 1 ? head.length : std::uint16_t{0});
  first_[m] = first;
  segments_[m] = n;
}

void SendBatch::send_socket(int fd, std::size_t first, std::size_t n) noexcept {
  std::size_t messages = 0;
  for (std::size_t k = first; k < first + n;) {
    const std::size_t run = run_length(fd, k, first + n);
    build_message(messages++, k, run);
    k += run;
  }
  std::size_t sent = 0;
  while (sent < messages) {
    const int r = ::sendmmsg(fd, headers_.data() + sent, static_cast<unsigned>(messages - sent), 0);
    ++counters_.udp_send_calls;
    if (r > 0) {
      for (std::size_t m = sent; m < sent + static_cast<std::size_t>(r); ++m) {
        counters_.udp_sent.add(segments_[m]);
        if (segments_[m] > 1) ++counters_.udp_gso_writes;
      }
      sent += static_cast<std::size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    const int error = r < 0 ? errno : 0;
    if (segments_[sent] > 1 && (error == EIO || error == EINVAL || error == EOPNOTSUPP ||
                                error == ENOPROTOOPT || error == EMSGSIZE)) {
      // Refused as a segmented write: no checksum offload on the route (EIO, for good on this
      // socket), or a segment larger than the route's MTU allows (EINVAL, this time only).
      ++counters_.udp_gso_fallbacks;
      if (error != EINVAL && error != EMSGSIZE) {
        const auto i = static_cast<std::size_t>(fd);
        if (i / 64 < no_gso_.size()) no_gso_[i / 64] |= 1ULL << (i % 64);
      }
      resend_unsegmented(fd, first_[sent], segments_[sent]);
    } else {
      // EAGAIN or a per-destination error (e.g. ECONNREFUSED from an ICMP): skip one message.
      dropped_.add(segments_[sent]);
    }
    ++sent;
  }
}

void SendBatch::resend_unsegmented(int fd, std::size_t first, std::size_t n) noexcept {
  std::array<mmsghdr, kMaxGsoSegments> single{};
  std::array<std::array<std::uint8_t, 64>, kMaxGsoSegments> control{};
  const Entry& head = entries_[order_[first]];
  sockaddr_storage to;
  const socklen_t to_len = to_sockaddr(head.to, to);
  for (std::size_t k = 0; k < n; ++k) {
    auto& h = single[k].msg_hdr;
    h.msg_name = &to;
    h.msg_namelen = to_len;
    h.msg_iov = &iov_[first + k];
    h.msg_iovlen = 1;
    put_control(h, control[k].data(), control[k].size(), head.source, 0);
  }
  std::size_t sent = 0;
  while (sent < n) {
    const int r = ::sendmmsg(fd, single.data() + sent, static_cast<unsigned>(n - sent), 0);
    ++counters_.udp_send_calls;
    if (r > 0) {
      counters_.udp_sent.add(static_cast<std::size_t>(r));
      sent += static_cast<std::size_t>(r);
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      ++dropped_;
      ++sent;
    }
  }
}

}  // namespace turnd::server::io
