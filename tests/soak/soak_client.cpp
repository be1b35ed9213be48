// soak_client: holds many TURN allocations against one server for a bounded time (tests/soak).
//
// Independent of turnd's own codec on purpose (a bug there must not hide itself): a minimal STUN
// encoder/decoder, REST credentials and MESSAGE-INTEGRITY with OpenSSL, one epoll loop, one
// socket per allocation (UDP, or TCP for --tcp-percent of them), bound to one of --sources
// loopback addresses. Each allocation: Allocate (401, then authenticated; 438 handled),
// CreatePermission + ChannelBind to one of the echo peers, ChannelData (and every 8th packet a
// Send indication) that the peer echoes back through the channel, a Refresh + CreatePermission +
// ChannelBind cycle every --refresh seconds, and churn: --churn allocations a second deleted
// (Refresh lifetime 0) and created again from a new socket. At the end every allocation is
// deleted and every socket closed.
//
// Phases, printed as key=value lines on stdout (flushed):
//   event=ready      all --allocations hold a bound channel (warm-up done)
//   event=progress   every 5 s
//   event=drained    every allocation deleted, sockets closed
//   event=result     totals; exit status 0 when no transaction failed and no unexpected error came
// Bounded: warm-up at most --setup-timeout s, steady phase --duration s, drain at most 60 s.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::uint32_t kMagic = 0x2112A442;
constexpr std::uint16_t kAllocate = 0x003, kRefresh = 0x004, kSend = 0x006,
                        kCreatePermission = 0x008, kChannelBind = 0x009;
constexpr std::uint16_t kClassIndication = 0x0010, kClassSuccess = 0x0100, kClassError = 0x0110;
constexpr std::uint16_t kAttrUsername = 0x0006, kAttrIntegrity = 0x0008, kAttrErrorCode = 0x0009,
                        kAttrChannelNumber = 0x000C, kAttrLifetime = 0x000D, kAttrXorPeer = 0x0012,
                        kAttrData = 0x0013, kAttrRealm = 0x0014, kAttrNonce = 0x0015,
                        kAttrXorRelayed = 0x0016, kAttrRequestedTransport = 0x0019;
constexpr int kMaxTries = 7;  // UDP: 0.5, 1, 2, 2, 2, 2, 2 s (TCP: one try, 10 s)

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

struct Options {
  std::string server_ip = "127.0.0.1";
  int server_port = 3478;
  std::string secret;
  std::string source_base = "127.0.0.10";
  int sources = 8;
  std::string peer_ip = "127.0.0.200";
  int peers = 8;
  int allocations = 1000;
  double duration = 60;
  double setup_rate = 1000;
  double setup_timeout = 120;
  double rate = 2000;  // ChannelData packets a second, all allocations together
  double churn = 10;   // allocations deleted and recreated a second
  double refresh = 30;
  int tcp_percent = 10;
  int payload = 160;
  int lifetime = 600;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "soak_client: %s\nusage: soak_client --server IP:PORT --secret S [--allocations N]"
               " [--duration S] [--sources K] [--source-base IP] [--peers P] [--peer-ip IP]"
               " [--setup-rate N] [--setup-timeout S] [--rate PPS] [--churn N] [--refresh S]"
               " [--tcp-percent P] [--payload BYTES] [--lifetime S]\n",
               why);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const char* v = argv[++i];
    if (a == "--server") {
      std::string s = v;
      auto colon = s.rfind(':');
      if (colon == std::string::npos) usage("--server needs IP:PORT");
      o.server_ip = s.substr(0, colon);
      o.server_port = std::atoi(s.c_str() + colon + 1);
    } else if (a == "--secret")
      o.secret = v;
    else if (a == "--source-base")
      o.source_base = v;
    else if (a == "--sources")
      o.sources = std::atoi(v);
    else if (a == "--peer-ip")
      o.peer_ip = v;
    else if (a == "--peers")
      o.peers = std::atoi(v);
    else if (a == "--allocations")
      o.allocations = std::atoi(v);
    else if (a == "--duration")
      o.duration = std::atof(v);
    else if (a == "--setup-rate")
      o.setup_rate = std::atof(v);
    else if (a == "--setup-timeout")
      o.setup_timeout = std::atof(v);
    else if (a == "--rate")
      o.rate = std::atof(v);
    else if (a == "--churn")
      o.churn = std::atof(v);
    else if (a == "--refresh")
      o.refresh = std::atof(v);
    else if (a == "--tcp-percent")
      o.tcp_percent = std::atoi(v);
    else if (a == "--payload")
      o.payload = std::atoi(v);
    else if (a == "--lifetime")
      o.lifetime = std::atoi(v);
    else
      usage("unknown option");
  }
  if (o.secret.empty()) usage("--secret is required");
  if (o.allocations < 1 || o.allocations > 60000 || o.sources < 1 || o.sources > 200 ||
      o.peers < 1 || o.peers > 64 || o.duration < 0 || o.duration > 86400 || o.payload < 16 ||
      o.payload > 1200 || o.tcp_percent < 0 || o.tcp_percent > 100 || o.setup_rate <= 0 ||
      o.refresh < 1 || o.churn < 0 || o.rate < 0)
    usage("value out of range");
  return o;
}

