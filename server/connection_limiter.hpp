// Stream connections (TCP now, TLS later) per source IP (IPv6 /64) and in total, across all
// shards. Taken once per accepted connection and given back when it closes: never per packet,
// so a mutex (and a virtual call from the listener) is fine here.
#pragma once

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "protocol/transport_address.hpp"
#include "server/io/connection_limits.hpp"
#include "server/source_key.hpp"

namespace turnd::server {

class ConnectionLimiter final : public io::ConnectionLimits {
 public:
  /// 0 means unlimited for either limit.
  /// `limit_loopback` false: loopback sources count only against the total.
  ConnectionLimiter(unsigned per_source, unsigned total, bool limit_loopback = true)
      : per_source_(per_source), total_limit_(total), limit_loopback_(limit_loopback) {}

  Verdict acquire(const protocol::IpAddress& source) override;
  void release(const protocol::IpAddress& source) noexcept override;
  unsigned open() const noexcept { return total_.load(std::memory_order_relaxed); }
  /// A reload's new limits; open connections stay, new ones are counted against these.
  void set_limits(unsigned per_source, unsigned total, bool limit_loopback);

 private:
  unsigned per_source_, total_limit_;  // guarded by mutex_, like by_source_
  bool limit_loopback_;
  std::atomic<unsigned> total_{0};
  std::mutex mutex_;
  std::unordered_map<SourceKey, unsigned, SourceKeyHash> by_source_;
};

}  // namespace turnd::server
