#include "relay/seqmap.h"

#include "rtp/error.h"

/* Signed distance from b to a in the run's space: positive when a is newer. Exactly half
 * the space away counts as older, so an ambiguous input is never numbered as new. */
static int32_t diff(uint32_t a, uint32_t b, uint32_t mask) {
    uint32_t d = (a - b) & mask;
    uint32_t half = (mask >> 1) + 1;
    return d < half ? (int32_t)d : (int32_t)d - (int32_t)(mask + 1);
}

/* Keeps the run's window within a quarter of the space behind its newest input, so that
 * every comparison inside it is unambiguous however long the run lasts: older inputs are
 * refused, and drops older than the window are forgotten. */
static void slide_window(cq_seqmap_t *m) {
    int32_t span = (int32_t)(m->mask + 1) / 4;
    if (diff(m->in_highest, m->base_in, m->mask) <= span)
        return;
    m->base_in = (m->in_highest - (uint32_t)span) & m->mask;
    while (m->ndrops > 0 && diff(m->drops[m->head], m->base_in, m->mask) < 0) {
        m->head = (m->head + 1) % CQ_SEQMAP_DROPS;
        m->ndrops--;
    }
}

void cq_seqmap_init(cq_seqmap_t *m) {
    *m = (cq_seqmap_t){.mask = 0xffff};
}

int cq_seqmap_restart(cq_seqmap_t *m, uint32_t first, unsigned bits) {
    if (bits < 2 || bits > 16)
        return CQ_EINVAL;
    m->mask = (1u << bits) - 1;
    first &= m->mask;
    uint32_t start_out = m->any_out ? (m->out_highest + 1) & m->mask : first;
    m->delta = (start_out - first) & m->mask;
    m->in_highest = (first - 1) & m->mask;
    m->base_in = first;
    m->ndrops = 0;
    m->head = 0;
    m->started = true;
    return 0;
}

int cq_seqmap_forward(cq_seqmap_t *m, uint32_t in, uint32_t *out) {
    if (!m->started)
        return CQ_EBADSTATE;
    in &= m->mask;
    if (diff(in, m->in_highest, m->mask) > 0) {
        *out = (in + m->delta) & m->mask;
        m->in_highest = in;
        m->out_highest = *out;
        m->any_out = true;
        slide_window(m);
        return 0;
    }
    if (diff(in, m->base_in, m->mask) < 0)
        return CQ_EREPLAY;
    /* A late input: the drops after it did not move it, so give them back. */
    uint32_t newer_drops = 0;
    for (unsigned i = 0; i < m->ndrops; i++) {
        uint32_t d = m->drops[(m->head + i) % CQ_SEQMAP_DROPS];
        if (d == in)
            return CQ_ENOENT;
        if (diff(d, in, m->mask) > 0)
            newer_drops++;
    }
    *out = (in + m->delta + newer_drops) & m->mask;
    /* Drops after it may have moved the newest input on without giving a number: the
     * next run must still continue after this one. */
    if (!m->any_out || diff(*out, m->out_highest, m->mask) > 0)
        m->out_highest = *out;
    m->any_out = true;
    return 0;
}

int cq_seqmap_drop(cq_seqmap_t *m, uint32_t in) {
    if (!m->started)
        return CQ_EBADSTATE;
    in &= m->mask;
    if (diff(in, m->in_highest, m->mask) <= 0) {
        for (unsigned i = 0; i < m->ndrops; i++)
            if (m->drops[(m->head + i) % CQ_SEQMAP_DROPS] == in)
                return 0;
        return CQ_EREPLAY;
    }
    if (m->ndrops == CQ_SEQMAP_DROPS) {
        /* The oldest drop is forgotten: inputs up to it can no longer be numbered. */
        uint32_t evicted = m->drops[m->head];
        m->head = (m->head + 1) % CQ_SEQMAP_DROPS;
        m->ndrops--;
        uint32_t horizon = (evicted + 1) & m->mask;
        if (diff(horizon, m->base_in, m->mask) > 0)
            m->base_in = horizon;
    }
    m->drops[(m->head + m->ndrops) % CQ_SEQMAP_DROPS] = (uint16_t)in;
    m->ndrops++;
    m->delta = (m->delta - 1) & m->mask;
    m->in_highest = in;
    slide_window(m);
    return 0;
}
