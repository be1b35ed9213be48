// One allocation as the admin API shows it (GET /api/v1/allocations): who, from where, relayed
// where, over what, since when and until when, its permissions and channels, and live packet
// and byte counters each way. Built on the shard's thread (the counters are its own).
#pragma once

#include <boost/json/object.hpp>

#include "server/allocation.hpp"
#include "server/clock.hpp"

namespace turnd::server {

/// Fields: id, username, user (quota user id), transport, client, server, relayed [..],
/// age_seconds, expires_in_seconds, credential_expires (unix seconds or null),
/// permissions [{peer, expires_in_seconds}], channels [{number, peer, expires_in_seconds}],
/// to_peer {packets, bytes}, from_peer {packets, bytes}. Client-chosen text (username) is
/// carried as a JSON string, escaped by the serializer, bytes that are not UTF-8 as U+FFFD.
boost::json::object describe(const Allocation& a, const EventClock& now);

}  // namespace turnd::server
