/* turnperf.c — TURN allocation rate and relay latency client (UDP; loopback only; issue 13).
 *
 *   alloc  C allocations in flight, each a complete long-term-credential exchange on a fresh
 *          UDP socket (a new source port): Allocate -> 401 (REALM, NONCE) -> Allocate with
 *          USERNAME/REALM/NONCE/MESSAGE-INTEGRITY -> CreatePermission -> Refresh LIFETIME 0;
 *          then the slot starts the next one. Every answer is checked (type, transaction ID,
 *          attribute bounds, FINGERPRINT, MESSAGE-INTEGRITY of every authenticated success,
 *          XOR-MAPPED-ADDRESS = our source, a relayed address, LIFETIME 0 after the Refresh);
 *          errors are counted by code (err_437, err_438, err_508, ...), malformed answers by
 *          kind (invalid_*), unanswered requests by step (timeout_*). Counted over a window of
 *          -t seconds after a -i warm-up: completed allocations per second and, with -P PID,
 *          the server's CPU-seconds (/proc/PID/stat, all threads) per allocation.
 *   lat    N allocations (set up as above, plus a ChannelBind to the UDP echo peer), then
 *          timestamped ChannelData at a fixed total rate (-R msgs/s, round robin over the
 *          allocations, sent from a timerfd every -k us) for -t seconds; the echo sends each
 *          datagram back to the relayed address. Round-trip time = kernel receive timestamp
 *          (SO_TIMESTAMPNS) - send time: p50, p90, p99, p99.9, max, and loss. With -D the
 *          same paced datagrams go from N sockets straight to the echo (no server): the bare
 *          RTT to subtract (added latency = relay RTT - echo RTT, at the same rate).
 *          The echo is a socket of this process on 127.0.0.1, served in the same event loop
 *          (recvmmsg/sendmmsg), or an external one with -e PORT (turnutils_peer, udpecho).
 *
 *   turnperf -p PORT (-W SECRET [-u NAME] | -u USER -w PASS) [options] alloc|lat
 *     -s ADDR    server (127.0.0.0/8 only)                                  [127.0.0.1]
 *     -p PORT    server UDP port                                            [3478]
 *     -W SECRET  TURN REST shared secret: user "<now+86400>:NAME"
 *     -u USER    long-term user (with -w), or the REST name (with -W)       [bench]
 *     -w PASS    long-term password
 *     -r REALM   expected REALM (an answer with another one is invalid)     [any]
 *     -L ADDR    first client source address (127/8)                        [127.0.0.2]
 *     -A N       source addresses ADDR, ADDR+1, ...: a socket's address and port (10000-32767,
 *                cycled) come back after N x 22,768 sockets                 [8]
 *     -c C       alloc: allocations in flight                               [32]
 *     -n N       alloc: stop after N allocations started (0 = time only);
 *                lat: allocations (sockets) to send through                 [0 / 10]
 *     -t SECS    alloc: measured window; lat: sending time                  [5 / 5]
 *     -i SECS    warm-up before the window (alloc) / not in the histogram (lat) [1 / 0.5]
 *     -T MS      a request unanswered after MS counts as a timeout; lat: wait for the last
 *                echoes this long                                           [2000 / 1000]
 *     -P PID     server process: CPU-seconds over the window, run-queue wait
 *     -R RATE    lat: total messages per second                             [5000]
 *     -l BYTES   lat: payload bytes (>= 24)                                 [120]
 *     -k US      lat: send tick (messages due are sent every US microseconds) [100]
 *     -e PORT    lat: external UDP echo on 127.0.0.1:PORT                   [built-in]
 *     -D         lat: direct to the echo (baseline, no server; -s/-p unused)
 *     -b         lat: busy-poll (epoll_wait without sleeping, the tick from the clock): no
 *                wake-up per datagram on the client side; for a client with a core of its own
 *     -H SECS    hard bound on the whole run                                 [120]
 *   Output: key=value lines. Exit 0 if allocations completed (alloc) / echoes came back
 *   (lat), 1 otherwise (also when a lat allocation could not be set up), 2 on bad usage.
 *
 * Build: cc -O2 -Wall -o turnperf turnperf.c -lcrypto   (tests/bench/CMakeLists.txt)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "proc_cpu.h"
#include "turnmsg.h"

/* ---- options ---- */
static uint32_t server_ip, source_ip, echo_ip;
static int server_port = 3478, echo_port = 0, conc = 32, direct = 0, server_pid = 0, lat_mode = 0,
           busy = 0;
static long total = -1, payload = 120;
static double secs = 5, warm = -1, timeout_ms = -1, rate = 5000, tick_us = 100, hard = 120;
static const char *secret = NULL, *name = "bench", *pass = NULL, *want_realm = NULL;
static char user[256], password[256], realm[256];
static tm_key key;

