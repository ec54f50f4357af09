#include "rtp/rtcp.h"

#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"

_Static_assert(CQ_RTCP_HEADER_SIZE == 4, "V/P/count, PT, 16-bit length");
_Static_assert(CQ_RTCP_REPORT_SIZE == 4 + 1 + 3 + 4 + 4 + 4 + 4,
               "SSRC, fraction, cumulative lost, highest seq, jitter, LSR, DLSR");
_Static_assert(CQ_RTCP_SR_SIZE == CQ_RTCP_HEADER_SIZE + 4 + 8 + 4 + 4 + 4,
               "header, SSRC, NTP, RTP timestamp, packet and octet counts");
_Static_assert(CQ_RTCP_RR_SIZE == CQ_RTCP_HEADER_SIZE + 4, "header, SSRC");
_Static_assert(CQ_RTCP_FB_SIZE == CQ_RTCP_HEADER_SIZE + 4 + 4, "header, sender, media SSRC");
_Static_assert(CQ_RTCP_PLI_SIZE == CQ_RTCP_FB_SIZE, "a PLI has no FCI");
_Static_assert(CQ_RTCP_REMB_SIZE == CQ_RTCP_FB_SIZE + 4 + 4,
               "feedback header, 'REMB', num SSRC + exponent + mantissa");
_Static_assert(CQ_RTCP_MAX_SIZE == (0xffff + 1) * 4, "16-bit length in words, minus one");

#define NACK_PAIR_SIZE 4 /* PID, BLP */
#define FIR_ENTRY_SIZE 8 /* SSRC, seq nr, 3 reserved bytes */
_Static_assert(NACK_PAIR_SIZE == 2 + 2, "PID + BLP");
_Static_assert(FIR_ENTRY_SIZE == 4 + 1 + 3, "SSRC + seq nr + reserved");

static size_t round_up4(size_t n) {
    return (n + 3) & ~(size_t)3;
}

/* ------------------------------------------------------------------------------------ */
/* Walking a compound                                                                     */

/*
 * RFC 3550 §6.1, §6.4.1: the header every RTCP packet starts with.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|  count  |      PT       |             length            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * length is the packet's size in 32-bit words minus one, header and padding included, so a
 * walk always advances and a length of 0 is a valid header-only packet. With P set, the
 * last byte counts the padding bytes (itself included); only the last packet of a
 * compound may carry padding (§6.4.1, §A.2), since padding exists for encryption, which
 * covers the whole compound.
 */
void cq_rtcp_iter_init(cq_rtcp_iter_t *it, const uint8_t *data, size_t len) {
    it->p = data;
    it->end = data + len;
    it->err = 0;
}

int cq_rtcp_iter_next(cq_rtcp_iter_t *it, cq_rtcp_header_t *h) {
    if (it->err)
        return it->err;
    const uint8_t *p = it->p;
    size_t left = (size_t)(it->end - p);
    if (left == 0)
        return 0;

    int err = 0;
    size_t size = 0;
    if (left < CQ_RTCP_HEADER_SIZE) {
        err = CQ_ETRUNCATED;
    } else if ((p[0] >> 6) != 2) {
        err = CQ_EVERSION;
    } else if (p[1] < 192 || p[1] > 223) {
        /* RFC 5761 §4: on a port shared with RTP only 192..223 are RTCP. */
        err = CQ_EMALFORMED;
    } else {
        size = ((size_t)cq_load_be16(p + 2) + 1) * 4;
        if (size > left)
            err = CQ_ETRUNCATED;
    }

    size_t pad = 0;
    if (!err && (p[0] & 0x20)) {
        pad = p[size - 1];
        if (size != left || pad == 0 || pad > size - CQ_RTCP_HEADER_SIZE)
            err = CQ_EMALFORMED;
    }
    if (err) {
        it->err = err;
        return err;
    }

    h->data = p;
    h->size = size;
    h->body = p + CQ_RTCP_HEADER_SIZE;
    h->body_len = size - CQ_RTCP_HEADER_SIZE - pad;
    h->count = p[0] & 0x1f;
    h->pt = p[1];
    h->padded = (uint8_t)((p[0] >> 5) & 1);
    it->p = p + size;
    return (int)size;
}

int cq_rtcp_validate(const uint8_t *data, size_t len) {
    if (len == 0)
        return CQ_ETRUNCATED;
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    int n, packets = 0;
    cq_rtcp_iter_init(&it, data, len);
    while ((n = cq_rtcp_iter_next(&it, &h)) > 0)
        packets++;
    return n < 0 ? n : packets;
}

void cq_rtcp_header_write(uint8_t *p, uint8_t count, uint8_t pt, size_t packet_len) {
    p[0] = (uint8_t)(0x80 | (count & 0x1f));
    p[1] = pt;
    cq_store_be16(p + 2, (uint16_t)(packet_len / 4 - 1));
}

