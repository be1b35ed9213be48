// RedisStore against a real redis-server started by the test: the first snapshot, reloads on
// events, revocation, Redis going away (state Down, last snapshot kept) and coming back.
#include "auth/redis/redis_store.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <condition_variable>
#include <iostream>
#include <mutex>

#include "auth/mint.hpp"
#include "auth/redis/credential_repo.hpp"
#include "redis_server_process.hpp"

namespace turnd::auth::redis {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;
using test::RedisServerProcess;

constexpr std::string_view kRealm = "turnd.test";

/// Records every callback; tests wait on conditions over what was recorded.
struct Recorder {
  std::mutex m;
  std::condition_variable cv;
  std::vector<CredentialsPtr> snapshots;
  std::vector<std::string> revoked;
  std::vector<bool> states;
  std::vector<std::pair<LogLevel, std::string>> logs;

  RedisStoreCallbacks callbacks() {
    auto record = [this](auto&& f) {
      {
        std::lock_guard lock{m};
        f();
      }
      cv.notify_all();
    };
    return {
        [this, record](CredentialsPtr c) { record([&] { snapshots.push_back(std::move(c)); }); },
        [this, record](const std::string& u) { record([&] { revoked.push_back(u); }); },
        [this, record](bool up) { record([&] { states.push_back(up); }); },
        [this, record](LogLevel l, const std::string& s) {
          record([&] { logs.emplace_back(l, s); });
        },
    };
  }
  /// Waits until pred() holds; pred runs with the mutex held (use the members, not last()).
  template <class Pred>
  bool wait(Pred pred, Ms timeout) {
    std::unique_lock lock{m};
    return cv.wait_for(lock, timeout, [&] { return pred(); });
  }
  CredentialsPtr last() {
    std::lock_guard lock{m};
    return snapshots.empty() ? nullptr : snapshots.back();
  }
  std::size_t count_logs(LogLevel level, std::string_view has) {
    std::lock_guard lock{m};
    return count_logs_locked(level, has);
  }
  std::size_t count_logs_locked(LogLevel level, std::string_view has) const {
    return std::count_if(logs.begin(), logs.end(), [&](const auto& l) {
      return l.first == level && l.second.find(has) != std::string::npos;
    });
  }
};

class RedisStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    if (RedisServerProcess::binary().empty()) GTEST_SKIP() << "redis-server not installed";
    ASSERT_TRUE(server_.start());
  }

  void TearDown() override {  // on failure, show what the store said
    if (!HasFailure()) return;
    std::lock_guard lock{rec_.m};
    for (const auto& [level, line] : rec_.logs)
      std::cerr << "  store log " << static_cast<int>(level) << ": " << line << "\n";
  }

  RedisClient client() {
    auto c = RedisClient::connect(*parse_redis_url(server_.url()));
    EXPECT_TRUE(c) << c.error().message;
    return std::move(*c);
  }

  RedisStoreOptions options() {
    RedisStoreOptions o;
    o.url = server_.url();
    o.realm = kRealm;
    o.static_credentials.users = {{"static", "pw"}};
    o.static_credentials.secrets = {"config-secret"};
    return o;
  }

  static MintedUser user(std::string_view name, std::chrono::seconds ttl = 1h) {
    return mint_user(
        name, kRealm, "pw",
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()) + ttl);
  }

  RedisServerProcess server_;
  Recorder rec_;
};

