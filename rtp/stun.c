/*
 * STUN parse, integrity and fingerprint checks, writer (RFC 8489, RFC 8445, RFC 5769).
 *
 * OpenSSL 3 deprecates the low-level SHA1_Init/SHA1_Update/SHA1_Final in favour of EVP,
 * and its one-shot HMAC() and the EVP_MAC API allocate a context on every call. rtp/ must
 * not allocate (a ctest checks the archive), and a STUN check arrives from every client
 * every few seconds, so HMAC (RFC 2104) is built here on the low-level functions over a
 * SHA_CTX on the stack. They are still present in OpenSSL 3 and allocate nothing.
 * OPENSSL_SUPPRESS_DEPRECATED silences the deprecation warnings (which -Werror would turn
 * into errors) in this one file and nowhere else; it must come before any OpenSSL header.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "rtp/stun.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "rtp/bytes.h"
#include "rtp/error.h"

_Static_assert(CQ_STUN_HEADER_SIZE == 2 + 2 + 4 + CQ_STUN_TID_SIZE, "STUN header is 20 bytes");
_Static_assert(CQ_STUN_ATTR_HEADER_SIZE == 4, "attribute header is type + length");
_Static_assert(CQ_STUN_INTEGRITY_ATTR_SIZE == 24, "MESSAGE-INTEGRITY takes 24 bytes");
_Static_assert(CQ_STUN_FINGERPRINT_ATTR_SIZE == 8, "FINGERPRINT takes 8 bytes");
_Static_assert(CQ_STUN_MAX_MESSAGE_SIZE == 20 + 65532, "length field is 16 bits, a multiple of 4");
_Static_assert(CQ_STUN_HMAC_SIZE == SHA_DIGEST_LENGTH, "MESSAGE-INTEGRITY is one SHA-1 digest");
_Static_assert(SHA_CBLOCK == 64, "HMAC-SHA1 pads keys to the 64-byte SHA-1 block");

/* Value sizes fixed by the RFCs. */
#define XOR_ADDR_V4_SIZE  8  /* reserved, family, port, 4-byte address */
#define XOR_ADDR_V6_SIZE  20 /* reserved, family, port, 16-byte address */
#define PRIORITY_SIZE     4
#define TIE_BREAKER_SIZE  8
#define FINGERPRINT_SIZE  4
#define ERROR_HEADER_SIZE 4 /* reserved, class, number; the reason follows */
#define MAX_STUN_LENGTH   0xFFFC
_Static_assert(XOR_ADDR_V4_SIZE == 4 + 4 && XOR_ADDR_V6_SIZE == 4 + 16, "XOR-MAPPED-ADDRESS");

/* ---- CRC-32 -------------------------------------------------------------------------- */

/* CRC-32 four bits at a time: entry n is the reflected polynomial 0xEDB88320 applied to
 * the nibble n over four shifts. Sixteen constants fit in the source, so there is no table
 * to build at run time (and no global to race on); STUN messages are about a hundred
 * bytes and the two lookups per byte cost nothing next to the HMAC beside them. */
static const uint32_t crc_nibble[16] = {
    0x00000000, 0x1DB71064, 0x3B6E20C8, 0x26D930AC, 0x76DC4190, 0x6B6B51F4, 0x4DB26158, 0x5005713C,
    0xEDB88320, 0xF00F9344, 0xD6D6A3E8, 0xCB61B38C, 0x9B64C2B0, 0x86D3D2D4, 0xA00AE278, 0xBDBDF21C,
};

/* Runs the CRC register (not inverted) over [p, p + n). */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
        crc = (crc >> 4) ^ crc_nibble[crc & 0x0F];
    }
    return crc;
}

uint32_t cq_stun_crc32(const uint8_t *data, size_t len) {
    return crc32_update(0xFFFFFFFFu, data, len) ^ 0xFFFFFFFFu;
}

/* ---- HMAC-SHA1 ----------------------------------------------------------------------- */

