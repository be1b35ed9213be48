#include "config/run_secret.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace turnd::config {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string{} : std::string{v};
}

std::string errno_text(int e) { return std::strerror(e); }

/// "" if `dir` (created if missing, mode 0700) is a real directory owned by us that nobody else
/// can write to; otherwise why not.
std::string make_private_dir(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_text(errno);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return errno_text(errno);
  if (!S_ISDIR(st.st_mode)) return "not a directory";
  if (st.st_uid != ::geteuid()) return "owned by another user";
  if ((st.st_mode & 022) != 0) return "writable by other users";
  return {};
}

void write_file(const fs::path& file, std::string_view secret) {
  const fs::path tmp =
      file.parent_path() / ("." + file.filename().string() + "." + std::to_string(::getpid()));
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(errno_text(errno));
  const std::string text = std::string(secret) + "\n";
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int e = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    const int e2 = ok ? errno : e;
    ::unlink(tmp.c_str());
    throw std::runtime_error(errno_text(e2));
  }
}

}  // namespace

std::vector<fs::path> run_secret_dirs() {
  std::vector<fs::path> dirs;
  if (auto d = env("RUNTIME_DIRECTORY"); !d.empty()) dirs.emplace_back(d.substr(0, d.find(':')));
  if (::geteuid() == 0) dirs.emplace_back("/run/turnd");
  if (auto d = env("XDG_RUNTIME_DIR"); !d.empty()) dirs.push_back(fs::path(d) / "turnd");
  dirs.push_back(fs::path("/tmp") / ("turnd-" + std::to_string(::geteuid())));
  return dirs;
}

fs::path write_run_secret(std::string_view secret) {
  std::string tried;
  for (const auto& dir : run_secret_dirs()) {
    std::string problem = make_private_dir(dir);
    if (problem.empty()) {
      const fs::path file = dir / kRunSecretFile;
      try {
        write_file(file, secret);
        return file;
      } catch (const std::runtime_error& e) {
        problem = e.what();
      }
    }
    tried += (tried.empty() ? "" : "; ") + dir.string() + ": " + problem;
  }
  throw std::runtime_error("no private directory for the run secret (" + tried + ")");
}

std::optional<RunSecret> read_run_secret() {
  for (const auto& dir : run_secret_dirs()) {
    const fs::path file = dir / kRunSecretFile;
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 022) != 0 ||
        (st.st_uid != ::geteuid() && st.st_uid != 0 && ::geteuid() != 0))
      throw std::runtime_error(file.string() +
                               ": not a regular file private to turnd's user; ignoring it");
    std::ifstream in(file);
    std::string secret;
    if (!in || !std::getline(in, secret))
      throw std::runtime_error(file.string() + ": cannot read it: " + errno_text(errno));
    if (secret.empty()) throw std::runtime_error(file.string() + ": empty");
    return RunSecret{file, secret};
  }
  return std::nullopt;
}

void remove_run_secret(const fs::path& file, std::string_view secret) noexcept {
  try {
    std::ifstream in(file);
    std::string current;
    if (in && std::getline(in, current) && current == secret) ::unlink(file.c_str());
  } catch (...) {
  }
}

}  // namespace turnd::config
