// Small fixed-layout attributes of TURN (RFC 8656 §18) and ICE (RFC 8445 §16.1).
#pragma once

#include <chrono>

#include "protocol/message_view.hpp"
#include "protocol/transport_address.hpp"

namespace turnd::protocol {

/// A 32-bit unsigned value (LIFETIME, PRIORITY).
template <AttrType T>
struct U32Attribute {
  static constexpr AttrType kType = T;
  std::uint32_t value = 0;
  static Result<U32Attribute, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 4) return unexpected(AttrError::Malformed);
    return U32Attribute{load_u32(v.data())};
  }
  void encode(ByteWriter& w, const Header&) const noexcept { w.write_u32(value); }
};
using Lifetime = U32Attribute<AttrType::Lifetime>;  // seconds
using Priority = U32Attribute<AttrType::Priority>;

/// A one-byte value followed by three RFFU bytes (REQUESTED-TRANSPORT, address families).
template <AttrType T>
struct ByteThenReserved {
  static constexpr AttrType kType = T;
  std::uint8_t value = 0;
  static Result<ByteThenReserved, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 4) return unexpected(AttrError::Malformed);
    return ByteThenReserved{v[0]};
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    w.write_u8(value);
    w.write_zeros(3);
  }
};
using RequestedTransport = ByteThenReserved<AttrType::RequestedTransport>;          // 17 UDP, 6 TCP
using RequestedAddressFamily = ByteThenReserved<AttrType::RequestedAddressFamily>;  // 1, 2
using AdditionalAddressFamily = ByteThenReserved<AttrType::AdditionalAddressFamily>;  // 2

inline constexpr std::uint8_t kProtocolUdp = 17;
inline constexpr std::uint8_t kProtocolTcp = 6;

/// | value (16) | RFFU (16) |: CHANNEL-NUMBER (RFC 8656 §18.1), RESPONSE-PORT (RFC 5780 §7.5).
template <AttrType T>
struct U16ThenReserved {
  static constexpr AttrType kType = T;
  std::uint16_t value = 0;
  static Result<U16ThenReserved, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 4) return unexpected(AttrError::Malformed);
    return U16ThenReserved{load_u16(v.data())};
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    w.write_u16(value);
    w.write_u16(0);
  }
};
using ChannelNumber = U16ThenReserved<AttrType::ChannelNumber>;
using ResponsePort = U16ThenReserved<AttrType::ResponsePort>;  // the port answers go to

/// EVEN-PORT (RFC 8656 §18.6): one byte, top bit R = reserve the next port too.
struct EvenPort {
  static constexpr AttrType kType = AttrType::EvenPort;
  bool reserve_next = false;
  static Result<EvenPort, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 1 && v.size() != 4) return unexpected(AttrError::Malformed);
    return EvenPort{(v[0] & 0x80) != 0};
  }
  void encode(ByteWriter& w, const Header&) const noexcept { w.write_u8(reserve_next ? 0x80 : 0); }
};

/// Attributes with no value (DONT-FRAGMENT, USE-CANDIDATE).
template <AttrType T>
struct FlagAttribute {
  static constexpr AttrType kType = T;
  static Result<FlagAttribute, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (!v.empty()) return unexpected(AttrError::Malformed);
    return FlagAttribute{};
  }
  void encode(ByteWriter&, const Header&) const noexcept {}
};
using DontFragment = FlagAttribute<AttrType::DontFragment>;
using UseCandidate = FlagAttribute<AttrType::UseCandidate>;

/// ICE-CONTROLLED / ICE-CONTROLLING: a 64-bit tie-breaker.
template <AttrType T>
struct TieBreaker {
  static constexpr AttrType kType = T;
  std::uint64_t value = 0;
  static Result<TieBreaker, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 8) return unexpected(AttrError::Malformed);
    return TieBreaker{(std::uint64_t{load_u32(v.data())} << 32) | load_u32(v.data() + 4)};
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    w.write_u32(static_cast<std::uint32_t>(value >> 32));
    w.write_u32(static_cast<std::uint32_t>(value));
  }
};
using IceControlled = TieBreaker<AttrType::IceControlled>;
using IceControlling = TieBreaker<AttrType::IceControlling>;

}  // namespace turnd::protocol
