#include "tools/rec2webm/depack.h"

#include <stdlib.h>
#include <string.h>

#include "codec/red.h"
#include "codec/vp8_desc.h"
#include "rtp/error.h"
#include "rtp/seq.h"

/* ---- order -------------------------------------------------------------------------- */

static int by_seq(const void *a, const void *b) {
    const cq_depack_packet_t *x = a, *y = b;
    if (x->ext_seq != y->ext_seq)
        return x->ext_seq < y->ext_seq ? -1 : 1;
    /* The same packet twice: the earlier arrival first, so it is the one kept. */
    return x->arrival_us < y->arrival_us ? -1 : x->arrival_us > y->arrival_us;
}

size_t cq_depack_order(cq_depack_packet_t *pkts, size_t n, uint64_t *malformed) {
    cq_seq_unwrapper_t su;
    cq_ts_unwrapper_t tu;
    cq_seq_unwrapper_init(&su);
    cq_ts_unwrapper_init(&tu);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        cq_depack_packet_t p = pkts[i];
        if (cq_rtp_parse(p.pkt, p.len, &p.v) < 0) {
            if (malformed != NULL)
                (*malformed)++;
            continue;
        }
        p.ext_seq = cq_seq_unwrap(&su, p.v.seq);
        p.ext_ts = cq_ts_unwrap(&tu, p.v.timestamp);
        pkts[kept++] = p;
    }
    qsort(pkts, kept, sizeof *pkts, by_seq);
    size_t unique = 0;
    for (size_t i = 0; i < kept; i++)
        if (unique == 0 || pkts[unique - 1].ext_seq != pkts[i].ext_seq)
            pkts[unique++] = pkts[i];
    return unique;
}

/* ---- VP8 ---------------------------------------------------------------------------- */

void cq_depack_vp8_init(cq_depack_vp8_t *d, uint8_t *buf, size_t cap) {
    *d = (cq_depack_vp8_t){.buf = buf, .cap = cap, .need_key = true};
}

/* The frame being put together cannot be completed: drop it, and what depends on it. */
static void lose_frame(cq_depack_vp8_t *d) {
    d->lost_frames++;
    d->in_frame = false;
    d->need_key = true;
}

int cq_depack_vp8_push(cq_depack_vp8_t *d, const cq_depack_packet_t *p, cq_depack_frame_t *out) {
    const uint8_t *payload = p->pkt + p->v.header_len;
    size_t len = p->v.payload_len;
    if (p->v.payload_type != CQ_DEPACK_PT_VP8 || len == 0)
        return 0; /* not VP8, or padding alone (a probe) */
    bool gap = d->started && p->ext_seq != d->next_seq;
    d->started = true;
    d->next_seq = p->ext_seq + 1;
    if (gap) /* whatever the missing packets held is gone: a frame at least */
        lose_frame(d);
    cq_vp8_desc_t desc;
    if (cq_vp8_desc_parse(payload, len, &desc) < 0) {
        lose_frame(d);
        return 0;
    }
    if (cq_vp8_desc_starts_frame(&desc)) {
        if (d->in_frame) /* the last frame never ended (its marker packet was wrong) */
            lose_frame(d);
        d->in_frame = true;
        d->len = 0;
        d->frame_ts = p->ext_ts;
        d->frame_arrival = p->arrival_us;
    } else if (!d->in_frame) {
        return 0; /* the rest of a frame whose start is lost, counted already */
    } else if (p->ext_ts != d->frame_ts) {
        lose_frame(d);
        return 0;
    }
    size_t n = len - desc.size;
    if (n > d->cap - d->len) {
        lose_frame(d);
        return 0;
    }
    memcpy(d->buf + d->len, payload + desc.size, n);
    d->len += n;
    if (!p->v.marker)
        return 0;
    d->in_frame = false;
    cq_vp8_frame_header_t fh;
    if (cq_vp8_frame_header_parse(d->buf, d->len, &fh) < 0) {
        lose_frame(d);
        return 0;
    }
    if (d->need_key && !fh.keyframe) {
        d->waiting_dropped++;
        return 0;
    }
    d->need_key = false;
    d->frames++;
    *out = (cq_depack_frame_t){.data = d->buf,
                               .len = d->len,
                               .ext_ts = d->frame_ts,
                               .arrival_us = d->frame_arrival,
                               .keyframe = fh.keyframe,
                               .width = fh.width,
                               .height = fh.height};
    return 1;
}