static uint64_t now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static uint64_t mono(void) { return now_ns(CLOCK_MONOTONIC); }

/* ---- server CPU and run-queue wait from /proc ---- */
static double proc_cpu_s(int pid) {
  const long ticks = proc_cpu_ticks(pid);
  return ticks < 0 ? -1 : (double)ticks / (double)sysconf(_SC_CLK_TCK);
}
static double proc_wait_s(int pid) { /* run-queue wait summed over the threads (schedstat) */
  char path[64];
  double w = 0;
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR* d = opendir(path);
  struct dirent* e;
  while (d && (e = readdir(d))) {
    char p2[400];
    unsigned long long run, wait;
    if (e->d_name[0] == '.') continue;
    snprintf(p2, sizeof p2, "%s/%s/schedstat", path, e->d_name);
    FILE* f = fopen(p2, "r");
    if (f && fscanf(f, "%llu %llu", &run, &wait) == 2) w += (double)wait / 1e9;
    if (f) fclose(f);
  }
  if (d) closedir(d);
  return w;
}
static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- latency histogram: 1-us buckets up to 1 s ---- */
#define HIST_MAX 1000000
typedef struct {
  uint32_t* b;
  uint64_t n, sum_ns, max_ns;
} hist_t;
static void hist_add(hist_t* h, uint64_t ns) {
  uint64_t us = ns / 1000;
  h->b[us > HIST_MAX ? HIST_MAX : us]++;
  h->n++;
  h->sum_ns += ns;
  if (ns > h->max_ns) h->max_ns = ns;
}
static uint64_t hist_q(const hist_t* h, double q) { /* smallest bucket holding a fraction q */
  uint64_t acc = 0, need = (uint64_t)(q * (double)h->n + 0.999999);
  for (uint64_t i = 0; i <= HIST_MAX && h->n; i++)
    if ((acc += h->b[i]) >= need) return i;
  return 0;
}
static void hist_print(const char* pfx, const hist_t* h) {
  printf(
      "%s_samples=%llu\n%s_p50_us=%llu\n%s_p90_us=%llu\n%s_p99_us=%llu\n%s_p999_us=%llu\n"
      "%s_max_us=%.1f\n%s_avg_us=%.1f\n",
      pfx, (unsigned long long)h->n, pfx, (unsigned long long)hist_q(h, 0.5), pfx,
      (unsigned long long)hist_q(h, 0.9), pfx, (unsigned long long)hist_q(h, 0.99), pfx,
      (unsigned long long)hist_q(h, 0.999), pfx, (double)h->max_ns / 1e3, pfx,
      h->n ? (double)h->sum_ns / (double)h->n / 1e3 : 0.0);
}

/* ---- allocation sessions (both modes): one UDP socket each, a state machine per answer ---- */
enum { ST_IDLE, ST_ALLOC0, ST_ALLOC1, ST_PERM, ST_BIND, ST_READY, ST_REFRESH, ST_N };
static const char* step_name[ST_N] = {"idle",         "allocate", "allocate_auth", "permission",
                                      "channel_bind", "ready",    "refresh"};
static const uint16_t step_method[ST_N] = {
    0, TM_ALLOCATE, TM_ALLOCATE, TM_CREATE_PERMISSION, TM_CHANNEL_BIND, 0, TM_REFRESH};
typedef struct {
  int fd, step, failed;
  uint8_t tid[12];
  uint64_t t_sent, t_start;
  uint8_t nonce[256];
  size_t nonce_len;
  uint16_t lport, channel;
  uint32_t lip;
  uint32_t relay_addr;
  uint16_t relay_port;
} sess_t;

static sess_t* sess;
static int nsess, ep, active;
static uint32_t salt;
static uint64_t tid_seq;
static struct {
  uint64_t started, completed, in_window, failed, refused, stray, err[700], invalid[8],
      timeout[ST_N];
  uint64_t fail_at[ST_N]; /* failures (error answers, invalid answers) by step */
  hist_t cycle;           /* first Allocate sent .. Refresh answered, per completed allocation */
} st;

/* Source transport addresses: explicit, cycling over ADDRS source addresses (-L, -A) x ports
 * 10000-32767 (below the kernel's ephemeral range, so never a server's relay port), so that one
 * comes back only after ADDRS x 22,768 sockets: a server that keeps a deleted allocation's
 * 5-tuple for a while (coturn answers 437 to a new Allocate from it) never sees it reused. */
