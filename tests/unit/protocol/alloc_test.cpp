// The packet path never allocates: parse, decode every attribute, verify, build and frame real
// messages while the counting allocators of tests/unit/common (alloc_counter.hpp) count
// operator new calls. Its own executable, because the replacement is global. (OpenSSL allocates
// with malloc, not operator new; its per-thread MAC context is created by a warm-up call before
// counting starts.)
#include <gtest/gtest.h>

#include "alloc_counter.hpp"
#include "attribute_catalog.hpp"
#include "protocol/channel_data.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"
#include "protocol/stream_framer.hpp"
#include "test_support.hpp"

namespace turnd::protocol {
namespace {

using test::Bytes;

// Counts operator new calls made while `f` runs (tests/unit/common/alloc_counter.hpp). No
// stack report: OpenSSL's malloc calls (HMAC fetches its digest per call) are not counted here.
template <class F>
long allocations_during(F&& f) {
  return turnd::test::allocations_during(std::forward<F>(f), false).new_calls;
}

TEST(NoAllocation, CounterSeesAllocations) {
  // Through a volatile pointer: a bare `delete new int(1)` may be optimised away (C++14
  // allows eliding a new/delete pair), the counter's own code no longer being in this file.
  const long n = allocations_during([] {
    int* volatile p = new int(1);
    delete p;
  });
  EXPECT_EQ(n, 1);
}

TEST(NoAllocation, ParseDecodeVerifyBuildAndFrame) {
  const Bytes vectors[] = {test::load_hex("rfc5769_2_1_request.hex"),
                           test::load_hex("rfc5769_2_2_ipv4_response.hex"),
                           test::load_hex("rfc5769_2_3_ipv6_response.hex"),
                           test::load_hex("rfc5769_2_4_long_term_request.hex")};
  const Bytes channel_data = test::from_hex("4001 0005 68656c6c 6f000000");
  const IntegrityKey key = short_term_key(test::kRfcShortTermPassword);
  {  // Warm-up: OpenSSL's per-thread HMAC context, fetched on first use.
    auto msg = MessageView::parse(test::span(vectors[0]));
    ASSERT_TRUE(msg);
    ASSERT_EQ(verify_integrity(*msg, key.span()), IntegrityResult::Ok);
  }

  int parsed = 0, decoded = 0, verified = 0, built = 0, framed = 0;
  const long n = allocations_during([&] {
    for (const Bytes& v : vectors) {
      auto msg = MessageView::parse(test::span(v));
      if (!msg) continue;
      ++parsed;
      test::for_each_attribute_type([&]<class A>() { decoded += msg->get<A>().has_value(); });
      verified += verify_integrity(*msg, key.span()) == IntegrityResult::Ok;
      auto size = next_frame_size(test::span(v));
      framed += size && *size == v.size();

      std::array<std::uint8_t, 256> out;
      MessageBuilder b{out, {Method::Allocate, Class::SuccessResponse}, msg->transaction_id()};
      b.add(XorRelayedAddress{TransportAddress{IpAddress::v4({203, 0, 113, 9}), 49152}});
      b.add(Lifetime{600});
      if (auto mapped = msg->get<XorMappedAddress>()) b.add(*mapped);
      b.add(Software{"turnd"});
      b.add_integrity(key.span(), IntegrityAlg::Sha1);
      b.add_integrity(key.span(), IntegrityAlg::Sha256);
      b.add_fingerprint();
      built += b.finish().has_value();
    }
    auto cd = ChannelDataView::parse(test::span(channel_data));
    framed += cd && cd->data.size() == 5;
    auto size = next_frame_size(test::span(channel_data));
    framed += size && *size == 12;
  });

  EXPECT_EQ(n, 0) << "operator new called on the packet path";
  EXPECT_EQ(parsed, 4);
  EXPECT_EQ(decoded, 18);  // §2.1: 6 attributes, §2.2-§2.4: 4 each
  EXPECT_EQ(verified, 3);  // §2.4 uses a long-term key
  EXPECT_EQ(built, 4);
  EXPECT_EQ(framed, 6);
}

}  // namespace
}  // namespace turnd::protocol
