// Allocate (RFC 8656 §7.2): reserve relayed transport address(es) for a client's 5-tuple.
//
// `handle_allocate` reads as the RFC's numbered checks, then the creation of the allocation:
//   1. authentication: done by the dispatcher before any TURN handler runs
//   2. the 5-tuple already has an allocation: its retransmission cache, else 437
//   -  draining (SIGTERM): 300 ALTERNATE-SERVER when one of the client's family is configured,
//      else 508; allocations that exist go on (step 2 still answers their retransmissions)
//   3. REQUESTED-TRANSPORT: 400 absent or malformed, 442 neither UDP nor TCP; TCP (RFC 6062
//      §5.1) only over a TCP or TLS connection and without DONT-FRAGMENT, EVEN-PORT,
//      RESERVATION-TOKEN or ADDITIONAL-ADDRESS-FAMILY (400)
//   4. DONT-FRAGMENT: supported, remembered for the relay socket
//   -  EVEN-PORT, RESERVATION-TOKEN and the two address-family attributes: 400 when malformed
//   5. RESERVATION-TOKEN: 400 together with EVEN-PORT or an address family
//   6. REQUESTED- and ADDITIONAL-ADDRESS-FAMILY together: 400
//   7. REQUESTED-ADDRESS-FAMILY: 440 for a family that is not IPv4/IPv6
//   8. EVEN-PORT with the R bit and ADDITIONAL-ADDRESS-FAMILY: 400
//   9. ADDITIONAL-ADDRESS-FAMILY other than IPv6: 400
//   7. (its second half, after 8 and 9) 440 when this server cannot relay the family
//  10. quotas: 486 for the user's, 508 for the server's
//  then the relayed address (reservation token, even port pair, even port, any: 508 when none),
//  the second relay of a dual allocation (§7.2 step 9, partial failure in ADDRESS-ERROR-CODE),
//  the lifetime (§7.2 "time-to-expiry") and the success response, kept for retransmissions.
// The order of the checks is the order of the error codes a client sees; tests pin it.
#include <spdlog/spdlog.h>

#include "server/handlers/lifetime.hpp"
#include "server/handlers/turn_reply.hpp"
#include "server/log_text.hpp"
#include "server/relay/relay_socket.hpp"
#include "server/relay/tcp_relay.hpp"