/* A run of bytes to hash. The integrity check hashes the message in three runs so that
 * the adjusted length field can replace the real one without a copy of the message. */
typedef struct {
    const uint8_t *p;
    size_t n;
} span_t;

#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5C

/*
 * HMAC-SHA1 (RFC 2104 §2) of the concatenated spans. One 64-byte block serves both pads:
 * the key (hashed first when longer than a block) is XORed with the inner pad, and later
 * the same block is XORed with ipad ^ opad to become the outer pad, so the key is walked
 * once. Key-derived bytes are wiped from the stack before returning.
 */
static int hmac_sha1_spans(const uint8_t *key, size_t keylen, const span_t *spans, size_t nspans,
                           uint8_t out[CQ_STUN_HMAC_SIZE]) {
    uint8_t block[SHA_CBLOCK] = {0};
    uint8_t inner[SHA_DIGEST_LENGTH];
    SHA_CTX ctx;
    int ok = 1;

    if (keylen > SHA_CBLOCK) {
        ok &= SHA1_Init(&ctx);
        ok &= SHA1_Update(&ctx, key, keylen);
        ok &= SHA1_Final(block, &ctx);
    } else if (keylen > 0) {
        memcpy(block, key, keylen);
    }
    for (size_t i = 0; i < SHA_CBLOCK; i++)
        block[i] ^= HMAC_IPAD;

    ok &= SHA1_Init(&ctx);
    ok &= SHA1_Update(&ctx, block, SHA_CBLOCK);
    for (size_t i = 0; i < nspans; i++)
        ok &= SHA1_Update(&ctx, spans[i].p, spans[i].n);
    ok &= SHA1_Final(inner, &ctx);

    for (size_t i = 0; i < SHA_CBLOCK; i++)
        block[i] ^= HMAC_IPAD ^ HMAC_OPAD;
    ok &= SHA1_Init(&ctx);
    ok &= SHA1_Update(&ctx, block, SHA_CBLOCK);
    ok &= SHA1_Update(&ctx, inner, sizeof inner);
    ok &= SHA1_Final(out, &ctx);

    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(inner, sizeof inner);
    OPENSSL_cleanse(&ctx, sizeof ctx);
    return ok == 1 ? 0 : CQ_ECRYPTO;
}

int cq_stun_hmac_sha1(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                      uint8_t out[CQ_STUN_HMAC_SIZE]) {
    span_t span = {data, len};
    return hmac_sha1_spans(key, keylen, &span, 1, out);
}

/* ---- Parser --------------------------------------------------------------------------- */

/* The 16 bytes that XOR-MAPPED-ADDRESS is XORed with: the magic cookie then the
 * transaction id (RFC 8489 §14.2); IPv4 and the port use only the first 4 and 2. */
static void xor_pad(const uint8_t *tid, uint8_t pad[16]) {
    cq_store_be32(pad, CQ_STUN_MAGIC_COOKIE);
    memcpy(pad + 4, tid, CQ_STUN_TID_SIZE);
}

/*
 * XOR-MAPPED-ADDRESS (RFC 8489 §14.2):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0 0 0 0 0 0 0 0|    Family     |         X-Port                |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                X-Address (Variable)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The first byte is ignored on receipt, as §14.1 says. The size must match the family:
 * a 4-byte IPv4 or 16-byte IPv6 address and nothing else.
 */
static int decode_xor_address(const uint8_t *val, size_t n, const uint8_t *tid,
                              cq_stun_addr_t *out) {
    size_t addr_len;
    if (n == XOR_ADDR_V4_SIZE && val[1] == CQ_STUN_FAMILY_IPV4)
        addr_len = 4;
    else if (n == XOR_ADDR_V6_SIZE && val[1] == CQ_STUN_FAMILY_IPV6)
        addr_len = 16;
    else
        return CQ_EMALFORMED;

    uint8_t pad[16];
    xor_pad(tid, pad);
    cq_stun_addr_t a = {.family = val[1]};
    a.port = (uint16_t)(cq_load_be16(val + 2) ^ (CQ_STUN_MAGIC_COOKIE >> 16));
    for (size_t i = 0; i < addr_len; i++)
        a.addr[i] = (uint8_t)(val[4 + i] ^ pad[i]);
    *out = a;
    return 0;
}

