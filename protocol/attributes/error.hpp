// ERROR-CODE (RFC 8489 §14.8), UNKNOWN-ATTRIBUTES (§14.13), ADDRESS-ERROR-CODE (RFC 8656 §18.12).
//   ERROR-CODE:         | Reserved (21) | Class (3) | Number (8) | Reason phrase ... |
//   ADDRESS-ERROR-CODE: | Family (8) | Rsvd (13) | Class (3) | Number (8) | Reason ... |
#pragma once

#include <span>

#include "protocol/message_view.hpp"

namespace turnd::protocol {

struct ErrorCode {
  static constexpr AttrType kType = AttrType::ErrorCode;
  std::uint16_t code = 0;   // 300-699
  std::string_view reason;  // views the message (decode) or the caller's text (encode)

  static Result<ErrorCode, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() < 4 || v.size() > 4 + 763) return unexpected(AttrError::Malformed);
    const unsigned cls = v[2] & 0x07, number = v[3];
    if (cls < 3 || cls > 6 || number > 99) return unexpected(AttrError::Malformed);
    return ErrorCode{static_cast<std::uint16_t>(cls * 100 + number), as_string(v.subspan(4))};
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    w.write_u16(0);
    w.write_u8(static_cast<std::uint8_t>(code / 100));
    w.write_u8(static_cast<std::uint8_t>(code % 100));
    w.write_bytes(as_bytes(reason));
  }
};

struct AddressErrorCode {
  static constexpr AttrType kType = AttrType::AddressErrorCode;
  std::uint8_t family = 0;
  std::uint16_t code = 0;
  std::string_view reason;

  static Result<AddressErrorCode, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() < 4) return unexpected(AttrError::Malformed);
    const unsigned cls = v[2] & 0x07, number = v[3];
    if (cls < 3 || cls > 6 || number > 99) return unexpected(AttrError::Malformed);
    return AddressErrorCode{v[0], static_cast<std::uint16_t>(cls * 100 + number),
                            as_string(v.subspan(4))};
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    w.write_u8(family);
    w.write_u8(0);
    w.write_u8(static_cast<std::uint8_t>(code / 100));
    w.write_u8(static_cast<std::uint8_t>(code % 100));
    w.write_bytes(as_bytes(reason));
  }
};

/// A list of 16-bit attribute types. Decoded as a view; `at(i)` reads entry i.
struct UnknownAttributes {
  static constexpr AttrType kType = AttrType::UnknownAttributes;
  std::span<const std::uint16_t> types;  // encode: the caller's list
  ByteSpan raw;                          // decode: the wire value

  std::size_t size() const noexcept { return raw.empty() ? types.size() : raw.size() / 2; }
  std::uint16_t at(std::size_t i) const noexcept {
    return raw.empty() ? types[i] : load_u16(raw.data() + 2 * i);
  }
  static Result<UnknownAttributes, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() % 2 != 0) return unexpected(AttrError::Malformed);
    UnknownAttributes u;
    u.raw = v;
    return u;
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    if (!raw.empty()) {  // a decoded value re-encodes as it came
      w.write_bytes(raw);
      return;
    }
    for (std::uint16_t t : types) w.write_u16(t);
  }
};

}  // namespace turnd::protocol
