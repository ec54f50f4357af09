/*
 * A synthetic telecentre's transport: one UDP socket on loopback, its SRTP contexts, and
 * its ICE-lite binding to the relay, made the way chasqui-client makes it (client/
 * ice_check.h writes the authenticated Binding request and checks the answer).
 *
 * Threads: opened and bound on the main thread; afterwards the generator thread uses
 * tx and `to`, the receiving thread uses rx, each alone.
 */
#ifndef CQ_TOOLS_BENCH_ENDPOINT_H
#define CQ_TOOLS_BENCH_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "relay/relay.h"
#include "relay/udp.h"
#include "rtp/srtp.h"
#include "rtp/stun.h"

typedef struct {
    cq_udp_t udp;
    cq_udp_addr_t local; /* where it receives: the limit forwarder sends here */
    cq_udp_addr_t relay; /* its session's relay worker */
    cq_udp_addr_t to;    /* where its media goes now: relay, or the limit forwarder */
    cq_srtp_t tx;        /* protects what it sends, with the participant's key_in */
    cq_srtp_t rx;        /* unprotects what it receives, with its key_out */
    char ufrag[CQ_RELAY_UFRAG_MAX + 1], pwd[CQ_RELAY_PWD_MAX + 1];
    uint8_t tid[CQ_STUN_TID_SIZE]; /* of its Binding request */
    bool bound;
} cq_bench_ep_t;

/*
 * Opens e for participant p of a relay listening on 127.0.0.1:relay_port: a socket on
 * 127.0.0.1 with receive and send buffers of sockbuf bytes, and both SRTP contexts.
 * Returns 0 or a CQ_E / negated errno code; on failure e holds nothing to close.
 */
int cq_bench_ep_open(cq_bench_ep_t *e, const cq_relay_participant_params_t *p, uint16_t relay_port,
                     int sockbuf);
void cq_bench_ep_close(cq_bench_ep_t *e);

/*
 * Binds every endpoint of eps[0..n) at once: each sends an authenticated, nominating
 * Binding request, repeated every 100 ms until the relay's answer verifies, for up to
 * timeout_ms. Returns 0 when all are bound, CQ_EAGAIN when some got no answer in time,
 * or the first answer that failed (CQ_EAUTH, a negated STUN error code).
 */
int cq_bench_ep_bind_all(cq_bench_ep_t *eps, size_t n, int timeout_ms);

#endif
