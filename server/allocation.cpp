#include "server/allocation.hpp"

#include <algorithm>

namespace turnd::server {

RelayEndpoint* Allocation::relay_for(protocol::Family f) noexcept {
  for (auto& r : relays)
    if (r.bound.ip.family == f) return &r;
  return nullptr;
}

bool Allocation::has_permission(const protocol::IpAddress& peer, SteadyTime now) const noexcept {
  for (const auto& p : permissions)
    if (p.peer == peer) return now < p.expires_at;
  return false;
}

bool Allocation::has_room_for_permissions(std::size_t added, SteadyTime now, std::size_t max) {
  std::erase_if(permissions, [&](const Permission& p) { return now >= p.expires_at; });
  return permissions.size() + added <= max;
}

void Allocation::install_permission(const protocol::IpAddress& peer, SteadyTime now) {
  for (auto& p : permissions) {
    if (p.peer == peer) {
      p.expires_at = now + kPermissionLifetime;
      return;
    }
  }
  permissions.push_back({peer, now + kPermissionLifetime});
}

const ChannelBinding* Allocation::channel_by_number(std::uint16_t number,
                                                    SteadyTime now) const noexcept {
  for (const auto& c : channels)
    if (c.number == number) return c.active(now) ? &c : nullptr;
  return nullptr;
}

const ChannelBinding* Allocation::channel_by_peer(const protocol::TransportAddress& peer,
                                                  SteadyTime now) const noexcept {
  for (const auto& c : channels)
    if (c.peer == peer) return c.active(now) ? &c : nullptr;
  return nullptr;
}

}  // namespace turnd::server
