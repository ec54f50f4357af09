#include "signaling/token.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "rtp/error.h"

#define MIN_SECRET 16
#define MAC_HEX    64

static const char *const role_names[] = {"presenter", "participant", "viewer"};

const char *cq_token_role_name(cq_role_t role) {
    return (unsigned)role < 3 ? role_names[role] : "unknown";
}

int cq_token_role_parse(const char *name, cq_role_t *out) {
    for (unsigned i = 0; i < 3; i++)
        if (strcmp(name, role_names[i]) == 0) {
            *out = (cq_role_t)i;
            return 0;
        }
    return CQ_EINVAL;
}

static void to_hex(const uint8_t *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The MAC of payload [p, p + len) in hex. */
static int mac_hex(const uint8_t *secret, size_t secret_len, const char *p, size_t len,
                   char out[MAC_HEX + 1]) {
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    if (HMAC(EVP_sha256(), secret, (int)secret_len, (const uint8_t *)p, len, mac, &mac_len) ==
            NULL ||
        mac_len != MAC_HEX / 2)
        return CQ_ECRYPTO;
    to_hex(mac, mac_len, out);
    return 0;
}

int cq_token_issue(const uint8_t *secret, size_t secret_len, cq_token_claims_t *c, char *out,
                   size_t cap) {
    if (secret_len < MIN_SECRET || c->session_id <= 0 || c->telecentre_id <= 0 ||
        (unsigned)c->role > CQ_ROLE_VIEWER || c->expires_s < 0 || cap < CQ_TOKEN_MAX + 1)
        return CQ_EINVAL;
    uint8_t nonce[8];
    if (RAND_bytes(nonce, sizeof nonce) != 1)
        return CQ_ECRYPTO;
    to_hex(nonce, sizeof nonce, c->nonce);
    int n = snprintf(out, cap, "cq1-%" PRId64 "-%" PRId64 "-%s-%" PRId64 "-%s", c->session_id,
                     c->telecentre_id, role_names[c->role], c->expires_s, c->nonce);
    if (n < 0 || (size_t)n + 1 + MAC_HEX > CQ_TOKEN_MAX)
        return CQ_EINVAL;
    char mac[MAC_HEX + 1];
    int err = mac_hex(secret, secret_len, out, (size_t)n, mac);
    if (err != 0)
        return err;
    out[n] = '.';
    memcpy(out + n + 1, mac, MAC_HEX + 1);
    return 0;
}

/* A decimal field ending at '-' or the end: no sign, no leading zero, at most 18 digits. */
static bool number(const char **p, const char *end, int64_t *out) {
    const char *s = *p;
    int64_t v = 0;
    int digits = 0;
    while (s < end && *s >= '0' && *s <= '9') {
        if (++digits > 18 || (digits == 2 && v == 0))
            return false;
        v = v * 10 + (*s++ - '0');
    }
    if (digits == 0)
        return false;
    *p = s;
    *out = v;
    return true;
}

static bool literal(const char **p, const char *end, const char *lit) {
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return false;
    *p += n;
    return true;
}

/* Reads the claims of payload [p, end). */
static bool parse_claims(const char *p, const char *end, cq_token_claims_t *c) {
    if (!literal(&p, end, "cq1-") || !number(&p, end, &c->session_id) || !literal(&p, end, "-") ||
        !number(&p, end, &c->telecentre_id) || !literal(&p, end, "-"))
        return false;
    bool role = false;
    for (unsigned i = 0; i < 3 && !role; i++) {
        const char *q = p;
        if (literal(&q, end, role_names[i]) && q < end && *q == '-') {
            c->role = (cq_role_t)i;
            p = q;
            role = true;
        }
    }
    if (!role || !literal(&p, end, "-") || !number(&p, end, &c->expires_s) ||
        !literal(&p, end, "-") || end - p != 16)
        return false;
    for (int i = 0; i < 16; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return false;
    memcpy(c->nonce, p, 16);
    c->nonce[16] = '\0';
    return c->session_id > 0 && c->telecentre_id > 0;
}

int cq_token_verify(const uint8_t *secret, size_t secret_len, const char *token, int64_t now,
                    cq_token_claims_t *out) {
    size_t len = strnlen(token, CQ_TOKEN_MAX + 1);
    if (len > CQ_TOKEN_MAX || len < MAC_HEX + 2)
        return CQ_EMALFORMED;
    const char *dot = token + len - MAC_HEX - 1;
    if (*dot != '.')
        return CQ_EMALFORMED;
    cq_token_claims_t c;
    if (!parse_claims(token, dot, &c))
        return CQ_EMALFORMED;
    char mac[MAC_HEX + 1];
    int err = mac_hex(secret, secret_len, token, (size_t)(dot - token), mac);
    if (err != 0)
        return err;
    if (CRYPTO_memcmp(mac, dot + 1, MAC_HEX) != 0)
        return CQ_EAUTH;
    *out = c;
    return now > c.expires_s ? CQ_EEXPIRED : 0;
}
