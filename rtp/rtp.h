/*
 * RTP header: parse in place, rewrite in place, build (RFC 3550 §5.1, RFC 8285).
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           timestamp                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           synchronization source (SSRC) identifier            |
 *   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *   |            contributing source (CSRC) identifiers             |
 *   |                             ....                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      defined by profile       |           length              |  (if X)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        header extension                       |
 *   |                             ....                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                      payload  ....  (padding, count in last byte)
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The relay's hot path parses each received packet once into a cq_rtp_view_t that points
 * into the packet buffer (nothing is copied), reads what it needs, and then rewrites SSRC,
 * sequence number, timestamp, payload type, marker and fixed-size extension values
 * directly in the bytes: those fields sit at offsets the view already knows, so a rewrite
 * is a store, never a re-parse or a re-serialisation. Building a header from scratch
 * (client packetizer, relay-originated RTX padding probes) goes through cq_rtp_header_t
 * and cq_rtp_header_write.
 *
 * Header extensions follow RFC 8285: the one-byte form (profile 0xBEDE, ids 1..14, 1..16
 * data bytes) and the two-byte form (profile 0x100X with 4 "appbits", ids 1..255,
 * 0..255 data bytes). Any other profile is kept opaque: its bytes are in the view, but no
 * elements are read from it.
 */
#ifndef CQ_RTP_RTP_H
#define CQ_RTP_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/bytes.h"

#define CQ_RTP_VERSION           2
#define CQ_RTP_FIXED_HEADER_SIZE 12 /* V..SSRC */
#define CQ_RTP_CSRC_SIZE         4
#define CQ_RTP_MAX_CSRC          15 /* CC is 4 bits */
#define CQ_RTP_EXT_HEADER_SIZE   4  /* defined-by-profile + length */

/* Offsets of the fields the hot path rewrites. */
#define CQ_RTP_SEQ_OFFSET  2
#define CQ_RTP_TS_OFFSET   4
#define CQ_RTP_SSRC_OFFSET 8

/* RFC 8285 §4.2: the one-byte form's profile value. */
#define CQ_RTP_EXT_PROFILE_ONE_BYTE 0xBEDE
/* RFC 8285 §4.3: the two-byte form's profile value is 0x100 in the top 12 bits and four
 * application-dependent bits ("appbits") in the low 4. */
#define CQ_RTP_EXT_PROFILE_TWO_BYTE      0x1000
#define CQ_RTP_EXT_PROFILE_TWO_BYTE_MASK 0xFFF0

#define CQ_RTP_EXT_ONE_BYTE_MAX_ID       14 /* 15 is reserved: it ends the extension block */
#define CQ_RTP_EXT_ONE_BYTE_MAX_LEN      16
#define CQ_RTP_EXT_TWO_BYTE_MAX_ID       255
#define CQ_RTP_EXT_TWO_BYTE_MAX_LEN      255

/* Largest header the format allows: 15 CSRCs and a 65535-word extension block. */
#define CQ_RTP_MAX_HEADER_SIZE                                                                     \
    (CQ_RTP_FIXED_HEADER_SIZE + CQ_RTP_MAX_CSRC * CQ_RTP_CSRC_SIZE + CQ_RTP_EXT_HEADER_SIZE +      \
     4 * 65535)

/* How the header-extension block (if any) is laid out. */
typedef enum {
    CQ_RTP_EXT_NONE = 0, /* X bit clear */
    CQ_RTP_EXT_ONE_BYTE, /* RFC 8285 §4.2, profile 0xBEDE */
    CQ_RTP_EXT_TWO_BYTE, /* RFC 8285 §4.3, profile 0x100X */
    CQ_RTP_EXT_OPAQUE,   /* any other profile (RFC 3550 §5.3.1): bytes only */
} cq_rtp_ext_form_t;

/*
 * A parsed RTP packet. Every pointer points into the buffer given to cq_rtp_parse, which
 * the caller owns and must keep alive (and unmoved) while the view is used. The scalar
 * fields are a snapshot taken at parse time: the in-place setters below change the bytes,
 * not the view.
 */