#define PORT_LO 10000
#define PORT_N 22768
static int naddrs = 8;
static uint64_t next_source;
static int udp_socket(uint32_t dst_ip, int dst_port, uint32_t* lip, uint16_t* lport) {
  struct sockaddr_in d = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)dst_port),
                          .sin_addr.s_addr = htonl(dst_ip)};
  for (int tries = 0; tries < 64; tries++) {
    uint64_t q = next_source++;
    uint32_t ip = source_ip + (uint32_t)(q % (uint64_t)naddrs);
    uint16_t port = (uint16_t)(PORT_LO + (q / (uint64_t)naddrs) % PORT_N);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr*)&a, sizeof a) == 0) {
      if (connect(fd, (struct sockaddr*)&d, sizeof d) < 0) {
        close(fd);
        return -1;
      }
      *lport = port;
      *lip = ip;
      return fd;
    }
    close(fd); /* taken by another process: the next one */
  }
  return -1;
}

static void sess_send(sess_t* s, uint64_t now) {
  tm_msg m;
  uint64_t q = ++tid_seq;
  memcpy(s->tid, &salt, 4);
  memcpy(s->tid + 4, &q, 8);
  tm_begin(&m, step_method[s->step], s->tid);
  switch (s->step) {
    case ST_ALLOC0:
    case ST_ALLOC1:
      tm_attr32(&m, TA_REQ_TRANSPORT, 17u << 24);
      break;
    case ST_BIND:
      tm_attr32(&m, TA_CHANNEL_NUMBER, (uint32_t)s->channel << 16); /* fall through */
    case ST_PERM:
      tm_attr_xaddr(&m, TA_XOR_PEER, echo_ip, (uint16_t)echo_port);
      break;
    case ST_REFRESH:
      tm_attr32(&m, TA_LIFETIME, 0);
      break;
  }
  if (s->step != ST_ALLOC0) tm_auth(&m, user, realm, s->nonce, s->nonce_len, &key);
  size_t n = tm_finish(&m);
  s->t_sent = now;
  if (send(s->fd, m.b, n, 0) < 0 && errno != EAGAIN && errno != ENOBUFS) st.refused++;
}

static int sess_open(sess_t* s, uint64_t now) {
  s->fd = udp_socket(server_ip, server_port, &s->lip, &s->lport);
  if (s->fd < 0) return -1;
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)(s - sess)};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  s->step = ST_ALLOC0;
  s->failed = 0;
  s->t_start = now;
  st.started++;
  active++;
  sess_send(s, now);
  return 0;
}

/* alloc mode: whether a finished slot starts another allocation */
static uint64_t t_stop_starting;
static int keep_going(uint64_t now) {
  return now < t_stop_starting && (total <= 0 || st.started < (uint64_t)total);
}

static void sess_end(sess_t* s, uint64_t now) {
  close(s->fd); /* also leaves the epoll set */
  s->fd = -1;
  s->step = ST_IDLE;
  active--;
  if (!lat_mode && keep_going(now) && sess_open(s, now) < 0) st.refused++;
}

/* a failed step: an allocation that exists is still deleted (Refresh 0), then the slot ends */
static void sess_fail(sess_t* s, uint64_t now) {
  st.fail_at[s->step]++;
  st.failed += !s->failed;
  s->failed = 1;
  if (s->step >= ST_PERM && s->step != ST_REFRESH) {
    s->step = ST_REFRESH;
    sess_send(s, now);
  } else {
    sess_end(s, now);
  }
}

static uint64_t t_window0, t_window1; /* alloc: the measured window (completions counted) */

static void sess_answer(sess_t* s, uint8_t* buf, size_t n, uint64_t now) {
  tm_answer a;
  if (s->step == ST_IDLE || s->step == ST_READY) {
    st.stray++;
    return;
  }
  int e = tm_parse(&a, buf, n, step_method[s->step], s->tid);
  if (e == TM_BAD_TID) {
    st.stray++;
    return;
  } /* not the request in flight */
  if (e) {
    st.invalid[e]++;
    sess_fail(s, now);
    return;
  }
  if (s->step == ST_ALLOC0) {
    if (!a.is_error || a.code != 401 || !a.realm || !a.nonce || a.nonce_len > sizeof s->nonce ||
        a.realm_len >= sizeof realm) {
      if (a.is_error)
        st.err[a.code]++;
      else
        st.invalid[TM_BAD_METHOD]++;
      sess_fail(s, now);
      return;
    }
    if (!key.ready) { /* the first 401 tells the realm: the key is the same for every allocation */
      memcpy(realm, a.realm, a.realm_len);
      realm[a.realm_len] = 0;
      if ((want_realm && strcmp(realm, want_realm)) || tm_key_init(&key, user, realm, password)) {
        fprintf(stderr, "turnperf: realm \"%s\" (expected %s) or key set-up failed\n", realm,
                want_realm ? want_realm : "any");
        exit(1);
      }
    } else if (a.realm_len != strlen(realm) || memcmp(a.realm, realm, a.realm_len)) {
      st.invalid[TM_BAD_ATTR]++;
      sess_fail(s, now);
      return;
    }
    memcpy(s->nonce, a.nonce, a.nonce_len);
    s->nonce_len = a.nonce_len;
    s->step = ST_ALLOC1;
    sess_send(s, now);
    return;
  }
  if (a.is_error) {
    st.err[a.code]++;
    sess_fail(s, now);
    return;
  }
  if ((e = tm_check_integrity(&a, &key)) != TM_OK) {
    st.invalid[e]++;
    sess_fail(s, now);
    return;
  }
  switch (s->step) {
    case ST_ALLOC1:
      if (!a.has_relayed || !a.has_mapped || !a.has_lifetime || !a.lifetime || !a.relayed_port ||
          a.mapped_port != s->lport || a.mapped_addr != s->lip || (a.relayed_addr >> 24) != 127) {
        st.invalid[TM_BAD_ATTR]++;
        s->step = ST_PERM; /* it exists: delete it */
        sess_fail(s, now);
        return;
      }
      s->relay_addr = a.relayed_addr;
      s->relay_port = a.relayed_port;
      s->step = ST_PERM;
      break;
    case ST_PERM:
      s->step = lat_mode ? ST_BIND : ST_REFRESH;
      break;
    case ST_BIND:
      s->step = ST_READY;
      return;
    case ST_REFRESH:
      if (a.has_lifetime && a.lifetime != 0) {
        st.invalid[TM_BAD_ATTR]++;
        s->failed = 1;
      }
      if (!s->failed) {
        st.completed++;
        if (!lat_mode) hist_add(&st.cycle, now - s->t_start);
        if (now >= t_window0 && (!t_window1 || now <= t_window1)) st.in_window++;
      }
      sess_end(s, now);
      return;
  }
  sess_send(s, now);
}

