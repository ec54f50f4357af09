/*
 * The telecentre's view of its own uplink (issue 7, "Adaptation at the client"): the
 * bandwidth estimator (cc/estimator.h) fed with what left (cq_uplink_sent, from the one
 * point where RTP leaves: client/endpoint.c) and with the relay's transport-wide feedback
 * about it, and the layers the relay says anyone uses (CQLU, rtp/cqlu.h). The endpoint
 * reads both every few hundred ms and hands them to the allocator (client/ratealloc.h).
 *
 * The relay keeps no estimate of publishers' uplinks (no REMB): the estimate is made here,
 * send-side, as libwebrtc makes it, from feedback that says when each packet arrived.
 *
 * A plain value the caller owns (about 170 KB: keep it in a heap object); no allocation,
 * no I/O, no clock. Owned by one thread.
 */
#ifndef CQ_CLIENT_UPLINK_H
#define CQ_CLIENT_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc/estimator.h"
#include "rtp/twcc.h"

/* Statuses one feedback message may report and still be read; a message describing more
 * (a run of thousands lost after an outage) is skipped, counted. */
#define CQ_UPLINK_TWCC_MAX 4096

typedef struct {
    cq_cc_t cc;
    uint8_t layers_used; /* the last CQLU's mask */
    uint16_t low_kbps;   /* its ceiling on the lowest layer; 0: none */
    uint8_t sound_kbps;  /* the room for our sound at the thinnest receiver; 0: none */
    int64_t sound_us;    /* when the last CQLU came (cq_uplink_sound_kbps) */
    bool layers_known;   /* a CQLU arrived */
    uint64_t feedbacks, feedback_skipped, cqlu_in;
    cq_twcc_packet_t pkts[CQ_UPLINK_TWCC_MAX]; /* where feedback is parsed */
} cq_uplink_t;

/* Returns 0 or CQ_EINVAL (cfg out of order, as cq_cc_init). */
int cq_uplink_init(cq_uplink_t *u, const cq_cc_config_t *cfg);

/* A packet left: its transport-wide number, its bytes on the wire (RTP and SRTP tag),
 * and the probe cluster it belongs to (CQ_SENDHIST_NO_PROBE outside one). */
void cq_uplink_sent(cq_uplink_t *u, uint16_t tseq, size_t bytes, int64_t now_us, int probe);

/* A plain RTCP compound from the relay: its transport-wide feedback and CQLU are taken,
 * everything else is left to the sender and receiver. A compound that does not walk is
 * ignored from where it breaks. */
void cq_uplink_rtcp(cq_uplink_t *u, const uint8_t *pkt, size_t len, int64_t now_us);

/* The room the relay last gave our sound (kbit/s; 0: none), while CQLU keeps coming: the
 * relay repeats it every second while there is one, so a room not heard of for
 * CQ_UPLINK_SOUND_LAPSE_US has gone, whether the CQLU that said so was lost or the thin
 * receiver left. */
#define CQ_UPLINK_SOUND_LAPSE_US 2500000
unsigned cq_uplink_sound_kbps(const cq_uplink_t *u, int64_t now_us);

#endif
