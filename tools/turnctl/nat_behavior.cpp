#include "tools/turnctl/nat_behavior.hpp"

#include <array>

#include "protocol/attributes/address.hpp"
#include "protocol/attributes/error.hpp"

namespace turnd::turnctl::nat {

using protocol::TransportAddress;

namespace {

struct Names {
  std::string_view text, json;
};
// In the order of Behavior's values.
constexpr std::array<Names, 4> kNames{{
    {"endpoint independent", "endpoint-independent"},
    {"address dependent", "address-dependent"},
    {"address and port dependent", "address-and-port-dependent"},
    {"unknown", "unknown"},
}};

const Names& names(Behavior b) noexcept {
  const auto i = static_cast<std::size_t>(b);
  return kNames[i < kNames.size() ? i : kNames.size() - 1];
}

}  // namespace

std::string_view to_string(Behavior b) noexcept { return names(b).text; }

std::string_view to_json_name(Behavior b) noexcept { return names(b).json; }

std::optional<BindingAnswer> read_binding_answer(protocol::ByteSpan datagram,
                                                 const protocol::TransactionId& id) noexcept {
  if (!protocol::looks_like_stun(datagram)) return std::nullopt;
  auto msg = protocol::MessageView::parse(datagram);
  if (!msg || !msg->has_magic_cookie() || msg->transaction_id() != id) return std::nullopt;
  BindingAnswer a;
  if (msg->type().is(protocol::Method::Binding, protocol::Class::ErrorResponse)) {
    auto err = msg->get<protocol::ErrorCode>();
    a.error_code = err ? err->code : 500;  // an error response without a readable code
    return a;
  }
  if (!msg->type().is(protocol::Method::Binding, protocol::Class::SuccessResponse))
    return std::nullopt;
  if (auto x = msg->get<protocol::XorMappedAddress>())
    a.mapped = x->address;
  else if (auto m = msg->get<protocol::MappedAddress>())
    a.mapped = m->address;
  else
    return std::nullopt;  // a success response must carry the mapped address
  if (auto o = msg->get<protocol::OtherAddress>()) a.other_address = o->address;
  if (auto r = msg->get<protocol::ResponseOrigin>()) a.response_origin = r->address;
  return a;
}

Behavior mapping_behavior(const std::optional<TransportAddress>& test1,
                          const std::optional<TransportAddress>& test2,
                          const std::optional<TransportAddress>& test3) noexcept {
  if (!test1 || !test2) return Behavior::Unknown;
  if (*test1 == *test2) return Behavior::EndpointIndependent;
  if (!test3) return Behavior::Unknown;
  return *test2 == *test3 ? Behavior::AddressDependent : Behavior::AddressAndPortDependent;
}

Behavior filtering_behavior(bool test2_answered, std::optional<bool> test3_answered) noexcept {
  if (test2_answered) return Behavior::EndpointIndependent;
  if (!test3_answered) return Behavior::Unknown;
  return *test3_answered ? Behavior::AddressDependent : Behavior::AddressAndPortDependent;
}

bool answered_from(const TransportAddress& from, const TransportAddress& expected,
                   const BindingAnswer& a) noexcept {
  if (from != expected) return false;
  return !a.response_origin || *a.response_origin == expected;
}

std::string_view classic_name(bool behind_nat, Behavior mapping, Behavior filtering) noexcept {
  if (!behind_nat) {
    if (filtering == Behavior::EndpointIndependent) return "no NAT (open Internet)";
    if (filtering == Behavior::Unknown) return "no NAT";
    return "no NAT, behind a filtering firewall";
  }
  if (mapping == Behavior::Unknown) return "unknown";
  if (mapping != Behavior::EndpointIndependent) return "symmetric";
  switch (filtering) {
    case Behavior::EndpointIndependent:
      return "full cone";
    case Behavior::AddressDependent:
      return "restricted cone";
    case Behavior::AddressAndPortDependent:
      return "port-restricted cone";
    case Behavior::Unknown:
      break;
  }
  return "cone (filtering unknown)";
}

}  // namespace turnd::turnctl::nat
