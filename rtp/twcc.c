#include "rtp/twcc.h"

#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"

_Static_assert(CQ_TWCC_HEADER_SIZE == CQ_RTCP_FB_SIZE + 2 + 2 + 3 + 1,
               "feedback header, base seq, status count, reference time, fb count");
_Static_assert(CQ_TWCC_REF_UNIT_US % CQ_TWCC_TICK_US == 0, "the reference grid is on ticks");
_Static_assert(CQ_TWCC_MAX_RUN == 0x1fff, "13-bit run length");

#define TICKS_PER_REF (CQ_TWCC_REF_UNIT_US / CQ_TWCC_TICK_US) /* 256 */

/* Packet status symbols (§3.1.1). The symbol of a received packet is also the size in bytes
 * of its receive delta, which both directions below rely on. */
enum {
    SYM_NOT_RECEIVED = 0,
    SYM_SMALL = 1,    /* received, delta in [0, 255] ticks: one unsigned byte */
    SYM_LARGE = 2,    /* received, delta in [-32768, 32767] ticks: two signed bytes */
    SYM_RESERVED = 3, /* "packet received, w/o recv delta" in the draft's figures only */
};

#define VEC1_SLOTS 14 /* one-bit status vector chunk */
#define VEC2_SLOTS 7  /* two-bit status vector chunk */

/*
 * draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1 (the draft's prose says PT 206,
 * its figure and every implementation say RTPFB, 205):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|  FMT=15 |    PT=205     |           length              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     SSRC of packet sender                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                      SSRC of media source                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      base sequence number     |      packet status count      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 reference time                | fb pkt. count |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |          packet chunk         |         packet chunk          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    .                                                               .
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         packet chunk          |  recv delta   |  recv delta   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    .                                                               .
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           recv delta          |  recv delta   | zero padding  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Packet chunks (§3.1.3, §3.1.4), 16 bits each:
 *
 *    run length:     |0| S |       run length (13)       |   S repeated run length times
 *    status vector:  |1|0|   14 one-bit symbols          |   0 not received, 1 received small
 *                    |1|1|    7 two-bit symbols          |   symbols as above
 *
 * (§3.1.4's prose swaps the meaning of the one-bit symbols; its own Example 1 and every
 * implementation read 1 as received, as here.) Chunks are read until they cover status
 * count packets; the last chunk may cover more, and those slots mean nothing.
 */
static int32_t load_s16(const uint8_t *p) {
    uint16_t v = cq_load_be16(p);
    return (int32_t)v - ((v & 0x8000) ? 0x10000 : 0);
}

/* Reads the chunks at [*pp, end) until they cover count packets, storing each packet's
 * symbol in pkts[i].received for now. Returns the bytes of receive deltas the symbols
 * promise, or a negative code. */
static int64_t parse_chunks(const uint8_t **pp, const uint8_t *end, size_t count,
                            cq_twcc_packet_t *pkts) {
    const uint8_t *p = *pp;
    size_t filled = 0;
    int64_t delta_bytes = 0;
    while (filled < count) {
        if (end - p < 2)
            return CQ_EMALFORMED;
        uint16_t chunk = cq_load_be16(p);
        p += 2;
        size_t left = count - filled;
        if (!(chunk & 0x8000)) {
            unsigned sym = (chunk >> 13) & 3;
            size_t run = chunk & 0x1fff;
            if (run == 0 || sym == SYM_RESERVED)
                return CQ_EMALFORMED;
            if (run > left)
                run = left;
            for (size_t i = 0; i < run; i++)
                pkts[filled++].received = (uint8_t)sym;
            delta_bytes += (int64_t)(run * sym);
        } else if (!(chunk & 0x4000)) {
            size_t n = left < VEC1_SLOTS ? left : VEC1_SLOTS;
            for (size_t i = 0; i < n; i++) {
                unsigned sym = (chunk >> (13 - i)) & 1;
                pkts[filled++].received = (uint8_t)sym;
                delta_bytes += sym;
            }
        } else {
            size_t n = left < VEC2_SLOTS ? left : VEC2_SLOTS;
            for (size_t i = 0; i < n; i++) {
                unsigned sym = (chunk >> (12 - 2 * i)) & 3;
                if (sym == SYM_RESERVED)
                    return CQ_EMALFORMED;
                pkts[filled++].received = (uint8_t)sym;
                delta_bytes += sym;
            }
        }
    }
    *pp = p;
    return delta_bytes;
}

