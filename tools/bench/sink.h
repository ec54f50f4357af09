/*
 * The receivers: one thread that reads every endpoint's socket (epoll, recvmmsg batches)
 * and counts what arrives, as cheaply as counting can be, so one core can take what the
 * relay sends from the other.
 *
 * A packet is read only as far as its RTP header (the kernel copies those bytes, and
 * reports the datagram's full length): that says whether it is media, and its extension
 * carries the generator's send time (tools/bench/gen.h). The kernel's receive timestamp
 * (SO_TIMESTAMPNS) minus the send time is the packet's latency through the relay: what
 * the relay and the kernel's two hops add, not how late this thread got to it. Every
 * SAMPLE_EVERY-th packet of each endpoint is read whole and unprotected with the
 * endpoint's own context, which proves the relay's SRTP along the way.
 */
#ifndef CQ_TOOLS_BENCH_SINK_H
#define CQ_TOOLS_BENCH_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/bench/endpoint.h"

struct cq_bench_sink;

typedef struct {
    uint64_t media;         /* RTP packets */
    uint64_t bytes;         /* their datagram bytes */
    uint64_t rtcp;          /* RTCP (the relay's reports and requests) */
    uint64_t other;         /* anything else */
    uint64_t verified;      /* sampled packets that unprotected */
    uint64_t auth_failures; /* sampled packets that did not */
    uint64_t cpu_ns;        /* the thread's CPU time */
} cq_bench_sink_counters_t;

typedef struct {
    uint64_t count;
    uint64_t p50_us, p99_us, p999_us, max_us;
    uint64_t negative; /* send times after their arrival (clocks disagree): should be 0 */
} cq_bench_latency_t;

/* Prepares to read eps[0..n) (which must outlive the sink). Returns 0, CQ_ENOMEM or a
 * negated errno from epoll or setsockopt. */
int cq_bench_sink_create(struct cq_bench_sink **out, cq_bench_ep_t *eps, size_t n);

/* Starts the thread. Returns 0 or a negated errno. */
int cq_bench_sink_start(struct cq_bench_sink *s);

void cq_bench_sink_counters(struct cq_bench_sink *s, cq_bench_sink_counters_t *out);

/* Starts (from an empty histogram) or stops recording latencies. */
void cq_bench_sink_record(struct cq_bench_sink *s, bool on);

/* The latencies recorded since recording last started. */
void cq_bench_sink_latency(struct cq_bench_sink *s, cq_bench_latency_t *out);

/* Stops the thread and frees everything. NULL is fine. */
void cq_bench_sink_destroy(struct cq_bench_sink *s);

#endif
