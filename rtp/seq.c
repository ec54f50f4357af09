#include "rtp/seq.h"

/* The highest value starts at the first wire value, 0..65535 (0..2^32 - 1), and only ever
 * grows, so it is never negative and its low 16 (32) bits are the wire value of the
 * newest packet: each new value is placed relative to that one. */

void cq_seq_unwrapper_init(cq_seq_unwrapper_t *u) {
    u->highest = 0;
    u->started = false;
}

int64_t cq_seq_unwrap_peek(const cq_seq_unwrapper_t *u, uint16_t seq) {
    if (!u->started)
        return seq;
    return u->highest + cq_seq_diff(seq, (uint16_t)u->highest);
}

int64_t cq_seq_unwrap(cq_seq_unwrapper_t *u, uint16_t seq) {
    int64_t ext = cq_seq_unwrap_peek(u, seq);
    if (!u->started || ext > u->highest) {
        u->highest = ext;
        u->started = true;
    }
    return ext;
}

void cq_ts_unwrapper_init(cq_ts_unwrapper_t *u) {
    u->highest = 0;
    u->started = false;
}

int64_t cq_ts_unwrap_peek(const cq_ts_unwrapper_t *u, uint32_t ts) {
    if (!u->started)
        return ts;
    return u->highest + cq_ts_diff(ts, (uint32_t)u->highest);
}

int64_t cq_ts_unwrap(cq_ts_unwrapper_t *u, uint32_t ts) {
    int64_t ext = cq_ts_unwrap_peek(u, ts);
    if (!u->started || ext > u->highest) {
        u->highest = ext;
        u->started = true;
    }
    return ext;
}
