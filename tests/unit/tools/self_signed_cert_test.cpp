// turnctl cert self-signed's certificate (tools/turnctl/self_signed_cert.hpp), read back with
// OpenSSL: its names, validity, extensions and key, and the hosts it refuses.
#include "tools/turnctl/self_signed_cert.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <ctime>
#include <string>
#include <vector>

#include "tools/turnctl/openssl_ptr.hpp"

namespace turnd::turnctl {
namespace {

using namespace std::chrono_literals;

using Cert = OpensslPtr<X509, X509_free>;
using Pkey = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using Bio = OpensslPtr<BIO, BIO_free>;
using Store = OpensslPtr<X509_STORE, X509_STORE_free>;
using StoreCtx = OpensslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

// A fixed clock for the validity checks: 2026-12-03 08:00:00Z.
constexpr std::chrono::sys_seconds kNow{std::chrono::seconds{1796284800}};

Cert read_cert(const std::string& pem) {
  Bio bio{BIO_new_mem_buf(pem.data(), int(pem.size()))};
  return Cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)};
}

Pkey read_key(const std::string& pem) {
  Bio bio{BIO_new_mem_buf(pem.data(), int(pem.size()))};
  return Pkey{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
}

/// The subjectAltName entries as "DNS:name" / "IP:<n bytes>".
std::vector<std::string> alt_names(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type == GEN_DNS)
      out.push_back("DNS:" +
                    std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.dNSName)),
                                ASN1_STRING_length(gn->d.dNSName)));
    else if (gn->type == GEN_IPADD)
      out.push_back("IP:" + std::to_string(ASN1_STRING_length(gn->d.iPAddress)) + " bytes");
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::string common_name(X509* cert) {
  std::array<char, 128> cn{};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn.data(), int(cn.size()));
  return cn.data();
}

std::time_t to_time(const ASN1_TIME* t) {
  std::tm tm{};
  EXPECT_EQ(ASN1_TIME_to_tm(t, &tm), 1);
  return ::timegm(&tm);
}

/// The result of OpenSSL's chain check with `cert` as its own trust anchor, as a TLS server
/// cert for `host` (an IP address or a DNS name) at `when`.
int verify_as_own_anchor(X509* cert, const std::string& host, std::time_t when) {
  Store store{X509_STORE_new()};
  X509_STORE_add_cert(store.get(), cert);
  StoreCtx ctx{X509_STORE_CTX_new()};
  X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_STORE_CTX_set_time(ctx.get(), 0, when);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (host.find_first_not_of("0123456789.:") == std::string::npos)
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  else
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  return X509_verify_cert(ctx.get()) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
}

TEST(SelfSignedCert, NamesValidityExtensionsAndKeyOfEc) {
  const auto made = make_self_signed_cert(
      {{"turn.example.org", "127.0.0.1", "::1", "*.example.net"}, 30, KeyType::Ec}, kNow);
  const Cert cert = read_cert(made.cert_pem);
  const Pkey key = read_key(made.key_pem);
  ASSERT_TRUE(cert && key) << made.cert_pem << made.key_pem;
  EXPECT_TRUE(made.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));  // PKCS#8

  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_EC);
  std::array<char, 64> group{};
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group.data(), group.size(), nullptr), 1);
  EXPECT_STREQ(group.data(), "prime256v1");
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);

  EXPECT_EQ(alt_names(cert.get()), (std::vector<std::string>{"DNS:turn.example.org", "IP:4 bytes",
                                                             "IP:16 bytes", "DNS:*.example.net"}));
  EXPECT_EQ(X509_check_host(cert.get(), "turn.example.org", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "a.example.net", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "example.org", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.2", 0), 0);
  EXPECT_EQ(common_name(cert.get()), "turn.example.org");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);

  const auto now = kNow.time_since_epoch().count();
  EXPECT_EQ(to_time(X509_get0_notBefore(cert.get())), now - 3600);
  EXPECT_EQ(to_time(X509_get0_notAfter(cert.get())), now + 30 * 86400);
  EXPECT_EQ(made.not_before, kNow - 1h);
  EXPECT_EQ(made.not_after, kNow + std::chrono::days{30});

  EXPECT_EQ(X509_check_ca(cert.get()), 0);  // CA:FALSE
  const uint32_t usage = X509_get_key_usage(cert.get());
  EXPECT_TRUE(usage & KU_DIGITAL_SIGNATURE);
  EXPECT_FALSE(usage & (KU_KEY_ENCIPHERMENT | KU_KEY_CERT_SIGN));  // RFC 5480: not for EC
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), uint32_t{XKU_SSL_SERVER});
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_subject_key_id(cert.get()),
                                  X509_get0_authority_key_id(cert.get())),
            0);
}

