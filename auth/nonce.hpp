// Stateless nonces (RFC 8489 §9.2): nothing is stored per client. A nonce carries its own
// expiry and a MAC over (expiry, client IP) under a per-process key, so any shard can verify
// it and a nonce handed to one client address is useless from another.
//
//   "obMatJos2" "wAAA" <expiry: 8 hex digits> <base64url(HMAC-SHA256(key, expiry|ip))[0:16]>
//   ^ RFC 8489 nonce cookie; "wAAA" = security feature bits 0 (password algorithms) and 1
//     (username anonymity) set, so clients may use PASSWORD-ALGORITHM and USERHASH.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include "protocol/transport_address.hpp"

namespace turnd::auth {

using Clock = std::chrono::system_clock;

class NonceFactory {
 public:
  static constexpr std::string_view kCookie = "obMatJos2";
  static constexpr std::string_view kFeatures = "wAAA";
  static constexpr std::size_t kSize = 9 + 4 + 8 + 16;

  /// A random key per process; nodes of a cluster that must accept each other's nonces pass a
  /// shared key instead.
  NonceFactory(std::chrono::seconds lifetime);
  NonceFactory(std::chrono::seconds lifetime, const std::array<std::uint8_t, 32>& key);

  std::string make(const protocol::IpAddress& client, Clock::time_point now) const;
  enum class Check : std::uint8_t { Valid, Expired, Invalid };
  Check check(std::string_view nonce, const protocol::IpAddress& client,
              Clock::time_point now) const noexcept;
  /// Whether the nonce advertises the RFC 8489 security features (PASSWORD-ALGORITHMS).
  static bool has_security_features(std::string_view nonce) noexcept;

 private:
  void mac(std::string_view expiry_hex, const protocol::IpAddress& client,
           char out[16]) const noexcept;
  std::chrono::seconds lifetime_;
  std::array<std::uint8_t, 32> key_{};
};

}  // namespace turnd::auth
