/*
 * One chasqui-bench run: sets up the relay in this process (its own worker threads), the
 * scenario's endpoints bound to it over ICE-lite, the generator and the receivers; then
 * measures the relay, and the limit forwarder under the same load, one after the other
 * (docs/PERFORMANCE.md says how, and what each figure means).
 *
 * Per forwarder: a short warm-up (every SSRC seen, every layer started on a keyframe);
 * a window at real time (CPU per second of media); the search for its saturation speed.
 * Then windows at each one's saturation, the two taking turns (throughput per core,
 * allocations), and a window each at half of the relay's saturation (latency). With a
 * fixed rate there is no search, and one window each at that rate gives every figure.
 */
#ifndef CQ_TOOLS_BENCH_RUN_H
#define CQ_TOOLS_BENCH_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/srtp.h"
#include "tools/bench/measure.h"
#include "tools/bench/scenario.h"
#include "tools/bench/sink.h"

typedef struct {
    cq_bench_kind_t kind;
    unsigned size;     /* N of the scenario */
    unsigned workers;  /* relay worker threads */
    unsigned sessions; /* copies of the scenario, spread over the workers */
    cq_srtp_suite_t suite;
    double duration_s;  /* the measuring time, split among the windows */
    double rate_in_pps; /* 0: search for saturation; else offer this many packets/s */
    int sockbuf;        /* socket buffers of the relay, the limit and the endpoints */
    bool relay, limit;  /* which forwarders to measure */
    bool subscribe_all; /* everyone joins with subscribe_all, as the daemon adds them */
    /* With two CPUs or more: the forwarder's threads on every CPU but the first, the
     * generator's and the receivers' on the first, so neither waits for the other. */
    bool pin;
} cq_bench_opts_t;

typedef struct {
    bool ran;
    cq_bench_window_t realtime; /* speed 1 */
    cq_bench_search_t search;   /* when searched */
    /* The best of its windows at the saturation speed (or the fixed rate); its allocs
     * are those of all of them, over allocs_packets forwarded. */
    cq_bench_window_t saturation;
    uint64_t allocs_packets;
    cq_bench_window_t latency; /* at half the relay's saturation, or the fixed rate */
    cq_bench_latency_t lat;    /* what the receivers recorded in that window */
    uint64_t forwarded_total;  /* sent on over the whole run, warm-up included */
    uint64_t forwarded_before; /* of which before the saturation windows */
} cq_bench_engine_result_t;

typedef struct {
    bool searched;
    cq_bench_engine_result_t relay, limit;
    size_t participants;
    int64_t rss_before_kib, rss_after_kib; /* around the relay's participants and media */
    /* How full the relay's retransmission caches were when rss_after_kib was read: the
     * slowest video stream's packets over what a cache holds (1: all full). */
    double rtx_cache_fill;
    cq_bench_sink_counters_t sink; /* the receivers' totals over the run */
} cq_bench_result_t;

/* Runs everything o asks for into *r. Returns 0, or the first error of the set-up (a
 * socket, a participant the relay refused, an endpoint that could not bind). */
int cq_bench_run(const cq_bench_opts_t *o, cq_bench_result_t *r);

#endif
