/*
 * Pacing at the relay: each receiver's video and repairs leave at the pace of its
 * downlink estimate, its sound never waits.
 *
 * Why: a keyframe arrives from a publisher as 10-40 packets in a burst; copied at once
 * onto a 256 kbit/s rural downlink it fills the modem's queue for a second, and every
 * sound packet behind it arrives that much later (the receiver's jitter buffer grows, the
 * farmer hears everyone late). Paced, the burst waits here, where sound overtakes it, and
 * the link's own queue stays short.
 *
 * One pool of packet buffers per worker (fixed at creation: nothing allocated per packet)
 * is shared by every receiver's queue, a FIFO of pool entries; each queue has a byte
 * limit besides, so one stalled receiver cannot take the pool from the others. Each
 * queue's pace is a leaky bucket: bytes may leave while the credit is positive; credit
 * grows at the pace rate up to a small burst. Sound sent past the queue takes credit too,
 * so video yields to it.
 *
 * Plain values; no I/O, no allocation, no clock (callers pass the time).
 */
#ifndef CQ_RELAY_PACEQ_H
#define CQ_RELAY_PACEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A queued packet: plain RTP, before the transport-wide number and SRTP (both are added
 * when it leaves, so the number follows the order packets really go out in). */
#define CQ_PACEQ_MTU  1520
#define CQ_PACEQ_NONE 0xffffu

typedef struct {
    uint16_t len;
    int16_t tseq_at; /* where its transport-wide number goes; -1: nowhere */
    uint16_t next;   /* in its queue, or in the free list; CQ_PACEQ_NONE ends either */
    uint64_t queued_us;
} cq_paceq_entry_t;

typedef struct {
    cq_paceq_entry_t *e;
    uint8_t (*data)[CQ_PACEQ_MTU];
    uint16_t size, free_head, free_count;
} cq_paceq_pool_t;

typedef struct {
    uint16_t head, tail;
    uint32_t count, bytes, max_bytes;
    uint32_t rate_bps;
    double credit; /* bytes that may leave now; negative: owed */
    uint64_t credit_us;
    uint64_t queued, sent, dropped; /* dropped: over its byte limit or the pool was empty */
    uint64_t max_wait_us;           /* the longest a packet waited */
} cq_paceq_t;

/* A pool over caller-owned arrays of size entries (size < CQ_PACEQ_NONE). */
void cq_paceq_pool_init(cq_paceq_pool_t *pool, cq_paceq_entry_t *entries,
                        uint8_t (*data)[CQ_PACEQ_MTU], uint16_t size);

/* An empty queue paced at rate_bps, holding at most max_bytes. */
void cq_paceq_init(cq_paceq_t *q, uint32_t rate_bps, uint32_t max_bytes);

/* A new pace (the estimate moved). */
void cq_paceq_set_rate(cq_paceq_t *q, uint32_t rate_bps);

/* Whether a packet may leave at now_us without queueing: nothing waits and the credit
 * is positive. */
bool cq_paceq_open(cq_paceq_t *q, uint64_t now_us);

/* Bytes left, queued or not: they take credit. */
void cq_paceq_spend(cq_paceq_t *q, size_t bytes);

/* Queues a copy of pkt. Returns 0, CQ_EINVAL (longer than CQ_PACEQ_MTU) or CQ_ENOBUFS
 * (over the queue's byte limit or the pool is empty: dropped and counted). */
int cq_paceq_push(cq_paceq_pool_t *pool, cq_paceq_t *q, const uint8_t *pkt, size_t len,
                  ptrdiff_t tseq_at, uint64_t now_us);

/* The packet at the head if it may leave at now_us (credit positive): its entry and
 * bytes; NULL otherwise. cq_paceq_pop then releases it. */
const cq_paceq_entry_t *cq_paceq_due(cq_paceq_pool_t *pool, cq_paceq_t *q, uint64_t now_us,
                                     const uint8_t **pkt);

/* Releases the head packet (after cq_paceq_due gave it) and takes its credit. */
void cq_paceq_pop(cq_paceq_pool_t *pool, cq_paceq_t *q, uint64_t now_us);

/* Drops everything queued (the receiver left or lost its binding). */
void cq_paceq_clear(cq_paceq_pool_t *pool, cq_paceq_t *q);

/* Drops the packets at the head that were queued more than max_age_us before now_us
 * (counted in dropped), and returns how many: a picture that waited that long is of no
 * use to a conversation, and sending it late only delays the keyframe that replaces it. */
unsigned cq_paceq_drop_stale(cq_paceq_pool_t *pool, cq_paceq_t *q, uint64_t now_us,
                             uint64_t max_age_us);

/* How long what is queued needs to leave at the pace, in microseconds. */
uint64_t cq_paceq_backlog_us(const cq_paceq_t *q);

#endif
