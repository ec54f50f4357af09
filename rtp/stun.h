/*
 * STUN for ICE-lite: parse in place, check MESSAGE-INTEGRITY and FINGERPRINT, build
 * (RFC 8489, attributes of RFC 8445 §16.1, test vectors of RFC 5769).
 *
 * The relay is ICE-lite (RFC 8445 §2.5): it never sends checks of its own, it answers the
 * Binding requests its clients send from behind their NATs. Such a request carries
 * USERNAME "<relay-ufrag>:<client-ufrag>", PRIORITY, ICE-CONTROLLING (the lite side is
 * always controlled), USE-CANDIDATE, MESSAGE-INTEGRITY keyed with the relay's ICE
 * password (short-term credentials, RFC 8489 §9.1) and FINGERPRINT. The relay answers
 * with a success response carrying XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT,
 * or with an error response (400, 401, 420, 487). chasqui's own client builds its
 * requests and checks the answers with this same module.
 *
 * Every STUN message starts with a 20-byte header (RFC 8489 §5):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |0 0|     STUN Message Type     |         Message Length        |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Magic Cookie                          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                                                               |
 *   |                     Transaction ID (96 bits)                  |
 *   |                                                               |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The 14-bit message type interleaves a 12-bit method (M) and a 2-bit class (C):
 *
 *    0                 1
 *    2  3  4 5 6 7 8 9 0 1 2 3 4 5
 *   +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
 *   |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
 *   +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The message length counts the bytes after the header, always a multiple of 4. The
 * attributes that follow are type-length-value records whose values are padded to a
 * multiple of 4 bytes; the length field gives the value's size before padding (§14):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |         Type                  |            Length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                         Value (variable)                ....
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * MESSAGE-INTEGRITY and FINGERPRINT protect "the message up to themselves" as if the
 * header's length field already ended just after them (§14.5, §14.7). The checks here
 * feed the adjusted length to the hash instead of editing the caller's bytes, so a parsed
 * buffer stays const; the writer sets the length first and hashes the buffer as it is.
 *
 * Nothing here allocates (rtp/ is pure): HMAC-SHA1 is built on OpenSSL's low-level SHA-1
 * over a stack context, and CRC-32 is computed without any run-time table.
 */
#ifndef CQ_RTP_STUN_H
#define CQ_RTP_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/bytes.h"

#define CQ_STUN_HEADER_SIZE      20
#define CQ_STUN_MAGIC_COOKIE     0x2112A442u
#define CQ_STUN_TID_SIZE         12          /* 96-bit transaction id */
#define CQ_STUN_ATTR_HEADER_SIZE 4           /* type + length */
#define CQ_STUN_HMAC_SIZE        20          /* HMAC-SHA1, the MESSAGE-INTEGRITY value */
#define CQ_STUN_FINGERPRINT_XOR  0x5354554Eu /* "STUN", RFC 8489 §14.7 */

/* Largest message the 16-bit length field can describe (length a multiple of 4). */
#define CQ_STUN_MAX_MESSAGE_SIZE (CQ_STUN_HEADER_SIZE + 0xFFFC)

/* Bytes one attribute takes on the wire: header plus value padded to 4 bytes. */
#define CQ_STUN_ATTR_SIZE(value_len)                                                               \
    (CQ_STUN_ATTR_HEADER_SIZE + (((size_t)(value_len) + 3) & ~(size_t)3))

#define CQ_STUN_INTEGRITY_ATTR_SIZE   CQ_STUN_ATTR_SIZE(CQ_STUN_HMAC_SIZE) /* 24 */
#define CQ_STUN_FINGERPRINT_ATTR_SIZE CQ_STUN_ATTR_SIZE(4)                 /* 8 */

/* Size limits of RFC 8489: USERNAME is "fewer than 509 bytes" (§14.3); REALM, NONCE,
 * SOFTWARE and the ERROR-CODE reason are fewer than 128 characters, which "can be as long
 * as 763 bytes when decoding them" (§14.8, §14.9, §14.10, §14.14). The parser rejects
 * longer values and the writer refuses to produce them, so whatever one accepts the other
 * can write back. */
#define CQ_STUN_MAX_USERNAME 508
#define CQ_STUN_MAX_TEXT     763

