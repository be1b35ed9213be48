// Message integrity (RFC 8489 §9, §14.5, §14.6): keys and HMACs over a message prefix whose
// length field is adjusted to end at the integrity attribute.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "protocol/attributes/integrity.hpp"
#include "protocol/bytes.hpp"
#include "protocol/message_view.hpp"

namespace turnd::protocol {

enum class IntegrityAlg : std::uint8_t { Sha1, Sha256 };

/// A key for MESSAGE-INTEGRITY(-SHA256): 16 bytes (MD5 long-term), 32 (SHA-256 long-term) or
/// the raw password bytes for short-term credentials (up to 256: an ICE password's maximum).
struct IntegrityKey {
  std::array<std::uint8_t, 256> bytes{};
  std::uint16_t size = 0;
  ByteSpan span() const noexcept { return {bytes.data(), size}; }
  bool operator==(const IntegrityKey& o) const noexcept;  // constant time
};

/// Long-term key (§9.2.2): MD5(username ":" realm ":" password), or SHA-256 of the same for
/// PASSWORD-ALGORITHM SHA-256. Inputs are used as given (OpaqueString processing is the
/// caller's; the RFC 5769 vector's SASLprep is done by the test).
IntegrityKey long_term_key(std::string_view username, std::string_view realm,
                           std::string_view password, PasswordAlgorithmId alg) noexcept;
/// Short-term key (§9.1.1): the password itself (at most 256 bytes; longer is truncated).
IntegrityKey short_term_key(std::string_view password) noexcept;
/// USERHASH (§14.4): SHA-256(username ":" realm).
std::array<std::uint8_t, 32> userhash(std::string_view username, std::string_view realm) noexcept;

/// HMAC of `prefix` with the 16-bit length at offset 2 replaced by `length_field`.
/// Returns the MAC size written to `out` (20 or 32), 0 on failure.
std::size_t hmac_with_length(IntegrityAlg alg, ByteSpan key, ByteSpan prefix,
                             std::uint16_t length_field, std::uint8_t* out) noexcept;

/// Plain HMAC-SHA1 or HMAC-SHA256 of `data` (REST passwords). Returns the MAC size written to
/// `out` (20 or 32), 0 on failure.
std::size_t hmac(IntegrityAlg alg, ByteSpan key, ByteSpan data, std::uint8_t* out) noexcept;

enum class IntegrityResult : std::uint8_t { Ok, Missing, Mismatch };
/// Checks MESSAGE-INTEGRITY-SHA256 if present, else MESSAGE-INTEGRITY. Constant-time compare.
IntegrityResult verify_integrity(const MessageView& msg, ByteSpan key) noexcept;
/// Checks only the given algorithm's attribute.
IntegrityResult verify_integrity(const MessageView& msg, ByteSpan key, IntegrityAlg alg) noexcept;

}  // namespace turnd::protocol
