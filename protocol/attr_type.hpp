// STUN/TURN attribute type codes (IANA "STUN Attributes" registry).
#pragma once

#include <cstdint>

namespace turnd::protocol {

enum class AttrType : std::uint16_t {
  // comprehension-required (0x0000-0x7FFF)
  MappedAddress = 0x0001,
  Username = 0x0006,
  MessageIntegrity = 0x0008,
  ErrorCode = 0x0009,
  UnknownAttributes = 0x000a,
  ChannelNumber = 0x000c,  // RFC 8656
  Lifetime = 0x000d,
  XorPeerAddress = 0x0012,
  Data = 0x0013,
  Realm = 0x0014,
  Nonce = 0x0015,
  XorRelayedAddress = 0x0016,
  RequestedAddressFamily = 0x0017,
  EvenPort = 0x0018,
  RequestedTransport = 0x0019,
  DontFragment = 0x001a,
  MessageIntegritySha256 = 0x001c,
  PasswordAlgorithm = 0x001d,
  Userhash = 0x001e,
  XorMappedAddress = 0x0020,
  ReservationToken = 0x0022,
  Priority = 0x0024,  // RFC 8445 (ICE)
  UseCandidate = 0x0025,
  ConnectionId = 0x002a,   // RFC 6062
  ChangeRequest = 0x0003,  // RFC 5780
  SourceAddress = 0x0004,  // RFC 3489 (responses to classic STUN clients)
  ChangedAddress = 0x0005,
  Padding = 0x0026,
  ResponsePort = 0x0027,
  // comprehension-optional (0x8000-0xFFFF)
  AdditionalAddressFamily = 0x8000,
  AddressErrorCode = 0x8001,
  PasswordAlgorithms = 0x8002,
  AlternateDomain = 0x8003,
  Icmp = 0x8004,
  Software = 0x8022,
  AlternateServer = 0x8023,
  Fingerprint = 0x8028,
  IceControlled = 0x8029,
  IceControlling = 0x802a,
  ResponseOrigin = 0x802b,
  OtherAddress = 0x802c,
};

constexpr bool is_comprehension_required(std::uint16_t type) noexcept { return type < 0x8000; }

/// True for the attributes this implementation understands (so they never trigger 420).
bool is_known_attribute(std::uint16_t type) noexcept;

}  // namespace turnd::protocol
