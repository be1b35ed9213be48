// The web listener (web.listen, off by default): the check-your-server pages with their
// /credentials and the /ws signalling rooms, on the control thread, next to AdminHttp but on
// its own socket, because it may face the internet. HTTPS with the TLS certificate of
// tls.cert (the current one of the TlsContextStore, so a renewal applies to the next
// connection) when one is configured; plain HTTP otherwise, which config allows on loopback
// only.
//
// What an attacker can make it spend is bounded: connections per source IP and in total,
// requests and /credentials per source (token buckets), a deadline for each TLS handshake and
// each request, Beast's parser limits (server/web_request.hpp), and for /ws: sockets and rooms
// in total, a message size and rate cap per socket, an idle timeout, and a bound on what is
// queued for a slow reader. Answers come from handle_web_request, a pure function.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <functional>
#include <unordered_set>

#include "auth/credential_store.hpp"
#include "config/config.hpp"
#include "server/io/tls/tls_context.hpp"
#include "server/web_metrics.hpp"
#include "server/web_rate.hpp"
#include "server/web_request.hpp"
#include "server/web_rooms.hpp"

namespace turnd::server {

/// Limits of the web listener (per source = per IPv4 address or IPv6 /64).
struct WebLimits {
  unsigned connections_per_source = 16;  // a browser opens about 6, plus the WebSocket
  unsigned connections = 512;
  double requests_burst = 60, requests_per_second = 2;                // HTTP requests per source
  double credentials_burst = 10, credentials_per_second = 10.0 / 60;  // 10 a minute
  std::size_t rate_sources = 4096;  // sources remembered by each token bucket table
  unsigned signal_sockets = 256;    // open /ws sockets in total
  double messages_burst = 100, messages_per_second = 20;  // per /ws socket
  std::size_t queued_bytes = 256 * 1024;      // waiting for a slow /ws reader: more closes it
  std::chrono::seconds request_deadline{10};  // TLS handshake; read one request, write its answer
  std::chrono::seconds signal_idle{600};      // a /ws socket that sent no message for this long
  int requests_per_connection = 100;
};

class SignalPeer;

class WebHttp {
 public:
  /// Binds now (a bad address fails start-up); throws std::system_error. `tls` serves HTTPS
  /// when config has tls.cert; it and `credentials` outlive this.
  WebHttp(boost::asio::io_context& io, const config::Config& config, io::tls::TlsContextStore& tls,
          std::function<auth::CredentialsPtr()> credentials, WebLimits limits = {});
  ~WebHttp();
  void start();
  /// Closes the listener and every connection (WebSockets too), so the control thread's
  /// run() can return.
  void stop();
  /// The bound address (tests bind port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  /// A reload's config (REST separator, credential URIs). The caller keeps it alive.
  void set_config(const config::Config& config) noexcept { config_ = &config; }
  /// What /metrics shows of this listener (written on the control thread, read by a scrape).
  const WebCounters& counters() const noexcept { return counters_; }

 private:
  friend class SignalPeer;
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  template <class Stream>
  boost::asio::awaitable<void> serve_http(Stream& stream, const protocol::IpAddress& source);
  template <class Stream>
  boost::asio::awaitable<void> serve_signal(Stream stream, WebRequest req, std::string room);
  WebAnswer answer(const WebRequest& req, const protocol::IpAddress& source);
  void count_answer(const WebRequest& req, const WebAnswer& a);
  void count_rooms() noexcept { WebCounters::set(counters_.rooms, std::int64_t(rooms_.rooms())); }

  boost::asio::ip::tcp::acceptor acceptor_;
  const config::Config* config_;
  io::tls::TlsContextStore& tls_;
  bool https_;
  std::function<auth::CredentialsPtr()> credentials_;
  WebLimits limits_;
  SourceConnections connections_;
  SourceRate requests_, credential_budget_;
  WebRooms rooms_;
  unsigned signal_sockets_ = 0;
  std::unordered_set<boost::beast::tcp_stream*> open_;  // closed by stop()
  std::unordered_set<SignalPeer*> peers_;
  bool stopped_ = false;
  WebCounters counters_;
};

}  // namespace turnd::server
