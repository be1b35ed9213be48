// Stateful libFuzzer target for the Dispatcher (server/dispatcher.hpp) on a real shard (see
// tests/unit/server/server_test_support.hpp): a real io_context, real relay sockets and two
// real UDP peers on 127.0.0.2 and 127.0.0.3. The input is a program of up to kMaxOps
// operations by three clients (two over UDP, one over a stream connection that can close):
// Allocate with and without valid credentials, CreatePermission, ChannelBind, Send
// indications, ChannelData, Refresh (lifetime 0 too), close, garbage, and peers sending to
// relayed addresses. A model kept from the server's own success replies is checked after
// every operation:
//  - every reply is a STUN message whose length field matches its size and whose
//    transaction id is the request's; a reply to a request without MESSAGE-INTEGRITY is at
//    most kUnauthenticatedReplyMax bytes larger than the request (RFC 5780 PADDING may grow
//    a Binding answer by the request's size, no more); ChannelData to a client has a
//    consistent length;
//  - nothing reaches a peer from a relayed address without a permission acknowledged for that
//    peer's IP, and nothing reaches a client from a peer without one (Data indications by
//    XOR-PEER-ADDRESS, ChannelData by the channel bound to that peer);
//  - the allocations gauge equals the table's size and the model's count, and the relay ports
//    in use equal the live allocations;
//  - once the shard is destroyed, the process holds the file descriptors it held before.
// The shard has alternate_listen (RFC 5780), so Binding garbage to 127.0.0.1:3478 runs the
// checks of CHANGE-REQUEST, RESPONSE-PORT and PADDING (an answer routed to another socket is
// not sent: this shard has no listeners, so no socket of that role).
#include <dirent.h>

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "fuzz_targets.hpp"
#include "protocol/channel_data.hpp"
#include "unit/server/server_test_support.hpp"

namespace turnd::fuzz {
namespace {

using namespace turnd::protocol;
using server::ClientContext;
using server::ClientSink;
using server::Transport;
using server::test::Bytes;
using server::test::LongTerm;
using server::test::TestServer;
using server::test::UdpPeer;

constexpr std::size_t kMaxOps = 64;
constexpr std::size_t kUnauthenticatedReplyMax = 512;
constexpr int kClients = 3;  // 0, 1: UDP; 2: stream

// Records what a client is sent (UDP or stream).
class RecordingSink final : public ClientSink {
 public:
  explicit RecordingSink(bool stream) : stream_(stream) {}
  void send_to_client(ByteSpan bytes, const TransportAddress&,
                      const TransportAddress&) noexcept override {
    got.emplace_back(bytes.begin(), bytes.end());
  }
  bool is_stream() const noexcept override { return stream_; }
  std::vector<Bytes> got;

 private:
  bool stream_;
};

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

// Reads the program.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const noexcept { return pos_ >= size_; }
  std::uint8_t byte() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  ByteSpan bytes(std::size_t n) noexcept {
    n = std::min(n, size_ - std::min(pos_, size_));
    ByteSpan s{data_ + pos_, n};
    pos_ += n;
    return s;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_, pos_ = 0;
};

struct ClientModel {
  std::unique_ptr<RecordingSink> sink;
  ClientContext ctx;
  std::optional<TransportAddress> relayed;
  std::set<IpAddress> permitted;
  std::map<std::uint16_t, TransportAddress> channels;
  std::size_t checked = 0;  // sink records already checked
};

bool is_stun(ByteSpan b) { return !b.empty() && (b[0] & 0xC0) == 0; }

class Run {
 public:
  Run() : server_(make_config()) {
    nonce_ = server_.fresh_nonce();
    for (int i = 0; i < kClients; ++i) {
      auto& c = clients_[i];
      const bool stream = i == 2;
      c.sink = std::make_unique<RecordingSink>(stream);
      c.ctx = ClientContext{*TransportAddress::parse("127.0.0.1:" + std::to_string(40001 + i)),
                            *TransportAddress::parse("127.0.0.1:3478"),
                            stream ? Transport::Tcp : Transport::Udp, c.sink.get()};
    }
  }

