/*
 * The generator: one thread that sends every publisher's media, as real SRTP, on the
 * schedule of the scenario's streams played at a speed (1 = real time; 100 = a hundred
 * seconds of media each second). Speed compresses time and keeps everything else: packet
 * sizes, the mix of sound and video, frames sent as bursts of packets, keyframes, VP8
 * temporal layers.
 *
 * It is kept cheap so it can offer more than the relay forwards from half the machine:
 * each stream's packet is built once as a template, and each packet sent is a copy with
 * its numbers patched, protected with the publisher's context, queued in the publisher's
 * send queue and sent with sendmmsg (relay/udp.h).
 *
 * Every RTP packet carries, in a header extension (RFC 8285 one-byte form), the realtime
 * clock when it was made (CQ_BENCH_EXT_SEND_TIME, 8 bytes, big-endian nanoseconds): SRTP
 * authenticates the header but does not encrypt it, and the relay passes extensions on,
 * so a receiver reads the send time without unprotecting. Packets also carry the
 * transport-wide sequence number, and sound its audio level, as chasqui-client's do.
 *
 * Control: cq_bench_gen_set returns once the thread applied the change, so after setting
 * speed 0 nothing more leaves until the next change.
 */
#ifndef CQ_TOOLS_BENCH_GEN_H
#define CQ_TOOLS_BENCH_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "relay/udp.h"
#include "tools/bench/endpoint.h"
#include "tools/bench/scenario.h"

/* A private extension id (the relay and clients use 1..4, 10, 11). */
#define CQ_BENCH_EXT_SEND_TIME      13
#define CQ_BENCH_EXT_SEND_TIME_SIZE 8

struct cq_bench_gen;

typedef struct {
    uint64_t packets;    /* handed to the kernel */
    uint64_t expected;   /* copies the routing asks for, over what was sent */
    uint64_t dropped;    /* refused by the publishers' own sockets (not offered) */
    uint64_t cpu_ns;     /* the generator thread's CPU time */
    uint64_t max_lag_ns; /* how far the schedule ran behind since the last change */
    /* Packets sent to the relay on the video stream that has sent it the fewest (how full
     * the relay's retransmission caches can be). */
    uint64_t min_video_to_relay;
} cq_bench_gen_counters_t;

/* Prepares the streams of every publisher in s, sent from eps[member]. s and eps must
 * outlive the generator. Returns 0, CQ_ENOMEM or CQ_EINVAL. */
int cq_bench_gen_create(struct cq_bench_gen **out, const cq_bench_scenario_t *s,
                        cq_bench_ep_t *eps);

/* Starts the thread, at speed 0. Returns 0 or a negated errno. */
int cq_bench_gen_start(struct cq_bench_gen *g);

/* Plays media at speed (0 pauses), to each endpoint's relay worker or, when limit is not
 * NULL, to that address. Each forwarder has its own sequence numbers and SRTP contexts
 * (the limit's keys: cq_bench_scenario_limit_key), so each sees its streams without gaps
 * however a run alternates between them. The schedule starts again from now. */
void cq_bench_gen_set(struct cq_bench_gen *g, double speed, const cq_udp_addr_t *limit);

void cq_bench_gen_counters(struct cq_bench_gen *g, cq_bench_gen_counters_t *out);

/* Stops the thread and frees everything. NULL is fine. */
void cq_bench_gen_destroy(struct cq_bench_gen *g);

#endif
