// Requests signed the way a client signs them, for the tests of auth/ (no I/O, no server).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/nonce.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_view.hpp"
#include "protocol/transport_address.hpp"

namespace turnd::auth::test {

constexpr std::string_view kRealm = "turnd.test";
/// 2023-11-14T22:13:20Z: every test runs at explicit times around it, never the wall clock.
inline const Clock::time_point kNow = Clock::time_point{std::chrono::seconds{1'700'000'000}};
inline const auto kNowS = std::chrono::time_point_cast<std::chrono::seconds>(kNow);
inline const protocol::IpAddress kClient = protocol::IpAddress::v4({192, 0, 2, 1});

struct Signing {
  std::string_view user;
  std::string_view password;
  protocol::PasswordAlgorithmId password_alg = protocol::PasswordAlgorithmId::Md5;
  bool negotiate = false;  // send PASSWORD-ALGORITHMS + PASSWORD-ALGORITHM
  protocol::IntegrityAlg mac = protocol::IntegrityAlg::Sha1;
  bool userhash = false;
};

/// An Allocate request with USERNAME (or USERHASH), REALM kRealm, NONCE `nonce` and
/// MESSAGE-INTEGRITY under the long-term key of `s`, written into `buffer`; the view reads it.
protocol::MessageView signed_request(std::vector<std::uint8_t>& buffer, const Signing& s,
                                     std::string_view nonce);

}  // namespace turnd::auth::test
