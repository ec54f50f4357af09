#include "cc/arrivals.h"

#include <string.h>

#include "rtp/error.h"
#include "rtp/twcc.h"

#define RING_MASK ((int64_t)CQ_ARRIVALS_RING - 1)

/* Received packets per message; with the first number (which may be missing) one more
 * entry. 256 entries are 4 KB of stack and a message of at most ~300 bytes of deltas. */
#define BATCH 256

/* The span of the 24-bit reference time: arrival times on the wire are modulo this. */
#define REF_WRAP_US (((int64_t)1 << 24) * CQ_TWCC_REF_UNIT_US)

_Static_assert((CQ_ARRIVALS_RING & (CQ_ARRIVALS_RING - 1)) == 0, "a mask finds the slot");
/* The unwrapper places a number within half the space of the highest: the ring must be
 * well inside that, or one slot could stand for two numbers it cannot tell apart. */
_Static_assert(CQ_ARRIVALS_RING < CQ_SEQ_HALF, "the ring spans less than half the space");
_Static_assert(CQ_ARRIVALS_LATE_REACH < CQ_ARRIVALS_RING, "a late packet must still be held");
_Static_assert(BATCH + 1 <= CQ_TWCC_MAX_RUN, "one message's status count stays small");

static int64_t *slot(cq_arrivals_t *a, int64_t ext) {
    return &a->arrival_us[ext & RING_MASK];
}

static int64_t slot_value(const cq_arrivals_t *a, int64_t ext) {
    return a->arrival_us[ext & RING_MASK];
}

static void clear_ring(cq_arrivals_t *a) {
    for (size_t i = 0; i < CQ_ARRIVALS_RING; i++)
        a->arrival_us[i] = CQ_ARRIVALS_NONE;
}

void cq_arrivals_init(cq_arrivals_t *a, uint32_t sender_ssrc, uint32_t media_ssrc) {
    memset(a, 0, sizeof *a);
    a->sender_ssrc = sender_ssrc;
    a->media_ssrc = media_ssrc;
    cq_seq_unwrapper_init(&a->unwrap);
    clear_ring(a);
}

/* Received numbers in [from, to) that no feedback will report any more. */
static uint64_t count_received(const cq_arrivals_t *a, int64_t from, int64_t to) {
    uint64_t n = 0;
    for (int64_t e = from; e < to; e++)
        n += slot_value(a, e) != CQ_ARRIVALS_NONE;
    return n;
}

/* The sender's numbers jumped: forget everything but the counters and the feedback count
 * (the reader detects lost feedback by it, so it keeps running). */
static void resync(cq_arrivals_t *a) {
    if (a->report_from < a->end)
        a->stats.evicted += count_received(a, a->report_from, a->end);
    cq_seq_unwrapper_init(&a->unwrap);
    clear_ring(a);
    a->started = false;
    a->pending = 0;
    a->backlog = false;
    a->too_old_run = 0;
    a->stats.resyncs++;
}

/* Moves the top of the ring to new_end (> a->end): the numbers that fall off the bottom
 * give their slots to the new ones, and the next feedback cannot start below the ring. */
static void advance(cq_arrivals_t *a, int64_t new_end) {
    int64_t old_end = a->end, bottom = new_end - CQ_ARRIVALS_RING;
    if (a->report_from < bottom) {
        int64_t stop = old_end < bottom ? old_end : bottom;
        a->stats.evicted += count_received(a, a->report_from, stop);
        a->report_from = bottom;
    }
    int64_t n = new_end - old_end;
    if (n > CQ_ARRIVALS_RING)
        n = CQ_ARRIVALS_RING;
    /* The slots of old_end .. old_end + n - 1 are those of the numbers leaving the ring
     * (or, after a jump of a whole ring or more, all of them). */
    for (int64_t k = 0; k < n; k++)
        *slot(a, old_end + k) = CQ_ARRIVALS_NONE;
    a->end = new_end;
}

void cq_arrivals_record(cq_arrivals_t *a, uint16_t tseq, int64_t arrival_us) {
    if (arrival_us == CQ_ARRIVALS_NONE)
        arrival_us++;
    if (!a->started) {
        int64_t e = cq_seq_unwrap(&a->unwrap, tseq);
        a->started = true;
        a->end = e + 1;
        a->report_from = e;
        *slot(a, e) = arrival_us;
        a->pending = 1;
        a->stats.recorded++;
        if (!a->fb_timed) {
            /* The first feedback goes an interval after the first packet, not at once. */
            a->fb_timed = true;
            a->last_fb_us = arrival_us;
        }
        return;
    }
    int64_t e = cq_seq_unwrap(&a->unwrap, tseq);
    if (e < a->end - CQ_ARRIVALS_RING) {
        a->stats.too_old++;
        if (++a->too_old_run >= CQ_ARRIVALS_RESYNC) {
            resync(a);
            cq_arrivals_record(a, tseq, arrival_us);
        }
        return;
    }
    a->too_old_run = 0;
    if (e >= a->end)
        advance(a, e + 1);
    int64_t *p = slot(a, e);
    if (*p != CQ_ARRIVALS_NONE) {
        a->stats.duplicates++;
        return;
    }
    *p = arrival_us;
    a->stats.recorded++;
    if (e < a->report_from) {
        /* Behind what the next feedback covers: reported missing already (or, before the
         * first feedback, reordered ahead of the first packet). Close enough, and the
         * feedback starts again from here; further back it stays "not received". */
        if (a->report_from - e > CQ_ARRIVALS_LATE_REACH)
            return;
        if (a->stats.messages > 0)
            a->stats.late++;
        a->report_from = e;
    }
    if (a->pending < UINT32_MAX)
        a->pending++;
}

