#include "protocol/channel_data.hpp"

namespace turnd::protocol {

Result<ChannelDataView, ChannelDataError> ChannelDataView::parse(ByteSpan datagram) noexcept {
  if (datagram.size() < kChannelDataHeaderSize) return unexpected(ChannelDataError::TooShort);
  const std::uint16_t channel = load_u16(datagram.data());
  if (!is_valid_channel(channel, false)) return unexpected(ChannelDataError::BadChannel);
  const std::uint16_t length = load_u16(datagram.data() + 2);
  if (datagram.size() - kChannelDataHeaderSize < length)
    return unexpected(ChannelDataError::BadLength);
  return ChannelDataView{channel, datagram.subspan(kChannelDataHeaderSize, length)};
}

}  // namespace turnd::protocol
