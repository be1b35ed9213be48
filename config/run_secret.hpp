// The REST secret a turnd without configured credentials generates for its run, kept in a
// private file so that `turnctl mint` on the same machine can mint credentials for that run.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace turnd::config {

/// The file name inside the run-secret directory.
inline constexpr std::string_view kRunSecretFile = "run-secret";

/// Candidate directories, most preferred first: $RUNTIME_DIRECTORY (systemd's
/// RuntimeDirectory=, its first entry), /run/turnd when running as root, $XDG_RUNTIME_DIR/turnd,
/// /tmp/turnd-<uid>. turnd writes to the first that works; turnctl reads the first that holds
/// the file.
std::vector<std::filesystem::path> run_secret_dirs();

/// Writes `secret` to kRunSecretFile in the first candidate directory that is (or can be made)
/// private: created with mode 0700, or existing, owned by this user and writable by nobody
/// else. The file has mode 0600 and is replaced atomically. Returns its path; throws
/// std::runtime_error naming each directory tried and why it was refused.
std::filesystem::path write_run_secret(std::string_view secret);

struct RunSecret {
  std::filesystem::path file;
  std::string secret;
};

/// The secret in the first candidate directory that has the file, or nullopt. Throws
/// std::runtime_error when that file cannot be read or others could have written it.
std::optional<RunSecret> read_run_secret();

/// Deletes `file` if it still holds `secret` (another turnd may have replaced it since).
void remove_run_secret(const std::filesystem::path& file, std::string_view secret) noexcept;

}  // namespace turnd::config