/* ------------------------------------------------------------------------------------ */
/* SR and RR                                                                             */

/*
 * RFC 3550 §6.4.1 (SR) and §6.4.2 (RR).
 *
 *         0                   1                   2                   3
 *         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * header |V=2|P|    RC   |   PT=SR=200   |             length            |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         SSRC of sender                        |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * sender |              NTP timestamp, most significant word             |
 * info   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |             NTP timestamp, least significant word             |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         RTP timestamp                         |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                     sender's packet count                     |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                      sender's octet count                     |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * report |                 SSRC_1 (SSRC of first source)                 |
 * block  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   1    | fraction lost |       cumulative number of packets lost       |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |           extended highest sequence number received           |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                      interarrival jitter                      |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                         last SR (LSR)                         |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                   delay since last SR (DLSR)                  |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *        |                  profile-specific extensions                  |
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * An RR (PT=201) is the same without the sender info.
 */
int cq_rtcp_sr_parse(const cq_rtcp_header_t *h, cq_rtcp_sr_t *sr) {
    if (h->pt != CQ_RTCP_PT_SR)
        return CQ_EINVAL;
    const size_t fixed = CQ_RTCP_SR_SIZE - CQ_RTCP_HEADER_SIZE;
    if (h->body_len < fixed + (size_t)h->count * CQ_RTCP_REPORT_SIZE)
        return CQ_EMALFORMED;
    const uint8_t *b = h->body;
    sr->ssrc = cq_load_be32(b);
    sr->info.ntp = cq_load_be64(b + 4);
    sr->info.rtp_ts = cq_load_be32(b + 12);
    sr->info.packet_count = cq_load_be32(b + 16);
    sr->info.octet_count = cq_load_be32(b + 20);
    sr->reports.data = b + fixed;
    sr->reports.count = h->count;
    return 0;
}

int cq_rtcp_rr_parse(const cq_rtcp_header_t *h, cq_rtcp_rr_t *rr) {
    if (h->pt != CQ_RTCP_PT_RR)
        return CQ_EINVAL;
    const size_t fixed = CQ_RTCP_RR_SIZE - CQ_RTCP_HEADER_SIZE;
    if (h->body_len < fixed + (size_t)h->count * CQ_RTCP_REPORT_SIZE)
        return CQ_EMALFORMED;
    rr->ssrc = cq_load_be32(h->body);
    rr->reports.data = h->body + fixed;
    rr->reports.count = h->count;
    return 0;
}

cq_rtcp_report_t cq_rtcp_report_at(const cq_rtcp_reports_t *reports, size_t i) {
    cq_rtcp_report_t r = {0};
    if (i >= reports->count)
        return r;
    const uint8_t *p = reports->data + i * CQ_RTCP_REPORT_SIZE;
    r.ssrc = cq_load_be32(p);
    r.fraction_lost = p[4];
    /* Sign-extend the 24-bit two's complement count. */
    uint32_t lost = cq_load_be24(p + 5);
    r.cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
    r.highest_seq = cq_load_be32(p + 8);
    r.jitter = cq_load_be32(p + 12);
    r.lsr = cq_load_be32(p + 16);
    r.dlsr = cq_load_be32(p + 20);
    return r;
}

int cq_rtcp_report_find(const cq_rtcp_reports_t *reports, uint32_t ssrc, cq_rtcp_report_t *out) {
    for (size_t i = 0; i < reports->count; i++) {
        if (cq_load_be32(reports->data + i * CQ_RTCP_REPORT_SIZE) == ssrc) {
            *out = cq_rtcp_report_at(reports, i);
            return 0;
        }
    }
    return CQ_ENOENT;
}

static void report_write(uint8_t *p, const cq_rtcp_report_t *r) {
    int32_t lost = r->cumulative_lost;
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    cq_store_be32(p, r->ssrc);
    p[4] = r->fraction_lost;
    cq_store_be24(p + 5, (uint32_t)lost & 0xffffff);
    cq_store_be32(p + 8, r->highest_seq);
    cq_store_be32(p + 12, r->jitter);
    cq_store_be32(p + 16, r->lsr);
    cq_store_be32(p + 20, r->dlsr);
}

size_t cq_rtcp_sr_size(size_t report_count) {
    return CQ_RTCP_SR_SIZE + report_count * CQ_RTCP_REPORT_SIZE;
}

size_t cq_rtcp_rr_size(size_t report_count) {
    return CQ_RTCP_RR_SIZE + report_count * CQ_RTCP_REPORT_SIZE;
}