TEST_F(RedisStoreTest, FollowsRedisThroughEventsOutageAndRecovery) {
  auto c = client();
  CredentialRepo repo{c, std::string(kRealm)};
  const auto first_secret = repo.add_secret("redis-secret", std::chrono::system_clock::now());
  ASSERT_TRUE(first_secret);
  ASSERT_TRUE(repo.add_user("alice", user("alice"), 1h));

  RedisStore store{options(), rec_.callbacks()};
  store.start();
  // The first snapshot: Redis secrets first, then the config's; minted users; static users kept.
  ASSERT_TRUE(rec_.wait([&] { return !rec_.snapshots.empty() && !rec_.states.empty(); }, 5s));
  auto snap = rec_.last();
  EXPECT_EQ(snap->realm, kRealm);
  EXPECT_EQ(snap->secrets, (std::vector<std::string>{"redis-secret", "config-secret"}));
  EXPECT_TRUE(snap->minted.contains("alice"));
  EXPECT_TRUE(snap->users.contains("static"));
  EXPECT_EQ(snap->userhashes.size(), 2u);
  EXPECT_TRUE(store.up());
  EXPECT_EQ(rec_.states, std::vector<bool>{true});

  // An event makes the store reload within 2 s (the periodic refresh is 30 s away).
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(repo.add_user("bob", user("bob"), 1h));
  ASSERT_TRUE(rec_.wait([&] { return rec_.snapshots.back()->minted.contains("bob"); }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);

  ASSERT_TRUE(repo.revoke_user("alice"));
  ASSERT_TRUE(rec_.wait([&] { return rec_.revoked == std::vector<std::string>{"alice"}; }, 2s));
  EXPECT_FALSE(rec_.last()->minted.contains("alice"));

  ASSERT_TRUE(repo.retire_secret(*first_secret));
  ASSERT_TRUE(rec_.wait([&] { return rec_.snapshots.back()->secrets.size() == 1; }, 2s));
  EXPECT_EQ(rec_.last()->secrets, std::vector<std::string>{"config-secret"});

  // Redis dies: state Down, logged once; the last snapshot stays (no new one is published).
  const auto snapshots_before = rec_.snapshots.size();
  server_.stop(SIGKILL);
  ASSERT_TRUE(rec_.wait([&] { return rec_.states.size() == 2; }, 5s));
  EXPECT_FALSE(rec_.states.back());
  EXPECT_FALSE(store.up());
  std::this_thread::sleep_for(1500ms);  // several reconnect attempts
  EXPECT_EQ(rec_.snapshots.size(), snapshots_before);
  EXPECT_EQ(rec_.count_logs(LogLevel::Warn, "unreachable at " + server_.url()), 1u);

  // Redis is back (empty: it kept nothing): Up again, and bob, gone with the data, is revoked.
  ASSERT_TRUE(server_.start());
  ASSERT_TRUE(rec_.wait([&] { return rec_.states.size() == 3; }, 15s));
  EXPECT_TRUE(rec_.states.back());
  EXPECT_TRUE(store.up());
  ASSERT_TRUE(rec_.wait([&] { return rec_.revoked.size() == 2; }, 2s));
  EXPECT_EQ(rec_.revoked.back(), "bob");
  EXPECT_TRUE(rec_.last()->minted.empty());
  EXPECT_EQ(rec_.last()->secrets, std::vector<std::string>{"config-secret"});

  const auto t1 = std::chrono::steady_clock::now();
  store.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 1s);
}

