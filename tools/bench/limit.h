/*
 * The limit forwarder: what forwarding costs on this machine with nothing of the relay's
 * logic, so a run can say how close the relay comes to it (DESIGN.md: "every figure of
 * this path is measured against a raw forwarder doing the same syscalls and SRTP work").
 *
 * It does exactly the relay's unavoidable work and no more: one thread polls one socket
 * (epoll, as libuv does), receives batches of CQ_UDP_BATCH with recvmmsg, finds the sender
 * by its address, unprotects the packet once with the sender's context, and for each
 * receiver the scenario routes that SSRC to copies it into a send-queue slot, protects
 * it with that receiver's context (same suite, same keys as the relay's) and queues it;
 * each batch leaves with sendmmsg (relay/udp.h). No RTP parsing beyond the SSRC, no
 * rewriting, no statistics, no RTCP, no layer selection, no retransmission cache.
 */
#ifndef CQ_TOOLS_BENCH_LIMIT_H
#define CQ_TOOLS_BENCH_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "tools/bench/endpoint.h"
#include "tools/bench/scenario.h"

struct cq_bench_limit;

typedef struct {
    uint64_t datagrams; /* received */
    uint64_t forwarded; /* copies queued and sent */
    uint64_t dropped;   /* copies the socket refused, and packets that did not unprotect */
    uint64_t cpu_ns;    /* the thread's CPU time */
} cq_bench_limit_counters_t;

/* Prepares the forwarder for scenario s, whose members receive at eps[i].local: a socket
 * on 127.0.0.1 with buffers of sockbuf bytes, and the SRTP contexts of both directions of
 * every member. s and eps must outlive it. Returns 0, CQ_ENOMEM or what a socket or SRTP
 * set-up returned. */
int cq_bench_limit_create(struct cq_bench_limit **out, const cq_bench_scenario_t *s,
                          const cq_bench_ep_t *eps, int sockbuf);

/* Where publishers send to it. */
const cq_udp_addr_t *cq_bench_limit_addr(const struct cq_bench_limit *l);

/* Starts the thread. Returns 0 or a negated errno. */
int cq_bench_limit_start(struct cq_bench_limit *l);

void cq_bench_limit_counters(struct cq_bench_limit *l, cq_bench_limit_counters_t *out);

/* Stops the thread and frees everything. NULL is fine. */
void cq_bench_limit_destroy(struct cq_bench_limit *l);

#endif
