#include "server/nat_discovery.hpp"

#include <stdexcept>

#include "protocol/attributes/all.hpp"
#include "server/shard_state.hpp"

namespace turnd::server {

using namespace protocol;

namespace {

std::optional<config::NatDiscoveryAddresses> addresses_of(const config::Config& config) {
  auto a = config::nat_discovery_addresses(config);
  if (!a) throw std::invalid_argument("alternate_listen: " + a.error());
  return *a;
}

bool is_rfc5780_request_attribute(std::uint16_t type) noexcept {
  const auto t = static_cast<AttrType>(type);
  return t == AttrType::ChangeRequest || t == AttrType::ResponsePort || t == AttrType::Padding;
}

/// A CHANGE-REQUEST without a flag, or a malformed one (the Binding handler answers 400).
bool asks_for_nothing(const MessageView& msg, const RawAttribute& a) noexcept {
  if (a.type != static_cast<std::uint16_t>(AttrType::ChangeRequest)) return false;
  auto cr = ChangeRequest::decode(a.value, msg.header());
  return cr && !cr->change_ip && !cr->change_port;
}

}  // namespace

NatDiscovery::NatDiscovery(const config::Config& config) : addresses_(addresses_of(config)) {}

std::optional<DiscoveryRole> NatDiscovery::role_of(const TransportAddress& local) const noexcept {
  if (!addresses_) return std::nullopt;
  for (std::size_t r = 0; r < 4; ++r) {
    const auto role = static_cast<DiscoveryRole>(r);
    if (addresses_->has(role) && addresses_->at[r] == local) return role;
  }
  return std::nullopt;
}

bool NatDiscovery::binding_only(const TransportAddress& local) const noexcept {
  const auto role = role_of(local);
  return role && !addresses_->is_listen[index(*role)];
}

UnknownList NatDiscovery::unknown_attributes(const MessageView& msg,
                                             const ClientContext& ctx) const noexcept {
  UnknownList out;
  for (std::uint16_t t : msg.unknown_required()) out.types[out.count++] = t;
  const bool binding = msg.method() == static_cast<std::uint16_t>(Method::Binding);
  const bool served = binding && role_of(ctx.local).has_value();
  if (served) return out;
  for (const RawAttribute& a : msg.attributes()) {
    if (!is_rfc5780_request_attribute(a.type) || (binding && asks_for_nothing(msg, a))) continue;
    if (out.count < out.types.size()) out.types[out.count++] = a.type;
  }
  return out;
}

ByteSpan deliver(const NatReplyRoute& route, ByteSpan reply, ShardState& shard) noexcept {
  // The counter of each NatReplyKind, in the enum's order.
  static constexpr Counter ShardCounters::*kCounters[] = {
      nullptr,
      &ShardCounters::nat_discovery_plain,
      &ShardCounters::nat_discovery_change_ip,
      &ShardCounters::nat_discovery_change_port,
      &ShardCounters::nat_discovery_change_ip_port,
      &ShardCounters::nat_discovery_response_port,
      &ShardCounters::nat_discovery_padding};
  if (route.kind == NatReplyKind::None || reply.empty()) return reply;
  ++(shard.counters().*kCounters[static_cast<std::size_t>(route.kind)]);
  if (route.fd < 0) return reply;
  // A specific bind: the kernel sends from the socket's own address, the one RESPONSE-ORIGIN
  // names.
  shard.sends().enqueue(route.fd, reply, route.to, nullptr);
  return {};
}

}  // namespace turnd::server