/* one epoll round over the session sockets: answers, then unanswered requests past -T */
static uint64_t last_scan;
static void pump(int wait_ms) {
  struct epoll_event evs[256];
  uint8_t buf[TM_MAX + 64];
  int n = epoll_wait(ep, evs, 256, wait_ms);
  uint64_t now = mono();
  for (int i = 0; i < n; i++) {
    sess_t* s = &sess[evs[i].data.u32];
    for (int k = 0; k < 8 && s->fd >= 0; k++) {
      ssize_t r = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0) {
        if (errno == ECONNREFUSED) {
          st.refused++;
          sess_fail(s, now);
        }
        break;
      }
      sess_answer(s, buf, (size_t)r, now);
    }
  }
  if (now - last_scan > 10000000ull) {
    last_scan = now;
    for (int i = 0; i < nsess; i++) {
      sess_t* s = &sess[i];
      if (s->fd >= 0 && s->step != ST_IDLE && s->step != ST_READY &&
          now - s->t_sent > (uint64_t)(timeout_ms * 1e6)) {
        st.timeout[s->step]++;
        st.failed += !s->failed;
        sess_end(s, now); /* no clean-up: the server may hold it until it expires */
      }
    }
  }
}

static uint64_t errors_total(void) {
  uint64_t e = st.refused;
  for (int i = 0; i < 700; i++) e += st.err[i];
  for (int i = 1; i < 8; i++) e += st.invalid[i];
  for (int i = 0; i < ST_N; i++) e += st.timeout[i];
  return e;
}
static void print_errors(void) {
  printf("failed=%llu\nerrors_total=%llu\nrefused=%llu\nstray=%llu\n",
         (unsigned long long)st.failed, (unsigned long long)errors_total(),
         (unsigned long long)st.refused, (unsigned long long)st.stray);
  for (int i = 0; i < 700; i++)
    if (st.err[i]) printf("err_%d=%llu\n", i, (unsigned long long)st.err[i]);
  for (int i = 1; i < 8; i++)
    if (st.invalid[i])
      printf("invalid_%s=%llu\n", tm_error_name(i), (unsigned long long)st.invalid[i]);
  for (int i = 0; i < ST_N; i++)
    if (st.timeout[i]) printf("timeout_%s=%llu\n", step_name[i], (unsigned long long)st.timeout[i]);
  for (int i = 0; i < ST_N; i++)
    if (st.fail_at[i])
      printf("failed_at_%s=%llu\n", step_name[i], (unsigned long long)st.fail_at[i]);
}

static void sessions_init(int n) {
  nsess = n;
  sess = calloc((size_t)n, sizeof *sess);
  st.cycle.b = calloc(HIST_MAX + 1, sizeof(uint32_t));
  if (!sess || !st.cycle.b) {
    perror("calloc");
    exit(1);
  }
  for (int i = 0; i < n; i++) sess[i].fd = -1;
  ep = epoll_create1(EPOLL_CLOEXEC);
}

