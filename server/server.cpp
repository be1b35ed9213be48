#include "server/server.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <future>

#include "auth/redis/redis_store.hpp"
#include "config/cli.hpp"
#include "config/embedded_default.hpp"
#include "config/nat_discovery.hpp"
#include "config/reload.hpp"
#include "protocol/version.hpp"
#include "server/admin_http.hpp"
#include "server/log_text.hpp"
#include "server/metrics_text.hpp"
#include "server/service_notify.hpp"
#include "server/web_http.hpp"

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
  auto add = [&](std::string_view transport, const auto& list) {
    for (const auto& a : list)
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", transport, a.to_string());
  };
  add("udp+tcp", c.listen);
  add("tls", c.listen_tls);
  add("dtls", c.listen_dtls);
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
  g.reloads_applied = reloads_applied_;
  g.reloads_refused = reloads_refused_;
  g.draining = services_->draining.load();
  if (certificates_) {
    g.tls_certificate_expiry = certificates_->expiry_unix();
    g.tls_reloads_applied = certificates_->reloads_applied();
    g.tls_reloads_failed = certificates_->reloads_failed();
  }
  if (web_) g.web = &web_->counters();
  return render_metrics(counters, g);
}

namespace {
/// How long the admin waits for a busy shard before answering 503 (the control thread is
/// blocked meanwhile; a shard answers within one event loop turn, which for tens of
/// thousands of allocations with many permissions each takes a few seconds on a slow host).
constexpr std::chrono::seconds kShardAnswerTimeout{5};

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
  // Reads the start-up config: auth.redis and the realm are restart-only.
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
    for (auto& s : shards_) (void)s->post_close_user(user, "closed: credential revoked");
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

Server::Server(config::Config config, ConfigSource source)
    : config_(std::move(config)), source_(std::move(source)) {
  if (config_.threads == 0) config_.threads = usable_cpus();
}

Server::~Server() = default;

std::int64_t Server::live_allocations() const {
  std::int64_t live = 0;
  for (const auto& s : shards_) live += s->state().counters().allocations.load();
  return live;
}

void Server::run() {
  raise_fd_limit();
  // OpenSSL writes TLS records with write(2) on the socket: a client that reset its connection
  // must cost an EPIPE, not the process (Asio's own sends use MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  // Install the handlers before any shard thread exists, so no thread dies of a default action
  // (SIGHUP's would end the process: systemctl reload must not kill it).
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  signals_.add(SIGHUP);
  services_ = std::make_unique<SharedServices>(config_);
  policy_ = services_->initial_policy;
  certificates_ = std::make_unique<CertificateReloader>(control_, services_->tls);
  certificates_->start(config_);  // an unusable certificate stops turnd here
  for (unsigned i = 0; i < config_.threads; ++i) {
    shards_.push_back(std::make_unique<Shard>(i, *services_));
    shards_.back()->open_listeners();
    services_->shard_states.push_back(&shards_.back()->state());
  }
  credentials_ = services_->credentials;
  if (config_.admin_listen) {
    admin_ = std::make_unique<AdminHttp>(
        control_, policy_->config,
        AdminHooks{[this] { return metrics(); }, [this] { return !services_->draining.load(); },
                   [this] { return credentials(); }, [this] { return describe_allocations(); },
                   [this](const std::string& user) { return close_user(user); }});
    admin_->start();
  }
  if (config_.web_listen) {
    web_ = std::make_unique<WebHttp>(control_, policy_->config, services_->tls,
                                     [this] { return credentials(); });
    web_->start();
  }
  // Everything that can fail at start (a bad Redis URL, a port in use) fails before any shard
  // thread exists, so the error reaches main as one line instead of std::terminate. Snapshots
  // the store posts now wait in the shards' queues until they run.
  redis_ = start_redis();
  for (auto& s : shards_) threads_.emplace_back([&s] { s->run(); });
  spdlog::info("turnd {} listening on {} with {} shard(s), realm \"{}\"", kVersion,
               describe_listen(config_), config_.threads, logsafe(config_.realm));
  if (auto nat = config::nat_discovery_addresses(config_); nat && *nat)
    spdlog::info("RFC 5780 NAT behaviour discovery (Binding) on {}", config::describe(**nat));
  const auto offload = [](bool wanted, bool on) {
    return on ? "on" : (wanted ? "off (not in this kernel)" : "off (config)");
  };
  spdlog::info("UDP segmentation offload (GSO) {}, receive coalescing (GRO) {}",
               offload(config_.udp_gso, services_->udp_offload.gso),
               offload(config_.udp_gro, services_->udp_offload.gro));
  if (config_.admin_listen)
    spdlog::info("admin HTTP on {} (/metrics, /healthz, /readyz{})",
                 config_.admin_listen->to_string(),
                 config_.admin_api_key ? ", /api/v1/turn-credentials, /api/v1/allocations" : "");
  if (config_.web_listen) log_web_listener();
  service::notify_ready();
  service::notify_status("serving on " + describe_listen(config_));
  wait_for_signal();
  control_.run();
  for (auto& t : threads_) t.join();
  spdlog::info("turnd stopped");
}

void Server::wait_for_signal() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec || stopped_) return;
    on_signal(sig);
    if (!stopped_) wait_for_signal();
  });
}

