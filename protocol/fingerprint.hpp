// FINGERPRINT (RFC 8489 §14.7): CRC-32 (ISO HDLC, as in zlib) of the message up to the
// attribute, XOR 0x5354554e.
#pragma once

#include <cstdint>

#include "protocol/bytes.hpp"

namespace turnd::protocol {

inline constexpr std::uint32_t kFingerprintXor = 0x5354554e;

std::uint32_t crc32(ByteSpan data) noexcept;
inline std::uint32_t fingerprint_of(ByteSpan prefix) noexcept {
  return crc32(prefix) ^ kFingerprintXor;
}

}  // namespace turnd::protocol
