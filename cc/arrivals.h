/*
 * The receive side of transport-wide congestion control (draft-holmer-rmcat-transport-
 * wide-cc-extensions-01): it remembers when each transport-wide sequence number arrived
 * and writes the feedback (rtp/twcc.h) that tells the media sender, so that the sender's
 * estimator (cc/estimator.h) can compare arrival spacing with send spacing.
 *
 * What a feedback reports. Every feedback continues where the one before stopped: it
 * starts at the lowest number not yet reported and runs to the highest number that
 * arrived, every number between reported as received (with its arrival time) or not
 * received. So a gap is always reported, even when it falls where one feedback ends and
 * the next begins. A packet that arrives after a feedback reported it missing (reordering
 * on radio links, a late RTX) makes the next feedback start again from its number, as
 * libwebrtc's RemoteEstimatorProxy does: the packets after it are then reported a second
 * time, with the same times, and the reader keeps the first report of each number that
 * says "received" (cc/sendhist.h marks an entry acked). Only late packets within
 * CQ_ARRIVALS_LATE_REACH numbers of the next unreported one restart the feedback: going
 * further back would resend seconds of reports for a packet too old to tell the estimator
 * anything about the queue now.
 *
 * Memory. A ring of CQ_ARRIVALS_RING arrival times indexed by the sequence number,
 * extended to 64 bits (rtp/seq.h) so that the 65535 -> 0 wrap is just the next number.
 * The ring holds the CQ_ARRIVALS_RING numbers up to the highest that arrived; a number
 * further back is too old and is dropped (counted), and an arrival that the ring pushes
 * out before any feedback reported it is lost to the feedback (counted in `evicted`). At
 * the pace feedback goes (every 100 ms, or every CQ_ARRIVALS_DUE_PACKETS packets) that
 * takes a jump of more than CQ_ARRIVALS_RING numbers, which the sender sees as that many
 * packets lost, which they were.
 *
 * Times are the caller's monotonic clock in microseconds (the module has none of its own).
 * Feedback carries them modulo 2^24 * 64 ms (about 12 days), the span of the 24-bit
 * reference time: the reader unwraps reference times across feedbacks, so the module
 * moves each message's times into that span itself and any int64_t clock value works.
 *
 * A plain value the caller owns (about 17 KB: keep it in a heap object, not on a small
 * stack); no allocation, no I/O. Owned by one thread.
 */
#ifndef CQ_CC_ARRIVALS_H
#define CQ_CC_ARRIVALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/seq.h"

/* Numbers remembered: 2048 packets are 4 s of a 600 kbit/s video with its audio, far more
 * than arrive between two feedbacks. A power of two, so a number's slot is a mask. */
#define CQ_ARRIVALS_RING 2048

/* Feedback goes every CQ_ARRIVALS_INTERVAL_US while packets arrive (libwebrtc's default
 * 100 ms: about 2 % of a 384 kbit/s uplink at 5 packets a feedback), or as soon as this
 * many are waiting, so that a burst is reported before its delays are stale and one
 * feedback stays near 150 bytes. */
#define CQ_ARRIVALS_INTERVAL_US 100000
#define CQ_ARRIVALS_DUE_PACKETS 100

/* How far behind the next unreported number a late packet may be and still restart the
 * feedback from its own number (see above). 256 numbers are a second of video at its
 * busiest; re-reporting them costs about 300 bytes. */
#define CQ_ARRIVALS_LATE_REACH 256

/* This many arrivals in a row that all fall before the ring mean the sender's numbers
 * jumped by more than half the space (a restart): the state starts again from the next
 * packet instead of dropping everything until the numbers come round. */
#define CQ_ARRIVALS_RESYNC 32

/* The value of an arrival_us[] slot whose number did not arrive. A packet recorded at
 * exactly this time is taken as arriving 1 us later. */
#define CQ_ARRIVALS_NONE INT64_MIN

