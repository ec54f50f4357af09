#include "rtp/nack_tracker.h"

#include <string.h>

#include "rtp/seq.h"

void cq_nack_tracker_init(cq_nack_tracker_t *t) {
    memset(t, 0, sizeof *t);
    t->hold_us = 10000;
    t->max_age_us = CQ_NACK_MAX_AGE_US;
    t->min_retry_us = 20000;
    t->max_retries = 10;
    t->double_rtt_us = CQ_NACK_DOUBLE_RTT_US;
    t->double_gap_us = 40000;
    t->tail_us = CQ_NACK_TAIL_US;
}

static cq_nack_entry_t *slot(cq_nack_tracker_t *t, uint16_t seq) {
    return &t->e[seq & (CQ_NACK_TRACKER_SIZE - 1)];
}

static void clear_all(cq_nack_tracker_t *t) {
    for (unsigned i = 0; i < CQ_NACK_TRACKER_SIZE; i++)
        t->e[i].used = false;
    t->missing = 0;
    t->open = false;
}

void cq_nack_tracker_on_packet(cq_nack_tracker_t *t, uint16_t seq, uint64_t now_us) {
    if (!t->started) {
        t->started = true;
        t->highest = seq;
        return;
    }
    int32_t d = cq_seq_diff(seq, t->highest);
    if (d <= 0) {
        /* Late or repaired: fills its hole if it has one. */
        cq_nack_entry_t *e = slot(t, seq);
        if (e->used && e->seq == seq) {
            e->used = false;
            t->missing--;
            t->recovered++;
            uint64_t wait = now_us > e->missed_us ? now_us - e->missed_us : 0;
            t->recovered_wait_us += wait;
            if (wait > t->recovered_wait_max_us)
                t->recovered_wait_max_us = wait;
        }
        return;
    }
    if (d > CQ_NACK_TRACKER_SIZE / 2) {
        clear_all(t);
        t->keyframe_needed = true;
        t->highest = seq;
        return;
    }
    for (int32_t k = 1; k < d; k++) {
        uint16_t lost = (uint16_t)(t->highest + k);
        cq_nack_entry_t *e = slot(t, lost);
        if (e->used) /* an old hole the ring has come round to: it is past saving */
            t->given_up++;
        else
            t->missing++;
        *e = (cq_nack_entry_t){.seq = lost, .used = true, .missed_us = now_us};
    }
    t->highest = seq;
}

void cq_nack_tracker_on_frame_packet(cq_nack_tracker_t *t, uint16_t seq, bool end,
                                     uint64_t now_us) {
    bool newest = !t->started || cq_seq_newer(seq, t->highest);
    cq_nack_tracker_on_packet(t, seq, now_us);
    if (newest || seq == t->highest) { /* the newest, or the tail taken as lost */
        t->open = !end;
        t->open_us = now_us;
    }
}

bool cq_nack_tracker_pending(const cq_nack_tracker_t *t) {
    return t->missing != 0 || t->open;
}

/* The newest packet has not ended its frame for tail_us: the next is taken as lost, as a
 * gap would show it, and asked for at once (its hold has passed). */
static void close_tail(cq_nack_tracker_t *t, uint64_t now_us) {
    if (!t->open || t->tail_us == 0 || now_us - t->open_us < t->tail_us)
        return;
    t->open = false;
    t->highest++;
    cq_nack_entry_t *e = slot(t, t->highest);
    if (e->used)
        t->given_up++;
    else
        t->missing++;
    *e = (cq_nack_entry_t){.seq = t->highest, .used = true, .missed_us = now_us - t->hold_us};
    t->tails++;
}

size_t cq_nack_tracker_poll(cq_nack_tracker_t *t, uint64_t now_us, uint64_t rtt_us, uint16_t *out,
                            size_t cap) {
    if (!t->started)
        return 0;
    close_tail(t, now_us);
    if (t->missing == 0)
        return 0;
    if (rtt_us == 0)
        rtt_us = CQ_NACK_RTT_GUESS_US;
    uint64_t retry_us = rtt_us + rtt_us / 2;
    if (retry_us < t->min_retry_us)
        retry_us = t->min_retry_us;
    size_t n = 0;
    /* Oldest first: walk back from the highest over the ring's span. */
    for (unsigned back = CQ_NACK_TRACKER_SIZE; back-- > 0 && n < cap;) {
        uint16_t seq = (uint16_t)(t->highest - back);
        cq_nack_entry_t *e = slot(t, seq);
        if (!e->used || e->seq != seq)
            continue;
        if (now_us - e->missed_us > t->max_age_us || e->retries >= t->max_retries) {
            e->used = false;
            t->missing--;
            t->given_up++;
            continue;
        }
        bool twice = e->retries == 1 && t->double_rtt_us != 0 && rtt_us >= t->double_rtt_us;
        bool due = e->retries == 0
                       ? now_us - e->missed_us >= t->hold_us
                       : now_us - e->last_sent_us >= (twice ? t->double_gap_us : retry_us);
        if (!due)
            continue;
        e->retries++;
        e->last_sent_us = now_us;
        out[n++] = seq;
    }
    return n;
}