int cq_rtcp_sr_write(uint32_t ssrc, const cq_rtcp_sender_info_t *info,
                     const cq_rtcp_report_t *reports, size_t count, uint8_t *buf, size_t cap) {
    if (count > CQ_RTCP_MAX_COUNT)
        return CQ_EINVAL;
    size_t size = cq_rtcp_sr_size(count);
    if (cap < size)
        return CQ_ENOBUFS;
    cq_rtcp_header_write(buf, (uint8_t)count, CQ_RTCP_PT_SR, size);
    cq_store_be32(buf + 4, ssrc);
    cq_store_be64(buf + 8, info->ntp);
    cq_store_be32(buf + 16, info->rtp_ts);
    cq_store_be32(buf + 20, info->packet_count);
    cq_store_be32(buf + 24, info->octet_count);
    for (size_t i = 0; i < count; i++)
        report_write(buf + CQ_RTCP_SR_SIZE + i * CQ_RTCP_REPORT_SIZE, &reports[i]);
    return (int)size;
}

int cq_rtcp_rr_write(uint32_t ssrc, const cq_rtcp_report_t *reports, size_t count, uint8_t *buf,
                     size_t cap) {
    if (count > CQ_RTCP_MAX_COUNT)
        return CQ_EINVAL;
    size_t size = cq_rtcp_rr_size(count);
    if (cap < size)
        return CQ_ENOBUFS;
    cq_rtcp_header_write(buf, (uint8_t)count, CQ_RTCP_PT_RR, size);
    cq_store_be32(buf + 4, ssrc);
    for (size_t i = 0; i < count; i++)
        report_write(buf + CQ_RTCP_RR_SIZE + i * CQ_RTCP_REPORT_SIZE, &reports[i]);
    return (int)size;
}

/* ------------------------------------------------------------------------------------ */
/* NTP time                                                                              */

uint64_t cq_rtcp_ntp_from_us(uint64_t us) {
    uint64_t sec = us / 1000000u;
    uint64_t frac = ((us % 1000000u) << 32) / 1000000u;
    return sec << 32 | frac;
}

uint64_t cq_rtcp_ntp_to_us(uint64_t ntp) {
    /* Round to the nearest microsecond so that to_us(from_us(x)) == x. */
    uint64_t frac = ((ntp & 0xffffffffu) * 1000000u + 0x80000000u) >> 32;
    return (ntp >> 32) * 1000000u + frac;
}

uint32_t cq_rtcp_ntp_short(uint64_t ntp) {
    return (uint32_t)(ntp >> 16);
}

uint32_t cq_rtcp_dlsr_from_us(uint64_t us) {
    if (us >= (uint64_t)UINT32_MAX * 1000000u / 65536u)
        return UINT32_MAX;
    return (uint32_t)(us * 65536u / 1000000u);
}

