#include "server/response.hpp"

#include "protocol/attributes/all.hpp"

namespace turnd::server {

using namespace protocol;

MessageBuilder begin_response(const MessageView& request, Class cls, MutableByteSpan out) noexcept {
  return MessageBuilder{out, MessageType{request.method(), cls}, request.transaction_id(),
                        request.header().cookie};
}

MessageBuilder begin_error(const MessageView& request, StunError e, MutableByteSpan out) noexcept {
  auto b = begin_response(request, Class::ErrorResponse, out);
  b.add(ErrorCode{static_cast<std::uint16_t>(e), reason_phrase(e)});
  return b;
}

ByteSpan finish_response(MessageBuilder& b, const MessageView& request, std::string_view software,
                         const ResponseSigning& signing) noexcept {
  if (!software.empty()) b.add(Software{software});
  if (signing.key != nullptr) b.add_integrity(signing.key->span(), signing.alg);
  if (request.has(AttrType::Fingerprint)) b.add_fingerprint();
  auto done = b.finish();
  return done ? *done : ByteSpan{};
}

}  // namespace turnd::server
