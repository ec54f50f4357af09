#include "rtp/rtp.h"

#include <limits.h>
#include <string.h>

#include "rtp/error.h"

_Static_assert(CQ_RTP_FIXED_HEADER_SIZE == 12, "RFC 3550 §5.1: V..SSRC is three words");
_Static_assert(CQ_RTP_CSRC_SIZE == 4, "RFC 3550 §5.1: a CSRC is 32 bits");
_Static_assert(CQ_RTP_EXT_HEADER_SIZE == 4, "RFC 3550 §5.3.1: profile + length is one word");
_Static_assert(CQ_RTP_SSRC_OFFSET + 4 == CQ_RTP_FIXED_HEADER_SIZE, "SSRC ends the fixed part");
_Static_assert(CQ_RTP_MAX_HEADER_SIZE <= INT_MAX, "header lengths are returned as int");

/* The header extension block that may follow the CSRCs (RFC 3550 §5.3.1):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      defined by profile       |           length              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                        header extension                       |
 *   |                             ....                              |
 *
 * length counts 32-bit words after this first one, so 0 is valid. RFC 8285 §4.2 fills the
 * block with one-byte elements when the profile is 0xBEDE:
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |       0xBE    |    0xDE       |           length=3            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  ID   | L=0   |     data      |  ID   |  L=1  |   data...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *         ...data   |    0 (pad)    |    0 (pad)    |  ID   | L=3   |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                          data                                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * where L is the data length minus one, and with two-byte elements (8-bit id, 8-bit
 * length, 0..255 data bytes) when the profile is 0x100X (§4.3):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |       0x10    |    0x00       |           length=3            |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |      ID       |     L=0       |     ID        |     L=1       |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |       data    |    0 (pad)    |       ID      |      L=4      |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                          data                                 |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

/*
 * Reads the element at *pp in [*pp, end). Returns 1 with *e set and *pp moved past it,
 * 0 at the end of the block, or CQ_EMALFORMED for an element that overruns the block; at
 * the end and on error *pp is set to end so that every later call returns 0.
 *
 * Padding bytes are 0 (RFC 8285 §4.1). A byte whose id is 0 but whose length bits are not
 * can only be a sender's mistake; it names no element either, so it is skipped as one
 * byte of padding, as libwebrtc does, rather than failing the whole packet.
 */
static int ext_next(const uint8_t **pp, const uint8_t *end, cq_rtp_ext_form_t form,
                    cq_rtp_ext_t *e) {
    const uint8_t *p = *pp;
    if (form == CQ_RTP_EXT_ONE_BYTE) {
        while (p < end && (*p >> 4) == 0)
            p++;
        if (p == end || (*p >> 4) == 15) { /* §4.2: id 15 ends processing */
            *pp = end;
            return 0;
        }
        size_t n = (size_t)(*p & 0x0f) + 1;
        if ((size_t)(end - p) - 1 < n) {
            *pp = end;
            return CQ_EMALFORMED;
        }
        e->id = (uint8_t)(*p >> 4);
        e->len = (uint8_t)n;
        e->data = p + 1;
        *pp = p + 1 + n;
        return 1;
    }
    if (form == CQ_RTP_EXT_TWO_BYTE) {
        while (p < end && *p == 0)
            p++;
        if (p == end) {
            *pp = end;
            return 0;
        }
        if (end - p < 2 || (size_t)(end - p) - 2 < p[1]) {
            *pp = end;
            return CQ_EMALFORMED;
        }
        e->id = p[0];
        e->len = p[1];
        e->data = p + 2;
        *pp = p + 2 + p[1];
        return 1;
    }
    *pp = end;
    return 0;
}

