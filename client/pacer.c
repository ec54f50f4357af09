#include "client/pacer.h"

#include <string.h>

#include "rtp/error.h"

void cq_pacer_init(cq_pacer_t *p, uint64_t rate_bps, uint32_t burst) {
    memset(p, 0, sizeof *p);
    p->rate_bps = rate_bps ? rate_bps : 1;
    p->burst = burst ? burst : 2 * CQ_PACER_MTU;
    p->credit = p->burst;
    p->video = (cq_pacer_queue_t){.base = 0, .size = CQ_PACER_PACKETS};
    p->repairs = (cq_pacer_queue_t){.base = CQ_PACER_PACKETS, .size = CQ_PACER_REPAIRS};
}

void cq_pacer_set_rate(cq_pacer_t *p, uint64_t rate_bps) {
    p->rate_bps = rate_bps ? rate_bps : 1;
}

/* The slot of q's i-th packet. */
static uint32_t slot(const cq_pacer_queue_t *q, uint32_t i) {
    return q->base + (q->head + i) % q->size;
}

static void advance(cq_pacer_t *p, cq_pacer_queue_t *q) {
    q->head = (q->head + 1) % q->size;
    q->count--;
    p->count--;
}

/* Credit earned since last_us, up to the burst. */
static void refill(cq_pacer_t *p, uint64_t now_us) {
    if (p->timed && now_us > p->last_us)
        p->credit += (double)(now_us - p->last_us) * (double)p->rate_bps / 8e6;
    if (p->credit > p->burst)
        p->credit = p->burst;
    if (!p->timed || now_us > p->last_us)
        p->last_us = now_us;
    p->timed = true;
}

static int push(cq_pacer_t *p, cq_pacer_queue_t *q, const uint8_t *pkt, size_t len,
                uint64_t now_us) {
    if (len == 0 || len > CQ_PACER_MTU)
        return CQ_EINVAL;
    if (q->count == q->size) {
        p->dropped++;
        return CQ_ENOBUFS;
    }
    if (p->count == 0)
        refill(p, now_us); /* credit grows while idle, up to the burst */
    uint32_t k = slot(q, q->count);
    memcpy(p->data[k], pkt, len);
    p->len[k] = (uint16_t)len;
    p->enqueued_us[k] = now_us;
    q->count++;
    p->count++;
    p->queued++;
    return 0;
}

int cq_pacer_push(cq_pacer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us) {
    return push(p, &p->video, pkt, len, now_us);
}

int cq_pacer_push_repair(cq_pacer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us) {
    if (p->repairs.count == p->repairs.size)
        return push(p, &p->video, pkt, len, now_us);
    int rc = push(p, &p->repairs, pkt, len, now_us);
    p->repairs_queued += rc == 0;
    return rc;
}

size_t cq_pacer_pop(cq_pacer_t *p, uint64_t now_us, const uint8_t **pkt) {
    if (p->count == 0)
        return 0;
    refill(p, now_us);
    cq_pacer_queue_t *q = p->repairs.count > 0 ? &p->repairs : &p->video;
    uint32_t k = slot(q, 0);
    /* A packet leaves when there is credit for part of it: the debt is paid by the
     * packets after it waiting, so the average is the rate and no packet waits for a
     * credit larger than the burst. */
    if (p->credit <= 0)
        return 0;
    p->credit -= p->len[k];
    *pkt = p->data[k];
    size_t len = p->len[k];
    uint64_t waited = now_us > p->enqueued_us[k] ? now_us - p->enqueued_us[k] : 0;
    if (waited > p->max_delay_us)
        p->max_delay_us = waited;
    advance(p, q);
    p->sent++;
    return len;
}

static unsigned drop_stale(cq_pacer_t *p, cq_pacer_queue_t *q, uint64_t now_us,
                           uint64_t max_age_us) {
    unsigned n = 0;
    while (q->count > 0 && p->enqueued_us[slot(q, 0)] + max_age_us < now_us) {
        advance(p, q);
        n++;
    }
    return n;
}

unsigned cq_pacer_drop_stale(cq_pacer_t *p, uint64_t now_us, uint64_t max_age_us) {
    unsigned n = drop_stale(p, &p->repairs, now_us, max_age_us) +
                 drop_stale(p, &p->video, now_us, max_age_us);
    p->stale += n;
    return n;
}

bool cq_pacer_next(const cq_pacer_t *p, uint64_t now_us, uint64_t *at_us) {
    if (p->count == 0)
        return false;
    double credit = p->credit;
    if (p->timed && now_us > p->last_us)
        credit += (double)(now_us - p->last_us) * (double)p->rate_bps / 8e6;
    if (credit > 0) {
        *at_us = now_us;
        return true;
    }
    /* Time for the debt to be paid, rounded up. */
    *at_us = now_us + (uint64_t)((-credit) * 8e6 / (double)p->rate_bps) + 1;
    return true;
}

static uint32_t ssrc_of(const uint8_t *pkt, uint16_t len) {
    if (len < 12)
        return 0;
    return (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
}

/* Compacts q in place, keeping the order of what stays. */
static unsigned drop_ssrc(cq_pacer_t *p, cq_pacer_queue_t *q, uint32_t ssrc) {
    uint32_t kept = 0;
    unsigned dropped = 0;
    for (uint32_t i = 0; i < q->count; i++) {
        uint32_t from = slot(q, i);
        if (ssrc_of(p->data[from], p->len[from]) == ssrc) {
            dropped++;
            continue;
        }
        uint32_t to = slot(q, kept);
        if (to != from) {
            memcpy(p->data[to], p->data[from], p->len[from]);
            p->len[to] = p->len[from];
            p->enqueued_us[to] = p->enqueued_us[from];
        }
        kept++;
    }
    q->count = kept;
    p->count -= dropped;
    return dropped;
}

unsigned cq_pacer_drop_ssrc(cq_pacer_t *p, uint32_t ssrc) {
    unsigned dropped = drop_ssrc(p, &p->repairs, ssrc) + drop_ssrc(p, &p->video, ssrc);
    p->flushed += dropped;
    return dropped;
}