/*
 * ERROR-CODE (RFC 8489 §14.8):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           Reserved, should be 0         |Class|     Number    |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      Reason Phrase (variable)                                ..
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The class is 3..6 and the number 0..99; the reserved bits are ignored.
 */
static int decode_error_code(const uint8_t *val, size_t n, cq_stun_view_t *v) {
    if (n < ERROR_HEADER_SIZE || n - ERROR_HEADER_SIZE > CQ_STUN_MAX_TEXT)
        return CQ_EMALFORMED;
    unsigned cls = val[2] & 0x07u;
    unsigned number = val[3];
    if (cls < 3 || cls > 6 || number > 99)
        return CQ_EMALFORMED;
    v->error_code = (uint16_t)(cls * 100 + number);
    v->error_reason = (const char *)(val + ERROR_HEADER_SIZE);
    v->error_reason_len = (uint16_t)(n - ERROR_HEADER_SIZE);
    return 0;
}

static int take_text(const uint8_t *val, size_t n, size_t max, const char **out,
                     uint16_t *out_len) {
    if (n > max)
        return CQ_EMALFORMED;
    *out = (const char *)val;
    *out_len = (uint16_t)n;
    return 0;
}

static int take_tie_breaker(const uint8_t *val, size_t n, cq_stun_view_t *v, uint32_t role,
                            uint32_t other_role) {
    if (n != TIE_BREAKER_SIZE || (v->attrs & other_role))
        return CQ_EMALFORMED; /* a peer cannot be controlling and controlled at once */
    v->tie_breaker = cq_load_be64(val);
    v->attrs |= role;
    return 0;
}

/* Notes a comprehension-required attribute this module does not know. MAPPED-ADDRESS is
 * known (old servers send it beside XOR-MAPPED-ADDRESS) and simply not read. RFC 8489's
 * other required attributes (USERHASH, PASSWORD-ALGORITHM, MESSAGE-INTEGRITY-SHA256 before
 * MESSAGE-INTEGRITY) belong to mechanisms chasqui does not implement, so a 420 that names
 * them is the right answer. */
static void note_unknown(cq_stun_view_t *v, uint16_t type) {
    if (type >= 0x8000 || type == CQ_STUN_ATTR_MAPPED_ADDRESS)
        return;
    if (v->unknown_required_count < CQ_STUN_MAX_UNKNOWN)
        v->unknown_required[v->unknown_required_count++] = type;
}

/* Decodes one attribute met before MESSAGE-INTEGRITY into *v. Only the first occurrence
 * of a type counts (RFC 8489 §14); later ones are skipped unread. */
