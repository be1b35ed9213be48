// Peer -> client framing (RFC 8656 §10.3, §12.6): a relayed datagram becomes ChannelData when
// a channel is bound to the peer, else a Data indication, written in the headroom in front
// of the payload so that nothing is copied. Pure: no I/O, no allocation.
#pragma once

#include <cstdint>

#include "protocol/bytes.hpp"
#include "protocol/transport_address.hpp"
#include "server/allocation.hpp"
#include "server/io/batch_io.hpp"

namespace turnd::server::relay {

/// Largest payload relayed in either direction: one relay slot. A peer's larger datagram is
/// truncated by the kernel into the slot and dropped; a client's is dropped before sending.
inline constexpr std::size_t kMaxRelayPayload = io::kSlotPayload;

/// Frames `payload` (from `peer`) for the client of `a`. `payload` must lie inside a buffer
/// starting at `buffer_start` with io::kHeadroom bytes before it and 3 bytes of room after it
/// (stream padding). Returns the bytes to send, or an empty span when it cannot be framed
/// (over kMaxRelayPayload, or not enough headroom). `indications` numbers Data indications.
protocol::ByteSpan frame_for_client(const Allocation& a, const protocol::TransportAddress& peer,
                                    protocol::MutableByteSpan payload,
                                    const std::uint8_t* buffer_start, bool stream, SteadyTime now,
                                    std::uint64_t& indications) noexcept;

}  // namespace turnd::server::relay
