// The signalling rooms behind the web listener's /ws?room=NAME: two peers per room, whose
// messages are passed to the other one verbatim when they are JSON objects of a known type.
// Only bookkeeping and checks here (no sockets), so tests/unit/server/web_request_test.cpp
// drives it directly; WebHttp owns the sockets and calls it on the control thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace turnd::server {

inline constexpr std::size_t kMaxRoomName = 64;
/// A signalling message larger than this closes its socket (an SDP offer is 3-10 KiB).
inline constexpr std::size_t kMaxSignalMessage = 16 * 1024;
/// Rooms open at once; a peer that would open one more is refused.
inline constexpr std::size_t kMaxRooms = 128;

/// Why `name` cannot name a room, or "" when it can: 1-64 characters of A-Z a-z 0-9 _ -.
std::string_view check_room_name(std::string_view name) noexcept;

/// Why `text` is not passed on, or "" when it is: it must be a JSON object (at most
/// kMaxSignalMessage bytes) whose "type" is "offer", "answer", "candidate" or "bye".
std::string check_signal_message(std::string_view text);

class WebRooms {
 public:
  using Peer = const void*;  // the identity of a socket; never dereferenced here

  enum class Join { First, Second, Full, TooManyRooms };
  /// Puts `peer` in room `name` (checked by the caller): First when it waits alone, Second
  /// when it joins a waiting peer, Full when two are in, TooManyRooms at kMaxRooms.
  Join join(const std::string& name, Peer peer);
  /// The other peer in `peer`'s room, or null.
  Peer other(const std::string& name, Peer peer) const noexcept;
  /// Takes `peer` out; a room left empty is gone. Returns the peer that stays, or null (also
  /// when `peer` was not in the room: then nothing changes).
  Peer leave(const std::string& name, Peer peer) noexcept;
  std::size_t rooms() const noexcept { return rooms_.size(); }

 private:
  struct Room {
    Peer a = nullptr, b = nullptr;
  };
  std::unordered_map<std::string, Room> rooms_;
};

}  // namespace turnd::server
