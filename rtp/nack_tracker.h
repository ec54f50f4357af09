/*
 * What a receiver asks again for, and when (RFC 4585 generic NACK): the relay tracks the
 * gaps in what each publisher sends it, the client (issue 5) the gaps in what the relay
 * sends. Pure and caller-owned: a fixed ring of missing sequence numbers, time passed in.
 *
 * The rules, and why:
 * - A gap is asked for only after a short hold (10 ms by default): radio links reorder,
 *   and a packet a few milliseconds late needs no repair.
 * - A request unanswered is repeated after the retry interval (the caller's RTT estimate
 *   times 1.5, at least 20 ms: a repair cannot come back sooner than a round trip). Until
 *   the caller has measured one, CQ_NACK_RTT_GUESS_US stands for it: a client repeated
 *   its requests every 20 ms in its first seconds, which the relay refuses as too soon
 *   (it repairs a packet once a round trip).
 * - On a long round trip (double_rtt_us, 300 ms by default: VSAT's is 600) the first
 *   request goes twice, double_gap_us (40 ms) apart, and the answerer answers each: a
 *   repair whose request or answer is lost costs another round trip, and a jitter buffer
 *   that waits one round trip for it gives the frame up, so the picture waits for a
 *   keyframe: 2-2.5 s on VSAT, where 1 % loss on each of three legs made that one repair
 *   in thirty. Twice, it is one in a thousand or so, for a few packets more per loss.
 * - A hole is given up after max_retries requests or when older than max_age (default
 *   1 s: older repairs are useless to a jitter buffer); given-up holes are counted.
 * - A frame's last packets lost leave no gap until the stream's next packet comes, and
 *   after a keyframe of a thin layer the encoder skips pictures for up to 0.4 s: lose
 *   the next one too and a keyframe's last packet was asked for most of a second late, by
 *   when its publisher no longer repaired it. So the caller says which packets end a frame
 *   (cq_nack_tracker_on_frame_packet); when the newest packet does not, and nothing
 *   follows it for tail_us (150 ms by default: a frame's packets leave back to back, and
 *   a 3G link's jitter is 40 ms), the packet after it is taken as lost. If it was only
 *   late, it fills that hole when it comes; if it was never sent, its sender has nothing
 *   to repeat.
 * - A gap too large to track (more than half the ring) clears everything and sets
 *   keyframe_needed: recovering hundreds of packets over a weak link is slower than a new
 *   keyframe, so video receivers ask for one instead.
 */
#ifndef CQ_RTP_NACK_TRACKER_H
#define CQ_RTP_NACK_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CQ_NACK_TRACKER_SIZE 512 /* missing packets tracked at once (a power of two) */
/* The round trip from which a first request goes twice (above); an answerer that limits
 * its repairs of one packet to one a round trip lets them both through from here on. */
#define CQ_NACK_DOUBLE_RTT_US 300000
/* The round trip assumed until one is measured (the relay assumes the same). */
#define CQ_NACK_RTT_GUESS_US 200000
/* How long a hole is asked for by default (max_age_us, above). */
#define CQ_NACK_MAX_AGE_US 1000000
/* How long an unfinished frame waits for its next packet by default (tail_us, above). */
#define CQ_NACK_TAIL_US 150000

typedef struct {
    uint16_t seq;
    bool used;
    uint8_t retries;    /* requests sent */
    uint64_t missed_us; /* when the gap was seen */
    uint64_t last_sent_us;
} cq_nack_entry_t;

typedef struct {
    bool started;
    uint16_t highest;
    unsigned missing; /* holes being tracked */
    uint64_t hold_us, max_age_us, min_retry_us;
    uint64_t double_rtt_us, double_gap_us; /* 0: never twice */
    uint64_t tail_us;
    unsigned max_retries;
    /* The newest packet did not end its frame (cq_nack_tracker_on_frame_packet): since. */
    bool open;
    uint64_t open_us;
    /* Counters. */
    uint64_t recovered; /* holes filled (by a repair or a late packet) */
    /* How long those holes had been open when filled, summed, and the longest: what a
     * repair costs the picture waiting for it, the hold and the round trip included. */
    uint64_t recovered_wait_us, recovered_wait_max_us;
    uint64_t given_up;
    uint64_t tails;       /* frames' ends taken as lost for lack of a next packet */
    bool keyframe_needed; /* set by a gap too large to repair; the caller clears it */
    cq_nack_entry_t e[CQ_NACK_TRACKER_SIZE];
} cq_nack_tracker_t;

/* Resets *t with the defaults above (hold 10 ms, max age 1 s, 10 retries, twice from a
 * 300 ms round trip, 40 ms apart, a frame's tail after 150 ms). */
void cq_nack_tracker_init(cq_nack_tracker_t *t);

/* A packet with sequence number seq arrived (first transmission or repair). */
void cq_nack_tracker_on_packet(cq_nack_tracker_t *t, uint16_t seq, uint64_t now_us);

/* The same, for a stream of frames: end says whether the packet ends its frame (the RTP
 * marker of video), so that a lost tail is asked for (above). */
void cq_nack_tracker_on_frame_packet(cq_nack_tracker_t *t, uint16_t seq, bool end, uint64_t now_us);

/* Whether cq_nack_tracker_poll may have anything to ask for: holes, or a frame open. */
bool cq_nack_tracker_pending(const cq_nack_tracker_t *t);

/* Fills out[0 .. cap) with the sequence numbers to request now, oldest first (in RTP
 * order, so cq_rtcp_nack_compact takes them as they are), marks them sent, and drops
 * the holes that must be given up. rtt_us is the caller's round-trip estimate (0 when
 * unknown: CQ_NACK_RTT_GUESS_US then). Returns how many were written; more may be due
 * at the next call. */
size_t cq_nack_tracker_poll(cq_nack_tracker_t *t, uint64_t now_us, uint64_t rtt_us, uint16_t *out,
                            size_t cap);

#endif