/* ---- alloc mode ---- */
static double cpu_w0, wait_w0, self_w0;
static uint64_t tw0;
static void window_open(uint64_t now) {
  tw0 = now;
  self_w0 = self_cpu_s();
  if (server_pid) {
    cpu_w0 = proc_cpu_s(server_pid);
    wait_w0 = proc_wait_s(server_pid);
  }
}
static void window_close(uint64_t now) {
  double span = tw0 ? (double)(now - tw0) / 1e9 : 0;
  t_window1 = now;
  printf("window_s=%.3f\nallocations=%llu\nalloc_per_s=%.1f\nclient_cpu_pct=%.1f\n", span,
         (unsigned long long)st.in_window, span > 0 ? (double)st.in_window / span : 0.0,
         span > 0 ? 100.0 * (self_cpu_s() - self_w0) / span : 0.0);
  if (server_pid && span > 0 && cpu_w0 >= 0) {
    double cpu = proc_cpu_s(server_pid) - cpu_w0, w = proc_wait_s(server_pid) - wait_w0;
    printf(
        "server_cpu_s=%.2f\nserver_cpu_pct=%.1f\nserver_wait_pct=%.1f\nalloc_per_server_cpu_s=%."
        "1f\n",
        cpu, 100.0 * cpu / span, 100.0 * w / span, cpu > 0 ? (double)st.in_window / cpu : 0.0);
  }
}

static int run_alloc(void) {
  uint64_t t0 = mono(), hard_end = t0 + (uint64_t)(hard * 1e9);
  sessions_init(conc);
  echo_port = 9; /* the permission's peer (no data is sent) */
  t_window0 = t0 + (uint64_t)(warm * 1e9);
  t_stop_starting = t_window0 + (uint64_t)(secs * 1e9);
  if (warm <= 0) window_open(t0);
  for (int i = 0; i < conc && keep_going(t0); i++)
    if (sess_open(&sess[i], t0) < 0) {
      perror("turnperf: socket");
      return 1;
    }
  while (active > 0 && mono() < hard_end) {
    pump(5);
    uint64_t now = mono();
    if (!tw0 && now >= t_window0) window_open(now);
    /* the window ends at -t, or with -n once the last allocation started has finished */
    if (tw0 && !t_window1 && now >= t_stop_starting) window_close(now);
  }
  if (!t_window1) window_close(mono());
  printf("in_flight=%d\nstarted=%llu\ncompleted=%llu\n", conc, (unsigned long long)st.started,
         (unsigned long long)st.completed);
  hist_print("cycle", &st.cycle);
  print_errors();
  if (active > 0) printf("unfinished=%d\n", active);
  return st.in_window > 0 ? 0 : 1;
}

/* ---- the UDP echo peer: every datagram back to its source. It runs in the sending loop
 * (one thread: no context switch per datagram, which on a 1-core client budget costs more than
 * the echo itself); it is the same work in the relay and in the direct runs. ---- */
static uint64_t echoed;
static void echo_once(int fd) {
  enum { B = 32 };
  static uint8_t buf[B][2048];
  struct mmsghdr mm[B];
  struct iovec iov[B];
  struct sockaddr_in from[B];
  for (int i = 0; i < B; i++) {
    iov[i] = (struct iovec){buf[i], sizeof buf[i]};
    mm[i].msg_hdr = (struct msghdr){
        .msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1};
  }
  int n = recvmmsg(fd, mm, B, MSG_DONTWAIT, NULL);
  if (n <= 0) return;
  for (int i = 0; i < n; i++) iov[i].iov_len = mm[i].msg_len;
  for (int s = 0, r; s < n; s += r)
    if ((r = sendmmsg(fd, mm + s, (unsigned)(n - s), 0)) <= 0) break;
  echoed += (uint64_t)n;
}
static int echo_open(void) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(echo_ip)};
  socklen_t al = sizeof a;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), sz = 4 << 20;
  if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) < 0 ||
      getsockname(fd, (struct sockaddr*)&a, &al) < 0) {
    perror("turnperf: echo socket");
    exit(1);
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  echo_port = ntohs(a.sin_port);
  return fd;
}

/* ---- lat mode ---- */
#define RING (1u << 21)
typedef struct {
  uint32_t magic, idx;
  uint64_t seq;
} __attribute__((packed)) lat_hdr;
#define LAT_MAGIC 0x54505246u

static int lat_setup(int n, int* fds) { /* the allocations, C at a time; fds[i] = their sockets */
  uint64_t t0 = mono(), end = t0 + (uint64_t)(hard * 1e9 / 4);
  sessions_init(n);
  int next = 0;
  while (mono() < end) {
    int ready = 0;
    for (int i = 0; i < n; i++) ready += sess[i].step == ST_READY;
    while (active - ready < conc && next < n) { /* C set-ups in flight */
      sess[next].channel = (uint16_t)(0x4000 + next % 0x1000);
      if (sess_open(&sess[next++], mono()) < 0) {
        perror("turnperf: socket");
        return -1;
      }
    }
    if (ready == n || (next == n && active == ready)) break; /* all up, or the rest failed */
    pump(5);
  }
  int ok = 1;
  for (int i = 0; i < n; i++) {
    ok &= sess[i].step == ST_READY;
    fds[i] = sess[i].fd;
  }
  printf("setup_ms=%.1f\n", (double)(mono() - t0) / 1e6);
  return ok ? 0 : -1;
}

