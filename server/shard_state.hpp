// Everything one shard's handlers read and change. Owned by the shard's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <string>

#include "auth/authenticator.hpp"
#include "config/config.hpp"
#include "server/allocation_table.hpp"
#include "server/io/batch_io.hpp"
#include "server/services.hpp"

namespace turnd::server {

struct ShardCounters {
  std::uint64_t requests = 0;
  std::uint64_t dropped_malformed = 0;
  std::uint64_t bad_requests = 0;
  std::uint64_t auth_failures = 0;
  std::uint64_t channel_data_dropped = 0;
};

class ShardState {
 public:
  ShardState(unsigned shard_id, boost::asio::io_context& io, SharedServices& services)
      : id_(shard_id),
        services_(services),
        auth_(services.auth_options, services.credentials, services.nonces),
        allocations_(io, services, sends_) {}

  unsigned id() const noexcept { return id_; }
  const config::Config& config() const noexcept { return services_.config; }
  std::string_view software() const noexcept { return services_.config.software; }
  SharedServices& services() noexcept { return services_; }
  auth::Authenticator& auth() noexcept { return auth_; }
  AllocationTable& allocations() noexcept { return allocations_; }
  io::SendBatch& sends() noexcept { return sends_; }
  ShardCounters& counters() noexcept { return counters_; }

 private:
  unsigned id_;
  SharedServices& services_;
  io::SendBatch sends_;  // declared before allocations_, which keeps a reference to it
  auth::Authenticator auth_;
  AllocationTable allocations_;
  ShardCounters counters_;
};

}  // namespace turnd::server
