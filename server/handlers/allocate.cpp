// Allocate (RFC 8656 §7.2): reserve relayed transport address(es) for a client's 5-tuple.
#include <spdlog/spdlog.h>

#include "server/handlers/lifetime.hpp"
#include "server/handlers/turn_reply.hpp"
#include "server/log_text.hpp"
#include "server/relay/relay_socket.hpp"

namespace turnd::server::handlers {

using namespace protocol;

namespace {

constexpr std::uint8_t kFamilyV4 = 1, kFamilyV6 = 2;

/// The options of an Allocate request after the RFC's consistency checks.
struct AllocateOptions {
  bool dont_fragment = false;
  std::optional<EvenPort> even_port;
  std::optional<ReservationToken> token;
  Family primary = Family::V4;
  bool additional_v6 = false;
};

Result<AllocateOptions, StunError> read_options(const MessageView& msg) {
  AllocateOptions o;
  auto transport = msg.get<RequestedTransport>();
  if (!transport) return unexpected(StunError::BadRequest);
  // TODO(#later): RFC 6062 TCP relaying; until then only UDP (§7.2 step 4).
  if (transport->value != kProtocolUdp) return unexpected(StunError::UnsupportedTransportProtocol);
  o.dont_fragment = msg.has(AttrType::DontFragment);

  auto even = msg.get<EvenPort>();
  auto token = msg.get<ReservationToken>();
  auto family = msg.get<RequestedAddressFamily>();
  auto additional = msg.get<AdditionalAddressFamily>();
  if ((!even && even.error() == AttrError::Malformed) ||
      (!token && token.error() == AttrError::Malformed) ||
      (!family && family.error() == AttrError::Malformed) ||
      (!additional && additional.error() == AttrError::Malformed))
    return unexpected(StunError::BadRequest);
  if (token && (even || family || additional)) return unexpected(StunError::BadRequest);
  if (family && additional) return unexpected(StunError::BadRequest);
  // §7.2 step 8: a reservation (R bit) cannot cover a dual-family allocation.
  if (even && even->reserve_next && additional) return unexpected(StunError::BadRequest);
  if (additional && additional->value != kFamilyV6) return unexpected(StunError::BadRequest);
  if (family && family->value != kFamilyV4 && family->value != kFamilyV6)
    return unexpected(StunError::AddressFamilyNotSupported);
  if (even) o.even_port = *even;
  if (token) o.token = *token;
  if (family && family->value == kFamilyV6) o.primary = Family::V6;
  o.additional_v6 = additional.has_value();
  return o;
}

/// The local IP to relay from for `family`: a configured relay IP, else the address the client
/// reached us on, else a specific listen address. nullopt: this server cannot relay that family.
std::optional<IpAddress> relay_ip_for(Family family, const ClientContext& ctx,
                                      const config::Config& config) {
  for (const auto& ip : config.relay_ips)
    if (ip.family == family) return ip;
  if (ctx.local.ip.family == family && !ctx.local.ip.is_unspecified()) return ctx.local.ip;
  for (const auto& l : config.listen)
    if (l.ip.family == family && !l.ip.is_unspecified()) return l.ip;
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
  return relay::open_relay_socket(shard.io(), shard.services().ports, request,
                                  shard.counters().relay_open_failed);
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
  Allocation* operator->() noexcept { return a_.get(); }
  std::unique_ptr<Allocation> commit() noexcept { return std::move(a_); }

 private:
  ShardState& shard_;
  std::string user_;
  std::unique_ptr<Allocation> a_;
};

}  // namespace

ByteSpan handle_allocate(const TurnRequest& req, ShardState& shard, MutableByteSpan out) {
  auto& table = shard.allocations();
  const auto& config = shard.config();
  if (Allocation* existing = table.find(req.five_tuple)) {
    // A retransmission of the Allocate that made it gets the same answer; anything else
    // on a 5-tuple in use is a mismatch (§7.2 step 2).
    if (existing->last_transaction == req.msg.transaction_id() && !existing->last_response.empty())
      return existing->last_response;
    return turn_error(req, StunError::AllocationMismatch, shard, out);
  }
  auto options = read_options(req.msg);
  if (!options) return turn_error(req, options.error(), shard, out);

  const auto primary_ip = relay_ip_for(options->primary, req.ctx, config);
  if (!primary_ip) return turn_error(req, StunError::AddressFamilyNotSupported, shard, out);

  const std::string quota_user{req.auth.quota_user()};
  switch (shard.services().quotas.acquire(quota_user)) {
    case QuotaRegistry::Verdict::Ok:
      break;
    case QuotaRegistry::Verdict::UserQuota:
      return turn_error(req, StunError::AllocationQuotaReached, shard, out);
    case QuotaRegistry::Verdict::TotalQuota:
      return turn_error(req, StunError::InsufficientCapacity, shard, out);
  }

  const SteadyTime now = shard.now().steady();
  PendingAllocation a{shard, quota_user};
  std::optional<RelayPortPool::EvenPair> pair;
  std::optional<RelayEndpoint> primary;
  if (options->token) {
    ReservationTokenBytes token;
    std::copy_n(options->token->value.begin(), token.size(), token.begin());
    if (auto port = shard.services().ports.redeem(token, now))
      primary = open_relay(shard, {*primary_ip, *port, false, options->dont_fragment});
  } else if (options->even_port && options->even_port->reserve_next) {
    pair = shard.services().ports.take_even_pair(now + std::chrono::seconds{30});
    if (pair) primary = open_relay(shard, {*primary_ip, pair->port, true, options->dont_fragment});
  } else {
    primary =
        open_relay(shard, {*primary_ip, 0, options->even_port.has_value(), options->dont_fragment});
  }
  if (!primary) return turn_error(req, StunError::InsufficientCapacity, shard, out);
  primary->advertised = advertised(primary->bound, config);
  a->relays.push_back(std::move(*primary));

  // ADDITIONAL-ADDRESS-FAMILY (§7.2 step 8): a second, IPv6 relay; failing it is reported in
  // ADDRESS-ERROR-CODE and the IPv4 allocation still succeeds.
  std::optional<StunError> additional_error;
  if (options->additional_v6) {
    auto ip6 = relay_ip_for(Family::V6, req.ctx, config);
    std::optional<RelayEndpoint> second;
    if (ip6) second = open_relay(shard, {*ip6, 0, false, false});
    if (second) {
      second->advertised = advertised(second->bound, config);
      a->relays.push_back(std::move(*second));
    } else {
      additional_error =
          ip6 ? StunError::InsufficientCapacity : StunError::AddressFamilyNotSupported;
    }
  }

  const auto lifetime = granted_lifetime(req.msg, req.auth, config, shard.now().wall_seconds());
  a->id = table.next_id();
  a->five_tuple = req.five_tuple;
  a->sink = req.ctx.sink;
  a->username = req.auth.username;
  a->quota_user = quota_user;
  a->key = req.auth.key;
  a->alg = req.auth.alg;
  a->credential_expires = req.auth.expires;
  a->created_at = now;
  a->expires_at = now + lifetime;

  auto b = begin_response(req.msg, Class::SuccessResponse, out);
  for (const auto& r : a->relays) b.add(XorRelayedAddress{r.advertised});
  if (additional_error)
    b.add(AddressErrorCode{kFamilyV6, static_cast<std::uint16_t>(*additional_error),
                           reason_phrase(*additional_error)});
  b.add(Lifetime{static_cast<std::uint32_t>(lifetime.count())});
  if (pair) b.add(protocol::ReservationToken{ByteSpan{pair->token}});
  b.add(XorMappedAddress{req.ctx.client});
  auto reply = finish_response(b, req.msg, shard.software(), signing_of(req));

  a->last_transaction = req.msg.transaction_id();
  a->last_response.assign(reply.begin(), reply.end());
  std::string relayed;
  for (const auto& r : a->relays)
    relayed += (relayed.empty() ? "" : ", ") + r.advertised.to_string();
  spdlog::info("allocation {} created: user \"{}\" client {} {} relay {} lifetime {}s", a->id,
               logsafe(a->username), to_string(req.ctx.transport), req.ctx.client.to_string(),
               relayed, lifetime.count());
  Allocation& inserted = table.insert(a.commit());
  shard.relay().watch(inserted);
  return inserted.last_response;
}

}  // namespace turnd::server::handlers
