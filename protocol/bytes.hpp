// Byte spans plus a bounds-checked big-endian reader and writer used by every codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace turnd::protocol {

using ByteSpan = std::span<const std::uint8_t>;
using MutableByteSpan = std::span<std::uint8_t>;

inline ByteSpan as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string(ByteSpan b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

inline std::uint16_t load_u16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_u32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline void store_u16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_u32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

/// Reads big-endian fields from a span; every read past the end fails instead of overrunning.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) noexcept : data_(data) {}
  bool read_u8(std::uint8_t& v) noexcept {
    if (remaining() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool read_u16(std::uint16_t& v) noexcept {
    if (remaining() < 2) return false;
    v = load_u16(data_.data() + pos_);
    pos_ += 2;
    return true;
  }
  bool read_u32(std::uint32_t& v) noexcept {
    if (remaining() < 4) return false;
    v = load_u32(data_.data() + pos_);
    pos_ += 4;
    return true;
  }
  bool read_bytes(std::size_t n, ByteSpan& out) noexcept {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t remaining() const noexcept { return data_.size() - pos_; }
  std::size_t position() const noexcept { return pos_; }

 private:
  ByteSpan data_;
  std::size_t pos_ = 0;
};

/// Writes big-endian fields into a caller's buffer; on overflow it stops writing and
/// remembers the failure (check ok() once at the end instead of after every call).
class ByteWriter {
 public:
  explicit ByteWriter(MutableByteSpan out) noexcept : out_(out) {}
  void write_u8(std::uint8_t v) noexcept {
    if (reserve(1)) out_[pos_++] = v;
  }
  void write_u16(std::uint16_t v) noexcept {
    if (reserve(2)) {
      store_u16(out_.data() + pos_, v);
      pos_ += 2;
    }
  }
  void write_u32(std::uint32_t v) noexcept {
    if (reserve(4)) {
      store_u32(out_.data() + pos_, v);
      pos_ += 4;
    }
  }
  void write_bytes(ByteSpan b) noexcept {
    if (reserve(b.size()) && !b.empty()) {
      std::memcpy(out_.data() + pos_, b.data(), b.size());
      pos_ += b.size();
    }
  }
  void write_zeros(std::size_t n) noexcept {
    if (reserve(n)) {
      std::memset(out_.data() + pos_, 0, n);
      pos_ += n;
    }
  }
  bool ok() const noexcept { return ok_; }
  std::size_t position() const noexcept { return pos_; }
  std::uint8_t* data() noexcept { return out_.data(); }
  MutableByteSpan written() noexcept { return out_.first(pos_); }

 private:
  bool reserve(std::size_t n) noexcept {
    if (!ok_ || out_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  MutableByteSpan out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace turnd::protocol
