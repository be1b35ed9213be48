#include "auth/rest_credential.hpp"

#include <openssl/evp.h>

#include <charconv>

#include "protocol/integrity.hpp"

namespace turnd::auth {

std::optional<RestUsername> parse_rest_username(std::string_view username,
                                                char separator) noexcept {
  const auto sep = username.find(separator);
  if (sep == 0 || sep == std::string_view::npos) return std::nullopt;
  // Digits only: from_chars would take "-0" as 0 (finding F2).
  if (username[0] < '0' || username[0] > '9') return std::nullopt;
  long long expiry = 0;
  auto [end, ec] = std::from_chars(username.data(), username.data() + sep, expiry);
  if (ec != std::errc{} || end != username.data() + sep || expiry < 0) return std::nullopt;
  // Later than 9999-12-31 is no expiry a backend means; refusing it here also keeps every
  // later `expiry + clock_skew` far from overflowing.
  if (expiry > kMaxRestExpiry) return std::nullopt;
  return RestUsername{std::chrono::sys_seconds{std::chrono::seconds{expiry}},
                      username.substr(sep + 1)};
}

std::string rest_password(std::string_view secret, std::string_view username) {
  // The one-shot HMAC() looks SHA-1 and HMAC up by name each time; protocol::hmac keeps a
  // context per thread (this runs for every authenticated request of a REST user).
  unsigned char mac[32];
  const auto len = protocol::hmac(
      protocol::IntegrityAlg::Sha1,
      {reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size()},
      {reinterpret_cast<const std::uint8_t*>(username.data()), username.size()}, mac);
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac, static_cast<int>(len));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string make_rest_username(std::string_view user, std::chrono::sys_seconds expiry,
                               char separator) {
  return std::to_string(expiry.time_since_epoch().count()) + separator + std::string(user);
}

}  // namespace turnd::auth
