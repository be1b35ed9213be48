#include "tools/turnctl/probe_conn.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "protocol/channel_data.hpp"
#include "protocol/stream_framer.hpp"

namespace turnd::turnctl::probe {

using protocol::TransportAddress;
using std::chrono::milliseconds;

namespace {

// poll(2) for `events` on `fd` until `deadline`; false when the deadline passed.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "the connection closed during the handshake (is this port TLS?)";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Why SSL_connect failed when the certificate was not the reason. A server that does not
// speak TLS on the port either closes the connection (OpenSSL 3 queues "unexpected eof while
// reading") or answers in plain text ("wrong version number", "packet length too long"): say
// that in plain words rather than as an OpenSSL error string.
std::string handshake_failure(int ssl_error) {
  const unsigned long e = ERR_peek_error();
  const int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
  if ((ssl_error == SSL_ERROR_SYSCALL && e == 0) || ssl_error == SSL_ERROR_ZERO_RETURN ||
      reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
    ERR_clear_error();
    return "TLS handshake failed: the server closed the connection during the handshake (is "
           "this port TLS?)";
  }
  if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG) {
    ERR_clear_error();
    return "TLS handshake failed: the server did not answer in TLS (is this port TLS?)";
  }
  return "TLS handshake failed: " + openssl_error();
}

}  // namespace

// A connected TCP socket, with TLS on top when `ssl` is set. Non-blocking; every call waits
// with poll until its deadline.
struct ServerConnection::Stream {
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  std::vector<std::uint8_t> buffered;

  ~Stream() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }

  void connect(const TransportAddress& to, Clock::time_point deadline) {
    fd =
        ::socket(to.ip.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
      throw ConnectError(false, std::string("cannot open a TCP socket: ") + strerror(errno));
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_storage ss;
    const socklen_t len = nat::to_sockaddr(to, ss);
    int err = 0;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      if (errno != EINPROGRESS) {
        err = errno;
      } else if (!wait_for(fd, POLLOUT, deadline)) {
        throw ConnectError(
            true, "timeout: no TCP connection to " + to.to_string() +
                      " within the timeout (a firewall dropping SYNs, or the host is down)");
      } else {
        socklen_t l = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
      }
    }
    if (err == ECONNREFUSED)
      throw ConnectError(true, "connection refused: nothing listens on " + to.to_string() +
                                   " over TCP (is the server running, with this port?)");
    if (err != 0)
      throw ConnectError(true, "cannot connect to " + to.to_string() + ": " + strerror(err));
  }

  void handshake(const std::string& host, const TlsOptions& opt, Clock::time_point deadline) {
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) throw ConnectError(false, "TLS: " + openssl_error());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (!opt.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, opt.ca_file.c_str(), nullptr) != 1)
        throw ConnectError(false, "cannot read --ca " + opt.ca_file + ": " + openssl_error());
    } else {
      SSL_CTX_set_default_verify_paths(ctx);
    }
    SSL_CTX_set_verify(ctx, opt.insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    const bool is_ip = protocol::IpAddress::parse(host).has_value();
    if (!is_ip) SSL_set_tlsext_host_name(ssl, host.c_str());
    if (!opt.insecure) {
      if (is_ip)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
      else
        SSL_set1_host(ssl, host.c_str());
    }
    for (;;) {
      const int rc = SSL_connect(ssl);
      if (rc == 1) return;
      const int e = SSL_get_error(ssl, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (!wait_for(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
          throw ConnectError(true,
                             "timeout: the TLS handshake did not finish within the timeout "
                             "(is this port TLS?)");
        continue;
      }
      const long verify = SSL_get_verify_result(ssl);
      if (verify != X509_V_OK)
        throw ConnectError(false, std::string("TLS certificate error: ") +
                                      X509_verify_cert_error_string(verify) + " (for '" + host +
                                      "'); trust a private CA with --ca FILE, or skip the check "
                                      "with --insecure");
      throw ConnectError(false, handshake_failure(e));
    }
  }

  void write_all(protocol::ByteSpan bytes, Clock::time_point deadline) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n;
      int want = POLLOUT;
      if (ssl) {
        n = SSL_write(ssl, bytes.data() + done, static_cast<int>(bytes.size() - done));
        if (n <= 0) {
          const int e = SSL_get_error(ssl, static_cast<int>(n));
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            throw std::runtime_error("the server closed the TLS connection");
          want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        }
      } else {
        n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
          throw std::runtime_error(std::string("the TCP connection failed: ") + strerror(errno));
      }
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (!wait_for(fd, static_cast<short>(want), deadline)) {
        throw std::runtime_error("the server does not read (send timed out)");
      }
    }
  }

  // Reads more bytes into `buffered`; false at the deadline; throws when the server closed.
  bool read_more(Clock::time_point deadline) {
    std::uint8_t buf[4096];
    for (;;) {
      ssize_t n;
      int want = POLLIN;
      if (ssl) {
        n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
          const int e = SSL_get_error(ssl, static_cast<int>(n));
          if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            throw std::runtime_error("the server closed the TLS connection");
          want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        }
      } else {
        n = ::recv(fd, buf, sizeof buf, 0);
        if (n == 0) throw std::runtime_error("the server closed the TCP connection");
        if (n < 0 && errno != EAGAIN && errno != EINTR)
          throw std::runtime_error(std::string("the TCP connection failed: ") + strerror(errno));
      }
      if (n > 0) {
        buffered.insert(buffered.end(), buf, buf + n);
        return true;
      }
      if (!wait_for(fd, static_cast<short>(want), deadline)) return false;
    }
  }

  std::optional<std::vector<std::uint8_t>> next_frame(Clock::time_point deadline) {
    for (;;) {
      auto size = protocol::next_frame_size(buffered);
      if (!size)
        throw std::runtime_error("the server sent bytes that are neither STUN nor ChannelData");
      if (*size != 0 && buffered.size() >= *size) {
        std::vector<std::uint8_t> frame(buffered.begin(), buffered.begin() + *size);
        buffered.erase(buffered.begin(), buffered.begin() + *size);
        return frame;
      }
      if (!read_more(deadline)) return std::nullopt;
    }
  }
};

