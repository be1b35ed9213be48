// IP addresses, transport addresses (IP + port) and prefixes: vocabulary types shared by
// every library. No Asio here; server/io converts to and from sockaddr.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace turnd::protocol {

enum class Family : std::uint8_t { V4 = 1, V6 = 2 };  // values are the STUN address family codes

/// An IPv4 or IPv6 address. IPv4 keeps its 4 bytes at the front of `bytes`, the rest zero.
struct IpAddress {
  Family family = Family::V4;
  std::array<std::uint8_t, 16> bytes{};

  static IpAddress v4(std::array<std::uint8_t, 4> b) noexcept;
  static IpAddress v6(const std::array<std::uint8_t, 16>& b) noexcept;
  /// Parses dotted-quad or RFC 4291 text (no brackets, no zone). nullopt when invalid.
  static std::optional<IpAddress> parse(std::string_view text) noexcept;

  bool is_v4() const noexcept { return family == Family::V4; }
  std::size_t size() const noexcept { return is_v4() ? 4 : 16; }
  bool is_unspecified() const noexcept;
  /// ::ffff:a.b.c.d -> a.b.c.d; anything else is returned unchanged.
  IpAddress unmapped() const noexcept;
  std::string to_string() const;

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

/// An IP address and a port: one end of a 5-tuple.
struct TransportAddress {
  IpAddress ip;
  std::uint16_t port = 0;

  /// Parses "1.2.3.4:3478" or "[2001:db8::1]:3478". nullopt when invalid or port missing.
  static std::optional<TransportAddress> parse(std::string_view text) noexcept;
  std::string to_string() const;

  friend auto operator<=>(const TransportAddress&, const TransportAddress&) = default;
};

/// An address prefix such as 10.0.0.0/8 or fe80::/10.
struct IpPrefix {
  IpAddress base;
  std::uint8_t length = 0;

  /// Parses "10.0.0.0/8", "::1/128" or a bare address (full length). Host bits must be zero.
  static std::optional<IpPrefix> parse(std::string_view text) noexcept;
  bool contains(const IpAddress& ip) const noexcept;
  std::string to_string() const;

  friend auto operator<=>(const IpPrefix&, const IpPrefix&) = default;
};

struct TransportAddressHash {
  std::size_t operator()(const TransportAddress& a) const noexcept;
};

}  // namespace turnd::protocol
