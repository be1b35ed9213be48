// Helpers shared by the protocol tests: hex vectors in, readable hex and enum names out.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/bytes.hpp"
#include "protocol/channel_data.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"
#include "protocol/stream_framer.hpp"

namespace turnd::protocol::test {

using Bytes = std::vector<std::uint8_t>;

/// Parses hex text; whitespace and '#' comments (to the end of the line) are skipped.
/// Throws std::invalid_argument on any other character or an odd number of digits.
Bytes from_hex(std::string_view text);
/// Reads tests/vectors/<name> (see from_hex for the format).
Bytes load_hex(std::string_view name);
/// Lower-case hex, a space between 4-byte words: easy to compare with the RFC's layout.
std::string to_hex(ByteSpan bytes);

inline ByteSpan span(const Bytes& b) noexcept { return {b.data(), b.size()}; }
inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

/// The transaction id of the RFC 5769 §2.1-2.3 samples.
inline constexpr std::array<std::uint8_t, 12> kRfcTransactionId = {
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
/// The short-term password of the RFC 5769 §2.1-2.3 samples.
inline constexpr std::string_view kRfcShortTermPassword = "VOkJxbRl1RmTxUk/WvJxBt";

}  // namespace turnd::protocol::test

// Readable enum values in gtest failure messages (found by ADL in turnd::protocol).
namespace turnd::protocol {
inline void PrintTo(ParseError e, std::ostream* os) { *os << to_string(e); }
inline void PrintTo(AttrError e, std::ostream* os) { *os << to_string(e); }
inline void PrintTo(FrameError e, std::ostream* os) { *os << to_string(e); }
inline void PrintTo(IntegrityResult r, std::ostream* os) {
  static constexpr const char* kNames[] = {"Ok", "Missing", "Mismatch"};
  *os << kNames[static_cast<int>(r)];
}
inline void PrintTo(BuildError e, std::ostream* os) {
  static constexpr const char* kNames[] = {"BufferTooSmall", "BadOrder", "IntegrityFailed"};
  *os << kNames[static_cast<int>(e)];
}
inline void PrintTo(ChannelDataError e, std::ostream* os) {
  static constexpr const char* kNames[] = {"TooShort", "BadChannel", "BadLength"};
  *os << kNames[static_cast<int>(e)];
}
}  // namespace turnd::protocol
