// Text and opaque-bytes attributes: USERNAME (§14.3), REALM (§14.9), NONCE (§14.10) and
// SOFTWARE (§14.14) are sent under 509 bytes but MUST be parsed up to 763 (RFC 5389
// compatibility); DATA (RFC 8656 §18.4), USERHASH (§14.4, 32 bytes), RESERVATION-TOKEN
// (RFC 8656 §18.9, 8 bytes), CONNECTION-ID (RFC 6062, 4 bytes).
#pragma once

#include "protocol/message_view.hpp"

namespace turnd::protocol {

/// Variable-length value up to MaxLen bytes (exactly Fixed bytes when Fixed != 0).
/// `value` views the message on decode, or the caller's data on encode.
template <AttrType T, std::size_t MaxLen, std::size_t Fixed = 0>
struct BytesAttribute {
  static constexpr AttrType kType = T;
  ByteSpan value;

  static Result<BytesAttribute, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() > MaxLen || (Fixed != 0 && v.size() != Fixed))
      return unexpected(AttrError::Malformed);
    return BytesAttribute{v};
  }
  void encode(ByteWriter& w, const Header&) const noexcept { w.write_bytes(value); }
  std::string_view text() const noexcept { return as_string(value); }
};

template <AttrType T, std::size_t MaxLen>
struct TextAttribute : BytesAttribute<T, MaxLen> {
  TextAttribute() = default;
  explicit TextAttribute(std::string_view s) noexcept : BytesAttribute<T, MaxLen>{as_bytes(s)} {}
  explicit TextAttribute(BytesAttribute<T, MaxLen> b) noexcept : BytesAttribute<T, MaxLen>{b} {}
  static Result<TextAttribute, AttrError> decode(ByteSpan v, const Header& h) noexcept {
    auto b = BytesAttribute<T, MaxLen>::decode(v, h);
    if (!b) return unexpected(b.error());
    return TextAttribute{*b};
  }
};

using Username = TextAttribute<AttrType::Username, 763>;
using Realm = TextAttribute<AttrType::Realm, 763>;
using Nonce = TextAttribute<AttrType::Nonce, 763>;
using Software = TextAttribute<AttrType::Software, 763>;
using Data = BytesAttribute<AttrType::Data, 65535>;
using Userhash = BytesAttribute<AttrType::Userhash, 32, 32>;
using ReservationToken = BytesAttribute<AttrType::ReservationToken, 8, 8>;
using ConnectionId = BytesAttribute<AttrType::ConnectionId, 4, 4>;

}  // namespace turnd::protocol
