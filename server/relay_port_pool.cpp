#include "server/relay_port_pool.hpp"

#include <openssl/rand.h>

#include <cstring>

namespace turnd::server {

RelayPortPool::RelayPortPool(config::PortRange range)
    : range_(range), used_(static_cast<std::size_t>(range.max - range.min) + 1, false) {
  std::uint64_t seed = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed);
  rng_.seed(seed);
}

bool RelayPortPool::free_locked(std::uint16_t port) const noexcept {
  return port >= range_.min && port <= range_.max && !used_[port - range_.min];
}

void RelayPortPool::mark_locked(std::uint16_t port, bool used) noexcept {
  if (used_[port - range_.min] == used) return;
  used_[port - range_.min] = used;
  used_count_ += used ? 1 : static_cast<std::size_t>(-1);
}

std::optional<std::uint16_t> RelayPortPool::take(bool even) {
  std::lock_guard lock{mutex_};
  const std::size_t n = used_.size();
  if (used_count_ >= n) return std::nullopt;
  // Random start, then a linear probe: O(1) while the pool is not nearly full.
  const std::size_t start = rng_() % n;
  for (std::size_t i = 0; i < n; ++i) {
    const auto port = static_cast<std::uint16_t>(range_.min + (start + i) % n);
    if ((even && port % 2 != 0) || !free_locked(port)) continue;
    mark_locked(port, true);
    return port;
  }
  return std::nullopt;
}

std::optional<RelayPortPool::EvenPair> RelayPortPool::take_even_pair(
    std::chrono::steady_clock::time_point expires) {
  std::lock_guard lock{mutex_};
  const std::size_t n = used_.size();
  const std::size_t start = rng_() % n;
  for (std::size_t i = 0; i < n; ++i) {
    const auto port = static_cast<std::uint16_t>(range_.min + (start + i) % n);
    if (port % 2 != 0 || port == 65535 || !free_locked(port) ||
        !free_locked(static_cast<std::uint16_t>(port + 1)))
      continue;
    mark_locked(port, true);
    mark_locked(static_cast<std::uint16_t>(port + 1), true);
    EvenPair pair{port, {}};
    RAND_bytes(pair.token.data(), static_cast<int>(pair.token.size()));
    reservations_[pair.token] = {static_cast<std::uint16_t>(port + 1), expires};
    return pair;
  }
  return std::nullopt;
}

std::optional<std::uint16_t> RelayPortPool::redeem(const ReservationTokenBytes& token,
                                                   std::chrono::steady_clock::time_point now) {
  std::lock_guard lock{mutex_};
  auto it = reservations_.find(token);
  if (it == reservations_.end()) return std::nullopt;
  const auto r = it->second;
  reservations_.erase(it);
  if (r.expires < now) {
    mark_locked(r.port, false);
    return std::nullopt;
  }
  return r.port;
}

void RelayPortPool::give_back(std::uint16_t port) {
  std::lock_guard lock{mutex_};
  if (port >= range_.min && port <= range_.max) mark_locked(port, false);
}

void RelayPortPool::expire_reservations(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock{mutex_};
  for (auto it = reservations_.begin(); it != reservations_.end();) {
    if (it->second.expires < now) {
      mark_locked(it->second.port, false);
      it = reservations_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t RelayPortPool::in_use() const {
  std::lock_guard lock{mutex_};
  return used_count_;
}

std::size_t RelayPortPool::TokenHash::operator()(const ReservationTokenBytes& t) const noexcept {
  std::uint64_t v;
  std::memcpy(&v, t.data(), sizeof v);
  return static_cast<std::size_t>(v);
}

}  // namespace turnd::server
