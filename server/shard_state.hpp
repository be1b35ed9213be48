// Everything one shard's handlers read and change. Owned by the shard's thread only.
#pragma once

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <string>

#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "server/allocation_table.hpp"
#include "server/io/batch_io.hpp"
#include "server/metrics.hpp"
#include "server/reply_limiter.hpp"
#include "server/services.hpp"

namespace turnd::server {

class ShardState {
 public:
  ShardState(unsigned shard_id, boost::asio::io_context& io, SharedServices& services)
      : id_(shard_id),
        services_(services),
        auth_(services.auth_options, services.credentials, services.nonces),
        allocations_(io, services, sends_, counters_),
        unauthenticated_bytes_(services.config.max_unauthenticated_bytes_per_second /
                               std::max(1u, services.config.threads)) {}

  unsigned id() const noexcept { return id_; }
  const config::Config& config() const noexcept { return services_.config; }
  std::string_view software() const noexcept { return services_.config.software; }
  SharedServices& services() noexcept { return services_; }
  auth::Authenticator& auth() noexcept { return auth_; }
  AllocationTable& allocations() noexcept { return allocations_; }
  io::SendBatch& sends() noexcept { return sends_; }
  /// This shard's share of the global cap on unauthenticated reply bytes.
  ReplyByteBudget& unauthenticated_bytes() noexcept { return unauthenticated_bytes_; }
  ShardCounters& counters() noexcept { return counters_; }
  const ShardCounters& counters() const noexcept { return counters_; }

 private:
  unsigned id_;
  SharedServices& services_;
  // Declared before allocations_, which keeps references to them.
  ShardCounters counters_;
  io::SendBatch sends_{counters_.send_dropped};
  auth::Authenticator auth_;
  AllocationTable allocations_;
  ReplyByteBudget unauthenticated_bytes_;
};

}  // namespace turnd::server