int cq_rtp_parse(const uint8_t *buf, size_t len, cq_rtp_view_t *v) {
    /* The version is checked on the first byte alone, so a non-RTP datagram is reported
     * as such whatever its length. */
    if (len < 1)
        return CQ_ETRUNCATED;
    if ((buf[0] >> 6) != CQ_RTP_VERSION)
        return CQ_EVERSION;
    if (len < CQ_RTP_FIXED_HEADER_SIZE)
        return CQ_ETRUNCATED;

    cq_rtp_view_t r = {0};
    r.pkt = buf;
    r.pkt_len = len;
    r.version = CQ_RTP_VERSION;
    r.padding = (buf[0] & 0x20) != 0;
    r.extension = (buf[0] & 0x10) != 0;
    r.csrc_count = (uint8_t)(buf[0] & 0x0f);
    r.marker = (buf[1] & 0x80) != 0;
    r.payload_type = (uint8_t)(buf[1] & 0x7f);
    r.seq = cq_load_be16(buf + CQ_RTP_SEQ_OFFSET);
    r.timestamp = cq_load_be32(buf + CQ_RTP_TS_OFFSET);
    r.ssrc = cq_load_be32(buf + CQ_RTP_SSRC_OFFSET);

    const uint8_t *p = buf + CQ_RTP_FIXED_HEADER_SIZE;
    const uint8_t *end = buf + len;

    size_t csrc_bytes = (size_t)r.csrc_count * CQ_RTP_CSRC_SIZE;
    if ((size_t)(end - p) < csrc_bytes)
        return CQ_ETRUNCATED;
    r.csrc = p;
    p += csrc_bytes;

    if (r.extension) {
        if (end - p < CQ_RTP_EXT_HEADER_SIZE)
            return CQ_ETRUNCATED;
        r.ext_profile = cq_load_be16(p);
        r.ext_len = (size_t)cq_load_be16(p + 2) * 4;
        p += CQ_RTP_EXT_HEADER_SIZE;
        if ((size_t)(end - p) < r.ext_len)
            return CQ_ETRUNCATED;
        r.ext_data = p;
        p += r.ext_len;

        if (r.ext_profile == CQ_RTP_EXT_PROFILE_ONE_BYTE) {
            r.ext_form = CQ_RTP_EXT_ONE_BYTE;
        } else if ((r.ext_profile & CQ_RTP_EXT_PROFILE_TWO_BYTE_MASK) ==
                   CQ_RTP_EXT_PROFILE_TWO_BYTE) {
            r.ext_form = CQ_RTP_EXT_TWO_BYTE;
            r.ext_appbits = (uint8_t)(r.ext_profile & 0x0f);
        } else {
            r.ext_form = CQ_RTP_EXT_OPAQUE;
        }

        /* One walk over the (few, short) elements now means lookups and iteration on
         * this view can never meet a malformed element later. */
        const uint8_t *q = r.ext_data;
        cq_rtp_ext_t e;
        int rc;
        while ((rc = ext_next(&q, p, r.ext_form, &e)) > 0)
            ;
        if (rc < 0)
            return rc;
    }

    r.header_len = (size_t)(p - buf);
    r.payload = p;
    r.payload_len = (size_t)(end - p);

    if (r.padding) {
        /* RFC 3550 §5.1: the last byte counts the padding bytes, itself included, so it
         * is at least 1 and covers at most everything after the header. A padding-only
         * packet (empty payload) is valid: senders use them to probe bandwidth. */
        if (r.payload_len == 0)
            return CQ_ETRUNCATED;
        uint8_t count = end[-1];
        if (count == 0 || count > r.payload_len)
            return CQ_EMALFORMED;
        r.padding_len = count;
        r.payload_len -= count;
    }

    *v = r;
    return (int)r.header_len;
}

void cq_rtp_ext_iter_init(cq_rtp_ext_iter_t *it, const cq_rtp_view_t *v) {
    it->form = v->ext_form;
    if (v->ext_form == CQ_RTP_EXT_ONE_BYTE || v->ext_form == CQ_RTP_EXT_TWO_BYTE) {
        it->p = v->ext_data;
        it->end = v->ext_data + v->ext_len;
    } else {
        it->p = NULL;
        it->end = NULL;
    }
}

int cq_rtp_ext_iter_next(cq_rtp_ext_iter_t *it, cq_rtp_ext_t *e) {
    if (it->p == NULL)
        return 0;
    return ext_next(&it->p, it->end, it->form, e);
}

/* Finds the element with the given id; returns 1 and sets *e, or 0. */
static int ext_lookup(const cq_rtp_view_t *v, uint8_t id, cq_rtp_ext_t *e) {
    if (id == 0 || (v->ext_form == CQ_RTP_EXT_ONE_BYTE && id > CQ_RTP_EXT_ONE_BYTE_MAX_ID))
        return 0;
    cq_rtp_ext_iter_t it;
    cq_rtp_ext_iter_init(&it, v);
    while (cq_rtp_ext_iter_next(&it, e) > 0) {
        if (e->id == id)
            return 1;
    }
    return 0;
}

int cq_rtp_ext_find(const cq_rtp_view_t *v, uint8_t id, const uint8_t **data, size_t *len) {
    cq_rtp_ext_t e;
    if (!ext_lookup(v, id, &e))
        return CQ_ENOENT;
    *data = e.data;
    *len = e.len;
    return 0;
}

int cq_rtp_ext_rewrite(uint8_t *pkt, const cq_rtp_view_t *v, uint8_t id, const uint8_t *data,
                       size_t len) {
    cq_rtp_ext_t e;
    if (!ext_lookup(v, id, &e))
        return CQ_ENOENT;
    if (e.len != len)
        return CQ_EINVAL;
    /* memmove: the new value may come from the very packet being rewritten. */
    if (len > 0)
        memmove(pkt + (e.data - v->pkt), data, len);
    return 0;
}

void cq_rtp_header_from_view(const cq_rtp_view_t *v, cq_rtp_header_t *h) {
    cq_rtp_header_t r = {0};
    r.payload_type = v->payload_type;
    r.marker = v->marker;
    r.seq = v->seq;
    r.timestamp = v->timestamp;
    r.ssrc = v->ssrc;
    r.csrc_count = v->csrc_count;
    for (unsigned i = 0; i < v->csrc_count && i < CQ_RTP_MAX_CSRC; i++)
        r.csrc[i] = cq_rtp_view_csrc(v, i);
    r.padding_len = v->padding_len;
    *h = r;
}