typedef struct {
    uint64_t recorded;   /* arrivals remembered (first arrival of a number) */
    uint64_t duplicates; /* a number that had already arrived: the first time is kept */
    uint64_t too_old;    /* before the ring: dropped */
    uint64_t late;       /* arrived after a feedback had reported it missing */
    uint64_t evicted;    /* pushed out of the ring before any feedback reported it */
    uint64_t resyncs;    /* starts again after the numbers jumped */
    uint64_t messages;   /* feedback messages written */
} cq_arrivals_stats_t;

/*
 * All fields are private to cc/arrivals.c except stats, which callers may read.
 * arrival_us[] holds CQ_ARRIVALS_NONE for a number that did not arrive; the ring covers
 * the extended numbers [end - CQ_ARRIVALS_RING, end).
 */
typedef struct {
    uint32_t sender_ssrc, media_ssrc;
    cq_seq_unwrapper_t unwrap;
    bool started;         /* a packet has arrived since init (or the last resync) */
    int64_t end;          /* one past the highest extended number that arrived */
    int64_t report_from;  /* the lowest extended number the next feedback reports */
    uint32_t pending;     /* arrivals since the last complete feedback */
    uint32_t too_old_run; /* arrivals in a row before the ring */
    bool backlog;         /* the last write left something for the next */
    bool fb_timed;        /* last_fb_us is set */
    int64_t last_fb_us;   /* when the last feedback went (or the first packet came) */
    uint8_t fb_count;     /* the next message's feedback packet count */
    cq_arrivals_stats_t stats;
    int64_t arrival_us[CQ_ARRIVALS_RING];
} cq_arrivals_t;

/*
 * Starts empty. sender_ssrc goes into every feedback as "SSRC of packet sender" (the
 * writer's own SSRC), media_ssrc as "SSRC of media source" (transport-wide feedback is
 * about every stream at once; libwebrtc sends the SSRC of one of them and nobody reads
 * it, chasqui sends 0 unless the caller knows better). The feedback count starts at 0.
 */
void cq_arrivals_init(cq_arrivals_t *a, uint32_t sender_ssrc, uint32_t media_ssrc);

/*
 * Packet tseq (the transport-wide-cc extension's value) arrived at arrival_us. Cannot fail:
 * duplicates, packets too old for the ring and any sequence of numbers are taken in, each
 * counted in a->stats. Reordering is normal: a number below the highest fills its slot
 * (and, when a feedback already reported it missing, see "late" above).
 */
void cq_arrivals_record(cq_arrivals_t *a, uint16_t tseq, int64_t arrival_us);

/*
 * True when a feedback should go at now_us: something arrived that no feedback reported
 * yet, and either CQ_ARRIVALS_INTERVAL_US passed since the last feedback (since the first
 * arrival, before any) or CQ_ARRIVALS_DUE_PACKETS are waiting. Also true right after a
 * cq_arrivals_write that could not fit everything, so the rest goes at the next call.
 */
bool cq_arrivals_due(const cq_arrivals_t *a, int64_t now_us);

/*
 * Writes into [buf, buf + cap) one or more complete RTCP transport-wide feedback messages
 * (RTPFB FMT 15, plain: the caller protects them), one after another as in a compound,
 * covering every number from the lowest unreported to the highest that arrived. Each
 * message takes the next feedback count. A message holds at most 256 received packets
 * (more go in the next one), so nothing on the stack grows with the backlog.
 *
 * Whatever does not fit in cap stays and goes with the next call: nothing recorded is
 * lost to a small buffer, and the messages written are never partial. now_us is when the
 * feedback goes (for cq_arrivals_due). Write whenever due says so, or at any time.
 *
 * Returns the bytes written (a multiple of 4), 0 when nothing waits to be reported, or
 * CQ_ENOBUFS when something waits but not even one message fits in cap (nothing is
 * written, nothing changes).
 */
int cq_arrivals_write(cq_arrivals_t *a, int64_t now_us, uint8_t *buf, size_t cap);

#endif
