// The server's TLS (TCP) and DTLS (UDP) contexts for one set of certificates: TLS 1.2 and 1.3
// (DTLS 1.2) with Mozilla's "intermediate" ciphers, ALPN stun.turn / stun.nat-discovery
// (RFC 7443), SNI among several chains, session tickets, and the DTLS cookie exchange.
// A loaded set is immutable and shared by every shard; a reload builds a new one and
// TlsContextStore swaps it in. Each SSL holds a reference to its SSL_CTX, so connections made
// with the old set go on untouched.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocol/transport_address.hpp"

namespace turnd::server::io::tls {

struct CertificateFiles {
  std::string cert;  ///< PEM chain, leaf first
  std::string key;   ///< PEM private key of the leaf
  friend bool operator==(const CertificateFiles&, const CertificateFiles&) = default;
};

struct TlsFiles {
  CertificateFiles main;                 ///< served when no SNI name matches another chain
  std::vector<CertificateFiles> by_sni;  ///< each served to clients whose SNI it is valid for
  friend bool operator==(const TlsFiles&, const TlsFiles&) = default;
};

/// A file that cannot be used: what() names the file and what is wrong with it.
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The ALPN protocol names of RFC 7443 that turnd accepts.
inline constexpr std::string_view kAlpnTurn = "stun.turn";
inline constexpr std::string_view kAlpnNatDiscovery = "stun.nat-discovery";

class TlsContexts {
 public:
  /// Reads and checks every file (readable PEM, key matching its chain, certificate valid
  /// now) and builds the contexts. `previous` (a set being replaced) hands over its session
  /// ticket keys, so the tickets clients hold stay good across a reload, unless they are a day
  /// old. Throws TlsError.
  static std::shared_ptr<const TlsContexts> load(const TlsFiles& files,
                                                 const TlsContexts* previous = nullptr);
  ~TlsContexts();
  TlsContexts(const TlsContexts&) = delete;
  TlsContexts& operator=(const TlsContexts&) = delete;

  SSL_CTX* tls() const noexcept { return chains_.front().tls; }
  SSL_CTX* dtls() const noexcept { return chains_.front().dtls; }
  /// "CN=turn.example.org (+2 by SNI), valid until 2027-03-01 12:00:00 UTC": for the log.
  const std::string& summary() const noexcept { return summary_; }
  /// When the session ticket keys were made (they are carried over by reloads for a day).
  std::chrono::steady_clock::time_point ticket_keys_since() const noexcept {
    return ticket_keys_since_;
  }
  static constexpr std::chrono::hours kTicketKeyLife{24};
  /// The earliest expiry of all chains.
  std::chrono::system_clock::time_point not_after() const noexcept { return not_after_; }

 private:
  struct Chain {
    SSL_CTX* tls = nullptr;
    SSL_CTX* dtls = nullptr;
    X509* leaf = nullptr;  // owned by the contexts; used to match SNI names
  };
  TlsContexts() = default;
  static int on_server_name(SSL* ssl, int* alert, void* arg);

  std::vector<Chain> chains_;  // [0] = main
  std::string summary_;
  std::chrono::system_clock::time_point not_after_{};
  std::chrono::steady_clock::time_point ticket_keys_since_{};  // when the ticket keys were made
};
using TlsContextsPtr = std::shared_ptr<const TlsContexts>;

/// The current contexts, shared by all shards. Owner: any thread (a mutex; taken once per
/// handshake, never per packet).
class TlsContextStore {
 public:
  TlsContextsPtr current() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void install(TlsContextsPtr contexts) {
    std::lock_guard lock(mutex_);
    current_ = std::move(contexts);
  }

 private:
  mutable std::mutex mutex_;
  TlsContextsPtr current_;
};

/// Before DTLSv1_listen on `ssl`: the address its ClientHello came from, which the stateless
/// cookie (an HMAC of it under a per-process key) is bound to. `peer` must outlive the call.
void set_cookie_peer(SSL* ssl, const protocol::TransportAddress* peer) noexcept;

/// The ALPN protocol the handshake of `ssl` selected, "" for none.
std::string_view selected_alpn(const SSL* ssl) noexcept;

}  // namespace turnd::server::io::tls