static void lat_teardown(int n) { /* Refresh 0 for each allocation, answers checked */
  uint64_t end = mono() + (uint64_t)(timeout_ms * 2e6);
  for (int i = 0; i < n; i++)
    if (sess[i].step == ST_READY) {
      sess[i].step = ST_REFRESH;
      sess_send(&sess[i], mono());
    }
  while (active > 0 && mono() < end) pump(5);
  printf("released=%llu\n", (unsigned long long)st.completed);
}

typedef struct {
  uint64_t sent, received, dup, late, invalid, other;
  uint64_t* sendts;
  uint8_t* got;
  hist_t h;
  int kernel_ts;
} lat_stats;

static void lat_receive(lat_stats* L, int fd, int idx, uint64_t t_hist0) {
  enum { B = 16 };
  uint8_t buf[B][2048], ctl[B][64];
  struct mmsghdr mm[B];
  struct iovec iov[B];
  for (int i = 0; i < B; i++) {
    iov[i] = (struct iovec){buf[i], sizeof buf[i]};
    mm[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i],
                                    .msg_iovlen = 1,
                                    .msg_control = ctl[i],
                                    .msg_controllen = sizeof ctl[i]};
  }
  int n = recvmmsg(fd, mm, B, MSG_DONTWAIT, NULL);
  uint64_t now_rt = now_ns(CLOCK_REALTIME);
  for (int i = 0; i < n; i++) {
    const uint8_t* p = buf[i];
    size_t len = mm[i].msg_len;
    if (!direct) { /* ChannelData: channel, length, payload (padding allowed) */
      if (len < 4 || (p[0] & 0xC0) != 0x40) {
        L->other++;
        continue;
      }
      size_t dl = tm_get16(p + 2);
      if (tm_get16(p) != sess[idx].channel || dl + 4 > len || len > dl + 7) {
        L->invalid++;
        continue;
      }
      p += 4;
      len = dl;
    }
    lat_hdr h;
    if (len != (size_t)payload) {
      L->invalid++;
      continue;
    }
    memcpy(&h, p, sizeof h);
    if (h.magic != LAT_MAGIC || h.idx != (uint32_t)idx || h.seq >= L->sent) {
      L->invalid++;
      continue;
    }
    if (L->got[h.seq >> 3] & (1u << (h.seq & 7))) {
      L->dup++;
      continue;
    }
    L->got[h.seq >> 3] |= (uint8_t)(1u << (h.seq & 7));
    if (L->sent - h.seq >= RING) {
      L->late++;
      continue;
    }
    uint64_t tr = now_rt;
    struct cmsghdr* c = CMSG_FIRSTHDR(&mm[i].msg_hdr);
    for (; c; c = CMSG_NXTHDR(&mm[i].msg_hdr, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        struct timespec ts;
        memcpy(&ts, CMSG_DATA(c), sizeof ts);
        tr = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        L->kernel_ts = 1;
      }
    uint64_t ts = L->sendts[h.seq & (RING - 1)];
    L->received++;
    if (ts >= t_hist0) hist_add(&L->h, tr > ts ? tr - ts : 0);
  }
}

