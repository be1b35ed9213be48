#include "auth/redis/redis_store.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace turnd::auth::redis {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr int kMaxCoalesced = 1000;  // events drained before one reload

std::chrono::sys_seconds wall_now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

// Redis secrets (newest first), then the config's secrets that Redis does not also hold.
std::shared_ptr<Credentials> merge(const Credentials& base, const SecretListing& secrets,
                                   UserListing users) {
  auto c = std::make_shared<Credentials>(base);
  c->secrets.clear();
  for (const auto& s : secrets.secrets) c->secrets.push_back(s.value);
  for (const auto& s : base.secrets)
    if (std::find(c->secrets.begin(), c->secrets.end(), s) == c->secrets.end())
      c->secrets.push_back(s);
  c->minted = std::move(users.users);
  c->index_userhashes();
  return c;
}

std::string summary(const Credentials& c) {
  return std::to_string(c.secrets.size()) + " secrets, " + std::to_string(c.minted.size()) +
         " minted users";
}

}  // namespace

RedisStore::RedisStore(RedisStoreOptions options, RedisStoreCallbacks callbacks)
    : options_(std::move(options)), callbacks_(std::move(callbacks)) {
  auto url = parse_redis_url(options_.url);
  if (!url) throw std::invalid_argument("redis: " + url.error());
  url_ = *url;
  options_.static_credentials.realm = options_.realm;
  options_.static_credentials.index_userhashes();
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0)
    throw std::runtime_error(std::string("RedisStore: eventfd: ") + std::strerror(errno));
}

RedisStore::~RedisStore() {
  stop();
  ::close(wake_fd_);
}

void RedisStore::start() {
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void RedisStore::stop() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  std::uint64_t drained = 0;  // leave the fd quiet for a later start()
  [[maybe_unused]] auto m = ::read(wake_fd_, &drained, sizeof drained);
}

void RedisStore::run() {
  auto backoff = options_.backoff_min;
  while (!stopping_) {
    auto ended = session(backoff);
    if (stopping_) break;
    if (!ended) set_state(false, ended.error().message);
    apply_new_statics();
    pause(backoff);
    apply_new_statics();
    backoff = std::min(backoff * 2, options_.backoff_max);
  }
}

RedisResult<Done> RedisStore::session(std::chrono::milliseconds& backoff) {
  auto commands = RedisClient::connect(url_, options_.client);
  if (!commands) return unexpected(commands.error());
  auto events = RedisClient::connect(url_, options_.client);
  if (!events) return unexpected(events.error());
  // Subscribe before the first load: an event sent during the load is not lost.
  if (auto s = events->subscribe(std::string(kEventsChannel)); !s) return unexpected(s.error());
  CredentialRepo repo{*commands, options_.realm};
  if (auto loaded = reload(repo); !loaded) return loaded;
  set_state(true, {});
  backoff = options_.backoff_min;

  auto next_refresh = SteadyClock::now() + options_.refresh;
  while (!stopping_) {
    const auto wait =
        std::chrono::ceil<std::chrono::milliseconds>(next_refresh - SteadyClock::now());
    auto message = events->wait_message(std::max(wait, std::chrono::milliseconds{0}), wake_fd_);
    if (!message) return unexpected(message.error());
    if (stopping_) break;
    apply_new_statics();
    bool due = SteadyClock::now() >= next_refresh;
    for (int i = 0; *message && i < kMaxCoalesced; ++i) {
      const auto event = parse_event(**message);
      report(LogLevel::Debug, (event ? "event: " : "event not understood: ") + **message);
      due = true;
      message = events->wait_message(std::chrono::milliseconds{0}, wake_fd_);
      if (!message) return unexpected(message.error());
    }
    if (due && !stopping_) {
      if (auto loaded = reload(repo); !loaded) return loaded;
      next_refresh = SteadyClock::now() + options_.refresh;
    }
  }
  return Done{};
}

