#include "server/web_http.hpp"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "server/io/socket_address.hpp"

namespace turnd::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

auto redirect(boost::system::error_code& ec) {
  return asio::redirect_error(asio::use_awaitable, ec);
}

// WebSocket close codes (RFC 6455 §7.4.2: 4000-4999 are the application's), each with a
// reason the page shows.
constexpr std::uint16_t kCloseRoomFull = 4001;
constexpr std::uint16_t kCloseBadMessage = 4003;
constexpr std::uint16_t kCloseTooManyMessages = 4004;
constexpr std::uint16_t kCloseTooSlow = 4005;
constexpr std::uint16_t kCloseIdle = 4008;

}  // namespace

// One /ws socket as the rooms see it: what is queued for it, and whether it is to be closed.
// Its write_loop is the only writer of the socket (Beast allows one read and one write at a
// time), woken through `wake_`.
class SignalPeer {
 public:
  /// `slow` counts the sockets closed for not reading fast enough.
  SignalPeer(const asio::any_io_executor& ex, io::Counter& slow) : wake_(ex), slow_(&slow) {}
  virtual ~SignalPeer() = default;

  /// Queues `text` for the socket; a reader that lets more than `max_queued` bytes pile up
  /// is closed instead.
  void send(std::string text, std::size_t max_queued) {
    if (close_ || done_) return;
    if (queued_ + text.size() > max_queued) {
      ++*slow_;
      // A close frame would wait behind all it has not read, holding the socket, its queue
      // and the room until a timeout: fail the connection now (RFC 6455 7.1.7) instead.
      close(kCloseTooSlow, "not reading fast enough");
      return drop();
    }
    queued_ += text.size();
    outbox_.push_back(std::move(text));
    wake_.cancel();
  }
  /// Closes the socket with `code` and `reason` (the first reason given wins).
  void close(std::uint16_t code, std::string_view reason) {
    if (!close_) close_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    wake_.cancel();
  }
  /// The reader is done (the socket closed): the writer stops too.
  void finish() {
    done_ = true;
    wake_.cancel();
  }
  bool closing() const noexcept { return close_.has_value(); }

 protected:
  /// Closes the TCP socket at once: the pending read and write end, and the reader leaves.
  virtual void drop() noexcept = 0;
  std::deque<std::string> outbox_;
  std::size_t queued_ = 0;
  std::optional<websocket::close_reason> close_;
  asio::steady_timer wake_;
  io::Counter* slow_;
  bool done_ = false;

 public:
  Clock::time_point last_message = Clock::now();
};

namespace {

template <class Stream>
class SignalSession final : public SignalPeer {
 public:
  SignalSession(Stream&& stream, io::Counter& slow)
      : SignalPeer(stream.get_executor(), slow), ws(std::move(stream)) {}
  websocket::stream<Stream> ws;

  void drop() noexcept override {
    boost::system::error_code ec;
    beast::get_lowest_layer(ws).socket().close(ec);
  }

  // Writes what is queued, closes when asked, and closes an idle socket: until the reader
  // finishes.
  static asio::awaitable<void> write_loop(std::shared_ptr<SignalSession> s,
                                          std::chrono::seconds idle) {
    boost::system::error_code ec;
    for (;;) {
      while (!s->outbox_.empty() && !s->close_) {
        co_await s->ws.async_write(asio::buffer(s->outbox_.front()), redirect(ec));
        if (ec) co_return;
        s->queued_ -= s->outbox_.front().size();
        s->outbox_.pop_front();
      }
      if (s->done_) co_return;
      if (s->close_) {
        co_await s->ws.async_close(*s->close_, redirect(ec));
        co_return;
      }
      s->wake_.expires_at(s->last_message + idle);
      co_await s->wake_.async_wait(redirect(ec));
      if (!ec && Clock::now() >= s->last_message + idle)
        s->close(kCloseIdle, "idle: no message for 10 minutes");
    }
  }
};

// Why a request could not be read, when that is the client's doing and not just a close.
// `started`: some of it came (a keep-alive connection that goes quiet between requests and
// times out is no refusal; one that stops halfway through a request is).
void count_read_error(const boost::system::error_code& ec, bool started, WebCounters& counters) {
  if (ec == http::error::header_limit || ec == http::error::body_limit ||
      ec == http::error::buffer_overflow)
    counters.refuse(WebRefusal::OversizeRequest);
  else if (ec == beast::error::timeout && started)
    counters.refuse(WebRefusal::RequestTimeout);
  else if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
           ec != http::error::end_of_stream && ec != http::error::partial_message)
    counters.refuse(WebRefusal::BadRequest);
}

std::string joined_message(int peers) {
  return R"({"type":"joined","peers":)" + std::to_string(peers) + "}";
}

}  // namespace

