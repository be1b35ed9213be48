// Frames STUN and ChannelData on a byte stream (TCP, TLS; RFC 8656 §12.5, RFC 8489 §6.2.2):
// STUN is 20 + length bytes; ChannelData is 4 + length, padded to a multiple of 4.
#pragma once

#include "protocol/bytes.hpp"
#include "protocol/result.hpp"

namespace turnd::protocol {

enum class FrameError : std::uint8_t { NotStunOrChannelData };
std::string_view to_string(FrameError) noexcept;

/// How many bytes the frame at the front of `buffered` takes, padding included.
/// 0 means "need more bytes to tell" (fewer than 4 buffered). The frame itself may still be
/// incomplete: compare with buffered.size().
Result<std::size_t, FrameError> next_frame_size(ByteSpan buffered) noexcept;

/// Largest frame a stream connection accepts: a STUN header + 65532, or ChannelData + padding.
inline constexpr std::size_t kMaxStreamFrame = 20 + 65535 + 3;

}  // namespace turnd::protocol
