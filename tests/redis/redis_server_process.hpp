// A redis-server child process for C++ tests: a free loopback port, no persistence, stopped by
// PID. Restartable on the same port, to test reconnection.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace turnd::test {

class RedisServerProcess {
 public:
  /// Picks a free port on 127.0.0.1 (the kernel's choice) unless `port` is given.
  explicit RedisServerProcess(std::uint16_t port = 0);
  ~RedisServerProcess();
  RedisServerProcess(const RedisServerProcess&) = delete;
  RedisServerProcess& operator=(const RedisServerProcess&) = delete;

  /// The redis-server binary (env REDIS_SERVER, else /usr/bin/redis-server); "" if missing.
  static std::string binary();
  /// Starts it and waits until it answers PING; false (with a message on stderr) otherwise.
  bool start();
  /// Sends `sig` to our child and reaps it.
  void stop(int sig);
  bool running() const noexcept { return pid_ > 0; }

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/0"; }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string dir_;
};

}  // namespace turnd::test