static int decode_attr(cq_stun_view_t *v, uint16_t type, const uint8_t *val, size_t n,
                       size_t offset) {
    switch (type) {
    case CQ_STUN_ATTR_MESSAGE_INTEGRITY:
        if (n != CQ_STUN_HMAC_SIZE)
            return CQ_EMALFORMED;
        v->integrity_offset = offset;
        v->attrs |= CQ_STUN_HAS_MESSAGE_INTEGRITY;
        return 0;
    case CQ_STUN_ATTR_USERNAME:
        if (v->attrs & CQ_STUN_HAS_USERNAME)
            return 0;
        v->attrs |= CQ_STUN_HAS_USERNAME;
        return take_text(val, n, CQ_STUN_MAX_USERNAME, &v->username, &v->username_len);
    case CQ_STUN_ATTR_SOFTWARE:
        if (v->attrs & CQ_STUN_HAS_SOFTWARE)
            return 0;
        v->attrs |= CQ_STUN_HAS_SOFTWARE;
        return take_text(val, n, CQ_STUN_MAX_TEXT, &v->software, &v->software_len);
    case CQ_STUN_ATTR_REALM:
        if (v->attrs & CQ_STUN_HAS_REALM)
            return 0;
        v->attrs |= CQ_STUN_HAS_REALM;
        return take_text(val, n, CQ_STUN_MAX_TEXT, &v->realm, &v->realm_len);
    case CQ_STUN_ATTR_NONCE:
        if (v->attrs & CQ_STUN_HAS_NONCE)
            return 0;
        v->attrs |= CQ_STUN_HAS_NONCE;
        return take_text(val, n, CQ_STUN_MAX_TEXT, &v->nonce, &v->nonce_len);
    case CQ_STUN_ATTR_XOR_MAPPED_ADDRESS:
        if (v->attrs & CQ_STUN_HAS_XOR_MAPPED_ADDRESS)
            return 0;
        v->attrs |= CQ_STUN_HAS_XOR_MAPPED_ADDRESS;
        return decode_xor_address(val, n, v->tid, &v->xor_mapped_address);
    case CQ_STUN_ATTR_PRIORITY:
        if (v->attrs & CQ_STUN_HAS_PRIORITY)
            return 0;
        if (n != PRIORITY_SIZE)
            return CQ_EMALFORMED;
        v->priority = cq_load_be32(val);
        v->attrs |= CQ_STUN_HAS_PRIORITY;
        return 0;
    case CQ_STUN_ATTR_USE_CANDIDATE:
        if (n != 0) /* a flag: RFC 8445 §7.1.2 gives it no value */
            return CQ_EMALFORMED;
        v->attrs |= CQ_STUN_HAS_USE_CANDIDATE;
        return 0;
    case CQ_STUN_ATTR_ICE_CONTROLLING:
        if (v->attrs & CQ_STUN_HAS_ICE_CONTROLLING)
            return 0;
        return take_tie_breaker(val, n, v, CQ_STUN_HAS_ICE_CONTROLLING, CQ_STUN_HAS_ICE_CONTROLLED);
    case CQ_STUN_ATTR_ICE_CONTROLLED:
        if (v->attrs & CQ_STUN_HAS_ICE_CONTROLLED)
            return 0;
        return take_tie_breaker(val, n, v, CQ_STUN_HAS_ICE_CONTROLLED, CQ_STUN_HAS_ICE_CONTROLLING);
    case CQ_STUN_ATTR_ERROR_CODE:
        if (v->attrs & CQ_STUN_HAS_ERROR_CODE)
            return 0;
        v->attrs |= CQ_STUN_HAS_ERROR_CODE;
        return decode_error_code(val, n, v);
    case CQ_STUN_ATTR_UNKNOWN_ATTRIBUTES:
        if (v->attrs & CQ_STUN_HAS_UNKNOWN_ATTRIBUTES)
            return 0;
        if (n % 2 != 0) /* a list of 16-bit types, padded like any value (§14.13) */
            return CQ_EMALFORMED;
        v->unknown_attributes = val;
        v->unknown_attributes_count = (uint16_t)(n / 2);
        v->attrs |= CQ_STUN_HAS_UNKNOWN_ATTRIBUTES;
        return 0;
    default:
        note_unknown(v, type);
        return 0;
    }
}

