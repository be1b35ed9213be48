// ChannelData messages (RFC 8656 §12.4):
//   | Channel Number (16) | Length (16) | Application Data ... (padded to 4 on streams) |
// Channel numbers are 0x4000-0x4FFF in RFC 8656; RFC 5766 allowed up to 0x7FFF and deployed
// clients (coturn 4.6's turnutils_uclient) still use that range, so the parser accepts both and
// the server decides (config `strict_channel_numbers`).
#pragma once

#include "protocol/bytes.hpp"
#include "protocol/result.hpp"

namespace turnd::protocol {

inline constexpr std::size_t kChannelDataHeaderSize = 4;
inline constexpr std::uint16_t kMinChannel = 0x4000;
inline constexpr std::uint16_t kMaxChannelRfc8656 = 0x4FFF;
inline constexpr std::uint16_t kMaxChannelRfc5766 = 0x7FFF;

inline bool is_valid_channel(std::uint16_t ch, bool strict) noexcept {
  return ch >= kMinChannel && ch <= (strict ? kMaxChannelRfc8656 : kMaxChannelRfc5766);
}
/// RFC 7983 demux: first byte 64-127 is ChannelData (64-79 under RFC 8656).
inline bool looks_like_channel_data(ByteSpan b) noexcept {
  return b.size() >= kChannelDataHeaderSize && b[0] >= 0x40 && b[0] <= 0x7F;
}

enum class ChannelDataError : std::uint8_t { TooShort, BadChannel, BadLength };

struct ChannelDataView {
  std::uint16_t channel = 0;
  ByteSpan data;  // views the datagram; valid while it is

  /// Parses a datagram. Over UDP trailing padding is allowed (RFC 8656 §12.5: the length
  /// field tells the data size and any rest is ignored); the datagram must hold `length` bytes.
  static Result<ChannelDataView, ChannelDataError> parse(ByteSpan datagram) noexcept;
};

/// Writes the 4-byte header at `out` (callers leave headroom in front of the payload).
inline void write_channel_data_header(std::uint8_t* out, std::uint16_t channel,
                                      std::uint16_t length) noexcept {
  store_u16(out, channel);
  store_u16(out + 2, length);
}
/// Bytes of padding to add after a ChannelData payload on a stream transport.
inline std::size_t stream_padding(std::size_t length) noexcept { return (4 - length % 4) % 4; }

}  // namespace turnd::protocol
