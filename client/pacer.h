/*
 * The video pacer: sound first, pictures spread out. An encoder hands over a whole frame
 * at once (a keyframe can be 40 packets); put on a 384 kbit/s VSAT uplink in one burst it
 * fills the modem's queue, and every sound packet behind it waits for the whole frame to
 * clock out: to the receiver that is jitter, its jitter buffer grows, and the farmer hears
 * everyone later. The pacer holds video packets and lets them out at a rate a little above
 * the video's own (so frames still leave within a frame time or so), while sound and RTCP
 * go straight to the link.
 *
 * A leaky bucket: packets leave when the bytes sent stay within rate * elapsed + burst.
 * A plain value with two rings of packets, the video's and the repairs' that go ahead of
 * it; nothing allocated per packet.
 */
#ifndef CQ_CLIENT_PACER_H
#define CQ_CLIENT_PACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CQ_PACER_PACKETS 512  /* three keyframes of 640x360 */
#define CQ_PACER_REPAIRS 32   /* answers to NACKs waiting at once */
#define CQ_PACER_MTU     1300 /* plain RTP, before SRTP */

/* A FIFO over slots [base, base + size) of the pacer's buffers. */
typedef struct {
    uint32_t base, size, head, count;
} cq_pacer_queue_t;

typedef struct {
    uint64_t rate_bps; /* the pace */
    uint32_t burst;    /* bytes that may leave at once after a pause */
    double credit;     /* bytes that may leave now */
    uint64_t last_us;  /* when credit was last brought up to date */
    bool timed;        /* last_us is set */
    /* Repairs leave before the video queued: a receiver's picture stands still until the
     * repair comes, and on a thin uplink a keyframe ahead of it is a few hundred ms. They
     * share the RTX stream with TL0's copies, so its numbers may leave out of order: by
     * the copies queued within the endpoint's 1-s age limit (a dozen or two), far inside
     * SRTP's replay window of 128. */
    cq_pacer_queue_t repairs, video;
    uint32_t count; /* in both */
    uint16_t len[CQ_PACER_PACKETS + CQ_PACER_REPAIRS];
    uint8_t data[CQ_PACER_PACKETS + CQ_PACER_REPAIRS][CQ_PACER_MTU];
    uint64_t enqueued_us[CQ_PACER_PACKETS + CQ_PACER_REPAIRS];
    uint64_t queued, sent, dropped; /* dropped: the ring was full */
    uint64_t repairs_queued;        /* of queued: ahead of the video (cq_pacer_push_repair) */
    uint64_t flushed;               /* dropped for a keyframe (cq_pacer_drop_ssrc) */
    uint64_t stale;                 /* dropped for waiting too long (cq_pacer_drop_stale) */
    uint64_t max_delay_us;          /* the longest a packet waited */
} cq_pacer_t;

/* rate_bps > 0; burst 0 means two full packets. */
void cq_pacer_init(cq_pacer_t *p, uint64_t rate_bps, uint32_t burst);

/* A new pace (the video's bitrate changed). */
void cq_pacer_set_rate(cq_pacer_t *p, uint64_t rate_bps);

/* Queues a packet at now_us. Returns 0, CQ_EINVAL (longer than CQ_PACER_MTU) or
 * CQ_ENOBUFS (the ring is full: the packet is dropped, counted; a stalled link must not
 * grow the queue without end). */
int cq_pacer_push(cq_pacer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us);

/* Queues a repair (an RTX answering a NACK) ahead of the video queued, behind the repairs
 * already waiting; it takes the pace's credit as video does. With CQ_PACER_REPAIRS
 * waiting, it queues as video. Returns as cq_pacer_push. */
int cq_pacer_push_repair(cq_pacer_t *p, const uint8_t *pkt, size_t len, uint64_t now_us);

/* The next packet that may leave at now_us: its bytes (valid until the next push) and
 * length, or 0 when none may. */
size_t cq_pacer_pop(cq_pacer_t *p, uint64_t now_us, const uint8_t **pkt);

/* Drops every queued packet whose RTP SSRC is ssrc (a keyframe was asked for on that
 * stream: what waits is history no receiver will use). Returns how many. */
unsigned cq_pacer_drop_ssrc(cq_pacer_t *p, uint32_t ssrc);

/* Drops the packets at the heads queued more than max_age_us before now_us (counted in
 * `stale`) and returns how many: held that long (the congestion window stopped video), a
 * picture is of no use to a conversation, and sent late it only delays the keyframe the
 * receivers will ask for. */
unsigned cq_pacer_drop_stale(cq_pacer_t *p, uint64_t now_us, uint64_t max_age_us);

/* When the next packet may leave; false when the queue is empty. */
bool cq_pacer_next(const cq_pacer_t *p, uint64_t now_us, uint64_t *at_us);

#endif