static int run_lat(void) {
  int n = total > 0 ? (int)total : 10;
  int echo_fd = echo_port == 0 ? echo_open() : -1;
  int *fds = calloc((size_t)n, sizeof *fds), one = 1;
  if (!fds) return 1;
  if (direct) {
    sessions_init(n);
    for (int i = 0; i < n; i++) {
      uint32_t lip;
      uint16_t lp;
      if ((fds[i] = udp_socket(echo_ip, echo_port, &lip, &lp)) < 0) {
        perror("turnperf: socket");
        return 1;
      }
    }
  } else if (lat_setup(n, fds) < 0) {
    print_errors();
    fprintf(stderr, "turnperf: not every allocation could be set up\n");
    return 1;
  }
  int lep = epoll_create1(EPOLL_CLOEXEC),
      tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  for (int i = 0; i < n; i++) {
    int sz = 1 << 20;
    setsockopt(fds[i], SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(lep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = UINT32_MAX};
  epoll_ctl(lep, EPOLL_CTL_ADD, tfd, &tev);
  struct epoll_event eev = {.events = EPOLLIN, .data.u32 = UINT32_MAX - 1};
  if (echo_fd >= 0) epoll_ctl(lep, EPOLL_CTL_ADD, echo_fd, &eev);
  uint64_t maxmsgs = (uint64_t)(rate * secs) + 1;
  lat_stats L = {.sendts = calloc(RING, sizeof(uint64_t)),
                 .got = calloc(maxmsgs / 8 + 1, 1),
                 .h.b = calloc(HIST_MAX + 1, sizeof(uint32_t))};
  if (!L.sendts || !L.got || !L.h.b) {
    perror("calloc");
    return 1;
  }
  uint8_t pkt[2048] = {0};
  size_t hdr = direct ? 0 : 4;
  uint64_t tick = (uint64_t)(tick_us * 1e3); /* one message per tick where the rate allows */
  if ((double)tick < 1e9 / rate) tick = (uint64_t)(1e9 / rate < 1e7 ? 1e9 / rate : 1e7);
  struct itimerspec its = {.it_interval = {0, (long)tick}, .it_value = {0, (long)tick}};
  prctl(PR_SET_TIMERSLACK, 1UL);
  double self0 = self_cpu_s(), cpu0 = server_pid ? proc_cpu_s(server_pid) : 0;
  double wait0 = server_pid ? proc_wait_s(server_pid) : 0;
  uint64_t t0 = mono(), t_end = t0 + (uint64_t)(secs * 1e9), drain_end = 0, send_errors = 0;
  uint64_t t_hist0 = now_ns(CLOCK_REALTIME) + (uint64_t)(warm * 1e9), t_last = t0;
  if (!busy) timerfd_settime(tfd, 0, &its, NULL);
  uint64_t next_tick = t0 + tick;
  for (;;) {
    struct epoll_event evs[128];
    int k = epoll_wait(lep, evs, 128, busy ? 0 : 10), send_now = 0;
    for (int e = 0; e < k; e++) {
      uint64_t x;
      if (evs[e].data.u32 == UINT32_MAX - 1)
        echo_once(echo_fd);
      else if (evs[e].data.u32 != UINT32_MAX)
        lat_receive(&L, fds[evs[e].data.u32], (int)evs[e].data.u32, t_hist0);
      else if (read(tfd, &x, sizeof x) > 0)
        send_now = 1;
    }
    uint64_t now = mono();
    if (busy && now >= next_tick) {
      send_now = 1;
      next_tick += tick;
    }
    if (send_now && now < t_end) {
      uint64_t due = (uint64_t)(rate * (double)(now - t0) / 1e9);
      if (due > maxmsgs) due = maxmsgs;
      while (L.sent < due) { /* round robin over the allocations */
        int i = (int)(L.sent % (uint64_t)n);
        lat_hdr h = {LAT_MAGIC, (uint32_t)i, L.sent};
        if (!direct) {
          tm_put16(pkt, sess[i].channel);
          tm_put16(pkt + 2, (uint16_t)payload);
        }
        memcpy(pkt + hdr, &h, sizeof h);
        L.sendts[L.sent & (RING - 1)] = now_ns(CLOCK_REALTIME);
        if (send(fds[i], pkt, hdr + (size_t)payload, 0) < 0) send_errors++;
        L.sent++;
      }
      t_last = now;
    }
    if (now >= t_end && !drain_end) {
      drain_end = now + (uint64_t)(timeout_ms * 1e6);
      struct itimerspec off = {{0, 0}, {0, 0}};
      timerfd_settime(tfd, 0, &off, NULL);
    }
    if (drain_end && (now >= drain_end || L.received + L.dup >= L.sent)) break;
  }
  double self1 = self_cpu_s(), span = (double)(t_last - t0) / 1e9;
  printf(
      "busy_poll=%d\nmode=%s\nallocations=%d\nrate_target=%.0f\nrate_sent=%.0f\npayload=%ld\ntick_"
      "us=%.1f\n",
      busy, direct ? "direct" : "relay", n, rate, span > 0 ? (double)L.sent / span : 0.0, payload,
      (double)tick / 1e3);
  printf(
      "sent=%llu\nreceived=%llu\nlost=%llu\nloss_pct=%.4f\nlate=%llu\ndup=%llu\ninvalid=%"
      "llu\nother=%llu\n"
      "send_errors=%llu\nkernel_ts=%d\n",
      (unsigned long long)L.sent, (unsigned long long)L.received,
      (unsigned long long)(L.sent - L.received - L.late),
      L.sent ? 100.0 * (double)(L.sent - L.received) / (double)L.sent : 0.0,
      (unsigned long long)L.late, (unsigned long long)L.dup, (unsigned long long)L.invalid,
      (unsigned long long)L.other, (unsigned long long)send_errors, L.kernel_ts);
  hist_print("rtt", &L.h);
  printf("client_cpu_pct=%.1f\n", span > 0 ? 100.0 * (self1 - self0) / span : 0.0);
  if (server_pid) {
    double cpu = proc_cpu_s(server_pid) - cpu0, w = proc_wait_s(server_pid) - wait0;
    printf("server_cpu_pct=%.1f\nserver_wait_pct=%.1f\n", span > 0 ? 100.0 * cpu / span : 0.0,
           span > 0 ? 100.0 * w / span : 0.0);
  }
  if (!direct) lat_teardown(n);
  if (echo_fd >= 0) printf("echoed=%llu\n", (unsigned long long)echoed);
  print_errors();
  return L.received > 0 ? 0 : 1;
}

static uint32_t parse_loopback(const char* s, const char* what) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127) {
    fprintf(stderr, "turnperf: %s %s is not an IPv4 loopback address (127.0.0.0/8)\n", what, s);
    exit(2);
  }
  return ntohl(a.s_addr);
}

