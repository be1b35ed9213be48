#include "server/io/batch_io.hpp"

#include <cerrno>
#include <cstring>

#include "server/io/socket_address.hpp"

namespace turnd::server::io {

void enable_pktinfo(int fd, bool ipv6) {
  int on = 1;
  if (ipv6)
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
  else
    ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
}

ReceiveBatch::ReceiveBatch() : storage_(new std::uint8_t[kBatchSize * kSlotSize]) {}

int ReceiveBatch::receive(int fd, std::uint16_t local_port) noexcept {
  for (std::size_t i = 0; i < kBatchSize; ++i) {
    iov_[i] = {slot(i) + kHeadroom, kSlotPayload};
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
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
  for (int i = 0; i < n; ++i) {
    auto& d = datagrams_[i];
    const auto& h = headers_[i].msg_hdr;
    d.payload = {slot(i) + kHeadroom, headers_[i].msg_len};
    d.truncated = (h.msg_flags & MSG_TRUNC) != 0;
    d.from = from_sockaddr(from_[i]);
    d.local = {};
    d.local.port = local_port;
    for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&h), c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        d.local.ip.family = protocol::Family::V4;
        std::memcpy(d.local.ip.bytes.data(), &info.ipi_addr, 4);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof info);
        d.local.ip.family = protocol::Family::V6;
        std::memcpy(d.local.ip.bytes.data(), &info.ipi6_addr, 16);
        d.local.ip = d.local.ip.unmapped();
      }
    }
  }
  return n;
}

SendBatch::SendBatch(Counter& dropped)
    : storage_(new std::uint8_t[kBatchSize * kSlotPayload]), dropped_(dropped) {}

protocol::MutableByteSpan SendBatch::acquire(int fd) noexcept {
  if (fd != fd_ || count_ == kBatchSize) {
    flush();
    fd_ = fd;
  }
  return {storage_.get() + count_ * kSlotPayload, kSlotPayload};
}

void SendBatch::commit(std::size_t length, const protocol::TransportAddress& to,
                       const protocol::IpAddress* source) noexcept {
  const std::size_t i = count_;
  iov_[i] = {storage_.get() + i * kSlotPayload, length};
  auto& h = headers_[i].msg_hdr;
  h = {};
  h.msg_name = &to_[i];
  h.msg_namelen = to_sockaddr(to, to_[i]);
  h.msg_iov = &iov_[i];
  h.msg_iovlen = 1;
  if (source != nullptr && !source->is_unspecified() && source->family == to.ip.family) {
    auto* buf = control_[i].data();
    std::memset(buf, 0, control_[i].size());
    h.msg_control = buf;
    if (source->is_v4()) {
      h.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
      in_pktinfo info{};
      std::memcpy(&info.ipi_spec_dst, source->bytes.data(), 4);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    } else {
      h.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
      in6_pktinfo info{};
      std::memcpy(&info.ipi6_addr, source->bytes.data(), 16);
      std::memcpy(CMSG_DATA(c), &info, sizeof info);
    }
  }
  ++count_;
}

void SendBatch::enqueue(int fd, protocol::ByteSpan bytes, const protocol::TransportAddress& to,
                        const protocol::IpAddress* source) noexcept {
  if (bytes.size() > kSlotPayload) {
    ++dropped_;
    return;
  }
  auto buf = acquire(fd);
  std::memcpy(buf.data(), bytes.data(), bytes.size());
  commit(bytes.size(), to, source);
}

void SendBatch::flush() noexcept {
  std::size_t sent = 0;
  while (sent < count_) {
    const int n = ::sendmmsg(fd_, headers_.data() + sent, static_cast<unsigned>(count_ - sent), 0);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // EAGAIN or a per-destination error (e.g. ECONNREFUSED from an ICMP): skip one datagram.
    ++dropped_;
    ++sent;
  }
  count_ = 0;
}

}  // namespace turnd::server::io