int cq_stun_parse(const uint8_t *buf, size_t len, cq_stun_view_t *out) {
    if (len < CQ_STUN_HEADER_SIZE)
        return CQ_ETRUNCATED;
    /* The two leading zero bits are what RFC 7983 demultiplexing relies on (§5). */
    if (buf[0] & 0xC0)
        return CQ_EMALFORMED;
    if (cq_load_be32(buf + 4) != CQ_STUN_MAGIC_COOKIE)
        return CQ_EVERSION;
    size_t body = cq_load_be16(buf + 2);
    if (body % 4 != 0)
        return CQ_EMALFORMED;
    if (len - CQ_STUN_HEADER_SIZE < body)
        return CQ_ETRUNCATED;
    /* Over UDP a datagram is exactly one message: trailing bytes are not STUN, and they
     * would escape both MESSAGE-INTEGRITY and FINGERPRINT. */
    if (len - CQ_STUN_HEADER_SIZE > body)
        return CQ_EMALFORMED;

    cq_stun_view_t v = {0};
    uint16_t type = cq_load_be16(buf);
    v.len = len;
    v.method = (uint16_t)((type & 0x000Fu) | (type >> 1 & 0x0070u) | (type >> 2 & 0x0F80u));
    v.cls = (cq_stun_class_t)((type >> 4 & 1u) | (type >> 7 & 2u));
    v.tid = buf + 8;

    const uint8_t *p = buf + CQ_STUN_HEADER_SIZE;
    const uint8_t *end = buf + len;
    while (p < end) {
        /* FINGERPRINT, when present, is the last attribute (RFC 8489 §14.7). */
        if (v.attrs & CQ_STUN_HAS_FINGERPRINT)
            return CQ_EMALFORMED;
        /* The body is a multiple of 4 and so is every padded attribute, so at least a
         * 4-byte header is left here; the check keeps that an invariant, not a hope. */
        if ((size_t)(end - p) < CQ_STUN_ATTR_HEADER_SIZE)
            return CQ_EMALFORMED;
        uint16_t at = cq_load_be16(p);
        size_t n = cq_load_be16(p + 2);
        size_t padded = (n + 3) & ~(size_t)3;
        if (padded > (size_t)(end - p) - CQ_STUN_ATTR_HEADER_SIZE)
            return CQ_EMALFORMED;
        const uint8_t *val = p + CQ_STUN_ATTR_HEADER_SIZE;
        size_t offset = (size_t)(p - buf);

        if (at == CQ_STUN_ATTR_FINGERPRINT) {
            if (n != FINGERPRINT_SIZE)
                return CQ_EMALFORMED;
            v.fingerprint_offset = offset;
            v.attrs |= CQ_STUN_HAS_FINGERPRINT;
        } else if (v.attrs & CQ_STUN_HAS_MESSAGE_INTEGRITY) {
            /* §14.5: everything after MESSAGE-INTEGRITY but FINGERPRINT is ignored, being
             * outside what the HMAC vouches for. A second MESSAGE-INTEGRITY is refused
             * outright: no honest sender writes one. */
            if (at == CQ_STUN_ATTR_MESSAGE_INTEGRITY)
                return CQ_EMALFORMED;
        } else {
            int rc = decode_attr(&v, at, val, n, offset);
            if (rc < 0)
                return rc;
        }
        p = val + padded;
    }

    *out = v;
    return (int)len;
}

/* ---- Checks --------------------------------------------------------------------------- */

/* Checks that an attribute of `size` bytes at `offset` lies inside [msg, msg + len) after
 * the header, and that a header length ending with it fits the 16-bit field. */
static bool attr_fits(size_t offset, size_t size, size_t len) {
    return offset >= CQ_STUN_HEADER_SIZE && offset <= len && len - offset >= size &&
           offset + size - CQ_STUN_HEADER_SIZE <= MAX_STUN_LENGTH;
}

int cq_stun_check_integrity(const uint8_t *msg, size_t len, const cq_stun_view_t *v,
                            const uint8_t *key, size_t keylen) {
    if (!(v->attrs & CQ_STUN_HAS_MESSAGE_INTEGRITY))
        return CQ_ENOENT;
    size_t off = v->integrity_offset;
    if (v->len != len || !attr_fits(off, CQ_STUN_INTEGRITY_ATTR_SIZE, len))
        return CQ_EINVAL;

    /* §14.5: hash the message up to the attribute with a length field that ends right
     * after MESSAGE-INTEGRITY, whatever follows it (FINGERPRINT, ignored attributes). */
    uint8_t length[2];
    cq_store_be16(length, (uint16_t)(off + CQ_STUN_INTEGRITY_ATTR_SIZE - CQ_STUN_HEADER_SIZE));
    const span_t spans[3] = {{msg, 2}, {length, 2}, {msg + 4, off - 4}};
    uint8_t mac[CQ_STUN_HMAC_SIZE];
    int rc = hmac_sha1_spans(key, keylen, spans, 3, mac);
    if (rc < 0)
        return rc;
    /* CRYPTO_memcmp takes the same time wherever the first difference is, so a forger
     * learns nothing from how fast a guess is refused. */
    rc = CRYPTO_memcmp(mac, msg + off + CQ_STUN_ATTR_HEADER_SIZE, sizeof mac) == 0 ? 0 : CQ_EAUTH;
    OPENSSL_cleanse(mac, sizeof mac);
    return rc;
}