static void usage(void) {
  fprintf(
      stderr,
      "usage: turnperf -p PORT (-W SECRET [-u NAME] | -u USER -w PASS) [-s ADDR] [-r REALM] "
      "[-L ADDR] [-A N] [-c C] [-n N] [-t SECS] [-i SECS] [-T MS] [-P PID] [-R RATE] [-l BYTES] "
      "[-k US] [-e PORT] [-D] [-b] [-H SECS] alloc|lat\n");
  exit(2);
}

int main(int argc, char** argv) {
  const char *srv = "127.0.0.1", *src = "127.0.0.2";
  int opt;
  while ((opt = getopt(argc, argv, "s:p:W:u:w:r:L:A:c:n:t:i:T:P:R:l:k:e:DbH:")) != -1) {
    switch (opt) {
      case 's':
        srv = optarg;
        break;
      case 'p':
        server_port = atoi(optarg);
        break;
      case 'W':
        secret = optarg;
        break;
      case 'u':
        name = optarg;
        break;
      case 'w':
        pass = optarg;
        break;
      case 'i':
        warm = atof(optarg);
        break;
      case 'r':
        want_realm = optarg;
        break;
      case 'L':
        src = optarg;
        break;
      case 'A':
        naddrs = atoi(optarg);
        break;
      case 'c':
        conc = atoi(optarg);
        break;
      case 'n':
        total = atol(optarg);
        break;
      case 't':
        secs = atof(optarg);
        break;
      case 'T':
        timeout_ms = atof(optarg);
        break;
      case 'P':
        server_pid = atoi(optarg);
        break;
      case 'R':
        rate = atof(optarg);
        break;
      case 'l':
        payload = atol(optarg);
        break;
      case 'k':
        tick_us = atof(optarg);
        break;
      case 'e':
        echo_port = atoi(optarg);
        break;
      case 'D':
        direct = 1;
        break;
      case 'b':
        busy = 1;
        break;
      case 'H':
        hard = atof(optarg);
        break;
      default:
        usage();
    }
  }
  if (optind != argc - 1) usage();
  lat_mode = strcmp(argv[optind], "lat") == 0;
  if (!lat_mode && strcmp(argv[optind], "alloc") != 0) usage();
  if (warm < 0) warm = lat_mode ? 0.5 : 1;
  if (timeout_ms < 0) timeout_ms = lat_mode ? 1000 : 2000;
  server_ip = parse_loopback(srv, "server");
  source_ip = parse_loopback(src, "source");
  echo_ip = parse_loopback("127.0.0.1", "echo");
  if (!direct && !secret && !pass) usage();
  if (naddrs < 1 || naddrs > 64 || ((source_ip + (uint32_t)naddrs - 1) >> 24) != 127 ||
      server_port < 1 || server_port > 65535 || conc < 1 || conc > 4096 || secs <= 0 ||
      secs > 600 || timeout_ms < 1 || timeout_ms > 30000 || hard <= 0 || hard > 3600 ||
      total > 100000000 ||
      (lat_mode &&
       (total > 4096 || rate <= 0 || rate > 1e6 || payload < (long)sizeof(lat_hdr) ||
        payload > 1400 || tick_us < 1 || echo_port < 0 || echo_port > 65535 || rate * secs > 1e8)))
    usage();
  if (secret) { /* REST credential, valid for a day */
    snprintf(user, sizeof user, "%ld:%s", (long)time(NULL) + 86400, name);
    if (tm_rest_password(secret, user, password, sizeof password)) return 1;
  } else if (!direct) {
    snprintf(user, sizeof user, "%s", name);
    snprintf(password, sizeof password, "%s", pass);
  }
  tm_crc_init();
  uint64_t t = mono();
  salt = (uint32_t)(t ^ (t >> 32) ^ ((uint64_t)getpid() << 16));
  next_source = salt % ((uint64_t)naddrs * PORT_N); /* not the last run's source ports */
  printf("test=%s\ntarget=%s:%d\nsource=%s\nauth=%s\n", lat_mode ? "lat" : "alloc", srv,
         server_port, src, secret ? "rest" : "lt");
  return lat_mode ? run_lat() : run_alloc();
}