/* The extension block for exts[0..n): returns its size with its 4-byte header and its
 * padding to a word (0 when n is 0) and sets *one_byte to the form chosen, or returns
 * CQ_EINVAL. */
static int ext_block_size(const cq_rtp_ext_t *exts, size_t n, bool *one_byte) {
    *one_byte = true;
    if (n == 0)
        return 0;
    if (exts == NULL)
        return CQ_EINVAL;
    size_t data = 0;
    for (size_t i = 0; i < n; i++) {
        if (exts[i].id == 0 || (exts[i].len > 0 && exts[i].data == NULL))
            return CQ_EINVAL;
        if (exts[i].id > CQ_RTP_EXT_ONE_BYTE_MAX_ID || exts[i].len == 0 ||
            exts[i].len > CQ_RTP_EXT_ONE_BYTE_MAX_LEN)
            *one_byte = false;
        data += exts[i].len;
        /* Bail out before the sum can grow without bound: 65535 words at most. */
        if (data > 4 * 65535)
            return CQ_EINVAL;
    }
    /* Each element costs one header byte in the one-byte form, two in the other. */
    size_t bytes = data + n * (*one_byte ? 1 : 2);
    size_t words = (bytes + 3) / 4;
    if (words > 65535)
        return CQ_EINVAL;
    return (int)(CQ_RTP_EXT_HEADER_SIZE + 4 * words);
}

int cq_rtp_header_size(const cq_rtp_header_t *h, const cq_rtp_ext_t *exts, size_t n) {
    if (h->payload_type > 127 || h->csrc_count > CQ_RTP_MAX_CSRC)
        return CQ_EINVAL;
    bool one_byte;
    int ext = ext_block_size(exts, n, &one_byte);
    if (ext < 0)
        return ext;
    return CQ_RTP_FIXED_HEADER_SIZE + CQ_RTP_CSRC_SIZE * h->csrc_count + ext;
}

int cq_rtp_header_write(const cq_rtp_header_t *h, const cq_rtp_ext_t *exts, size_t n, uint8_t *buf,
                        size_t cap) {
    if (h->payload_type > 127 || h->csrc_count > CQ_RTP_MAX_CSRC)
        return CQ_EINVAL;
    bool one_byte;
    int ext = ext_block_size(exts, n, &one_byte);
    if (ext < 0)
        return ext;
    size_t size = CQ_RTP_FIXED_HEADER_SIZE + CQ_RTP_CSRC_SIZE * (size_t)h->csrc_count + (size_t)ext;
    if (cap < size)
        return CQ_ENOBUFS;

    buf[0] = (uint8_t)(CQ_RTP_VERSION << 6 | (h->padding_len ? 0x20 : 0) | (n ? 0x10 : 0) |
                       h->csrc_count);
    buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->payload_type);
    cq_store_be16(buf + CQ_RTP_SEQ_OFFSET, h->seq);
    cq_store_be32(buf + CQ_RTP_TS_OFFSET, h->timestamp);
    cq_store_be32(buf + CQ_RTP_SSRC_OFFSET, h->ssrc);
    uint8_t *p = buf + CQ_RTP_FIXED_HEADER_SIZE;
    for (unsigned i = 0; i < h->csrc_count; i++, p += CQ_RTP_CSRC_SIZE)
        cq_store_be32(p, h->csrc[i]);

    if (n > 0) {
        uint8_t *block_end = p + ext;
        cq_store_be16(p, one_byte ? CQ_RTP_EXT_PROFILE_ONE_BYTE : CQ_RTP_EXT_PROFILE_TWO_BYTE);
        cq_store_be16(p + 2, (uint16_t)((ext - CQ_RTP_EXT_HEADER_SIZE) / 4));
        p += CQ_RTP_EXT_HEADER_SIZE;
        for (size_t i = 0; i < n; i++) {
            if (one_byte) {
                *p++ = (uint8_t)(exts[i].id << 4 | (exts[i].len - 1));
            } else {
                *p++ = exts[i].id;
                *p++ = exts[i].len;
            }
            if (exts[i].len > 0)
                memcpy(p, exts[i].data, exts[i].len);
            p += exts[i].len;
        }
        /* RFC 8285 §4.1: the block ends on a word boundary, filled with padding zeros. */
        memset(p, 0, (size_t)(block_end - p));
        p = block_end;
    }
    return (int)(p - buf);
}

int cq_rtp_padding_append(uint8_t *pkt, size_t len, size_t cap, uint8_t padding_len) {
    if (padding_len == 0 || len < CQ_RTP_FIXED_HEADER_SIZE || len > (size_t)INT_MAX - 255)
        return CQ_EINVAL;
    if (cap < len || cap - len < padding_len)
        return CQ_ENOBUFS;
    memset(pkt + len, 0, padding_len - 1u);
    pkt[len + padding_len - 1] = padding_len;
    pkt[0] |= 0x20;
    return (int)(len + padding_len);
}