typedef struct {
    const uint8_t *pkt; /* first byte of the packet */
    size_t pkt_len;     /* the whole datagram, padding included */

    uint8_t version;      /* always CQ_RTP_VERSION after a successful parse */
    bool padding;         /* P bit */
    bool extension;       /* X bit */
    bool marker;          /* M bit */
    uint8_t payload_type; /* 0..127 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;

    uint8_t csrc_count;  /* 0..15 */
    const uint8_t *csrc; /* csrc_count big-endian 32-bit ids; read with cq_rtp_view_csrc */

    cq_rtp_ext_form_t ext_form;
    uint16_t ext_profile;    /* the "defined by profile" field; 0 when ext_form is NONE */
    uint8_t ext_appbits;     /* low 4 bits of a two-byte-form profile, else 0 */
    const uint8_t *ext_data; /* the block after its 4-byte header (NULL when NONE) */
    size_t ext_len;          /* 4 * the length field: a multiple of 4, may be 0 */

    size_t header_len;      /* 12 + 4 * CC + (X ? 4 + ext_len : 0) */
    const uint8_t *payload; /* pkt + header_len */
    size_t payload_len;     /* padding excluded; may be 0 (e.g. padding-only probes) */
    uint8_t padding_len;    /* padding bytes at the end, count byte included; 0 if P clear */
} cq_rtp_view_t;

/*
 * Parses the RTP packet in [buf, buf + len) into *v without copying: the view points into
 * buf. The cost is constant plus one short walk over the extension elements (to check
 * they are well formed, so later lookups and iteration cannot fail); the payload is never
 * read except for its last byte when P is set.
 *
 * Returns the header length (> 0) and fills *v, or:
 *   CQ_EVERSION    the version bits are not 2 (checked first, on the first byte alone);
 *   CQ_ETRUNCATED  the buffer ends before the header it announces (fixed part, CSRCs,
 *                  extension header or extension block), or P is set and no byte is left
 *                  for the padding count;
 *   CQ_EMALFORMED  the padding count is 0 or larger than what follows the header, or an
 *                  RFC 8285 element runs past the end of its extension block.
 * *v is untouched on failure.
 */
int cq_rtp_parse(const uint8_t *buf, size_t len, cq_rtp_view_t *v);

/* The i-th CSRC (i < v->csrc_count). */
static inline uint32_t cq_rtp_view_csrc(const cq_rtp_view_t *v, unsigned i) {
    return cq_load_be32(v->csrc + CQ_RTP_CSRC_SIZE * i);
}

/* ---- Header extension elements (RFC 8285) ---------------------------------------------- */

/* One extension element: for iteration it points into the parsed packet; for the builder
 * into caller memory (data may be NULL when len is 0). */
typedef struct {
    uint8_t id;
    uint8_t len;
    const uint8_t *data;
} cq_rtp_ext_t;

/* Allocation-free iterator over the elements of a view's extension block. A plain value
 * the caller owns; it points into the packet. */
typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    cq_rtp_ext_form_t form;
} cq_rtp_ext_iter_t;

/* Starts iterating over v's elements. A view without an RFC 8285 block (no X bit, or an
 * opaque profile) yields no elements. */
void cq_rtp_ext_iter_init(cq_rtp_ext_iter_t *it, const cq_rtp_view_t *v);

/*
 * Stores the next element in *e and returns 1, or returns 0 at the end. Padding bytes
 * (RFC 8285 §4.1: value 0, or any byte whose id is 0) are skipped; in the one-byte form an
 * id of 15 ends the block, its length ignored (§4.2). On a view from cq_rtp_parse this
 * cannot fail; on a hand-made view it returns CQ_EMALFORMED for an element that overruns
 * the block, and then keeps returning 0.
 */
int cq_rtp_ext_iter_next(cq_rtp_ext_iter_t *it, cq_rtp_ext_t *e);

/*
 * Finds the first element with the given id. On success returns 0 and sets *data (into
 * the packet) and *len; returns CQ_ENOENT when no such element precedes the end (id 0 is
 * padding and id 15 in the one-byte form is the terminator, so neither is ever found).
 * Outputs are untouched on failure.
 */
int cq_rtp_ext_find(const cq_rtp_view_t *v, uint8_t id, const uint8_t **data, size_t *len);

/* ---- In-place rewrites ------------------------------------------------------------------ */

