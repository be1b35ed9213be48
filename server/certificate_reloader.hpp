// Keeps the TLS certificates current: loads them at start (an unusable file stops turnd),
// again on SIGHUP, and when the files change on disk (an ACME client's renewal), so new
// handshakes get the new chain without a restart. A new pair that does not load is logged and
// the old one stays. Owner: the control thread.
#pragma once

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "server/io/tls/tls_context.hpp"

namespace turnd::server {

/// The certificate files `config` names; nullopt when it names none (no TLS).
std::optional<io::tls::TlsFiles> tls_files_of(const config::Config& config);

class CertificateReloader {
 public:
  /// How often the files are looked at. A change is loaded once two looks in a row agree, so
  /// a renewal caught half-written is not logged as an error.
  static constexpr std::chrono::seconds kPollInterval{2};

  CertificateReloader(boost::asio::io_context& control, io::tls::TlsContextStore& store);
  /// Loads the files of `config` and starts watching them; throws io::tls::TlsError.
  void start(const config::Config& config);
  /// SIGHUP: loads the files `config` names now (perhaps other files), changed or not.
  void reload(const config::Config& config);
  void stop();

  std::uint64_t reloads_applied() const noexcept { return applied_; }
  std::uint64_t reloads_failed() const noexcept { return failed_; }
  /// Unix time the earliest certificate expires; 0 without TLS.
  std::int64_t expiry_unix() const noexcept;

 private:
  struct FileStamp {
    std::int64_t mtime_ns = 0, size = -1;
    std::uint64_t inode = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
  };
  std::vector<FileStamp> stamp() const;
  /// Loads files_; true when installed. `why` says what started it, for the log.
  bool load(const char* why);
  void schedule_poll();
  void poll();

  io::tls::TlsContextStore& store_;
  boost::asio::steady_timer timer_;
  std::optional<io::tls::TlsFiles> files_;
  std::vector<FileStamp> loaded_, last_seen_;
  std::uint64_t applied_ = 0, failed_ = 0;
  std::chrono::steady_clock::time_point next_rotation_try_{};  // after a failed rotation
  bool stopped_ = false;
};

}  // namespace turnd::server