int cq_rtcp_rtt_us(uint32_t now_short, uint32_t lsr, uint32_t dlsr, uint32_t *rtt_us) {
    if (lsr == 0)
        return CQ_ENOENT;
    uint32_t rtt = now_short - lsr - dlsr;
    if (rtt & 0x80000000u) /* below zero, modulo 2^32 */
        rtt = 0;
    *rtt_us = (uint32_t)(((uint64_t)rtt * 1000000u) >> 16);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* SDES                                                                                  */

/*
 * RFC 3550 §6.5.
 *
 *         0                   1                   2                   3
 *         0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *        +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * header |V=2|P|    SC   |  PT=SDES=202  |             length            |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * chunk  |                          SSRC/CSRC_1                          |
 *   1    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                           SDES items                          |
 *        |                              ...                              |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * chunk  |                          SSRC/CSRC_2                          |
 *   2    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *        |                           SDES items                          |
 *        |                              ...                              |
 *        +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *
 * Each item is a type byte, a length byte and that many bytes of text, not
 * null-terminated. The item list of a chunk ends with one or more null bytes, the first
 * read as item type 0 (END), the rest padding up to the next 32-bit boundary, so every
 * chunk starts on a 32-bit boundary. The padding bytes should be zero; they are not
 * checked, since nothing is read from them.
 */

/* Checks one chunk at body[pos]. Returns the offset just past it, or 0 when it breaks the
 * rules; fills *chunk when it does not. */
static size_t sdes_chunk_check(const uint8_t *body, size_t len, size_t pos,
                               cq_rtcp_sdes_chunk_t *chunk) {
    if (len - pos < 4)
        return 0;
    size_t start = pos + 4, i = start;
    for (;;) {
        if (i >= len)
            return 0;
        if (body[i] == CQ_RTCP_SDES_END)
            break;
        if (len - i < 2 || len - i - 2 < body[i + 1])
            return 0;
        i += 2 + (size_t)body[i + 1];
    }
    size_t next = round_up4(i + 1);
    if (next > len)
        return 0;
    chunk->ssrc = cq_load_be32(body + pos);
    chunk->items = body + start;
    chunk->items_len = i - start;
    return next;
}

int cq_rtcp_sdes_parse(const cq_rtcp_header_t *h, cq_rtcp_sdes_t *sdes) {
    if (h->pt != CQ_RTCP_PT_SDES)
        return CQ_EINVAL;
    size_t pos = 0;
    for (unsigned i = 0; i < h->count; i++) {
        cq_rtcp_sdes_chunk_t c;
        pos = sdes_chunk_check(h->body, h->body_len, pos, &c);
        if (pos == 0)
            return CQ_EMALFORMED;
    }
    if (pos != h->body_len)
        return CQ_EMALFORMED;
    sdes->data = h->body;
    sdes->len = h->body_len;
    sdes->chunk_count = h->count;
    return 0;
}

int cq_rtcp_sdes_next_chunk(const cq_rtcp_sdes_t *sdes, size_t *pos, cq_rtcp_sdes_chunk_t *chunk) {
    if (*pos >= sdes->len)
        return 0;
    size_t next = sdes_chunk_check(sdes->data, sdes->len, *pos, chunk);
    if (next == 0)
        return 0;
    *pos = next;
    return 1;
}

int cq_rtcp_sdes_next_item(const cq_rtcp_sdes_chunk_t *chunk, size_t *pos,
                           cq_rtcp_sdes_item_t *item) {
    size_t i = *pos, len = chunk->items_len;
    const uint8_t *p = chunk->items;
    if (i >= len || len - i < 2 || len - i - 2 < p[i + 1] || p[i] == CQ_RTCP_SDES_END)
        return 0;
    item->type = p[i];
    item->len = p[i + 1];
    item->text = p + i + 2;
    *pos = i + 2 + item->len;
    return 1;
}

int cq_rtcp_sdes_find(const cq_rtcp_sdes_t *sdes, uint32_t ssrc, uint8_t type,
                      cq_rtcp_sdes_item_t *item) {
    size_t cpos = 0;
    cq_rtcp_sdes_chunk_t c;
    while (cq_rtcp_sdes_next_chunk(sdes, &cpos, &c)) {
        if (c.ssrc != ssrc)
            continue;
        size_t ipos = 0;
        cq_rtcp_sdes_item_t it;
        while (cq_rtcp_sdes_next_item(&c, &ipos, &it)) {
            if (it.type == type) {
                *item = it;
                return 0;
            }
        }
    }
    return CQ_ENOENT;
}

/* A chunk's size on the wire: SSRC, items, at least one null byte, padding. */
static size_t sdes_chunk_size(size_t items_len) {
    return 4 + round_up4(items_len + 1);
}

size_t cq_rtcp_sdes_cname_size(size_t cname_len) {
    return CQ_RTCP_HEADER_SIZE + sdes_chunk_size(2 + cname_len);
}

int cq_rtcp_sdes_cname_write(uint32_t ssrc, const char *cname, size_t cname_len, uint8_t *buf,
                             size_t cap) {
    if (cname_len == 0 || cname_len > 255)
        return CQ_EINVAL;
    size_t size = cq_rtcp_sdes_cname_size(cname_len);
    if (cap < size)
        return CQ_ENOBUFS;
    cq_rtcp_header_write(buf, 1, CQ_RTCP_PT_SDES, size);
    cq_store_be32(buf + 4, ssrc);
    buf[8] = CQ_RTCP_SDES_CNAME;
    buf[9] = (uint8_t)cname_len;
    memcpy(buf + 10, cname, cname_len);
    memset(buf + 10 + cname_len, 0, size - 10 - cname_len);
    return (int)size;
}

/* True when items[0 .. len) is a sequence of whole, non-null items. */
static int sdes_items_ok(const uint8_t *items, size_t len) {
    size_t i = 0;
    while (i < len) {
        if (items[i] == CQ_RTCP_SDES_END || len - i < 2 || len - i - 2 < items[i + 1])
            return 0;
        i += 2 + (size_t)items[i + 1];
    }
    return 1;
}

size_t cq_rtcp_sdes_size(const cq_rtcp_sdes_chunk_t *chunks, size_t count) {
    size_t size = CQ_RTCP_HEADER_SIZE;
    for (size_t i = 0; i < count; i++)
        size += sdes_chunk_size(chunks[i].items_len);
    return size;
}

int cq_rtcp_sdes_write(const cq_rtcp_sdes_chunk_t *chunks, size_t count, uint8_t *buf, size_t cap) {
    if (count > CQ_RTCP_MAX_COUNT)
        return CQ_EINVAL;
    for (size_t i = 0; i < count; i++) {
        if (chunks[i].items_len > CQ_RTCP_MAX_SIZE ||
            !sdes_items_ok(chunks[i].items, chunks[i].items_len))
            return CQ_EINVAL;
    }
    size_t size = cq_rtcp_sdes_size(chunks, count);
    if (size > CQ_RTCP_MAX_SIZE)
        return CQ_EINVAL;
    if (cap < size)
        return CQ_ENOBUFS;
    cq_rtcp_header_write(buf, (uint8_t)count, CQ_RTCP_PT_SDES, size);
    uint8_t *p = buf + CQ_RTCP_HEADER_SIZE;
    for (size_t i = 0; i < count; i++) {
        size_t csize = sdes_chunk_size(chunks[i].items_len);
        cq_store_be32(p, chunks[i].ssrc);
        if (chunks[i].items_len)
            memcpy(p + 4, chunks[i].items, chunks[i].items_len);
        memset(p + 4 + chunks[i].items_len, 0, csize - 4 - chunks[i].items_len);
        p += csize;
    }
    return (int)size;
}

/* ------------------------------------------------------------------------------------ */
/* BYE                                                                                   */

/*
 * RFC 3550 §6.6.
 *
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |V=2|P|    SC   |   PT=BYE=203  |             length            |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       |                           SSRC/CSRC                           |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       :                              ...                              :
 *       +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * (opt) |     length    |               reason for leaving            ...
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The reason is padded with null bytes to the next 32-bit boundary; anything more after it
 * would belong to nothing, so it is rejected.
 */
int cq_rtcp_bye_parse(const cq_rtcp_header_t *h, cq_rtcp_bye_t *bye) {
    if (h->pt != CQ_RTCP_PT_BYE)
        return CQ_EINVAL;
    size_t ssrcs_len = (size_t)h->count * 4;
    if (h->body_len < ssrcs_len)
        return CQ_EMALFORMED;
    size_t rest = h->body_len - ssrcs_len;
    uint8_t reason_len = 0;
    if (rest > 0) {
        reason_len = h->body[ssrcs_len];
        if (rest != round_up4(1 + (size_t)reason_len))
            return CQ_EMALFORMED;
    }
    bye->ssrcs = h->body;
    bye->count = h->count;
    bye->reason = rest > 0 ? h->body + ssrcs_len + 1 : NULL;
    bye->reason_len = reason_len;
    return 0;
}

uint32_t cq_rtcp_bye_ssrc(const cq_rtcp_bye_t *bye, size_t i) {
    return i < bye->count ? cq_load_be32(bye->ssrcs + 4 * i) : 0;
}

size_t cq_rtcp_bye_size(size_t count, size_t reason_len) {
    return CQ_RTCP_HEADER_SIZE + 4 * count + (reason_len ? round_up4(1 + reason_len) : 0);
}

int cq_rtcp_bye_write(const uint32_t *ssrcs, size_t count, const char *reason, size_t reason_len,
                      uint8_t *buf, size_t cap) {
    if (count > CQ_RTCP_MAX_COUNT || reason_len > 255)
        return CQ_EINVAL;
    size_t size = cq_rtcp_bye_size(count, reason_len);
    if (cap < size)
        return CQ_ENOBUFS;
    cq_rtcp_header_write(buf, (uint8_t)count, CQ_RTCP_PT_BYE, size);
    uint8_t *p = buf + CQ_RTCP_HEADER_SIZE;
    for (size_t i = 0; i < count; i++, p += 4)
        cq_store_be32(p, ssrcs[i]);
    if (reason_len) {
        p[0] = (uint8_t)reason_len;
        memcpy(p + 1, reason, reason_len);
        memset(p + 1 + reason_len, 0, (size_t)(buf + size - (p + 1 + reason_len)));
    }
    return (int)size;
}

/* ------------------------------------------------------------------------------------ */
/* Feedback messages                                                                     */

/*
 * RFC 4585 §6.1: the common packet format of feedback messages.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|   FMT   |       PT      |          length               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                  SSRC of packet sender                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                  SSRC of media source                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :            Feedback Control Information (FCI)                 :
 *    :                                                               :
 */
int cq_rtcp_fb_parse(const cq_rtcp_header_t *h, cq_rtcp_fb_t *fb) {
    if (h->pt != CQ_RTCP_PT_RTPFB && h->pt != CQ_RTCP_PT_PSFB)
        return CQ_EINVAL;
    if (h->body_len < 8)
        return CQ_EMALFORMED;
    fb->sender_ssrc = cq_load_be32(h->body);
    fb->media_ssrc = cq_load_be32(h->body + 4);
    fb->fci = h->body + 8;
    fb->fci_len = h->body_len - 8;
    fb->pt = h->pt;
    fb->fmt = h->count;
    return 0;
}

/* Parses the feedback header of a message of the given PT and FMT. */
static int fb_parse_typed(const cq_rtcp_header_t *h, uint8_t pt, uint8_t fmt, cq_rtcp_fb_t *fb) {
    if (h->pt != pt || h->count != fmt)
        return CQ_EINVAL;
    return cq_rtcp_fb_parse(h, fb);
}

/* A feedback message whose FCI is a list of fixed-size entries (NACK pairs, FIR entries):
 * at least one entry and nothing but whole entries. */
static int fb_parse_entries(const cq_rtcp_header_t *h, uint8_t pt, uint8_t fmt, size_t entry_size,
                            cq_rtcp_fb_t *fb, size_t *count) {
    int err = fb_parse_typed(h, pt, fmt, fb);
    if (err)
        return err;
    if (fb->fci_len < entry_size || fb->fci_len % entry_size != 0)
        return CQ_EMALFORMED;
    *count = fb->fci_len / entry_size;
    return 0;
}

static void fb_header_write(uint8_t *buf, uint8_t pt, uint8_t fmt, size_t size, uint32_t sender,
                            uint32_t media) {
    cq_rtcp_header_write(buf, fmt, pt, size);
    cq_store_be32(buf + 4, sender);
    cq_store_be32(buf + 8, media);
}

/*
 * Generic NACK, RFC 4585 §6.2.1: RTPFB, FMT 1, an FCI of one or more of
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |            PID                |             BLP               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * A pair is one 32-bit word, as the length field counts, so the FCI is whole pairs unless
 * an odd padding count cuts one (rejected). A NACK without any pair asks for nothing and
 * is rejected too.
 */
int cq_rtcp_nack_parse(const cq_rtcp_header_t *h, cq_rtcp_nack_t *nack) {
    cq_rtcp_fb_t fb;
    size_t count;
    int err = fb_parse_entries(h, CQ_RTCP_PT_RTPFB, CQ_RTCP_FMT_NACK, NACK_PAIR_SIZE, &fb, &count);
    if (err)
        return err;
    nack->sender_ssrc = fb.sender_ssrc;
    nack->media_ssrc = fb.media_ssrc;
    nack->pairs = fb.fci;
    nack->count = count;
    return 0;
}

cq_rtcp_nack_pair_t cq_rtcp_nack_pair_at(const cq_rtcp_nack_t *nack, size_t i) {
    cq_rtcp_nack_pair_t pair = {0, 0};
    if (i < nack->count) {
        pair.pid = cq_load_be16(nack->pairs + i * NACK_PAIR_SIZE);
        pair.blp = cq_load_be16(nack->pairs + i * NACK_PAIR_SIZE + 2);
    }
    return pair;
}

int cq_rtcp_nack_expand(const cq_rtcp_nack_t *nack, uint16_t *seqs, size_t cap) {
    size_t n = 0;
    for (size_t i = 0; i < nack->count; i++) {
        cq_rtcp_nack_pair_t pair = cq_rtcp_nack_pair_at(nack, i);
        if (n == cap)
            return CQ_ENOBUFS;
        seqs[n++] = pair.pid;
        for (unsigned bit = 0; bit < 16; bit++) {
            if (!(pair.blp & (1u << bit)))
                continue;
            if (n == cap)
                return CQ_ENOBUFS;
            seqs[n++] = (uint16_t)(pair.pid + bit + 1);
        }
    }
    return (int)n;
}

int cq_rtcp_nack_compact(const uint16_t *lost, size_t n, cq_rtcp_nack_pair_t *pairs, size_t cap) {
    if (n == 0 || n > INT32_MAX)
        return CQ_EINVAL;
    for (size_t i = 1; i < n; i++) {
        uint16_t step = (uint16_t)(lost[i] - lost[i - 1]);
        if (step == 0 || step >= 0x8000)
            return CQ_EINVAL;
    }
    /* Greedy from the left: the first uncovered number must be some pair's PID (nothing
     * before it can cover it), and making it the PID covers as much as any choice could. */
    size_t count = 0;
    size_t i = 0;
    while (i < n) {
        if (count == cap)
            return CQ_ENOBUFS;
        uint16_t pid = lost[i++];
        uint16_t blp = 0;
        for (; i < n; i++) {
            uint16_t dist = (uint16_t)(lost[i] - pid);
            if (dist > 16)
                break;
            blp = (uint16_t)(blp | (1u << (dist - 1)));
        }
        pairs[count].pid = pid;
        pairs[count].blp = blp;
        count++;
    }
    return (int)count;
}

size_t cq_rtcp_nack_size(size_t count) {
    return CQ_RTCP_FB_SIZE + count * NACK_PAIR_SIZE;
}

int cq_rtcp_nack_write(uint32_t sender_ssrc, uint32_t media_ssrc, const cq_rtcp_nack_pair_t *pairs,
                       size_t count, uint8_t *buf, size_t cap) {
    if (count == 0 || count > (CQ_RTCP_MAX_SIZE - CQ_RTCP_FB_SIZE) / NACK_PAIR_SIZE)
        return CQ_EINVAL;
    size_t size = cq_rtcp_nack_size(count);
    if (cap < size)
        return CQ_ENOBUFS;
    fb_header_write(buf, CQ_RTCP_PT_RTPFB, CQ_RTCP_FMT_NACK, size, sender_ssrc, media_ssrc);
    for (size_t i = 0; i < count; i++) {
        cq_store_be16(buf + CQ_RTCP_FB_SIZE + i * NACK_PAIR_SIZE, pairs[i].pid);
        cq_store_be16(buf + CQ_RTCP_FB_SIZE + i * NACK_PAIR_SIZE + 2, pairs[i].blp);
    }
    return (int)size;
}

/* PLI, RFC 4585 §6.3.1: PSFB, FMT 1, and no FCI at all. */
int cq_rtcp_pli_parse(const cq_rtcp_header_t *h, cq_rtcp_fb_t *pli) {
    cq_rtcp_fb_t fb;
    int err = fb_parse_typed(h, CQ_RTCP_PT_PSFB, CQ_RTCP_FMT_PLI, &fb);
    if (err)
        return err;
    if (fb.fci_len != 0)
        return CQ_EMALFORMED;
    *pli = fb;
    return 0;
}

int cq_rtcp_pli_write(uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t *buf, size_t cap) {
    if (cap < CQ_RTCP_PLI_SIZE)
        return CQ_ENOBUFS;
    fb_header_write(buf, CQ_RTCP_PT_PSFB, CQ_RTCP_FMT_PLI, CQ_RTCP_PLI_SIZE, sender_ssrc,
                    media_ssrc);
    return CQ_RTCP_PLI_SIZE;
}

/*
 * FIR, RFC 5104 §4.3.1: PSFB, FMT 4, the media source SSRC unused (0), an FCI of one or
 * more of
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                              SSRC                             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    | Seq nr.       |    Reserved                                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The reserved bytes are ignored on reading and written as zero.
 */
int cq_rtcp_fir_parse(const cq_rtcp_header_t *h, cq_rtcp_fir_t *fir) {
    cq_rtcp_fb_t fb;
    size_t count;
    int err = fb_parse_entries(h, CQ_RTCP_PT_PSFB, CQ_RTCP_FMT_FIR, FIR_ENTRY_SIZE, &fb, &count);
    if (err)
        return err;
    fir->sender_ssrc = fb.sender_ssrc;
    fir->media_ssrc = fb.media_ssrc;
    fir->entries = fb.fci;
    fir->count = count;
    return 0;
}

cq_rtcp_fir_entry_t cq_rtcp_fir_entry_at(const cq_rtcp_fir_t *fir, size_t i) {
    cq_rtcp_fir_entry_t e = {0, 0};
    if (i < fir->count) {
        e.ssrc = cq_load_be32(fir->entries + i * FIR_ENTRY_SIZE);
        e.seq_nr = fir->entries[i * FIR_ENTRY_SIZE + 4];
    }
    return e;
}

size_t cq_rtcp_fir_size(size_t count) {
    return CQ_RTCP_FB_SIZE + count * FIR_ENTRY_SIZE;
}

int cq_rtcp_fir_write(uint32_t sender_ssrc, const cq_rtcp_fir_entry_t *entries, size_t count,
                      uint8_t *buf, size_t cap) {
    if (count == 0 || count > (CQ_RTCP_MAX_SIZE - CQ_RTCP_FB_SIZE) / FIR_ENTRY_SIZE)
        return CQ_EINVAL;
    size_t size = cq_rtcp_fir_size(count);
    if (cap < size)
        return CQ_ENOBUFS;
    fb_header_write(buf, CQ_RTCP_PT_PSFB, CQ_RTCP_FMT_FIR, size, sender_ssrc, 0);
    for (size_t i = 0; i < count; i++) {
        uint8_t *p = buf + CQ_RTCP_FB_SIZE + i * FIR_ENTRY_SIZE;
        cq_store_be32(p, entries[i].ssrc);
        p[4] = entries[i].seq_nr;
        p[5] = p[6] = p[7] = 0;
    }
    return (int)size;
}

/*
 * REMB, draft-alvestrand-rmcat-remb-03 §2.2: PSFB, FMT 15 (application layer feedback),
 * media source SSRC 0, and this FCI:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Unique identifier 'R' 'E' 'M' 'B'                            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Num SSRC     | BR Exp    |  BR Mantissa                      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |   SSRC feedback                                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  ...                                                          |
 *
 * The bitrate is mantissa * 2^exp bits per second: 18 bits of mantissa, 6 of exponent.
 */
#define REMB_MANTISSA_MAX 0x3ffffu

int cq_rtcp_remb_parse(const cq_rtcp_header_t *h, cq_rtcp_remb_t *remb) {
    cq_rtcp_fb_t fb;
    int err = fb_parse_typed(h, CQ_RTCP_PT_PSFB, CQ_RTCP_FMT_AFB, &fb);
    if (err)
        return err;
    if (fb.fci_len < 4)
        return CQ_EMALFORMED;
    if (memcmp(fb.fci, "REMB", 4) != 0)
        return CQ_EUNSUPPORTED;
    if (fb.fci_len < 8)
        return CQ_EMALFORMED;
    uint8_t count = fb.fci[4];
    if (fb.fci_len != 8 + (size_t)count * 4)
        return CQ_EMALFORMED;
    unsigned exp = fb.fci[5] >> 2;
    uint64_t mantissa = cq_load_be24(fb.fci + 5) & REMB_MANTISSA_MAX;
    if (exp > 0 && (mantissa >> (64 - exp)) != 0)
        return CQ_EMALFORMED; /* more than 64 bits: no real link, and no uint64_t */
    remb->sender_ssrc = fb.sender_ssrc;
    remb->media_ssrc = fb.media_ssrc;
    remb->bitrate_bps = mantissa << exp;
    remb->ssrcs = fb.fci + 8;
    remb->count = count;
    return 0;
}

uint32_t cq_rtcp_remb_ssrc(const cq_rtcp_remb_t *remb, size_t i) {
    return i < remb->count ? cq_load_be32(remb->ssrcs + 4 * i) : 0;
}

size_t cq_rtcp_remb_size(size_t count) {
    return CQ_RTCP_REMB_SIZE + 4 * count;
}

int cq_rtcp_remb_write(uint32_t sender_ssrc, uint64_t bitrate_bps, const uint32_t *ssrcs,
                       size_t count, uint8_t *buf, size_t cap) {
    if (count > 255)
        return CQ_EINVAL;
    size_t size = cq_rtcp_remb_size(count);
    if (cap < size)
        return CQ_ENOBUFS;
    /* The smallest exponent keeps the most precision; dropping the low bits rounds down,
     * so a publisher is never told it may send more than the estimate. */
    unsigned exp = 0;
    while ((bitrate_bps >> exp) > REMB_MANTISSA_MAX)
        exp++;
    uint32_t mantissa = (uint32_t)(bitrate_bps >> exp);
    fb_header_write(buf, CQ_RTCP_PT_PSFB, CQ_RTCP_FMT_AFB, size, sender_ssrc, 0);
    memcpy(buf + 12, "REMB", 4);
    buf[16] = (uint8_t)count;
    cq_store_be24(buf + 17, (uint32_t)exp << 18 | mantissa);
    for (size_t i = 0; i < count; i++)
        cq_store_be32(buf + CQ_RTCP_REMB_SIZE + 4 * i, ssrcs[i]);
    return (int)size;
}

/* ------------------------------------------------------------------------------------ */
/* Compound builder                                                                      */

void cq_rtcp_compound_init(cq_rtcp_compound_t *c, uint8_t *buf, size_t cap) {
    c->buf = buf;
    c->cap = cap;
    c->len = 0;
    c->err = 0;
}

uint8_t *cq_rtcp_compound_tail(const cq_rtcp_compound_t *c) {
    return c->buf + c->len;
}

size_t cq_rtcp_compound_room(const cq_rtcp_compound_t *c) {
    return c->cap - c->len;
}

int cq_rtcp_compound_commit(cq_rtcp_compound_t *c, int written) {
    int err = 0;
    if (written < 0) {
        err = written;
    } else {
        /* The packet must be exactly what its own header says, or the compound's walk
         * would go astray at the next packet. */
        const uint8_t *p = c->buf + c->len;
        size_t n = (size_t)written;
        if (n < CQ_RTCP_HEADER_SIZE || n > cq_rtcp_compound_room(c) || (p[0] >> 6) != 2 ||
            ((size_t)cq_load_be16(p + 2) + 1) * 4 != n)
            err = CQ_EINVAL;
        else
            c->len += n;
    }
    if (err && !c->err)
        c->err = err;
    return err;
}

int cq_rtcp_compound_finish(const cq_rtcp_compound_t *c) {
    if (c->err)
        return c->err;
    if (c->len == 0)
        return CQ_EINVAL;
    return (int)c->len;
}
