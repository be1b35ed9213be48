// The settings of one turnd process: plain structs with their defaults. Load them with
// config/load.hpp (YAML) or config/cli.hpp (command line on top of a file); no global instance.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/transport_address.hpp"

namespace turnd::config {

/// Inclusive range of relay ports: one pool shared by all shards (server/relay_port_pool.hpp),
/// ports picked at random from all of it.
struct PortRange {
  std::uint16_t min = 49152, max = 65535;
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

/// A long-term credential (RFC 8489 §9.2) given in the config or with --user.
struct StaticUser {
  std::string name, password;
  friend bool operator==(const StaticUser&, const StaticUser&) = default;
};

/// "PUBLIC" or "PUBLIC/PRIVATE": the address clients see for a relay IP behind 1:1 NAT.
struct ExternalIp {
  protocol::IpAddress public_ip;
  std::optional<protocol::IpAddress> private_ip;
  friend bool operator==(const ExternalIp&, const ExternalIp&) = default;
};

enum class LogFormat { Text, Json };

/// An extra certificate chain and its key (tls.certs), chosen when a client's SNI matches it.
struct TlsCertFiles {
  std::string cert, key;
  friend bool operator==(const TlsCertFiles&, const TlsCertFiles&) = default;
};

/// Everything turnd reads at start-up, and again on SIGHUP, which applies all but the
/// restart-only keys of config/reload.hpp. Member names mirror the YAML keys; see
/// packaging/turnd.yaml for the documentation of each one.
struct Config {
  std::string source = "<embedded>";  ///< file the config came from, for messages
  std::vector<protocol::TransportAddress> listen{
      {protocol::IpAddress::v4({0, 0, 0, 0}), 3478},
      {protocol::IpAddress::v6({}), 3478},
  };  ///< each opens UDP and TCP
  /// TURN over TLS (TCP) and DTLS (UDP) listeners; both need tls_cert and tls_key.
  std::vector<protocol::TransportAddress> listen_tls, listen_dtls;
  /// RFC 5780 NAT behaviour discovery: the other IP and port (config/nat_discovery.hpp).
  std::optional<protocol::TransportAddress> alternate_listen;
  std::string realm = "turnd.local";
  unsigned threads = 0;  ///< 0 = one per usable CPU
  /// UDP segmentation offload on send and receive coalescing, where the kernel has them.
  bool udp_gso = true, udp_gro = true;
  std::string log_level = "info";  ///< trace|debug|info|warn|error|critical|off
  LogFormat log_format = LogFormat::Text;
  std::string software = "turnd";  ///< SOFTWARE attribute value; "" = do not send
  /// SIGTERM drain: how long existing allocations may go on relaying; 0 = exit at once.
  std::chrono::seconds shutdown_grace{30};
  /// While draining, a new Allocate is redirected here (300 ALTERNATE-SERVER, the first of
  /// the client's address family) instead of refused with 508.
  std::vector<protocol::TransportAddress> alternate_servers;

  // auth
  std::vector<StaticUser> users;
  std::vector<std::string> auth_secrets;  ///< TURN REST API shared secrets, newest first
  /// auth.secret_file: more secrets, one per line, read at load time and kept at the end of
  /// auth_secrets (its last auth_file_secret_count entries), after those listed in the config.
  std::optional<std::string> auth_secret_file;
  std::size_t auth_file_secret_count = 0;
  std::chrono::seconds nonce_lifetime{600};
  std::chrono::seconds clock_skew{60};  ///< tolerance for REST username expiry
  char rest_separator = ':';            ///< REST username separator (coturn compatible)
  std::optional<std::string> redis;     ///< redis://[:password@]host[:port][/db]

  // relay
  std::vector<protocol::IpAddress> relay_ips;  ///< empty = derive from listen addresses
  PortRange relay_ports;
  std::vector<ExternalIp> external_ips;
  std::vector<protocol::IpPrefix> allow_peers;  ///< override the built-in peer deny list
  std::vector<protocol::IpPrefix> deny_peers;
  std::chrono::seconds default_lifetime{600};
  std::chrono::seconds max_lifetime{3600};  ///< >= default_lifetime, <= 1 day
  unsigned user_quota = 0;                  ///< allocations per user, 0 = unlimited
  unsigned total_quota = 0;                 ///< allocations in total, 0 = bounded by ports only
  unsigned max_permissions_per_allocation = 64;
  unsigned max_channels_per_allocation = 64;
  unsigned max_tcp_connections_per_allocation = 64;  ///< RFC 6062 peer connections
  bool strict_channel_numbers = false;               ///< true: only RFC 8656 0x4000-0x4FFF
  /// UDP replies to unauthenticated requests that are larger than the request (401, 438, 400,
  /// 420, Binding): per source IP (IPv6 /64) across all shards, and bytes/s for all sources.
  unsigned max_unauthenticated_per_second = 500;               ///< 0 = off
  unsigned max_unauthenticated_bytes_per_second = 12'500'000;  ///< 100 Mbit/s; 0 = off
  unsigned max_connections_per_source = 32;  ///< TCP, per source IP (IPv6 /64); 0 = unlimited
  /// New TCP/TLS connections and DTLS sessions a second per source IP (IPv6 /64), in bursts of
  /// max_connections_per_source or twice the rate if more: each may cost a TLS handshake.
  /// 0 = off.
  unsigned max_connection_rate_per_source = 10;
  unsigned max_connections = 10000;                   ///< TCP in total; 0 = unlimited
  std::chrono::seconds first_message_timeout{10};     ///< until the first valid STUN message
  std::chrono::seconds connection_idle_timeout{300};  ///< no complete frame for this long
  /// Apply the per-source limits to loopback sources too. Off by default: a loopback source
  /// cannot be spoofed from off the host and a reply to it amplifies towards no one, while
  /// health checks and benchmarks run there.
  bool limit_loopback = false;

  // tls: files are read at start and again on SIGHUP or when they change (certificate renewal)
  std::optional<std::string> tls_cert;  ///< PEM chain, leaf first
  std::optional<std::string> tls_key;   ///< PEM private key of tls_cert
  std::vector<TlsCertFiles> tls_certs;  ///< more chains, chosen by the client's SNI
  std::chrono::seconds tls_handshake_timeout{10};

  // admin
  std::optional<protocol::TransportAddress> admin_listen;  ///< e.g. 127.0.0.1:9641
  std::optional<std::string> admin_api_key;                ///< enables GET /api/v1/turn-credentials
  std::chrono::seconds credential_ttl{86400};  ///< lifetime of credentials the endpoint mints
  std::vector<std::string> credential_uris;    ///< "uris" the endpoint returns; empty = derived

  // web: the check-your-server pages (/call, /ice), their /credentials and /ws signalling
  /// HTTPS with tls.cert, else plain HTTP (loopback only)
  std::optional<protocol::TransportAddress> web_listen;
  bool web_demo = false;  ///< serve the pages (false: every path is 404)

  friend bool operator==(const Config&, const Config&) = default;
};

}  // namespace turnd::config
