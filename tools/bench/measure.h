/*
 * How chasqui-bench measures a forwarder (the relay, or the limit forwarder): windows of
 * offered load, and the search for the highest load it forwards without loss.
 *
 * A window plays the scenario at one speed for a while, stops, gives the forwarder a
 * grace period, then waits until nothing moves any more. Everything is counted as
 * differences of counters across the window, all from the same process: what the
 * generator handed to the kernel, the copies the routing asks for, what the forwarder
 * received and sent on (its own counters), what the receivers got, and the CPU time of
 * each thread (the forwarder's alone, so output packets per CPU-second do not depend on
 * what else the machine runs).
 *
 * A window "keeps up" when, after the generator stopped, the forwarder sent on 99.9 % of
 * the copies asked for within its lag allowance, and lost no more than 0.1 % once drained:
 * loss inside the forwarder (its socket overflowing, its sends refused) and backlog both
 * count, so a socket buffer that hides an overload for a while does not pass it. The lag
 * is timed rather than read at one instant because a forwarder's counters move only
 * between its wake-ups (the relay answers cq_relay_worker_stats between receive events,
 * the limit forwarder publishes after each): a busy one answers late. The allowance,
 * CQ_BENCH_LAG_NS or 2.5 % of the window if longer, lets a forwarder that kept up finish
 * its last batches; an overload smaller than 2.5 % can hide in it.
 */
#ifndef CQ_TOOLS_BENCH_MEASURE_H
#define CQ_TOOLS_BENCH_MEASURE_H

#include <stdbool.h>
#include <stdint.h>

#include "relay/udp.h"
#include "tools/bench/allocs.h"
#include "tools/bench/gen.h"
#include "tools/bench/scenario.h"
#include "tools/bench/sink.h"

#define CQ_BENCH_LAG_NS    (10u * 1000000u)
#define CQ_BENCH_LAG_SHARE 0.025

typedef struct {
    uint64_t datagrams; /* received */
    uint64_t forwarded; /* copies sent on */
    uint64_t dropped;   /* copies lost inside it (sends refused, packets refused) */
    uint64_t cpu_ns;    /* its threads' CPU time */
} cq_bench_engine_counters_t;

/* A forwarder under test. */
typedef struct {
    const char *name;
    int (*read)(void *ctx, cq_bench_engine_counters_t *out);
    void *ctx;
    const cq_udp_addr_t *addr; /* where publishers send; NULL: each to its relay worker */
    cq_bench_allocs_class_t allocs_class; /* the class its threads allocate in */
} cq_bench_engine_t;

/* What drives it: the scenario's generator and receivers. */
typedef struct {
    const cq_bench_scenario_t *sc;
    struct cq_bench_gen *gen;
    struct cq_bench_sink *sink;
} cq_bench_rig_t;

typedef struct {
    bool count_allocs;   /* count the engine's allocations over the window */
    bool record_latency; /* the receivers record latencies over the window */
} cq_bench_window_opts_t;

typedef struct {
    double speed;   /* media seconds per second */
    double seconds; /* how long the generator sent */
    double span;    /* from its start to the end of the drain: what CPU loads divide by */
    uint64_t offered, expected;  /* packets sent to it, copies asked of it */
    uint64_t datagrams, dropped; /* as it counted them */
    uint64_t lag_ns;             /* from the generator's stop to 99.9 % sent on (or given up) */
    uint64_t forwarded;          /* sent on, once drained */
    uint64_t received;           /* media the receivers got */
    uint64_t allocs;             /* its threads' allocations (count_allocs) */
    uint64_t engine_cpu_ns, gen_cpu_ns, sink_cpu_ns;
    uint64_t gen_dropped, gen_lag_ns;
    double in_pps, out_pps;  /* offered and forwarded per second of the window */
    double out_pps_per_core; /* forwarded per CPU-second of the forwarder */
    double engine_load;      /* its CPU-seconds per second of the span */
    double gen_load, sink_load;
    bool kept_up;   /* see above */
    bool gen_short; /* the generator sent less than 98 % of its schedule */
} cq_bench_window_t;

/* Plays the scenario at speed for seconds through e and measures it. Returns 0 or what
 * reading the engine's counters returned. */
int cq_bench_window(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, double speed,
                    double seconds, const cq_bench_window_opts_t *opts, cq_bench_window_t *out);

typedef struct {
    cq_bench_window_t best; /* the fastest window that kept up */
    bool found;             /* one did */
    double fail_speed;      /* the slowest speed that did not keep up; 0: none */
    unsigned windows;
    bool generator_limited; /* the search stopped where the generator could offer no more */
} cq_bench_search_t;

/*
 * Finds the saturation speed of e: a first window at a low load predicts from the
 * forwarder's CPU time the speed that would keep it busy, then windows of step_s climb
 * by 25 % from below that until one does not keep up (or the generator cannot offer more),
 * and three bisections narrow the gap to about 3 %. A window the generator could not keep
 * to its schedule (it shares a CPU with the receivers and whatever else the machine runs)
 * is tried once more before the search stops there. Returns 0 or an engine error.
 */
int cq_bench_search(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, double step_s,
                    cq_bench_search_t *out);

#endif
