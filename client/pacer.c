#include "client/pacer.h"

#include <string.h>

#include "rtp/error.h"

void cq_pacer_init(cq_pacer_t *p, uint64_t rate_bps, uint32_t burst) {
    memset(p, 0, sizeof *p);
    p->rate_bps = rate_bps ? rate_bps : 1;
    p->burst = burst ? burst : 2 * CQ_PACER_MTU;
    p->credit = p->burst;
}

void cq_pacer_set_rate(cq_pacer_t *p, uint64_t rate_bps) {
    p->rate_bps = rate_bps ? rate_bps : 1;
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

int cq_pacer_push(cq_pacer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us) {
    if (len == 0 || len > CQ_PACER_MTU)
        return CQ_EINVAL;
    if (p->count == CQ_PACER_PACKETS) {
        p->dropped++;
        return CQ_ENOBUFS;
    }
    if (p->count == 0)
        refill(p, now_us); /* credit grows while idle, up to the burst */
    uint32_t k = (p->head + p->count) % CQ_PACER_PACKETS;
    memcpy(p->data[k], pkt, len);
    p->len[k] = (uint16_t)len;
    p->enqueued_us[k] = now_us;
    p->count++;
    p->queued++;
    return 0;
}

size_t cq_pacer_pop(cq_pacer_t *p, uint64_t now_us, const uint8_t **pkt) {
    if (p->count == 0)
        return 0;
    refill(p, now_us);
    uint32_t k = p->head;
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
    p->head = (p->head + 1) % CQ_PACER_PACKETS;
    p->count--;
    p->sent++;
    return len;
}

unsigned cq_pacer_drop_stale(cq_pacer_t *p, uint64_t now_us, uint64_t max_age_us) {
    unsigned n = 0;
    while (p->count > 0 && p->enqueued_us[p->head] + max_age_us < now_us) {
        p->head = (p->head + 1) % CQ_PACER_PACKETS;
        p->count--;
        n++;
    }
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

unsigned cq_pacer_drop_ssrc(cq_pacer_t *p, uint32_t ssrc) {
    /* Compacts the ring in place, keeping the order of what stays. */
    uint32_t kept = 0;
    unsigned dropped = 0;
    for (uint32_t i = 0; i < p->count; i++) {
        uint32_t from = (p->head + i) % CQ_PACER_PACKETS;
        if (ssrc_of(p->data[from], p->len[from]) == ssrc) {
            dropped++;
            continue;
        }
        uint32_t to = (p->head + kept) % CQ_PACER_PACKETS;
        if (to != from) {
            memcpy(p->data[to], p->data[from], p->len[from]);
            p->len[to] = p->len[from];
            p->enqueued_us[to] = p->enqueued_us[from];
        }
        kept++;
    }
    p->count = kept;
    p->flushed += dropped;
    return dropped;
}
