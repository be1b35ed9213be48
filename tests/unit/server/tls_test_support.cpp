#include "tls_test_support.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>

namespace turnd::server::test {
namespace {

struct CryptoDeleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
  void operator()(X509* p) const noexcept { X509_free(p); }
  void operator()(BIO* p) const noexcept { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, CryptoDeleter>;

void check(bool ok, const char* what) {
  if (!ok) {
    ERR_print_errors_fp(stderr);
    throw std::runtime_error(std::string("OpenSSL failed: ") + what);
  }
}

void add_extension(X509* cert, int nid, const char* value) {
  X509V3_CTX v3{};
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value));
  check(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1, "extension");
}

std::string pem_of(const std::function<int(BIO*)>& write) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  check(bio != nullptr && write(bio.get()) == 1, "PEM");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Rounds of "client step, server step" before a handshake is declared stuck: a full handshake
// takes fewer than five.
constexpr int kMaxRounds = 50;

}  // namespace

TestCert make_cert(const CertSpec& spec) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key");
  Owned<X509> cert(X509_new());
  check(cert != nullptr && X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509");
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(spec.not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(spec.not_after.count()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
  check(X509_set_pubkey(cert.get(), key.get()) == 1, "public key");
  add_extension(cert.get(), NID_subject_alt_name, ("DNS:" + spec.cn).c_str());
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");
  return {pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }), pem_of([&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
          })};
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "turnd-tls-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void write_file(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

io::tls::CertificateFiles write_pair(const TempDir& dir, std::string_view name,
                                     const TestCert& cert) {
  io::tls::CertificateFiles files{dir.path(std::string(name) + ".crt"),
                                  dir.path(std::string(name) + ".key")};
  write_file(files.cert, cert.cert_pem);
  write_file(files.key, cert.key_pem);
  return files;
}

UniqueSslCtx client_context(bool dtls) {
  UniqueSslCtx ctx(SSL_CTX_new(dtls ? DTLS_client_method() : TLS_client_method()));
  check(ctx != nullptr, "client context");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  // Resumption is tested by hand (SSL_set_session), not through a client cache.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  return ctx;
}

std::string peer_cn(const SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return "";
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  return cn;
}

TlsPair::TlsPair(SSL_CTX* server_ctx, SSL_CTX* client_ctx) {
  check(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds_) == 0, "socketpair");
  set_nonblocking(fds_[0]);
  set_nonblocking(fds_[1]);
  client_.reset(SSL_new(client_ctx));
  check(client_ != nullptr && SSL_set_fd(client_.get(), fds_[0]) == 1, "client SSL");
  SSL_set_connect_state(client_.get());
  server_ = std::make_unique<io::tls::TlsStream>(server_ctx, fds_[1]);
}

TlsPair::~TlsPair() {
  // OpenSSL marks the session of an SSL freed without sending close_notify not resumable.
  if (SSL_is_init_finished(client_.get()) == 1) SSL_shutdown(client_.get());
  server_->shutdown();
  ERR_clear_error();
  server_.reset();
  client_.reset();
  ::close(fds_[0]);
  ::close(fds_[1]);
}

TlsPair::Outcome TlsPair::handshake() {
  using Status = io::tls::TlsStream::Status;
  Outcome out;
  bool client_failed = false;
  for (int round = 0; round < kMaxRounds; ++round) {
    if (!out.client_ok && !client_failed) {
      const int ret = SSL_do_handshake(client_.get());
      if (ret == 1) {
        out.client_ok = true;
      } else {
        const int err = SSL_get_error(client_.get(), ret);
        client_failed = err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE;
      }
    }
    if (out.server == Status::WantRead || out.server == Status::WantWrite)
      out.server = server_->handshake();
    const bool server_done =
        out.server == Status::Ok || out.server == Status::Closed || out.server == Status::Failed;
    if (server_done && (out.client_ok || client_failed)) break;
  }
  ERR_clear_error();  // the client's errors: this thread's queue is the server's next
  return out;
}

io::tls::TlsStream::Status TlsPair::server_handshake() {
  using Status = io::tls::TlsStream::Status;
  Status status = Status::WantRead;
  for (int round = 0; round < kMaxRounds && (status == Status::WantRead); ++round)
    status = server_->handshake();
  return status;
}

UniqueSession TlsPair::client_session() {
  std::uint8_t byte = 0;
  (void)SSL_read(client_.get(), &byte, 1);  // takes in the tickets; no data is waiting
  ERR_clear_error();
  return UniqueSession(SSL_get1_session(client_.get()));
}

}  // namespace turnd::server::test
