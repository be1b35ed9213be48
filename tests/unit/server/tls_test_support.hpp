// Helpers of the TLS and DTLS tests: certificates made with the OpenSSL API (EC P-256,
// self-signed, subjectAltName), files in a temporary directory, client contexts, and a TLS
// client pumped against the server's TlsStream over a socketpair in one thread. Real OpenSSL
// on both ends; nothing is mocked.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "server/io/tls/tls_context.hpp"
#include "server/io/tls/tls_stream.hpp"

namespace turnd::server::test {

struct SslDeleter {
  void operator()(SSL* p) const noexcept { SSL_free(p); }
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
  void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
};
using UniqueSsl = std::unique_ptr<SSL, SslDeleter>;
using UniqueSslCtx = std::unique_ptr<SSL_CTX, SslDeleter>;
using UniqueSession = std::unique_ptr<SSL_SESSION, SslDeleter>;

/// A self-signed leaf: CN and subjectAltName DNS:`cn`, valid from now + not_before to
/// now + not_after (both negative: expired).
struct CertSpec {
  std::string cn = "a.example";
  std::chrono::seconds not_before = -std::chrono::hours(1);
  std::chrono::seconds not_after = std::chrono::hours(24);
};
struct TestCert {
  std::string cert_pem, key_pem;  // the key: a fresh EC P-256 key, PKCS#8
};
/// Throws std::runtime_error when OpenSSL fails.
TestCert make_cert(const CertSpec& spec = {});

/// A directory under the system's temporary one, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(std::string_view name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

/// Writes `text` to `path` through a temporary file and a rename (as an ACME client does).
void write_file(const std::string& path, std::string_view text);
/// Writes `cert` as `name`.crt and `name`.key in `dir`.
io::tls::CertificateFiles write_pair(const TempDir& dir, std::string_view name,
                                     const TestCert& cert);

/// A client context that trusts anything (certificates are checked by name in the tests).
UniqueSslCtx client_context(bool dtls = false);
/// The CN of the certificate the server presented, "" for none.
std::string peer_cn(const SSL* ssl);

/// A client SSL on one end of a non-blocking socketpair and the server's TlsStream on the
/// other, driven in turn in this thread. The client's options are set before handshake().
class TlsPair {
 public:
  explicit TlsPair(SSL_CTX* server_ctx, SSL_CTX* client_ctx);
  ~TlsPair();
  TlsPair(const TlsPair&) = delete;
  TlsPair& operator=(const TlsPair&) = delete;

  SSL* client() const noexcept { return client_.get(); }
  io::tls::TlsStream& server() noexcept { return *server_; }
  int client_fd() const noexcept { return fds_[0]; }

  struct Outcome {
    bool client_ok = false;
    io::tls::TlsStream::Status server = io::tls::TlsStream::Status::WantRead;
  };
  /// Both handshakes until each is done or failed (a bounded number of rounds).
  Outcome handshake();
  /// Drives only the server: for clients that are not OpenSSL (bytes written to client_fd()).
  io::tls::TlsStream::Status server_handshake();
  /// After a handshake: lets the client read what the server sent (TLS 1.3 session tickets)
  /// and returns the session it can resume, null for none.
  UniqueSession client_session();

 private:
  int fds_[2] = {-1, -1};  // [0] client, [1] server
  UniqueSsl client_;
  std::unique_ptr<io::tls::TlsStream> server_;
};

}  // namespace turnd::server::test
