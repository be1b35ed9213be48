// Address attributes (RFC 8489 §14.1/§14.2, RFC 8656 §18.3/§18.5, §14.15 ALTERNATE-SERVER,
// RFC 5780 §7.3/§7.4 RESPONSE-ORIGIN and OTHER-ADDRESS, RFC 3489's SOURCE- and CHANGED-ADDRESS).
//   | 0x00 | Family | Port (16) | Address (32 or 128 bits) |
// The XOR forms XOR the port with the cookie's top half and the address with cookie + id.
#pragma once

#include <cstring>

#include "protocol/message_view.hpp"
#include "protocol/transport_address.hpp"

namespace turnd::protocol {

namespace detail {
inline void xor_address(TransportAddress& a, const Header& h) noexcept {
  std::uint8_t mask[16];
  store_u32(mask, h.cookie);
  std::memcpy(mask + 4, h.transaction_id.data(), 12);
  a.port ^= static_cast<std::uint16_t>(h.cookie >> 16);
  for (std::size_t i = 0; i < a.ip.size(); ++i) a.ip.bytes[i] ^= mask[i];
}
}  // namespace detail

template <AttrType T, bool Xor>
struct AddressAttribute {
  static constexpr AttrType kType = T;
  TransportAddress address;

  static Result<AddressAttribute, AttrError> decode(ByteSpan v, const Header& h) noexcept {
    if (v.size() < 4) return unexpected(AttrError::Malformed);
    AddressAttribute out;
    const std::uint8_t family = v[1];
    const std::size_t addr_len = family == 1 ? 4 : family == 2 ? 16 : 0;
    if (addr_len == 0 || v.size() != 4 + addr_len) return unexpected(AttrError::Malformed);
    out.address.ip.family = static_cast<Family>(family);
    out.address.port = load_u16(v.data() + 2);
    std::memcpy(out.address.ip.bytes.data(), v.data() + 4, addr_len);
    if constexpr (Xor) detail::xor_address(out.address, h);
    return out;
  }
  void encode(ByteWriter& w, const Header& h) const noexcept {
    TransportAddress a = address;
    if constexpr (Xor) detail::xor_address(a, h);
    w.write_u8(0);
    w.write_u8(static_cast<std::uint8_t>(a.ip.family));
    w.write_u16(a.port);
    w.write_bytes(ByteSpan{a.ip.bytes.data(), a.ip.size()});
  }
};

using MappedAddress = AddressAttribute<AttrType::MappedAddress, false>;
using XorMappedAddress = AddressAttribute<AttrType::XorMappedAddress, true>;
using XorPeerAddress = AddressAttribute<AttrType::XorPeerAddress, true>;
using XorRelayedAddress = AddressAttribute<AttrType::XorRelayedAddress, true>;
using AlternateServer = AddressAttribute<AttrType::AlternateServer, false>;
using ResponseOrigin = AddressAttribute<AttrType::ResponseOrigin, false>;
using OtherAddress = AddressAttribute<AttrType::OtherAddress, false>;
using SourceAddress = AddressAttribute<AttrType::SourceAddress, false>;    // RFC 3489 §11.2.5
using ChangedAddress = AddressAttribute<AttrType::ChangedAddress, false>;  // RFC 3489 §11.2.3

}  // namespace turnd::protocol
