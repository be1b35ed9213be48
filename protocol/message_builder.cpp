#include "protocol/message_builder.hpp"

#include <algorithm>

#include "protocol/fingerprint.hpp"

namespace turnd::protocol {

MessageBuilder::MessageBuilder(MutableByteSpan out, MessageType type, const TransactionId& id,
                               std::uint32_t cookie) noexcept
    // The 16-bit length field bounds a message at 20 + 65532 bytes: never write past that.
    : w_(out.first(std::min(out.size(), kHeaderSize + kMaxMessageLength))) {
  header_.cookie = cookie;
  header_.transaction_id = id;
  w_.write_u16(type.encode());
  w_.write_u16(0);
  w_.write_u32(cookie);
  w_.write_bytes(ByteSpan{id.data(), id.size()});
}

bool MessageBuilder::accepts(AttrType type) noexcept {
  bool ok = false;
  switch (stage_) {
    case Stage::Attributes:
      ok = true;
      break;
    case Stage::AfterIntegrity:
      ok = type == AttrType::MessageIntegritySha256 || type == AttrType::Fingerprint;
      break;
    case Stage::AfterIntegritySha256:
      ok = type == AttrType::Fingerprint;
      break;
    case Stage::Closed:
      ok = false;
      break;
  }
  if (!ok) failed_order_ = true;
  TURND_ASSERT(ok);
  return ok;
}

std::size_t MessageBuilder::begin_attribute(AttrType type) noexcept {
  const std::size_t start = w_.position();
  w_.write_u16(static_cast<std::uint16_t>(type));
  w_.write_u16(0);
  return start;
}

void MessageBuilder::end_attribute(std::size_t start) noexcept {
  if (!w_.ok()) return;
  const std::size_t len = w_.position() - start - 4;
  store_u16(w_.data() + start + 2, static_cast<std::uint16_t>(len));
  w_.write_zeros((4 - len % 4) % 4);  // padding content is zero (RFC 8489 §14)
  set_length();
}

void MessageBuilder::set_length() noexcept {
  if (w_.ok()) store_u16(w_.data() + 2, static_cast<std::uint16_t>(w_.position() - kHeaderSize));
}

MessageBuilder& MessageBuilder::add_raw(std::uint16_t type, ByteSpan value) noexcept {
  if (!accepts(static_cast<AttrType>(type))) return *this;
  const std::size_t start = begin_attribute(static_cast<AttrType>(type));
  w_.write_bytes(value);
  end_attribute(start);
  return *this;
}

MessageBuilder& MessageBuilder::add_integrity(ByteSpan key, IntegrityAlg alg) noexcept {
  const auto type =
      alg == IntegrityAlg::Sha1 ? AttrType::MessageIntegrity : AttrType::MessageIntegritySha256;
  if (!accepts(type) || !w_.ok()) return *this;
  const std::size_t mac_size = alg == IntegrityAlg::Sha1 ? 20 : 32;
  const std::size_t start = w_.position();
  const auto length_with_mac = static_cast<std::uint16_t>(start + 4 + mac_size - kHeaderSize);
  std::uint8_t mac[32];
  const std::size_t n = hmac_with_length(alg, key, w_.written(), length_with_mac, mac);
  if (n != mac_size) {
    failed_integrity_ = true;
    return *this;
  }
  begin_attribute(type);
  w_.write_bytes(ByteSpan{mac, n});
  end_attribute(start);
  stage_ = alg == IntegrityAlg::Sha1 ? Stage::AfterIntegrity : Stage::AfterIntegritySha256;
  return *this;
}

MessageBuilder& MessageBuilder::add_fingerprint() noexcept {
  if (!accepts(AttrType::Fingerprint) || !w_.ok()) return *this;
  const std::size_t start = w_.position();
  store_u16(w_.data() + 2, static_cast<std::uint16_t>(start + 8 - kHeaderSize));
  const std::uint32_t fp = fingerprint_of(w_.written());
  begin_attribute(AttrType::Fingerprint);
  w_.write_u32(fp);
  end_attribute(start);
  stage_ = Stage::Closed;
  return *this;
}

Result<ByteSpan, BuildError> MessageBuilder::finish() noexcept {
  if (!w_.ok()) return unexpected(BuildError::BufferTooSmall);
  if (failed_order_) return unexpected(BuildError::BadOrder);
  if (failed_integrity_) return unexpected(BuildError::IntegrityFailed);
  return ByteSpan{w_.written()};
}

}  // namespace turnd::protocol
