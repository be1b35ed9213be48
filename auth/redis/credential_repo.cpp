#include "auth/redis/credential_repo.hpp"

#include <charconv>
#include <cmath>
#include <set>

namespace turnd::auth::redis {

namespace {

constexpr std::size_t kBatch = 256;                // HMGETs per pipelined round trip
constexpr std::size_t kMaxScanRounds = 1'000'000;  // a server that never ends SCAN is broken

// Adds what a WRONGTYPE error means for one of our keys.
RedisError with_type_hint(RedisError e, std::string_view key, std::string_view type) {
  if (e.message.find("WRONGTYPE") != std::string::npos)
    e.message += " (" + std::string(key) + " must be a " + std::string(type) +
                 "; check it with: redis-cli TYPE " + std::string(key) + ")";
  return e;
}

std::optional<std::chrono::sys_seconds> parse_score(const std::string& text) {
  double score = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), score);
  // Later than 9999-12-31 is no time a secret was made; refusing it also keeps the cast below
  // defined (a score of 1e308 does not fit a long long).
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(score) || score < 0 ||
      score > 253'402'300'799.0)
    return std::nullopt;
  return std::chrono::sys_seconds{std::chrono::seconds{static_cast<long long>(score)}};
}

std::string retire_hint(std::string_view id) {
  return " (run 'turnctl secret retire " + std::string(id) + "')";
}

std::string user_hint(std::string_view name) {
  return " (turnd ignores this user; run 'turnctl user revoke " + std::string(name) +
         "' and add it again)";
}

}  // namespace

CredentialRepo::CredentialRepo(RedisClient& client, std::string realm)
    : client_(client), realm_(std::move(realm)) {}

RedisResult<SecretListing> CredentialRepo::secrets() {
  const std::string key(kSecretsKey);
  auto reply = client_.command({"ZREVRANGE", key, "0", "-1", "WITHSCORES"});
  if (!reply) return unexpected(reply.error());
  auto flat = as_strings(*reply, "ZREVRANGE " + key);
  if (!flat) return unexpected(with_type_hint(flat.error(), key, "sorted set"));
  if (flat->size() % 2 != 0)
    return unexpected(data_error("ZREVRANGE " + key, "expected member/score pairs"));

  SecretListing listing;
  std::vector<SecretInfo> candidates;
  std::vector<Command> reads;
  for (std::size_t i = 0; i < flat->size(); i += 2) {
    const std::string& id = (*flat)[i];
    auto created = parse_score((*flat)[i + 1]);
    if (auto bad = check_secret_id(id); !bad.empty() || !created) {
      listing.problems.push_back(key + ": member " + (bad.empty() ? id : "\"" + id + "\"") + ": " +
                                 (bad.empty() ? "score is not a unix time" : bad) +
                                 "; remove it with: redis-cli ZREM " + key + " MEMBER");
      continue;
    }
    candidates.push_back(SecretInfo{id, *created, {}});
    reads.push_back({"HGET", secret_key(id), "value"});
  }
  auto values = client_.pipeline(reads);
  if (!values) return unexpected(values.error());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    auto& secret = candidates[i];
    const std::string hash = secret_key(secret.id);
    auto value = as_optional_string((*values)[i], "HGET " + hash + " value");
    if (!value) {
      listing.problems.push_back(with_type_hint(value.error(), hash, "hash").message +
                                 retire_hint(secret.id));
    } else if (!*value || (*value)->empty()) {
      listing.problems.push_back(hash + ": no value (the id is in " + key +
                                 " but the secret is missing)" + retire_hint(secret.id));
    } else {
      secret.value = std::move(**value);
      listing.secrets.push_back(std::move(secret));
    }
  }
  return listing;
}