int cq_stun_check_fingerprint(const uint8_t *msg, size_t len, const cq_stun_view_t *v) {
    if (!(v->attrs & CQ_STUN_HAS_FINGERPRINT))
        return CQ_ENOENT;
    size_t off = v->fingerprint_offset;
    if (v->len != len || !attr_fits(off, CQ_STUN_FINGERPRINT_ATTR_SIZE, len))
        return CQ_EINVAL;

    /* §14.7: like MESSAGE-INTEGRITY, with the length counting the FINGERPRINT itself. */
    uint8_t length[2];
    cq_store_be16(length, (uint16_t)(off + CQ_STUN_FINGERPRINT_ATTR_SIZE - CQ_STUN_HEADER_SIZE));
    uint32_t crc = 0xFFFFFFFFu;
    crc = crc32_update(crc, msg, 2);
    crc = crc32_update(crc, length, 2);
    crc = crc32_update(crc, msg + 4, off - 4);
    crc ^= 0xFFFFFFFFu;
    if ((crc ^ CQ_STUN_FINGERPRINT_XOR) != cq_load_be32(msg + off + CQ_STUN_ATTR_HEADER_SIZE))
        return CQ_EMALFORMED;
    return 0;
}

int cq_stun_username_split(const char *name, size_t len, const char **receiver,
                           size_t *receiver_len, const char **sender, size_t *sender_len) {
    const char *colon = len > 0 ? memchr(name, ':', len) : NULL;
    if (!colon)
        return CQ_EMALFORMED;
    size_t first = (size_t)(colon - name);
    if (first == 0 || first + 1 == len)
        return CQ_EMALFORMED;
    *receiver = name;
    *receiver_len = first;
    *sender = colon + 1;
    *sender_len = len - first - 1;
    return 0;
}

/* ---- Writer --------------------------------------------------------------------------- */

/* Writer states: a failed init leaves it dead; MESSAGE-INTEGRITY signs it (only
 * FINGERPRINT may follow); FINGERPRINT closes it. */
enum { W_DEAD = 0, W_OPEN, W_SIGNED, W_CLOSED };

int cq_stun_writer_init(cq_stun_writer_t *w, uint8_t *buf, size_t cap, uint16_t method,
                        cq_stun_class_t cls, const uint8_t tid[CQ_STUN_TID_SIZE]) {
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->pad = 0;
    w->state = W_DEAD;
    if (method > 0x0FFF || (unsigned)cls > 3)
        return CQ_EINVAL;
    if (cap < CQ_STUN_HEADER_SIZE)
        return CQ_ENOBUFS;
    cq_store_be16(buf, cq_stun_type(method, cls));
    cq_store_be16(buf + 2, 0);
    cq_store_be32(buf + 4, CQ_STUN_MAGIC_COOKIE);
    memcpy(buf + 8, tid, CQ_STUN_TID_SIZE);
    w->len = CQ_STUN_HEADER_SIZE;
    w->state = W_OPEN;
    return 0;
}

/*
 * Appends the header and padding of an attribute with an n-byte value, updates the
 * message length and returns where the value goes in *value (the caller fills it before
 * returning to its own caller, so the message is whole between calls). Writes nothing on
 * failure. The caller has checked the state and n <= 0xFFFF.
 */
