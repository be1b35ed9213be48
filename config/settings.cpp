#include "config/settings.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include "config/config_error.hpp"
#include "config/nat_discovery.hpp"
#include "config/secret_file.hpp"
#include "config/value_parsers.hpp"

namespace turnd::config {
namespace {

using std::chrono::seconds;

constexpr unsigned kMaxThreads = 1024;
constexpr unsigned kUnlimited = std::numeric_limits<unsigned>::max();
constexpr unsigned kMaxChannels = 0x7FFF - 0x4000 + 1;  // RFC 5766 range, the wider one
constexpr seconds kOneHour{3600};
constexpr seconds kOneDay{86400};

template <class T, class U>
std::string assign(T& field, Parsed<U> parsed) {
  if (!parsed) return parsed.error();
  field = std::move(*parsed);
  return {};
}

template <class T, class U>
std::string append(std::vector<T>& list, Parsed<U> parsed) {
  if (!parsed) return parsed.error();
  list.push_back(std::move(*parsed));
  return {};
}

std::string seconds_text(seconds s) { return std::to_string(s.count()) + " seconds"; }

// How many entries at the end of auth_secrets came from auth.secret_file.
std::ptrdiff_t file_secrets(const Config& c) {
  return static_cast<std::ptrdiff_t>(std::min(c.auth_file_secret_count, c.auth_secrets.size()));
}

void drop_file_secrets(Config& c) {
  c.auth_secrets.erase(c.auth_secrets.end() - file_secrets(c), c.auth_secrets.end());
  c.auth_secret_file.reset();
  c.auth_file_secret_count = 0;
}

// Kept in the order of packaging/turnd.yaml, which documents each key at length.
constexpr std::array kSettings = {
    Setting{
        .key = "listen",
        .flag = "--listen",
        .metavar = "ADDR:PORT",
        .example = "0.0.0.0:3478",
        .help = "Address to listen on, UDP and TCP (default 0.0.0.0:3478 and [::]:3478)",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) -> std::string {
          auto address = parse_endpoint(t);
          if (address && std::find(c.listen.begin(), c.listen.end(), *address) != c.listen.end())
            return "address listed twice";
          return append(c.listen, std::move(address));
        },
        .clear = [](Config& c) { c.listen.clear(); },
        .check = [](const Config& c) -> std::string {
          return c.listen.empty() ? "at least one address is needed, e.g. 0.0.0.0:3478" : "";
        },
    },
    Setting{
        .key = "listen_tls",
        .flag = "--listen-tls",
        .metavar = "ADDR:PORT",
        .example = "0.0.0.0:443",
        .help = "Address for TURN over TLS (repeatable; needs tls.cert and tls.key)",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) -> std::string {
          auto address = parse_endpoint(t);
          if (address &&
              std::find(c.listen_tls.begin(), c.listen_tls.end(), *address) != c.listen_tls.end())
            return "address listed twice";
          return append(c.listen_tls, std::move(address));
        },
        .clear = [](Config& c) { c.listen_tls.clear(); },
        .check = [](const Config& c) -> std::string {
          for (const auto& a : c.listen_tls)
            if (std::find(c.listen.begin(), c.listen.end(), a) != c.listen.end())
              return a.to_string() + " is also in listen, which opens TCP on it";
          return c.listen_tls.empty() || (c.tls_cert && c.tls_key)
                     ? ""
                     : "a TLS listener needs tls.cert and tls.key (turnctl cert self-signed "
                       "makes a test pair)";
        },
    },
    Setting{
        .key = "listen_dtls",
        .flag = "--listen-dtls",
        .metavar = "ADDR:PORT",
        .example = "0.0.0.0:443",
        .help = "Address for TURN over DTLS (repeatable; needs tls.cert and tls.key)",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) -> std::string {
          auto address = parse_endpoint(t);
          if (address && std::find(c.listen_dtls.begin(), c.listen_dtls.end(), *address) !=
                             c.listen_dtls.end())
            return "address listed twice";
          return append(c.listen_dtls, std::move(address));
        },
        .clear = [](Config& c) { c.listen_dtls.clear(); },
        .check = [](const Config& c) -> std::string {
          for (const auto& a : c.listen_dtls)
            if (std::find(c.listen.begin(), c.listen.end(), a) != c.listen.end())
              return a.to_string() + " is also in listen, which opens UDP on it";
          return c.listen_dtls.empty() || (c.tls_cert && c.tls_key)
                     ? ""
                     : "a DTLS listener needs tls.cert and tls.key (turnctl cert self-signed "
                       "makes a test pair)";
        },
    },
    Setting{
        .key = "alternate_listen",
        .flag = "--alternate-listen",
        .metavar = "ADDR:PORT",
        .example = "192.0.2.2:3479",
        .help = "RFC 5780 NAT discovery: the second IP and port (pairs with a specific listen "
                "address; same IP = change port only)",
        .shape = Shape::Optional,
        .set = [](Config& c,
                  std::string_view t) { return assign(c.alternate_listen, parse_endpoint(t)); },
        .clear = [](Config& c) { c.alternate_listen.reset(); },
        .check = [](const Config& c) -> std::string {
          auto addresses = nat_discovery_addresses(c);
          return addresses ? "" : addresses.error();
        },
    },
    Setting{
        .key = "realm",
        .flag = "--realm",
        .metavar = "REALM",
        .example = "example.org",
        .help = "REALM of long-term credentials (default turnd.local)",
        .set = [](Config& c, std::string_view t) { return assign(c.realm, parse_realm(t)); },
    },
    Setting{
        .key = "threads",
        .flag = "--threads",
        .metavar = "N",
        .example = "4",
        .help = "I/O threads, 0 = one per usable CPU (default 0)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.threads, parse_unsigned(t, 0, kMaxThreads));
            },
    },
    Setting{
        .key = "udp.gso",
        .flag = "--udp-gso",
        .metavar = "BOOL",
        .example = "true",
        .help = "Send runs of datagrams to one address as one segmented write (UDP_SEGMENT) "
                "where the kernel has it (default true)",
        .set = [](Config& c, std::string_view t) { return assign(c.udp_gso, parse_bool(t)); },
    },
    Setting{
        .key = "udp.gro",
        .flag = "--udp-gro",
        .metavar = "BOOL",
        .example = "true",
        .help = "Receive datagrams of one flow coalesced (UDP_GRO) where the kernel has it "
                "(default true)",
        .set = [](Config& c, std::string_view t) { return assign(c.udp_gro, parse_bool(t)); },
    },
    Setting{
        .key = "log.level",
        .flag = "--log-level",
        .metavar = "LEVEL",
        .example = "info",
        .help = "trace|debug|info|warn|error|critical|off (default info)",
        .set = [](Config& c,
                  std::string_view t) { return assign(c.log_level, parse_log_level(t)); },
    },
    Setting{
        .key = "log.format",
        .flag = "--log-format",
        .metavar = "FORMAT",
        .example = "text",
        .help = "text or json (JSON lines) (default text)",
        .set = [](Config& c,
                  std::string_view t) { return assign(c.log_format, parse_log_format(t)); },
    },
    Setting{
        .key = "software",
        .example = "turnd",
        .help = "SOFTWARE attribute value, \"\" = do not send",
        .set = [](Config& c, std::string_view t) { return assign(c.software, parse_software(t)); },
    },
    Setting{
        .key = "shutdown_grace",
        .flag = "--shutdown-grace",
        .metavar = "DURATION",
        .example = "30s",
        .help = "On SIGTERM, let existing allocations relay this long, 0 = exit at once "
                "(default 30s)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.shutdown_grace, parse_duration(t, seconds{0}, kOneHour));
            },
    },
    Setting{
        .key = "alternate_servers",
        .flag = "--alternate-server",
        .metavar = "ADDR:PORT",
        .example = "192.0.2.10:3478",
        .help = "While draining, send new Allocate requests here (300 ALTERNATE-SERVER; "
                "repeatable)",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) -> std::string {
          auto address = parse_endpoint(t);
          if (address && (address->ip.is_unspecified() || address->port == 0))
            return "expected a reachable address and port, e.g. 192.0.2.10:3478";
          return append(c.alternate_servers, std::move(address));
        },
        .clear = [](Config& c) { c.alternate_servers.clear(); },
    },
    Setting{
        .key = "auth.users",
        .flag = "--user",
        .metavar = "NAME:PASSWORD",
        .example = "alice:secret",
        .help = "Static long-term user (repeatable; replaces auth.users)",
        .shape = Shape::List,
        .secrecy = Secrecy::Secret,
        .set = [](Config& c, std::string_view t) -> std::string {
          auto user = parse_user(t);
          return user ? add_user(c, std::move(*user)) : user.error();
        },
        .clear = [](Config& c) { c.users.clear(); },
    },
    Setting{
        .key = "auth.secrets",
        .flag = "--auth-secret",
        .metavar = "SECRET",
        .example = "s3cr3t",
        .help = "TURN REST API shared secret (repeatable; replaces auth.secrets)",
        .shape = Shape::List,
        .secrecy = Secrecy::Secret,
        .set = [](Config& c, std::string_view t) -> std::string {
          auto secret = parse_secret(t);
          if (!secret) return secret.error();
          // Before the secrets that came from auth.secret_file, which stay last.
          c.auth_secrets.insert(c.auth_secrets.end() - file_secrets(c), std::move(*secret));
          return {};
        },
        .clear =
            [](Config& c) {
              c.auth_secrets.erase(c.auth_secrets.begin(), c.auth_secrets.end() - file_secrets(c));
            },
    },
    Setting{
        .key = "auth.secret_file",
        .flag = "--auth-secret-file",
        .metavar = "FILE",
        .example = "/etc/turnd/secret",
        .help = "File of REST secrets, one per line, newest first; not readable by others",
        .shape = Shape::Optional,
        .set = [](Config& c, std::string_view t) -> std::string {
          auto secrets = read_secret_file(t);
          if (!secrets) return secrets.error();
          drop_file_secrets(c);
          c.auth_secret_file = std::string(t);
          c.auth_secrets.insert(c.auth_secrets.end(), secrets->begin(), secrets->end());
          c.auth_file_secret_count = secrets->size();
          return {};
        },
        .clear = [](Config& c) { drop_file_secrets(c); },
    },
    Setting{
        .key = "auth.nonce_lifetime",
        .example = "10m",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.nonce_lifetime, parse_duration(t, seconds{1}, kOneDay));
            },
    },
    Setting{
        .key = "auth.clock_skew",
        .example = "60",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.clock_skew, parse_duration(t, seconds{0}, kOneHour));
            },
    },
    Setting{
        .key = "auth.rest_separator",
        .example = ":",
        .set = [](Config& c,
                  std::string_view t) { return assign(c.rest_separator, parse_rest_separator(t)); },
    },
    Setting{
        .key = "auth.redis",
        .flag = "--redis",
        .metavar = "URL",
        .example = "redis://127.0.0.1:6379/0",
        .help = "Redis for credentials and secrets: redis://[:PASSWORD@]HOST[:PORT][/DB]",
        .shape = Shape::Optional,
        .secrecy = Secrecy::UrlPassword,
        .set = [](Config& c,
                  std::string_view t) { return assign(c.redis, parse_redis_setting(t)); },
        .clear = [](Config& c) { c.redis.reset(); },
    },
    Setting{
        .key = "relay.ips",
        .flag = "--relay-ip",
        .metavar = "IP",
        .example = "192.0.2.10",
        .help = "Address to relay from (repeatable; default: from the listen addresses)",
        .shape = Shape::List,
        .set = [](Config& c,
                  std::string_view t) { return append(c.relay_ips, parse_concrete_ip(t)); },
        .clear = [](Config& c) { c.relay_ips.clear(); },
    },
    Setting{
        .key = "relay.ports",
        .flag = "--relay-ports",
        .metavar = "LO-HI",
        .example = "49152-65535",
        .help = "Relay port range (default 49152-65535)",
        .set = [](Config& c,
                  std::string_view t) { return assign(c.relay_ports, parse_port_range(t)); },
    },
    Setting{
        .key = "relay.external_ips",
        .flag = "--external-ip",
        .metavar = "PUBLIC[/PRIVATE]",
        .example = "203.0.113.5/10.0.0.5",
        .help = "Public address of a relay IP behind 1:1 NAT (repeatable)",
        .shape = Shape::List,
        .set = [](Config& c,
                  std::string_view t) { return append(c.external_ips, parse_external_ip(t)); },
        .clear = [](Config& c) { c.external_ips.clear(); },
    },
    Setting{
        .key = "relay.allow_peers",
        .flag = "--allow-peer",
        .metavar = "CIDR",
        .example = "127.0.0.0/8",
        .help = "Allow relaying to this range despite the built-in deny list (repeatable)",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) { return append(c.allow_peers, parse_prefix(t)); },
        .clear = [](Config& c) { c.allow_peers.clear(); },
    },
    Setting{
        .key = "relay.deny_peers",
        .flag = "--deny-peer",
        .metavar = "CIDR",
        .example = "198.51.100.0/24",
        .help = "Never relay to this range (repeatable)",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) { return append(c.deny_peers, parse_prefix(t)); },
        .clear = [](Config& c) { c.deny_peers.clear(); },
    },
    Setting{
        .key = "relay.default_lifetime",
        .example = "10m",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.default_lifetime, parse_duration(t, seconds{1}, kOneDay));
            },
        .check = [](const Config& c) -> std::string {
          if (c.default_lifetime <= c.max_lifetime) return {};
          return "must not exceed relay.max_lifetime (" + seconds_text(c.max_lifetime) + ")";
        },
    },
    Setting{
        .key = "relay.max_lifetime",
        .flag = "--max-lifetime",
        .metavar = "SECONDS",
        .example = "1h",
        .help = "Longest allocation lifetime a client may ask for (default 3600)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_lifetime, parse_duration(t, seconds{1}, kOneDay));
            },
        .check = [](const Config& c) -> std::string {
          if (c.max_lifetime >= c.default_lifetime) return {};
          return "must be at least relay.default_lifetime (" + seconds_text(c.default_lifetime) +
                 ")";
        },
    },
    Setting{
        .key = "relay.strict_channel_numbers",
        .flag = "--strict-channel-numbers",
        .example = "false",
        .help = "Accept only RFC 8656 channel numbers 0x4000-0x4FFF",
        .shape = Shape::Switch,
        .set = [](Config& c,
                  std::string_view t) { return assign(c.strict_channel_numbers, parse_bool(t)); },
    },
    Setting{
        .key = "limits.user_quota",
        .flag = "--user-quota",
        .metavar = "N",
        .example = "0",
        .help = "Allocations per user, 0 = unlimited (default 0)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.user_quota, parse_unsigned(t, 0, kUnlimited));
            },
    },
    Setting{
        .key = "limits.total_quota",
        .flag = "--total-quota",
        .metavar = "N",
        .example = "0",
        .help = "Allocations in total, 0 = bounded by the relay ports (default 0)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.total_quota, parse_unsigned(t, 0, kUnlimited));
            },
    },
    Setting{
        .key = "limits.max_permissions_per_allocation",
        .example = "64",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_permissions_per_allocation, parse_unsigned(t, 1, 65535));
            },
    },
    Setting{
        .key = "limits.max_channels_per_allocation",
        .example = "64",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_channels_per_allocation, parse_unsigned(t, 1, kMaxChannels));
            },
    },
    Setting{
        .key = "limits.max_tcp_connections_per_allocation",
        .flag = "--max-tcp-connections-per-allocation",
        .metavar = "N",
        .example = "64",
        .help = "RFC 6062 peer connections one TCP allocation may hold, 1-65535 (default 64)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_tcp_connections_per_allocation, parse_unsigned(t, 1, 65535));
            },
    },
    Setting{
        .key = "limits.max_unauthenticated_per_second",
        .flag = "--max-unauthenticated-per-second",
        .metavar = "N",
        .example = "500",
        .help = "UDP replies to unauthenticated requests per source IP (IPv6: /64) and second, "
                "0 = off (default 500)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_unauthenticated_per_second, parse_unsigned(t, 0, kUnlimited));
            },
    },
    Setting{
        .key = "limits.max_unauthenticated_bytes_per_second",
        .flag = "--max-unauthenticated-bytes-per-second",
        .metavar = "N",
        .example = "12500000",
        .help = "Bytes per second of UDP replies to unauthenticated requests, all sources "
                "together, 0 = off (default 12500000)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_unauthenticated_bytes_per_second,
                            parse_unsigned(t, 0, kUnlimited));
            },
    },
    Setting{
        .key = "limits.max_connections_per_source",
        .flag = "--max-connections-per-source",
        .metavar = "N",
        .example = "32",
        .help = "TCP connections from one source IP (IPv6: /64), 0 = unlimited (default 32)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_connections_per_source, parse_unsigned(t, 0, kUnlimited));
            },
    },
    Setting{
        .key = "limits.max_connection_rate_per_source",
        .flag = "--max-connection-rate-per-source",
        .metavar = "N",
        .example = "10",
        .help = "New TCP/TLS connections and DTLS sessions a second from one source IP (IPv6: "
                "/64), after a burst of max_connections_per_source (or twice the rate if more), "
                "0 = off (default 10)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_connection_rate_per_source, parse_unsigned(t, 0, 1'000'000));
            },
    },
    Setting{
        .key = "limits.max_connections",
        .flag = "--max-connections",
        .metavar = "N",
        .example = "10000",
        .help = "TCP connections in total, 0 = unlimited (default 10000)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.max_connections, parse_unsigned(t, 0, kUnlimited));
            },
    },
    Setting{
        .key = "limits.limit_loopback",
        .flag = "--limit-loopback",
        .example = "false",
        .help = "Apply the per-source limits to loopback clients too",
        .shape = Shape::Switch,
        .set = [](Config& c,
                  std::string_view t) { return assign(c.limit_loopback, parse_bool(t)); },
    },
    Setting{
        .key = "limits.first_message_timeout",
        .flag = "--first-message-timeout",
        .metavar = "DURATION",
        .example = "10s",
        .help = "Close a TCP connection that sent no valid STUN message by then (default 10s)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.first_message_timeout, parse_duration(t, seconds{1}, kOneHour));
            },
    },
    Setting{
        .key = "limits.connection_idle_timeout",
        .flag = "--connection-idle-timeout",
        .metavar = "DURATION",
        .example = "5m",
        .help = "Close a TCP connection idle this long (default 300s)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.connection_idle_timeout, parse_duration(t, seconds{1}, kOneDay));
            },
    },
    Setting{
        .key = "tls.cert",
        .flag = "--tls-cert",
        .metavar = "FILE",
        .example = "/etc/letsencrypt/live/turn.example.org/fullchain.pem",
        .help = "PEM certificate chain for TLS and DTLS, leaf first",
        .shape = Shape::Optional,
        .set = [](Config& c, std::string_view t) { return assign(c.tls_cert, parse_path(t)); },
        .clear = [](Config& c) { c.tls_cert.reset(); },
        .check = [](const Config& c) -> std::string {
          return !c.tls_cert || c.tls_key ? "" : "tls.cert needs tls.key, its private key";
        },
    },
    Setting{
        .key = "tls.key",
        .flag = "--tls-key",
        .metavar = "FILE",
        .example = "/etc/letsencrypt/live/turn.example.org/privkey.pem",
        .help = "PEM private key of tls.cert",
        .shape = Shape::Optional,
        .set = [](Config& c, std::string_view t) { return assign(c.tls_key, parse_path(t)); },
        .clear = [](Config& c) { c.tls_key.reset(); },
        .check = [](const Config& c) -> std::string {
          return !c.tls_key || c.tls_cert ? "" : "tls.key needs tls.cert, its certificate chain";
        },
    },
    Setting{
        .key = "tls.certs",
        .flag = "--tls-sni-cert",
        .metavar = "CERT,KEY",
        .example = "/etc/turnd/other.pem,/etc/turnd/other.key",
        .help = "Another certificate chain and key, chosen by SNI (repeatable)",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) -> std::string {
          // In YAML usually {cert: FILE, key: FILE} (config/load.cpp); "CERT,KEY" also works.
          const auto comma = t.find(',');
          if (comma == std::string_view::npos)
            return "expected CERT,KEY or a map such as {cert: FILE, key: FILE}";
          auto cert = parse_path(t.substr(0, comma));
          auto key = parse_path(t.substr(comma + 1));
          if (!cert) return cert.error();
          if (!key) return key.error();
          c.tls_certs.push_back({std::move(*cert), std::move(*key)});
          return {};
        },
        .clear = [](Config& c) { c.tls_certs.clear(); },
        .check = [](const Config& c) -> std::string {
          return c.tls_certs.empty() || c.tls_cert ? ""
                                                   : "tls.certs needs tls.cert, the default chain";
        },
    },
    Setting{
        .key = "tls.handshake_timeout",
        .flag = "--tls-handshake-timeout",
        .metavar = "DURATION",
        .example = "10s",
        .help = "Close a TLS or DTLS connection whose handshake is not done by then (default 10s)",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.tls_handshake_timeout, parse_duration(t, seconds{1}, seconds{120}));
            },
    },
    Setting{
        .key = "admin.listen",
        .flag = "--admin-listen",
        .metavar = "ADDR:PORT",
        .example = "127.0.0.1:9641",
        .help = "Admin HTTP address (metrics, health); unset = off",
        .shape = Shape::Optional,
        .set = [](Config& c,
                  std::string_view t) { return assign(c.admin_listen, parse_endpoint(t)); },
        .clear = [](Config& c) { c.admin_listen.reset(); },
    },
    Setting{
        .key = "admin.api_key",
        .example = "a-long-random-key",
        .shape = Shape::Optional,
        .secrecy = Secrecy::Secret,
        .set = [](Config& c,
                  std::string_view t) { return assign(c.admin_api_key, parse_secret(t)); },
        .clear = [](Config& c) { c.admin_api_key.reset(); },
    },
    Setting{
        .key = "admin.credential_ttl",
        .example = "1d",
        .set =
            [](Config& c, std::string_view t) {
              return assign(c.credential_ttl, parse_duration(t, seconds{60}, kOneDay * 7));
            },
    },
    Setting{
        .key = "admin.credential_uris",
        .example = "turn:turn.example.org:3478?transport=udp",
        .shape = Shape::List,
        .set = [](Config& c, std::string_view t) -> std::string {
          if (!t.starts_with("stun:") && !t.starts_with("turn:") && !t.starts_with("turns:"))
            return "expected a stun:, turn: or turns: URI, e.g. turn:turn.example.org:3478";
          c.credential_uris.emplace_back(t);
          return {};
        },
        .clear = [](Config& c) { c.credential_uris.clear(); },
    },
    Setting{
        .key = "web.listen",
        .flag = "--web-listen",
        .metavar = "ADDR:PORT",
        .example = "0.0.0.0:8443",
        .help = "Web listener for the /call and /ice pages (HTTPS with tls.cert); unset = off",
        .shape = Shape::Optional,
        .set = [](Config& c,
                  std::string_view t) { return assign(c.web_listen, parse_endpoint(t)); },
        .clear = [](Config& c) { c.web_listen.reset(); },
        .check = [](const Config& c) -> std::string {
          // Browsers give camera and microphone only to secure origins: HTTPS, or plain HTTP
          // on loopback. Plain HTTP elsewhere would also carry credentials in clear.
          if (!c.web_listen || c.tls_cert) return "";
          const auto ip = c.web_listen->ip.unmapped();
          const bool loopback =
              ip.is_v4() ? ip.bytes[0] == 127 : ip == *protocol::IpAddress::parse("::1");
          return loopback ? ""
                          : c.web_listen->to_string() +
                                " is not a loopback address and no tls.cert is set: set "
                                "tls.cert and tls.key (HTTPS), or listen on 127.0.0.1";
        },
    },
    Setting{
        .key = "web.demo",
        .flag = "--web-demo",
        .metavar = "BOOL",
        .example = "false",
        .help = "Serve the /call and /ice pages on web.listen (default false)",
        .set = [](Config& c, std::string_view t) { return assign(c.web_demo, parse_bool(t)); },
    },
};

}  // namespace

bool Setting::may_show(std::string_view text) const noexcept {
  switch (secrecy) {
    case Secrecy::Public:
      return true;
    case Secrecy::Secret:
      return false;
    case Secrecy::UrlPassword:
      return text.find('@') == std::string_view::npos;
  }
  return false;
}

std::span<const Setting> settings() noexcept { return kSettings; }

const Setting* find_setting(std::string_view key) noexcept {
  for (const auto& s : kSettings)
    if (s.key == key) return &s;
  return nullptr;
}

std::string add_user(Config& config, StaticUser user) {
  if (auto problem = check_user(user); !problem.empty()) return problem;
  for (const auto& existing : config.users)
    if (existing.name == user.name) return "user " + quote(user.name) + " is listed twice";
  config.users.push_back(std::move(user));
  return {};
}

}  // namespace turnd::config
