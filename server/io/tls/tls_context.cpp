#include "server/io/tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "server/io/socket_address.hpp"

namespace turnd::server::io::tls {
namespace {

// Mozilla's "intermediate" configuration (server side TLS, version 5.7): TLS 1.2 with these
// ECDHE/DHE AEAD suites, TLS 1.3 with OpenSSL's default suites (all three AEADs).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";
constexpr unsigned char kSessionIdContext[] = "turnd";
// Session ticket keys: name (16), HMAC secret (32), AES key (32).
constexpr std::size_t kTicketKeysSize = 80;

// The ALPN list in wire format: stun.turn first, the protocol turnd is mostly used for.
constexpr unsigned char kAlpnWire[] = "\x09stun.turn\x12stun.nat-discovery";

std::string openssl_reason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

[[noreturn]] void fail(const std::string& what, const std::string& file, const std::string& why) {
  throw TlsError(what + " " + file + ": " + why);
}

// fopen first so a missing or unreadable file gets errno's words, not OpenSSL's.
void require_readable(const std::string& what, const std::string& file) {
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) fail(what, file, std::strerror(errno));
  std::fclose(f);
}

std::string utc_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return text;
}

std::chrono::system_clock::time_point time_point_of(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string subject_cn(X509* leaf) {
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
  return cn[0] != '\0' ? std::string("CN=") + cn : std::string("(no CN)");
}

// RFC 7443: the server picks stun.turn or stun.nat-discovery when the client offers one. A
// client that offers others only (a browser's h2) is served without ALPN, like one that
// offers none: the STUN bytes that follow tell what it wants.
int on_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
            unsigned in_len, void*) {
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_len, kAlpnWire, sizeof kAlpnWire - 1, in, in_len) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// --- DTLS cookies: HMAC-SHA256 of the client's address and port under a key made at start.
// Stateless: a spoofed ClientHello costs one HelloVerifyRequest and no memory.
int cookie_peer_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

const std::array<unsigned char, 32>& cookie_key() {
  static const auto key = [] {
    std::array<unsigned char, 32> k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) throw TlsError("no randomness");
    return k;
  }();
  return key;
}

bool compute_cookie(SSL* ssl, unsigned char* out, unsigned* out_len) {
  const auto* peer =
      static_cast<const protocol::TransportAddress*>(SSL_get_ex_data(ssl, cookie_peer_index()));
  if (peer == nullptr) return false;
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(*peer, ss);
  const auto& key = cookie_key();
  return HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(&ss), len, out, out_len) != nullptr;
}

int on_cookie_generate(SSL* ssl, unsigned char* cookie, unsigned* len) {
  return compute_cookie(ssl, cookie, len) ? 1 : 0;
}

int on_cookie_verify(SSL* ssl, const unsigned char* cookie, unsigned len) {
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned expected_len = 0;
  if (!compute_cookie(ssl, expected, &expected_len)) return 0;
  return len == expected_len && CRYPTO_memcmp(cookie, expected, len) == 0 ? 1 : 0;
}

// Settings both transports share.
void configure_common(SSL_CTX* ctx, bool dtls) {
  SSL_CTX_set_min_proto_version(ctx, dtls ? DTLS1_2_VERSION : TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set1_groups_list(ctx, kGroups) != 1)
    throw TlsError("TLS cipher set-up failed: " + openssl_reason());
  SSL_CTX_set_dh_auto(ctx, 1);  // DHE-RSA suites of the intermediate list
  // Renegotiation costs the server a full handshake on the client's say: refused. The
  // client's cipher order wins (Mozilla intermediate: all suites listed are strong).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Buffers are freed while a connection is idle: an idle TLS client costs its SSL only.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn, nullptr);
  // Resumption by stateless tickets only: no server-side cache a client could fill.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // TLS over TCP: read what the socket holds into OpenSSL's record buffer at once, not a
  // 5-byte header and then the record (two read(2) per record, three per message with the
  // socket wait). Measured on a TLS relay flood: 1.65x messages per CPU-second, loss 30 % ->
  // 1.2 % (tests/bench/results/2026-12-03-5d9a749-tls). The read loop (TcpConnection) reads
  // until OpenSSL wants the socket again, so nothing read ahead is left waiting. DTLS reads
  // whole datagrams anyway.
  if (!dtls) SSL_CTX_set_read_ahead(ctx, 1);
  if (dtls) {
    SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
    SSL_CTX_set_cookie_generate_cb(ctx, on_cookie_generate);
    SSL_CTX_set_cookie_verify_cb(ctx, on_cookie_verify);
  }
}

SSL_CTX* new_context(bool dtls) {
  SSL_CTX* ctx = SSL_CTX_new(dtls ? DTLS_server_method() : TLS_server_method());
  if (ctx == nullptr) throw TlsError("cannot create a TLS context: " + openssl_reason());
  try {
    configure_common(ctx, dtls);
  } catch (...) {
    SSL_CTX_free(ctx);
    throw;
  }
  return ctx;
}

