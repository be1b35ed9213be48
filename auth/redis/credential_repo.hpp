// Reads and writes the credentials of auth/redis/layout.hpp over one RedisClient: the only
// code that knows which commands touch which keys. turnctl writes through it, RedisStore reads
// through it, so both always agree on the layout.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "auth/credential_store.hpp"
#include "auth/redis/layout.hpp"
#include "auth/redis/redis_client.hpp"

namespace turnd::auth::redis {

struct SecretInfo {
  std::string id;
  std::chrono::sys_seconds created{};
  std::string value;
};

/// Active secrets, newest first, and the records that could not be read (one line each,
/// naming the key and how to fix it). A bad record is skipped, never fatal.
struct SecretListing {
  std::vector<SecretInfo> secrets;
  std::vector<std::string> problems;
};

/// Unexpired users of one realm, and the records that could not be read.
struct UserListing {
  std::map<std::string, MintedUser, std::less<>> users;
  std::vector<std::string> problems;
};

class CredentialRepo {
 public:
  /// Uses `client` (not owned; must outlive the repo) for the users of `realm`.
  CredentialRepo(RedisClient& client, std::string realm);

  RedisResult<SecretListing> secrets();
  /// Stores `value` under a new id (created = now), announces it and returns the id.
  RedisResult<std::string> add_secret(const std::string& value,
                                      std::chrono::system_clock::time_point now);
  /// Removes the secret; false when there was no such secret.
  RedisResult<bool> retire_secret(const std::string& id);

  /// Users with expires > now, read with SCAN (never KEYS) and pipelined HMGETs.
  RedisResult<UserListing> users(std::chrono::sys_seconds now);
  /// Stores (or replaces) `name` with a Redis TTL of `ttl` and announces it; true if replaced.
  RedisResult<bool> add_user(const std::string& name, const MintedUser& user,
                             std::chrono::seconds ttl);
  /// Deletes `name` and announces it; false when there was no such user.
  RedisResult<bool> revoke_user(const std::string& name);

  /// PUBLISH on kEventsChannel; the number of subscribers that got it.
  RedisResult<long long> publish(const Event& event);

 private:
  RedisResult<std::vector<std::string>> scan_user_keys();

  RedisClient& client_;
  std::string realm_;
};

}  // namespace turnd::auth::redis
