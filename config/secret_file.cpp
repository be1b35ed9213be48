#include "config/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace turnd::config {
namespace {

std::string mode_text(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kBlank = " \t\r";
  const auto start = s.find_first_not_of(kBlank);
  if (start == std::string_view::npos) return {};
  return s.substr(start, s.find_last_not_of(kBlank) - start + 1);
}

// The whole file, or why it may not be used. Mode and type come from the open descriptor.
Parsed<std::string> read_private(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return unexpected(std::string("cannot read it: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return unexpected(std::string("cannot read it: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return unexpected(std::string("not a regular file"));
  if ((st.st_mode & S_IROTH) != 0)
    return unexpected("readable by every user (mode " + mode_text(st.st_mode) +
                      "): chmod 0640 it, owned by root and turnd's group");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return unexpected("writable by others than its owner (mode " + mode_text(st.st_mode) +
                      "): chmod 0640 it, owned by root and turnd's group");
  if (static_cast<std::size_t>(st.st_size) > kMaxSecretFileBytes)
    return unexpected("larger than " + std::to_string(kMaxSecretFileBytes / 1024) +
                      " KiB: not a file of secrets");
  std::string text;
  char buffer[4096];
  while (text.size() <= kMaxSecretFileBytes) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unexpected(std::string("cannot read it: ") + std::strerror(errno));
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return unexpected("larger than " + std::to_string(kMaxSecretFileBytes / 1024) +
                    " KiB: not a file of secrets");
}

}  // namespace

Parsed<std::vector<std::string>> read_secret_file(std::string_view path) {
  if (path.empty()) return unexpected(std::string("expected a file name, e.g. /etc/turnd/secret"));
  if (path.find('\0') != std::string_view::npos)
    return unexpected(std::string("a file name cannot hold a NUL character"));
  auto text = read_private(std::string(path));
  if (!text) return unexpected(text.error());
  std::vector<std::string> secrets;
  std::string_view rest = *text;
  for (int line = 1; !rest.empty(); ++line) {
    const auto end = rest.find('\n');
    const auto secret = trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    if (secret.empty() || secret.front() == '#') continue;
    auto parsed = parse_secret(secret);  // never quoted back: it is a secret
    if (!parsed) return unexpected("line " + std::to_string(line) + ": " + parsed.error());
    secrets.push_back(std::move(*parsed));
  }
  if (secrets.empty())
    return unexpected(std::string(
        "holds no secret (one per line, newest first; blank lines and # comments are skipped); "
        "make one with: openssl rand -base64 32"));
  return secrets;
}

}  // namespace turnd::config