/* ---- Opus --------------------------------------------------------------------------- */

int cq_depack_opus(const cq_depack_packet_t *p, const uint8_t **data, size_t *len) {
    const uint8_t *payload = p->pkt + p->v.header_len;
    size_t n = p->v.payload_len;
    if (p->v.payload_type == CQ_DEPACK_PT_OPUS) {
        *data = payload;
        *len = n;
        return n > 0;
    }
    if (p->v.payload_type != CQ_DEPACK_PT_RED)
        return CQ_EUNSUPPORTED;
    /* Redundant copies repeat earlier packets, which arrived themselves or are lost to
     * the recording as to any receiver that got this one late: the primary is this
     * packet's own sound (RFC 2198 §3: it comes last). */
    cq_red_block_t blocks[8];
    int nb = cq_red_parse(payload, n, blocks, 8);
    if (nb < 1) /* more than 8 blocks is no RED a sender of ours makes */
        return nb == CQ_ETRUNCATED ? CQ_ETRUNCATED : CQ_EMALFORMED;
    const cq_red_block_t *primary = &blocks[nb - 1];
    if (primary->pt != CQ_DEPACK_PT_OPUS)
        return CQ_EUNSUPPORTED;
    *data = primary->data;
    *len = primary->len;
    return primary->len > 0;
}

int cq_depack_red_redundant(const cq_depack_packet_t *p, cq_depack_redundant_t *out, size_t cap) {
    if (p->v.payload_type != CQ_DEPACK_PT_RED)
        return 0;
    cq_red_block_t blocks[8];
    int nb = cq_red_parse(p->pkt + p->v.header_len, p->v.payload_len, blocks, 8);
    if (nb < 1)
        return nb == CQ_ETRUNCATED ? CQ_ETRUNCATED : CQ_EMALFORMED;
    int n = 0;
    for (int i = 0; i < nb - 1 && (size_t)n < cap; i++)
        if (blocks[i].pt == CQ_DEPACK_PT_OPUS && blocks[i].len > 0)
            out[n++] = (cq_depack_redundant_t){.ext_ts = p->ext_ts - blocks[i].ts_offset,
                                               .data = blocks[i].data,
                                               .len = blocks[i].len};
    return n;
}

/* ---- time --------------------------------------------------------------------------- */

void cq_depack_clock_init(cq_depack_clock_t *c, uint32_t rate) {
    *c = (cq_depack_clock_t){.rate = rate};
}

/* Times are kept within +-2^61 us (73,000 years): a hostile file's timestamps, unwrapped
 * 2^31 at a time, would otherwise overflow the multiplication, and two such times added
 * or subtracted (an offset, a frame's duration) stay inside int64_t. */
#define TIME_LIMIT_US (INT64_C(1) << 61)

static int64_t time_clamped(int64_t t) {
    return t > TIME_LIMIT_US ? TIME_LIMIT_US : t < -TIME_LIMIT_US ? -TIME_LIMIT_US : t;
}

static int64_t ts_us(const cq_depack_clock_t *c, int64_t ext_ts) {
    int64_t q = ext_ts / (int64_t)c->rate, r = ext_ts % (int64_t)c->rate;
    if (q > TIME_LIMIT_US / 1000000 || q < -TIME_LIMIT_US / 1000000)
        return q > 0 ? TIME_LIMIT_US : -TIME_LIMIT_US;
    return q * 1000000 + r * 1000000 / (int64_t)c->rate;
}

void cq_depack_clock_add(cq_depack_clock_t *c, int64_t ext_ts, uint64_t arrival_us) {
    if (c->started && (int64_t)(arrival_us - c->first_arrival_us) > CQ_DEPACK_CLOCK_WINDOW_US)
        return;
    /* In unsigned arithmetic: a hostile file's times must wrap, not overflow. */
    int64_t off = time_clamped((int64_t)(arrival_us - (uint64_t)ts_us(c, ext_ts)));
    if (!c->started) {
        c->started = true;
        c->first_arrival_us = arrival_us;
        c->offset_us = off;
    } else if (off < c->offset_us) {
        c->offset_us = off;
    }
}

int64_t cq_depack_clock_us(const cq_depack_clock_t *c, int64_t ext_ts) {
    return time_clamped(ts_us(c, ext_ts) + c->offset_us);
}
