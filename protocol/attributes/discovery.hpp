// RFC 5780 (NAT behaviour discovery) request attributes, §7.2 and §7.6. RESPONSE-PORT (§7.5)
// is in numeric.hpp, the address attributes of the responses (RESPONSE-ORIGIN, OTHER-ADDRESS)
// in address.hpp.
//   CHANGE-REQUEST: | 0 ... 0 (29 bits) | A | B | 0 |   A = change IP, B = change port
//   PADDING:        | any bytes, any length ... |
#pragma once

#include "protocol/attributes/numeric.hpp"
#include "protocol/message_view.hpp"

namespace turnd::protocol {

struct ChangeRequest {
  static constexpr AttrType kType = AttrType::ChangeRequest;
  static constexpr std::uint32_t kChangeIp = 0x4, kChangePort = 0x2;
  bool change_ip = false;
  bool change_port = false;

  static Result<ChangeRequest, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 4) return unexpected(AttrError::Malformed);
    const std::uint32_t flags = load_u32(v.data());  // other bits are zero on send, ignored
    return ChangeRequest{(flags & kChangeIp) != 0, (flags & kChangePort) != 0};
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    w.write_u32((change_ip ? kChangeIp : 0) | (change_port ? kChangePort : 0));
  }
};

/// Its value does not matter (RFC 5780 §7.6): decoding keeps the length, encoding writes
/// `length` zero bytes (the builder pads the TLV to 4).
struct Padding {
  static constexpr AttrType kType = AttrType::Padding;
  std::size_t length = 0;

  static Result<Padding, AttrError> decode(ByteSpan v, const Header&) noexcept {
    return Padding{v.size()};
  }
  void encode(ByteWriter& w, const Header&) const noexcept { w.write_zeros(length); }
};

}  // namespace turnd::protocol
