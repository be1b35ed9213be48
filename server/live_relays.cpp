#include "server/live_relays.hpp"

namespace turnd::server {

const LiveRelays::Slot* LiveRelays::find(const protocol::IpAddress& ip) const noexcept {
  const std::size_t n = count_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < n; ++i)
    if (slots_[i]->ip == ip) return slots_[i].get();
  return nullptr;
}

bool LiveRelays::add(const protocol::TransportAddress& addr, std::optional<unsigned> owner) {
  const protocol::IpAddress ip = addr.ip.unmapped();
  Slot* slot = const_cast<Slot*>(find(ip));
  if (slot == nullptr) {
    std::lock_guard lock{mutex_};
    slot = const_cast<Slot*>(find(ip));  // another shard may have added it meanwhile
    if (slot == nullptr) {
      const std::size_t n = count_.load(std::memory_order_relaxed);
      if (n == kMaxIps) return false;
      slots_[n] = std::make_unique<Slot>();
      slots_[n]->ip = ip;
      slot = slots_[n].get();
      count_.store(n + 1, std::memory_order_release);  // publishes the slot to readers
    }
  }
  const bool in_process = owner && *owner + 1u < kKernelOnly;
  slot->ports[addr.port].store(in_process ? static_cast<std::uint16_t>(*owner + 1u) : kKernelOnly,
                               std::memory_order_relaxed);
  return true;
}

void LiveRelays::remove(const protocol::TransportAddress& addr) noexcept {
  if (Slot* slot = const_cast<Slot*>(find(addr.ip.unmapped())))
    slot->ports[addr.port].store(0, std::memory_order_relaxed);
}

std::uint16_t LiveRelays::entry(const protocol::TransportAddress& addr) const noexcept {
  const Slot* slot = find(addr.ip.unmapped());
  return slot == nullptr ? 0 : slot->ports[addr.port].load(std::memory_order_relaxed);
}

}  // namespace turnd::server