// A reload hands the store the config's new users and secrets: they are merged with the
// last Redis load at once, while Redis is up and while it is down, and kept by later loads.
TEST_F(RedisStoreTest, ReloadedStaticCredentialsMergeWithTheLastRedisLoad) {
  auto c = client();
  CredentialRepo repo{c, std::string(kRealm)};
  ASSERT_TRUE(repo.add_secret("redis-secret", std::chrono::system_clock::now()));
  ASSERT_TRUE(repo.add_user("alice", user("alice"), 1h));
  RedisStore store{options(), rec_.callbacks()};
  store.start();
  ASSERT_TRUE(rec_.wait([&] { return !rec_.snapshots.empty(); }, 5s));

  Credentials reloaded;
  reloaded.users = {{"new-static", "pw2"}};
  reloaded.secrets = {"reloaded-secret"};
  store.set_static_credentials(reloaded);
  ASSERT_TRUE(rec_.wait([&] { return rec_.snapshots.back()->users.contains("new-static"); }, 2s));
  auto snap = rec_.last();
  EXPECT_EQ(snap->secrets, (std::vector<std::string>{"redis-secret", "reloaded-secret"}));
  EXPECT_FALSE(snap->users.contains("static"));
  EXPECT_TRUE(snap->minted.contains("alice"));
  EXPECT_EQ(snap->realm, kRealm);
  EXPECT_TRUE(rec_.revoked.empty());

  // An event reloads from Redis: the reloaded statics stay.
  ASSERT_TRUE(repo.add_user("bob", user("bob"), 1h));
  ASSERT_TRUE(rec_.wait([&] { return rec_.snapshots.back()->minted.contains("bob"); }, 2s));
  EXPECT_TRUE(rec_.last()->users.contains("new-static"));

  // Redis down: a reload still applies, with the last Redis data.
  server_.stop(SIGKILL);
  ASSERT_TRUE(rec_.wait([&] { return rec_.states.size() == 2; }, 5s));
  reloaded.secrets = {"while-down"};
  store.set_static_credentials(reloaded);
  ASSERT_TRUE(rec_.wait(
      [&] {
        return rec_.snapshots.back()->secrets ==
               std::vector<std::string>{"redis-secret", "while-down"};
      },
      2s));
  EXPECT_TRUE(rec_.last()->minted.contains("bob"));
  const auto t1 = std::chrono::steady_clock::now();
  store.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 3s);
}

TEST_F(RedisStoreTest, BadDataIsLoggedOnceAndTheLastSnapshotKept) {
  auto c = client();
  CredentialRepo repo{c, std::string(kRealm)};
  ASSERT_TRUE(repo.add_user("alice", user("alice"), 1h));
  ASSERT_TRUE(c.command(
      {"HSET", user_key(kRealm, "mallory"), "md5", "nothex", "sha256", "x", "expires", "1"}));
  RedisStoreOptions o = options();
  o.refresh = 1s;
  RedisStore store{o, rec_.callbacks()};
  store.start();
  ASSERT_TRUE(rec_.wait([&] { return !rec_.snapshots.empty(); }, 5s));
  EXPECT_TRUE(rec_.last()->minted.contains("alice"));
  EXPECT_FALSE(rec_.last()->minted.contains("mallory"));

  // turnd:secrets of the wrong type: the reload fails, the snapshot stays, the state stays Up.
  ASSERT_TRUE(c.command({"SET", std::string(kSecretsKey), "garbage"}));
  ASSERT_TRUE(repo.publish({Event::Kind::SecretAdded, "x"}));
  ASSERT_TRUE(
      rec_.wait([&] { return rec_.count_logs_locked(LogLevel::Error, "WRONGTYPE") > 0; }, 3s));
  std::this_thread::sleep_for(2500ms);  // periodic reloads meet the same problem
  EXPECT_EQ(rec_.count_logs(LogLevel::Error, "WRONGTYPE"), 1u);
  EXPECT_EQ(rec_.count_logs(LogLevel::Error, "mallory: md5"), 1u);
  EXPECT_EQ(rec_.snapshots.size(), 1u);
  EXPECT_TRUE(store.up());

  // Repaired: the next event brings the secret in.
  ASSERT_TRUE(c.command({"DEL", std::string(kSecretsKey)}));
  ASSERT_TRUE(repo.add_secret("fixed", std::chrono::system_clock::now()));
  ASSERT_TRUE(rec_.wait([&] { return rec_.snapshots.back()->secrets.front() == "fixed"; }, 2s));
  EXPECT_EQ(rec_.count_logs(LogLevel::Error, "mallory: md5"), 1u);  // still known, not repeated
}

