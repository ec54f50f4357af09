#include "tools/bench/hist.h"

#include <string.h>

void cq_bench_hist_reset(cq_bench_hist_t *h) {
    memset(h, 0, sizeof *h);
}

void cq_bench_hist_add(cq_bench_hist_t *h, int64_t ns) {
    if (ns < 0) {
        h->negative++;
        ns = 0;
    }
    uint64_t us = (uint64_t)ns / 1000u;
    h->count++;
    if (us > h->max_us)
        h->max_us = us;
    if (us >= CQ_BENCH_HIST_MAX_US)
        h->overflow++;
    else
        h->buckets[us]++;
}

uint64_t cq_bench_hist_quantile_us(const cq_bench_hist_t *h, double q) {
    if (h->count == 0)
        return 0;
    /* The rank of the sample wanted, 1-based, rounded up: q = 0.5 of 3 samples is the 2nd. */
    double want = q * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (uint64_t us = 0; us < CQ_BENCH_HIST_MAX_US; us++) {
        seen += h->buckets[us];
        if (seen >= rank)
            return us;
    }
    return h->max_us;
}