/* How many unknown comprehension-required attribute types one view records; enough to
 * fill a 420 answer, and a message with more is hostile anyway. */
#define CQ_STUN_MAX_UNKNOWN 8

/* Methods (RFC 8489 §18.2). ICE uses Binding only. */
#define CQ_STUN_METHOD_BINDING 0x001

typedef enum {
    CQ_STUN_CLASS_REQUEST = 0,
    CQ_STUN_CLASS_INDICATION = 1,
    CQ_STUN_CLASS_SUCCESS = 2,
    CQ_STUN_CLASS_ERROR = 3,
} cq_stun_class_t;

/* Attribute types. Types below 0x8000 are comprehension-required: an agent that does not
 * know one must reject the message (a request with 420 Unknown Attribute, §6.3.1). */
enum {
    CQ_STUN_ATTR_MAPPED_ADDRESS = 0x0001,     /* RFC 8489 §14.1, known but not decoded */
    CQ_STUN_ATTR_USERNAME = 0x0006,           /* §14.3 */
    CQ_STUN_ATTR_MESSAGE_INTEGRITY = 0x0008,  /* §14.5 */
    CQ_STUN_ATTR_ERROR_CODE = 0x0009,         /* §14.8 */
    CQ_STUN_ATTR_UNKNOWN_ATTRIBUTES = 0x000A, /* §14.13 */
    CQ_STUN_ATTR_REALM = 0x0014,              /* §14.9 */
    CQ_STUN_ATTR_NONCE = 0x0015,              /* §14.10 */
    CQ_STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020, /* §14.2 */
    CQ_STUN_ATTR_PRIORITY = 0x0024,           /* RFC 8445 §7.1.1 */
    CQ_STUN_ATTR_USE_CANDIDATE = 0x0025,      /* RFC 8445 §7.1.2 */
    CQ_STUN_ATTR_SOFTWARE = 0x8022,           /* §14.14 */
    CQ_STUN_ATTR_FINGERPRINT = 0x8028,        /* §14.7 */
    CQ_STUN_ATTR_ICE_CONTROLLED = 0x8029,     /* RFC 8445 §7.1.3 */
    CQ_STUN_ATTR_ICE_CONTROLLING = 0x802A,    /* RFC 8445 §7.1.3 */
};

/* Error codes chasqui sends or expects (RFC 8489 §14.8, RFC 8445 §7.3.1.1). */
enum {
    CQ_STUN_ERROR_BAD_REQUEST = 400,
    CQ_STUN_ERROR_UNAUTHORIZED = 401,
    CQ_STUN_ERROR_UNKNOWN_ATTRIBUTE = 420,
    CQ_STUN_ERROR_ROLE_CONFLICT = 487,
    CQ_STUN_ERROR_SERVER_ERROR = 500,
};

/* Address families of (XOR-)MAPPED-ADDRESS (§14.1). */
#define CQ_STUN_FAMILY_IPV4 0x01
#define CQ_STUN_FAMILY_IPV6 0x02

/* A transport address as STUN carries it, already un-XORed: no sockaddr, so rtp/ stays
 * free of socket headers; the transport converts. */
typedef struct {
    uint8_t family;   /* CQ_STUN_FAMILY_IPV4 or CQ_STUN_FAMILY_IPV6 */
    uint16_t port;    /* host order */
    uint8_t addr[16]; /* network order; IPv4 uses addr[0..3], the rest stays zero */
} cq_stun_addr_t;

/* Which attributes a view found (cq_stun_view_t.attrs). */
#define CQ_STUN_HAS_USERNAME           (1u << 0)
#define CQ_STUN_HAS_MESSAGE_INTEGRITY  (1u << 1)
#define CQ_STUN_HAS_FINGERPRINT        (1u << 2)
#define CQ_STUN_HAS_XOR_MAPPED_ADDRESS (1u << 3)
#define CQ_STUN_HAS_PRIORITY           (1u << 4)
#define CQ_STUN_HAS_USE_CANDIDATE      (1u << 5)
#define CQ_STUN_HAS_ICE_CONTROLLING    (1u << 6)
#define CQ_STUN_HAS_ICE_CONTROLLED     (1u << 7)
#define CQ_STUN_HAS_ERROR_CODE         (1u << 8)
#define CQ_STUN_HAS_SOFTWARE           (1u << 9)
#define CQ_STUN_HAS_REALM              (1u << 10)
#define CQ_STUN_HAS_NONCE              (1u << 11)
#define CQ_STUN_HAS_UNKNOWN_ATTRIBUTES (1u << 12)

