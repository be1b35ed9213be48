#include "server/web_rooms.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace turnd::server {

std::string_view check_room_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxRoomName) return "room must be 1-64 characters";
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    if (!ok) return "room may hold only A-Z a-z 0-9 _ -";
  }
  return {};
}

std::string check_signal_message(std::string_view text) {
  if (text.size() > kMaxSignalMessage) return "message larger than 16 KiB";
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(text, ec);
  if (ec) return "message is not JSON";
  const auto* object = v.if_object();
  if (!object) return "message is not a JSON object";
  const auto* type = object->if_contains("type");
  const auto* name = type ? type->if_string() : nullptr;
  if (!name) return "message has no \"type\"";
  if (*name != "offer" && *name != "answer" && *name != "candidate" && *name != "bye")
    return "unknown message type (offer, answer, candidate, bye)";
  return {};
}

WebRooms::Join WebRooms::join(const std::string& name, Peer peer) {
  auto it = rooms_.find(name);
  if (it == rooms_.end()) {
    if (rooms_.size() >= kMaxRooms) return Join::TooManyRooms;
    rooms_.emplace(name, Room{peer, nullptr});
    return Join::First;
  }
  Room& room = it->second;
  if (room.a && room.b) return Join::Full;
  (room.a ? room.b : room.a) = peer;
  return Join::Second;
}

WebRooms::Peer WebRooms::other(const std::string& name, Peer peer) const noexcept {
  const auto it = rooms_.find(name);
  if (it == rooms_.end()) return nullptr;
  if (it->second.a == peer) return it->second.b;
  if (it->second.b == peer) return it->second.a;
  return nullptr;
}

WebRooms::Peer WebRooms::leave(const std::string& name, Peer peer) noexcept {
  const auto it = rooms_.find(name);
  if (it == rooms_.end()) return nullptr;
  Room& room = it->second;
  // Not in it (as a socket refused by a full room): the others are not told it left.
  if (peer == nullptr || (room.a != peer && room.b != peer)) return nullptr;
  if (room.a == peer) room.a = nullptr;
  if (room.b == peer) room.b = nullptr;
  Peer stays = room.a ? room.a : room.b;
  if (!stays) rooms_.erase(it);
  return stays;
}

}  // namespace turnd::server
