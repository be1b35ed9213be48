// MESSAGE-INTEGRITY (RFC 8489 §14.5), MESSAGE-INTEGRITY-SHA256 (§14.6), FINGERPRINT (§14.7),
// PASSWORD-ALGORITHM (§14.12) and PASSWORD-ALGORITHMS (§14.11) as values. Computing and checking
// the MACs lives in protocol/integrity.hpp; MessageBuilder writes these attributes itself.
#pragma once

#include "protocol/message_view.hpp"

namespace turnd::protocol {

struct MessageIntegrity {
  static constexpr AttrType kType = AttrType::MessageIntegrity;
  ByteSpan mac;
  static Result<MessageIntegrity, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 20) return unexpected(AttrError::Malformed);
    return MessageIntegrity{v};
  }
};

struct MessageIntegritySha256 {
  static constexpr AttrType kType = AttrType::MessageIntegritySha256;
  ByteSpan mac;
  static Result<MessageIntegritySha256, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() < 16 || v.size() > 32 || v.size() % 4 != 0)
      return unexpected(AttrError::Malformed);
    return MessageIntegritySha256{v};
  }
};

struct Fingerprint {
  static constexpr AttrType kType = AttrType::Fingerprint;
  std::uint32_t value = 0;
  static Result<Fingerprint, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() != 4) return unexpected(AttrError::Malformed);
    return Fingerprint{load_u32(v.data())};
  }
};

enum class PasswordAlgorithmId : std::uint16_t { Md5 = 0x0001, Sha256 = 0x0002 };

/// | Algorithm (16) | Parameters Length (16) | Parameters (padded) |
struct PasswordAlgorithm {
  static constexpr AttrType kType = AttrType::PasswordAlgorithm;
  std::uint16_t algorithm = 0;
  ByteSpan parameters;
  static Result<PasswordAlgorithm, AttrError> decode(ByteSpan v, const Header&) noexcept {
    if (v.size() < 4) return unexpected(AttrError::Malformed);
    const std::uint16_t len = load_u16(v.data() + 2);
    if (v.size() != 4 + ((len + 3u) & ~3u)) return unexpected(AttrError::Malformed);
    return PasswordAlgorithm{load_u16(v.data()), v.subspan(4, len)};
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    w.write_u16(algorithm);
    w.write_u16(static_cast<std::uint16_t>(parameters.size()));
    w.write_bytes(parameters);
    w.write_zeros((4 - parameters.size() % 4) % 4);
  }
};

/// A list of PASSWORD-ALGORITHM entries. Encoded from the algorithms the server offers
/// (none of which take parameters); decoded as the raw value, walked with for_each.
struct PasswordAlgorithms {
  static constexpr AttrType kType = AttrType::PasswordAlgorithms;
  std::span<const PasswordAlgorithmId> offered;
  ByteSpan raw;

  static Result<PasswordAlgorithms, AttrError> decode(ByteSpan v, const Header&) noexcept {
    ByteReader r{v};
    while (r.remaining() > 0) {
      std::uint16_t alg = 0, len = 0;
      ByteSpan params;
      if (!r.read_u16(alg) || !r.read_u16(len) || !r.read_bytes((len + 3u) & ~3u, params))
        return unexpected(AttrError::Malformed);
    }
    PasswordAlgorithms p;
    p.raw = v;
    return p;
  }
  /// Calls f(algorithm, parameters) for each entry of a decoded value.
  template <class F>
  void for_each(F&& f) const {
    ByteReader r{raw};
    std::uint16_t alg = 0, len = 0;
    ByteSpan params;
    while (r.read_u16(alg) && r.read_u16(len) && r.read_bytes((len + 3u) & ~3u, params))
      f(alg, params.first(len));
  }
  void encode(ByteWriter& w, const Header&) const noexcept {
    if (!raw.empty()) {  // a decoded value re-encodes as it came
      w.write_bytes(raw);
      return;
    }
    for (auto id : offered) {
      w.write_u16(static_cast<std::uint16_t>(id));
      w.write_u16(0);
    }
  }
};

}  // namespace turnd::protocol
