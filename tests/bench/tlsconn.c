/* tlsconn.c — TLS / DTLS connection load for STUN/TURN servers (server-neutral; loopback only).
 *
 * Two modes, one event loop (epoll, non-blocking OpenSSL, one process, one thread):
 *
 *   rate  C connections at a time, each: connect, full handshake (no resumption: every
 *         connection has a fresh SSL and no session), one STUN Binding request and its
 *         success response, close_notify, close; then the slot starts the next one. Runs for
 *         -t seconds (after a -w warm-up) or -N connections. Prints completed connections/s,
 *         failures, latency percentiles (connect -> Binding answer) and, with -P PID, the
 *         server's CPU time over the measured window: server CPU-ms per handshake.
 *   hold  opens -n connections (C at a time), each doing the handshake and one Binding round
 *         trip, then keeps all of them open and idle for -H seconds. With -P PID it reads the
 *         server's VmRSS / Pss (/proc/PID/status, smaps_rollup) and open fds before (after a
 *         warm-up of 20 connections, opened and closed) and after all are up and settled:
 *         KiB per idle connection.
 *
 *   tlsconn -p PORT [-s 127.0.0.1] [-u] (rate|hold) [options]
 *     -u          DTLS 1.2 over UDP instead of TLS over TCP
 *     -c C        parallel connections (rate) / opening at a time (hold)         [8]
 *     -t SECS     rate: measured duration                                        [10]
 *     -w SECS     rate: warm-up before the window (not counted)                  [1]
 *     -N COUNT    rate: stop after this many completed connections              [0 = no limit]
 *     -n N        hold: connections to hold                                      [1000]
 *     -H SECS     hold: seconds to hold them after all are up                    [3]
 *     -S SECS     hold: settle time before each RSS reading                      [1]
 *     -P PID      server process to sample (CPU, RSS, fds)
 *     -V 1.2|1.3  TLS version to offer (both min and max; DTLS: always 1.2)      [highest]
 *     -C LIST     TLS 1.2 / DTLS cipher list (SSL_CTX_set_cipher_list)
 *     -q SUITES   TLS 1.3 ciphersuites (SSL_CTX_set_ciphersuites)
 *     -g GROUPS   key exchange groups (SSL_CTX_set1_groups_list)
 *     -a ALPN     offer this ALPN protocol (e.g. stun.turn)                      [none]
 *     -T SECS     hard bound on the whole run                                    [120]
 *   Output: key=value lines (negotiated version/cipher of the first connection included).
 *
 * Every connection goes to 127.0.0.0/8 (or ::1); other addresses are refused. Exit 1 when a
 * connection failed (hold: when not all came up), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc_cpu.h"

enum { ST_FREE, ST_HANDSHAKE, ST_BINDING, ST_HELD };

typedef struct {
  int fd, state, want; /* want: EPOLLIN / EPOLLOUT registered */
  SSL* ssl;
  double t0;
  unsigned char txid[12];
  unsigned char buf[512];
  size_t got;
} conn_t;

static const char* host = "127.0.0.1";
static int port = 0, dtls = 0, conc = 8, maxn = 0, nhold = 1000;
static double dur = 10, warm = 1, hold_s = 3, settle = 1, hard = 120;
static int server_pid = 0;
static const char *version = NULL, *ciphers = NULL, *suites = NULL, *groups = NULL, *alpn = NULL;
static struct sockaddr_storage dst;
static socklen_t dstlen;
static SSL_CTX* ctx;
static int ep;
static conn_t* conns;
static int nconns;
static long ok_count, fail_count, fail_connect, fail_handshake, fail_binding;
static double* lat;
static size_t nlat, caplat;
static char first_version[32] = "", first_cipher[64] = "", first_alpn[32] = "",
            first_group[32] = "";
static volatile sig_atomic_t stop_flag;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char* msg) {
  fprintf(stderr, "tlsconn: %s\n", msg);
  exit(2);
}