// ------------------------------------------------------------------ STUN encoding

void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
std::uint16_t get16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

struct Message {
  std::vector<std::uint8_t> b;
  Message(std::uint16_t type, const std::uint8_t* tid) {
    put16(b, type);
    put16(b, 0);
    put32(b, kMagic);
    b.insert(b.end(), tid, tid + 12);
  }
  void attr(std::uint16_t type, const void* data, std::size_t n) {
    put16(b, type);
    put16(b, static_cast<std::uint16_t>(n));
    auto p = static_cast<const std::uint8_t*>(data);
    b.insert(b.end(), p, p + n);
    while (b.size() % 4) b.push_back(0);
    set_length();
  }
  void attr(std::uint16_t type, std::string_view s) { attr(type, s.data(), s.size()); }
  void attr32(std::uint16_t type, std::uint32_t v) {
    std::uint8_t x[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                         static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    attr(type, x, 4);
  }
  void xor_address(std::uint16_t type, const sockaddr_in& a) {
    std::uint8_t x[8];
    x[0] = 0;
    x[1] = 1;
    std::uint16_t port = ntohs(a.sin_port) ^ static_cast<std::uint16_t>(kMagic >> 16);
    x[2] = static_cast<std::uint8_t>(port >> 8);
    x[3] = static_cast<std::uint8_t>(port);
    std::uint32_t ip = ntohl(a.sin_addr.s_addr) ^ kMagic;
    for (int i = 0; i < 4; ++i) x[4 + i] = static_cast<std::uint8_t>(ip >> (24 - 8 * i));
    attr(type, x, 8);
  }
  void integrity(const std::array<std::uint8_t, 16>& key) {
    put16(b, kAttrIntegrity);
    put16(b, 20);
    set_length(20);
    unsigned int n = 20;
    std::uint8_t mac[EVP_MAX_MD_SIZE];
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), b.data(), b.size() - 4, mac, &n);
    b.insert(b.end(), mac, mac + 20);
  }
  void set_length(std::size_t extra = 0) {
    auto len = static_cast<std::uint16_t>(b.size() - 20 + extra);
    b[2] = static_cast<std::uint8_t>(len >> 8);
    b[3] = static_cast<std::uint8_t>(len);
  }
};

struct Response {
  std::uint16_t type = 0;
  int error = 0;
  std::string realm, nonce;
  sockaddr_in relayed{};
  bool has_relayed = false;
};

bool parse_response(const std::uint8_t* p, std::size_t n, Response& r) {
  if (n < 20 || get16(p + 2) + 20u != n || (get16(p + 4) << 16 | get16(p + 6)) != kMagic)
    return false;
  r.type = get16(p);
  for (std::size_t off = 20; off + 4 <= n;) {
    std::uint16_t t = get16(p + off), len = get16(p + off + 2);
    const std::uint8_t* v = p + off + 4;
    if (off + 4 + len > n) return false;
    if (t == kAttrErrorCode && len >= 4) r.error = (v[2] & 7) * 100 + v[3];
    if (t == kAttrRealm) r.realm.assign(reinterpret_cast<const char*>(v), len);
    if (t == kAttrNonce) r.nonce.assign(reinterpret_cast<const char*>(v), len);
    if (t == kAttrXorRelayed && len == 8 && v[1] == 1) {
      r.relayed.sin_family = AF_INET;
      r.relayed.sin_port = htons(get16(v + 2) ^ static_cast<std::uint16_t>(kMagic >> 16));
      std::uint32_t ip = (static_cast<std::uint32_t>(get16(v + 4)) << 16 | get16(v + 6)) ^ kMagic;
      r.relayed.sin_addr.s_addr = htonl(ip);
      r.has_relayed = true;
    }
    off += 4 + ((len + 3u) & ~3u);
  }
  return true;
}

