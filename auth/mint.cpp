#include "auth/mint.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "auth/rest_credential.hpp"
#include "protocol/integrity.hpp"

namespace turnd::auth {

namespace {

std::vector<unsigned char> random_bytes(std::size_t n) {
  std::vector<unsigned char> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("cannot get random bytes from OpenSSL");
  return bytes;
}

std::string base64(const std::vector<unsigned char>& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

boost::json::object ice_server(const MintedCredential& c) {
  boost::json::array urls;
  for (const auto& uri : c.uris) urls.emplace_back(uri);
  return {{"urls", std::move(urls)}, {"username", c.username}, {"credential", c.password}};
}

// POSIX shell single quotes: everything literal except ', written as '\''.
std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char ch : text) {
    if (ch == '\'')
      out += "'\\''";
    else
      out += ch;
  }
  return out + "'";
}

}  // namespace

MintedCredential mint_rest(std::string_view user, std::chrono::seconds ttl, std::string_view secret,
                           char separator, std::chrono::sys_seconds now,
                           std::vector<std::string> uris) {
  MintedCredential c;
  c.username = make_rest_username(user, now + ttl, separator);
  c.password = rest_password(secret, c.username);
  c.ttl = ttl;
  c.uris = std::move(uris);
  return c;
}

MintedUser mint_user(std::string_view name, std::string_view realm, std::string_view password,
                     std::chrono::sys_seconds expires) {
  using protocol::PasswordAlgorithmId;
  return MintedUser{protocol::long_term_key(name, realm, password, PasswordAlgorithmId::Md5),
                    protocol::long_term_key(name, realm, password, PasswordAlgorithmId::Sha256),
                    expires};
}

std::string random_base64(std::size_t bytes) { return base64(random_bytes(bytes)); }

std::string random_token(std::size_t bytes) {
  std::string text = base64(random_bytes(bytes));
  for (char& ch : text) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  while (!text.empty() && text.back() == '=') text.pop_back();
  return text;
}

std::string to_ice_server_json(const MintedCredential& c) {
  return boost::json::serialize(ice_server(c));
}

std::string to_env(const MintedCredential& c) {
  std::string uris;
  for (const auto& uri : c.uris) uris += (uris.empty() ? "" : " ") + uri;
  return "TURN_USERNAME=" + shell_quote(c.username) + "\nTURN_PASSWORD=" + shell_quote(c.password) +
         "\nTURN_TTL=" + std::to_string(c.ttl.count()) + "\nTURN_URIS=" + shell_quote(uris) + "\n";
}

std::string to_js(const MintedCredential& c) {
  // JSON is a subset of JavaScript (ES2019), so the object literal is the JSON text.
  return "const iceServers = [" + to_ice_server_json(c) + "];\n";
}

}  // namespace turnd::auth
