/*
 * Sequence-number and timestamp arithmetic across wraparound (RFC 3550 §A.1, §5.1).
 *
 * RTP sequence numbers are 16 bits and wrap every 65536 packets (about 20 minutes of
 * 50 packet/s audio, a few minutes of video); RTP timestamps are 32 bits and wrap every
 * 2^32 clock ticks (about 13 hours at 90 kHz, and the initial value is random, so a wrap
 * can come at any moment). Every comparison of two such values is therefore done in
 * modular arithmetic: b is "newer" than a when it lies less than half the number space
 * ahead of a.
 *
 * The distance exactly half the space away is ambiguous. Rather than call neither value
 * newer (which breaks sorting and makes a jitter buffer stall), chasqui breaks the tie the
 * way libwebrtc does: of two values exactly half the space apart, the numerically larger
 * one is the newer. Hence, for a != b, exactly one of newer(a, b) and newer(b, a) holds,
 * and the signed distance is antisymmetric: diff(a, b) == -diff(b, a). The distance is
 * returned in a type one size wider than the field so that +half fits.
 *
 * The unwrappers turn the 16-bit (32-bit) values of one stream into 64-bit extended
 * values that keep counting across wraps, as RFC 3550 §A.1 does with its "cycles" count.
 * They are small plain values that the caller owns (one per stream); they allocate
 * nothing and cannot fail.
 */
#ifndef CQ_RTP_SEQ_H
#define CQ_RTP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* Half the sequence-number space: a step of this size or more is ambiguous. */
#define CQ_SEQ_HALF 0x8000
/* Half the timestamp space. */
#define CQ_TS_HALF 0x80000000u

/*
 * Signed distance from b to a in the 16-bit sequence space: the d such that
 * b + d == a (mod 2^16), chosen in [-32767, 32767], or +/-32768 when a and b are exactly
 * half the space apart (+32768 when a > b, -32768 otherwise; see the tie rule above).
 * Positive means a is newer than b.
 */
static inline int32_t cq_seq_diff(uint16_t a, uint16_t b) {
    uint16_t d = (uint16_t)(a - b);
    if (d == CQ_SEQ_HALF)
        return a > b ? CQ_SEQ_HALF : -CQ_SEQ_HALF;
    return d < CQ_SEQ_HALF ? (int32_t)d : (int32_t)d - 0x10000;
}

/* True when sequence number a is newer than b: less than half the space ahead of b, or
 * exactly half and numerically larger. Never true for a == b. */
static inline bool cq_seq_newer(uint16_t a, uint16_t b) {
    return cq_seq_diff(a, b) > 0;
}

/*
 * Signed distance from b to a in the 32-bit timestamp space: the d such that
 * b + d == a (mod 2^32), in [-2^31 + 1, 2^31 - 1], or +/-2^31 at exactly half the space
 * (positive when a > b). Positive means a is later than b.
 */
static inline int64_t cq_ts_diff(uint32_t a, uint32_t b) {
    uint32_t d = a - b;
    if (d == CQ_TS_HALF)
        return a > b ? (int64_t)CQ_TS_HALF : -(int64_t)CQ_TS_HALF;
    return d < CQ_TS_HALF ? (int64_t)d : (int64_t)d - ((int64_t)1 << 32);
}

/* True when timestamp a is later than b, with the same tie rule as cq_seq_newer. */
static inline bool cq_ts_newer(uint32_t a, uint32_t b) {
    return cq_ts_diff(a, b) > 0;
}

/*
 * Extended (64-bit) sequence numbers for one stream. The first value seen is extended to
 * itself (0..65535), so a stream that never wraps reads the same in both forms. Every
 * later value is placed within half the space of the highest extended value so far:
 * a newer value becomes the new highest (one more cycle after a wrap), an older one (a
 * reordered or retransmitted packet) gets a smaller extended value and leaves the highest
 * alone. A packet older than the very first one can therefore get a negative extended
 * value (first 0, then 65535 gives -1); callers that index by it must allow for that.
 *
 * Plain value: copy it, reset it with cq_seq_unwrapper_init. Fields are read-only to
 * callers.
 */
typedef struct {
    int64_t highest; /* highest extended value returned so far (valid once started) */
    bool started;    /* false until the first value */
} cq_seq_unwrapper_t;

/* Resets *u to "no packet seen". */
void cq_seq_unwrapper_init(cq_seq_unwrapper_t *u);

/* Returns the extended value of seq and advances u->highest when seq is newer. Cannot
 * fail. */
int64_t cq_seq_unwrap(cq_seq_unwrapper_t *u, uint16_t seq);

/* Returns the extended value seq would get, without updating *u. Before the first value
 * it returns seq itself. */
int64_t cq_seq_unwrap_peek(const cq_seq_unwrapper_t *u, uint16_t seq);

/* The same for 32-bit RTP timestamps: the first timestamp extends to itself
 * (0..2^32 - 1), later ones are placed within half the space of the highest so far. */
typedef struct {
    int64_t highest;
    bool started;
} cq_ts_unwrapper_t;

void cq_ts_unwrapper_init(cq_ts_unwrapper_t *u);
int64_t cq_ts_unwrap(cq_ts_unwrapper_t *u, uint32_t ts);
int64_t cq_ts_unwrap_peek(const cq_ts_unwrapper_t *u, uint32_t ts);

#endif