bool cq_arrivals_due(const cq_arrivals_t *a, int64_t now_us) {
    if (!a->started || a->report_from >= a->end)
        return false;
    if (a->backlog || a->pending >= CQ_ARRIVALS_DUE_PACKETS)
        return true;
    /* Unsigned difference: exact for any two int64_t once now >= last. */
    return now_us >= a->last_fb_us &&
           (uint64_t)now_us - (uint64_t)a->last_fb_us >= CQ_ARRIVALS_INTERVAL_US;
}

/* t - base, saturated: a time that far from the message's first cannot be coded, and the
 * writer stops before it (its next message takes its own base). */
static int64_t shifted(int64_t t, int64_t base) {
    int64_t r;
    if (__builtin_sub_overflow(t, base, &r))
        return t < 0 ? INT64_MIN + 1 : INT64_MAX;
    return r;
}

/* A multiple of REF_WRAP_US within one span of t (at or below it, or just above it at the
 * very bottom of the int64_t range): times minus it fit the wire's 24-bit reference time
 * and the writer's range whatever the clock. */
static int64_t wrap_base(int64_t t) {
    int64_t m = t % REF_WRAP_US, base;
    if (m < 0)
        m += REF_WRAP_US;
    if (__builtin_sub_overflow(t, m, &base))
        base = t + (REF_WRAP_US - m);
    return base;
}

/* Fills pkts with the number report_from (received or not) and the received numbers after
 * it, up to BATCH of those or the end. Returns the count; *first_rx is the arrival time of
 * the first received one (there is always one: the highest number arrived). */
static size_t gather(const cq_arrivals_t *a, cq_twcc_packet_t *pkts, int64_t *first_rx) {
    size_t n = 0, received = 0;
    *first_rx = CQ_ARRIVALS_NONE;
    for (int64_t e = a->report_from; e < a->end && received < BATCH; e++) {
        int64_t t = slot_value(a, e);
        if (t == CQ_ARRIVALS_NONE && e != a->report_from)
            continue;
        pkts[n] = (cq_twcc_packet_t){.seq = (uint16_t)e, .received = t != CQ_ARRIVALS_NONE};
        pkts[n].arrival_us = t;
        if (t != CQ_ARRIVALS_NONE) {
            if (received++ == 0)
                *first_rx = t;
        }
        n++;
    }
    return n;
}

int cq_arrivals_write(cq_arrivals_t *a, int64_t now_us, uint8_t *buf, size_t cap) {
    if (!a->started || a->report_from >= a->end)
        return 0;
    size_t used = 0;
    while (a->report_from < a->end) {
        cq_twcc_packet_t pkts[BATCH + 1];
        int64_t first_rx;
        size_t n = gather(a, pkts, &first_rx);
        int64_t base = wrap_base(first_rx);
        for (size_t i = 0; i < n; i++)
            if (pkts[i].received)
                pkts[i].arrival_us = shifted(pkts[i].arrival_us, base);
        cq_twcc_fb_t fb = {.sender_ssrc = a->sender_ssrc,
                           .media_ssrc = a->media_ssrc,
                           .reference_time = cq_twcc_reference_time(first_rx - base),
                           .fb_count = a->fb_count};
        size_t consumed = 0;
        int w = cq_twcc_write(&fb, pkts, n, buf + used, cap - used, &consumed);
        if (w < 0) {
            /* CQ_ENOBUFS: the rest waits for the next call. Nothing else can come back
             * for entries built as above; if it did, stopping keeps the state whole. */
            if (used == 0)
                return w;
            break;
        }
        used += (size_t)w;
        a->fb_count++;
        a->stats.messages++;
        /* The entries span less than the ring, so the 16-bit distance is exact. */
        uint16_t last = pkts[consumed - 1].seq;
        a->report_from += (uint16_t)(last - (uint16_t)a->report_from) + 1;
    }
    a->backlog = a->report_from < a->end;
    if (!a->backlog) {
        a->pending = 0;
        a->last_fb_us = now_us;
        a->fb_timed = true;
    }
    return (int)used;
}