/*
 * The setters write one field of the fixed header at its fixed offset. pkt is a packet
 * whose header was parsed successfully, or a byte copy of one (the relay rewrites the
 * copy it sends, keeping the received slot intact for retransmission). They do not update
 * any view. The caller guarantees the 12 fixed bytes exist.
 */
static inline void cq_rtp_set_seq(uint8_t *pkt, uint16_t seq) {
    cq_store_be16(pkt + CQ_RTP_SEQ_OFFSET, seq);
}

static inline void cq_rtp_set_timestamp(uint8_t *pkt, uint32_t ts) {
    cq_store_be32(pkt + CQ_RTP_TS_OFFSET, ts);
}

static inline void cq_rtp_set_ssrc(uint8_t *pkt, uint32_t ssrc) {
    cq_store_be32(pkt + CQ_RTP_SSRC_OFFSET, ssrc);
}

/* pt is 0..127; its high bit would be the marker, so it is masked off. */
static inline void cq_rtp_set_payload_type(uint8_t *pkt, uint8_t pt) {
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | (pt & 0x7f));
}

static inline void cq_rtp_set_marker(uint8_t *pkt, bool marker) {
    pkt[1] = (uint8_t)((pkt[1] & 0x7f) | (marker ? 0x80 : 0));
}

/*
 * Overwrites the value of the first extension element with the given id, keeping its
 * length: e.g. the relay restamps the transport-wide sequence number of each forwarded
 * copy. v is the view of the packet, pkt the packet itself or a copy of at least its
 * header (same layout): the element is written at the same offset in pkt.
 *
 * Returns 0, or CQ_ENOENT (no such element) or CQ_EINVAL (len differs from the
 * element's). Nothing is written on failure.
 */
int cq_rtp_ext_rewrite(uint8_t *pkt, const cq_rtp_view_t *v, uint8_t id, const uint8_t *data,
                       size_t len);

/* ---- Builder ------------------------------------------------------------------------------ */

/* The fields of a header to build; version is always 2. */
typedef struct {
    uint8_t payload_type; /* 0..127 */
    bool marker;
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    uint8_t csrc_count; /* 0..15 */
    uint32_t csrc[CQ_RTP_MAX_CSRC];
    /* Padding the packet will end with, count byte included; 0 for none. The header
     * writer only sets the P bit for it: the bytes go after the payload, written by
     * cq_rtp_padding_append. */
    uint8_t padding_len;
} cq_rtp_header_t;

/* Copies a view's header fields (CSRCs and padding length included) into *h, e.g. to
 * rebuild a header with different extensions. */
void cq_rtp_header_from_view(const cq_rtp_view_t *v, cq_rtp_header_t *h);

/*
 * Bytes cq_rtp_header_write will produce for h and the n elements exts[0..n): the fixed
 * header, the CSRCs and, when n > 0, the extension block padded to a 32-bit boundary.
 * The one-byte form is chosen when every id is 1..14 and every len 1..16, else the
 * two-byte form (which a receiver must have agreed to, with RFC 8285's a=extmap-allow-mixed).
 * Elements are written in the order given.
 *
 * Returns the size, or CQ_EINVAL: payload type > 127, csrc_count > 15, an id of 0, a
 * non-zero len with NULL data, n > 0 with exts NULL, or a block beyond 65535 words.
 */
int cq_rtp_header_size(const cq_rtp_header_t *h, const cq_rtp_ext_t *exts, size_t n);

/*
 * Writes the header described above into [buf, buf + cap). The caller writes the payload
 * right after it. Returns the bytes written, or CQ_EINVAL (as cq_rtp_header_size) or
 * CQ_ENOBUFS (cap too small); nothing is written on failure.
 */
int cq_rtp_header_write(const cq_rtp_header_t *h, const cq_rtp_ext_t *exts, size_t n, uint8_t *buf,
                        size_t cap);

/*
 * Appends padding_len bytes of RTP padding (RFC 3550 §5.1: zeros, then the count in the
 * last byte) to the packet of len bytes in pkt, and sets its P bit. The packet must not
 * already end with padding. Returns the new packet length, or CQ_EINVAL (padding_len 0,
 * len < 12, or a result beyond INT_MAX) or CQ_ENOBUFS (cap < len + padding_len); nothing
 * is written on failure.
 */
int cq_rtp_padding_append(uint8_t *pkt, size_t len, size_t cap, uint8_t padding_len);

#endif
