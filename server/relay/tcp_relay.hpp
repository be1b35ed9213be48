// RFC 6062 TCP relaying, one shard's part. A TCP allocation listens on its relayed address;
// each peer data connection is made by Connect (§5.2) or accepted from a peer with a
// permission (§5.3, announced by a ConnectionAttempt indication), and waits at most 30 s for
// the client to bind a data connection to it with ConnectionBind (§5.4). A bound pair is an
// io::StreamBridge. Everything of an allocation lives on the shard that owns the allocation:
// a ConnectionBind that arrives on another shard sends its detached connection here (the
// connection id names the shard in its top byte). Owner: its shard's thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "protocol/error_codes.hpp"
#include "protocol/integrity.hpp"
#include "protocol/message_view.hpp"
#include "server/allocation.hpp"
#include "server/io/detached_stream.hpp"
#include "server/io/stream_bridge.hpp"
#include "server/token_bucket.hpp"

namespace turnd::server {
class ShardState;
}

namespace turnd::server::relay {

inline constexpr std::chrono::seconds kTcpConnectTimeout{30};  // §5.2: "at least 30 seconds"
inline constexpr std::chrono::seconds kTcpBindTimeout{30};     // §5.2, §5.3: then closed

struct TcpAllocation;

/// One peer data connection (RFC 6062 §2: the server-peer side) and, once bound, its bridge.
struct PeerConnection {
  enum class State : std::uint8_t { Connecting, Pending, Bound };
  explicit PeerConnection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
  std::uint32_t id = 0;
  protocol::TransportAddress peer;
  State state = State::Connecting;
  boost::asio::ip::tcp::socket socket;  // moves into the bridge when bound
  SteadyTime deadline;                  // Connecting: 447 after it; Pending: closed after it
  protocol::TransactionId connect_transaction{};  // the Connect answered when connected
  bool connect_fingerprint = false;
  std::shared_ptr<io::StreamBridge> bridge;
  TcpAllocation* owner = nullptr;  // null once closed
};

/// The TCP side of a TCP allocation: its listening socket and its peer connections.
struct TcpAllocation {
  /// Connects an allocation may start per second once it has spent its burst. The burst is
  /// its connection cap (limits.max_tcp_connections_per_allocation): a client may open every
  /// slot at once, but an attacker cycling Connects to closed ports (each answered 447 at once,
  /// freeing the slot) cannot make this server port-scan or SYN-flood faster than this.
  static constexpr double kConnectsPerSecond = 10;
  TcpAllocation(boost::asio::ip::tcp::acceptor a, unsigned connect_burst)
      : acceptor(std::move(a)),
        connect_budget(connect_burst, kConnectsPerSecond, TokenBucket::Clock::time_point{}) {}
  ~TcpAllocation() { close(); }
  TcpAllocation(const TcpAllocation&) = delete;
  TcpAllocation& operator=(const TcpAllocation&) = delete;
  /// Closes the listening socket and every connection (the allocation goes away).
  void close() noexcept;
  PeerConnection* find(const protocol::TransportAddress& peer) noexcept;
  void erase(const PeerConnection& c) noexcept;

  boost::asio::ip::tcp::acceptor acceptor;
  Allocation* allocation = nullptr;           // null once closed
  std::atomic<std::int64_t>* live = nullptr;  // the shard's gauge of peer connections
  std::vector<std::shared_ptr<PeerConnection>> connections;
  TokenBucket connect_budget;  // spent by each Connect that opens a socket
};

/// A ConnectionBind authenticated by the shard that received it.
struct ConnectionBindRequest {
  std::uint32_t connection_id = 0;
  std::string username;
  protocol::IntegrityKey key;
  protocol::IntegrityAlg alg = protocol::IntegrityAlg::Sha1;
  protocol::TransactionId transaction{};
  bool fingerprint = false;
};

class TcpRelay {
 public:
  explicit TcpRelay(ShardState& shard);
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  /// The shard a connection id belongs to.
  static unsigned shard_of(std::uint32_t connection_id) noexcept { return connection_id >> 24; }

  /// Starts accepting peers on a new TCP allocation's relayed address.
  void start(Allocation& a);
  /// Connect after the handler's checks: opens the connection from the relayed address. The
  /// answer (CONNECTION-ID, or 447) goes to the client when it is known; an error here is
  /// answered at once.
  std::optional<protocol::StunError> connect(Allocation& a, const protocol::TransportAddress& peer,
                                             const protocol::MessageView& request);
  /// ConnectionBind on this (the allocation's) shard: answers on `stream` and joins it to the
  /// pending peer connection, or answers 400/441 and closes it.
  void bind(std::unique_ptr<io::DetachedStream> stream, const ConnectionBindRequest& request);
  /// Closes connections past their deadlines (the once-a-second sweep).
  void sweep();
  /// Live connection-id entries (tests).
  std::size_t size() const noexcept { return by_id_.size(); }

 private:
  void accept_next(const std::shared_ptr<TcpAllocation>& t);
  void on_accepted(const std::shared_ptr<TcpAllocation>& t, boost::asio::ip::tcp::socket s);
  void on_connected(const std::shared_ptr<PeerConnection>& c, const boost::system::error_code& ec);
  std::shared_ptr<PeerConnection> add(TcpAllocation& t, boost::asio::ip::tcp::socket s,
                                      const protocol::TransportAddress& peer,
                                      PeerConnection::State state);
  void remove(PeerConnection& c) noexcept;
  std::uint32_t new_id();
  void answer_connect(const PeerConnection& c, std::optional<protocol::StunError> e);
  void send_connection_attempt(const PeerConnection& c);
  void refuse_bind(io::DetachedStream& stream, const ConnectionBindRequest& request,
                   protocol::StunError e);

  ShardState& shard_;
  std::unordered_map<std::uint32_t, std::weak_ptr<PeerConnection>> by_id_;
  std::mt19937 random_;
  std::array<std::uint8_t, 512> scratch_{};  // answers built here (they are small)
};

}  // namespace turnd::server::relay
