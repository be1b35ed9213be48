/* quickalloc.c — throw-away allocation load used to profile turnd's allocation path
 * (issue 13); tests/bench has the real client. K sessions in parallel, each on a fresh UDP
 * socket (a new source port per allocation, so no 437), each doing the full long-term
 * credential exchange: Allocate -> 401 -> Allocate + MESSAGE-INTEGRITY -> CreatePermission
 * -> Refresh LIFETIME 0. Bounded: stops after N allocations or T seconds.
 *   quickalloc IP PORT USER PASS K N T      prints "ok N fail N secs S rate R"
 * With QA_SECRET in the environment, USER is a REST user id: the username is
 * "<now + 1 h>:USER" and the password base64(HMAC-SHA1(QA_SECRET, username)); PASS is ignored.
 * Build: cc -O2 -o quickalloc quickalloc.c -lcrypto */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { S_ALLOC0, S_ALLOC1, S_PERM, S_REFRESH };
struct sess {
  int fd, state, tries;
  uint8_t tid[12];
  char realm[128], nonce[128];
  double sent;
  uint8_t key[16];
};
static struct sockaddr_in srv;
static const char *user, *pass;
static long ok, fail;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static size_t attr(uint8_t *m, size_t off, uint16_t type, const void *v, uint16_t len) {
  m[off] = type >> 8, m[off + 1] = type, m[off + 2] = len >> 8, m[off + 3] = len;
  memcpy(m + off + 4, v, len);
  size_t n = off + 4 + len;
  while (n % 4) m[n++] = 0;
  return n;
}
static void send_req(struct sess *s) {
  static const uint16_t types[] = {0x0003, 0x0003, 0x0008, 0x0004};
  uint8_t m[512];
  uint16_t t = types[s->state];
  for (int i = 0; i < 12; ++i) s->tid[i] = (uint8_t)rand();
  m[0] = t >> 8, m[1] = t, m[4] = 0x21, m[5] = 0x12, m[6] = 0xA4, m[7] = 0x42;
  memcpy(m + 8, s->tid, 12);
  size_t n = 20;
  if (s->state <= S_ALLOC1) n = attr(m, n, 0x0019, "\x11\0\0\0", 4);
  if (s->state == S_PERM) {
    uint8_t p[8] = {0, 1, 0 ^ 0x21, 9 ^ 0x12, 127 ^ 0x21, 0 ^ 0x12, 0 ^ 0xA4, 1 ^ 0x42};
    n = attr(m, n, 0x0012, p, 8);
  }
  if (s->state == S_REFRESH) n = attr(m, n, 0x000D, "\0\0\0\0", 4);
  if (s->state != S_ALLOC0) {
    n = attr(m, n, 0x0006, user, (uint16_t)strlen(user));
    n = attr(m, n, 0x0014, s->realm, (uint16_t)strlen(s->realm));
    n = attr(m, n, 0x0015, s->nonce, (uint16_t)strlen(s->nonce));
    size_t len = n - 20 + 24;
    m[2] = len >> 8, m[3] = len;
    unsigned hl = 0;
    uint8_t mac[20];
    HMAC(EVP_sha1(), s->key, 16, m, n, mac, &hl);
    n = attr(m, n, 0x0008, mac, 20);
  }
  m[2] = (n - 20) >> 8, m[3] = (n - 20);
  send(s->fd, m, n, 0);
  s->sent = now();
}
static int open_sess(struct sess *s, int ep) {
  /* A source address never used before in this run (servers may keep a deallocated 5-tuple
   * for a while): 127.0.0.2.. x ports 20000..49999. */
  static unsigned next_src;
  s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (s->fd < 0) return -1;
  for (int tries = 0; tries < 100; ++tries) {
    unsigned i = next_src++;
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(20000 + i % 30000))};
    src.sin_addr.s_addr = htonl(0x7f000002u + (i / 30000) % 250);
    if (bind(s->fd, (struct sockaddr *)&src, sizeof src) == 0) break;
  }
  if (connect(s->fd, (struct sockaddr *)&srv, sizeof srv) != 0) {
    close(s->fd);
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
  s->state = S_ALLOC0, s->tries = 0;
  send_req(s);
  return 0;
}
static void get_text(const uint8_t *v, uint16_t len, char *out) {
  if (len > 127) len = 127;
  memcpy(out, v, len);
  out[len] = 0;
}
/* 1: advance, 0: ignore, -1: failed session */
static int on_reply(struct sess *s, const uint8_t *m, ssize_t n) {
  if (n < 20 || memcmp(m + 8, s->tid, 12) != 0) return 0;
  uint16_t type = (uint16_t)(m[0] << 8 | m[1]);
  int err = 0;
  for (ssize_t off = 20; off + 4 <= n;) {
    uint16_t at = (uint16_t)(m[off] << 8 | m[off + 1]), al = (uint16_t)(m[off + 2] << 8 | m[off + 3]);
    if (off + 4 + al > n) break;
    const uint8_t *v = m + off + 4;
    if (at == 0x0009 && al >= 4) err = v[2] * 100 + v[3];
    if (at == 0x0014) get_text(v, al, s->realm);
    if (at == 0x0015) get_text(v, al, s->nonce);
    off += 4 + ((al + 3) & ~3);
  }
  if (type & 0x0010) {
    if ((s->state == S_ALLOC0 && err == 401) || err == 438) {
      char in[512];
      snprintf(in, sizeof in, "%s:%s:%s", user, s->realm, pass);
      unsigned kl = 0;
      EVP_Digest(in, strlen(in), s->key, &kl, EVP_md5(), NULL);
      if (s->state == S_ALLOC0) s->state = S_ALLOC1;
      return 1;
    }
    fprintf(stderr, "error %d in state %d\n", err, s->state);
    return -1;
  }
  if (s->state == S_ALLOC0) return -1;
  s->state++;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: quickalloc IP PORT USER PASS K N T\n");
    return 2;
  }
  srv.sin_family = AF_INET;
  inet_pton(AF_INET, argv[1], &srv.sin_addr);
  srv.sin_port = htons((uint16_t)atoi(argv[2]));
  user = argv[3], pass = argv[4];
  static char rest_user[256], rest_pass[64];
  const char *secret = getenv("QA_SECRET");
  if (secret) {
    snprintf(rest_user, sizeof rest_user, "%ld:%s", (long)time(NULL) + 3600, user);
    unsigned char mac[20];
    unsigned ml = 0;
    HMAC(EVP_sha1(), secret, (int)strlen(secret), (unsigned char *)rest_user, strlen(rest_user), mac, &ml);
    EVP_EncodeBlock((unsigned char *)rest_pass, mac, (int)ml);
    user = rest_user, pass = rest_pass;
  }
  int k = atoi(argv[5]);
  long total = atol(argv[6]), started = 0;
  double limit = atof(argv[7]), t0 = now();
  srand((unsigned)getpid());
  struct sess *ss = calloc((size_t)k, sizeof *ss);
  int ep = epoll_create1(0);
  for (int i = 0; i < k && started < total; ++i, ++started) open_sess(&ss[i], ep);
  int active = (int)started;
  struct epoll_event evs[256];
  double last_check = now();
  while (active > 0 && now() - t0 < limit) {
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; ++i) {
      struct sess *s = evs[i].data.ptr;
      uint8_t buf[1500];
      ssize_t r;
      while ((r = recv(s->fd, buf, sizeof buf, 0)) > 0) {
        int v = on_reply(s, buf, r);
        if (v == 0) continue;
        int done = v < 0 || s->state > S_REFRESH;
        if (v > 0 && !done) {
          send_req(s);
          continue;
        }
        if (v > 0) ++ok; else ++fail;
        close(s->fd);
        if (started < total && open_sess(s, ep) == 0) ++started; else --active, s->fd = -1;
        break;
      }
    }
    if (now() - last_check > 0.2) {  // retransmit after 0.5 s, give up after 4 tries
      last_check = now();
      for (int i = 0; i < k; ++i) {
        struct sess *s = &ss[i];
        if (s->fd < 0 || now() - s->sent < 0.5) continue;
        if (++s->tries < 4) { send_req(s); continue; }
        ++fail;
        close(s->fd);
        if (started < total && open_sess(s, ep) == 0) ++started; else --active, s->fd = -1;
      }
    }
  }
  double secs = now() - t0;
  printf("ok %ld fail %ld secs %.3f rate %.1f\n", ok, fail, secs, ok / secs);
  return 0;
}