std::string base64(const std::uint8_t* p, int n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, n);
  out.resize(static_cast<std::size_t>(m));
  return out;
}

sockaddr_in make_addr(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, ip.c_str(), &a.sin_addr) != 1) usage("bad IPv4 address");
  return a;
}

// ------------------------------------------------------------------ the client

enum class State { Off, AllocUnauth, Alloc, Perm, Bind, Active, Refresh, Deleting };

struct Alloc {
  int fd = -1;
  bool tcp = false;
  int source = 0;
  int peer = 0;
  std::uint32_t gen = 0;
  State st = State::Off;
  std::uint8_t tid[12]{};
  std::vector<std::uint8_t> req;
  double sent_at = 0, rto = 0.5;
  int tries = 0;
  bool recreate = false;     // after Deleting: start a new allocation
  bool established = false;  // its first channel is bound
  int auth_retries = 0;      // 401/438 answers in a row
  std::uint16_t channel = 0;
  double next_send = 0, next_refresh = 0;
  std::uint32_t seq = 0;
  std::vector<std::uint8_t> rbuf;  // TCP stream
};

struct Source {
  sockaddr_in addr{};
  std::string username, realm, nonce;
  std::array<std::uint8_t, 16> key{};
  bool have_key = false;
};

struct Stats {
  std::uint64_t created = 0, deleted = 0, churned = 0, refreshes = 0, permissions = 0, binds = 0,
                sent = 0, echoed = 0, bad_echo = 0, challenges = 0, stale = 0, retransmits = 0,
                failures = 0, unexpected = 0, send_errors = 0, tcp = 0;
  std::map<int, std::uint64_t> errors;
};

class Client {
 public:
  explicit Client(Options o) : o_(std::move(o)), rng_(std::random_device{}()) {}
  int run();

 private:
  void start_alloc(int i);
  void close_alloc(Alloc& a);
  void send_request(int i, std::uint16_t method, bool auth);
  void transmit(Alloc& a, const std::vector<std::uint8_t>& m);
  void on_readable(int i);
  void on_message(int i, const std::uint8_t* p, std::size_t n);
  void on_response(int i, const Response& r);
  void send_data(int i);
  void timers(double now, double dt, bool steady);
  void pump_peers();
  int active() const;
  void progress(const char* event, double t0);

  Options o_;
  std::mt19937_64 rng_;
  int ep_ = -1;
  std::vector<Alloc> allocs_;
  std::vector<Source> sources_;
  std::vector<int> peer_fds_;
  std::vector<sockaddr_in> peer_addrs_;
  sockaddr_in server_{};
  Stats s_;
  bool draining_ = false;
  int established_ = 0;
};

void Client::transmit(Alloc& a, const std::vector<std::uint8_t>& m) {
  ssize_t r =
      a.tcp ? ::send(a.fd, m.data(), m.size(), MSG_NOSIGNAL) : ::send(a.fd, m.data(), m.size(), 0);
  if (r != static_cast<ssize_t>(m.size())) ++s_.send_errors;
}

void Client::send_request(int i, std::uint16_t method, bool auth) {
  Alloc& a = allocs_[i];
  Source& src = sources_[a.source];
  for (auto& b : a.tid) b = static_cast<std::uint8_t>(rng_());
  Message m(method, a.tid);
  if (method == kAllocate) m.attr32(kAttrRequestedTransport, 17u << 24);  // UDP relay
  if (method == kAllocate || method == kRefresh)
    m.attr32(kAttrLifetime, a.st == State::Deleting ? 0u : static_cast<std::uint32_t>(o_.lifetime));
  if (method == kCreatePermission || method == kChannelBind)
    m.xor_address(kAttrXorPeer, peer_addrs_[a.peer]);
  if (method == kChannelBind)
    m.attr32(kAttrChannelNumber, static_cast<std::uint32_t>(a.channel) << 16);
  if (auth) {
    m.attr(kAttrUsername, src.username);
    m.attr(kAttrRealm, src.realm);
    m.attr(kAttrNonce, src.nonce);
    m.integrity(src.key);
  }
  a.req = std::move(m.b);
  a.tries = 1;
  a.rto = a.tcp ? 10.0 : 0.5;
  a.sent_at = now_s();
  transmit(a, a.req);
}

