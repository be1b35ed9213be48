#include "protocol/message_view.hpp"

#include <cstring>

#include "protocol/fingerprint.hpp"

namespace turnd::protocol {

std::string_view to_string(ParseError e) noexcept {
  switch (e) {
    case ParseError::TooShort:
      return "message shorter than the 20-byte header";
    case ParseError::NotStun:
      return "not a STUN message (top bits set)";
    case ParseError::BadLength:
      return "length field does not match the message";
    case ParseError::AttrOverrun:
      return "attribute runs past the end of the message";
    case ParseError::TooManyAttrs:
      return "too many attributes";
    case ParseError::BadFingerprint:
      return "FINGERPRINT mismatch or not last";
  }
  return "unknown parse error";
}

std::string_view to_string(AttrError e) noexcept {
  return e == AttrError::Missing ? "attribute missing" : "attribute malformed";
}

Result<MessageView, ParseError> MessageView::parse(ByteSpan bytes) noexcept {
  if (bytes.size() < kHeaderSize) return unexpected(ParseError::TooShort);
  if (bytes[0] >= 4) return unexpected(ParseError::NotStun);
  const std::uint16_t length = load_u16(bytes.data() + 2);
  if (length % 4 != 0 || kHeaderSize + length != bytes.size())
    return unexpected(ParseError::BadLength);

  MessageView v;
  v.bytes_ = bytes;
  v.type_ = MessageType::decode(load_u16(bytes.data()));
  v.header_.cookie = load_u32(bytes.data() + 4);
  std::memcpy(v.header_.transaction_id.data(), bytes.data() + 8, 12);

  bool after_integrity = false, after_integrity_sha256 = false;
  std::size_t pos = kHeaderSize;
  while (pos < bytes.size()) {
    if (bytes.size() - pos < 4) return unexpected(ParseError::AttrOverrun);
    const std::uint16_t type = load_u16(bytes.data() + pos);
    const std::uint16_t len = load_u16(bytes.data() + pos + 2);
    const std::size_t padded = (std::size_t{len} + 3) & ~std::size_t{3};
    if (bytes.size() - pos - 4 < padded) return unexpected(ParseError::AttrOverrun);

    const auto at = static_cast<AttrType>(type);
    if (at == AttrType::Fingerprint) {
      // RFC 8489 §14.7: FINGERPRINT is last; a wrong one means "not STUN": drop.
      if (len != 4 || pos + 8 != bytes.size()) return unexpected(ParseError::BadFingerprint);
      if (load_u32(bytes.data() + pos + 4) != fingerprint_of(bytes.first(pos)))
        return unexpected(ParseError::BadFingerprint);
    }
    // RFC 8489 §14.5/§14.6: after MESSAGE-INTEGRITY only MI-SHA256 and FINGERPRINT count;
    // after MESSAGE-INTEGRITY-SHA256 only FINGERPRINT.
    const bool ignored =
        (after_integrity_sha256 && at != AttrType::Fingerprint) ||
        (after_integrity && at != AttrType::Fingerprint && at != AttrType::MessageIntegritySha256);
    if (!ignored) {
      if (v.count_ == kMaxAttributes) return unexpected(ParseError::TooManyAttrs);
      v.attrs_[v.count_++] =
          RawAttribute{type, static_cast<std::uint32_t>(pos), bytes.subspan(pos + 4, len)};
      if (is_comprehension_required(type) && !is_known_attribute(type))
        v.unknown_[v.unknown_count_++] = type;
      if (at == AttrType::MessageIntegrity) after_integrity = true;
      if (at == AttrType::MessageIntegritySha256) after_integrity_sha256 = true;
    }
    pos += 4 + padded;
  }
  return v;
}

const RawAttribute* MessageView::find(AttrType type) const noexcept {
  const auto t = static_cast<std::uint16_t>(type);
  for (std::size_t i = 0; i < count_; ++i)
    if (attrs_[i].type == t) return &attrs_[i];
  return nullptr;
}

bool is_known_attribute(std::uint16_t type) noexcept {
  switch (static_cast<AttrType>(type)) {
    case AttrType::MappedAddress:
    case AttrType::Username:
    case AttrType::MessageIntegrity:
    case AttrType::ErrorCode:
    case AttrType::UnknownAttributes:
    case AttrType::ChannelNumber:
    case AttrType::Lifetime:
    case AttrType::XorPeerAddress:
    case AttrType::Data:
    case AttrType::Realm:
    case AttrType::Nonce:
    case AttrType::XorRelayedAddress:
    case AttrType::RequestedAddressFamily:
    case AttrType::EvenPort:
    case AttrType::RequestedTransport:
    case AttrType::DontFragment:
    case AttrType::MessageIntegritySha256:
    case AttrType::PasswordAlgorithm:
    case AttrType::Userhash:
    case AttrType::XorMappedAddress:
    case AttrType::ReservationToken:
    case AttrType::Priority:
    case AttrType::UseCandidate:
    case AttrType::ConnectionId:
    // RFC 5780: parsed here; where turnd serves no NAT discovery the server answers 420 for
    // them itself (server/nat_discovery.hpp).
    case AttrType::ChangeRequest:
    case AttrType::Padding:
    case AttrType::ResponsePort:
      return true;
    default:
      return !is_comprehension_required(type);
  }
}

std::string_view method_name(std::uint16_t method) noexcept {
  switch (static_cast<Method>(method)) {
    case Method::Binding:
      return "Binding";
    case Method::Allocate:
      return "Allocate";
    case Method::Refresh:
      return "Refresh";
    case Method::Send:
      return "Send";
    case Method::Data:
      return "Data";
    case Method::CreatePermission:
      return "CreatePermission";
    case Method::ChannelBind:
      return "ChannelBind";
    case Method::Connect:
      return "Connect";
    case Method::ConnectionBind:
      return "ConnectionBind";
    case Method::ConnectionAttempt:
      return "ConnectionAttempt";
  }
  return "Unknown";
}

}  // namespace turnd::protocol
