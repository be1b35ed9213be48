// libFuzzer target for datagram demux and stream framing. Properties: ChannelDataView::parse
// and next_frame_size stay inside the input; a simulated TCP connection that receives the input
// in arbitrary chunks (sizes derived from the first bytes) never takes a frame larger than what
// it has buffered, always terminates, and cuts exactly the same frames as when the whole input
// arrives at once; every complete frame parses as what the framer said it was.
#include <algorithm>
#include <vector>

#include "fuzz_targets.hpp"
#include "protocol/channel_data.hpp"
#include "protocol/message_view.hpp"
#include "protocol/result.hpp"
#include "protocol/stream_framer.hpp"

namespace turnd::fuzz {
namespace {

using namespace turnd::protocol;

void check_datagram(ByteSpan input) {
  if (auto cd = ChannelDataView::parse(input)) {
    TURND_ASSERT(is_valid_channel(cd->channel, false));
    TURND_ASSERT(cd->data.data() == input.data() + kChannelDataHeaderSize);
    TURND_ASSERT(cd->data.size() == load_u16(input.data() + 2));
    TURND_ASSERT(kChannelDataHeaderSize + cd->data.size() <= input.size());
  }
  if (auto n = next_frame_size(input); n && *n != 0) {
    TURND_ASSERT(*n <= kMaxStreamFrame);
    TURND_ASSERT(input[0] < 4 ? *n >= kHeaderSize && (*n - kHeaderSize) % 4 == 0 : *n % 4 == 0);
  }
}

// A complete frame is what the framer said: STUN whose framing is right, or valid ChannelData.
void check_frame(ByteSpan frame) {
  if (frame[0] < 4) {
    auto msg = MessageView::parse(frame);
    if (msg) {
      TURND_ASSERT(msg->bytes().size() == frame.size());
    } else {
      TURND_ASSERT(msg.error() != ParseError::TooShort && msg.error() != ParseError::NotStun &&
                   msg.error() != ParseError::BadLength);
    }
    return;
  }
  auto cd = ChannelDataView::parse(frame);
  TURND_ASSERT(cd.has_value());
  TURND_ASSERT(frame.size() ==
               kChannelDataHeaderSize + cd->data.size() + stream_padding(cd->data.size()));
}

// Chunk sizes for one simulated connection, a small PRNG seeded from the first two bytes.
class Chunker {
 public:
  explicit Chunker(ByteSpan input) {
    static constexpr std::size_t kMaxChunks[] = {1, 3, 7, 64, 1500, 65536};
    if (input.size() >= 2) {
      state_ = (std::uint32_t{input[0]} << 8 | input[1]) + 1;
      max_ = kMaxChunks[input[0] % std::size(kMaxChunks)];
    }
  }
  std::size_t next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return 1 + state_ % max_;
  }

 private:
  std::uint32_t state_ = 1;
  std::size_t max_ = 65536;
};

struct Outcome {
  std::vector<std::size_t> frames;
  bool error = false;
};

// Feeds `input` to a connection buffer in the chunker's sizes (nullptr: all at once) and cuts
// frames the way a stream connection does.
Outcome frame_stream(ByteSpan input, Chunker* chunker) {
  Outcome out;
  std::vector<std::uint8_t> buffered;
  std::size_t fed = 0, chunks = 0, iterations = 0;
  for (;;) {
    for (;;) {
      ++iterations;
      TURND_ASSERT(iterations <= input.size() / 4 + chunks + 2);  // the loop terminates
      auto n = next_frame_size(buffered);
      if (!n) {
        out.error = true;  // the connection would be closed here
        return out;
      }
      if (*n == 0) {
        TURND_ASSERT(buffered.size() < 4);
        break;
      }
      TURND_ASSERT(*n >= kChannelDataHeaderSize && *n <= kMaxStreamFrame);
      if (*n > buffered.size()) break;  // wait for more bytes
      check_frame(ByteSpan{buffered}.first(*n));
      out.frames.push_back(*n);
      buffered.erase(buffered.begin(), buffered.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    if (fed == input.size()) return out;
    const std::size_t chunk =
        std::min(chunker ? chunker->next() : input.size(), input.size() - fed);
    buffered.insert(buffered.end(), input.begin() + static_cast<std::ptrdiff_t>(fed),
                    input.begin() + static_cast<std::ptrdiff_t>(fed + chunk));
    fed += chunk;
    ++chunks;
  }
}

}  // namespace

int check_framing(const std::uint8_t* data, std::size_t size) {
  const ByteSpan input{data, size};
  check_datagram(input);
  Chunker chunker{input};
  const Outcome whole = frame_stream(input, nullptr);
  const Outcome chunked = frame_stream(input, &chunker);
  TURND_ASSERT(chunked.error == whole.error);
  TURND_ASSERT(chunked.frames == whole.frames);
  return 0;
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_framing(data, size);
}
#endif
