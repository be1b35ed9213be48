// The relay port range, shared by all shards. Taking and returning ports happens only on
// Allocate and on allocation teardown, never per packet, so a mutex is fine here; it keeps
// EVEN-PORT reservations simple when the second Allocate lands on another shard. Ports are
// picked at random (RFC 8656 §7.2, RFC 6056) so relayed addresses are hard to guess.
// Owner: any thread (a mutex inside).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"

namespace turnd::server {

using ReservationTokenBytes = std::array<std::uint8_t, 8>;

class RelayPortPool {
 public:
  explicit RelayPortPool(config::PortRange range);

  /// A free port (even when `even`), marked in use; nullopt when the range is exhausted.
  std::optional<std::uint16_t> take(bool even);
  /// An even port whose successor is free too; the successor is held for `hold` under the
  /// returned token (RFC 8656 §7.2 EVEN-PORT with R bit).
  struct EvenPair {
    std::uint16_t port;
    ReservationTokenBytes token;
  };
  std::optional<EvenPair> take_even_pair(std::chrono::steady_clock::time_point expires);
  /// The port held under `token`, now in use by the caller; nullopt if unknown or expired.
  std::optional<std::uint16_t> redeem(const ReservationTokenBytes& token,
                                      std::chrono::steady_clock::time_point now);
  /// Returns a port taken with take() or redeem().
  void give_back(std::uint16_t port);
  /// Frees reservations that nobody redeemed in time.
  void expire_reservations(std::chrono::steady_clock::time_point now);

  std::size_t in_use() const;

  std::size_t capacity() const noexcept {
    return static_cast<std::size_t>(range_.max - range_.min) + 1;
  }

 private:
  bool free_locked(std::uint16_t port) const noexcept;
  void mark_locked(std::uint16_t port, bool used) noexcept;

  struct TokenHash {
    std::size_t operator()(const ReservationTokenBytes& t) const noexcept;
  };
  struct Reservation {
    std::uint16_t port;
    std::chrono::steady_clock::time_point expires;
  };

  config::PortRange range_;
  mutable std::mutex mutex_;
  std::vector<bool> used_;  // index: port - range_.min
  std::size_t used_count_ = 0;
  std::mt19937_64 rng_;
  std::unordered_map<ReservationTokenBytes, Reservation, TokenHash> reservations_;
};

}  // namespace turnd::server
