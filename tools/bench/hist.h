/*
 * A latency histogram: one microsecond per bucket up to CQ_BENCH_HIST_MAX_US, then one
 * overflow bucket that keeps the largest value seen, so percentiles below the overflow
 * are exact to the microsecond. Plain value, caller-owned (~400 KiB: not for a small
 * stack); no allocation, no lock (one thread records, others read it when it is quiet).
 */
#ifndef CQ_TOOLS_BENCH_HIST_H
#define CQ_TOOLS_BENCH_HIST_H

#include <stdint.h>

#define CQ_BENCH_HIST_MAX_US 100000u

typedef struct {
    uint32_t buckets[CQ_BENCH_HIST_MAX_US];
    uint64_t count;
    uint64_t overflow; /* values at or past CQ_BENCH_HIST_MAX_US */
    uint64_t max_us;
    uint64_t negative; /* clocks that went backwards: counted, recorded as 0 */
} cq_bench_hist_t;

void cq_bench_hist_reset(cq_bench_hist_t *h);

/* Records one latency, in nanoseconds (negative when the clocks disagree). */
void cq_bench_hist_add(cq_bench_hist_t *h, int64_t ns);

/* The smallest value (µs) at or below which a fraction q (0..1) of the samples lie; the
 * largest value seen when q lands in the overflow; 0 without samples. */
uint64_t cq_bench_hist_quantile_us(const cq_bench_hist_t *h, double q);

#endif
