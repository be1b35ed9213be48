#include "server/certificate_reloader.hpp"

#include <spdlog/spdlog.h>

namespace turnd::server {

std::optional<io::tls::TlsFiles> tls_files_of(const config::Config& config) {
  if (!config.tls_cert || !config.tls_key) return std::nullopt;
  io::tls::TlsFiles files;
  files.main = {*config.tls_cert, *config.tls_key};
  for (const auto& extra : config.tls_certs) files.by_sni.push_back({extra.cert, extra.key});
  return files;
}

CertificateReloader::CertificateReloader(boost::asio::io_context& control,
                                         io::tls::TlsContextStore& store)
    : store_(store), timer_(control) {}

void CertificateReloader::start(const config::Config& config) {
  files_ = tls_files_of(config);
  if (!files_) return;
  loaded_ = last_seen_ = stamp();
  auto contexts = io::tls::TlsContexts::load(*files_);  // throws: turnd does not start
  spdlog::info("TLS certificate {} from {}", contexts->summary(), files_->main.cert);
  store_.install(std::move(contexts));
  schedule_poll();
}

void CertificateReloader::reload(const config::Config& config) {
  auto files = tls_files_of(config);
  if (!files) {
    if (files_) spdlog::warn("reload: tls.cert is gone from the config; keeping the running one");
    return;
  }
  const bool had = files_.has_value();
  const auto previous = files_;
  files_ = std::move(files);
  if (!load("SIGHUP")) {
    files_ = previous;  // keep watching what is served
    loaded_ = last_seen_ = stamp();
    return;
  }
  if (!had) schedule_poll();
}

bool CertificateReloader::load(const char* why) {
  const auto stamps = stamp();
  try {
    auto current = store_.current();
    auto contexts = io::tls::TlsContexts::load(*files_, current.get());
    spdlog::info("{}: TLS certificate reloaded: {}; new handshakes use it", why,
                 contexts->summary());
    store_.install(std::move(contexts));
    loaded_ = last_seen_ = stamps;
    ++applied_;
    return true;
  } catch (const std::exception& e) {  // TlsError naming the file, or bad_alloc
    spdlog::error("{}: TLS certificate not reloaded, still serving the previous one: {}", why,
                  e.what());
    loaded_ = last_seen_ = stamps;  // not again until the files change once more
    ++failed_;
    return false;
  }
}

std::vector<CertificateReloader::FileStamp> CertificateReloader::stamp() const {
  std::vector<FileStamp> stamps;
  if (!files_) return stamps;
  auto add = [&](const std::string& path) {
    struct stat st {};
    FileStamp s;
    if (::stat(path.c_str(), &st) == 0) {  // follows symlinks: certbot's live/ links
      s.mtime_ns =
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
      s.size = st.st_size;
      s.inode = st.st_ino;
    }
    stamps.push_back(s);
  };
  add(files_->main.cert);
  add(files_->main.key);
  for (const auto& extra : files_->by_sni) {
    add(extra.cert);
    add(extra.key);
  }
  return stamps;
}

void CertificateReloader::schedule_poll() {
  if (stopped_) return;
  timer_.expires_after(kPollInterval);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopped_) poll();
  });
}

void CertificateReloader::poll() {
  const auto now = stamp();
  const auto current = store_.current();
  if (now != loaded_ && now == last_seen_) {
    load("certificate files changed");
  } else if (current != nullptr &&
             std::chrono::steady_clock::now() - current->ticket_keys_since() >=
                 io::tls::TlsContexts::kTicketKeyLife &&
             std::chrono::steady_clock::now() >= next_rotation_try_) {
    // The files are read again for it; if they no longer load (an expired certificate whose
    // renewal failed), the old set stays and the next try is an hour later, not every poll.
    if (!load("daily session ticket key rotation"))
      next_rotation_try_ = std::chrono::steady_clock::now() + std::chrono::hours{1};
  } else {
    last_seen_ = now;
  }
  schedule_poll();
}

void CertificateReloader::stop() {
  stopped_ = true;
  timer_.cancel();
}

std::int64_t CertificateReloader::expiry_unix() const noexcept {
  auto current = store_.current();
  if (!current) return 0;
  return std::chrono::duration_cast<std::chrono::seconds>(current->not_after().time_since_epoch())
      .count();
}

}  // namespace turnd::server
