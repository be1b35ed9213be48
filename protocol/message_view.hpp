// A parsed, non-owning view of one STUN message (RFC 8489 §5, §14).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |0 0|     STUN Message Type     |         Message Length        |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                         Magic Cookie                          |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     Transaction ID (96 bits)                  |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |  Type (16)  |  Length (16)  |  Value (padded to 4 bytes) ...  |
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/attr_type.hpp"
#include "protocol/bytes.hpp"
#include "protocol/message_type.hpp"
#include "protocol/result.hpp"

namespace turnd::protocol {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kHeaderSize = 20;
/// Largest value of the length field: 16 bits, a multiple of 4.
inline constexpr std::size_t kMaxMessageLength = 65532;
using TransactionId = std::array<std::uint8_t, 12>;

/// The parts of the header that attribute codecs need (XOR addresses use cookie and id).
struct Header {
  std::uint32_t cookie = kMagicCookie;
  TransactionId transaction_id{};
};

enum class ParseError : std::uint8_t {
  TooShort,        // fewer than 20 bytes
  NotStun,         // top two bits set
  BadLength,       // length field not a multiple of 4 or not equal to the bytes present
  AttrOverrun,     // an attribute's length runs past the message
  TooManyAttrs,    // more than kMaxAttributes
  BadFingerprint,  // FINGERPRINT present but wrong, or not last
};
std::string_view to_string(ParseError) noexcept;

enum class AttrError : std::uint8_t { Missing, Malformed };
std::string_view to_string(AttrError) noexcept;

/// One attribute TLV as found in the message.
struct RawAttribute {
  std::uint16_t type = 0;
  std::uint32_t offset = 0;  // offset of the TLV header from the start of the message
  ByteSpan value;
};

/// Returns a view into `bytes`; valid while `bytes` is. Never allocates.
class MessageView {
 public:
  static constexpr std::size_t kMaxAttributes = 32;

  /// Parses a whole message: `bytes` must be exactly one message (20 + length).
  static Result<MessageView, ParseError> parse(ByteSpan bytes) noexcept;

  MessageType type() const noexcept { return type_; }
  std::uint16_t method() const noexcept { return type_.method; }
  Class cls() const noexcept { return type_.cls; }
  const Header& header() const noexcept { return header_; }
  const TransactionId& transaction_id() const noexcept { return header_.transaction_id; }
  /// RFC 3489 clients send no magic cookie; their 128-bit id is cookie + transaction_id.
  bool has_magic_cookie() const noexcept { return header_.cookie == kMagicCookie; }
  ByteSpan bytes() const noexcept { return bytes_; }

  /// Attributes that count (those after MESSAGE-INTEGRITY other than MI-SHA256/FINGERPRINT
  /// are ignored, RFC 8489 §14.5), in wire order.
  std::span<const RawAttribute> attributes() const noexcept { return {attrs_.data(), count_}; }
  /// Comprehension-required attribute types this implementation does not know.
  std::span<const std::uint16_t> unknown_required() const noexcept {
    return {unknown_.data(), unknown_count_};
  }
  /// The first attribute of `type`, or nullptr.
  const RawAttribute* find(AttrType type) const noexcept;
  bool has(AttrType type) const noexcept { return find(type) != nullptr; }

  /// Decodes the first attribute of type A::kType. Missing or malformed is an error value.
  template <class A>
  Result<A, AttrError> get() const noexcept {
    const RawAttribute* raw = find(A::kType);
    if (raw == nullptr) return unexpected(AttrError::Missing);
    return A::decode(raw->value, header_);
  }

 private:
  ByteSpan bytes_;
  MessageType type_;
  Header header_;
  std::array<RawAttribute, kMaxAttributes> attrs_{};
  std::array<std::uint16_t, kMaxAttributes> unknown_{};
  std::uint8_t count_ = 0;
  std::uint8_t unknown_count_ = 0;
};

/// Cheap check on the first bytes of a datagram: could this be STUN? (RFC 7983 demux)
inline bool looks_like_stun(ByteSpan b) noexcept { return b.size() >= kHeaderSize && b[0] < 4; }

}  // namespace turnd::protocol
