/*
 * The retransmission cache of one publisher video stream: the last ~second of its plain
 * RTP packets, so a receiver's NACK is answered from the relay (as RTX, RFC 4588) instead
 * of travelling back over the publisher's weak uplink.
 *
 * A ring of fixed slots indexed by sequence number, allocated once at _init (control
 * path); _put copies the packet in (a memcpy of about a kilobyte: cheaper than keeping a
 * reference to the receive slot would be in bookkeeping, and measured in issue 8).
 * Entries older than max_age are not served: a repair that late is useless to a jitter
 * buffer, and the slot may already hold a packet from a later wrap.
 */
#ifndef CQ_RELAY_RTXCACHE_H
#define CQ_RELAY_RTXCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *slots; /* count * slot_size bytes */
    uint16_t *lens; /* 0: empty */
    uint16_t *seqs;
    uint64_t *times_us; /* when put */
    unsigned count;     /* a power of two */
    unsigned slot_size;
    uint64_t max_age_us;
    uint64_t hits, misses;
} cq_rtxcache_t;

/* Ring of `count` slots (rounded up to a power of two) of up to slot_size bytes, serving
 * packets up to max_age_us old. Returns 0 or CQ_ENOMEM / CQ_EINVAL. */
int cq_rtxcache_init(cq_rtxcache_t *c, unsigned count, unsigned slot_size, uint64_t max_age_us);
void cq_rtxcache_close(cq_rtxcache_t *c);

/* Keeps a copy of the plain RTP packet [pkt, pkt + len) under its sequence number.
 * Packets larger than a slot are not kept. */
void cq_rtxcache_put(cq_rtxcache_t *c, uint16_t seq, const uint8_t *pkt, size_t len,
                     uint64_t now_us);

/* The packet kept for seq, if it is there and not older than max_age: returns its length
 * and points *pkt at the cache's copy (valid until the next put), or 0. */
size_t cq_rtxcache_get(cq_rtxcache_t *c, uint16_t seq, uint64_t now_us, const uint8_t **pkt);

/* Whether a packet is kept for seq (not counted as a hit or a miss): one that came in
 * already (a second repair of it, asked for twice on a long round trip). */
bool cq_rtxcache_has(const cq_rtxcache_t *c, uint16_t seq, uint64_t now_us);

#endif