ServerConnection::ServerConnection(Transport transport, const std::string& host,
                                   const TransportAddress& server, const TlsOptions& tls,
                                   milliseconds timeout)
    : transport_(transport), server_(server) {
  if (transport == Transport::Udp) {
    TransportAddress any;
    any.ip.family = server.ip.family;  // the wildcard of the server's family
    try {
      udp_ = std::make_unique<nat::UdpSocket>(any);
      local_ = {nat::source_address_for(server), udp_->local_address().port};
    } catch (const std::runtime_error& e) {
      throw ConnectError(true, e.what());
    }
    return;
  }
  const auto deadline = Clock::now() + timeout;
  stream_ = std::make_unique<Stream>();
  stream_->connect(server, deadline);
  if (transport == Transport::Tls) stream_->handshake(host, tls, deadline);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(stream_->fd, reinterpret_cast<sockaddr*>(&ss), &len);
  local_ = nat::from_sockaddr(ss);
}

ServerConnection::~ServerConnection() = default;

void ServerConnection::send_frame(protocol::ByteSpan bytes) {
  if (udp_)
    udp_->send_to(bytes, server_);
  else
    stream_->write_all(bytes, Clock::now() + std::chrono::seconds(5));
}

std::optional<std::vector<std::uint8_t>> ServerConnection::next_frame(Clock::time_point deadline) {
  if (stream_) return stream_->next_frame(deadline);
  while (auto d = udp_->receive(deadline))
    if (d->from == server_) return std::move(d->bytes);
  return std::nullopt;
}

namespace {
bool answers(protocol::ByteSpan frame, const protocol::TransactionId& id) {
  auto msg = protocol::MessageView::parse(frame);
  return msg && msg->transaction_id() == id &&
         (msg->cls() == protocol::Class::SuccessResponse ||
          msg->cls() == protocol::Class::ErrorResponse);
}
}  // namespace

std::optional<std::vector<std::uint8_t>> ServerConnection::transact(
    protocol::ByteSpan request, const protocol::TransactionId& id, milliseconds timeout) {
  std::optional<std::vector<std::uint8_t>> out;
  if (udp_) {
    nat::retransmit(request, *udp_, server_, *udp_, timeout, [&](const nat::Datagram& d) {
      if (d.from == server_ && answers(d.bytes, id)) out = d.bytes;
      return out.has_value();
    });
    return out;
  }
  const auto deadline = Clock::now() + timeout;
  send_frame(request);
  while (auto f = next_frame(deadline))
    if (answers(*f, id)) return f;
  return std::nullopt;
}

void ServerConnection::send_channel_data(std::uint16_t channel, protocol::ByteSpan data) {
  std::vector<std::uint8_t> frame(protocol::kChannelDataHeaderSize + data.size());
  protocol::write_channel_data_header(frame.data(), channel,
                                      static_cast<std::uint16_t>(data.size()));
  std::memcpy(frame.data() + protocol::kChannelDataHeaderSize, data.data(), data.size());
  if (stream_) frame.resize(frame.size() + protocol::stream_padding(data.size()), 0);
  send_frame(frame);
}

std::optional<std::vector<std::uint8_t>> ServerConnection::receive_channel_data(
    std::uint16_t channel, Clock::time_point deadline) {
  while (auto f = next_frame(deadline)) {
    auto cd = protocol::ChannelDataView::parse(*f);
    if (cd && cd->channel == channel)
      return std::vector<std::uint8_t>(cd->data.begin(), cd->data.end());
  }
  return std::nullopt;
}

}  // namespace turnd::turnctl::probe
