// STUN message type: method x class <-> the 14-bit interleaved type field (RFC 8489 §5).
#include "protocol/message_type.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <string>

namespace turnd::protocol {
namespace {

struct TypeCase {
  std::uint16_t method;
  Class cls;
  std::uint16_t wire;
};
void PrintTo(const TypeCase& c, std::ostream* os) {
  *os << "method 0x" << std::hex << c.method << " class " << static_cast<int>(c.cls) << " wire 0x"
      << c.wire;
}
constexpr std::uint16_t m(Method method) { return static_cast<std::uint16_t>(method); }

// Every method this server knows x every class. Known values from the RFCs: Binding request
// 0x0001, success 0x0101, error 0x0111; Allocate request 0x0003; Send indication 0x0016; Data
// indication 0x0017; ChannelBind error 0x0119.
const TypeCase kTypes[] = {
    {m(Method::Binding), Class::Request, 0x0001},
    {m(Method::Binding), Class::Indication, 0x0011},
    {m(Method::Binding), Class::SuccessResponse, 0x0101},
    {m(Method::Binding), Class::ErrorResponse, 0x0111},
    {m(Method::Allocate), Class::Request, 0x0003},
    {m(Method::Allocate), Class::Indication, 0x0013},
    {m(Method::Allocate), Class::SuccessResponse, 0x0103},
    {m(Method::Allocate), Class::ErrorResponse, 0x0113},
    {m(Method::Refresh), Class::Request, 0x0004},
    {m(Method::Refresh), Class::Indication, 0x0014},
    {m(Method::Refresh), Class::SuccessResponse, 0x0104},
    {m(Method::Refresh), Class::ErrorResponse, 0x0114},
    {m(Method::Send), Class::Request, 0x0006},
    {m(Method::Send), Class::Indication, 0x0016},
    {m(Method::Send), Class::SuccessResponse, 0x0106},
    {m(Method::Send), Class::ErrorResponse, 0x0116},
    {m(Method::Data), Class::Request, 0x0007},
    {m(Method::Data), Class::Indication, 0x0017},
    {m(Method::Data), Class::SuccessResponse, 0x0107},
    {m(Method::Data), Class::ErrorResponse, 0x0117},
    {m(Method::CreatePermission), Class::Request, 0x0008},
    {m(Method::CreatePermission), Class::Indication, 0x0018},
    {m(Method::CreatePermission), Class::SuccessResponse, 0x0108},
    {m(Method::CreatePermission), Class::ErrorResponse, 0x0118},
    {m(Method::ChannelBind), Class::Request, 0x0009},
    {m(Method::ChannelBind), Class::Indication, 0x0019},
    {m(Method::ChannelBind), Class::SuccessResponse, 0x0109},
    {m(Method::ChannelBind), Class::ErrorResponse, 0x0119},
    {m(Method::Connect), Class::Request, 0x000a},
    {m(Method::Connect), Class::Indication, 0x001a},
    {m(Method::Connect), Class::SuccessResponse, 0x010a},
    {m(Method::Connect), Class::ErrorResponse, 0x011a},
    {m(Method::ConnectionBind), Class::Request, 0x000b},
    {m(Method::ConnectionBind), Class::Indication, 0x001b},
    {m(Method::ConnectionBind), Class::SuccessResponse, 0x010b},
    {m(Method::ConnectionBind), Class::ErrorResponse, 0x011b},
    {m(Method::ConnectionAttempt), Class::Request, 0x000c},
    {m(Method::ConnectionAttempt), Class::Indication, 0x001c},
    {m(Method::ConnectionAttempt), Class::SuccessResponse, 0x010c},
    {m(Method::ConnectionAttempt), Class::ErrorResponse,
     0x011c},  // Methods above 0x00f exercise the bits that straddle the class bits.
    {0x010, Class::Request, 0x0020},
    {0x070, Class::Indication, 0x00f0},
    {0x080, Class::SuccessResponse, 0x0300},
    {0xf80, Class::Request, 0x3e00},
    {0xfff, Class::ErrorResponse, 0x3fff},
};

class MessageTypeTable : public testing::TestWithParam<TypeCase> {};

TEST_P(MessageTypeTable, EncodesAndDecodes) {
  const TypeCase& c = GetParam();
  const MessageType t{c.method, c.cls};
  EXPECT_EQ(t.encode(), c.wire);
  EXPECT_EQ(MessageType::decode(c.wire), t);
  EXPECT_TRUE(MessageType::decode(c.wire).is(static_cast<Method>(c.method), c.cls));
  EXPECT_FALSE(MessageType::decode(c.wire).is(static_cast<Method>(c.method + 1), c.cls));
}

INSTANTIATE_TEST_SUITE_P(AllMethodsAndClasses, MessageTypeTable, testing::ValuesIn(kTypes),
                         [](const auto& info) {
                           char name[16];
                           std::snprintf(name, sizeof name, "wire_%04x", info.param.wire);
                           return std::string(name);
                         });

TEST(MessageType, EveryFourteenBitValueRoundTrips) {
  for (std::uint16_t wire = 0; wire < 0x4000; ++wire) {
    const MessageType t = MessageType::decode(wire);
    ASSERT_LE(t.method, 0xfff);
    ASSERT_EQ(t.encode(), wire);
  }
}

TEST(MessageType, KnownValuesAreConstexpr) {
  static_assert(MessageType{Method::Binding, Class::Request}.encode() == 0x0001);
  static_assert(MessageType{Method::ChannelBind, Class::ErrorResponse}.encode() == 0x0119);
  static_assert(MessageType::decode(0x0103).is(Method::Allocate, Class::SuccessResponse));
}

TEST(MessageType, MethodNames) {
  EXPECT_EQ(method_name(m(Method::Binding)), "Binding");
  EXPECT_EQ(method_name(m(Method::Allocate)), "Allocate");
  EXPECT_EQ(method_name(m(Method::Refresh)), "Refresh");
  EXPECT_EQ(method_name(m(Method::Send)), "Send");
  EXPECT_EQ(method_name(m(Method::Data)), "Data");
  EXPECT_EQ(method_name(m(Method::CreatePermission)), "CreatePermission");
  EXPECT_EQ(method_name(m(Method::ChannelBind)), "ChannelBind");
  EXPECT_EQ(method_name(m(Method::Connect)), "Connect");
  EXPECT_EQ(method_name(m(Method::ConnectionBind)), "ConnectionBind");
  EXPECT_EQ(method_name(m(Method::ConnectionAttempt)), "ConnectionAttempt");
  EXPECT_EQ(method_name(0x002), "Unknown");  // RFC 3489 SharedSecret
  EXPECT_EQ(method_name(0xfff), "Unknown");
}

}  // namespace
}  // namespace turnd::protocol