static int put_attr(cq_stun_writer_t *w, uint16_t type, size_t n, uint8_t **value) {
    size_t total = CQ_STUN_ATTR_SIZE(n);
    if (total > CQ_STUN_MAX_MESSAGE_SIZE - w->len || total > w->cap - w->len)
        return CQ_ENOBUFS;
    uint8_t *p = w->buf + w->len;
    cq_store_be16(p, type);
    cq_store_be16(p + 2, (uint16_t)n);
    memset(p + CQ_STUN_ATTR_HEADER_SIZE + n, w->pad, total - CQ_STUN_ATTR_HEADER_SIZE - n);
    w->len += total;
    cq_store_be16(w->buf + 2, (uint16_t)(w->len - CQ_STUN_HEADER_SIZE));
    *value = p + CQ_STUN_ATTR_HEADER_SIZE;
    return 0;
}

/* Appends an attribute whose value is bytes to copy. */
static int put_bytes(cq_stun_writer_t *w, uint16_t type, const void *data, size_t n) {
    if (w->state != W_OPEN)
        return CQ_EBADSTATE;
    if (n > 0xFFFF)
        return CQ_EINVAL;
    uint8_t *val;
    int rc = put_attr(w, type, n, &val);
    if (rc < 0)
        return rc;
    if (n > 0)
        memcpy(val, data, n);
    return 0;
}

int cq_stun_add_attr(cq_stun_writer_t *w, uint16_t type, const void *value, size_t len) {
    if (w->state != W_OPEN)
        return CQ_EBADSTATE;
    if (type == CQ_STUN_ATTR_MESSAGE_INTEGRITY || type == CQ_STUN_ATTR_FINGERPRINT)
        return CQ_EINVAL;
    return put_bytes(w, type, value, len);
}

static int put_text(cq_stun_writer_t *w, uint16_t type, const char *text, size_t len, size_t max) {
    if (w->state != W_OPEN)
        return CQ_EBADSTATE;
    if (len > max)
        return CQ_EINVAL;
    return put_bytes(w, type, text, len);
}

int cq_stun_add_username(cq_stun_writer_t *w, const char *name, size_t len) {
    return put_text(w, CQ_STUN_ATTR_USERNAME, name, len, CQ_STUN_MAX_USERNAME);
}

int cq_stun_add_software(cq_stun_writer_t *w, const char *text, size_t len) {
    return put_text(w, CQ_STUN_ATTR_SOFTWARE, text, len, CQ_STUN_MAX_TEXT);
}

int cq_stun_add_realm(cq_stun_writer_t *w, const char *text, size_t len) {
    return put_text(w, CQ_STUN_ATTR_REALM, text, len, CQ_STUN_MAX_TEXT);
}

int cq_stun_add_nonce(cq_stun_writer_t *w, const char *text, size_t len) {
    return put_text(w, CQ_STUN_ATTR_NONCE, text, len, CQ_STUN_MAX_TEXT);
}

int cq_stun_add_xor_mapped_address(cq_stun_writer_t *w, const cq_stun_addr_t *addr) {
    if (w->state != W_OPEN)
        return CQ_EBADSTATE;
    size_t n, addr_len;
    if (addr->family == CQ_STUN_FAMILY_IPV4) {
        n = XOR_ADDR_V4_SIZE;
        addr_len = 4;
    } else if (addr->family == CQ_STUN_FAMILY_IPV6) {
        n = XOR_ADDR_V6_SIZE;
        addr_len = 16;
    } else {
        return CQ_EINVAL;
    }
    uint8_t *val;
    int rc = put_attr(w, CQ_STUN_ATTR_XOR_MAPPED_ADDRESS, n, &val);
    if (rc < 0)
        return rc;
    uint8_t pad[16];
    xor_pad(w->buf + 8, pad);
    val[0] = 0;
    val[1] = addr->family;
    cq_store_be16(val + 2, (uint16_t)(addr->port ^ (CQ_STUN_MAGIC_COOKIE >> 16)));
    for (size_t i = 0; i < addr_len; i++)
        val[4 + i] = (uint8_t)(addr->addr[i] ^ pad[i]);
    return 0;
}

