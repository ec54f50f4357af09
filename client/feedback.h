/*
 * What a telecentre tells the relay about what it receives (RFC 3550 §6.4, RFC 4585):
 * a receiver report every second on every stream, NACKs for video packets that did not
 * come (held 10 ms for reordering, repeated per round trip, given up after a second: see
 * rtp/nack_tracker.h), and PLIs when a picture waits for a keyframe, no more often than
 * every max(300 ms, 1.5 RTT), and transport-wide CC feedback (cc/arrivals.h) on every
 * packet that carried a transport-wide sequence number, every 100 ms while they come: the
 * relay's estimate of this telecentre's downlink is made of it. Each call to
 * cq_feedback_build writes at most one compound.
 *
 * A plain value the caller owns (about 420 KB with its NACK trackers and arrival times:
 * keep it off the stack); no allocation, no I/O.
 */
#ifndef CQ_CLIENT_FEEDBACK_H
#define CQ_CLIENT_FEEDBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc/arrivals.h"
#include "rtp/nack_tracker.h"
#include "rtp/rtpstats.h"

/* Streams received: audio and video of 16 telecentres. One RR carries at most 31 report
 * blocks (RFC 3550 §6.4.2), which covers the 30 of a full conference. */
#define CQ_FEEDBACK_STREAMS 32

/* Transport-wide feedback after a long backlog could fill any buffer; a compound that
 * carries it stays within this (plain), so that with the SRTCP trailer and the UDP/IP
 * headers it is never fragmented on a path of 1280 bytes. */
#define CQ_FEEDBACK_MTU 1200

typedef struct {
    bool used, video;
    uint32_t ssrc;
    cq_rtp_recv_stats_t rx;
    cq_nack_tracker_t nack;
    bool want_keyframe;
    uint64_t last_pli_us;
} cq_feedback_stream_t;

typedef struct {
    uint32_t own_ssrc;
    uint64_t rtt_us; /* the caller's estimate, 0 when unknown */
    uint64_t next_report_us;
    cq_feedback_stream_t s[CQ_FEEDBACK_STREAMS];
    cq_arrivals_t twcc; /* transport-wide arrivals, sender SSRC own_ssrc, media SSRC 0 */
    uint64_t nacks_sent, plis_sent;
    bool nack_off; /* an ablation (the e2e suite): losses are tracked but never NACKed */
} cq_feedback_t;

void cq_feedback_init(cq_feedback_t *f, uint32_t own_ssrc);

/* A media packet arrived (repair: it came as RTX; frame_end: a video packet's marker, the
 * last of its frame, rtp/nack_tracker.h). Returns 0, or CQ_ENOBUFS when the stream is new
 * and every slot is taken (it is then not reported). */
int cq_feedback_packet(cq_feedback_t *f, uint32_t ssrc, bool video, uint16_t seq, bool frame_end,
                       uint32_t ts, size_t bytes, bool repair, uint64_t now_us);

/* An RTP packet (of any stream, repairs and probes included) carrying transport-wide
 * sequence number tseq arrived at now_us. */
void cq_feedback_transport_seq(cq_feedback_t *f, uint16_t tseq, uint64_t now_us);

/* The sender report of a stream arrived (for LSR/DLSR, so the relay knows the RTT). */
void cq_feedback_sr(cq_feedback_t *f, uint32_t ssrc, uint64_t ntp, uint64_t now_us);

/* The picture of video stream ssrc waits for a keyframe (true), or has one (false). */
void cq_feedback_want_keyframe(cq_feedback_t *f, uint32_t ssrc, bool want);

/* The NACK tracker of a video stream (its counts), or NULL for a stream not received. */
const cq_nack_tracker_t *cq_feedback_nacks(const cq_feedback_t *f, uint32_t ssrc);

/* Writes into buf the compound due at now_us (a report, NACKs, PLIs, transport-wide
 * feedback), plain (the caller protects it with SRTCP). Transport-wide feedback takes what
 * room is left within CQ_FEEDBACK_MTU bytes; what does not fit goes in the next compound.
 * Returns its length, 0 when nothing is due, or CQ_ENOBUFS. */
int cq_feedback_build(cq_feedback_t *f, uint64_t now_us, uint8_t *buf, size_t cap);

#endif