RedisResult<Done> RedisStore::reload(CredentialRepo& repo) {
  // A connection error ends the session; bad data leaves the last snapshot in place.
  auto failed = [this](const RedisError& e) -> RedisResult<Done> {
    if (e.kind == ErrorKind::Connection) return unexpected(e);
    report_problems({e.message + "; keeping the last credentials"}, false);
    return Done{};
  };
  auto secrets = repo.secrets();
  if (!secrets) return failed(secrets.error());
  auto users = repo.users(wall_now());
  if (!users) return failed(users.error());
  std::vector<std::string> problems = secrets->problems;
  problems.insert(problems.end(), users->problems.begin(), users->problems.end());
  report_problems(problems, true);
  last_secrets_ = *secrets;
  last_users_ = *users;
  publish(merge(options_.static_credentials, *secrets, std::move(*users)));
  return Done{};
}

void RedisStore::set_static_credentials(Credentials statics) {
  statics.realm = options_.realm;
  statics.index_userhashes();
  {
    std::lock_guard lock{statics_mutex_};
    new_statics_ = std::move(statics);
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void RedisStore::apply_new_statics() {
  // Quiet the fd first, then take the statics: a set_static_credentials after this leaves
  // the fd readable again, so it is never lost. stop() re-checks stopping_ before any wait.
  if (!stopping_) {
    std::uint64_t drained = 0;
    [[maybe_unused]] auto m = ::read(wake_fd_, &drained, sizeof drained);
  }
  std::optional<Credentials> statics;
  {
    std::lock_guard lock{statics_mutex_};
    statics.swap(new_statics_);
  }
  if (!statics) return;
  options_.static_credentials = std::move(*statics);
  publish(merge(options_.static_credentials, last_secrets_, last_users_));
}

void RedisStore::publish(CredentialsPtr next) {
  // `previous` keeps the old snapshot alive for the diff below: once on_snapshot has handed
  // `next` to the shards, they may drop the last other reference to the old one at any time.
  const CredentialsPtr previous = std::exchange(current_, next);
  const Credentials& before = previous ? *previous : options_.static_credentials;
  if (previous && next->secrets == before.secrets && next->minted == before.minted &&
      next->users == before.users)
    return;
  if (callbacks_.on_snapshot) callbacks_.on_snapshot(next);
  report(LogLevel::Info, "credentials loaded: " + summary(*next));
  const auto now = wall_now();
  for (const auto& [name, old] : before.minted) {
    auto it = next->minted.find(name);
    const bool gone = it == next->minted.end() || !(it->second.md5 == old.md5);
    if (!gone || old.expires <= now) continue;  // expired users need no revocation
    report(LogLevel::Debug, "user " + name + " revoked or re-keyed");
    if (callbacks_.on_revoked) callbacks_.on_revoked(name);
  }
}

void RedisStore::set_state(bool up, const std::string& why) {
  if (state_ == static_cast<int>(up)) return;
  state_ = static_cast<int>(up);
  up_ = up;
  const std::string url = url_.display();
  if (up) {
    report(LogLevel::Info, "up at " + url);
  } else {
    const Credentials& kept = current_ ? *current_ : options_.static_credentials;
    report(LogLevel::Warn, "unreachable at " + url + ": " + why +
                               "; serving the last credentials (" + summary(kept) +
                               "), reconnecting with back-off up to " +
                               std::to_string(options_.backoff_max.count()) + " ms");
  }
  if (callbacks_.on_state) callbacks_.on_state(up);
}

void RedisStore::report(LogLevel level, const std::string& line) {
  if (callbacks_.log) callbacks_.log(level, line);
}

void RedisStore::report_problems(const std::vector<std::string>& problems, bool complete) {
  for (const auto& p : problems)
    if (!reported_.contains(p)) report(LogLevel::Error, p);
  // After a complete load, forget what is fixed, so that it is logged again if it comes back.
  if (complete) reported_.clear();
  reported_.insert(problems.begin(), problems.end());
}

void RedisStore::pause(std::chrono::milliseconds d) {
  pollfd fd{wake_fd_, POLLIN, 0};
  const auto until = SteadyClock::now() + d;
  while (!stopping_) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - SteadyClock::now());
    if (left.count() <= 0 || ::poll(&fd, 1, static_cast<int>(left.count())) > 0) return;
  }
}

}  // namespace turnd::auth::redis
