// Writes one STUN message into a caller's buffer, keeping the header length right and the
// trailing attributes in RFC order: MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256, FINGERPRINT.
#pragma once

#include "protocol/bytes.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_view.hpp"

namespace turnd::protocol {

enum class BuildError : std::uint8_t { BufferTooSmall, BadOrder, IntegrityFailed };

class MessageBuilder {
 public:
  /// Starts a message in `out`. `cookie` is kMagicCookie except when answering an RFC 3489
  /// client, whose 128-bit transaction id is echoed as cookie + id.
  MessageBuilder(MutableByteSpan out, MessageType type, const TransactionId& id,
                 std::uint32_t cookie = kMagicCookie) noexcept;

  template <class A>
  MessageBuilder& add(const A& attr) noexcept {
    if (!accepts(A::kType)) return *this;
    const std::size_t start = begin_attribute(A::kType);
    attr.encode(w_, header_);
    end_attribute(start);
    return *this;
  }
  /// Copies an attribute as raw bytes (unmodelled attributes, tests).
  MessageBuilder& add_raw(std::uint16_t type, ByteSpan value) noexcept;
  /// Appends MESSAGE-INTEGRITY (Sha1) or MESSAGE-INTEGRITY-SHA256 computed with `key`.
  MessageBuilder& add_integrity(ByteSpan key, IntegrityAlg alg) noexcept;
  /// Appends FINGERPRINT; nothing may follow.
  MessageBuilder& add_fingerprint() noexcept;

  /// The finished message (a view into `out`), or why it could not be built.
  Result<ByteSpan, BuildError> finish() noexcept;
  std::size_t size() const noexcept { return w_.position(); }

 private:
  enum class Stage : std::uint8_t { Attributes, AfterIntegrity, AfterIntegritySha256, Closed };
  bool accepts(AttrType type) noexcept;
  std::size_t begin_attribute(AttrType type) noexcept;
  void end_attribute(std::size_t start) noexcept;
  void set_length() noexcept;

  ByteWriter w_;
  Header header_;
  Stage stage_ = Stage::Attributes;
  bool failed_order_ = false;
  bool failed_integrity_ = false;
};

}  // namespace turnd::protocol
