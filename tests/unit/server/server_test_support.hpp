// Helpers shared by the server tests: a real shard (Config -> SharedServices -> ShardState ->
// Dispatcher) on a real io_context, a ClientSink that records what it is given, a plain UDP
// peer socket on 127.0.0.1, and builders for signed requests. Nothing is mocked.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "protocol/attributes/all.hpp"
#include "protocol/message_builder.hpp"
#include "protocol/message_view.hpp"
#include "server/client_context.hpp"
#include "server/clock.hpp"
#include "server/dispatcher.hpp"
#include "server/services.hpp"
#include "server/shard_state.hpp"

namespace turnd::server::test {

using Bytes = std::vector<std::uint8_t>;
using protocol::ByteSpan;
using protocol::IpAddress;
using protocol::TransportAddress;

inline IpAddress ip(std::string_view text) { return *IpAddress::parse(text); }
inline TransportAddress addr(std::string_view text) { return *TransportAddress::parse(text); }
inline protocol::IpPrefix prefix(std::string_view text) { return *protocol::IpPrefix::parse(text); }
inline protocol::TransactionId tid(std::uint8_t n) {
  return {0x74, 0x75, 0x72, 0x6e, 0x64, 0x2d, 0x74, 0x65, 0x73, 0x74, 0x00, n};
}

/// A relay port range of `size` ports that differs per process, so test processes that ctest
/// runs in parallel do not compete for the same ports (20000-29999, below the default range).
config::PortRange test_port_range(std::uint16_t size = 50);

/// A ClientSink that copies every datagram into storage reserved up front: recording never
/// allocates (the relay allocation test counts operator new while it runs).
class CapturingSink final : public ClientSink {
 public:
  explicit CapturingSink(std::size_t max_datagrams = 4096, std::size_t max_bytes = 1 << 20);
  void send_to_client(ByteSpan bytes, const TransportAddress& client,
                      const TransportAddress& local) noexcept override;
  bool is_stream() const noexcept override { return stream_; }
  /// Plays a TCP connection (ChannelData padded to 4 bytes) instead of a UDP listener.
  void set_stream(bool stream) noexcept { stream_ = stream; }

  struct Record {
    std::size_t offset, size;
    TransportAddress client, local;
  };
  std::size_t size() const noexcept { return records_.size(); }
  ByteSpan bytes(std::size_t i) const noexcept {
    return {arena_.data() + records_[i].offset, records_[i].size};
  }
  const Record& record(std::size_t i) const noexcept { return records_[i]; }
  std::size_t overflow() const noexcept { return overflow_; }
  void clear() noexcept;

 private:
  std::vector<std::uint8_t> arena_;
  std::size_t used_ = 0, overflow_ = 0;
  bool stream_ = false;
  std::vector<Record> records_;
};

/// A plain UDP socket on a loopback address (kernel-chosen port) playing a TURN peer. Closed
/// on destruction. Sending and receiving never allocate.
class UdpPeer {
 public:
  explicit UdpPeer(std::string_view ip = "127.0.0.1");
  ~UdpPeer();
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  const TransportAddress& address() const noexcept { return address_; }
  bool send_to(const TransportAddress& to, ByteSpan bytes) noexcept;
  /// Waits up to `timeout` for one datagram; returns its size (0 on timeout) and its source.
  std::size_t receive(std::uint8_t* buf, std::size_t cap, TransportAddress* from,
                      std::chrono::milliseconds timeout) noexcept;
  /// Reads every datagram queued now; returns how many equal `expected` and counts all in `n`.
  std::size_t drain(ByteSpan expected, std::size_t& n) noexcept;