void Server::on_signal(int sig) {
  if (sig == SIGHUP) {
    reload();
  } else if (sig == SIGTERM && !services_->draining.load()) {
    begin_drain();
  } else {
    spdlog::info("{} received: stopping now", sig == SIGINT ? "SIGINT" : "second SIGTERM");
    stop_now();
  }
}

void Server::reload() {
  service::notify_reloading();
  const config::Config& running = policy_->config;
  if (source_.args.empty()) {
    spdlog::warn("SIGHUP: no command line to read the config from; nothing reloaded");
    service::notify_ready();
    return;
  }
  auto refuse = [this](const std::string& why) {
    spdlog::error("reload refused, still running on the previous config: {}", why);
    ++reloads_refused_;
    service::notify_ready();
  };
  config::Config next;
  try {
    next = config::parse_command_line(source_.args).config;
  } catch (const std::exception& e) {  // config::ConfigError: file:line: key: what and the fix
    return refuse(e.what());
  }
  if (next.threads == 0) next.threads = usable_cpus();
  const auto restart_only = config::restart_only_changes(running, next);
  next = config::reloadable_part(running, std::move(next));
  if (!config::has_credentials(next)) {
    if (!source_.generated_secret)
      return refuse(next.source +
                    ": names no credentials (auth.users, auth.secrets, auth.secret_file, "
                    "auth.redis); every Allocate would be refused");
    next.auth_secrets = {*source_.generated_secret};  // the run secret turnctl already holds
  }
  for (const auto& key : restart_only)
    spdlog::warn("reload: {} changed in {}: it needs a restart; keeping the running value", key,
                 next.source);
  apply(make_policy(std::move(next)));
  certificates_->reload(policy_->config);
  spdlog::info("configuration reloaded from {}", policy_->config.source);
  ++reloads_applied_;
  service::notify_ready();
}

void Server::apply(PolicyPtr next) {
  policy_ = std::move(next);
  const config::Config& c = policy_->config;
  for (auto& s : shards_) s->post_policy(policy_);
  services_->quotas.set_limits(c.user_quota, c.total_quota);
  services_->connections.set_limits(connection_limits(c));
  services_->unauthenticated_replies.set_rate(c.max_unauthenticated_per_second);
  spdlog::set_level(spdlog::level::from_str(c.log_level));
  if (admin_) admin_->set_config(c);
  if (web_) web_->set_config(c);
  auto statics = credentials_from(c);
  if (redis_) {
    redis_->set_static_credentials(*statics);  // merged with Redis's, then on_snapshot
  } else {
    {
      std::lock_guard lock{credentials_mutex_};
      credentials_ = statics;
    }
    for (auto& s : shards_) s->post_credentials(statics);
  }
}

void Server::begin_drain() {
  services_->draining = true;
  service::notify_stopping();
  const auto grace = policy_->config.shutdown_grace;
  const auto live = live_allocations();
  spdlog::info(
      "SIGTERM received: draining (/readyz 503, new allocations {}); {} allocation(s) may go on "
      "for up to {} s; SIGINT or a second SIGTERM stops at once",
      policy_->config.alternate_servers.empty() ? "refused with 508"
                                                : "sent to the alternate servers (300)",
      live, grace.count());
  service::notify_status("draining");
  drain_deadline_ = std::chrono::steady_clock::now() + grace;
  check_drained();
}

void Server::check_drained() {
  if (stopped_) return;
  const auto live = live_allocations();
  if (live == 0) {
    spdlog::info("drained: no allocation left");
    return stop_now();
  }
  const auto now = std::chrono::steady_clock::now();
  if (now >= drain_deadline_) {
    spdlog::info("shutdown grace over: closing the {} allocation(s) left", live);
    return stop_now();
  }
  drain_timer_.expires_after(std::min<std::chrono::steady_clock::duration>(
      std::chrono::milliseconds{200}, drain_deadline_ - now));
  drain_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) check_drained();
  });
}

// What the web listener serves, and why its pages cannot work when they cannot.
void Server::log_web_listener() const {
  const auto url =
      std::string(config_.tls_cert ? "https://" : "http://") + config_.web_listen->to_string();
  if (!config_.web_demo) {
    spdlog::info("web listener on {}: pages off (web.demo false), every path answers 404", url);
    return;
  }
  spdlog::info("web listener on {}: /call (video call), /ice (candidates), /credentials, /ws", url);
  const auto creds = credentials();
  if (!creds || creds->secrets.empty())
    spdlog::warn(
        "web: /credentials answers 503: there is no REST secret (auth.secrets, "
        "auth.secret_file or turnctl secret add), only users, so the pages cannot get "
        "credentials");
}

void Server::stop_now() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  signals_.cancel(ec);  // the handlers stay installed: a late signal is queued, not fatal
  drain_timer_.cancel();
  if (certificates_) certificates_->stop();
  if (redis_) redis_->stop();
  for (auto& s : shards_) s->stop();
  if (admin_) admin_->stop();
  if (web_) web_->stop();
}

}  // namespace turnd::server
