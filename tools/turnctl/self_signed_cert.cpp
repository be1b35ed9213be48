#include "tools/turnctl/self_signed_cert.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>

#include "tools/turnctl/openssl_ptr.hpp"

namespace turnd::turnctl {

namespace {

using Pkey = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using Cert = OpensslPtr<X509, X509_free>;
using Ext = OpensslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using Names = OpensslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using Bignum = OpensslPtr<BIGNUM, BN_free>;
using Bio = OpensslPtr<BIO, BIO_free>;

// X.520's upper bound for a commonName; a longer first host goes into the SAN only.
constexpr std::size_t kMaxCommonName = 64;

/// Throws std::runtime_error: "WHAT: <OpenSSL's error queue>".
[[noreturn]] void fail_openssl(const std::string& what) {
  std::string detail;
  while (const unsigned long e = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(e, text.data(), text.size());
    detail += (detail.empty() ? "" : "; ") + std::string(text.data());
  }
  throw std::runtime_error(what + ": " + (detail.empty() ? "OpenSSL failed" : detail));
}

void check(int ok, const char* what) {
  if (ok <= 0) fail_openssl(what);
}

// The host as it may be shown on a terminal: control characters and non-ASCII as \xHH.
std::string printable(std::string_view host) {
  std::string out;
  for (const unsigned char ch : host) {
    if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
      out += static_cast<char>(ch);
      continue;
    }
    std::array<char, 5> hex{};
    std::snprintf(hex.data(), hex.size(), "\\x%02x", ch);
    out += hex.data();
  }
  return out;
}

[[noreturn]] void bad_host(std::string_view host, const std::string& why) {
  throw BadCertRequest("host \"" + printable(host) + "\": " + why);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// RFC 1123 labels: letters, digits and '-', 1-63 characters, no '-' at either end. A '*' is
// allowed as the whole first label of a name with two more labels (a wildcard certificate).
std::string check_dns_label(std::string_view label, bool first, std::size_t labels) {
  if (label.empty()) return "an empty label (two dots, or a dot at either end)";
  if (label == "*")
    return first && labels >= 3 ? "" : "'*' only as the first label of a name like *.example.org";
  if (label.size() > 63) return "a label longer than 63 characters";
  if (label.front() == '-' || label.back() == '-') return "a label that starts or ends with '-'";
  for (const char ch : label)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-')
      return std::string("'") + ch + "' is not allowed in a DNS name";
  return "";
}

std::string check_dns_name(std::string_view name) {
  if (name.size() > 253) return "a DNS name is at most 253 characters";
  std::vector<std::string_view> labels;
  for (std::size_t start = 0;;) {
    const auto dot = name.find('.', start);
    labels.push_back(name.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (auto why = check_dns_label(labels[i], i == 0, labels.size()); !why.empty()) return why;
  // An all-digit last label is no top-level domain: "10.0.0.256" or "1.2.3" is a mistyped IP.
  if (std::all_of(labels.back().begin(), labels.back().end(),
                  [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }))
    return "not an IP address, and not a DNS name (its last label is a number)";
  return "";
}

/// An IPv4 or IPv6 address (brackets already removed), or nullopt.
std::optional<CertHost> parse_ip(const std::string& text) {
  for (const int family : {AF_INET, AF_INET6}) {
    std::array<unsigned char, 16> bytes{};
    if (::inet_pton(family, text.c_str(), bytes.data()) != 1) continue;
    const std::size_t size = family == AF_INET ? 4 : 16;
    std::array<char, INET6_ADDRSTRLEN> canonical{};
    ::inet_ntop(family, bytes.data(), canonical.data(), canonical.size());
    return CertHost{CertHost::Kind::Ip, canonical.data(),
                    std::string(reinterpret_cast<const char*>(bytes.data()), size)};
  }
  return std::nullopt;
}

Pkey make_key(KeyType type) {
  EVP_PKEY* key = type == KeyType::Rsa
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048})
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr)
    fail_openssl(std::string("generating a ") + std::string(to_string(type)) + " key");
  return Pkey{key};
}

// 128 random bits, positive (RFC 5280 4.1.2.2: a positive integer of at most 20 octets).
void set_random_serial(X509* cert) {
  std::array<unsigned char, 16> bytes{};
  check(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())), "random serial");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x01);  // not negative, not zero
  Bignum bn{BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr)};
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr)
    fail_openssl("serial number");
}

void set_subject_and_issuer(X509* cert, const CertHost& first) {
  const std::string cn = first.text.size() <= kMaxCommonName ? first.text : "turnd self-signed";
  X509_NAME* name = X509_get_subject_name(cert);
  check(X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0),
        "subject name");
  check(X509_set_issuer_name(cert, name), "issuer name");
}

void add_ext(X509* cert, Ext ext, const char* what) {
  if (!ext) fail_openssl(what);
  check(X509_add_ext(cert, ext.get(), -1), what);
}