int cq_twcc_parse(const cq_rtcp_header_t *h, cq_twcc_fb_t *fb, cq_twcc_packet_t *pkts, size_t cap) {
    if (h->pt != CQ_RTCP_PT_RTPFB || h->count != CQ_RTCP_FMT_TWCC)
        return CQ_EINVAL;
    const size_t fixed = CQ_TWCC_HEADER_SIZE - CQ_RTCP_HEADER_SIZE;
    if (h->body_len < fixed)
        return CQ_EMALFORMED;
    const uint8_t *b = h->body, *end = h->body + h->body_len;
    cq_twcc_fb_t f;
    f.sender_ssrc = cq_load_be32(b);
    f.media_ssrc = cq_load_be32(b + 4);
    f.base_seq = cq_load_be16(b + 8);
    f.status_count = cq_load_be16(b + 10);
    uint32_t ref = cq_load_be24(b + 12);
    f.reference_time = (ref & 0x800000) ? (int32_t)ref - 0x1000000 : (int32_t)ref;
    f.fb_count = b[15];
    if (f.status_count == 0)
        return CQ_EMALFORMED;
    if (f.status_count > cap)
        return CQ_ENOBUFS;

    const uint8_t *p = b + fixed;
    int64_t delta_bytes = parse_chunks(&p, end, f.status_count, pkts);
    if (delta_bytes < 0)
        return (int)delta_bytes;
    if (delta_bytes > end - p)
        return CQ_EMALFORMED;

    /* Every delta is now known to be in the packet: accumulate them in ticks. */
    int64_t ticks = (int64_t)f.reference_time * TICKS_PER_REF;
    for (size_t i = 0; i < f.status_count; i++) {
        unsigned sym = pkts[i].received;
        if (sym == SYM_SMALL) {
            ticks += p[0];
            p += 1;
        } else if (sym == SYM_LARGE) {
            ticks += load_s16(p);
            p += 2;
        }
        pkts[i].seq = (uint16_t)(f.base_seq + i);
        pkts[i].received = sym != SYM_NOT_RECEIVED;
        pkts[i].arrival_us = sym != SYM_NOT_RECEIVED ? ticks * CQ_TWCC_TICK_US : 0;
    }
    /* Only padding to the next 32-bit boundary may follow the deltas. */
    if (end - p > 3)
        return CQ_EMALFORMED;
    *fb = f;
    return f.status_count;
}

/* ------------------------------------------------------------------------------------ */
/* Writing                                                                               */

/*
 * The chunk encoder takes one status symbol at a time and emits a chunk only when the
 * symbols it holds can no longer grow into one. It holds either a run (all symbols equal,
 * up to CQ_TWCC_MAX_RUN of them) or a vector in the making (mixed symbols, at most 14
 * with no large delta, at most 7 with one). Whatever it holds always closes into exactly
 * one chunk, so the size of the feedback "if it ended here" is known after every packet,
 * which is how the writer stops at the cap.
 *
 * A mixed vector can only leave as a full chunk (every chunk but the last must describe
 * exactly its slots), so when a large delta arrives in a one-bit vector of 7..13 symbols,
 * the first 7 leave as a two-bit vector and the rest stay.
 */
typedef struct {
    uint8_t sym[VEC1_SLOTS]; /* held symbols (for a run longer than 14, only sym[0]) */
    uint16_t n;              /* symbols held */
    uint8_t same;            /* all held symbols are equal */
    uint8_t large;           /* a held symbol is SYM_LARGE */
    size_t chunks;           /* chunks emitted so far */
    uint8_t *out;            /* where chunks go, or NULL when only counting */
} chunk_enc_t;

static void enc_emit(chunk_enc_t *e, uint16_t chunk) {
    if (e->out)
        cq_store_be16(e->out + 2 * e->chunks, chunk);
    e->chunks++;
}

static void enc_emit_vec2(chunk_enc_t *e, size_t count) {
    uint16_t chunk = 0xc000;
    for (size_t i = 0; i < count; i++)
        chunk = (uint16_t)(chunk | e->sym[i] << (12 - 2 * i));
    enc_emit(e, chunk);
}

/* Emits whatever is held as one chunk and empties the encoder. */
static void enc_flush(chunk_enc_t *e) {
    if (e->n == 0)
        return;
    if (e->same) {
        enc_emit(e, (uint16_t)(e->sym[0] << 13 | e->n));
    } else if (e->large) {
        enc_emit_vec2(e, e->n);
    } else {
        uint16_t chunk = 0x8000;
        for (size_t i = 0; i < e->n; i++)
            chunk = (uint16_t)(chunk | e->sym[i] << (13 - i));
        enc_emit(e, chunk);
    }
    e->n = 0;
}