  void step(Input& in) {
    const std::uint8_t op = in.byte();
    auto& c = clients_[(op >> 4) % kClients];
    switch (op % 10) {
      case 0:
        allocate(c, true);
        break;
      case 1:
        allocate(c, false);
        break;
      case 2:
        create_permission(c, target(in.byte()));
        break;
      case 3:
        channel_bind(c, static_cast<std::uint16_t>(0x4000 | (in.byte() & 0x0F)), target(in.byte()));
        break;
      case 4:
        send_indication(c, target(in.byte()), payload(in));
        break;
      case 5:
        channel_data(c, static_cast<std::uint16_t>(0x4000 | (in.byte() & 0x0F)), payload(in));
        break;
      case 6:
        refresh(c, (in.byte() & 1) != 0 ? 0 : 600);
        break;
      case 7:
        close(c);
        break;
      case 8:
        garbage(c, in);
        break;
      case 9:
        peer_sends(in.byte(), payload(in));
        break;
    }
    server_.dispatcher->flush();
    pump();
    check();
  }

  ~Run() {
    for (auto& c : clients_)
      if (c.ctx.transport == Transport::Tcp) server_.dispatcher->on_connection_closed(c.ctx);
  }

 private:
  static config::Config make_config() {
    auto c = TestServer::default_config();
    c.allow_peers = {*IpPrefix::parse("127.0.0.0/8")};
    c.alternate_listen = TransportAddress::parse("127.0.0.2:3479");
    return c;
  }

  TransactionId next_tid() {
    ++tid_counter_;
    TransactionId t{};
    for (int i = 0; i < 4; ++i) t[i] = static_cast<std::uint8_t>(tid_counter_ >> (8 * i));
    t[11] = 0x5a;
    return t;
  }

  // A peer address: peer 0, peer 1, or the relayed address of a client.
  TransportAddress target(std::uint8_t b) {
    const int which = b % 5;
    if (which < 2) return peers_[which].address();
    if (auto& r = clients_[which - 2].relayed) return *r;
    return peers_[0].address();
  }

  static ByteSpan payload(Input& in) {
    const std::size_t n = 1 + in.byte() % 64;
    static std::array<std::uint8_t, 64> buf;
    const ByteSpan got = in.bytes(n);
    std::fill(buf.begin(), buf.end(), 0x42);
    std::copy(got.begin(), got.end(), buf.begin());
    return {buf.data(), n};
  }

  template <class F>
  Bytes signed_request(Method m, F&& attrs, bool good_password) {
    const LongTerm auth{"alice", good_password ? "wonderland" : "wrong", server_.config.realm,
                        nonce_};
    return server::test::build({m, Class::Request}, next_tid(), attrs, &auth);
  }

  // Sends `msg` as client `c` and checks the reply's shape; returns the reply.
  Bytes send(ClientModel& c, Bytes msg) {
    const ByteSpan reply = server_.dispatcher->on_client_message(c.ctx, msg);
    const Bytes out{reply.begin(), reply.end()};
    check_reply(msg, out);
    return out;
  }

  void check_reply(const Bytes& request, const Bytes& reply) {
    if (reply.empty()) return;
    TURND_ASSERT(is_stun(reply) && reply.size() >= kHeaderSize);
    TURND_ASSERT(((reply[2] << 8) | reply[3]) + kHeaderSize == reply.size());
    auto msg = MessageView::parse(reply);
    TURND_ASSERT(msg.has_value());
    // A malformed request with a sound header may get a 400: the id comes from the header.
    TURND_ASSERT(request.size() >= kHeaderSize);
    TURND_ASSERT(
        std::equal(request.begin() + 8, request.begin() + 20, msg->transaction_id().begin()));
    auto req = MessageView::parse(request);
    if (!req ||
        (!req->has(AttrType::MessageIntegrity) && !req->has(AttrType::MessageIntegritySha256)))
      TURND_ASSERT(reply.size() <= kUnauthenticatedReplyMax + request.size());
  }