WebHttp::WebHttp(asio::io_context& io, const config::Config& config, io::tls::TlsContextStore& tls,
                 std::function<auth::CredentialsPtr()> credentials, WebLimits limits)
    : acceptor_(io),
      config_(&config),
      tls_(tls),
      https_(config.tls_cert.has_value()),
      credentials_(std::move(credentials)),
      limits_(limits),
      connections_(limits.connections_per_source, limits.connections),
      requests_(limits.requests_burst, limits.requests_per_second, limits.rate_sources),
      credential_budget_(limits.credentials_burst, limits.credentials_per_second,
                         limits.rate_sources) {
  const tcp::endpoint ep = io::to_tcp_endpoint(*config.web_listen);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  boost::system::error_code ec;
  acceptor_.bind(ep, ec);
  if (ec) throw std::system_error(ec, "cannot bind web listener " + config.web_listen->to_string());
  acceptor_.listen(64);
}

WebHttp::~WebHttp() { stop(); }

void WebHttp::start() { asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached); }

void WebHttp::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto* peer : peers_) peer->finish();
  for (auto* stream : open_) stream->socket().close(ec);
}

asio::awaitable<void> WebHttp::accept_loop() {
  boost::system::error_code ec;
  while (acceptor_.is_open()) {
    tcp::socket s = co_await acceptor_.async_accept(redirect(ec));
    if (ec) {
      if (!acceptor_.is_open()) break;
      continue;
    }
    asio::co_spawn(acceptor_.get_executor(), serve(std::move(s)), asio::detached);
  }
}

WebAnswer WebHttp::answer(const WebRequest& req, const protocol::IpAddress& source) {
  const auto now = Clock::now();
  if (!requests_.take(source, now)) {
    counters_.refuse(WebRefusal::RequestRate);
    WebAnswer a{web_error(http::status::too_many_requests, req,
                          "too many requests from this address, slow down"),
                {}};
    a.response.keep_alive(false);
    count_answer(req, a);
    return a;
  }
  const WebHooks hooks{credentials_, [&] {
                         if (credential_budget_.take(source, now)) return true;
                         counters_.refuse(WebRefusal::CredentialRate);
                         return false;
                       }};
  WebAnswer a = handle_web_request(req, *config_, hooks, std::chrono::system_clock::now());
  if (!a.websocket_room.empty() && signal_sockets_ >= limits_.signal_sockets) {
    counters_.refuse(WebRefusal::SignalSockets);
    a = {web_error(http::status::service_unavailable, req,
                   "too many signalling sockets open, try again later"),
         {}};
  }
  count_answer(req, a);
  return a;
}

void WebHttp::count_answer(const WebRequest& req, const WebAnswer& a) {
  const unsigned status = a.websocket_room.empty() ? a.response.result_int() : 101;
  counters_.request(req.target(), status);
  const WebPath path = web_path_of(req.target());
  if (status == 403 && path == WebPath::WebSocket) counters_.refuse(WebRefusal::BadOrigin);
  if (status == 200 && path == WebPath::Credentials) ++counters_.credentials_minted;
}

// One connection: TLS handshake when HTTPS, then requests until the client stops, a deadline
// passes, or one asks for /ws (the connection is then that WebSocket).
asio::awaitable<void> WebHttp::serve(tcp::socket socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec || stopped_) co_return;
  const protocol::IpAddress source = io::from_tcp_endpoint(ep).ip;
  if (!connections_.acquire(source)) {  // the socket closes here
    counters_.refuse(connections_.full() ? WebRefusal::Total : WebRefusal::PerSource);
    co_return;
  }
  WebCounters::set(counters_.connections, connections_.open());
  beast::tcp_stream tcp{std::move(socket)};
  if (!https_) {
    open_.insert(&tcp);
    co_await serve_http(tcp, source);
    open_.erase(&tcp);
  } else if (auto contexts = tls_.current()) {
    // The certificate current now: a renewal applies to the next connection. asio's context
    // takes ownership of one reference.
    SSL_CTX_up_ref(contexts->tls());
    asio::ssl::context context{contexts->tls()};
    beast::ssl_stream<beast::tcp_stream> stream{std::move(tcp), context};
    beast::tcp_stream* lowest = &beast::get_lowest_layer(stream);
    open_.insert(lowest);
    lowest->expires_after(limits_.request_deadline);
    co_await stream.async_handshake(asio::ssl::stream_base::server, redirect(ec));
    if (ec == beast::error::timeout) counters_.refuse(WebRefusal::RequestTimeout);
    if (!ec) co_await serve_http(stream, source);
    open_.erase(lowest);
  }
  connections_.release(source);
  WebCounters::set(counters_.connections, connections_.open());
}

