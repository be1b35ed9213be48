// Writes a certificate and its key as DIR/cert.pem and DIR/key.pem without ever exposing the
// key: the key file is created with mode 0600 (O_CREAT|O_EXCL), never widened or chmod-ed later,
// and an existing file is replaced only when asked, by a rename of a new file over it.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace turnd::turnctl {

/// The files could not be written; the message names the path and the reason.
struct CertFileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CertFilePaths {
  std::filesystem::path cert, key;
};

/// DIR/cert.pem and DIR/key.pem.
CertFilePaths cert_file_paths(const std::filesystem::path& dir);

/// Writes `key_pem` (mode 0600) and `cert_pem` (0644, less by the umask) into `dir`, which must
/// exist. Without `force` it refuses when either file exists, before writing anything; with
/// it, each file is written under a temporary name and renamed over the old one. On failure no
/// new file is left behind. Throws CertFileError.
CertFilePaths write_cert_files(const std::filesystem::path& dir, std::string_view cert_pem,
                               std::string_view key_pem, bool force);

}  // namespace turnd::turnctl
