#include "tools/turnctl/cert_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace turnd::turnctl {

namespace {

namespace fs = std::filesystem;

constexpr mode_t kKeyMode = 0600;
constexpr mode_t kCertMode = 0644;

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path, int err) {
  std::string message = what + " " + path.string() + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM || err == EROFS)
    message += " (is " + path.parent_path().string() + " writable by this user?)";
  throw CertFileError(message);
}

void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("cannot write", path, errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Creates `path` with `mode` from the start (O_EXCL: never an existing file, never through a
/// symlink) and writes `data`; removes it again if writing fails.
void create_exclusive(const fs::path& path, std::string_view data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) fail_errno(errno == EEXIST ? "will not overwrite" : "cannot create", path, errno);
  try {
    write_all(fd, data, path);
    if (::fsync(fd) != 0) fail_errno("cannot write", path, errno);
  } catch (...) {
    ::close(fd);
    ::unlink(path.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    fail_errno("cannot write", path, err);
  }
}

/// ".key.pem.tmp-1a2b3c4d" next to `path`: a name no one else uses (O_EXCL checks).
fs::path temp_name(const fs::path& path) {
  std::random_device random;
  std::array<char, 16> suffix{};
  std::snprintf(suffix.data(), suffix.size(), "%08x", random());
  return path.parent_path() / ("." + path.filename().string() + ".tmp-" + suffix.data());
}

void check_dir(const fs::path& dir) {
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found)
    throw CertFileError(dir.string() + ": no such directory (create it, or choose another --out)");
  if (ec) throw CertFileError(dir.string() + ": " + ec.message());
  if (status.type() != fs::file_type::directory)
    throw CertFileError(dir.string() + " is not a directory");
}

void refuse_existing(const CertFilePaths& paths) {
  std::string existing;
  for (const auto* p : {&paths.cert, &paths.key}) {
    struct stat st {};
    if (::lstat(p->c_str(), &st) == 0) existing += (existing.empty() ? "" : " and ") + p->string();
  }
  if (!existing.empty())
    throw CertFileError("will not overwrite " + existing +
                        ": pass --force to replace the pair, or choose another --out");
}

}  // namespace

CertFilePaths cert_file_paths(const fs::path& dir) { return {dir / "cert.pem", dir / "key.pem"}; }

CertFilePaths write_cert_files(const fs::path& dir, std::string_view cert_pem,
                               std::string_view key_pem, bool force) {
  check_dir(dir);
  const CertFilePaths paths = cert_file_paths(dir);
  if (!force) refuse_existing(paths);
  // Key first, then the certificate; with --force both under temporary names, renamed only when
  // both are written, so a failure never leaves a new key beside an old certificate.
  const CertFilePaths written =
      force ? CertFilePaths{temp_name(paths.cert), temp_name(paths.key)} : paths;
  create_exclusive(written.key, key_pem, kKeyMode);
  try {
    create_exclusive(written.cert, cert_pem, kCertMode);
  } catch (...) {
    ::unlink(written.key.c_str());
    throw;
  }
  if (!force) return paths;
  if (::rename(written.key.c_str(), paths.key.c_str()) != 0) {
    const int err = errno;
    ::unlink(written.key.c_str());
    ::unlink(written.cert.c_str());
    fail_errno("cannot replace", paths.key, err);
  }
  if (::rename(written.cert.c_str(), paths.cert.c_str()) != 0) {
    const int err = errno;
    ::unlink(written.cert.c_str());
    fail_errno("cannot replace", paths.cert, err);
  }
  return paths;
}

}  // namespace turnd::turnctl
