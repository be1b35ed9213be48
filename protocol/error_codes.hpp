// STUN/TURN error codes and their reason phrases (RFC 8489 §14.8, RFC 8656 §19, RFC 6062 §6.3).
#pragma once

#include <cstdint>
#include <string_view>

namespace turnd::protocol {

enum class StunError : std::uint16_t {
  TryAlternate = 300,
  BadRequest = 400,
  Unauthorized = 401,
  Forbidden = 403,
  UnknownAttribute = 420,
  AllocationMismatch = 437,
  StaleNonce = 438,
  AddressFamilyNotSupported = 440,
  WrongCredentials = 441,
  UnsupportedTransportProtocol = 442,
  PeerAddressFamilyMismatch = 443,
  ConnectionAlreadyExists = 446,  // RFC 6062
  ConnectionTimeoutOrFailure = 447,
  AllocationQuotaReached = 486,
  ServerError = 500,
  InsufficientCapacity = 508,
};

constexpr std::string_view reason_phrase(StunError e) noexcept {
  switch (e) {
    case StunError::TryAlternate:
      return "Try Alternate";
    case StunError::BadRequest:
      return "Bad Request";
    case StunError::Unauthorized:
      return "Unauthorized";
    case StunError::Forbidden:
      return "Forbidden";
    case StunError::UnknownAttribute:
      return "Unknown Attribute";
    case StunError::AllocationMismatch:
      return "Allocation Mismatch";
    case StunError::StaleNonce:
      return "Stale Nonce";
    case StunError::AddressFamilyNotSupported:
      return "Address Family not Supported";
    case StunError::WrongCredentials:
      return "Wrong Credentials";
    case StunError::UnsupportedTransportProtocol:
      return "Unsupported Transport Protocol";
    case StunError::PeerAddressFamilyMismatch:
      return "Peer Address Family Mismatch";
    case StunError::ConnectionAlreadyExists:
      return "Connection Already Exists";
    case StunError::ConnectionTimeoutOrFailure:
      return "Connection Timeout or Failure";
    case StunError::AllocationQuotaReached:
      return "Allocation Quota Reached";
    case StunError::ServerError:
      return "Server Error";
    case StunError::InsufficientCapacity:
      return "Insufficient Capacity";
  }
  return "Error";
}

}  // namespace turnd::protocol
