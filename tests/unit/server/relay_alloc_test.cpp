// The relay hot path never allocates: with a replaced global operator new counting calls, a
// warmed-up allocation relays ChannelData and Send indications client -> peer through
// Dispatcher::on_client_message, and peer -> client datagrams through the relay socket's
// readiness handler (io_context::poll), over real loopback sockets. Its own executable,
// because the replacements are global: operator new/delete, and the C allocator (malloc & co.,
// interposed and forwarded to glibc's __libc_* entry points) since Boost.Asio allocates with
// aligned_alloc. When something does allocate, the stack of the first allocation of each kind
// is printed (linked with -rdynamic for names).
#include <execinfo.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "server_test_support.hpp"

namespace {

// Two counts: operator new, and the C allocator called by anything else. Boost.Asio 1.81 takes
// the memory of its operations from std::aligned_alloc (asio/detail/memory.hpp aligned_new),
// not operator new, whenever its per-thread recycling cache misses: counting operator new
// alone would not see it.
struct AllocCount {
  std::atomic<long> calls{0};
  void* stack[48];
  int depth = 0;
};
std::atomic<bool> g_counting{false};
AllocCount g_new, g_c;
// The first backtrace() loads the unwinder (malloc, dlopen): do it now, not while counting.
const int g_unwinder_loaded = backtrace(g_new.stack, 1);

void note(AllocCount& c) noexcept {
  if (!g_counting.load(std::memory_order_relaxed)) return;
  if (c.calls.fetch_add(1) == 0) {
    g_counting = false;  // backtrace() must not count itself
    c.depth = backtrace(c.stack, 48);
    g_counting = true;
  }
}

}  // namespace

