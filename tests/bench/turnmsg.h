/* turnmsg.h — the STUN/TURN message code of tests/bench/turnperf.c (header only, static
 * functions): building requests with long-term credentials (USERNAME, REALM, NONCE,
 * MESSAGE-INTEGRITY HMAC-SHA1, FINGERPRINT), checking answers (header, transaction ID,
 * attribute bounds, FINGERPRINT, MESSAGE-INTEGRITY), reading the attributes a client needs
 * (ERROR-CODE, REALM, NONCE, XOR-*-ADDRESS, LIFETIME) and the TURN REST credential.
 * RFC 8489 (STUN), RFC 8656 (TURN), draft-uberti-behave-turn-rest (REST credential).
 * Kept apart from the load logic so that a second client can share it. IPv4 only. */
#ifndef TURNMSG_H
#define TURNMSG_H

#include <arpa/inet.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TM_MAGIC 0x2112A442u
#define TM_MAX 1500

enum { /* methods */ TM_ALLOCATE = 0x003,
       TM_REFRESH = 0x004,
       TM_CREATE_PERMISSION = 0x008,
       TM_CHANNEL_BIND = 0x009 };
enum { /* attributes */ TA_USERNAME = 0x0006,
       TA_MI = 0x0008,
       TA_ERROR_CODE = 0x0009,
       TA_CHANNEL_NUMBER = 0x000C,
       TA_LIFETIME = 0x000D,
       TA_XOR_PEER = 0x0012,
       TA_REALM = 0x0014,
       TA_NONCE = 0x0015,
       TA_XOR_RELAYED = 0x0016,
       TA_REQ_TRANSPORT = 0x0019,
       TA_XOR_MAPPED = 0x0020,
       TA_FINGERPRINT = 0x8028 };

static inline uint16_t tm_get16(const uint8_t* p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t tm_get32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void tm_put16(uint8_t* p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void tm_put32(uint8_t* p, uint32_t v) {
  tm_put16(p, (uint16_t)(v >> 16));
  tm_put16(p + 2, (uint16_t)v);
}

/* ---- CRC-32 for FINGERPRINT ---- */
static uint32_t tm_crc_table[256];
static void tm_crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    tm_crc_table[i] = c;
  }
}
static uint32_t tm_fingerprint(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = tm_crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return (c ^ 0xFFFFFFFFu) ^ 0x5354554Eu;
}

/* ---- HMAC-SHA1 with one key: the MAC context is set up once and re-initialised per message
 * (EVP_MAC_init with a NULL key keeps the key), which is much cheaper than HMAC() per call. */
typedef struct {
  EVP_MAC_CTX* ctx;
  uint8_t key[16];
  int ready;
} tm_key;

/* key = MD5(username ":" realm ":" password), RFC 8489 section 9.2.2 */
static int tm_key_init(tm_key* k, const char* user, const char* realm, const char* pass) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf, "%s:%s:%s", user, realm, pass);
  unsigned int len = 0;
  if (n <= 0 || (size_t)n >= sizeof buf) return -1;
  if (!EVP_Digest(buf, (size_t)n, k->key, &len, EVP_md5(), NULL) || len != 16) return -1;
  EVP_MAC* mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!mac) return -1;
  k->ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0),
                         OSSL_PARAM_construct_end()};
  if (!k->ctx || !EVP_MAC_init(k->ctx, k->key, sizeof k->key, params)) return -1;
  k->ready = 1;
  return 0;
}
static void tm_hmac(tm_key* k, const uint8_t* p, size_t n, uint8_t out[20]) {
  size_t len = 0;
  EVP_MAC_init(k->ctx, NULL, 0, NULL);
  EVP_MAC_update(k->ctx, p, n);
  EVP_MAC_final(k->ctx, out, &len, 20);
}

