// Building responses to a request: same transaction id (and RFC 3489 cookie), the common
// trailing attributes (SOFTWARE, integrity, FINGERPRINT when the request carried one).
#pragma once

#include "protocol/error_codes.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"

namespace turnd::server {

/// The key and algorithm that authenticated a request; responses are signed the same way.
struct ResponseSigning {
  const protocol::IntegrityKey* key = nullptr;
  protocol::IntegrityAlg alg = protocol::IntegrityAlg::Sha1;
};

protocol::MessageBuilder begin_response(const protocol::MessageView& request, protocol::Class cls,
                                        protocol::MutableByteSpan out) noexcept;
/// An error response with ERROR-CODE already added.
protocol::MessageBuilder begin_error(const protocol::MessageView& request, protocol::StunError e,
                                     protocol::MutableByteSpan out) noexcept;
/// Adds SOFTWARE (if configured), MESSAGE-INTEGRITY(-SHA256) when signing, FINGERPRINT when
/// the request had one; returns the finished bytes or an empty span if it could not be built.
protocol::ByteSpan finish_response(protocol::MessageBuilder& b,
                                   const protocol::MessageView& request, std::string_view software,
                                   const ResponseSigning& signing = {}) noexcept;

}  // namespace turnd::server