void load_pair(SSL_CTX* ctx, const CertificateFiles& files) {
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1)
    fail("tls.cert", files.cert, "not a PEM certificate chain (" + openssl_reason() + ")");
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      fail("tls.key", files.key, "does not match the certificate in " + files.cert);
    }
    fail("tls.key", files.key, "not a PEM private key (" + openssl_reason() + ")");
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    fail("tls.key", files.key, "does not match the certificate in " + files.cert);
}

}  // namespace

std::shared_ptr<const TlsContexts> TlsContexts::load(const TlsFiles& files,
                                                     const TlsContexts* previous) {
  std::shared_ptr<TlsContexts> set(new TlsContexts());
  std::vector<CertificateFiles> all{files.main};
  all.insert(all.end(), files.by_sni.begin(), files.by_sni.end());
  std::string names;
  for (const auto& pair : all) {
    require_readable("tls.cert", pair.cert);
    require_readable("tls.key", pair.key);
    Chain chain;
    set->chains_.push_back(chain);
    Chain& c = set->chains_.back();
    c.tls = new_context(false);
    c.dtls = new_context(true);
    load_pair(c.tls, pair);
    load_pair(c.dtls, pair);
    c.leaf = SSL_CTX_get0_certificate(c.tls);
    X509_up_ref(c.leaf);
    if (X509_cmp_current_time(X509_get0_notAfter(c.leaf)) <= 0)
      fail("tls.cert", pair.cert,
           "the certificate expired on " + utc_text(X509_get0_notAfter(c.leaf)));
    const auto expiry = time_point_of(X509_get0_notAfter(c.leaf));
    if (set->not_after_ == decltype(set->not_after_){} || expiry < set->not_after_)
      set->not_after_ = expiry;
    if (names.empty()) {
      names = subject_cn(c.leaf);
      set->summary_ = names + ", valid until " + utc_text(X509_get0_notAfter(c.leaf));
    }
  }
  if (set->chains_.size() > 1)
    set->summary_ += ", and " + std::to_string(set->chains_.size() - 1) + " chain(s) chosen by SNI";
  // SNI and ticket keys live on the contexts a handshake starts with (the main chain's).
  for (SSL_CTX* ctx : {set->tls(), set->dtls()}) {
    SSL_CTX_set_tlsext_servername_callback(ctx, on_server_name);
    SSL_CTX_set_tlsext_servername_arg(ctx, set.get());
  }
  std::array<unsigned char, kTicketKeysSize> keys{};
  // Ticket keys live at most a day (forward secrecy of resumed sessions): a reload after that
  // starts with fresh ones, and clients make one full handshake.
  set->ticket_keys_since_ = std::chrono::steady_clock::now();
  if (previous != nullptr &&
      set->ticket_keys_since_ - previous->ticket_keys_since_ < kTicketKeyLife) {
    set->ticket_keys_since_ = previous->ticket_keys_since_;
    if (SSL_CTX_get_tlsext_ticket_keys(previous->tls(), keys.data(), keys.size()) == 1)
      SSL_CTX_set_tlsext_ticket_keys(set->tls(), keys.data(), keys.size());
    if (SSL_CTX_get_tlsext_ticket_keys(previous->dtls(), keys.data(), keys.size()) == 1)
      SSL_CTX_set_tlsext_ticket_keys(set->dtls(), keys.data(), keys.size());
    OPENSSL_cleanse(keys.data(), keys.size());
  }
  return set;
}

TlsContexts::~TlsContexts() {
  for (auto& c : chains_) {
    SSL_CTX_free(c.tls);
    SSL_CTX_free(c.dtls);
    X509_free(c.leaf);
  }
}

int TlsContexts::on_server_name(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const TlsContexts*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr || self->chains_.size() < 2) return SSL_TLSEXT_ERR_OK;
  const bool dtls = SSL_is_dtls(ssl) == 1;
  for (std::size_t i = 1; i < self->chains_.size(); ++i) {
    const Chain& c = self->chains_[i];
    if (X509_check_host(c.leaf, name, 0, 0, nullptr) == 1) {
      SSL_set_SSL_CTX(ssl, dtls ? c.dtls : c.tls);
      break;
    }
  }
  return SSL_TLSEXT_ERR_OK;  // no match: the main chain, as without SNI
}

void set_cookie_peer(SSL* ssl, const protocol::TransportAddress* peer) noexcept {
  SSL_set_ex_data(ssl, cookie_peer_index(), const_cast<protocol::TransportAddress*>(peer));
}

std::string_view selected_alpn(const SSL* ssl) noexcept {
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl, &data, &len);
  return data == nullptr ? std::string_view{}
                         : std::string_view(reinterpret_cast<const char*>(data), len);
}

}  // namespace turnd::server::io::tls
