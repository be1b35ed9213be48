// Long-term keys the Authenticator derived recently, so the requests of one allocation (Allocate,
// CreatePermission, Refresh, ChannelBind: all signed with the same key) derive it once: MD5 or
// SHA-256 of "user:realm:password", and for a REST user first the password itself
// (HMAC-SHA1 of the secret). A key is a pure function of the username, the algorithm and the
// credentials snapshot, so a hit gives exactly the key a fresh derivation would; the
// Authenticator clears the cache whenever it gets a new snapshot. Direct-mapped and fixed in
// size: a miss only costs the derivation it would have cost anyway. Owner: the Authenticator's
// thread (a shard).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/integrity.hpp"

namespace turnd::auth {

class DerivedKeyCache {
 public:
  static constexpr std::size_t kEntries = 1024;
  /// What a key was derived from besides the username and algorithm: a static user's password
  /// (kStaticUser) or the REST secret at that index of the snapshot's list.
  static constexpr int kStaticUser = -1;

  DerivedKeyCache() = default;
  // A copy starts empty: it is a cache, and its owner (a copied Authenticator) may live on
  // another thread.
  DerivedKeyCache(const DerivedKeyCache&) noexcept {}
  DerivedKeyCache& operator=(const DerivedKeyCache& o) noexcept {
    if (this != &o) entries_.reset();
    return *this;
  }
  DerivedKeyCache(DerivedKeyCache&&) noexcept = default;
  DerivedKeyCache& operator=(DerivedKeyCache&&) noexcept = default;

  /// The key of (username, alg, source), derived with `derive()` on a miss.
  template <class Derive>
  protocol::IntegrityKey get(std::string_view username, protocol::PasswordAlgorithmId alg,
                             int source, Derive&& derive) {
    Entry& e = slot(username, alg);
    if (e.valid && e.alg == alg && e.source == source && e.username == username) {
      protocol::IntegrityKey k;
      std::copy_n(e.key.begin(), e.size, k.bytes.begin());
      k.size = e.size;
      return k;
    }
    const protocol::IntegrityKey k = derive();
    if (k.size <= e.key.size()) {  // long-term keys are 16 or 32 bytes
      e.username.assign(username);
      e.alg = alg;
      e.source = source;
      std::copy_n(k.bytes.begin(), k.size, e.key.begin());
      e.size = static_cast<std::uint8_t>(k.size);
      e.valid = true;
    }
    return k;
  }
  /// Forgets every key (a new credentials snapshot).
  void clear() noexcept {
    if (entries_)
      for (auto& e : *entries_) e.valid = false;
  }

 private:
  struct Entry {
    std::string username;
    std::array<std::uint8_t, 32> key{};
    std::uint8_t size = 0;
    protocol::PasswordAlgorithmId alg{};
    int source = 0;
    bool valid = false;
  };
  Entry& slot(std::string_view username, protocol::PasswordAlgorithmId alg);

  // Allocated on first use: an Authenticator that never verifies (tests, turnctl) pays nothing.
  std::unique_ptr<std::array<Entry, kEntries>> entries_;
};

}  // namespace turnd::auth
