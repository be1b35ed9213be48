#include "server/relay/tcp_relay.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>

#include "protocol/attributes/all.hpp"
#include "protocol/message_builder.hpp"
#include "server/io/socket_address.hpp"
#include "server/relay/relay_socket.hpp"
#include "server/shard_state.hpp"

namespace turnd::server::relay {

using namespace protocol;
using boost::asio::ip::tcp;

namespace {
constexpr std::chrono::milliseconds kAcceptBackoff{50};

std::array<std::uint8_t, 4> id_bytes(std::uint32_t id) {
  std::array<std::uint8_t, 4> b;
  store_u32(b.data(), id);
  return b;
}
}  // namespace

void TcpAllocation::close() noexcept {
  allocation = nullptr;
  boost::system::error_code ec;
  acceptor.close(ec);
  if (live != nullptr) live->fetch_sub(static_cast<std::int64_t>(connections.size()));
  for (auto& c : connections) {
    c->owner = nullptr;
    c->socket.close(ec);
    if (c->bridge) c->bridge->close();
  }
  connections.clear();
}

PeerConnection* TcpAllocation::find(const TransportAddress& peer) noexcept {
  for (auto& c : connections)
    if (c->peer == peer) return c.get();
  return nullptr;
}

void TcpAllocation::erase(const PeerConnection& c) noexcept {
  std::erase_if(connections, [&](const auto& p) { return p.get() == &c; });
}

TcpRelay::TcpRelay(ShardState& shard) : shard_(shard), random_(std::random_device{}()) {}

void TcpRelay::start(Allocation& a) {
  a.tcp->allocation = &a;
  a.tcp->live = &shard_.counters().tcp_relay_connections;
  accept_next(a.tcp);
}

void TcpRelay::accept_next(const std::shared_ptr<TcpAllocation>& t) {
  t->acceptor.async_accept([this, t](const boost::system::error_code& ec, tcp::socket s) {
    if (t->allocation == nullptr || ec == boost::asio::error::operation_aborted) return;
    if (!ec) {
      on_accepted(t, std::move(s));
      accept_next(t);
      return;
    }
    // EMFILE and the like: the peer stays in the backlog; look again a little later instead
    // of spinning on the same error.
    auto timer = std::make_shared<boost::asio::steady_timer>(shard_.io(), kAcceptBackoff);
    timer->async_wait([this, t, timer](const boost::system::error_code& e) {
      if (!e && t->allocation != nullptr) accept_next(t);
    });
  });
}

// §5.3: a peer connecting to the relayed address needs a permission for its IP; the client
// learns of it by a ConnectionAttempt and has 30 s to bind a data connection to it.
void TcpRelay::on_accepted(const std::shared_ptr<TcpAllocation>& t, tcp::socket s) {
  shard_.begin_event();
  auto& counters = shard_.counters();
  boost::system::error_code ec;
  const auto remote = s.remote_endpoint(ec);
  if (ec) return;
  const TransportAddress peer = io::from_tcp_endpoint(remote);
  Allocation& a = *t->allocation;
  if (!a.has_permission(peer.ip, shard_.now().steady())) {
    ++counters.tcp_relay_refused_no_permission;
    return;  // closed with `s`
  }
  if (t->connections.size() >= shard_.config().max_tcp_connections_per_allocation ||
      t->find(peer) != nullptr) {
    ++counters.tcp_relay_refused_quota;
    return;
  }
  auto c = add(*t, std::move(s), peer, PeerConnection::State::Pending);
  ++counters.tcp_relay_accepted;
  send_connection_attempt(*c);
}

std::optional<StunError> TcpRelay::connect(Allocation& a, const TransportAddress& peer,
                                           const MessageView& request) {
  boost::system::error_code ec;
  auto socket = open_tcp_connect_socket(shard_.io(), a.relays.front().bound, ec);
  if (ec) {
    ++shard_.counters().tcp_relay_connect_failed;
    return StunError::ConnectionTimeoutOrFailure;
  }
  auto c = add(*a.tcp, std::move(socket), peer, PeerConnection::State::Connecting);
  c->connect_transaction = request.transaction_id();
  c->connect_fingerprint = request.has(AttrType::Fingerprint);
  c->deadline = shard_.now().steady() + kTcpConnectTimeout;
  c->socket.async_connect(io::to_tcp_endpoint(peer),
                          [this, c](const boost::system::error_code& e) { on_connected(c, e); });
  return std::nullopt;
}

void TcpRelay::on_connected(const std::shared_ptr<PeerConnection>& c,
                            const boost::system::error_code& ec) {
  if (c->owner == nullptr || c->state != PeerConnection::State::Connecting) return;
  shard_.begin_event();
  if (ec) {
    ++shard_.counters().tcp_relay_connect_failed;
    answer_connect(*c, StunError::ConnectionTimeoutOrFailure);
    remove(*c);
    return;
  }
  ++shard_.counters().tcp_relay_connected;
  c->state = PeerConnection::State::Pending;
  c->deadline = shard_.now().steady() + kTcpBindTimeout;
  answer_connect(*c, std::nullopt);
}

std::shared_ptr<PeerConnection> TcpRelay::add(TcpAllocation& t, tcp::socket s,
                                              const TransportAddress& peer,
                                              PeerConnection::State state) {
  auto c = std::make_shared<PeerConnection>(std::move(s));
  c->id = new_id();
  c->peer = peer;
  c->state = state;
  c->owner = &t;
  c->deadline = shard_.now().steady() + kTcpBindTimeout;
  t.connections.push_back(c);
  by_id_[c->id] = c;
  shard_.counters().tcp_relay_connections.fetch_add(1, std::memory_order_relaxed);
  return c;
}

void TcpRelay::remove(PeerConnection& c) noexcept {
  by_id_.erase(c.id);
  boost::system::error_code ec;
  c.socket.close(ec);
  if (c.bridge) c.bridge->close();
  if (c.owner == nullptr) return;
  shard_.counters().tcp_relay_connections.fetch_sub(1, std::memory_order_relaxed);
  std::exchange(c.owner, nullptr)->erase(c);  // may destroy `c`
}

std::uint32_t TcpRelay::new_id() {
  // The top byte names this shard; the rest is random, so ids cannot be guessed in turn.
  for (;;) {
    const std::uint32_t id = (shard_.id() << 24) | (random_() & 0xFFFFFFu);
    if ((id & 0xFFFFFFu) != 0 && !by_id_.contains(id)) return id;
  }
}

void TcpRelay::answer_connect(const PeerConnection& c, std::optional<StunError> e) {
  const Allocation* a = c.owner != nullptr ? c.owner->allocation : nullptr;
  if (a == nullptr || a->sink == nullptr) return;
  const auto id = id_bytes(c.id);
  MessageBuilder b{scratch_,
                   MessageType{static_cast<std::uint16_t>(Method::Connect),
                               e ? Class::ErrorResponse : Class::SuccessResponse},
                   c.connect_transaction};
  if (e)
    b.add(ErrorCode{static_cast<std::uint16_t>(*e), reason_phrase(*e)});
  else
    b.add(ConnectionId{ByteSpan{id}});
  if (!shard_.software().empty()) b.add(Software{shard_.software()});
  b.add_integrity(a->key.span(), a->alg);
  if (c.connect_fingerprint) b.add_fingerprint();
  if (auto done = b.finish())
    a->sink->send_to_client(*done, a->five_tuple.client, a->five_tuple.server);
}

void TcpRelay::send_connection_attempt(const PeerConnection& c) {
  const Allocation* a = c.owner != nullptr ? c.owner->allocation : nullptr;
  if (a == nullptr || a->sink == nullptr) return;
  TransactionId transaction;
  for (auto& byte : transaction) byte = static_cast<std::uint8_t>(random_());
  const auto id = id_bytes(c.id);
  MessageBuilder b{
      scratch_,
      MessageType{static_cast<std::uint16_t>(Method::ConnectionAttempt), Class::Indication},
      transaction};
  b.add(XorPeerAddress{c.peer});
  b.add(ConnectionId{ByteSpan{id}});
  if (!shard_.software().empty()) b.add(Software{shard_.software()});
  b.add_fingerprint();
  if (auto done = b.finish())
    a->sink->send_to_client(*done, a->five_tuple.client, a->five_tuple.server);
}

void TcpRelay::bind(std::unique_ptr<io::DetachedStream> stream,
                    const ConnectionBindRequest& request) {
  shard_.begin_event();
  auto& counters = shard_.counters();
  auto it = by_id_.find(request.connection_id);
  auto c = it == by_id_.end() ? nullptr : it->second.lock();
  // §5.4: the id must name a connection that is made and not yet bound.
  if (c == nullptr || c->owner == nullptr || c->owner->allocation == nullptr ||
      c->state != PeerConnection::State::Pending) {
    ++counters.tcp_relay_bind_failed;
    refuse_bind(*stream, request, StunError::BadRequest);
    return;
  }
  // The data connection uses the credentials of the allocation (RFC 8656 §5, as any request).
  if (c->owner->allocation->username != request.username) {
    ++counters.tcp_relay_bind_failed;
    refuse_bind(*stream, request, StunError::WrongCredentials);
    return;
  }
  MessageBuilder b{
      scratch_,
      MessageType{static_cast<std::uint16_t>(Method::ConnectionBind), Class::SuccessResponse},
      request.transaction};
  if (!shard_.software().empty()) b.add(Software{shard_.software()});
  b.add_integrity(request.key.span(), request.alg);
  if (request.fingerprint) b.add_fingerprint();
  const auto response = b.finish();
  if (!response) {
    refuse_bind(*stream, request, StunError::ServerError);
    return;
  }
  c->state = PeerConnection::State::Bound;
  c->bridge = std::make_shared<io::StreamBridge>(
      shard_.io(), std::move(stream), std::move(c->socket),
      std::vector<std::uint8_t>(response->begin(), response->end()),
      counters.tcp_relay_bytes_to_peer, counters.tcp_relay_bytes_from_peer);
  ++counters.tcp_relay_bound;
  c->bridge->start(
      [this, weak = std::weak_ptr<PeerConnection>(c)](const io::StreamBridge::Totals& t) {
        auto conn = weak.lock();
        if (conn == nullptr || conn->owner == nullptr) return;
        shard_.begin_event();
        if (Allocation* a = conn->owner->allocation) {
          a->counters.bytes_to_peer += t.to_peer;
          a->counters.bytes_from_peer += t.from_peer;
        }
        remove(*conn);  // a side closed: the other is closed too (§5.4)
      });
}

void TcpRelay::refuse_bind(io::DetachedStream& stream, const ConnectionBindRequest& request,
                           StunError e) {
  MessageBuilder b{
      scratch_,
      MessageType{static_cast<std::uint16_t>(Method::ConnectionBind), Class::ErrorResponse},
      request.transaction};
  b.add(ErrorCode{static_cast<std::uint16_t>(e), reason_phrase(e)});
  if (!shard_.software().empty()) b.add(Software{shard_.software()});
  b.add_integrity(request.key.span(), request.alg);
  if (request.fingerprint) b.add_fingerprint();
  const auto reply = b.finish();
  if (!reply) return;
  // A fresh connection's socket buffer takes a small answer at once; it is then closed.
  if (stream.tls) {
    (void)stream.tls->write(*reply);
    stream.tls->shutdown();
  } else {
    (void)::send(stream.fd, reply->data(), reply->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
}

void TcpRelay::sweep() {
  const SteadyTime now = shard_.now().steady();
  std::vector<std::shared_ptr<PeerConnection>> late;
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    auto c = it->second.lock();
    if (c == nullptr || c->owner == nullptr) {
      it = by_id_.erase(it);
      continue;
    }
    if (c->state != PeerConnection::State::Bound && now >= c->deadline) late.push_back(c);
    ++it;
  }
  for (auto& c : late) {
    if (c->state == PeerConnection::State::Connecting) {
      ++shard_.counters().tcp_relay_connect_failed;
      answer_connect(*c, StunError::ConnectionTimeoutOrFailure);
    } else {
      ++shard_.counters().tcp_relay_bind_timeout;
    }
    remove(*c);
  }
}

}  // namespace turnd::server::relay
