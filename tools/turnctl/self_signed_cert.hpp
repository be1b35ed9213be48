// A self-signed TLS server certificate and its key, made in memory with the OpenSSL 3 API:
// what `turnctl cert self-signed` writes for a test TLS/DTLS listener. One X509 v3 leaf
// (CA:FALSE) that is its own issuer; no browser trusts it on its own, a client must be told to:
// OpenSSL with -CAfile cert.pem, Chromium and NSS with a trusted-peer entry (certutil -A -t
// "P,,"). NSS's trusted-CA flag ("C,,") does not work for it: NSS refuses an issuer that is not
// a CA, and Chromium 156 then fails with ERR_CERT_INVALID (checked by hand). It stays a leaf
// anyway: Firefox refuses a CA certificate as a server's own
// (MOZILLA_PKIX_ERROR_CA_CERT_USED_AS_END_ENTITY).
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace turnd::turnctl {

/// The request itself is wrong (no host, a host that is neither a DNS name nor an IP address,
/// a validity out of range): the caller's mistake, a usage error.
struct BadCertRequest : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// One subjectAltName entry.
struct CertHost {
  enum class Kind { Dns, Ip };
  Kind kind;
  std::string text;   ///< the name in lower case, or the address without brackets ("::1")
  std::string bytes;  ///< Ip: the 4 or 16 address bytes (network order); Dns: empty
};

/// "turn.example.org", "*.example.org" (a wildcard as the first label only), "127.0.0.1",
/// "::1" or "[::1]". Throws BadCertRequest naming the host and what is wrong with it.
CertHost parse_cert_host(std::string_view host);

enum class KeyType { Ec, Rsa };                     ///< EC P-256 (the default) or RSA 2048
std::string_view to_string(KeyType type) noexcept;  ///< "EC P-256", "RSA 2048"

inline constexpr int kMaxCertDays = 3650;

struct CertRequest {
  std::vector<std::string> hosts;  ///< at least one; the first is also the subject's CN
  int days = 90;                   ///< 1..kMaxCertDays
  KeyType key_type = KeyType::Ec;
};

struct SelfSignedCert {
  std::string cert_pem;         ///< "-----BEGIN CERTIFICATE-----..."
  std::string key_pem;          ///< PKCS#8, unencrypted: "-----BEGIN PRIVATE KEY-----..."
  std::vector<CertHost> hosts;  ///< the subjectAltName entries, duplicates dropped
  std::chrono::sys_seconds not_before, not_after;
};

/// A fresh key and a certificate for `request.hosts`: subjectAltName DNS: and IP: entries, CN =
/// the first host (when it fits the 64 characters a CN may hold), a random 128-bit serial,
/// valid from `now` - 1 h (clocks that lag a little) to `now` + days, basicConstraints CA:FALSE,
/// keyUsage digitalSignature (and keyEncipherment for RSA), extendedKeyUsage serverAuth,
/// subject and authority key identifiers, signed with SHA-256.
/// Throws BadCertRequest, or std::runtime_error when OpenSSL fails.
SelfSignedCert make_self_signed_cert(
    const CertRequest& request,
    std::chrono::sys_seconds now =
        std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));

}  // namespace turnd::turnctl