static long status_kb(int pid, const char* file, const char* key) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
  FILE* f = fopen(path, "r");
  if (!f) return -1;
  long v = -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
      v = strtol(line + kl + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static long count_fds(int pid) {
  char cmd[96];
  snprintf(cmd, sizeof cmd, "ls /proc/%d/fd 2>/dev/null | wc -l", pid);
  FILE* p = popen(cmd, "r");
  if (!p) return -1;
  long n = -1;
  if (fscanf(p, "%ld", &n) != 1) n = -1;
  pclose(p);
  return n;
}

static int is_loopback(const char* a) {
  struct in_addr v4;
  struct in6_addr v6;
  if (inet_pton(AF_INET, a, &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, a, &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return 0;
}

static void set_interest(conn_t* c, int want) {
  if (c->want == want) return;
  struct epoll_event ev = {.events = (uint32_t)want, .data.ptr = c};
  if (epoll_ctl(ep, c->want ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) == 0) c->want = want;
}

/* Waits for the readiness OpenSSL asked for after a call that returned `r`; 0 when it failed. */
static int wait_for_ssl(conn_t* c, int r) {
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ) {
    set_interest(c, EPOLLIN);
    return 1;
  }
  if (e == SSL_ERROR_WANT_WRITE) {
    set_interest(c, EPOLLOUT);
    return 1;
  }
  return 0;
}

static void conn_close(conn_t* c, int graceful) {
  if (c->ssl) {
    if (graceful) SSL_shutdown(c->ssl); /* close_notify, not waiting for the peer's */
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
  if (c->fd >= 0) close(c->fd); /* also removes it from epoll */
  c->fd = -1;
  c->want = 0;
  c->state = ST_FREE;
  ERR_clear_error();
}

static void record_failure(conn_t* c, long* which) {
  ++fail_count;
  ++*which;
  if (fail_count <= 5) {
    unsigned long e = ERR_peek_error();
    char text[256] = "";
    if (e) ERR_error_string_n(e, text, sizeof text);
    fprintf(stderr, "tlsconn: connection failed in state %d: %s%s\n", c->state, text[0] ? text : "",
            errno && !text[0] ? strerror(errno) : "");
  }
  conn_close(c, 0);
}

static int conn_open(conn_t* c) {
  memset(c, 0, sizeof *c);
  c->fd = -1;
  c->t0 = now();
  int fd = socket(dst.ss_family, (dtls ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (!dtls) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  /* Blocking connect: on loopback it completes in the kernel (SYN/SYN-ACK from the listen
   * queue), independent of the server's accept. Then non-blocking for the TLS part. */
  if (connect(fd, (struct sockaddr*)&dst, dstlen) != 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  c->fd = fd;
  c->ssl = SSL_new(ctx);
  if (!c->ssl) return -1;
  if (dtls) {
    BIO* bio = BIO_new_dgram(fd, BIO_NOCLOSE);
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, &dst);
    SSL_set_bio(c->ssl, bio, bio);
  } else {
    SSL_set_fd(c->ssl, fd);
  }
  SSL_set_connect_state(c->ssl);
  c->state = ST_HANDSHAKE;
  return 0;
}

static void send_binding(conn_t* c) {
  unsigned char req[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
  RAND_bytes(c->txid, sizeof c->txid);
  memcpy(req + 8, c->txid, 12);
  int n = SSL_write(c->ssl, req, sizeof req); /* 20 bytes: never partial on an idle socket */
  if (n != (int)sizeof req) {
    record_failure(c, &fail_binding);
    return;
  }
  c->state = ST_BINDING;
  c->got = 0;
}

/* Completed connection (rate: closed and counted; hold: kept). */
static void on_done(conn_t* c, int rate_mode, int counting) {
  if (!first_version[0]) {
    snprintf(first_version, sizeof first_version, "%s", SSL_get_version(c->ssl));
    snprintf(first_cipher, sizeof first_cipher, "%s", SSL_get_cipher_name(c->ssl));
    const unsigned char* p;
    unsigned l;
    SSL_get0_alpn_selected(c->ssl, &p, &l);
    snprintf(first_alpn, sizeof first_alpn, "%.*s", (int)l, p ? (const char*)p : "");
    int nid = SSL_get_negotiated_group(c->ssl);
    const char* g = nid > 0 ? OBJ_nid2sn(nid) : NULL;
    snprintf(first_group, sizeof first_group, "%s", g ? g : "");
  }
  if (counting) {
    ++ok_count;
    if (nlat == caplat) {
      caplat = caplat ? caplat * 2 : 4096;
      lat = realloc(lat, caplat * sizeof *lat);
      if (!lat) die("out of memory");
    }
    lat[nlat++] = now() - c->t0;
  }
  if (rate_mode) {
    conn_close(c, 1);
  } else {
    c->state = ST_HELD;
    set_interest(c, EPOLLIN); /* an EOF from the server shows as a readable socket */
  }
}

/* Drives one connection as far as it goes; returns when it must wait. */
static void drive(conn_t* c, int rate_mode, int counting) {
  for (;;) {
    if (c->state == ST_HANDSHAKE) {
      int r = SSL_do_handshake(c->ssl);
      if (r == 1) {
        send_binding(c);
        if (c->state == ST_FREE) return;
        continue;
      }
      if (!wait_for_ssl(c, r)) record_failure(c, &fail_handshake);
      return;
    }
    if (c->state == ST_BINDING) {
      int r = SSL_read(c->ssl, c->buf + c->got, (int)(sizeof c->buf - c->got));
      if (r > 0) {
        c->got += (size_t)r;
        if (c->got < 20) continue;
        size_t len = 20 + ((size_t)c->buf[2] << 8 | c->buf[3]);
        if (len > sizeof c->buf) {
          record_failure(c, &fail_binding);
          return;
        }
        if (c->got < len) continue;
        if (c->buf[0] != 0x01 || c->buf[1] != 0x01 || memcmp(c->buf + 8, c->txid, 12) != 0) {
          record_failure(c, &fail_binding);
          return;
        }
        on_done(c, rate_mode, counting);
        return;
      }
      if (!wait_for_ssl(c, r)) record_failure(c, &fail_binding);
      return;
    }
    if (c->state == ST_HELD) {
      /* Anything readable while idle: the server closed it (or sent something). */
      unsigned char tmp[256];
      int r = SSL_read(c->ssl, tmp, sizeof tmp);
      if (r > 0) continue; /* e.g. a TLS 1.3 NewSessionTicket is consumed inside; data: ignore */
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      ++fail_count;
      ++fail_binding;
      if (fail_count <= 5) fprintf(stderr, "tlsconn: a held connection was closed by the server\n");
      conn_close(c, 0);
      return;
    }
    return;
  }
}

static int start_conn(conn_t* c, int rate_mode, int counting) {
  if (conn_open(c) != 0) {
    ++fail_count;
    ++fail_connect;
    if (fail_count <= 5) fprintf(stderr, "tlsconn: connect: %s\n", strerror(errno));
    conn_close(c, 0);
    return -1;
  }
  drive(c, rate_mode, counting);
  return 0;
}

static void dtls_timers(void) {
  if (!dtls) return;
  for (int i = 0; i < nconns; ++i)
    if (conns[i].state == ST_HANDSHAKE && conns[i].ssl) {
      if (DTLSv1_handle_timeout(conns[i].ssl) < 0) record_failure(&conns[i], &fail_handshake);
    }
}

/* One pass of the event loop: wait up to `ms`, drive what is ready. */
static void poll_once(int ms, int rate_mode, int counting) {
  struct epoll_event evs[256];
  int n = epoll_wait(ep, evs, 256, ms);
  for (int i = 0; i < n; ++i) {
    conn_t* c = evs[i].data.ptr;
    if (c->state != ST_FREE) drive(c, rate_mode, counting);
  }
  dtls_timers();
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static double pct(double p) {
  if (!nlat) return 0;
  size_t i = (size_t)(p / 100.0 * (nlat - 1) + 0.5);
  return lat[i];
}

static void print_common(void) {
  printf("transport=%s\n", dtls ? "dtls" : "tls");
  printf("negotiated_version=%s\nnegotiated_cipher=%s\nnegotiated_group=%s\nnegotiated_alpn=%s\n",
         first_version, first_cipher, first_group, first_alpn);
}

static int run_rate(void) {
  nconns = conc;
  conns = calloc((size_t)nconns, sizeof *conns);
  for (int i = 0; i < nconns; ++i) conns[i].fd = -1, conns[i].state = ST_FREE;
  long clk = sysconf(_SC_CLK_TCK);
  double t_start = now(), t_meas = t_start + warm, t_end = t_meas + dur, t_hard = t_start + hard;
  int counting = 0;
  long cpu0 = -1, cpu1 = -1;
  double t0 = 0, t1 = 0;
  while (!stop_flag) {
    double t = now();
    if (!counting && t >= t_meas) {
      counting = 1;
      ok_count = fail_count = fail_connect = fail_handshake = fail_binding = 0;
      nlat = 0;
      t0 = t;
      if (server_pid) cpu0 = proc_cpu_ticks(server_pid);
    }
    if (counting && (t >= t_end || (maxn && ok_count >= maxn))) break;
    if (t >= t_hard) break;
    for (int i = 0; i < nconns; ++i)
      if (conns[i].state == ST_FREE) start_conn(&conns[i], 1, counting);
    poll_once(20, 1, counting);
  }
  t1 = now();
  if (server_pid) cpu1 = proc_cpu_ticks(server_pid);
  for (int i = 0; i < nconns; ++i)
    if (conns[i].state != ST_FREE) conn_close(&conns[i], 0);
  double win = t1 - t0;
  qsort(lat, nlat, sizeof *lat, cmp_double);
  printf("mode=rate\n");
  print_common();
  printf(
      "parallel=%d\nwindow_s=%.2f\nconnections=%ld\nfailures=%ld\nfail_connect=%ld\n"
      "fail_handshake=%ld\nfail_binding=%ld\n",
      conc, win, ok_count, fail_count, fail_connect, fail_handshake, fail_binding);
  printf("handshakes_per_s=%.1f\n", win > 0 ? ok_count / win : 0);
  printf("latency_p50_ms=%.3f\nlatency_p99_ms=%.3f\n", pct(50) * 1e3, pct(99) * 1e3);
  if (server_pid && cpu0 >= 0 && cpu1 >= 0) {
    double cpu_s = (double)(cpu1 - cpu0) / clk;
    printf("server_cpu_s=%.2f\nserver_cpu_pct=%.1f\n", cpu_s, win > 0 ? 100 * cpu_s / win : 0);
    if (ok_count) printf("server_cpu_ms_per_handshake=%.4f\n", 1e3 * cpu_s / ok_count);
    if (cpu_s > 0) printf("handshakes_per_server_cpu_s=%.1f\n", ok_count / cpu_s);
  }
  return fail_count ? 1 : 0;
}

static void snapshot(const char* tag) {
  if (!server_pid) return;
  printf("server_rss_kb_%s=%ld\n", tag, status_kb(server_pid, "status", "VmRSS"));
  printf("server_pss_kb_%s=%ld\n", tag, status_kb(server_pid, "smaps_rollup", "Pss"));
  printf("server_fds_%s=%ld\n", tag, count_fds(server_pid));
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static int run_hold(void) {
  /* Warm-up: 20 connections opened and closed, so that one-time allocations of the server's
   * first handshakes (OpenSSL providers, error strings, pools) are in the "before" figure. */
  nconns = 20;
  conns = calloc((size_t)(nhold > 20 ? nhold : 20), sizeof *conns);
  for (int i = 0; i < 20; ++i) conns[i].fd = -1;
  for (int i = 0; i < 20; ++i) start_conn(&conns[i], 1, 0);
  double t_hard = now() + hard;
  for (;;) {
    int busy = 0;
    for (int i = 0; i < 20; ++i) busy += conns[i].state != ST_FREE;
    if (!busy || now() > t_hard) break;
    poll_once(20, 1, 0);
  }
  long warm_failures = fail_count;
  fail_count = fail_connect = fail_handshake = fail_binding = 0;
  sleep_s(settle);
  printf("mode=hold\n");
  snapshot("before");
  /* Open nhold connections, at most conc handshaking at a time. */
  nconns = nhold;
  for (int i = 0; i < nhold; ++i) conns[i].fd = -1, conns[i].state = ST_FREE;
  double t0 = now();
  int next = 0;
  while (!stop_flag && now() < t_hard) {
    int opening = 0, held = 0;
    for (int i = 0; i < next; ++i) {
      opening += conns[i].state == ST_HANDSHAKE || conns[i].state == ST_BINDING;
      held += conns[i].state == ST_HELD;
    }
    while (next < nhold && opening < conc) {
      if (start_conn(&conns[next], 0, 1) == 0 && conns[next].state != ST_HELD) ++opening;
      ++next;
    }
    if (next >= nhold && opening == 0) break;
    poll_once(20, 0, 1);
  }
  double t_up = now() - t0;
  int held = 0;
  for (int i = 0; i < nhold; ++i) held += conns[i].state == ST_HELD;
  print_common();
  printf("warmup_failures=%ld\nrequested=%d\nheld=%d\nopen_s=%.2f\nopen_per_s=%.1f\n",
         warm_failures, nhold, held, t_up, t_up > 0 ? held / t_up : 0);
  /* Settle, keep serving events (e.g. tickets, closes), then read the server. */
  double t_settle = now() + settle;
  while (now() < t_settle) poll_once(50, 0, 0);
  snapshot("held");
  double t_hold = now() + (hold_s > settle ? hold_s - settle : 0);
  while (!stop_flag && now() < t_hold && now() < t_hard) poll_once(50, 0, 0);
  held = 0;
  for (int i = 0; i < nhold; ++i) held += conns[i].state == ST_HELD;
  printf("held_at_end=%d\nfailures=%ld\nfail_connect=%ld\nfail_handshake=%ld\nfail_binding=%ld\n",
         held, fail_count, fail_connect, fail_handshake, fail_binding);
  fflush(stdout);
  for (int i = 0; i < nhold; ++i)
    if (conns[i].state != ST_FREE) conn_close(&conns[i], 1);
  return held == nhold ? 0 : 1;
}

static void on_signal(int s) {
  (void)s;
  stop_flag = 1;
}

int main(int argc, char** argv) {
  int o;
  while ((o = getopt(argc, argv, "s:p:uc:t:w:N:n:H:S:P:V:C:q:g:a:T:")) != -1) {
    switch (o) {
      case 's':
        host = optarg;
        break;
      case 'p':
        port = atoi(optarg);
        break;
      case 'u':
        dtls = 1;
        break;
      case 'c':
        conc = atoi(optarg);
        break;
      case 't':
        dur = atof(optarg);
        break;
      case 'w':
        warm = atof(optarg);
        break;
      case 'N':
        maxn = atoi(optarg);
        break;
      case 'n':
        nhold = atoi(optarg);
        break;
      case 'H':
        hold_s = atof(optarg);
        break;
      case 'S':
        settle = atof(optarg);
        break;
      case 'P':
        server_pid = atoi(optarg);
        break;
      case 'V':
        version = optarg;
        break;
      case 'C':
        ciphers = optarg;
        break;
      case 'q':
        suites = optarg;
        break;
      case 'g':
        groups = optarg;
        break;
      case 'a':
        alpn = optarg;
        break;
      case 'T':
        hard = atof(optarg);
        break;
      default:
        die("usage: tlsconn -p PORT [-s ADDR] [-u] rate|hold [options] (see the source)");
    }
  }
  if (optind != argc - 1) die("usage: tlsconn -p PORT [-s ADDR] [-u] rate|hold [options]");
  const char* mode = argv[optind];
  if (port <= 0 || port > 65535) die("-p PORT required");
  if (!is_loopback(host)) die("loopback addresses only (127.0.0.0/8, ::1)");
  if (conc < 1 || conc > 10000 || nhold < 1 || nhold > 100000 || dur <= 0 || dur > 600 ||
      hard > 1800)
    die("option out of range");
  memset(&dst, 0, sizeof dst);
  if (strchr(host, ':')) {
    struct sockaddr_in6* a = (struct sockaddr_in6*)&dst;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, host, &a->sin6_addr);
    dstlen = sizeof *a;
  } else {
    struct sockaddr_in* a = (struct sockaddr_in*)&dst;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, host, &a->sin_addr);
    dstlen = sizeof *a;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  ctx = SSL_CTX_new(dtls ? DTLS_client_method() : TLS_client_method());
  if (!ctx) die("SSL_CTX_new failed");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* a benchmark: the server's self-signed cert */
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* every handshake is a full one */
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (dtls) {
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  } else if (version) {
    int v = strcmp(version, "1.3") == 0   ? TLS1_3_VERSION
            : strcmp(version, "1.2") == 0 ? TLS1_2_VERSION
                                          : 0;
    if (!v) die("-V must be 1.2 or 1.3");
    SSL_CTX_set_min_proto_version(ctx, v);
    SSL_CTX_set_max_proto_version(ctx, v);
  }
  if (ciphers && SSL_CTX_set_cipher_list(ctx, ciphers) != 1) die("bad -C cipher list");
  if (suites && SSL_CTX_set_ciphersuites(ctx, suites) != 1) die("bad -q ciphersuites");
  if (groups && SSL_CTX_set1_groups_list(ctx, groups) != 1) die("bad -g groups");
  if (alpn) {
    size_t l = strlen(alpn);
    if (l == 0 || l > 255) die("bad -a");
    unsigned char wire[256];
    wire[0] = (unsigned char)l;
    memcpy(wire + 1, alpn, l);
    SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)(l + 1));
  }
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1 failed");
  int rc;
  if (strcmp(mode, "rate") == 0)
    rc = run_rate();
  else if (strcmp(mode, "hold") == 0)
    rc = run_hold();
  else
    die("mode must be rate or hold");
  fflush(stdout);
  return rc;
}