extern "C" {
void* __libc_malloc(std::size_t) noexcept;
void* __libc_calloc(std::size_t, std::size_t) noexcept;
void* __libc_realloc(void*, std::size_t) noexcept;
void* __libc_memalign(std::size_t, std::size_t) noexcept;
void __libc_free(void*) noexcept;

void* malloc(std::size_t n) noexcept {
  note(g_c);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  note(g_c);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
  note(g_c);
  return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  note(g_c);
  return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
  note(g_c);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  note(g_c);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void free(void* p) noexcept { __libc_free(p); }
}

namespace {
void* counted_new(std::size_t size, std::size_t align = 0) {
  note(g_new);
  if (size == 0) size = 1;
  void* p = align > alignof(std::max_align_t) ? __libc_memalign(align, size) : __libc_malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted_new(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { __libc_free(p); }
void operator delete[](void* p) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { __libc_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { __libc_free(p); }

namespace turnd::server {
namespace {

using namespace protocol;
using test::Bytes;
using test::reply_code;
using test::TestServer;

constexpr int kRounds = 1000;

struct Allocations {
  long new_calls = 0, c_calls = 0;  // operator new; malloc & co. called by anything else
  long total() const { return new_calls + c_calls; }
};

void print_first(const char* what, const AllocCount& c) {
  if (c.calls.load() == 0) return;
  std::fprintf(stderr, "first %s while counting (%ld in all):\n", what, c.calls.load());
  backtrace_symbols_fd(c.stack, c.depth, 2);
}

// Counts heap allocations while `f` runs. No gtest macro inside `f`: record, assert after.
template <class F>
Allocations allocations_during(F&& f, bool report = true) {
  g_new.calls = 0;
  g_c.calls = 0;
  g_counting = true;
  f();
  g_counting = false;
  if (report) {
    print_first("operator new", g_new);
    print_first("C allocation", g_c);
  }
  return {g_new.calls.load(), g_c.calls.load()};
}

class RelayHotPath : public testing::Test {
 protected:
  static config::Config config() {
    auto c = TestServer::default_config();
    c.allow_peers = {test::prefix("127.0.0.0/8")};
    return c;
  }
  void SetUp() override {
    const auto alice = server_.alice();
    const Bytes reply = server_.allocate(alice, 1);
    ASSERT_EQ(reply_code(reply), 0);
    relayed_ = TestServer::relayed(reply);
    ASSERT_EQ(reply_code(server_.channel_bind(alice, 2, 0x4000, bound_.address())), 0);
    ASSERT_EQ(reply_code(server_.create_permission(alice, 3, permitted_.address())), 0);
    channel_data_ = test::channel_data(0x4000, payload_);
    indication_ =
        test::build({Method::Send, Class::Indication}, test::tid(4), [&](MessageBuilder& b) {
          b.add(XorPeerAddress{permitted_.address()});
          b.add(Data{payload_});
        });
    scratch_.resize(2048);
    // Warm-up: one datagram each way on each path (first-use statics, asio's handler memory).
    std::size_t n = 0;
    ASSERT_EQ(client_sends(channel_data_, 1, bound_, n), 1u);
    ASSERT_EQ(client_sends(indication_, 1, permitted_, n), 1u);
    ASSERT_TRUE(peer_sends(bound_, 1, 1));
    ASSERT_TRUE(peer_sends(permitted_, 1, 1));
    server_.sink.clear();
  }

  /// The client sends `msg` `count` times (flushing every 25, as a listener flushes per batch);
  /// returns how many the peer received intact, all received in `n`.
  std::size_t client_sends(const Bytes& msg, int count, test::UdpPeer& peer, std::size_t& n) {
    std::size_t intact = 0;
    for (int i = 0; i < count; ++i) {
      std::memcpy(scratch_.data(), msg.data(), msg.size());
      const auto reply = server_.dispatcher->on_client_message(
          server_.ctx, MutableByteSpan{scratch_.data(), msg.size()});
      if (!reply.empty()) return 0;
      if (i % 25 == 24 || i == count - 1) {
        server_.dispatcher->flush();
        intact += peer.drain(payload_, n);
      }
    }
    return intact;
  }
  /// The peer sends `count` datagrams to the relayed address in bursts of `burst`, each burst
  /// handled by polling the io_context until the sink has them.
  bool peer_sends(test::UdpPeer& peer, int count, int burst_size) {
    for (int sent = 0; sent < count;) {
      const int burst = std::min(burst_size, count - sent);
      const std::size_t want = server_.sink.size() + static_cast<std::size_t>(burst);
      for (int i = 0; i < burst; ++i)
        if (!peer.send_to(relayed_, payload_)) return false;
      if (!server_.pump_until([&] { return server_.sink.size() >= want; })) return false;
      sent += burst;
    }
    return true;
  }

  TestServer server_{config()};
  test::UdpPeer bound_, permitted_;
  TransportAddress relayed_;
  const Bytes payload_ = Bytes(100, 0x5a);
  Bytes channel_data_, indication_, scratch_;
};

TEST_F(RelayHotPath, CountingHookSeesAllocations) {
  EXPECT_GT(allocations_during([&] { server_.fresh_nonce(); }, false).new_calls, 0);
  void* volatile p = nullptr;
  EXPECT_GT(allocations_during([&] { p = std::malloc(64); }, false).c_calls, 0);
  std::free(p);

  // Asio's operation memory is visible to the hook: an async_wait started outside run() has
  // no per-thread cache to recycle from and takes its memory from aligned_alloc.
  boost::asio::ip::udp::socket s{server_.io, {boost::asio::ip::address_v4::loopback(), 0}};
  const auto outside = allocations_during(
      [&] { s.async_wait(boost::asio::socket_base::wait_read, [](boost::system::error_code) {}); },
      false);
  EXPECT_GE(outside.c_calls, 1);
  s.close();
  server_.pump_until([] { return false; }, std::chrono::milliseconds{10});
}

TEST_F(RelayHotPath, ChannelDataClientToPeerDoesNotAllocate) {
  std::size_t received = 0, intact = 0;
  const auto n =
      allocations_during([&] { intact = client_sends(channel_data_, kRounds, bound_, received); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  EXPECT_EQ(received, static_cast<std::size_t>(kRounds));
  EXPECT_EQ(intact, static_cast<std::size_t>(kRounds));
}

TEST_F(RelayHotPath, SendIndicationClientToPeerDoesNotAllocate) {
  std::size_t received = 0, intact = 0;
  const auto n = allocations_during(
      [&] { intact = client_sends(indication_, kRounds, permitted_, received); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  EXPECT_EQ(received, static_cast<std::size_t>(kRounds));
  EXPECT_EQ(intact, static_cast<std::size_t>(kRounds));
}

// Relay to relay on the same shard (AllocationTable::hand_over): A's ChannelData to B's
// relayed address becomes a Data indication on B's client sink inside on_client_message.
TEST_F(RelayHotPath, RelayToRelayHandOverDoesNotAllocate) {
  const auto a_client = server_.ctx.client;
  server_.ctx.client.port = 40002;
  const auto carol = server_.user("carol", "secret");
  const Bytes b_reply = server_.allocate(carol, 1);
  ASSERT_EQ(reply_code(b_reply), 0);
  ASSERT_EQ(reply_code(server_.create_permission(carol, 2, relayed_)), 0);
  server_.ctx.client = a_client;
  const auto alice = server_.alice();
  ASSERT_EQ(reply_code(server_.channel_bind(alice, 5, 0x4001, TestServer::relayed(b_reply))), 0);
  const Bytes to_b = test::channel_data(0x4001, payload_);
  std::size_t received = 0;
  client_sends(to_b, 1, bound_, received);  // warm-up
  server_.sink.clear();

  const auto n = allocations_during([&] { client_sends(to_b, kRounds, bound_, received); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  EXPECT_EQ(received, 0u) << "nothing went to the plain peer";
  ASSERT_EQ(server_.sink.size(), static_cast<std::size_t>(kRounds));
  for (std::size_t i = 0; i < server_.sink.size(); ++i) {
    auto msg = MessageView::parse(server_.sink.bytes(i));
    ASSERT_TRUE(msg && msg->get<XorPeerAddress>() && msg->get<Data>()) << "datagram " << i;
    EXPECT_EQ(msg->get<XorPeerAddress>()->address, relayed_);
    EXPECT_EQ(server_.sink.record(i).client.port, 40002);
  }
}

TEST_F(RelayHotPath, ChannelDataPeerToClientDoesNotAllocate) {
  bool delivered = false;
  // One datagram per readiness event (kRounds handler runs, each re-arming its async_wait),
  // then bursts that fill whole recvmmsg batches (32).
  const auto n = allocations_during(
      [&] { delivered = peer_sends(bound_, kRounds, 1) && peer_sends(bound_, kRounds, 32); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  ASSERT_TRUE(delivered);
  ASSERT_EQ(server_.sink.size(), static_cast<std::size_t>(2 * kRounds));
  EXPECT_EQ(server_.sink.overflow(), 0u);
  for (std::size_t i = 0; i < server_.sink.size(); ++i) {
    const auto got = server_.sink.bytes(i);
    ASSERT_EQ(Bytes(got.begin(), got.end()), channel_data_) << "datagram " << i;
  }
}

TEST_F(RelayHotPath, DataIndicationPeerToClientDoesNotAllocate) {
  bool delivered = false;
  const auto n = allocations_during([&] { delivered = peer_sends(permitted_, kRounds, 20); });
  EXPECT_EQ(n.new_calls, 0);
  EXPECT_EQ(n.c_calls, 0);
  ASSERT_TRUE(delivered);
  ASSERT_EQ(server_.sink.size(), static_cast<std::size_t>(kRounds));
  for (std::size_t i = 0; i < server_.sink.size(); ++i) {
    auto msg = MessageView::parse(server_.sink.bytes(i));
    ASSERT_TRUE(msg && msg->type().is(Method::Data, Class::Indication)) << "datagram " << i;
    ASSERT_TRUE(msg->get<XorPeerAddress>() && msg->get<Data>());
    EXPECT_EQ(msg->get<XorPeerAddress>()->address, permitted_.address());
    ASSERT_EQ(Bytes(msg->get<Data>()->value.begin(), msg->get<Data>()->value.end()), payload_);
  }
}

}  // namespace
}  // namespace turnd::server