namespace turnd::server::handlers {

using namespace protocol;

namespace {

constexpr std::uint8_t kFamilyV4 = 1, kFamilyV6 = 2;
constexpr std::chrono::seconds kEvenPairReservation{30};  // §7.2: held "at least 30 seconds"

using Check = std::optional<StunError>;  // nullopt: the step passed

/// The attributes steps 5-9 read, decoded (each absent or well-formed).
struct AllocateAttributes {
  std::optional<EvenPort> even_port;
  std::optional<ReservationToken> token;
  std::optional<RequestedAddressFamily> family;
  std::optional<AdditionalAddressFamily> additional;
};

/// What the request asks for once steps 3-9 passed.
struct AllocateOptions {
  bool tcp = false;  // RFC 6062: the relayed address is a TCP one
  bool dont_fragment = false;
  std::optional<EvenPort> even_port;
  std::optional<ReservationToken> token;
  Family primary = Family::V4;
  bool additional_v6 = false;
};

// Step 2: the 5-tuple is in use. A retransmission of the Allocate that made the allocation gets
// the same answer; anything else is 437 (Allocation Mismatch).
// RFC 8489 §10: 300 (Try Alternate) names another server; signed like every error to an
// authenticated request. Without one of the client's family: 508, as when the server is full.
ByteSpan answer_draining(const TurnRequest& req, ShardState& shard, MutableByteSpan out) {
  for (const auto& alternate : shard.config().alternate_servers) {
    if (alternate.ip.family != req.ctx.client.ip.family) continue;
    auto b = begin_error(req.msg, StunError::TryAlternate, out);
    b.add(AlternateServer{alternate});
    return finish_response(b, req.msg, shard.software(), signing_of(req));
  }
  return turn_error(req, StunError::InsufficientCapacity, shard, out);
}

ByteSpan answer_five_tuple_in_use(const Allocation& existing, const TurnRequest& req,
                                  ShardState& shard, MutableByteSpan out) {
  if (existing.last_transaction == req.msg.transaction_id() && !existing.last_response.empty())
    return existing.last_response;
  return turn_error(req, StunError::AllocationMismatch, shard, out);
}

// Step 3: REQUESTED-TRANSPORT present, UDP or TCP. RFC 6062 §5.1: TCP only when the client
// itself uses TCP or TLS, and without the attributes that make sense for UDP only.
Check check_requested_transport(const MessageView& msg, Transport client) {
  auto transport = msg.get<RequestedTransport>();
  if (!transport) return StunError::BadRequest;
  if (transport->value == kProtocolUdp) return std::nullopt;
  if (transport->value != kProtocolTcp) return StunError::UnsupportedTransportProtocol;
  if (client != Transport::Tcp && client != Transport::Tls) return StunError::BadRequest;
  for (auto t : {AttrType::DontFragment, AttrType::EvenPort, AttrType::ReservationToken,
                 AttrType::AdditionalAddressFamily})
    if (msg.has(t)) return StunError::BadRequest;
  return std::nullopt;
}

// Decodes the attributes of steps 5-9; any of them malformed is 400, before the steps look at
// how they combine.
Result<AllocateAttributes, StunError> decode_attributes(const MessageView& msg) {
  auto even = msg.get<EvenPort>();
  auto token = msg.get<ReservationToken>();
  auto family = msg.get<RequestedAddressFamily>();
  auto additional = msg.get<AdditionalAddressFamily>();
  if ((!even && even.error() == AttrError::Malformed) ||
      (!token && token.error() == AttrError::Malformed) ||
      (!family && family.error() == AttrError::Malformed) ||
      (!additional && additional.error() == AttrError::Malformed))
    return unexpected(StunError::BadRequest);
  AllocateAttributes a;
  if (even) a.even_port = *even;
  if (token) a.token = *token;
  if (family) a.family = *family;
  if (additional) a.additional = *additional;
  return a;
}

// Step 5: a RESERVATION-TOKEN stands alone. (Whether it is still valid is known only when it is
// redeemed: `open_primary_relay`.)
Check check_reservation_token(const AllocateAttributes& a) {
  if (a.token && (a.even_port || a.family || a.additional)) return StunError::BadRequest;
  return std::nullopt;
}

// Step 6: one address family attribute at most.
Check check_both_families(const AllocateAttributes& a) {
  if (a.family && a.additional) return StunError::BadRequest;
  return std::nullopt;
}

// Step 7, the attribute: REQUESTED-ADDRESS-FAMILY names IPv4 or IPv6.
Check check_requested_family(const AllocateAttributes& a) {
  if (a.family && a.family->value != kFamilyV4 && a.family->value != kFamilyV6)
    return StunError::AddressFamilyNotSupported;
  return std::nullopt;
}

// Step 8: a reservation (R bit) cannot cover a dual-family allocation.
Check check_even_port(const AllocateAttributes& a) {
  if (a.even_port && a.even_port->reserve_next && a.additional) return StunError::BadRequest;
  return std::nullopt;
}

// Step 9: the additional family can only be IPv6 (the primary one is IPv4).
Check check_additional_family(const AllocateAttributes& a) {
  if (a.additional && a.additional->value != kFamilyV6) return StunError::BadRequest;
  return std::nullopt;
}

// Steps 3-9 on the request's attributes, in the order above.
Result<AllocateOptions, StunError> read_options(const MessageView& msg, Transport client) {
  if (auto e = check_requested_transport(msg, client)) return unexpected(*e);
  AllocateOptions o;
  o.tcp = msg.get<RequestedTransport>()->value == kProtocolTcp;
  o.dont_fragment = msg.has(AttrType::DontFragment);  // step 4
  auto a = decode_attributes(msg);
  if (!a) return unexpected(a.error());
  for (auto* check : {check_reservation_token, check_both_families, check_requested_family,
                      check_even_port, check_additional_family})
    if (auto e = check(*a)) return unexpected(*e);
  o.even_port = a->even_port;
  o.token = a->token;
  if (a->family && a->family->value == kFamilyV6) o.primary = Family::V6;
  o.additional_v6 = a->additional.has_value();
  return o;
}

/// Step 7, the server: the local IP to relay `family` from: a configured relay IP, else the
/// address the client reached us on, else a specific listen address. nullopt: this server
/// cannot relay that family (440).
std::optional<IpAddress> relay_ip_for(Family family, const ClientContext& ctx,
                                      const config::Config& config) {
  for (const auto& ip : config.relay_ips)
    if (ip.family == family) return ip;
  if (ctx.local.ip.family == family && !ctx.local.ip.is_unspecified()) return ctx.local.ip;
  for (const auto& l : config.listen)
    if (l.ip.family == family && !l.ip.is_unspecified()) return l.ip;
  return std::nullopt;
}

// Step 10: one more allocation for the user (486 over its quota) and the server (508).
Check take_quota(ShardState& shard, const std::string& quota_user) {
  switch (shard.services().quotas.acquire(quota_user)) {
    case QuotaRegistry::Verdict::Ok:
      return std::nullopt;
    case QuotaRegistry::Verdict::UserQuota:
      return StunError::AllocationQuotaReached;
    case QuotaRegistry::Verdict::TotalQuota:
      return StunError::InsufficientCapacity;
  }
  return std::nullopt;
}

/// Behind 1:1 NAT the relayed address clients must use is the public one (--external-ip).
TransportAddress advertised(const TransportAddress& bound, const config::Config& config) {
  for (const auto& e : config.external_ips) {
    if (e.public_ip.family != bound.ip.family) continue;
    if (!e.private_ip || *e.private_ip == bound.ip) return {e.public_ip, bound.port};
  }
  return bound;
}

std::optional<RelayEndpoint> open_relay(ShardState& shard, const relay::OpenRequest& request) {
  auto relay = relay::open_relay_socket(shard.io(), shard.services().ports, request,
                                        shard.counters().relay_open_failed);
  if (relay) relay->advertised = advertised(relay->bound, shard.config());
  return relay;
}

// The relayed transport address (§7.2 after the checks): the reserved port of a
// RESERVATION-TOKEN (step 5: an invalid token is 508), an even port N whose N+1 is reserved
// for 30 s (EVEN-PORT with R; `pair` gets the token), an even port (EVEN-PORT), or any port.
// nullopt: 508 (Insufficient Capacity).
std::optional<RelayEndpoint> open_primary_relay(ShardState& shard, const AllocateOptions& o,
                                                const IpAddress& ip, SteadyTime now,
                                                std::optional<RelayPortPool::EvenPair>& pair,
                                                Allocation& a) {
  auto& ports = shard.services().ports;
  if (o.tcp) {  // RFC 6062: a listening TCP socket on the relayed address
    auto t =
        relay::open_tcp_relay_socket(shard.io(), ports, ip, shard.counters().relay_open_failed);
    if (!t) return std::nullopt;
    t->endpoint.advertised = advertised(t->endpoint.bound, shard.config());
    a.tcp = std::make_shared<relay::TcpAllocation>(
        std::move(t->acceptor), shard.config().max_tcp_connections_per_allocation);
    return std::move(t->endpoint);
  }
  if (o.token) {
    ReservationTokenBytes token;
    std::copy_n(o.token->value.begin(), token.size(), token.begin());
    const auto port = ports.redeem(token, now);
    if (!port) return std::nullopt;
    return open_relay(shard, {ip, *port, false, o.dont_fragment});
  }
  if (o.even_port && o.even_port->reserve_next) {
    pair = ports.take_even_pair(now + kEvenPairReservation);
    if (!pair) return std::nullopt;
    return open_relay(shard, {ip, pair->port, true, o.dont_fragment});
  }
  return open_relay(shard, {ip, 0, o.even_port.has_value(), o.dont_fragment});
}

// Step 9, the relay: the IPv6 relay of a dual allocation. Failing it is reported in
// ADDRESS-ERROR-CODE (440 no IPv6 here, 508 no port) and the IPv4 allocation still succeeds.
Check open_additional_relay(ShardState& shard, const ClientContext& ctx, Allocation& a) {
  const auto ip6 = relay_ip_for(Family::V6, ctx, shard.config());
  if (!ip6) return StunError::AddressFamilyNotSupported;
  auto second = open_relay(shard, {*ip6, 0, false, false});
  if (!second) return StunError::InsufficientCapacity;
  a.relays.push_back(std::move(*second));
  return std::nullopt;
}

/// Holds what an Allocate took (the quota slot, relay ports) until the allocation is in the
/// table; an error answer or an exception on the way gives it all back.
class PendingAllocation {
 public:
  PendingAllocation(ShardState& shard, std::string user)
      : shard_(shard), user_(std::move(user)), a_(std::make_unique<Allocation>()) {}
  ~PendingAllocation() {
    if (!a_) return;
    for (auto& r : a_->relays) relay::close_relay_socket(r, shard_.services().ports);
    shard_.services().quotas.release(user_);
  }
  PendingAllocation(const PendingAllocation&) = delete;
  PendingAllocation& operator=(const PendingAllocation&) = delete;
  Allocation& operator*() noexcept { return *a_; }
  Allocation* operator->() noexcept { return a_.get(); }
  std::unique_ptr<Allocation> commit() noexcept { return std::move(a_); }