int cq_stun_add_priority(cq_stun_writer_t *w, uint32_t priority) {
    uint8_t val[PRIORITY_SIZE];
    cq_store_be32(val, priority);
    return put_bytes(w, CQ_STUN_ATTR_PRIORITY, val, sizeof val);
}

int cq_stun_add_use_candidate(cq_stun_writer_t *w) {
    return put_bytes(w, CQ_STUN_ATTR_USE_CANDIDATE, NULL, 0);
}

int cq_stun_add_ice_controlling(cq_stun_writer_t *w, uint64_t tie_breaker) {
    uint8_t val[TIE_BREAKER_SIZE];
    cq_store_be64(val, tie_breaker);
    return put_bytes(w, CQ_STUN_ATTR_ICE_CONTROLLING, val, sizeof val);
}

int cq_stun_add_ice_controlled(cq_stun_writer_t *w, uint64_t tie_breaker) {
    uint8_t val[TIE_BREAKER_SIZE];
    cq_store_be64(val, tie_breaker);
    return put_bytes(w, CQ_STUN_ATTR_ICE_CONTROLLED, val, sizeof val);
}

int cq_stun_add_error_code(cq_stun_writer_t *w, uint16_t code, const char *reason,
                           size_t reason_len) {
    if (w->state != W_OPEN)
        return CQ_EBADSTATE;
    if (code < 300 || code > 699 || reason_len > CQ_STUN_MAX_TEXT)
        return CQ_EINVAL;
    uint8_t *val;
    int rc = put_attr(w, CQ_STUN_ATTR_ERROR_CODE, ERROR_HEADER_SIZE + reason_len, &val);
    if (rc < 0)
        return rc;
    val[0] = 0;
    val[1] = 0;
    val[2] = (uint8_t)(code / 100);
    val[3] = (uint8_t)(code % 100);
    if (reason_len > 0)
        memcpy(val + ERROR_HEADER_SIZE, reason, reason_len);
    return 0;
}

int cq_stun_add_unknown_attributes(cq_stun_writer_t *w, const uint16_t *types, size_t count) {
    if (w->state != W_OPEN)
        return CQ_EBADSTATE;
    if (count > 0x7FFF)
        return CQ_EINVAL;
    uint8_t *val;
    int rc = put_attr(w, CQ_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * count, &val);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < count; i++)
        cq_store_be16(val + 2 * i, types[i]);
    return 0;
}

int cq_stun_add_message_integrity(cq_stun_writer_t *w, const uint8_t *key, size_t keylen) {
    if (w->state != W_OPEN)
        return CQ_EBADSTATE;
    size_t before = w->len;
    uint8_t *val;
    int rc = put_attr(w, CQ_STUN_ATTR_MESSAGE_INTEGRITY, CQ_STUN_HMAC_SIZE, &val);
    if (rc < 0)
        return rc;
    /* put_attr already counted the attribute in the header's length, which is exactly
     * the length §14.5 wants the HMAC to see. */
    span_t span = {w->buf, before};
    rc = hmac_sha1_spans(key, keylen, &span, 1, val);
    if (rc < 0) {
        w->len = before;
        cq_store_be16(w->buf + 2, (uint16_t)(before - CQ_STUN_HEADER_SIZE));
        return rc;
    }
    w->state = W_SIGNED;
    return 0;
}

int cq_stun_add_fingerprint(cq_stun_writer_t *w) {
    if (w->state != W_OPEN && w->state != W_SIGNED)
        return CQ_EBADSTATE;
    size_t before = w->len;
    uint8_t *val;
    int rc = put_attr(w, CQ_STUN_ATTR_FINGERPRINT, FINGERPRINT_SIZE, &val);
    if (rc < 0)
        return rc;
    cq_store_be32(val, cq_stun_crc32(w->buf, before) ^ CQ_STUN_FINGERPRINT_XOR);
    w->state = W_CLOSED;
    return 0;
}