// Its own trust anchor (what `openssl verify -CAfile cert.pem cert.pem` and a client told to
// trust it do): valid within its dates for its names, not outside them or for other names.
TEST(SelfSignedCert, VerifiesAsItsOwnAnchor) {
  const auto made = make_self_signed_cert({{"127.0.0.1", "turn.example.org"}, 2, KeyType::Ec});
  const Cert cert = read_cert(made.cert_pem);
  const std::time_t now = std::time(nullptr);
  EXPECT_EQ(verify_as_own_anchor(cert.get(), "127.0.0.1", now), X509_V_OK);
  EXPECT_EQ(verify_as_own_anchor(cert.get(), "turn.example.org", now + 86400), X509_V_OK);
  EXPECT_EQ(verify_as_own_anchor(cert.get(), "turn.example.org", now - 1800), X509_V_OK);
  EXPECT_EQ(verify_as_own_anchor(cert.get(), "127.0.0.1", now + 3 * 86400),
            X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ(verify_as_own_anchor(cert.get(), "127.0.0.1", now - 7200),
            X509_V_ERR_CERT_NOT_YET_VALID);
  EXPECT_EQ(verify_as_own_anchor(cert.get(), "10.0.0.1", now), X509_V_ERR_IP_ADDRESS_MISMATCH);
  EXPECT_EQ(verify_as_own_anchor(cert.get(), "other.example.org", now),
            X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST(SelfSignedCert, Rsa2048) {
  const auto made = make_self_signed_cert({{"turn.example.org"}, 1, KeyType::Rsa}, kNow);
  const Cert cert = read_cert(made.cert_pem);
  const Pkey key = read_key(made.key_pem);
  ASSERT_TRUE(cert && key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(key.get()), 2048);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_sha256WithRSAEncryption);
  EXPECT_EQ(X509_get_key_usage(cert.get()), uint32_t{KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT});
}

// 128 random bits, positive: two certificates never share a serial (NSS refuses a second
// certificate with the issuer and serial of one it knows).
TEST(SelfSignedCert, RandomPositiveSerial) {
  const Cert a = read_cert(make_self_signed_cert({{"a.example"}}).cert_pem);
  const Cert b = read_cert(make_self_signed_cert({{"a.example"}}).cert_pem);
  const ASN1_INTEGER* sa = X509_get0_serialNumber(a.get());
  EXPECT_NE(ASN1_INTEGER_cmp(sa, X509_get0_serialNumber(b.get())), 0);
  EXPECT_EQ(ASN1_STRING_type(sa), V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER
  EXPECT_EQ(ASN1_STRING_length(sa), 16);
}

// Hosts are lower-cased and IPs canonical, so a host given twice is listed once.
TEST(SelfSignedCert, DuplicateHostsDropped) {
  const auto made =
      make_self_signed_cert({{"Turn.Example.org", "turn.example.org", "0:0::1", "[::1]"}});
  ASSERT_EQ(made.hosts.size(), 2u);
  EXPECT_EQ(made.hosts[0].text, "turn.example.org");
  EXPECT_EQ(made.hosts[1].text, "::1");
}

// A first host too long for a CN (64 characters) is still in the subjectAltName.
TEST(SelfSignedCert, LongFirstHostOnlyInAltName) {
  const std::string host = std::string(60, 'a') + ".example.org";
  const auto made = make_self_signed_cert({{host}});
  const Cert cert = read_cert(made.cert_pem);
  EXPECT_EQ(common_name(cert.get()), "turnd self-signed");
  EXPECT_EQ(X509_check_host(cert.get(), host.c_str(), 0, 0, nullptr), 1);
}

TEST(SelfSignedCert, BadRequests) {
  EXPECT_THROW(make_self_signed_cert({{}}), BadCertRequest);
  EXPECT_THROW(make_self_signed_cert({{"a.example"}, 0}), BadCertRequest);
  EXPECT_THROW(make_self_signed_cert({{"a.example"}, kMaxCertDays + 1}), BadCertRequest);
  EXPECT_NO_THROW(make_self_signed_cert({{"a.example"}, kMaxCertDays}));
  EXPECT_THROW(make_self_signed_cert({{"a.example", "a_b"}}), BadCertRequest);
}

struct HostCase {
  std::string_view host;
  bool ok;
  CertHost::Kind kind = CertHost::Kind::Dns;
  std::string_view text = {};  // the SAN text when ok
};

TEST(SelfSignedCert, ParseHost) {
  using K = CertHost::Kind;
  const HostCase cases[] = {
      {"turn.example.org", true, K::Dns, "turn.example.org"},
      {"TURN.Example.ORG", true, K::Dns, "turn.example.org"},
      {"localhost", true, K::Dns, "localhost"},
      {"xn--bcher-kva.example", true, K::Dns, "xn--bcher-kva.example"},
      {"*.example.org", true, K::Dns, "*.example.org"},
      {"127.0.0.1", true, K::Ip, "127.0.0.1"},
      {"::1", true, K::Ip, "::1"},
      {"[2001:DB8:0::7]", true, K::Ip, "2001:db8::7"},
      {"", false},
      {"a_b.example", false},
      {"a b", false},
      {"-a.example", false},
      {"a-.example", false},
      {"a..example", false},
      {".example", false},
      {"example.", false},
      {"*.org", false},
      {"a.*.example", false},
      {"*a.example", false},
      {"1.2.3", false},
      {"256.1.1.1", false},
      {"[127.0.0.1]", false},
      {"[::1", false},
      {"fe80::1%eth0", false},
      {"a.example\n", false},
      {"a,DNS:b.example", false},
      {std::string_view("a\0b", 3), false},
      {std::string_view("127.0.0.1\0x", 11), false},
  };
  for (const auto& c : cases) {
    if (!c.ok) {
      EXPECT_THROW(parse_cert_host(c.host), BadCertRequest) << c.host;
      continue;
    }
    const auto h = parse_cert_host(c.host);
    EXPECT_EQ(h.kind, c.kind) << c.host;
    EXPECT_EQ(h.text, c.text) << c.host;
    EXPECT_EQ(h.bytes.size(), c.kind == K::Dns                  ? 0u
                              : c.text.find(':') == c.text.npos ? 4u
                                                                : 16u)
        << c.host;
  }
  const std::string label63(63, 'a'), label64(64, 'a');
  EXPECT_NO_THROW(parse_cert_host(label63 + ".example"));
  EXPECT_THROW(parse_cert_host(label64 + ".example"), BadCertRequest);
  std::string name253;
  while (name253.size() < 250) name253 += label63.substr(0, 49) + ".";
  name253 += std::string(253 - name253.size(), 'b');
  EXPECT_NO_THROW(parse_cert_host(name253)) << name253.size();
  EXPECT_THROW(parse_cert_host(name253 + "b"), BadCertRequest);
  try {
    parse_cert_host("a_b.example");
    ADD_FAILURE();
  } catch (const BadCertRequest& e) {
    EXPECT_STREQ(e.what(), "host \"a_b.example\": '_' is not allowed in a DNS name");
  }
  try {  // a terminal is not fed the control characters of a host
    parse_cert_host("a\x1b[2J");
    ADD_FAILURE();
  } catch (const BadCertRequest& e) {
    EXPECT_STREQ(e.what(), "host \"a\\x1b[2J\": a space or control character");
  }
}

}  // namespace
}  // namespace turnd::turnctl