// Built from GENERAL_NAME values rather than a "DNS:a,IP:b" config string, so no host text is
// ever parsed as config syntax.
void add_subject_alt_names(X509* cert, const std::vector<CertHost>& hosts) {
  Names names{sk_GENERAL_NAME_new_null()};
  if (!names) fail_openssl("subjectAltName");
  for (const auto& h : hosts) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_STRING* value =
        ASN1_STRING_type_new(h.kind == CertHost::Kind::Ip ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
    const std::string& data = h.kind == CertHost::Kind::Ip ? h.bytes : h.text;
    if (gn == nullptr || value == nullptr ||
        ASN1_STRING_set(value, data.data(), static_cast<int>(data.size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_STRING_free(value);
      fail_openssl("subjectAltName");
    }
    GENERAL_NAME_set0_value(gn, h.kind == CertHost::Kind::Ip ? GEN_IPADD : GEN_DNS, value);
    if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      fail_openssl("subjectAltName");
    }
  }
  add_ext(cert, Ext{X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get())}, "subjectAltName");
}

void add_extensions(X509* cert, KeyType type) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  // RFC 5480 3: an EC key signs (ECDHE); keyEncipherment is for RSA key transport only.
  const char* key_usage = type == KeyType::Rsa ? "critical,digitalSignature,keyEncipherment"
                                               : "critical,digitalSignature";
  const std::pair<int, const char*> exts[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, key_usage},
      {NID_ext_key_usage, "serverAuth"},
      {NID_subject_key_identifier, "hash"},  // before the authority one, which copies it
      {NID_authority_key_identifier, "keyid:always"},
  };
  for (const auto& [nid, value] : exts)
    add_ext(cert, Ext{X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value)}, OBJ_nid2sn(nid));
}

// `method`: BIO_s_secmem() for the key, whose buffer is then cleansed when freed.
template <class Write>
std::string to_pem(const BIO_METHOD* method, Write write, const char* what) {
  Bio bio{BIO_new(method)};
  if (!bio) fail_openssl(what);
  check(write(bio.get()), what);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::vector<CertHost> parse_hosts(const std::vector<std::string>& hosts) {
  if (hosts.empty())
    throw BadCertRequest("at least one host is needed, e.g. --host turn.example.org");
  std::vector<CertHost> out;
  for (const auto& h : hosts) {
    auto parsed = parse_cert_host(h);
    if (std::none_of(out.begin(), out.end(), [&](const CertHost& o) {
          return o.kind == parsed.kind && o.text == parsed.text;
        }))
      out.push_back(std::move(parsed));
  }
  return out;
}

}  // namespace

CertHost parse_cert_host(std::string_view host) {
  if (host.empty()) bad_host(host, "empty");
  for (const unsigned char ch : host)  // also before inet_pton, which would stop at a NUL
    if (ch <= 0x20 || ch == 0x7f) bad_host(host, "a space or control character");
  const bool bracketed = host.size() > 2 && host.front() == '[' && host.back() == ']';
  const std::string bare(bracketed ? host.substr(1, host.size() - 2) : host);
  if (auto ip = parse_ip(bare)) {
    if (bracketed && ip->bytes.size() == 4) bad_host(host, "brackets are for IPv6 addresses");
    return *ip;
  }
  if (bracketed || bare.find(':') != std::string::npos)
    bad_host(host, "not an IP address (an IPv6 zone such as %eth0 has no place in a certificate)");
  const std::string name = lower(bare);
  if (auto why = check_dns_name(name); !why.empty()) bad_host(host, why);
  return CertHost{CertHost::Kind::Dns, name, {}};
}

std::string_view to_string(KeyType type) noexcept {
  return type == KeyType::Rsa ? "RSA 2048" : "EC P-256";
}

SelfSignedCert make_self_signed_cert(const CertRequest& request, std::chrono::sys_seconds now) {
  if (request.days < 1 || request.days > kMaxCertDays)
    throw BadCertRequest("a validity of " + std::to_string(request.days) +
                         " days is not within 1-" + std::to_string(kMaxCertDays));
  SelfSignedCert out;
  out.hosts = parse_hosts(request.hosts);
  out.not_before = now - std::chrono::hours{1};
  out.not_after = now + std::chrono::days{request.days};

  const Pkey key = make_key(request.key_type);
  const Cert cert{X509_new()};
  if (!cert) fail_openssl("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "version");
  set_random_serial(cert.get());
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), out.not_before.time_since_epoch().count()) ==
          nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), out.not_after.time_since_epoch().count()) ==
          nullptr)
    fail_openssl("validity");
  set_subject_and_issuer(cert.get(), out.hosts.front());
  check(X509_set_pubkey(cert.get(), key.get()), "public key");
  add_subject_alt_names(cert.get(), out.hosts);
  add_extensions(cert.get(), request.key_type);
  check(X509_sign(cert.get(), key.get(), EVP_sha256()), "signing the certificate");

  out.cert_pem = to_pem(
      BIO_s_mem(), [&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }, "certificate PEM");
  out.key_pem = to_pem(
      BIO_s_secmem(),
      [&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
      },
      "private key PEM");
  return out;
}

}  // namespace turnd::turnctl
