#include "redis_server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include "auth/redis/redis_client.hpp"

extern char** environ;

namespace turnd::test {

namespace {

std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  std::uint16_t port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

}  // namespace

RedisServerProcess::RedisServerProcess(std::uint16_t port)
    : port_(port != 0 ? port : free_loopback_port()) {
  char dir[] = "/tmp/turnd-redis-XXXXXX";
  if (::mkdtemp(dir) != nullptr) dir_ = dir;
}

RedisServerProcess::~RedisServerProcess() {
  stop(SIGTERM);
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string RedisServerProcess::binary() {
  const char* env = std::getenv("REDIS_SERVER");
  std::string path = env != nullptr && *env != '\0' ? env : "/usr/bin/redis-server";
  return ::access(path.c_str(), X_OK) == 0 ? path : "";
}

bool RedisServerProcess::start() {
  const std::string bin = binary();
  if (bin.empty() || port_ == 0 || dir_.empty()) {
    std::cerr << "cannot start redis-server (binary \"" << bin << "\", port " << port_ << ")\n";
    return false;
  }
  std::vector<std::string> args = {bin,
                                   "--save",
                                   "",
                                   "--appendonly",
                                   "no",
                                   "--port",
                                   std::to_string(port_),
                                   "--bind",
                                   "127.0.0.1",
                                   "--dir",
                                   dir_,
                                   "--logfile",
                                   dir_ + "/redis.log"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const int rc = ::posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  auth::redis::RedisUrl url{"127.0.0.1", port_, "", "", 0};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auth::redis::RedisClient::connect(
            url, {std::chrono::milliseconds(200), std::chrono::milliseconds(500)}))
      return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::cerr << "redis-server exited during start-up (see " << dir_ << "/redis.log)\n";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop(SIGKILL);
  return false;
}

void RedisServerProcess::stop(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace turnd::test