TEST_F(RedisStoreTest, PeriodicRefreshDropsExpiredUsersWithoutRevoking) {
  auto c = client();
  CredentialRepo repo{c, std::string(kRealm)};
  RedisStoreOptions o = options();
  o.refresh = 1s;
  RedisStore store{o, rec_.callbacks()};
  store.start();
  ASSERT_TRUE(rec_.wait([&] { return !rec_.snapshots.empty(); }, 5s));
  // Written without an event: only the periodic reload can see it.
  Command hset{"HSET", user_key(kRealm, "brief")};
  for (auto& f : user_fields(user("brief", 4s))) hset.push_back(f);  // expires: whole seconds
  ASSERT_TRUE(c.command(hset));
  ASSERT_TRUE(c.command({"EXPIRE", user_key(kRealm, "brief"), "4"}));
  ASSERT_TRUE(rec_.wait([&] { return rec_.snapshots.back()->minted.contains("brief"); }, 2500ms));
  ASSERT_TRUE(rec_.wait([&] { return rec_.snapshots.back()->minted.empty(); }, 7s));
  EXPECT_TRUE(rec_.revoked.empty());
}

// The server keeps only the newest snapshot (each shard swaps it in), so the store must not
// rely on anyone else keeping the previous one alive while it computes revocations.
TEST_F(RedisStoreTest, RevocationDiffDoesNotNeedTheOldSnapshotKeptElsewhere) {
  auto c = client();
  CredentialRepo repo{c, std::string(kRealm)};
  std::mutex m;
  CredentialsPtr latest;
  std::vector<std::string> revoked;
  std::condition_variable cv;
  RedisStoreCallbacks callbacks;
  callbacks.on_snapshot = [&](CredentialsPtr s) {
    std::lock_guard lock{m};
    latest = std::move(s);  // drops the previous snapshot, as a shard does
    cv.notify_all();
  };
  callbacks.on_revoked = [&](const std::string& u) {
    std::lock_guard lock{m};
    revoked.push_back(u);
    cv.notify_all();
  };
  RedisStore store{options(), callbacks};
  store.start();
  for (int i = 0; i < 20; ++i) {
    const std::string name = "user" + std::to_string(i);
    ASSERT_TRUE(repo.add_user(name, user(name), 1h));
    std::unique_lock lock{m};
    ASSERT_TRUE(cv.wait_for(lock, 2s, [&] { return latest && latest->minted.contains(name); }));
    lock.unlock();
    ASSERT_TRUE(repo.revoke_user(name));
    lock.lock();
    ASSERT_TRUE(cv.wait_for(lock, 2s, [&] { return revoked.size() == std::size_t(i) + 1; }))
        << name;
    EXPECT_EQ(revoked.back(), name);
  }
}

TEST_F(RedisStoreTest, DownAtStartIsLoggedOnceThenComesUp) {
  RedisServerProcess later;
  RedisStoreOptions o = options();
  o.url = later.url();
  o.backoff_max = 500ms;
  RedisStore store{o, rec_.callbacks()};
  store.start();
  ASSERT_TRUE(rec_.wait([&] { return !rec_.states.empty(); }, 5s));
  EXPECT_FALSE(rec_.states.front());
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(rec_.states.size(), 1u);
  EXPECT_EQ(rec_.count_logs(LogLevel::Warn, "unreachable"), 1u);
  EXPECT_TRUE(rec_.snapshots.empty());  // nothing to add to the static credentials yet

  ASSERT_TRUE(later.start());
  ASSERT_TRUE(rec_.wait([&] { return rec_.states.size() == 2 && !rec_.snapshots.empty(); }, 5s));
  EXPECT_TRUE(rec_.states.back());
  EXPECT_EQ(rec_.last()->secrets, std::vector<std::string>{"config-secret"});
}

TEST_F(RedisStoreTest, StopIsPromptWhileDown) {
  RedisStoreOptions o = options();
  o.url = "redis://127.0.0.1:1/0";
  RedisStore store{o, rec_.callbacks()};
  store.start();
  ASSERT_TRUE(rec_.wait([&] { return !rec_.states.empty(); }, 5s));
  std::this_thread::sleep_for(300ms);
  const auto t0 = std::chrono::steady_clock::now();
  store.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST(RedisStoreOptionsTest, BadUrlThrows) {
  RedisStoreOptions o;
  o.url = "http://nope";
  EXPECT_THROW((RedisStore{o, {}}), std::invalid_argument);
}

}  // namespace
}  // namespace turnd::auth::redis
