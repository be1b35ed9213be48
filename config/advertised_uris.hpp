// The turn: and turns: URIs a client uses to reach this server, derived from the listen and
// listen_tls addresses: the one derivation behind turnd's start-up iceServers line, the admin
// credential endpoint and `turnctl mint`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace turnd::config {

/// turn:HOST:PORT?transport=udp and ?transport=tcp for each listen address, in config order,
/// then turns:HOST:PORT?transport=tcp for each listen_tls address; duplicates dropped. HOST
/// (IPv6 in brackets) is, for each listen or listen_tls address:
///   1. `host` when given (turnctl mint --host), for every listen address;
///   2. else the public address of a relay.external_ips entry of its family whose private
///      address is the listen address, or that has none, or any when the listen address is a
///      wildcard (the last such entry wins);
///   3. else the listen address itself when it is specific;
///   4. else (a wildcard: 0.0.0.0, ::) this host's addresses of its family: its global ones (at
///      most four per family; link-local and loopback left out), or loopback when it has none.
/// A turns: URI works only when its HOST is a name or address the TLS certificate holds: with
/// a certificate for a DNS name, pass that name as `host` (turnctl mint --host) or set
/// admin.credential_uris. listen_dtls gets no URI: RFC 7350 writes TURN over DTLS as
/// turns:HOST:PORT?transport=udp, but browsers do not speak it (libwebrtc takes every turns:
/// URI for TLS over TCP), so such a URI would only send their TLS to a DTLS port; DTLS serves
/// clients configured by hand.
std::vector<std::string> advertised_turn_uris(const Config& config, std::string_view host = {});

/// True when advertised_turn_uris (without `host`) would name only the addresses of the host it
/// runs on (step 4 for every listen and listen_tls address). turnctl mint then picks one host for
/// all of them with choose_fallback_host, as it may run where those addresses mean nothing to a
/// client.
bool advertises_only_local_interfaces(const Config& config);

/// Where choose_fallback_host found its host.
enum class FallbackSource { ExternalIp, HostName, GlobalAddress, OtherAddress };
struct FallbackHost {
  std::string host;  ///< an IP address or a DNS name, without brackets
  FallbackSource source;
};

/// The host for turnctl mint's URIs when the config names none (advertises_only_local_interfaces
/// and no --host), from what this host knows about itself:
///   1. the public address of the first relay.external_ips entry (any family);
///   2. else `fqdn` when it is a DNS name with a dot that is not localhost;
///   3. else the first global unicast address of `interfaces` (not private, shared, loopback,
///      link-local, multicast or documentation space; IPv6 within 2000::/3);
///   4. else the first of `interfaces` that is not loopback, link-local or unspecified.
/// nullopt when none of these exists. A pure function: the caller gathers the inputs.
std::optional<FallbackHost> choose_fallback_host(
    const std::vector<ExternalIp>& external_ips, std::string_view fqdn,
    const std::vector<protocol::IpAddress>& interfaces);

/// "the first relay.external_ips address", "this host's name", ...: for a message that
/// says which host a mint used and why.
std::string_view to_string(FallbackSource source) noexcept;

/// This host's fully qualified name: getaddrinfo(AI_CANONNAME) on gethostname(); "" when
/// unknown.
std::string this_host_fqdn();

/// The addresses of this host's interfaces that are up, both families, in the kernel's order.
std::vector<protocol::IpAddress> this_host_addresses();

}  // namespace turnd::config