 private:
  int fd_ = -1;
  TransportAddress address_;
};

/// Long-term credentials a request is signed with (RFC 8489 §9.2; MD5 key, SHA-1 MAC).
struct LongTerm {
  std::string user, password, realm, nonce;
};

/// Builds a message: `attrs(b)` adds the method's attributes, then USERNAME/REALM/NONCE and
/// MESSAGE-INTEGRITY when `auth` is given, then FINGERPRINT when asked.
template <class F>
Bytes build(protocol::MessageType type, const protocol::TransactionId& id, F&& attrs,
            const LongTerm* auth = nullptr, bool fingerprint = false,
            std::uint32_t cookie = protocol::kMagicCookie) {
  Bytes out(4096);
  protocol::MessageBuilder b{out, type, id, cookie};
  attrs(b);
  if (auth != nullptr) {
    b.add(protocol::Username{auth->user});
    b.add(protocol::Realm{auth->realm});
    b.add(protocol::Nonce{auth->nonce});
    const auto key = protocol::long_term_key(auth->user, auth->realm, auth->password,
                                             protocol::PasswordAlgorithmId::Md5);
    b.add_integrity(key.span(), protocol::IntegrityAlg::Sha1);
  }
  if (fingerprint) b.add_fingerprint();
  auto done = b.finish();
  out.resize(done ? done->size() : 0);
  return out;
}
inline protocol::MessageType request(protocol::Method m) { return {m, protocol::Class::Request}; }
/// ChannelData bytes: channel number, length, payload (no padding: UDP).
Bytes channel_data(std::uint16_t channel, ByteSpan payload);

/// ERROR-CODE of a reply, 0 for a success response, -1 when the reply does not parse.
int reply_code(ByteSpan reply);

/// Runs ready handlers of `io` until `done()` or `timeout` passes; false on timeout.
template <class Pred>
bool pump_until(boost::asio::io_context& io, Pred&& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.poll();
  }
  return true;
}

/// One shard over a Config: SharedServices, ShardState and Dispatcher on a real io_context
/// (not running; tests pump it when relay sockets must deliver). Client: 127.0.0.1:40001 over
/// UDP to 127.0.0.1:3478, with `sink` as its listener.
class TestServer {
 public:
  /// Static users alice/wonderland and carol/secret; relay range from test_port_range().
  static config::Config default_config();
  explicit TestServer(config::Config config = default_config(),
                      const Clock& clock = system_clock());
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  /// Sends `msg` as the client and returns a copy of the reply (empty: no reply).
  Bytes send(Bytes msg);
  Bytes send_from(const ClientContext& ctx, Bytes msg);
  /// The NONCE of a 401 challenge to an unauthenticated Allocate.
  std::string fresh_nonce();
  LongTerm alice();
  LongTerm user(std::string name, std::string password);
  /// An authenticated Allocate (REQUESTED-TRANSPORT UDP); returns the reply.
  Bytes allocate(const LongTerm& auth, std::uint8_t id);
  /// The XOR-RELAYED-ADDRESS of a successful Allocate reply.
  static TransportAddress relayed(ByteSpan reply);
  Bytes create_permission(const LongTerm& auth, std::uint8_t id, const TransportAddress& peer);
  Bytes channel_bind(const LongTerm& auth, std::uint8_t id, std::uint16_t channel,
                     const TransportAddress& peer);
  Bytes refresh(const LongTerm& auth, std::uint8_t id, std::uint32_t lifetime);
  /// The same requests, built but not sent (for a client of another shard).
  static Bytes allocate_request(const LongTerm& auth, std::uint8_t id);
  static Bytes create_permission_request(const LongTerm& auth, std::uint8_t id,
                                         const TransportAddress& peer);
  static Bytes channel_bind_request(const LongTerm& auth, std::uint8_t id, std::uint16_t channel,
                                    const TransportAddress& peer);
  static Bytes refresh_request(const LongTerm& auth, std::uint8_t id, std::uint32_t lifetime);
  /// Runs ready handlers of the io_context until `done()` or `timeout` passes.
  template <class Pred>
  bool pump_until(Pred&& done, std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
    return test::pump_until(io, done, timeout);
  }

  config::Config config;
  CapturingSink sink;  // before the shard: allocations keep a pointer to it
  boost::asio::io_context io;
  std::unique_ptr<SharedServices> services;
  std::unique_ptr<ShardState> shard;
  std::unique_ptr<Dispatcher> dispatcher;
  ClientContext ctx;
};

}  // namespace turnd::server::test
