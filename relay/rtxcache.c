#include "relay/rtxcache.h"

#include <stdlib.h>
#include <string.h>

#include "rtp/error.h"

int cq_rtxcache_init(cq_rtxcache_t *c, unsigned count, unsigned slot_size, uint64_t max_age_us) {
    memset(c, 0, sizeof *c);
    if (count == 0 || count > 32768 || slot_size == 0 || slot_size > UINT16_MAX)
        return CQ_EINVAL;
    unsigned n = 1;
    while (n < count)
        n *= 2;
    c->slots = malloc((size_t)n * slot_size);
    c->lens = calloc(n, sizeof *c->lens);
    c->seqs = calloc(n, sizeof *c->seqs);
    c->times_us = calloc(n, sizeof *c->times_us);
    if (!c->slots || !c->lens || !c->seqs || !c->times_us) {
        cq_rtxcache_close(c);
        return CQ_ENOMEM;
    }
    c->count = n;
    c->slot_size = slot_size;
    c->max_age_us = max_age_us;
    return 0;
}

void cq_rtxcache_close(cq_rtxcache_t *c) {
    free(c->slots);
    free(c->lens);
    free(c->seqs);
    free(c->times_us);
    memset(c, 0, sizeof *c);
}

void cq_rtxcache_put(cq_rtxcache_t *c, uint16_t seq, const uint8_t *pkt, size_t len,
                     uint64_t now_us) {
    if (c->count == 0)
        return;
    unsigned i = seq & (c->count - 1);
    if (len == 0 || len > c->slot_size) {
        c->lens[i] = 0; /* whatever was there is older than this seq: forget it */
        return;
    }
    memcpy(c->slots + (size_t)i * c->slot_size, pkt, len);
    c->lens[i] = (uint16_t)len;
    c->seqs[i] = seq;
    c->times_us[i] = now_us;
}

bool cq_rtxcache_has(const cq_rtxcache_t *c, uint16_t seq, uint64_t now_us) {
    if (c->count == 0)
        return false;
    unsigned i = seq & (c->count - 1);
    return c->lens[i] != 0 && c->seqs[i] == seq && now_us - c->times_us[i] <= c->max_age_us;
}

size_t cq_rtxcache_get(cq_rtxcache_t *c, uint16_t seq, uint64_t now_us, const uint8_t **pkt) {
    if (!cq_rtxcache_has(c, seq, now_us)) {
        if (c->count != 0)
            c->misses++;
        return 0;
    }
    unsigned i = seq & (c->count - 1);
    c->hits++;
    *pkt = c->slots + (size_t)i * c->slot_size;
    return c->lens[i];
}
