#include "protocol/stream_framer.hpp"

#include "protocol/channel_data.hpp"
#include "protocol/message_view.hpp"

namespace turnd::protocol {

std::string_view to_string(FrameError) noexcept {
  return "stream data is neither STUN nor ChannelData";
}

Result<std::size_t, FrameError> next_frame_size(ByteSpan buffered) noexcept {
  if (buffered.size() < 4) return std::size_t{0};
  const std::uint16_t length = load_u16(buffered.data() + 2);
  if (buffered[0] < 4) {
    if (length % 4 != 0) return unexpected(FrameError::NotStunOrChannelData);
    return kHeaderSize + length;
  }
  if (looks_like_channel_data(buffered))
    return kChannelDataHeaderSize + length + stream_padding(length);
  return unexpected(FrameError::NotStunOrChannelData);
}

}  // namespace turnd::protocol