/*
 * A parsed STUN message. Pointers point into the buffer given to cq_stun_parse, which the
 * caller owns and keeps alive while the view is used. A field is meaningful only when its
 * CQ_STUN_HAS_* bit is set in attrs (it is zero otherwise). When an attribute appears
 * twice, the first occurrence is the one described (RFC 8489 §14: "only the first
 * occurrence needs to be processed"). Text values are not NUL-terminated and not checked
 * as UTF-8: they are compared as bytes.
 */
typedef struct {
    size_t len;          /* the whole message: 20 + the header's length field */
    uint16_t method;     /* 12 bits, e.g. CQ_STUN_METHOD_BINDING */
    cq_stun_class_t cls; /* request, indication, success or error response */
    const uint8_t *tid;  /* CQ_STUN_TID_SIZE bytes inside the message */
    uint32_t attrs;      /* CQ_STUN_HAS_* bits */

    const char *username; /* "<receiver-ufrag>:<sender-ufrag>" in ICE */
    uint16_t username_len;
    const char *software;
    uint16_t software_len;
    const char *realm;
    uint16_t realm_len;
    const char *nonce;
    uint16_t nonce_len;

    cq_stun_addr_t xor_mapped_address; /* decoded: the XOR with cookie and tid is undone */
    uint32_t priority;
    uint64_t tie_breaker; /* of ICE-CONTROLLING or ICE-CONTROLLED, whichever is present */

    uint16_t error_code; /* class * 100 + number: 300..699 */
    const char *error_reason;
    uint16_t error_reason_len;

    /* The UNKNOWN-ATTRIBUTES attribute of a 420 response: unknown_attributes_count
     * big-endian 16-bit types; read them with cq_stun_view_unknown_attribute. */
    const uint8_t *unknown_attributes;
    uint16_t unknown_attributes_count;

    /* Offsets from the first byte of the message to the attribute header. */
    size_t integrity_offset;
    size_t fingerprint_offset;

    /* Comprehension-required attribute types (< 0x8000) this module does not know, met
     * before MESSAGE-INTEGRITY, in order; the first CQ_STUN_MAX_UNKNOWN are kept. A
     * request with any of them is answered 420 listing them (RFC 8489 §6.3.1). */
    uint16_t unknown_required[CQ_STUN_MAX_UNKNOWN];
    uint8_t unknown_required_count;
} cq_stun_view_t;

/*
 * Parses the STUN message that fills the datagram [buf, buf + len) into *v without
 * copying (the view points into buf). All attributes are walked once; those chasqui uses
 * are decoded and checked. Attributes after MESSAGE-INTEGRITY other than FINGERPRINT are
 * skipped unread (RFC 8489 §14.5), and nothing may follow FINGERPRINT (§14.7).
 * Neither MESSAGE-INTEGRITY nor FINGERPRINT is verified here: see the checks below.
 *
 * Returns the message size (== len, > 0) and fills *v, or:
 *   CQ_ETRUNCATED  fewer than 20 bytes, or fewer than the header's length announces;
 *   CQ_EVERSION    the magic cookie is missing (an RFC 3489 client, or not STUN at all);
 *   CQ_EMALFORMED  the two leading bits are not zero; the length is not a multiple of 4;
 *                  bytes follow the announced message; an attribute runs past the end;
 *                  something follows FINGERPRINT; MESSAGE-INTEGRITY appears twice; an
 *                  attribute chasqui decodes has the wrong size or an invalid value (a
 *                  bad address family, an error class outside 3..6, a text too long,
 *                  both ICE roles at once).
 * *v is untouched on failure.
 */
int cq_stun_parse(const uint8_t *buf, size_t len, cq_stun_view_t *v);