template <class Stream>
asio::awaitable<void> WebHttp::serve_http(Stream& stream, const protocol::IpAddress& source) {
  boost::system::error_code ec;
  beast::flat_buffer buffer;  // bytes read past one request start the next
  for (int served = 0; served < limits_.requests_per_connection && !stopped_; ++served) {
    beast::get_lowest_layer(stream).expires_after(limits_.request_deadline);
    WebParser parser;
    limit_web_parser(parser);
    co_await http::async_read(stream, buffer, parser, redirect(ec));
    if (ec) {
      count_read_error(ec, parser.got_some() || buffer.size() > 0, counters_);
      break;
    }
    WebRequest req = parser.release();
    WebAnswer a = answer(req, source);
    if (!a.websocket_room.empty()) {
      co_await serve_signal(std::move(stream), std::move(req), std::move(a.websocket_room));
      co_return;
    }
    co_await http::async_write(stream, a.response, redirect(ec));
    if (ec || !a.response.keep_alive()) break;
  }
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
}

// A /ws socket: accept, join the room, pass on what it sends until it closes.
template <class Stream>
asio::awaitable<void> WebHttp::serve_signal(Stream stream, WebRequest req, std::string room) {
  boost::system::error_code ec;
  auto s = std::make_shared<SignalSession<Stream>>(
      std::move(stream), counters_.refused[static_cast<std::size_t>(WebRefusal::SlowReader)]);
  SignalPeer* const self = s.get();  // what the rooms hold
  const auto peer_of = [](WebRooms::Peer p) {
    return static_cast<SignalPeer*>(const_cast<void*>(p));
  };
  beast::tcp_stream* lowest = &beast::get_lowest_layer(s->ws);
  lowest->expires_never();  // the WebSocket's own timeouts from here
  open_.insert(lowest);
  peers_.insert(self);
  ++signal_sockets_;
  WebCounters::set(counters_.websockets, signal_sockets_);
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = limits_.request_deadline;
  timeouts.idle_timeout = std::chrono::seconds{60};  // pinged at 30 s: a gone browser is seen
  timeouts.keep_alive_pings = true;
  s->ws.set_option(timeouts);
  s->ws.read_message_max(kMaxSignalMessage);
  s->ws.text(true);
  co_await s->ws.async_accept(req, redirect(ec));
  bool joined = false;
  // Out of the room as soon as this socket is to close, so the other peer hears of it now,
  // not after the close handshake.
  const auto leave = [&] {
    if (!std::exchange(joined, false)) return;
    if (auto* other = peer_of(rooms_.leave(room, self)))
      other->send(R"({"type":"peer-left"})", limits_.queued_bytes);
    count_rooms();
  };
  const auto close = [&](std::uint16_t code, std::string_view reason) {
    leave();
    s->close(code, reason);
  };
  if (!ec) {
    asio::co_spawn(s->ws.get_executor(), SignalSession<Stream>::write_loop(s, limits_.signal_idle),
                   asio::detached);
    switch (rooms_.join(room, self)) {
      case WebRooms::Join::First:
        joined = true;
        s->send(joined_message(1), limits_.queued_bytes);
        break;
      case WebRooms::Join::Second:
        joined = true;
        s->send(joined_message(2), limits_.queued_bytes);
        if (auto* other = peer_of(rooms_.other(room, self)))
          other->send(R"({"type":"peer-joined"})", limits_.queued_bytes);
        break;
      case WebRooms::Join::Full:
        counters_.refuse(WebRefusal::RoomFull);
        s->close(kCloseRoomFull, "room is full: two peers are in it already");
        break;
      case WebRooms::Join::TooManyRooms:
        counters_.refuse(WebRefusal::TooManyRooms);
        s->close(static_cast<std::uint16_t>(websocket::close_code::try_again_later),
                 "too many rooms open, try again later");
        break;
    }
    count_rooms();
    TokenBucket budget{limits_.messages_burst, limits_.messages_per_second, Clock::now()};
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      co_await s->ws.async_read(buffer, redirect(ec));
      if (ec == websocket::error::message_too_big) counters_.refuse(WebRefusal::OversizeMessage);
      if (ec) break;               // closed, too big (Beast closes with 1009), or stop()
      if (s->closing()) continue;  // read on until the close handshake ends
      const auto now = Clock::now();
      s->last_message = now;
      if (!budget.take(now)) {
        counters_.refuse(WebRefusal::MessageRate);
        close(kCloseTooManyMessages, "too many messages");
        continue;
      }
      std::string text = beast::buffers_to_string(buffer.data());
      if (auto bad = s->ws.got_text() ? check_signal_message(text) : "binary message";
          !bad.empty()) {
        counters_.refuse(WebRefusal::BadMessage);
        close(kCloseBadMessage, bad);
        continue;
      }
      if (auto* other = peer_of(rooms_.other(room, self)))
        other->send(std::move(text), limits_.queued_bytes);
    }
  }
  leave();
  s->finish();
  peers_.erase(self);
  open_.erase(lowest);
  --signal_sockets_;
  WebCounters::set(counters_.websockets, signal_sockets_);
}

}  // namespace turnd::server
