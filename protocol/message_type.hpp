// STUN message type: the 14-bit type field interleaves 12 method bits with 2 class bits
// (RFC 8489 §5):   0                 1
//                  2  3  4 5 6 7 8 9 0 1 2 3 4 5
//                 +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
//                 |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
//                 |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
//                 +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
#pragma once

#include <cstdint>
#include <string_view>

namespace turnd::protocol {

enum class Method : std::uint16_t {
  Binding = 0x001,
  Allocate = 0x003,  // RFC 8656
  Refresh = 0x004,
  Send = 0x006,
  Data = 0x007,
  CreatePermission = 0x008,
  ChannelBind = 0x009,
  Connect = 0x00a,  // RFC 6062
  ConnectionBind = 0x00b,
  ConnectionAttempt = 0x00c,
};

enum class Class : std::uint8_t {
  Request = 0,
  Indication = 1,
  SuccessResponse = 2,
  ErrorResponse = 3
};

struct MessageType {
  std::uint16_t method = 0;  // raw 12-bit method (unknown methods stay representable)
  Class cls = Class::Request;

  constexpr MessageType() = default;
  constexpr MessageType(Method m, Class c) : method(static_cast<std::uint16_t>(m)), cls(c) {}
  constexpr MessageType(std::uint16_t m, Class c) : method(m), cls(c) {}

  static constexpr MessageType decode(std::uint16_t t) noexcept {
    std::uint16_t m = (t & 0x000f) | ((t & 0x00e0) >> 1) | ((t & 0x3e00) >> 2);
    auto c = static_cast<Class>(((t & 0x0010) >> 4) | ((t & 0x0100) >> 7));
    return {m, c};
  }
  constexpr std::uint16_t encode() const noexcept {
    auto c = static_cast<std::uint16_t>(cls);
    return static_cast<std::uint16_t>((method & 0x000f) | ((method & 0x0070) << 1) |
                                      ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7));
  }
  constexpr bool is(Method m, Class c) const noexcept {
    return method == static_cast<std::uint16_t>(m) && cls == c;
  }
  constexpr bool operator==(const MessageType&) const = default;
};

std::string_view method_name(std::uint16_t method) noexcept;

}  // namespace turnd::protocol
