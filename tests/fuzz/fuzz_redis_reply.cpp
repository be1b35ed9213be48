// libFuzzer target for everything that reads Redis replies: hiredis' reader and our copy of
// its replies (auth/redis/redis_client.*), the typed checks (reply.*), and the record parsing
// of credential_repo.* and layout.*. A real RedisClient talks to a fake server on 127.0.0.1
// that answers PING with +PONG and then sends the fuzz input as the rest of the stream.
// Input: byte 0 picks the operation, the rest is the reply stream.
// Properties: nothing crashes or hangs; every outcome is a value or a RedisError with a kind
// and a message; secrets listed have valid ids and non-empty values; users listed have valid
// names and have not expired; events parse back to what format_event wrote.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "auth/redis/credential_repo.hpp"
#include "auth/redis/layout.hpp"
#include "auth/redis/redis_client.hpp"
#include "fuzz_targets.hpp"
#include "protocol/result.hpp"

namespace turnd::fuzz {
namespace {

namespace redis = turnd::auth::redis;

// Accepts one connection per input, sends "+PONG\r\n" + the input, half-closes, and reads
// until the client closes. One thread for the whole run; inputs never overlap.
class FakeRedis {
 public:
  FakeRedis() {
    std::signal(SIGPIPE, SIG_IGN);
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    TURND_ASSERT(listen_fd_ >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    TURND_ASSERT(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    TURND_ASSERT(::listen(listen_fd_, 4) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    std::thread([this] { run(); }).detach();  // lives as long as the process
  }
  std::uint16_t port() const noexcept { return port_; }

  void expect(std::string stream) {
    std::lock_guard lock(mutex_);
    stream_ = "+PONG\r\n" + std::move(stream);
    served_ = false;
  }
  /// Waits until the connection of this input is closed; false after 10 s (a hang).
  bool wait_served() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return served_; });
  }

 private:
  void run() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::string stream;
      {
        std::lock_guard lock(mutex_);
        stream = stream_;
      }
      for (std::size_t sent = 0; sent < stream.size();) {
        const ssize_t n = ::send(fd, stream.data() + sent, stream.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(fd, SHUT_WR);
      char sink[4096];
      while (::recv(fd, sink, sizeof sink, 0) > 0) {
      }
      ::close(fd);
      std::lock_guard lock(mutex_);
      served_ = true;
      cv_.notify_all();
    }
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::string stream_;
  bool served_ = true;
};

constexpr std::string_view kRealm = "fuzz.test";
const std::chrono::sys_seconds kNow{std::chrono::seconds{1735689600}};

void check_error(const redis::RedisError& e) {
  TURND_ASSERT(!e.message.empty());
  TURND_ASSERT(e.kind == redis::ErrorKind::Connection || e.kind == redis::ErrorKind::Server ||
               e.kind == redis::ErrorKind::Data);
}

template <class T>
bool ok_or_error(const redis::RedisResult<T>& r) {
  if (!r) check_error(r.error());
  return r.has_value();
}

// CredentialRepo::users() skips keys SCAN returns outside its prefix (finding F4, fixed): an
// exception here would have ended turnd on its Redis thread, and now fails the target.
redis::RedisResult<redis::UserListing> users(redis::CredentialRepo& repo) {
  return repo.users(kNow);
}

void run_operation(std::uint8_t op, redis::RedisClient& client) {
  redis::CredentialRepo repo{client, std::string(kRealm)};
  switch (op % 8) {
    case 0:
      if (auto s = repo.secrets(); ok_or_error(s)) {
        for (const auto& secret : s->secrets) {
          TURND_ASSERT(redis::check_secret_id(secret.id).empty());
          TURND_ASSERT(!secret.value.empty());
          TURND_ASSERT(secret.created.time_since_epoch().count() >= 0);
        }
        for (const auto& p : s->problems) TURND_ASSERT(!p.empty());
      }
      break;
    case 1:
      if (auto u = users(repo); ok_or_error(u)) {
        for (const auto& [name, user] : u->users) {
          TURND_ASSERT(redis::check_user_name(name).empty());
          TURND_ASSERT(user.expires > kNow);
          TURND_ASSERT(user.md5.size == 16 && user.sha256.size == 32);
        }
        for (const auto& p : u->problems) TURND_ASSERT(!p.empty());
      }
      break;
    case 2:
      if (auto id = repo.add_secret("s3cret", std::chrono::system_clock::time_point{kNow});
          ok_or_error(id))
        TURND_ASSERT(redis::check_secret_id(*id).empty());
      break;
    case 3:
      (void)ok_or_error(repo.retire_secret("1735689600000-abcd"));
      break;
    case 4:
      (void)ok_or_error(repo.add_user("alice",
                                      auth::MintedUser{{}, {}, kNow + std::chrono::hours(1)},
                                      std::chrono::seconds(3600)));
      break;
    case 5:
      (void)ok_or_error(repo.revoke_user("alice"));
      break;
    case 6:
      (void)ok_or_error(repo.publish({redis::Event::Kind::UserRevoked, "alice"}));
      break;
    case 7:
      if (auto sub = client.subscribe(std::string(redis::kEventsChannel)); ok_or_error(sub)) {
        for (int i = 0; i < 8; ++i) {  // a few messages, then the stream ends or times out
          auto m = client.wait_message(std::chrono::milliseconds(50));
          if (!ok_or_error(m) || !*m) break;
          if (auto e = redis::parse_event(**m)) {
            TURND_ASSERT(redis::parse_event(redis::format_event(*e)) == e);
            TURND_ASSERT(!e->subject.empty());
          }
        }
      }
      break;
  }
}

// Debian 12's hiredis 0.14 allocated an array of N pointers as soon as it read "*N" (finding F3,
// 2.6 GB for "*333333333"); RedisClient now refuses arrays over 1 Mi elements before that
// allocation, so array counts are fuzzed like everything else. Bulk lengths of 7 or more digits
// are still skipped: the fake server would have to send megabytes to complete them.
bool has_huge_count(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != '$') continue;
    std::size_t digits = 0;
    for (std::size_t j = i + 1; j < size && data[j] >= '0' && data[j] <= '9'; ++j) ++digits;
    if (digits >= 7) return true;
  }
  return false;
}

}  // namespace

int check_redis_reply(const std::uint8_t* data, std::size_t size) {
  static FakeRedis server;
  if (size < 1 || has_huge_count(data, size)) return 0;
  server.expect(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  redis::RedisUrl url;
  url.host = "127.0.0.1";
  url.port = server.port();
  redis::ClientOptions options;
  options.command_timeout = std::chrono::milliseconds(2000);
  {
    auto client = redis::RedisClient::connect(url, options);
    if (ok_or_error(client)) run_operation(data[0], *client);
  }
  TURND_ASSERT(server.wait_served());
  return 0;
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_redis_reply(data, size);
}
#endif