 private:
  ShardState& shard_;
  std::string user_;
  std::unique_ptr<Allocation> a_;
};

// "The 5-tuple is set to the 5-tuple from the Allocate request": who owns the allocation, the
// key its later requests are checked against, and when it expires.
void fill_allocation(Allocation& a, const TurnRequest& req, std::string quota_user,
                     std::uint64_t id, SteadyTime now, std::chrono::seconds lifetime) {
  a.id = id;
  a.five_tuple = req.five_tuple;
  a.sink = req.ctx.sink;
  a.username = req.auth.username;
  a.quota_user = std::move(quota_user);
  a.key = req.auth.key;
  a.alg = req.auth.alg;
  a.credential_expires = req.auth.expires;
  a.created_at = now;
  a.expires_at = now + lifetime;
}

// The success response: XOR-RELAYED-ADDRESS per relay, ADDRESS-ERROR-CODE for a dual
// allocation's failed half, LIFETIME, RESERVATION-TOKEN of an even pair, XOR-MAPPED-ADDRESS.
ByteSpan build_allocate_success(const TurnRequest& req, const Allocation& a, Check additional_error,
                                std::chrono::seconds lifetime,
                                const std::optional<RelayPortPool::EvenPair>& pair,
                                ShardState& shard, MutableByteSpan out) {
  auto b = begin_response(req.msg, Class::SuccessResponse, out);
  for (const auto& r : a.relays) b.add(XorRelayedAddress{r.advertised});
  if (additional_error)
    b.add(AddressErrorCode{kFamilyV6, static_cast<std::uint16_t>(*additional_error),
                           reason_phrase(*additional_error)});
  b.add(Lifetime{static_cast<std::uint32_t>(lifetime.count())});
  if (pair) b.add(protocol::ReservationToken{ByteSpan{pair->token}});
  b.add(XorMappedAddress{req.ctx.client});
  return finish_response(b, req.msg, shard.software(), signing_of(req));
}

void log_created(const Allocation& a, const TurnRequest& req, std::chrono::seconds lifetime) {
  std::string relayed;
  for (const auto& r : a.relays)
    relayed += (relayed.empty() ? "" : ", ") + r.advertised.to_string();
  spdlog::info("allocation {} created: user \"{}\" client {} {} relay {}{} lifetime {}s", a.id,
               logsafe(a.username), to_string(req.ctx.transport), req.ctx.client.to_string(),
               a.tcp ? "tcp " : "", relayed, lifetime.count());
}

}  // namespace

ByteSpan handle_allocate(const TurnRequest& req, ShardState& shard, MutableByteSpan out) {
  auto& table = shard.allocations();
  const auto& config = shard.config();
  if (const Allocation* existing = table.find(req.five_tuple))  // step 2
    return answer_five_tuple_in_use(*existing, req, shard, out);
  if (shard.services().draining.load(std::memory_order_relaxed))
    return answer_draining(req, shard, out);
  const auto options = read_options(req.msg, req.ctx.transport);  // steps 3-9
  if (!options) return turn_error(req, options.error(), shard, out);
  const auto primary_ip = relay_ip_for(options->primary, req.ctx, config);  // step 7
  if (!primary_ip) return turn_error(req, StunError::AddressFamilyNotSupported, shard, out);
  std::string quota_user{req.auth.quota_user()};
  if (auto e = take_quota(shard, quota_user)) return turn_error(req, *e, shard, out);  // step 10

  const SteadyTime now = shard.now().steady();
  PendingAllocation a{shard, quota_user};
  std::optional<RelayPortPool::EvenPair> pair;
  auto primary = open_primary_relay(shard, *options, *primary_ip, now, pair, *a);
  if (!primary) return turn_error(req, StunError::InsufficientCapacity, shard, out);
  a->relays.push_back(std::move(*primary));
  const Check additional_error =
      options->additional_v6 ? open_additional_relay(shard, req.ctx, *a) : std::nullopt;

  const auto lifetime = granted_lifetime(req.msg, req.auth, config, shard.now().wall_seconds());
  fill_allocation(*a, req, std::move(quota_user), table.next_id(), now, lifetime);
  const auto reply = build_allocate_success(req, *a, additional_error, lifetime, pair, shard, out);
  a->last_transaction = req.msg.transaction_id();
  a->last_response.assign(reply.begin(), reply.end());
  log_created(*a, req, lifetime);
  Allocation& inserted = table.insert(a.commit());
  if (inserted.tcp)
    shard.tcp_relay().start(inserted);
  else
    shard.relay().watch(inserted);
  return inserted.last_response;
}

}  // namespace turnd::server::handlers
