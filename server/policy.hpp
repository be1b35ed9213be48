// What a reload may change, as one immutable snapshot: the config and what is built from it
// once (the peer filter). The control thread builds a new Policy on SIGHUP and posts the same
// pointer to every shard; a shard swaps it between two events, so each request is handled
// under one policy from start to end, and the data path reads it without atomics or locks.
// Owner: any thread (immutable; shared_ptr).
#pragma once

#include <memory>

#include "config/config.hpp"
#include "server/peer_filter.hpp"

namespace turnd::server {

struct Policy {
  explicit Policy(config::Config c)
      : config(std::move(c)), peer_filter(config.allow_peers, config.deny_peers) {}

  const config::Config config;
  const PeerFilter peer_filter;
};
using PolicyPtr = std::shared_ptr<const Policy>;

inline PolicyPtr make_policy(config::Config c) {
  return std::make_shared<const Policy>(std::move(c));
}

}  // namespace turnd::server
