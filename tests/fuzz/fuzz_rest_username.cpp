// libFuzzer target for TURN REST usernames (auth/rest_credential.*) and the Authenticator's use
// of them. Input: byte 0 picks the separator, bytes 1-2 the clock skew, the rest is the username.
// Properties: parse_rest_username accepts exactly "<decimal expiry >= 0>SEP<user>" and
// make_rest_username rebuilds what it parsed; a request signed with the REST password of the
// username (fresh nonce, right realm) is Ok exactly when the name parses and expiry + skew has
// not passed, and then its expiry is expiry + skew; no arithmetic overflows on the way (UBSan).
#include <charconv>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "auth/authenticator.hpp"
#include "auth/rest_credential.hpp"
#include "fuzz_targets.hpp"
#include "protocol/attributes/all.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"

namespace turnd::fuzz {
namespace {

using namespace turnd::protocol;
using std::chrono::seconds;

constexpr std::string_view kRealm = "fuzz.test";
constexpr std::string_view kSecret = "fuzz-rest-secret";
constexpr char kSeparators[] = {':', ':', ':', ':', '-', '.', '|', '\0'};
// A fixed "now" (2025-01-01T00:00:00Z) so every input replays identically.
const auth::Clock::time_point kNow{seconds{1735689600}};
constexpr long long kYear9999 = 253402300799;  // 9999-12-31T23:59:59Z

// What parse_rest_username must answer, computed independently: digits, then SEP.
bool expect_parse(std::string_view name, char sep, long long& expiry) {
  const auto pos = name.find(sep);
  if (pos == 0 || pos == std::string_view::npos) return false;
  // Digits only: "-0" is refused (finding F2, fixed).
  for (std::size_t i = 0; i < pos; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  auto [end, ec] = std::from_chars(name.data(), name.data() + pos, expiry);
  return ec == std::errc{} && end == name.data() + pos && expiry >= 0;  // out of range: refused
}

void check_parse(std::string_view name, char sep) {
  long long want = 0;
  const bool ok = expect_parse(name, sep, want);
  const auto got = auth::parse_rest_username(name, sep);
  // An expiry past 9999-12-31 may be refused (no backend means it); nothing else may.
  TURND_ASSERT(got.has_value() == ok || (ok && !got && want > kYear9999));
  if (!got) return;
  TURND_ASSERT(got->expiry.time_since_epoch().count() == want);
  TURND_ASSERT(got->user.data() == name.data() + name.find(sep) + 1);
  TURND_ASSERT(got->user.size() == name.size() - name.find(sep) - 1);
  const std::string again = auth::make_rest_username(got->user, got->expiry, sep);
  const auto reparsed = auth::parse_rest_username(again, sep);
  TURND_ASSERT(reparsed && reparsed->expiry == got->expiry && reparsed->user == got->user);
}

// An Allocate signed with the REST password of `name`, or empty when it cannot be encoded.
std::size_t signed_request(std::string_view name, const std::string& nonce,
                           std::span<std::uint8_t> out) {
  const TransactionId tid{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  MessageBuilder b{out, MessageType{Method::Allocate, Class::Request}, tid};
  b.add(RequestedTransport{kProtocolUdp});
  b.add(Username{name});
  b.add(Realm{kRealm});
  b.add(Nonce{nonce});
  const auto key =
      long_term_key(name, kRealm, auth::rest_password(kSecret, name), PasswordAlgorithmId::Md5);
  b.add_integrity(key.span(), IntegrityAlg::Sha1);
  auto wire = b.finish();
  return wire ? wire->size() : 0;
}

void check_authenticator(std::string_view name, char sep, seconds skew) {
  static auto creds = [] {
    auto c = std::make_shared<auth::Credentials>();
    c->realm = kRealm;
    c->secrets = {std::string(kSecret)};
    return auth::CredentialsPtr(c);
  }();
  auth::AuthOptions options;
  options.clock_skew = skew;
  options.rest_separator = sep;
  static const std::array<std::uint8_t, 32> kNonceKey{};
  const auth::Authenticator authenticator{options, creds,
                                          auth::NonceFactory{options.nonce_lifetime, kNonceKey}};
  // USERNAME over 763 bytes: the builder encodes it but no parser accepts it (400, not 401).
  if (name.size() > 763) return;
  const IpAddress client = *IpAddress::parse("192.0.2.1");
  static std::array<std::uint8_t, 2048> buffer;
  const std::size_t size = signed_request(name, authenticator.make_nonce(client, kNow), buffer);
  if (size == 0) return;  // does not fit the buffer
  auto msg = MessageView::parse(ByteSpan{buffer.data(), size});
  TURND_ASSERT(msg.has_value());
  const auto result = authenticator.check(*msg, client, kNow);

  long long expiry = 0;
  const bool parses = expect_parse(name, sep, expiry);
  // expiry + skew >= now, without overflowing: now - skew cannot overflow for these ranges.
  const long long now = std::chrono::duration_cast<seconds>(kNow.time_since_epoch()).count();
  const bool live = parses && expiry >= now - skew.count();
  if (result.verdict == auth::Verdict::Ok) {
    TURND_ASSERT(live);
    TURND_ASSERT(result.username == name);
    TURND_ASSERT(result.expires.has_value());
    // Never earlier than now and never later than expiry + skew (it may be clamped).
    const long long got = result.expires->time_since_epoch().count();
    TURND_ASSERT(got >= now && got - skew.count() <= expiry);
  } else {
    TURND_ASSERT(result.verdict == auth::Verdict::Challenge);
    // A live, correctly signed REST name may only be refused for an absurd expiry (> year 9999).
    TURND_ASSERT(!live || expiry > kYear9999);
  }
}

}  // namespace

int check_rest_username(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const char sep = kSeparators[data[0] % sizeof kSeparators];
  // Skew 0-65535 s, or (top bit of byte 0) close to the largest the config could hold.
  const long long raw_skew = (data[1] << 8) | data[2];
  const seconds skew{(data[0] & 0x80) != 0 ? LLONG_MAX / 2 + raw_skew : raw_skew};
  const std::string_view name{reinterpret_cast<const char*>(data + 3), size - 3};
  check_parse(name, sep);
  check_authenticator(name, sep, skew);
  return 0;
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_rest_username(data, size);
}
#endif
