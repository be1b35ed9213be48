// ChannelData parsing (RFC 8656 §12.4), channel number ranges, stream padding and the stream
// framer (RFC 8656 §12.5, RFC 8489 §6.2.2).
#include "protocol/channel_data.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "protocol/stream_framer.hpp"
#include "test_support.hpp"

namespace turnd::protocol {
namespace {

using test::Bytes;
using test::from_hex;
using test::to_hex;

struct ChannelDataCase {
  std::string name;
  std::string_view hex;
  std::optional<ChannelDataError> error;
  std::uint16_t channel = 0;
  std::string_view data_hex = "";
};
void PrintTo(const ChannelDataCase& c, std::ostream* os) { *os << c.name; }

const ChannelDataCase kChannelData[] = {
    {"empty", "", ChannelDataError::TooShort},
    {"three_bytes", "400000", ChannelDataError::TooShort},
    {"channel_0", "0000 0000", ChannelDataError::BadChannel},
    {"channel_3fff", "3fff 0000", ChannelDataError::BadChannel},
    {"channel_4000_empty", "4000 0000", std::nullopt, 0x4000},
    {"channel_4fff", "4fff 0002 abcd", std::nullopt, 0x4fff, "abcd"},
    {"channel_5000_rfc5766", "5000 0001 aa", std::nullopt, 0x5000, "aa"},
    {"channel_7fff_non_strict", "7fff 0001 aa", std::nullopt, 0x7fff, "aa"},
    {"channel_8000", "8000 0000", ChannelDataError::BadChannel},
    {"channel_ffff", "ffff 0000", ChannelDataError::BadChannel},
    {"length_past_data", "4001 0005 01020304", ChannelDataError::BadLength},
    {"length_ffff", "4001 ffff 01020304", ChannelDataError::BadLength},
    {"exact", "4001 0004 01020304", std::nullopt, 0x4001, "01020304"},
    {"trailing_padding_ignored", "4001 0003 01020300", std::nullopt, 0x4001, "010203"},
    {"trailing_bytes_ignored", "4001 0001 aabbccdd eeff", std::nullopt, 0x4001, "aa"},
};

class ChannelDataTable : public testing::TestWithParam<ChannelDataCase> {};

TEST_P(ChannelDataTable, Parses) {
  const ChannelDataCase& c = GetParam();
  const Bytes bytes = from_hex(c.hex);
  auto cd = ChannelDataView::parse(test::span(bytes));
  if (c.error) {
    ASSERT_FALSE(cd);
    EXPECT_EQ(cd.error(), *c.error);
    return;
  }
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->channel, c.channel);
  EXPECT_EQ(to_hex(cd->data), to_hex(test::span(from_hex(c.data_hex))));
  EXPECT_EQ(cd->data.data(), bytes.data() + 4);  // a view into the datagram
}

INSTANTIATE_TEST_SUITE_P(Datagrams, ChannelDataTable, testing::ValuesIn(kChannelData),
                         [](const auto& info) { return info.param.name; });

struct ChannelRangeCase {
  std::uint16_t channel;
  bool strict, lenient;
};
const ChannelRangeCase kRanges[] = {
    {0x0000, false, false}, {0x3fff, false, false}, {0x4000, true, true},   {0x4fff, true, true},
    {0x5000, false, true},  {0x7fff, false, true},  {0x8000, false, false}, {0xffff, false, false},
};

TEST(ChannelData, ValidChannelStrictAndRfc5766) {
  for (const auto& r : kRanges) {
    EXPECT_EQ(is_valid_channel(r.channel, true), r.strict) << std::hex << r.channel;
    EXPECT_EQ(is_valid_channel(r.channel, false), r.lenient) << std::hex << r.channel;
  }
}

TEST(ChannelData, StreamPadding) {
  const std::pair<std::size_t, std::size_t> rows[] = {{0, 0}, {1, 3}, {2, 2},     {3, 1},
                                                      {4, 0}, {5, 3}, {65535, 1}, {65532, 0}};
  for (auto [length, padding] : rows) EXPECT_EQ(stream_padding(length), padding) << length;
}

TEST(ChannelData, WriteHeader) {
  std::uint8_t header[4] = {};
  write_channel_data_header(header, 0x4001, 0x0105);
  EXPECT_EQ(to_hex(header), "40010105");
  auto cd = ChannelDataView::parse(
      test::span(test::concat({Bytes(header, header + 4), Bytes(0x105, 0x77)})));
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->data.size(), 0x105u);
}

TEST(ChannelData, LooksLikeChannelData) {
  EXPECT_TRUE(looks_like_channel_data(test::span(from_hex("40000000"))));
  EXPECT_TRUE(looks_like_channel_data(test::span(from_hex("7fff0000"))));
  EXPECT_FALSE(looks_like_channel_data(test::span(from_hex("400000"))));
  EXPECT_FALSE(looks_like_channel_data(test::span(from_hex("3fff0000"))));
  EXPECT_FALSE(looks_like_channel_data(test::span(from_hex("80000000"))));
  EXPECT_FALSE(looks_like_channel_data(test::span(from_hex("00010000"))));
}

struct FrameCase {
  std::string name;
  Bytes bytes;
  std::optional<std::size_t> size;  // nullopt: NotStunOrChannelData
};
void PrintTo(const FrameCase& c, std::ostream* os) { *os << c.name; }

std::vector<FrameCase> frame_cases() {
  return {
      {"empty", {}, 0},
      {"one_byte", from_hex("00"), 0},
      {"three_bytes", from_hex("000100"), 0},
      {"stun_header_start", from_hex("0001 0008"), 28},
      {"stun_header_only", from_hex("0001 0000 2112a442"), 20},
      {"stun_max_length", from_hex("0001 fffc"), 20 + 65532},
      {"stun_length_not_multiple_of_4", from_hex("0001 0006"), std::nullopt},
      {"stun_first_byte_03", from_hex("0301 0004"), 24},
      {"rfc5769_request", test::load_hex("rfc5769_2_1_request.hex"), 108},
      {"channel_data_empty", from_hex("4000 0000"), 4},
      {"channel_data_padded_5", from_hex("4000 0005 01"), 12},
      {"channel_data_aligned", from_hex("4001 0004"), 8},
      {"channel_data_7fff", from_hex("7fff 0001"), 8},
      {"channel_data_max", from_hex("4fff ffff"), 4 + 65535 + 1},
      {"first_byte_04", from_hex("0400 0000"), std::nullopt},
      {"first_byte_3f", from_hex("3f00 0000"), std::nullopt},
      {"first_byte_80", from_hex("8000 0000"), std::nullopt},
      {"first_byte_17_tls_record", from_hex("1703 0300"), std::nullopt},
  };
}

class FrameTable : public testing::TestWithParam<FrameCase> {};

TEST_P(FrameTable, NextFrameSize) {
  const FrameCase& c = GetParam();
  auto n = next_frame_size(test::span(c.bytes));
  if (!c.size) {
    ASSERT_FALSE(n) << *n;
    EXPECT_EQ(n.error(), FrameError::NotStunOrChannelData);
    EXPECT_FALSE(to_string(n.error()).empty());
    return;
  }
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, *c.size);
  EXPECT_LE(*n, kMaxStreamFrame);
}

INSTANTIATE_TEST_SUITE_P(Streams, FrameTable, testing::ValuesIn(frame_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace turnd::protocol
