#include "server/allocation_json.hpp"

#include <boost/json/array.hpp>

#include "server/log_text.hpp"

namespace turnd::server {

namespace {
std::int64_t seconds_until(SteadyTime t, SteadyTime now) {
  return std::chrono::duration_cast<std::chrono::seconds>(t - now).count();
}
}  // namespace

boost::json::object describe(const Allocation& a, const EventClock& now) {
  const SteadyTime t = now.steady();
  boost::json::object o;
  o["id"] = a.id;
  o["username"] = to_valid_utf8(a.username);  // a client's bytes: JSON readers want UTF-8
  o["user"] = to_valid_utf8(a.quota_user);
  o["transport"] = std::string(to_string(a.five_tuple.transport));
  o["client"] = a.five_tuple.client.to_string();
  o["server"] = a.five_tuple.server.to_string();
  boost::json::array relayed;
  for (const auto& r : a.relays) relayed.emplace_back(r.advertised.to_string());
  o["relayed"] = std::move(relayed);
  o["relay_transport"] = a.tcp ? "tcp" : "udp";  // tcp: RFC 6062
  o["age_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(t - a.created_at).count();
  o["expires_in_seconds"] = seconds_until(a.expires_at, t);
  if (a.credential_expires)
    o["credential_expires"] = a.credential_expires->time_since_epoch().count();
  else
    o["credential_expires"] = nullptr;
  boost::json::array permissions;
  for (const auto& p : a.permissions) {
    if (t >= p.expires_at) continue;  // expired, not yet swept
    permissions.push_back(boost::json::object{
        {"peer", p.peer.to_string()}, {"expires_in_seconds", seconds_until(p.expires_at, t)}});
  }
  o["permissions"] = std::move(permissions);
  boost::json::array channels;
  for (const auto& c : a.channels) {
    if (!c.active(t)) continue;  // cooling down
    channels.push_back(boost::json::object{{"number", c.number},
                                           {"peer", c.peer.to_string()},
                                           {"expires_in_seconds", seconds_until(c.expires_at, t)}});
  }
  o["channels"] = std::move(channels);
  o["to_peer"] = boost::json::object{{"packets", a.counters.packets_to_peer},
                                     {"bytes", a.counters.bytes_to_peer}};
  o["from_peer"] = boost::json::object{{"packets", a.counters.packets_from_peer},
                                       {"bytes", a.counters.bytes_from_peer}};
  return o;
}

}  // namespace turnd::server
