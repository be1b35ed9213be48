// Every attribute codec of protocol/attributes, as a type list, plus describe(): a readable
// rendering of a codec value's fields, so tests and fuzzers compare values without a
// per-type equality operator. Shared by protocol_test, protocol_alloc_test and tests/fuzz.
#pragma once

#include <cstdio>
#include <string>
#include <tuple>

#include "protocol/attributes/all.hpp"

namespace turnd::protocol::test {

using AllAttributes =
    std::tuple<MappedAddress, XorMappedAddress, XorPeerAddress, XorRelayedAddress, AlternateServer,
               ResponseOrigin, OtherAddress, SourceAddress, ChangedAddress, ErrorCode,
               AddressErrorCode, UnknownAttributes, MessageIntegrity, MessageIntegritySha256,
               Fingerprint, PasswordAlgorithm, PasswordAlgorithms, Lifetime, Priority,
               RequestedTransport, RequestedAddressFamily, AdditionalAddressFamily, ChannelNumber,
               EvenPort, DontFragment, UseCandidate, IceControlled, IceControlling, Username, Realm,
               Nonce, Software, Data, Userhash, ReservationToken, ConnectionId, ChangeRequest,
               ResponsePort, Padding>;

/// Calls f.template operator()<A>() for every codec A in AllAttributes.
template <class F>
void for_each_attribute_type(F&& f) {
  [&]<class... A>(std::tuple<A...>*) {
    (f.template operator()<A>(), ...);
  }(static_cast<AllAttributes*>(nullptr));
}

/// True when A can be written with MessageBuilder::add (MI, MI-SHA256 and FINGERPRINT are
/// written by the builder itself).
template <class A>
inline constexpr bool kEncodable = requires(const A& a, ByteWriter& w, const Header& h) {
  a.encode(w, h);
};

inline std::string describe_bytes(ByteSpan b) {
  std::string out;
  char buf[3];
  for (std::uint8_t c : b) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

template <AttrType T, bool X>
std::string describe(const AddressAttribute<T, X>& a) {
  return a.address.to_string();
}
inline std::string describe(const ErrorCode& a) {
  return std::to_string(a.code) + " '" + std::string(a.reason) + "'";
}
inline std::string describe(const AddressErrorCode& a) {
  return "family " + std::to_string(a.family) + " " + std::to_string(a.code) + " '" +
         std::string(a.reason) + "'";
}
inline std::string describe(const UnknownAttributes& a) {
  std::string out = "[";
  for (std::size_t i = 0; i < a.size(); ++i) out += (i ? "," : "") + std::to_string(a.at(i));
  return out + "]";
}
inline std::string describe(const MessageIntegrity& a) { return describe_bytes(a.mac); }
inline std::string describe(const MessageIntegritySha256& a) { return describe_bytes(a.mac); }
inline std::string describe(const Fingerprint& a) { return std::to_string(a.value); }
inline std::string describe(const PasswordAlgorithm& a) {
  return std::to_string(a.algorithm) + "(" + describe_bytes(a.parameters) + ")";
}
inline std::string describe(const PasswordAlgorithms& a) {
  std::string out = "[";
  if (a.raw.empty()) {
    for (auto id : a.offered) out += std::to_string(static_cast<unsigned>(id)) + "(),";
  } else {
    a.for_each([&](std::uint16_t alg, ByteSpan params) {
      out += std::to_string(alg) + "(" + describe_bytes(params) + "),";
    });
  }
  return out + "]";
}
template <AttrType T>
std::string describe(const U32Attribute<T>& a) {
  return std::to_string(a.value);
}
template <AttrType T>
std::string describe(const ByteThenReserved<T>& a) {
  return std::to_string(a.value);
}
template <AttrType T>
std::string describe(const U16ThenReserved<T>& a) {
  return std::to_string(a.value);
}
inline std::string describe(const EvenPort& a) { return a.reserve_next ? "R" : "-"; }
template <AttrType T>
std::string describe(const FlagAttribute<T>&) {
  return "present";
}
template <AttrType T>
std::string describe(const TieBreaker<T>& a) {
  return std::to_string(a.value);
}
template <AttrType T, std::size_t M, std::size_t F>
std::string describe(const BytesAttribute<T, M, F>& a) {
  return describe_bytes(a.value);
}
inline std::string describe(const ChangeRequest& a) {
  return std::string(a.change_ip ? "ip" : "-") + (a.change_port ? "port" : "-");
}
inline std::string describe(const Padding& a) { return std::to_string(a.length) + " bytes"; }

}  // namespace turnd::protocol::test