static void enc_add(chunk_enc_t *e, uint8_t s) {
    for (;;) {
        if (e->n == 0) {
            e->sym[0] = s;
            e->n = 1;
            e->same = 1;
            e->large = s == SYM_LARGE;
            return;
        }
        if (e->same && s == e->sym[0]) {
            if (e->n < CQ_TWCC_MAX_RUN) {
                if (e->n < VEC1_SLOTS)
                    e->sym[e->n] = s;
                e->n++;
                return;
            }
            enc_flush(e);
            continue;
        }
        unsigned slots = (e->large || s == SYM_LARGE) ? VEC2_SLOTS : VEC1_SLOTS;
        if (e->n < slots) {
            /* A run this short is still all in sym[]: it becomes the start of a vector. */
            e->sym[e->n++] = s;
            e->same = 0;
            e->large = e->large || s == SYM_LARGE;
            return;
        }
        if (e->same || (!e->large && e->n == VEC1_SLOTS)) {
            enc_flush(e);
            continue;
        }
        /* 7..13 small/lost symbols and a large one coming: send 7 as a two-bit vector. */
        enc_emit_vec2(e, VEC2_SLOTS);
        e->n = (uint16_t)(e->n - VEC2_SLOTS);
        memmove(e->sym, e->sym + VEC2_SLOTS, e->n);
        e->same = 1;
        e->large = 0;
        for (size_t i = 1; i < e->n; i++)
            e->same = e->same && e->sym[i] == e->sym[0];
    }
}

static size_t feedback_size(const chunk_enc_t *e, size_t delta_bytes) {
    size_t chunks = e->chunks + (e->n > 0);
    return (CQ_TWCC_HEADER_SIZE + 2 * chunks + delta_bytes + 3) & ~(size_t)3;
}

/* Arrival times this far out cannot be coded against any reference; keeping them out
 * also keeps the arithmetic below clear of overflow. */
#define ARRIVAL_LIMIT_US ((int64_t)1 << 60)

/* The symbol for pkt given the rounded time of the previously received packet (*ticks,
 * in 250 us ticks); on success *ticks becomes this packet's rounded time. Returns -1 when
 * the delta does not fit in 16 signed bits. */
static int packet_symbol(const cq_twcc_packet_t *pkt, int64_t *ticks) {
    if (!pkt->received)
        return SYM_NOT_RECEIVED;
    int64_t us = pkt->arrival_us;
    if (us > ARRIVAL_LIMIT_US || us < -ARRIVAL_LIMIT_US)
        return -1;
    /* Round to the nearest tick, half-way up: floor((us + 125) / 250). */
    int64_t x = us + CQ_TWCC_TICK_US / 2;
    int64_t t = x / CQ_TWCC_TICK_US - (x % CQ_TWCC_TICK_US < 0);
    int64_t d = t - *ticks;
    int sym;
    if (d >= 0 && d <= 255)
        sym = SYM_SMALL;
    else if (d >= -32768 && d <= 32767)
        sym = SYM_LARGE;
    else
        return -1;
    *ticks = t;
    return sym;
}

/* Sequence numbers skipped between entry i-1 and entry i, or -1 when i is not after i-1. */
static int32_t seq_gap(const cq_twcc_packet_t *pkts, size_t i) {
    if (i == 0)
        return 0;
    uint16_t step = (uint16_t)(pkts[i].seq - pkts[i - 1].seq);
    if (step == 0 || step >= 0x8000)
        return -1;
    return step - 1;
}

/* What pass 1 of the writer decides: how many entries go in, and what they take. */
typedef struct {
    chunk_enc_t enc;    /* the encoder after the last entry taken, before its flush */
    size_t taken;       /* entries taken */
    size_t status;      /* status count: entries taken plus the gaps between them */
    size_t delta_bytes; /* bytes of receive deltas */
} plan_t;

/* Pass 1: takes entries while the feedback still fits. Returns 0, or CQ_EINVAL for
 * entries out of order or a first received packet the reference time cannot reach. */
