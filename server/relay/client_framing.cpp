#include "server/relay/client_framing.hpp"

#include <cstring>

#include "protocol/attributes/address.hpp"
#include "protocol/channel_data.hpp"

namespace turnd::server::relay {

using namespace protocol;

namespace {

ByteSpan channel_data(std::uint16_t channel, MutableByteSpan payload, bool stream) noexcept {
  const auto len = static_cast<std::uint16_t>(payload.size());
  std::uint8_t* start = payload.data() - kChannelDataHeaderSize;
  write_channel_data_header(start, channel, len);
  std::size_t total = kChannelDataHeaderSize + len;
  if (stream) {  // RFC 8656 §12.5: padded to 4 bytes on TCP/TLS, not on UDP
    const std::size_t pad = (4 - len % 4) % 4;
    std::memset(payload.data() + len, 0, pad);
    total += pad;
  }
  return {start, total};
}

ByteSpan data_indication(const Allocation& a, const TransportAddress& peer, MutableByteSpan payload,
                         const std::uint8_t* buffer_start, std::uint64_t& indications) noexcept {
  const auto len = static_cast<std::uint16_t>(payload.size());
  const std::size_t pad = (4 - len % 4) % 4;  // STUN attributes are always padded
  const std::size_t peer_attr = 4 + 4 + peer.ip.size();
  const std::size_t header_len = kHeaderSize + peer_attr + 4;
  std::uint8_t* start = payload.data() - header_len;
  if (start < buffer_start) return {};
  Header h;
  ++indications;
  std::memcpy(h.transaction_id.data(), &indications, sizeof indications);
  std::memcpy(h.transaction_id.data() + 8, &a.id, 4);
  ByteWriter w{{start, header_len}};
  w.write_u16(MessageType{Method::Data, Class::Indication}.encode());
  w.write_u16(static_cast<std::uint16_t>(peer_attr + 4 + len + pad));
  w.write_u32(kMagicCookie);
  w.write_bytes(h.transaction_id);
  w.write_u16(static_cast<std::uint16_t>(AttrType::XorPeerAddress));
  w.write_u16(static_cast<std::uint16_t>(4 + peer.ip.size()));
  XorPeerAddress{peer}.encode(w, h);
  w.write_u16(static_cast<std::uint16_t>(AttrType::Data));
  w.write_u16(len);
  std::memset(payload.data() + len, 0, pad);
  return {start, header_len + len + pad};
}

}  // namespace

ByteSpan frame_for_client(const Allocation& a, const TransportAddress& peer,
                          MutableByteSpan payload, const std::uint8_t* buffer_start, bool stream,
                          SteadyTime now, std::uint64_t& indications) noexcept {
  // Every caller passes at most one relay slot; a larger payload could not be framed with a
  // 16-bit length, so it is never sent (a fuzz or logic error must not become a forged frame).
  TURND_ASSERT(payload.size() <= kMaxRelayPayload);
  if (payload.size() > kMaxRelayPayload) return {};
  if (const ChannelBinding* ch = a.channel_by_peer(peer, now))
    return channel_data(ch->number, payload, stream);
  return data_indication(a, peer, payload, buffer_start, indications);
}

}  // namespace turnd::server::relay
