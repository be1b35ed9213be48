// Binding (RFC 8489 §6.3.1): answer with the reflexive transport address.
#include "protocol/attributes/all.hpp"
#include "server/handlers/handlers.hpp"
#include "server/response.hpp"

namespace turnd::server::handlers {

using namespace protocol;

ByteSpan handle_binding(const MessageView& request, const ClientContext& ctx, ShardState& shard,
                        MutableByteSpan out) noexcept {
  auto b = begin_response(request, Class::SuccessResponse, out);
  if (request.has_magic_cookie()) {
    b.add(XorMappedAddress{ctx.client});
  } else {
    b.add(MappedAddress{ctx.client});  // RFC 3489 client: it knows only MAPPED-ADDRESS
  }
  return finish_response(b, request, shard.software());
}

}  // namespace turnd::server::handlers
