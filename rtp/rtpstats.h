/*
 * Receive statistics of one incoming RTP stream (RFC 3550 Appendix A.1, A.3, A.8), as the
 * relay keeps them for each publisher stream and the client for each stream it receives:
 * the numbers a receiver report carries.
 *
 * Pure and caller-owned: a plain value, no allocation, time passed in.
 *
 * Choices where RFC 3550 leaves room, and why:
 * - No probation. A.1 waits for two in-order packets before believing a new SSRC; chasqui's
 *   SSRCs are announced by signaling and packets were authenticated by SRTP, so the first
 *   one counts.
 * - A jump of more than MAX_DROPOUT (3000) is believed only when the next packet follows
 *   it (A.1's bad_seq): then the sequence restarts, as after a publisher's encoder restart.
 * - Jitter (A.8) is fed once per timestamp (the first packet of each frame), as libwebrtc
 *   does: the packets of one video frame leave the sender back to back with one timestamp,
 *   and counting their spread as jitter would make every video stream look jittery.
 *   Retransmissions never feed it (their delay is the repair's, not the network's).
 */
#ifndef CQ_RTP_RTPSTATS_H
#define CQ_RTP_RTPSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtcp.h"

typedef enum {
    CQ_RTP_PKT_NEW = 0,   /* in order (possibly after a gap) */
    CQ_RTP_PKT_LATE,      /* older than the highest seen: reordered or retransmitted */
    CQ_RTP_PKT_DUPLICATE, /* the highest seen, again */
    CQ_RTP_PKT_JUMP,      /* far out of sequence: ignored until confirmed */
    CQ_RTP_PKT_RESTART,   /* a confirmed jump: the sequence starts anew here */
} cq_rtp_pkt_class_t;

typedef struct {
    uint32_t clock_rate; /* RTP clock, Hz */
    bool started;
    uint16_t max_seq;  /* highest sequence number seen */
    uint32_t cycles;   /* wraps of max_seq, times 65536 */
    uint32_t base_seq; /* first sequence number of this (re)start */
    uint32_t bad_seq;  /* the sequence number that would confirm a jump; 65537 when none */
    uint64_t received; /* packets counted (duplicates included, as A.3 counts them) */
    uint64_t bytes;    /* their sizes */
    uint64_t expected_prior, received_prior; /* at the last report */

    /* A.8 jitter, in RTP timestamp units scaled by 16 (fixed point). */
    uint32_t jitter_q4;
    bool have_transit;
    int64_t last_transit;
    uint32_t last_ts;

    /* The last sender report from this source, for LSR/DLSR. */
    uint32_t last_sr;         /* middle 32 bits of its NTP timestamp; 0: none yet */
    uint64_t last_sr_arrival; /* our time, us */
} cq_rtp_recv_stats_t;

/* Resets *s for a stream on the given RTP clock (48000 for Opus, 90000 for video). */
void cq_rtp_recv_stats_init(cq_rtp_recv_stats_t *s, uint32_t clock_rate);

/* Counts one packet that arrived at arrival_us (monotonic) with len bytes. retransmission:
 * it came as RTX (or is known to be a repair), so it counts for loss but not for jitter.
 * Returns how the packet stands in the sequence; JUMP packets are not counted. */
cq_rtp_pkt_class_t cq_rtp_recv_stats_update(cq_rtp_recv_stats_t *s, uint16_t seq, uint32_t rtp_ts,
                                            uint64_t arrival_us, size_t len, bool retransmission);

/* Records a sender report from this stream's source (for LSR and DLSR). */
void cq_rtp_recv_stats_on_sr(cq_rtp_recv_stats_t *s, uint64_t ntp, uint64_t arrival_us);

/* The extended highest sequence number (cycles + max_seq). */
uint32_t cq_rtp_recv_stats_ext_highest(const cq_rtp_recv_stats_t *s);

/* Cumulative packets lost (expected - received), as a signed count; negative when
 * duplicates outnumber losses. */
int64_t cq_rtp_recv_stats_lost(const cq_rtp_recv_stats_t *s);

/* Fills a report block about this stream (source ssrc) for a report sent at now_us and
 * starts a new interval for the fraction lost (A.3). Before any packet, everything is 0. */
void cq_rtp_recv_stats_report(cq_rtp_recv_stats_t *s, uint32_t ssrc, uint64_t now_us,
                              cq_rtcp_report_t *out);

#endif