static int plan_feedback(const cq_twcc_packet_t *pkts, size_t n, int64_t ref_ticks, size_t cap,
                         plan_t *plan) {
    chunk_enc_t e = {.n = 0};
    int64_t ticks = ref_ticks;
    size_t delta_bytes = 0, taken = 0, status = 0;
    int any_received = 0;
    for (; taken < n; taken++) {
        int32_t gap = seq_gap(pkts, taken);
        if (gap < 0)
            return CQ_EINVAL;
        if (status + (size_t)gap + 1 > UINT16_MAX)
            break;
        int64_t t = ticks;
        int sym = packet_symbol(&pkts[taken], &t);
        if (sym < 0) {
            /* No delta before this one to blame: the reference time is. */
            if (!any_received)
                return CQ_EINVAL;
            break;
        }
        chunk_enc_t saved = e;
        for (int32_t g = 0; g < gap; g++)
            enc_add(&e, SYM_NOT_RECEIVED);
        enc_add(&e, (uint8_t)sym);
        if (feedback_size(&e, delta_bytes + (size_t)sym) > cap) {
            e = saved;
            break;
        }
        delta_bytes += (size_t)sym;
        status += (size_t)gap + 1;
        ticks = t;
        any_received = any_received || sym != SYM_NOT_RECEIVED;
    }
    plan->enc = e;
    plan->taken = taken;
    plan->status = status;
    plan->delta_bytes = delta_bytes;
    return 0;
}

/* Pass 2: the same symbols again, now writing chunks at chunks_out and deltas after the
 * last chunk. Returns the end of the deltas. */
static uint8_t *write_chunks_and_deltas(const cq_twcc_packet_t *pkts, size_t taken,
                                        int64_t ref_ticks, uint8_t *chunks_out, size_t chunks) {
    chunk_enc_t w = {.out = chunks_out};
    uint8_t *d = chunks_out + 2 * chunks;
    int64_t ticks = ref_ticks;
    for (size_t i = 0; i < taken; i++) {
        for (int32_t g = seq_gap(pkts, i); g > 0; g--)
            enc_add(&w, SYM_NOT_RECEIVED);
        int64_t prev = ticks;
        int sym = packet_symbol(&pkts[i], &ticks);
        enc_add(&w, (uint8_t)sym);
        if (sym == SYM_SMALL) {
            *d++ = (uint8_t)(ticks - prev);
        } else if (sym == SYM_LARGE) {
            cq_store_be16(d, (uint16_t)(ticks - prev));
            d += 2;
        }
    }
    enc_flush(&w);
    return d;
}

int cq_twcc_write(const cq_twcc_fb_t *fb, const cq_twcc_packet_t *pkts, size_t n, uint8_t *buf,
                  size_t cap, size_t *consumed) {
    if (n == 0)
        return CQ_EINVAL;
    if (cap > CQ_RTCP_MAX_SIZE)
        cap = CQ_RTCP_MAX_SIZE;
    const int64_t ref_ticks = (int64_t)fb->reference_time * TICKS_PER_REF;
    plan_t plan;
    int err = plan_feedback(pkts, n, ref_ticks, cap, &plan);
    if (err)
        return err;
    if (plan.taken == 0)
        return CQ_ENOBUFS;

    size_t chunks = plan.enc.chunks + (plan.enc.n > 0);
    size_t size = feedback_size(&plan.enc, plan.delta_bytes);
    cq_rtcp_header_write(buf, CQ_RTCP_FMT_TWCC, CQ_RTCP_PT_RTPFB, size);
    cq_store_be32(buf + 4, fb->sender_ssrc);
    cq_store_be32(buf + 8, fb->media_ssrc);
    cq_store_be16(buf + 12, pkts[0].seq);
    cq_store_be16(buf + 14, (uint16_t)plan.status);
    cq_store_be24(buf + 16, (uint32_t)fb->reference_time & 0xffffff);
    buf[19] = fb->fb_count;
    uint8_t *end =
        write_chunks_and_deltas(pkts, plan.taken, ref_ticks, buf + CQ_TWCC_HEADER_SIZE, chunks);
    memset(end, 0, (size_t)(buf + size - end));
    *consumed = plan.taken;
    return (int)size;
}

int32_t cq_twcc_reference_time(int64_t arrival_us) {
    int64_t r = arrival_us / CQ_TWCC_REF_UNIT_US - (arrival_us % CQ_TWCC_REF_UNIT_US < 0);
    if (r > INT32_MAX)
        return INT32_MAX;
    if (r < INT32_MIN)
        return INT32_MIN;
    return (int32_t)r;
}