  void allocate(ClientModel& c, bool good) {
    const Bytes reply =
        send(c, signed_request(
                    Method::Allocate,
                    [](MessageBuilder& b) { b.add(RequestedTransport{kProtocolUdp}); }, good));
    if (server::test::reply_code(reply) != 0) return;
    TURND_ASSERT(good && !c.relayed);  // a second allocation on a 5-tuple is refused
    c.relayed = TestServer::relayed(reply);
    c.permitted.clear();
    c.channels.clear();
  }

  void create_permission(ClientModel& c, const TransportAddress& peer) {
    const Bytes reply = send(c, signed_request(
                                    Method::CreatePermission,
                                    [&](MessageBuilder& b) { b.add(XorPeerAddress{peer}); }, true));
    if (server::test::reply_code(reply) == 0) {
      TURND_ASSERT(c.relayed.has_value());
      c.permitted.insert(peer.ip);
    }
  }

  void channel_bind(ClientModel& c, std::uint16_t channel, const TransportAddress& peer) {
    const Bytes reply = send(c, signed_request(
                                    Method::ChannelBind,
                                    [&](MessageBuilder& b) {
                                      b.add(ChannelNumber{channel});
                                      b.add(XorPeerAddress{peer});
                                    },
                                    true));
    if (server::test::reply_code(reply) == 0) {
      TURND_ASSERT(c.relayed.has_value());
      c.permitted.insert(peer.ip);
      c.channels[channel] = peer;
    }
  }

  void send_indication(ClientModel& c, const TransportAddress& peer, ByteSpan data) {
    const Bytes msg =
        server::test::build({Method::Send, Class::Indication}, next_tid(), [&](MessageBuilder& b) {
          b.add(XorPeerAddress{peer});
          b.add(Data{data});
        });
    TURND_ASSERT(send(c, msg).empty());  // indications are never answered
  }

  void channel_data(ClientModel& c, std::uint16_t channel, ByteSpan data) {
    Bytes msg = server::test::channel_data(channel, data);
    if (c.sink->is_stream()) msg.resize((msg.size() + 3) & ~std::size_t{3}, 0);
    const ByteSpan reply = server_.dispatcher->on_client_message(c.ctx, msg);
    TURND_ASSERT(reply.empty());
  }

  void refresh(ClientModel& c, std::uint32_t lifetime) {
    const Bytes reply =
        send(c, signed_request(
                    Method::Refresh, [&](MessageBuilder& b) { b.add(Lifetime{lifetime}); }, true));
    if (server::test::reply_code(reply) == 0) {
      TURND_ASSERT(c.relayed.has_value());
      if (lifetime == 0) forget(c);
    }
  }

  void close(ClientModel& c) {
    if (c.ctx.transport != Transport::Tcp) return;
    server_.dispatcher->on_connection_closed(c.ctx);
    forget(c);
    check_sink(c);                          // what arrived before the close
    retired_.push_back(std::move(c.sink));  // a new connection from the same address
    c.sink = std::make_unique<RecordingSink>(true);
    c.ctx.sink = c.sink.get();
    c.checked = 0;
  }

  void forget(ClientModel& c) {
    c.relayed.reset();
    c.permitted.clear();
    c.channels.clear();
  }

  // Raw bytes, or a fuzzed attribute list behind a valid header (so it reaches the handlers).
  void garbage(ClientModel& c, Input& in) {
    const std::uint8_t kind = in.byte();
    const ByteSpan body = in.bytes(in.byte());
    Bytes msg;
    if ((kind & 1) != 0) {
      msg.assign(body.begin(), body.end());
    } else {
      const std::uint16_t type =
          static_cast<std::uint16_t>(((kind >> 1) % 12) == 0 ? 0x0001 : ((kind >> 1) % 12));
      const std::size_t len = body.size() & ~std::size_t{3};
      msg = {static_cast<std::uint8_t>(type >> 8),
             static_cast<std::uint8_t>(type),
             static_cast<std::uint8_t>(len >> 8),
             static_cast<std::uint8_t>(len),
             0x21,
             0x12,
             0xA4,
             0x42};
      const TransactionId t = next_tid();
      msg.insert(msg.end(), t.begin(), t.end());
      msg.insert(msg.end(), body.begin(), body.begin() + static_cast<std::ptrdiff_t>(len));
    }
    Bytes copy = msg;
    const ByteSpan reply = server_.dispatcher->on_client_message(c.ctx, copy);
    const Bytes out{reply.begin(), reply.end()};
    if (!out.empty()) check_reply(msg, out);
  }

