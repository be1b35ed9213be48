// The properties behind the libFuzzer targets, callable without libFuzzer so fuzz_regress can
// check them over the committed corpus in every build. A violated property aborts
// (TURND_ASSERT, always on in these translation units).
#pragma once

#include <cstddef>
#include <cstdint>

namespace turnd::fuzz {

/// fuzz_message: parse; decode everything; parse(encode(parse(x))) == parse(x); builder MACs
/// verify. Returns 0 (libFuzzer's "keep going").
int check_message(const std::uint8_t* data, std::size_t size);
/// fuzz_framing: ChannelData parse and stream framing, chunked arbitrarily. Returns 0.
int check_framing(const std::uint8_t* data, std::size_t size);
/// Both protocol properties: what fuzz_regress (ctest fuzz.regress) replays.
inline int check_protocol(const std::uint8_t* data, std::size_t size) {
  check_message(data, size);
  return check_framing(data, size);
}
/// fuzz_config: YAML text -> Config or a one-line ConfigError naming file, line and key.
int check_config(const std::uint8_t* data, std::size_t size);
/// fuzz_rest_username: REST username parsing and the Authenticator's expiry arithmetic.
int check_rest_username(const std::uint8_t* data, std::size_t size);
/// fuzz_redis_reply: a reply stream from a fake Redis through RedisClient and CredentialRepo.
int check_redis_reply(const std::uint8_t* data, std::size_t size);
/// fuzz_admin_http: raw HTTP request bytes -> Beast parser -> handle_admin_request.
int check_admin_http(const std::uint8_t* data, std::size_t size);
/// fuzz_web: raw HTTP request bytes -> Beast parser -> handle_web_request; or a signalling
/// message, room name and WebRooms program (server/web_rooms.hpp).
int check_web(const std::uint8_t* data, std::size_t size);
/// fuzz_dispatcher: a program of client and peer operations against a real shard.
int check_dispatcher(const std::uint8_t* data, std::size_t size);

}  // namespace turnd::fuzz
