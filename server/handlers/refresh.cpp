// Refresh (RFC 8656 §7.3): extend an allocation, or delete it with LIFETIME 0.
#include <spdlog/spdlog.h>

#include "server/handlers/lifetime.hpp"
#include "server/handlers/turn_reply.hpp"
#include "server/log_text.hpp"

namespace turnd::server::handlers {

using namespace protocol;

ByteSpan handle_refresh(const TurnRequest& req, Allocation& a, ShardState& shard,
                        MutableByteSpan out) {
  // §7.3: a REQUESTED-ADDRESS-FAMILY the allocation has no relay for is a 443.
  if (auto family = req.msg.get<RequestedAddressFamily>()) {
    if ((family->value != 1 && family->value != 2) ||
        a.relay_for(static_cast<Family>(family->value)) == nullptr)
      return turn_error(req, StunError::PeerAddressFamilyMismatch, shard, out);
  }
  const auto requested = req.msg.get<Lifetime>();
  if (requested && requested->value == 0) {
    auto b = begin_response(req.msg, Class::SuccessResponse, out);
    b.add(Lifetime{0});
    auto reply = finish_response(b, req.msg, shard.software(), signing_of(req));
    shard.allocations().remove(a, "deleted by the client");
    return reply;
  }
  const auto lifetime =
      granted_lifetime(req.msg, req.auth, shard.config(), shard.now().wall_seconds());
  a.expires_at = shard.now().steady() + lifetime;
  a.credential_expires = req.auth.expires;
  // Debug, not info: a client may refresh as often as it likes, and must not fill the log.
  spdlog::debug("allocation {} refreshed: user \"{}\" client {} {} lifetime {}s", a.id,
                logsafe(a.username), to_string(a.five_tuple.transport),
                a.five_tuple.client.to_string(), lifetime.count());
  auto b = begin_response(req.msg, Class::SuccessResponse, out);
  b.add(Lifetime{static_cast<std::uint32_t>(lifetime.count())});
  return finish_response(b, req.msg, shard.software(), signing_of(req));
}

}  // namespace turnd::server::handlers