  void peer_sends(std::uint8_t b, ByteSpan data) {
    auto& to = clients_[(b >> 1) % kClients];
    if (!to.relayed) return;
    peers_[b & 1].send_to(*to.relayed, data);
  }

  void pump() {
    for (int i = 0; i < 4; ++i) {
      server_.io.restart();
      server_.io.poll();
    }
    server_.dispatcher->flush();
  }

  ClientModel* owner_of(const TransportAddress& relayed) {
    for (auto& c : clients_)
      if (c.relayed && *c.relayed == relayed) return &c;
    return nullptr;
  }

  void check_peers() {
    for (auto& peer : peers_) {
      std::uint8_t buf[4096];
      TransportAddress from;
      while (peer.receive(buf, sizeof buf, &from, std::chrono::milliseconds(0)) > 0) {
        const ClientModel* c = owner_of(from);
        TURND_ASSERT(c != nullptr);  // only from a live relayed address
        TURND_ASSERT(c->permitted.contains(peer.address().ip));
      }
    }
  }

  void check_sink(ClientModel& c) {
    const bool stream = c.sink->is_stream();
    for (; c.checked < c.sink->got.size(); ++c.checked) {
      const Bytes& b = c.sink->got[c.checked];
      TURND_ASSERT(b.size() >= 4);
      const std::size_t len = (b[2] << 8) | b[3];
      if (is_stun(b)) {
        TURND_ASSERT(len + kHeaderSize == b.size());
        auto msg = MessageView::parse(b);
        TURND_ASSERT(msg.has_value());
        if (msg->type() == MessageType{Method::Data, Class::Indication}) {
          auto peer = msg->get<XorPeerAddress>();
          TURND_ASSERT(peer.has_value() && c.relayed.has_value());
          TURND_ASSERT(c.permitted.contains(peer->address.ip));
        }
      } else {
        const std::uint16_t channel = static_cast<std::uint16_t>((b[0] << 8) | b[1]);
        const std::size_t framed = kChannelDataHeaderSize + len;
        TURND_ASSERT(b.size() == (stream ? (framed + 3) & ~std::size_t{3} : framed));
        TURND_ASSERT(c.relayed.has_value() && c.channels.contains(channel));
        TURND_ASSERT(c.permitted.contains(c.channels.at(channel).ip));
      }
    }
  }

  void check() {
    check_peers();
    for (auto& c : clients_) check_sink(c);
    std::size_t live = 0;
    for (auto& c : clients_) live += c.relayed.has_value();
    TURND_ASSERT(server_.shard->allocations().size() == live);
    TURND_ASSERT(server_.shard->counters().allocations.load() == static_cast<std::int64_t>(live));
    TURND_ASSERT(server_.services->ports.in_use() == live);
  }

  // The sinks outlive the shard (allocations keep pointers to them).
  std::array<ClientModel, kClients> clients_;
  std::vector<std::unique_ptr<RecordingSink>> retired_;
  TestServer server_;
  std::string nonce_;
  std::array<UdpPeer, 2> peers_{UdpPeer{"127.0.0.2"}, UdpPeer{"127.0.0.3"}};
  std::uint32_t tid_counter_ = 0;
};

}  // namespace

int check_dispatcher(const std::uint8_t* data, std::size_t size) {
  const std::size_t fds_before = open_fds();
  {
    Run run;
    Input in{data, size};
    for (std::size_t i = 0; i < kMaxOps && !in.done(); ++i) run.step(in);
  }
  TURND_ASSERT(open_fds() == fds_before);
  return 0;
}

}  // namespace turnd::fuzz

#if !defined(TURND_FUZZ_REGRESS)
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return turnd::fuzz::check_dispatcher(data, size);
}
#endif
