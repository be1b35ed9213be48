// The verdicts of RFC 5780 §4 (NAT behaviour discovery) from what a client observed: pure
// functions, no I/O, so the decisions are unit-tested on their own (tests/unit/tools).
#pragma once

#include <optional>
#include <string_view>

#include "protocol/bytes.hpp"
#include "protocol/message_view.hpp"
#include "protocol/transport_address.hpp"

namespace turnd::turnctl::nat {

/// RFC 4787's three behaviours, for mapping (§4.1) and for filtering (§5).
enum class Behavior { EndpointIndependent, AddressDependent, AddressAndPortDependent, Unknown };

/// "endpoint independent", "address dependent", "address and port dependent", "unknown"
std::string_view to_string(Behavior b) noexcept;
/// "endpoint-independent", ... : the --json spelling.
std::string_view to_json_name(Behavior b) noexcept;

/// What a Binding answer said (RFC 8489 §14.1/§14.2, RFC 5780 §7.3/§7.4).
struct BindingAnswer {
  std::optional<protocol::TransportAddress> mapped;           ///< XOR-MAPPED, else MAPPED
  std::optional<protocol::TransportAddress> other_address;    ///< OTHER-ADDRESS
  std::optional<protocol::TransportAddress> response_origin;  ///< RESPONSE-ORIGIN
  int error_code = 0;                                         ///< 0: a success response
};

/// Reads a Binding success or error response to transaction `id`; nullopt for anything else
/// (not STUN, another transaction, a request, a malformed response).
std::optional<BindingAnswer> read_binding_answer(protocol::ByteSpan datagram,
                                                 const protocol::TransactionId& id) noexcept;

/// Mapping (RFC 5780 §4.3): test I to the primary address, test II to the alternate IP and
/// primary port, test III to the alternate IP and port; each the mapped address seen, or
/// nullopt when it got no answer. Test III is only needed when I and II differ.
Behavior mapping_behavior(const std::optional<protocol::TransportAddress>& test1,
                          const std::optional<protocol::TransportAddress>& test2,
                          const std::optional<protocol::TransportAddress>& test3) noexcept;

/// Filtering (RFC 5780 §4.4): whether the answer to test II (CHANGE-REQUEST change IP and
/// port) and to test III (change port) arrived. Test III is only needed when II got none.
Behavior filtering_behavior(bool test2_answered, std::optional<bool> test3_answered) noexcept;

/// An answer to a CHANGE-REQUEST must come from the changed address (and say so in
/// RESPONSE-ORIGIN when present): true when `from` is `expected`.
bool answered_from(const protocol::TransportAddress& from,
                   const protocol::TransportAddress& expected, const BindingAnswer& a) noexcept;

/// The RFC 3489 name people still use ("port-restricted cone", "symmetric", "no NAT, open",
/// ...), from the RFC 5780 verdicts; behind_nat: the mapped address differs from the local one.
std::string_view classic_name(bool behind_nat, Behavior mapping, Behavior filtering) noexcept;

}  // namespace turnd::turnctl::nat
