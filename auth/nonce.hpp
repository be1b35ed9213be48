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
#include <memory>
#include <string>
#include <string_view>

#include "protocol/transport_address.hpp"

namespace turnd::auth {

using Clock = std::chrono::system_clock;

/// Owner: one thread per copy. make() and check() reuse a keyed HMAC context inside, and
/// check() remembers the nonces it verified, so each shard's Authenticator holds its own copy
/// (a copy gets a context of its own and an empty memory).
class NonceFactory {
 public:
  static constexpr std::string_view kCookie = "obMatJos2";
  static constexpr std::string_view kFeatures = "wAAA";
  static constexpr std::size_t kSize = 9 + 4 + 8 + 16;

  /// A random key per process; nodes of a cluster that must accept each other's nonces pass a
  /// shared key instead.
  NonceFactory(std::chrono::seconds lifetime);
  NonceFactory(std::chrono::seconds lifetime, const std::array<std::uint8_t, 32>& key);
  NonceFactory(const NonceFactory& o) : NonceFactory(o.lifetime_, o.key_) {}
  NonceFactory& operator=(const NonceFactory& o) {
    if (this != &o) *this = NonceFactory{o};
    return *this;
  }
  NonceFactory(NonceFactory&&) noexcept = default;
  NonceFactory& operator=(NonceFactory&&) noexcept = default;
  ~NonceFactory();

  std::string make(const protocol::IpAddress& client, Clock::time_point now) const;
  enum class Check : std::uint8_t { Valid, Expired, Invalid };
  Check check(std::string_view nonce, const protocol::IpAddress& client,
              Clock::time_point now) const noexcept;
  /// Whether the nonce advertises the RFC 8489 security features (PASSWORD-ALGORITHMS).
  static bool has_security_features(std::string_view nonce) noexcept;

 private:
  void mac(std::string_view expiry_hex, const protocol::IpAddress& client,
           char out[16]) const noexcept;
  struct MacFree {
    void operator()(void* ctx) const noexcept;
  };
  std::chrono::seconds lifetime_;
  std::array<std::uint8_t, 32> key_{};
  /// HMAC-SHA256 keyed with key_ once (EVP_MAC_CTX): re-initialised per nonce, not re-keyed,
  /// and no algorithm look-up by name per nonce. nullptr: fall back to the one-shot HMAC().
  std::unique_ptr<void, MacFree> mac_;
  /// Nonces whose MAC verified, with the client address it verified for: the requests of one
  /// allocation (Allocate, CreatePermission, Refresh...) carry the same nonce from the same
  /// address, and a hit (the whole nonce and the address equal) skips only the MAC, whose
  /// result is the same; the expiry is still checked. Direct-mapped, allocated on first use.
  struct Verified {
    std::array<char, kSize> nonce{};
    protocol::IpAddress client;
    bool valid = false;
  };
  static constexpr std::size_t kVerifiedSlots = 256;
  mutable std::unique_ptr<std::array<Verified, kVerifiedSlots>> verified_;
  bool verified_before(std::string_view nonce, const protocol::IpAddress& client) const noexcept;
  void remember_verified(std::string_view nonce, const protocol::IpAddress& client) const noexcept;
};

}  // namespace turnd::auth