RedisResult<std::string> CredentialRepo::add_secret(const std::string& value,
                                                    std::chrono::system_clock::time_point now) {
  const std::string key(kSecretsKey);
  // A transaction does not roll back a WRONGTYPE failure, so look before writing anything.
  auto type = client_.command({"TYPE", key});
  if (!type) return unexpected(type.error());
  if (type->type != Reply::Type::Status || (type->text != "zset" && type->text != "none"))
    return unexpected(with_type_hint(
        RedisError{ErrorKind::Data,
                   key + ": WRONGTYPE: holds " +
                       (type->type == Reply::Type::Status ? type->text : "something odd")},
        key, "sorted set"));

  const std::string id = new_secret_id(now);
  const std::string created = std::to_string(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  const Command commands[] = {{"HSET", secret_key(id), "value", value, "created", created},
                              {"ZADD", key, created, id}};
  auto replies = client_.transaction(commands);
  if (!replies) return unexpected(replies.error());
  for (std::size_t i = 0; i < replies->size(); ++i)
    if (auto n = as_integer((*replies)[i], commands[i][0] + " " + commands[i][1]); !n)
      return unexpected(n.error());
  if (auto sent = publish({Event::Kind::SecretAdded, id}); !sent) return unexpected(sent.error());
  return id;
}

RedisResult<bool> CredentialRepo::retire_secret(const std::string& id) {
  const std::string key(kSecretsKey);
  const Command commands[] = {{"ZREM", key, id}, {"DEL", secret_key(id)}};
  auto replies = client_.transaction(commands);
  if (!replies) return unexpected(replies.error());
  auto removed = as_integer((*replies)[0], "ZREM " + key);
  if (!removed) return unexpected(with_type_hint(removed.error(), key, "sorted set"));
  auto deleted = as_integer((*replies)[1], "DEL " + secret_key(id));
  if (!deleted) return unexpected(deleted.error());
  if (*removed == 0 && *deleted == 0) return false;
  if (auto sent = publish({Event::Kind::SecretRetired, id}); !sent) return unexpected(sent.error());
  return true;
}

RedisResult<std::vector<std::string>> CredentialRepo::scan_user_keys() {
  const std::string pattern = user_scan_pattern(realm_);
  std::set<std::string> keys;  // SCAN may return a key more than once
  std::string cursor = "0";
  for (std::size_t round = 0; round < kMaxScanRounds; ++round) {
    auto reply = client_.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    if (!reply) return unexpected(reply.error());
    if (reply->type != Reply::Type::Array || reply->elements.size() != 2)
      return unexpected(reply->type == Reply::Type::Error
                            ? RedisError{ErrorKind::Server, "SCAN: " + reply->text}
                            : data_error("SCAN", "expected [cursor, keys]"));
    auto next = as_string(reply->elements[0], "SCAN cursor");
    if (!next) return unexpected(next.error());
    auto batch = as_strings(reply->elements[1], "SCAN keys");
    if (!batch) return unexpected(batch.error());
    keys.insert(batch->begin(), batch->end());
    cursor = *next;
    if (cursor == "0") return std::vector<std::string>(keys.begin(), keys.end());
  }
  return unexpected(data_error("SCAN", "the cursor never returned to 0"));
}

RedisResult<UserListing> CredentialRepo::users(std::chrono::sys_seconds now) {
  auto keys = scan_user_keys();
  if (!keys) return unexpected(keys.error());
  const std::string prefix = user_key_prefix(realm_);
  UserListing listing;
  for (std::size_t start = 0; start < keys->size(); start += kBatch) {
    const std::size_t end = std::min(keys->size(), start + kBatch);
    std::vector<Command> reads;
    for (std::size_t i = start; i < end; ++i)
      reads.push_back({"HMGET", (*keys)[i], std::string(kUserFieldNames[0]),
                       std::string(kUserFieldNames[1]), std::string(kUserFieldNames[2])});
    auto replies = client_.pipeline(reads);
    if (!replies) return unexpected(replies.error());
    for (std::size_t i = start; i < end; ++i) {
      const std::string& key = (*keys)[i];
      // SCAN MATCH is the server's word: a key outside the prefix (a hostile or broken Redis)
      // is a problem to report, never an exception on the Redis thread.
      if (!key.starts_with(prefix)) {
        listing.problems.push_back("SCAN returned \"" + key.substr(0, 64) +
                                   "\", which is not under " + prefix + "; skipped");
        continue;
      }
      const std::string name = key.substr(prefix.size());
      auto fields = as_optional_strings((*replies)[i - start], 3, "HMGET " + key);
      if (!fields) {
        listing.problems.push_back(with_type_hint(fields.error(), key, "hash").message +
                                   user_hint(name));
        continue;
      }
      const auto& f = *fields;
      if (!f[0] && !f[1] && !f[2]) continue;  // expired between SCAN and HMGET
      auto user = decode_user(f[0], f[1], f[2]);
      auto bad_name = check_user_name(name);
      if (!user || !bad_name.empty()) {
        listing.problems.push_back(key + ": " + (user ? bad_name : user.error()) + user_hint(name));
        continue;
      }
      if (user->expires > now) listing.users.emplace(name, *user);
    }
  }
  return listing;
}

RedisResult<bool> CredentialRepo::add_user(const std::string& name, const MintedUser& user,
                                           std::chrono::seconds ttl) {
  const std::string key = user_key(realm_, name);
  Command hset{"HSET", key};
  for (auto& field : user_fields(user)) hset.push_back(std::move(field));
  const Command commands[] = {{"DEL", key}, hset, {"EXPIRE", key, std::to_string(ttl.count())}};
  auto replies = client_.transaction(commands);
  if (!replies) return unexpected(replies.error());
  for (std::size_t i = 0; i < replies->size(); ++i)
    if (auto n = as_integer((*replies)[i], commands[i][0] + " " + key); !n)
      return unexpected(n.error());
  if (auto sent = publish({Event::Kind::UserAdded, name}); !sent) return unexpected(sent.error());
  return (*replies)[0].integer > 0;
}

RedisResult<bool> CredentialRepo::revoke_user(const std::string& name) {
  const std::string key = user_key(realm_, name);
  auto reply = client_.command({"DEL", key});
  if (!reply) return unexpected(reply.error());
  auto deleted = as_integer(*reply, "DEL " + key);
  if (!deleted) return unexpected(deleted.error());
  if (*deleted == 0) return false;
  if (auto sent = publish({Event::Kind::UserRevoked, name}); !sent) return unexpected(sent.error());
  return true;
}

RedisResult<long long> CredentialRepo::publish(const Event& event) {
  const std::string channel(kEventsChannel);
  auto reply = client_.command({"PUBLISH", channel, format_event(event)});
  if (!reply) return unexpected(reply.error());
  return as_integer(*reply, "PUBLISH " + channel);
}

}  // namespace turnd::auth::redis