void Client::start_alloc(int i) {
  Alloc& a = allocs_[i];
  a.tcp = static_cast<int>(rng_() % 100) < o_.tcp_percent;
  a.source = static_cast<int>(rng_() % sources_.size());
  a.peer = static_cast<int>(rng_() % peer_fds_.size());
  a.channel = static_cast<std::uint16_t>(0x4000 + (i % 0x1000));
  a.rbuf.clear();
  ++a.gen;
  a.fd = ::socket(AF_INET, (a.tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
  if (a.fd < 0) {
    std::perror("socket");
    std::exit(1);
  }
  if (::bind(a.fd, reinterpret_cast<const sockaddr*>(&sources_[a.source].addr),
             sizeof(sockaddr_in)) != 0 ||
      ::connect(a.fd, reinterpret_cast<const sockaddr*>(&server_), sizeof(server_)) != 0) {
    std::perror("bind/connect");
    std::exit(1);
  }
  if (a.tcp) {
    int one = 1;
    ::setsockopt(a.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ++s_.tcp;
  }
  ::fcntl(a.fd, F_SETFL, O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = static_cast<std::uint64_t>(i);
  ::epoll_ctl(ep_, EPOLL_CTL_ADD, a.fd, &ev);
  a.st = State::AllocUnauth;
  send_request(i, kAllocate, false);
}

void Client::close_alloc(Alloc& a) {
  if (a.established) --established_;
  a.established = false;
  if (a.fd >= 0) ::close(a.fd);
  a.fd = -1;
  a.st = State::Off;
}

void Client::send_data(int i) {
  Alloc& a = allocs_[i];
  std::vector<std::uint8_t> payload(static_cast<std::size_t>(o_.payload), 0x5A);
  std::uint32_t tag[3] = {static_cast<std::uint32_t>(i), a.gen, a.seq++};
  std::memcpy(payload.data(), tag, sizeof(tag));
  std::vector<std::uint8_t> out;
  if (a.seq % 8 == 0) {  // a Send indication now and then
    std::uint8_t tid[12];
    for (auto& b : tid) b = static_cast<std::uint8_t>(rng_());
    Message m(kSend | kClassIndication, tid);
    m.xor_address(kAttrXorPeer, peer_addrs_[a.peer]);
    m.attr(kAttrData, payload.data(), payload.size());
    out = std::move(m.b);
  } else {
    put16(out, a.channel);
    put16(out, static_cast<std::uint16_t>(payload.size()));
    out.insert(out.end(), payload.begin(), payload.end());
    if (a.tcp)
      while (out.size() % 4) out.push_back(0);
  }
  transmit(a, out);
  ++s_.sent;
}

void Client::on_response(int i, const Response& r) {
  Alloc& a = allocs_[i];
  Source& src = sources_[a.source];
  bool ok = (r.type & 0x0110) == kClassSuccess;
  if (!ok && (r.type & 0x0110) != kClassError) return;
  if (!ok && (r.error == 401 || r.error == 438) && !r.nonce.empty() && a.auth_retries++ < 3) {
    // challenge (401 to the first Allocate) or stale nonce: take the nonce and ask again
    (r.error == 401 ? s_.challenges : s_.stale)++;
    src.nonce = r.nonce;
    if (!src.have_key) {
      src.realm = r.realm;
      std::string in = src.username + ":" + src.realm + ":" + [&] {
        unsigned int n = 0;
        std::uint8_t mac[EVP_MAX_MD_SIZE];
        HMAC(EVP_sha1(), o_.secret.data(), static_cast<int>(o_.secret.size()),
             reinterpret_cast<const std::uint8_t*>(src.username.data()), src.username.size(), mac,
             &n);
        return base64(mac, static_cast<int>(n));
      }();
      unsigned int n = 16;
      EVP_Digest(in.data(), in.size(), src.key.data(), &n, EVP_md5(), nullptr);
      src.have_key = true;
    }
    if (r.error == 401 && a.st != State::AllocUnauth) {  // a good credential refused
      ++s_.unexpected;
      s_.errors[401]++;
    }
    if (a.st == State::AllocUnauth) a.st = State::Alloc;
    send_request(i, get16(a.req.data()), true);  // a request's type is its method
    return;
  }
  if (!ok) {
    if (a.st == State::Deleting && r.error == 437) {  // retransmission after the deletion
      ok = true;
    } else {
      ++s_.unexpected;
      s_.errors[r.error]++;
      std::fprintf(stderr, "soak_client: allocation %d: error %d in state %d\n", i, r.error,
                   static_cast<int>(a.st));
      a.req.clear();  // give up on this one; it is deleted at the end
      close_alloc(a);
      return;
    }
  }
  a.req.clear();
  a.auth_retries = 0;
  double now = now_s();
  switch (a.st) {
    case State::Alloc:
      ++s_.created;
      a.st = draining_ ? State::Deleting : State::Perm;
      send_request(i, draining_ ? kRefresh : kCreatePermission, true);
      break;
    case State::Refresh:
      ++s_.refreshes;
      a.st = State::Perm;
      send_request(i, kCreatePermission, true);
      break;
    case State::Perm:
      ++s_.permissions;
      a.st = State::Bind;
      send_request(i, kChannelBind, true);
      break;
    case State::Bind:
      ++s_.binds;
      if (!a.established) ++established_;
      a.established = true;
      a.st = State::Active;
      a.next_send = now + std::uniform_real_distribution<double>(0, 1)(rng_);
      a.next_refresh = now + o_.refresh * std::uniform_real_distribution<double>(0.5, 1.5)(rng_);
      break;
    case State::Deleting:
      ++s_.deleted;
      close_alloc(a);
      if (a.recreate && !draining_) {
        ++s_.churned;
        start_alloc(i);
      }
      break;
    default:
      break;
  }
}

void Client::on_message(int i, const std::uint8_t* p, std::size_t n) {
  Alloc& a = allocs_[i];
  if (n >= 4 && (p[0] & 0xC0) == 0x40) {  // ChannelData: the peer's echo
    std::uint32_t tag[3];
    if (n >= 4 + sizeof(tag) && get16(p) == a.channel) {
      std::memcpy(tag, p + 4, sizeof(tag));
      if (tag[0] == static_cast<std::uint32_t>(i) && tag[1] == a.gen)
        ++s_.echoed;
      else
        ++s_.bad_echo;
    } else {
      ++s_.bad_echo;
    }
    return;
  }
  Response r;
  if (!parse_response(p, n, r)) return;
  if (a.req.size() < 20 || std::memcmp(p + 8, a.tid, 12) != 0) return;  // stale transaction
  on_response(i, r);
}

void Client::on_readable(int i) {
  Alloc& a = allocs_[i];
  std::uint8_t buf[4096];
  for (int k = 0; k < 64 && a.fd >= 0; ++k) {
    ssize_t n = ::recv(a.fd, buf, sizeof(buf), 0);
    if (n < 0) return;
    if (!a.tcp) {
      on_message(i, buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) {  // the server closed a TCP connection we still use
      std::fprintf(stderr, "soak_client: allocation %d: server closed the TCP connection\n", i);
      ++s_.unexpected;
      close_alloc(a);
      return;
    }
    // a response may close this allocation and open the next one in its slot (churn): work on
    // a buffer of our own and stop once the slot holds another generation
    std::vector<std::uint8_t> data = std::move(a.rbuf);
    a.rbuf.clear();
    data.insert(data.end(), buf, buf + n);
    const std::uint32_t gen = a.gen;
    std::size_t off = 0;
    while (data.size() - off >= 4 && a.gen == gen && a.fd >= 0) {
      const std::uint8_t* p = data.data() + off;
      const bool channel_data = (p[0] & 0xC0) == 0x40;
      std::size_t len = channel_data ? 4 + ((get16(p + 2) + 3u) & ~3u) : 20 + get16(p + 2);
      if (data.size() - off < len) break;
      on_message(i, p, channel_data ? 4 + get16(p + 2) : len);
      off += len;
    }
    if (a.gen != gen || a.fd < 0) return;
    a.rbuf.assign(data.begin() + static_cast<long>(off), data.end());
  }
}

void Client::pump_peers() {
  std::uint8_t buf[2048];
  for (int fd : peer_fds_) {
    for (int k = 0; k < 256; ++k) {
      sockaddr_in from{};
      socklen_t fl = sizeof(from);
      ssize_t n = ::recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n < 0) break;
      ::sendto(fd, buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
}

void Client::timers(double now, double dt, bool steady) {
  double per_alloc = o_.rate > 0 ? o_.allocations / o_.rate : 0;
  for (int i = 0; i < static_cast<int>(allocs_.size()); ++i) {
    Alloc& a = allocs_[i];
    if (a.st == State::Off) continue;
    if (!a.req.empty() && now - a.sent_at > a.rto) {
      if (a.tries >= (a.tcp ? 1 : kMaxTries)) {
        ++s_.failures;
        std::fprintf(stderr, "soak_client: allocation %d: no answer in state %d\n", i,
                     static_cast<int>(a.st));
        a.req.clear();
        close_alloc(a);
        continue;
      }
      ++a.tries;
      ++s_.retransmits;
      a.rto = std::min(a.rto * 2, 2.0);
      a.sent_at = now;
      transmit(a, a.req);
      continue;
    }
    if (a.st != State::Active || draining_) continue;
    if (per_alloc > 0 && now >= a.next_send) {
      send_data(i);
      a.next_send += per_alloc;
      if (a.next_send < now) a.next_send = now + per_alloc;
    }
    if (now >= a.next_refresh) {
      a.st = State::Refresh;
      a.next_refresh = now + o_.refresh;
      send_request(i, kRefresh, true);
    } else if (steady && o_.churn > 0 &&
               std::uniform_real_distribution<double>(0, 1)(rng_) <
                   o_.churn * dt / o_.allocations) {
      a.st = State::Deleting;
      a.recreate = true;
      send_request(i, kRefresh, true);
    }
  }
}

int Client::active() const {
  int n = 0;
  for (const auto& a : allocs_) n += a.st == State::Active;
  return n;
}

void Client::progress(const char* event, double t0) {
  std::printf(
      "event=%s t=%.1f active=%d created=%llu deleted=%llu churned=%llu refreshes=%llu "
      "sent=%llu echoed=%llu retransmits=%llu failures=%llu unexpected=%llu\n",
      event, now_s() - t0, active(), static_cast<unsigned long long>(s_.created),
      static_cast<unsigned long long>(s_.deleted), static_cast<unsigned long long>(s_.churned),
      static_cast<unsigned long long>(s_.refreshes), static_cast<unsigned long long>(s_.sent),
      static_cast<unsigned long long>(s_.echoed), static_cast<unsigned long long>(s_.retransmits),
      static_cast<unsigned long long>(s_.failures), static_cast<unsigned long long>(s_.unexpected));
  std::fflush(stdout);
}

int Client::run() {
  // one descriptor per allocation: raise the soft limit to the hard one
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  nofile.rlim_cur = nofile.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < static_cast<rlim_t>(o_.allocations) + o_.peers + 64) {
    std::fprintf(stderr, "soak_client: %d allocations need more descriptors than the limit %llu\n",
                 o_.allocations, static_cast<unsigned long long>(nofile.rlim_cur));
    return 2;
  }
  server_ = make_addr(o_.server_ip, o_.server_port);
  ep_ = ::epoll_create1(EPOLL_CLOEXEC);
  sockaddr_in base = make_addr(o_.source_base, 0);
  long expiry = static_cast<long>(std::time(nullptr)) + 86400;
  for (int k = 0; k < o_.sources; ++k) {
    Source src;
    src.addr = base;
    src.addr.sin_addr.s_addr = htonl(ntohl(base.sin_addr.s_addr) + static_cast<std::uint32_t>(k));
    src.username = std::to_string(expiry) + ":soak" + std::to_string(k);
    sources_.push_back(src);
  }
  for (int k = 0; k < o_.peers; ++k) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in pa = make_addr(o_.peer_ip, 0);
    int big = 4 << 20;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&pa), sizeof(pa)) != 0) {
      std::perror("bind peer");
      return 1;
    }
    socklen_t l = sizeof(pa);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&pa), &l);
    peer_fds_.push_back(fd);
    peer_addrs_.push_back(pa);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (1ull << 32) | static_cast<std::uint64_t>(k);
    ::epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
  }
  allocs_.resize(static_cast<std::size_t>(o_.allocations));

  const double t0 = now_s();
  double ready_at = 0, end_at = 0, drain_deadline = 0, last_timers = t0, last_progress = t0;
  int started = 0;
  std::vector<epoll_event> evs(512);
  for (;;) {
    double now = now_s();
    if (!ready_at) {
      int want = std::min(o_.allocations, static_cast<int>((now - t0) * o_.setup_rate) + 1);
      while (started < want) start_alloc(started++);
      if (established_ == o_.allocations) {
        ready_at = now;
        end_at = now + o_.duration;
        progress("ready", t0);
      } else if (now - t0 > o_.setup_timeout) {
        progress("setup_timeout", t0);
        ready_at = now;
        end_at = now;
        ++s_.failures;
      }
    } else if (!draining_ && now >= end_at) {
      draining_ = true;
      drain_deadline = now + 60;
      for (int i = 0; i < o_.allocations; ++i) {
        Alloc& a = allocs_[i];
        a.recreate = false;
        // an Allocate in flight is deleted once it is answered (on_response)
        if (a.st == State::Off || a.st == State::AllocUnauth || a.st == State::Alloc) continue;
        a.st = State::Deleting;  // an answer still pending for another request is ignored
        send_request(i, kRefresh, true);
      }
    }
    if (draining_) {
      bool busy = false;
      for (const auto& a : allocs_) busy |= a.st != State::Off;
      if (!busy) break;
      if (now > drain_deadline) {
        ++s_.failures;
        break;
      }
    }
    int n = ::epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), 2);
    for (int k = 0; k < n; ++k) {
      std::uint64_t d = evs[k].data.u64;
      if (d >> 32) continue;  // peers are pumped below
      on_readable(static_cast<int>(d));
    }
    pump_peers();
    now = now_s();
    if (now - last_timers >= 0.01) {
      timers(now, now - last_timers, ready_at && !draining_);
      last_timers = now;
    }
    if (now - last_progress >= 5) {
      progress("progress", t0);
      last_progress = now;
    }
  }
  for (auto& a : allocs_) close_alloc(a);
  progress("drained", t0);
  // a few more ms for echoes still in flight are not needed: only counters remain
  for (int fd : peer_fds_) ::close(fd);
  std::printf(
      "event=result allocations=%d created=%llu deleted=%llu churned=%llu refreshes=%llu "
      "permissions=%llu binds=%llu sent=%llu echoed=%llu bad_echo=%llu challenges=%llu "
      "stale_nonce=%llu retransmits=%llu failures=%llu unexpected=%llu send_errors=%llu "
      "tcp_allocations=%llu warmup_s=%.1f",
      o_.allocations, static_cast<unsigned long long>(s_.created),
      static_cast<unsigned long long>(s_.deleted), static_cast<unsigned long long>(s_.churned),
      static_cast<unsigned long long>(s_.refreshes),
      static_cast<unsigned long long>(s_.permissions), static_cast<unsigned long long>(s_.binds),
      static_cast<unsigned long long>(s_.sent), static_cast<unsigned long long>(s_.echoed),
      static_cast<unsigned long long>(s_.bad_echo), static_cast<unsigned long long>(s_.challenges),
      static_cast<unsigned long long>(s_.stale), static_cast<unsigned long long>(s_.retransmits),
      static_cast<unsigned long long>(s_.failures), static_cast<unsigned long long>(s_.unexpected),
      static_cast<unsigned long long>(s_.send_errors), static_cast<unsigned long long>(s_.tcp),
      ready_at - t0);
  for (const auto& [code, count] : s_.errors)
    std::printf(" error_%d=%llu", code, static_cast<unsigned long long>(count));
  std::printf("\n");
  std::fflush(stdout);
  ::close(ep_);
  return s_.failures == 0 && s_.unexpected == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Client c(parse_options(argc, argv));
  return c.run();
}
