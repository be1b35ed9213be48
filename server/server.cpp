#include "server/server.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <future>

#include "auth/redis/redis_store.hpp"
#include "protocol/version.hpp"
#include "server/admin_http.hpp"
#include "server/log_text.hpp"
#include "server/metrics_text.hpp"

namespace turnd::server {

unsigned usable_cpus() noexcept {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

namespace {
/// Every allocation holds a relay socket: raise the soft descriptor limit to the hard one.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string describe_listen(const config::Config& c) {
  std::string out;
  for (const auto& a : c.listen) out += (out.empty() ? "" : ", ") + a.to_string();
  return out;
}
}  // namespace

std::string Server::metrics() const {
  std::vector<const ShardCounters*> counters;
  for (const auto& s : shards_) counters.push_back(&s->state().counters());
  ProcessGauges g;
  g.relay_ports_in_use = services_->ports.in_use();
  g.relay_ports_capacity = services_->ports.capacity();
  g.redis_up = redis_up_.load();
  g.shards = static_cast<unsigned>(shards_.size());
  g.tcp_connections = services_->connections.open();
  return render_metrics(counters, g);
}

namespace {
/// How long the admin waits for a busy shard before answering 503 (the control thread is
/// blocked meanwhile; shards answer within one event loop turn).
constexpr std::chrono::seconds kShardAnswerTimeout{2};

template <class T>
std::optional<T> get_within(std::future<T>& f, std::chrono::steady_clock::time_point deadline) {
  if (f.wait_until(deadline) != std::future_status::ready) return std::nullopt;
  try {
    return f.get();
  } catch (const std::future_error&) {  // the shard stopped before it got to the request
    return std::nullopt;
  }
}
}  // namespace

std::optional<boost::json::array> Server::describe_allocations() {
  std::vector<std::future<boost::json::array>> answers;
  for (auto& s : shards_) answers.push_back(s->describe_allocations());
  const auto deadline = std::chrono::steady_clock::now() + kShardAnswerTimeout;
  boost::json::array all;
  for (auto& a : answers) {
    auto part = get_within(a, deadline);
    if (!part) return std::nullopt;
    for (auto& v : *part) all.push_back(std::move(v));
  }
  return all;
}

std::optional<std::size_t> Server::close_user(const std::string& user) {
  spdlog::info("operator closes the allocations of user \"{}\"", logsafe(user));
  std::vector<std::future<std::size_t>> answers;
  for (auto& s : shards_)
    answers.push_back(s->post_close_user(user, "closed by the operator",
                                         AllocationTable::UserMatch::UsernameOrUserId));
  const auto deadline = std::chrono::steady_clock::now() + kShardAnswerTimeout;
  std::size_t closed = 0;
  for (auto& a : answers) {
    auto n = get_within(a, deadline);
    if (!n) return std::nullopt;
    closed += *n;
  }
  return closed;
}

auth::CredentialsPtr Server::credentials() const {
  std::lock_guard lock{credentials_mutex_};
  return credentials_;
}

std::unique_ptr<auth::redis::RedisStore> Server::start_redis() {
  if (!config_.redis) return nullptr;
  namespace r = auth::redis;
  redis_up_ = 0;
  r::RedisStoreOptions options;
  options.url = *config_.redis;
  options.realm = config_.realm;
  options.static_credentials = *services_->credentials;
  r::RedisStoreCallbacks callbacks;
  callbacks.on_snapshot = [this](auth::CredentialsPtr c) {
    {
      std::lock_guard lock{credentials_mutex_};
      credentials_ = c;
    }
    for (auto& s : shards_) s->post_credentials(c);
  };
  callbacks.on_revoked = [this](const std::string& user) {
    spdlog::info("credential of user \"{}\" revoked: closing its allocations", logsafe(user));
    for (auto& s : shards_) s->post_close_user(user, "closed: credential revoked");
  };
  callbacks.on_state = [this](bool up) { redis_up_ = up ? 1 : 0; };
  callbacks.log = [](r::LogLevel level, const std::string& line) {
    switch (level) {
      case r::LogLevel::Debug:
        spdlog::debug("redis: {}", logsafe(line));
        break;
      case r::LogLevel::Info:
        spdlog::info("redis: {}", logsafe(line));
        break;
      case r::LogLevel::Warn:
        spdlog::warn("redis: {}", logsafe(line));
        break;
      case r::LogLevel::Error:
        spdlog::error("redis: {}", logsafe(line));
        break;
    }
  };
  auto store = std::make_unique<r::RedisStore>(std::move(options), std::move(callbacks));
  store->start();
  return store;
}

Server::Server(config::Config config) : config_(std::move(config)) {
  if (config_.threads == 0) config_.threads = usable_cpus();
}

void Server::run() {
  raise_fd_limit();
  // Install the handlers before any shard thread exists, so no thread dies of a default action.
  boost::asio::io_context control;
  boost::asio::signal_set signals{control, SIGINT, SIGTERM};
  services_ = std::make_unique<SharedServices>(config_);
  for (unsigned i = 0; i < config_.threads; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, *services_));
    shards_.back()->open_listeners();
  }
  credentials_ = services_->credentials;
  std::unique_ptr<AdminHttp> admin;
  if (config_.admin_listen) {
    admin =
        std::make_unique<AdminHttp>(control, config_,
                                    AdminHooks{[this] { return metrics(); }, [] { return true; },
                                               [this] { return credentials(); },
                                               [this] { return describe_allocations(); },
                                               [this](const std::string& user) {
                                                 return close_user(user);
                                               }});
    admin->start();
  }
  // Everything that can fail at start (a bad Redis URL, a port in use) fails before any shard
  // thread exists, so the error reaches main as one line instead of std::terminate. Snapshots
  // the store posts now wait in the shards' queues until they run.
  auto redis = start_redis();
  for (auto& s : shards_) threads_.emplace_back([&s] { s->run(); });
  spdlog::info("turnd {} listening on udp+tcp {} with {} shard(s), realm \"{}\"", kVersion,
               describe_listen(config_), config_.threads, logsafe(config_.realm));
  if (config_.admin_listen)
    spdlog::info("admin HTTP on {} (/metrics, /healthz, /readyz{})",
                 config_.admin_listen->to_string(),
                 config_.admin_api_key ? ", /api/v1/turn-credentials" : "");

  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {} received, stopping", sig);
    if (redis) redis->stop();
    for (auto& s : shards_) s->stop();
    if (admin) admin->stop();
  });
  control.run();
  for (auto& t : threads_) t.join();
  spdlog::info("turnd stopped");
}

}  // namespace turnd::server
