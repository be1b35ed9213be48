// Two TCP connections joined byte for byte (RFC 6062 §5.4: a client data connection, in clear
// or TLS, and its peer data connection). A chunk read goes straight on to the other side from
// the shard's scratch buffer; only what that side does not take at once is held (one chunk at
// most per direction, freed when written), and a direction reads again only when nothing is
// held, so a side that does not read stops the other from being read (the kernel's buffers
// hold the rest) instead of growing memory. A pair that keeps up or is idle holds no buffer. The
// end of one direction (FIN) is passed on as a FIN (close_notify over TLS); RFC 6062 §5.5 then
// wants the other connection closed too, which happens when the other direction ends as well or
// kHalfCloseLinger later (what was in flight the other way gets that long to arrive). An
// error on either side closes both at once. Owner: its shard's thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "server/io/counters.hpp"
#include "server/io/detached_stream.hpp"

namespace turnd::server::io {

class StreamBridge : public std::enable_shared_from_this<StreamBridge> {
 public:
  /// Bytes read at once, and held per direction at most.
  static constexpr std::size_t kBufferSize = 16 * 1024;
  /// After one side ended, how long the other direction may still deliver.
  static constexpr std::chrono::seconds kHalfCloseLinger{2};
  struct Totals {
    std::uint64_t to_peer = 0, from_peer = 0;
  };
  using OnClosed = std::function<void(const Totals&)>;

  /// `client` is the adopted data connection (its descriptor now belongs to the bridge);
  /// `first_to_client` is written to it before anything from the peer (the ConnectionBind
  /// response); `client->leftover` goes to the peer first. `to_peer`/`from_peer` count bytes.
  StreamBridge(boost::asio::io_context& io, std::unique_ptr<DetachedStream> client,
               boost::asio::ip::tcp::socket peer, std::vector<std::uint8_t> first_to_client,
               Counter& to_peer, Counter& from_peer);
  ~StreamBridge();
  StreamBridge(const StreamBridge&) = delete;
  StreamBridge& operator=(const StreamBridge&) = delete;

  /// Starts both directions; `on_closed` runs once, when both sides are closed.
  void start(OnClosed on_closed);
  /// Closes both connections now (the allocation went away); on_closed does not run.
  void close() noexcept;
  bool closed() const noexcept { return closed_; }
  const Totals& totals() const noexcept { return totals_; }
  /// Bytes held for a writer that has not taken them yet, both directions (0 when it keeps up).
  std::size_t held_bytes() const noexcept { return to_peer_held_.size + to_client_held_.size; }

 public:
  /// One side's socket, with its TLS session when it has one.
  struct Side {
    boost::asio::ip::tcp::socket socket;
    std::unique_ptr<tls::TlsStream> tls;
    enum class Io : std::uint8_t { Ok, WantRead, WantWrite, End, Failed };
    struct Result {
      std::size_t bytes = 0;
      Io status = Io::Ok;
    };
    Result read(protocol::MutableByteSpan out) noexcept;
    Result write(protocol::ByteSpan in) noexcept;
    void shutdown_write() noexcept;
  };

  struct Buffer {
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t size = 0;
  };

 private:
  boost::asio::awaitable<void> pump(Side& from, Side& to, Buffer& held, bool count_held,
                                    Counter& counter, std::uint64_t& total);
  static boost::asio::awaitable<bool> wait(Side& side, Side::Io why);
  void direction_done(bool failed) noexcept;

  Side client_, peer_;
  boost::asio::steady_timer linger_;
  std::unique_ptr<DetachedStream> client_owner_;  // its limiter slot and addresses
  Buffer to_peer_held_, to_client_held_;          // what the writer has not taken yet
  Counter& to_peer_;
  Counter& from_peer_;
  Totals totals_;
  OnClosed on_closed_;
  int directions_left_ = 2;
  bool closed_ = false;
};

}  // namespace turnd::server::io