/* The i-th type of a view's UNKNOWN-ATTRIBUTES (i < v->unknown_attributes_count). */
static inline uint16_t cq_stun_view_unknown_attribute(const cq_stun_view_t *v, unsigned i) {
    return cq_load_be16(v->unknown_attributes + 2 * i);
}

/* The 14-bit message type of a method and class (the header diagram above). */
static inline uint16_t cq_stun_type(uint16_t method, cq_stun_class_t cls) {
    unsigned c = (unsigned)cls;
    return (uint16_t)((method & 0x000Fu) | (method & 0x0070u) << 1 | (method & 0x0F80u) << 2 |
                      (c & 1u) << 4 | (c & 2u) << 7);
}

/*
 * Verifies the MESSAGE-INTEGRITY of a parsed message: HMAC-SHA1 keyed with key (for ICE
 * the peer's password as bytes, short-term credentials, RFC 8489 §9.1.1) over the message
 * up to the attribute, with the header's length counting up to the end of
 * MESSAGE-INTEGRITY and no further (§14.5). The comparison takes the same time whatever
 * the bytes. msg and len are what v was parsed from; the caller owns all of them.
 *
 * Returns 0 when the HMAC matches, or CQ_ENOENT (no MESSAGE-INTEGRITY), CQ_EAUTH (it does
 * not match: wrong key or altered message), CQ_EINVAL (v does not describe [msg, len)),
 * CQ_ECRYPTO (OpenSSL's SHA-1 failed).
 */
int cq_stun_check_integrity(const uint8_t *msg, size_t len, const cq_stun_view_t *v,
                            const uint8_t *key, size_t keylen);

/*
 * Verifies the FINGERPRINT of a parsed message: CRC-32 of everything before the attribute,
 * with the header's length counting the FINGERPRINT itself, XORed with 0x5354554E
 * (RFC 8489 §14.7). It tells STUN apart from other protocols on the port; it proves
 * nothing about who sent the message.
 *
 * Returns 0 when it matches, or CQ_ENOENT (no FINGERPRINT), CQ_EMALFORMED (it does not
 * match), CQ_EINVAL (v does not describe [msg, len)).
 */
int cq_stun_check_fingerprint(const uint8_t *msg, size_t len, const cq_stun_view_t *v);

/*
 * Splits an ICE USERNAME "<receiver-ufrag>:<sender-ufrag>" (RFC 8445 §7.2.2) at its first
 * colon (ufrags are ice-chars, which exclude ':'). For a request reaching the relay the
 * first part is the relay's own ufrag, the key to find the participant. Outputs point into
 * name. Returns 0, or CQ_EMALFORMED (no colon, or an empty part); outputs are untouched
 * then.
 */
int cq_stun_username_split(const char *name, size_t len, const char **receiver,
                           size_t *receiver_len, const char **sender, size_t *sender_len);

/* HMAC-SHA1 (RFC 2104) of [data, data + len) under key, into out. Allocation-free.
 * Returns 0, or CQ_ECRYPTO when OpenSSL's SHA-1 fails. */
int cq_stun_hmac_sha1(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                      uint8_t out[CQ_STUN_HMAC_SIZE]);

/* CRC-32 as zlib and ISO HDLC compute it (reflected polynomial 0xEDB88320, initial value
 * and final XOR 0xFFFFFFFF): cq_stun_crc32("123456789", 9) == 0xCBF43926. */
uint32_t cq_stun_crc32(const uint8_t *data, size_t len);

/* ---- Writer ----------------------------------------------------------------------------- */

/*
 * Builds one STUN message into a caller buffer, attribute by attribute. After every
 * successful step the header's length field is right, so [buf, cq_stun_writer_len(w)) is
 * always a complete, parseable message. MESSAGE-INTEGRITY and FINGERPRINT come last, in
 * that order, each at most once. A plain value the caller owns; fields are the writer's.
 */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;  /* message bytes so far, header included */
    uint8_t pad; /* value of padding bytes, 0 unless the caller sets it (see below) */
    uint8_t state;
} cq_stun_writer_t;