/* TURN REST credential: username "<expiry>:<name>", password base64(HMAC-SHA1(secret, user)) */
static int tm_rest_password(const char* secret, const char* user, char* out, size_t outlen) {
  uint8_t mac[20];
  unsigned int mlen = 0;
  if (!HMAC(EVP_sha1(), secret, (int)strlen(secret), (const uint8_t*)user, strlen(user), mac,
            &mlen))
    return -1;
  if (outlen < 29) return -1;
  EVP_EncodeBlock((uint8_t*)out, mac, (int)mlen);
  return 0;
}

/* ---- building a request ---- */
typedef struct {
  uint8_t b[TM_MAX];
  size_t n;
} tm_msg;

static void tm_begin(tm_msg* m, uint16_t method, const uint8_t tid[12]) {
  tm_put16(m->b, method); /* request class: the class bits are 0 */
  tm_put16(m->b + 2, 0);
  tm_put32(m->b + 4, TM_MAGIC);
  memcpy(m->b + 8, tid, 12);
  m->n = 20;
}
static void tm_attr(tm_msg* m, uint16_t type, const void* v, size_t len) {
  tm_put16(m->b + m->n, type);
  tm_put16(m->b + m->n + 2, (uint16_t)len);
  memcpy(m->b + m->n + 4, v, len);
  m->n += 4 + len;
  while (m->n & 3) m->b[m->n++] = 0;
}
static void tm_attr32(tm_msg* m, uint16_t type, uint32_t v) {
  uint8_t b[4];
  tm_put32(b, v);
  tm_attr(m, type, b, 4);
}
/* XOR-PEER-ADDRESS and friends (IPv4; addr and port in host order) */
static void tm_attr_xaddr(tm_msg* m, uint16_t type, uint32_t addr, uint16_t port) {
  uint8_t b[8] = {0, 1};
  tm_put16(b + 2, (uint16_t)(port ^ (TM_MAGIC >> 16)));
  tm_put32(b + 4, addr ^ TM_MAGIC);
  tm_attr(m, type, b, 8);
}
/* USERNAME, REALM, NONCE, MESSAGE-INTEGRITY (key k) */
static void tm_auth(tm_msg* m, const char* user, const char* realm, const uint8_t* nonce,
                    size_t nlen, tm_key* k) {
  tm_attr(m, TA_USERNAME, user, strlen(user));
  tm_attr(m, TA_REALM, realm, strlen(realm));
  tm_attr(m, TA_NONCE, nonce, nlen);
  tm_put16(m->b + 2, (uint16_t)(m->n + 24 - 20)); /* the length covers MI itself */
  uint8_t mac[20];
  tm_hmac(k, m->b, m->n, mac);
  tm_attr(m, TA_MI, mac, 20);
}
static size_t tm_finish(tm_msg* m) {
  tm_put16(m->b + 2, (uint16_t)(m->n + 8 - 20));
  tm_attr32(m, TA_FINGERPRINT, tm_fingerprint(m->b, m->n));
  return m->n;
}

/* ---- reading an answer ---- */
enum {
  TM_OK = 0,
  TM_BAD_HEADER,
  TM_BAD_TID,
  TM_BAD_METHOD,
  TM_BAD_ATTR,
  TM_BAD_FINGERPRINT,
  TM_BAD_INTEGRITY,
  TM_NO_INTEGRITY
};

typedef struct {
  const uint8_t* p;
  size_t n;
  int is_error; /* error response class */
  int code;     /* ERROR-CODE: class * 100 + number, 0 if absent */
  const uint8_t *realm, *nonce;
  size_t realm_len, nonce_len;
  size_t mi_off; /* offset of the MESSAGE-INTEGRITY attribute, 0 if absent */
  int has_relayed, has_mapped, has_lifetime;
  uint32_t relayed_addr, mapped_addr, lifetime;
  uint16_t relayed_port, mapped_port;
} tm_answer;

static void tm_xaddr(const uint8_t* v, size_t len, uint32_t* addr, uint16_t* port, int* ok) {
  if (len != 8 || v[1] != 1) return; /* IPv4 only */
  *port = (uint16_t)(tm_get16(v + 2) ^ (TM_MAGIC >> 16));
  *addr = tm_get32(v + 4) ^ TM_MAGIC;
  *ok = 1;
}

