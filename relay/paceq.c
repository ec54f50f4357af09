#include "relay/paceq.h"

#include <string.h>

#include "rtp/error.h"

/* Credit saved up while idle: two full packets, or 10 ms at the pace if more (a tick of
 * the worker is 5 ms: the queue must not fall behind between two of them). */
#define BURST_MIN_BYTES 2400.0
#define BURST_US        10000.0

void cq_paceq_pool_init(cq_paceq_pool_t *pool, cq_paceq_entry_t *entries,
                        uint8_t (*data)[CQ_PACEQ_MTU], uint16_t size) {
    pool->e = entries;
    pool->data = data;
    pool->size = size < CQ_PACEQ_NONE ? size : CQ_PACEQ_NONE - 1;
    pool->free_head = pool->size ? 0 : CQ_PACEQ_NONE;
    pool->free_count = pool->size;
    for (uint16_t i = 0; i < pool->size; i++)
        entries[i] =
            (cq_paceq_entry_t){.next = i + 1 < pool->size ? (uint16_t)(i + 1) : CQ_PACEQ_NONE};
}

void cq_paceq_init(cq_paceq_t *q, uint32_t rate_bps, uint32_t max_bytes) {
    *q = (cq_paceq_t){
        .head = CQ_PACEQ_NONE, .tail = CQ_PACEQ_NONE, .max_bytes = max_bytes, .rate_bps = rate_bps};
}

void cq_paceq_set_rate(cq_paceq_t *q, uint32_t rate_bps) {
    q->rate_bps = rate_bps;
}

static double burst_bytes(const cq_paceq_t *q) {
    double b = q->rate_bps / 8.0 * BURST_US / 1e6;
    return b > BURST_MIN_BYTES ? b : BURST_MIN_BYTES;
}

static void refill(cq_paceq_t *q, uint64_t now_us) {
    if (q->credit_us == 0 || now_us < q->credit_us) {
        if (q->credit_us == 0)
            q->credit = burst_bytes(q);
        q->credit_us = now_us;
        return;
    }
    q->credit += q->rate_bps / 8.0 * (double)(now_us - q->credit_us) / 1e6;
    double cap = burst_bytes(q);
    if (q->credit > cap)
        q->credit = cap;
    q->credit_us = now_us;
}

bool cq_paceq_open(cq_paceq_t *q, uint64_t now_us) {
    refill(q, now_us);
    return q->count == 0 && q->credit > 0;
}

void cq_paceq_spend(cq_paceq_t *q, size_t bytes) {
    q->credit -= (double)bytes;
    /* Sound past a long queue must not put video in debt for seconds. */
    double floor = -4.0 * burst_bytes(q);
    if (q->credit < floor)
        q->credit = floor;
}

int cq_paceq_push(cq_paceq_pool_t *pool, cq_paceq_t *q, const uint8_t *pkt, size_t len,
                  ptrdiff_t tseq_at, uint64_t now_us) {
    if (len == 0 || len > CQ_PACEQ_MTU || tseq_at + 2 > (ptrdiff_t)len)
        return CQ_EINVAL;
    if (pool->free_head == CQ_PACEQ_NONE || q->bytes + len > q->max_bytes) {
        q->dropped++;
        return CQ_ENOBUFS;
    }
    uint16_t i = pool->free_head;
    pool->free_head = pool->e[i].next;
    pool->free_count--;
    memcpy(pool->data[i], pkt, len);
    pool->e[i] = (cq_paceq_entry_t){.len = (uint16_t)len,
                                    .tseq_at = (int16_t)(tseq_at < 0 ? -1 : tseq_at),
                                    .next = CQ_PACEQ_NONE,
                                    .queued_us = now_us};
    if (q->tail == CQ_PACEQ_NONE)
        q->head = i;
    else
        pool->e[q->tail].next = i;
    q->tail = i;
    q->count++;
    q->bytes += (uint32_t)len;
    q->queued++;
    return 0;
}

const cq_paceq_entry_t *cq_paceq_due(cq_paceq_pool_t *pool, cq_paceq_t *q, uint64_t now_us,
                                     const uint8_t **pkt) {
    if (q->count == 0)
        return NULL;
    refill(q, now_us);
    if (q->credit <= 0)
        return NULL;
    *pkt = pool->data[q->head];
    return &pool->e[q->head];
}

static void release_head(cq_paceq_pool_t *pool, cq_paceq_t *q) {
    uint16_t i = q->head;
    q->head = pool->e[i].next;
    if (q->head == CQ_PACEQ_NONE)
        q->tail = CQ_PACEQ_NONE;
    q->count--;
    q->bytes -= pool->e[i].len;
    pool->e[i].next = pool->free_head;
    pool->free_head = i;
    pool->free_count++;
}

void cq_paceq_pop(cq_paceq_pool_t *pool, cq_paceq_t *q, uint64_t now_us) {
    if (q->count == 0)
        return;
    const cq_paceq_entry_t *e = &pool->e[q->head];
    uint64_t waited = now_us > e->queued_us ? now_us - e->queued_us : 0;
    if (waited > q->max_wait_us)
        q->max_wait_us = waited;
    cq_paceq_spend(q, e->len);
    q->sent++;
    release_head(pool, q);
}

unsigned cq_paceq_drop_stale(cq_paceq_pool_t *pool, cq_paceq_t *q, uint64_t now_us,
                             uint64_t max_age_us) {
    unsigned n = 0;
    while (q->count > 0 && pool->e[q->head].queued_us + max_age_us < now_us) {
        release_head(pool, q);
        q->dropped++;
        n++;
    }
    return n;
}

void cq_paceq_clear(cq_paceq_pool_t *pool, cq_paceq_t *q) {
    while (q->count > 0)
        release_head(pool, q);
}

uint64_t cq_paceq_backlog_us(const cq_paceq_t *q) {
    return q->rate_bps ? (uint64_t)q->bytes * 8u * 1000000u / q->rate_bps : 0;
}
