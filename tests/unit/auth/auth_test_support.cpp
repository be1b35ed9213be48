#include "auth_test_support.hpp"

#include <gtest/gtest.h>

#include "auth/authenticator.hpp"
#include "protocol/attributes/all.hpp"
#include "protocol/message_builder.hpp"

namespace turnd::auth::test {

using namespace protocol;

MessageView signed_request(std::vector<std::uint8_t>& buffer, const Signing& s,
                           std::string_view nonce) {
  buffer.assign(1024, 0);
  MessageBuilder b{buffer, MessageType{Method::Allocate, Class::Request}, TransactionId{7}};
  if (s.userhash)
    b.add(Userhash{userhash(s.user, kRealm)});
  else
    b.add(Username{s.user});
  b.add(Realm{kRealm});
  b.add(Nonce{nonce});
  if (s.negotiate) {
    PasswordAlgorithms offered;
    offered.offered = Authenticator::kOffered;
    b.add(offered);
    b.add(PasswordAlgorithm{static_cast<std::uint16_t>(s.password_alg), {}});
  }
  const auto key = long_term_key(s.user, kRealm, s.password, s.password_alg);
  b.add_integrity(key.span(), s.mac);
  auto wire = b.finish();
  EXPECT_TRUE(wire);
  auto view = MessageView::parse(*wire);
  EXPECT_TRUE(view);
  return *view;
}

}  // namespace turnd::auth::test