/* Parse and check an answer to the request (method, tid): a success or error response of that
 * method and transaction, attributes within bounds, FINGERPRINT (if present) last and right. */
static int tm_parse(tm_answer* a, const uint8_t* p, size_t n, uint16_t method,
                    const uint8_t tid[12]) {
  memset(a, 0, sizeof *a);
  a->p = p;
  a->n = n;
  if (n < 20 || (p[0] & 0xC0) || tm_get32(p + 4) != TM_MAGIC || (size_t)tm_get16(p + 2) + 20 != n ||
      (n & 3))
    return TM_BAD_HEADER;
  if (memcmp(p + 8, tid, 12) != 0) return TM_BAD_TID;
  uint16_t type = tm_get16(p);
  uint16_t m = (uint16_t)((type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  uint16_t cls = (uint16_t)(((type >> 4) & 1) | ((type >> 7) & 2));
  if (m != method || cls < 2) return TM_BAD_METHOD;
  a->is_error = cls == 3;
  for (size_t off = 20; off < n;) {
    if (off + 4 > n) return TM_BAD_ATTR;
    uint16_t at = tm_get16(p + off), al = tm_get16(p + off + 2);
    const uint8_t* v = p + off + 4;
    if (off + 4 + al > n) return TM_BAD_ATTR;
    switch (at) {
      case TA_ERROR_CODE:
        if (al < 4) return TM_BAD_ATTR;
        a->code = (v[2] & 7) * 100 + v[3];
        break;
      case TA_REALM:
        a->realm = v;
        a->realm_len = al;
        break;
      case TA_NONCE:
        a->nonce = v;
        a->nonce_len = al;
        break;
      case TA_MI:
        if (al != 20) return TM_BAD_ATTR;
        a->mi_off = off;
        break;
      case TA_XOR_RELAYED:
        tm_xaddr(v, al, &a->relayed_addr, &a->relayed_port, &a->has_relayed);
        break;
      case TA_XOR_MAPPED:
        tm_xaddr(v, al, &a->mapped_addr, &a->mapped_port, &a->has_mapped);
        break;
      case TA_LIFETIME:
        if (al != 4) return TM_BAD_ATTR;
        a->lifetime = tm_get32(v);
        a->has_lifetime = 1;
        break;
      case TA_FINGERPRINT:
        if (al != 4 || off + 8 != n || tm_get32(v) != tm_fingerprint(p, off))
          return TM_BAD_FINGERPRINT;
        break;
    }
    off += 4 + (((size_t)al + 3) & ~(size_t)3);
  }
  if (a->is_error && !a->code) return TM_BAD_ATTR;
  return TM_OK;
}

/* MESSAGE-INTEGRITY of a parsed answer: HMAC over the message up to MI, with the header length
 * field as if MI were the last attribute. The answer's buffer is modified and restored. */
static int tm_check_integrity(tm_answer* a, tm_key* k) {
  if (!a->mi_off) return TM_NO_INTEGRITY;
  uint8_t *p = (uint8_t*)a->p, mac[20], saved[2];
  memcpy(saved, p + 2, 2);
  tm_put16(p + 2, (uint16_t)(a->mi_off + 24 - 20));
  tm_hmac(k, p, a->mi_off, mac);
  memcpy(p + 2, saved, 2);
  return CRYPTO_memcmp(mac, p + a->mi_off + 4, 20) == 0 ? TM_OK : TM_BAD_INTEGRITY;
}

static const char* tm_error_name(int e) {
  static const char* names[] = {"ok",       "bad_header",      "bad_tid",       "bad_method",
                                "bad_attr", "bad_fingerprint", "bad_integrity", "no_integrity"};
  return e >= 0 && e <= TM_NO_INTEGRITY ? names[e] : "?";
}

#endif