/*
 * Starts a message of the given method (12 bits) and class with transaction id tid (12
 * bytes, copied) in [buf, buf + cap), which the caller owns and keeps while writing.
 *
 * Padding bytes are written as 0, as RFC 8489 §14 requires. w->pad may be set to another
 * value after init: RFC 5389 let senders choose it and RFC 5769's vectors use 0x20, which
 * the tests reproduce byte for byte this way. Receivers ignore padding, but
 * MESSAGE-INTEGRITY and FINGERPRINT cover it.
 *
 * Returns 0, or CQ_EINVAL (method above 0xFFF, class out of range), CQ_ENOBUFS (cap < 20).
 * After a failure every later call on w fails with CQ_EBADSTATE.
 */
int cq_stun_writer_init(cq_stun_writer_t *w, uint8_t *buf, size_t cap, uint16_t method,
                        cq_stun_class_t cls, const uint8_t tid[CQ_STUN_TID_SIZE]);

/* Bytes of the message written so far (header included): what to send. */
static inline size_t cq_stun_writer_len(const cq_stun_writer_t *w) {
    return w->len;
}

/*
 * Every cq_stun_add_* appends one attribute and updates the header's length. Each returns
 * 0, or:
 *   CQ_ENOBUFS    the buffer has no room for it, or the message would outgrow the 16-bit
 *                 length field; nothing is written and the message so far stays valid;
 *   CQ_EINVAL     a value the attribute cannot carry (named per function);
 *   CQ_EBADSTATE  MESSAGE-INTEGRITY or FINGERPRINT already ends the message (only
 *                 FINGERPRINT may follow MESSAGE-INTEGRITY), or init failed.
 * Text and value bytes are copied; the caller keeps ownership of its inputs.
 */

/* Any attribute but MESSAGE-INTEGRITY and FINGERPRINT (CQ_EINVAL for those, which have
 * their own functions, and for a value over 0xFFFF bytes). */
int cq_stun_add_attr(cq_stun_writer_t *w, uint16_t type, const void *value, size_t len);

/* USERNAME; CQ_EINVAL over CQ_STUN_MAX_USERNAME bytes. */
int cq_stun_add_username(cq_stun_writer_t *w, const char *name, size_t len);
/* SOFTWARE, REALM, NONCE; CQ_EINVAL over CQ_STUN_MAX_TEXT bytes. */
int cq_stun_add_software(cq_stun_writer_t *w, const char *text, size_t len);
int cq_stun_add_realm(cq_stun_writer_t *w, const char *text, size_t len);
int cq_stun_add_nonce(cq_stun_writer_t *w, const char *text, size_t len);

/* XOR-MAPPED-ADDRESS, XORed with the cookie and the message's transaction id (§14.2);
 * CQ_EINVAL for a family other than IPv4 or IPv6. */
int cq_stun_add_xor_mapped_address(cq_stun_writer_t *w, const cq_stun_addr_t *addr);

int cq_stun_add_priority(cq_stun_writer_t *w, uint32_t priority);
int cq_stun_add_use_candidate(cq_stun_writer_t *w);
int cq_stun_add_ice_controlling(cq_stun_writer_t *w, uint64_t tie_breaker);
int cq_stun_add_ice_controlled(cq_stun_writer_t *w, uint64_t tie_breaker);

/* ERROR-CODE with a reason phrase (may be empty); CQ_EINVAL for a code outside 300..699
 * or a reason over CQ_STUN_MAX_TEXT bytes. */
int cq_stun_add_error_code(cq_stun_writer_t *w, uint16_t code, const char *reason,
                           size_t reason_len);

/* UNKNOWN-ATTRIBUTES listing count types (a 420 answer); CQ_EINVAL over 0x7FFF types. */
int cq_stun_add_unknown_attributes(cq_stun_writer_t *w, const uint16_t *types, size_t count);

/* MESSAGE-INTEGRITY: HMAC-SHA1 under key over the message so far, the header's length
 * already counting this attribute (§14.5). Afterwards only FINGERPRINT may be added.
 * Also CQ_ECRYPTO when SHA-1 fails (nothing is added then). */
int cq_stun_add_message_integrity(cq_stun_writer_t *w, const uint8_t *key, size_t keylen);

/* FINGERPRINT over the message so far (§14.7); it ends the message. */
int cq_stun_add_fingerprint(cq_stun_writer_t *w);

#endif
