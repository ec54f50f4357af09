#include "client/vjb.h"

#include <string.h>

#include "rtp/error.h"
#include "rtp/seq.h"

void cq_vjb_init(cq_vjb_t *j) {
    memset(j, 0, sizeof *j);
    cq_vp8_asm_init(&j->asm_);
    j->need_keyframe = true; /* nothing decodes before the first keyframe */
}

bool cq_vjb_wants(const cq_vjb_t *j, uint16_t seq) {
    return !(j->started && cq_seq_newer(j->next_seq, seq)) && !cq_vp8_asm_has(&j->asm_, seq);
}

int cq_vjb_put(cq_vjb_t *j, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload,
               size_t len) {
    if (j->started && cq_seq_newer(j->next_seq, seq))
        return 0; /* its frame was given out or given up: too late to matter */
    int err = cq_vp8_asm_insert(&j->asm_, seq, ts, marker, payload, len);
    if (err != 0 || !marker)
        return err;
    for (unsigned i = 0; i < j->nends; i++)
        if (j->ends[i] == seq)
            return 0; /* a duplicate */
    if (j->nends == CQ_VJB_FRAMES) {
        /* Full: the oldest end goes (its frame is long overdue). */
        unsigned oldest = 0;
        for (unsigned i = 1; i < j->nends; i++)
            if (cq_seq_newer(j->ends[oldest], j->ends[i]))
                oldest = i;
        j->ends[oldest] = j->ends[--j->nends];
    }
    j->ends[j->nends++] = seq;
    return 0;
}

/* The index of the earliest frame end, or -1. */
static int earliest(const cq_vjb_t *j) {
    int best = -1;
    for (unsigned i = 0; i < j->nends; i++)
        if (best < 0 || cq_seq_newer(j->ends[best], j->ends[i]))
            best = (int)i;
    return best;
}

static void forget_end(cq_vjb_t *j, int i) {
    j->ends[i] = j->ends[--j->nends];
}

/* Whether frame info can be decoded after what was given out, per the temporal layers;
 * updates the chain state when it can. */
static bool decodable(cq_vjb_t *j, const cq_vp8_frame_info_t *info) {
    const cq_vp8_desc_t *d = &info->desc;
    if (info->keyframe) {
        j->need_keyframe = false;
        j->broken_since_tl0 = false;
        j->have_tl0 = d->has_tl0picidx;
        j->last_tl0 = d->tl0picidx;
        return true;
    }
    if (j->need_keyframe)
        return false;
    if (!d->has_tid || !d->has_tl0picidx) /* no layers: the chain is the whole stream */
        return !j->broken_since_tl0;
    if (d->tid == 0) {
        if (!j->have_tl0 || d->tl0picidx != (uint8_t)(j->last_tl0 + 1))
            return false;
        j->last_tl0 = d->tl0picidx;
        j->broken_since_tl0 = false;
        return true;
    }
    if (!j->have_tl0 || d->tl0picidx != j->last_tl0 || (!d->y && j->broken_since_tl0))
        return false;
    /* A TL1 sync frame refreshes GOLDEN from TL0 alone: what a lost frame of the group
     * could have spoiled is clean again for the frames after it. */
    if (d->tid == 1 && d->y)
        j->broken_since_tl0 = false;
    return true;
}

/* Whether a frame can be decoded whatever the frames before it since what was given out
 * were: a keyframe; the TL0 frame that continues the chain (what is missing belonged to
 * the last group's TL1 and TL2 frames, which no later frame references); a layer-sync
 * frame of the current group (it references that group's TL0 alone). */
static bool needs_nothing_missing(const cq_vjb_t *j, const cq_vp8_desc_t *d, bool keyframe) {
    if (keyframe)
        return true;
    if (j->need_keyframe || !j->have_tl0 || !d->has_tid || !d->has_tl0picidx)
        return false;
    if (d->tid == 0)
        return d->tl0picidx == (uint8_t)(j->last_tl0 + 1);
    return d->y && d->tl0picidx == j->last_tl0;
}

/* The earliest complete frame after the gap at next_seq that needs nothing of it (above),
 * or -1. */
static int spared_by_gap(cq_vjb_t *j) {
    int best = -1;
    for (unsigned i = 0; i < j->nends; i++) {
        uint16_t first;
        cq_vp8_desc_t d;
        bool key;
        if ((best < 0 || cq_seq_newer(j->ends[best], j->ends[i])) &&
            cq_vp8_asm_peek(&j->asm_, j->ends[i], &first, &d, &key) &&
            needs_nothing_missing(j, &d, key))
            best = (int)i;
    }
    return best;
}

/* Whether the complete frame ending at ends[i], the next one after a gap, needs what the
 * gap holds: it is of a later group than the last TL0 given out, so that group's TL0 is
 * missing (or the stream has no layers, and every frame needs the one before). */
static bool needs_gap(cq_vjb_t *j, int i) {
    uint16_t first;
    cq_vp8_desc_t d;
    bool key;
    if (j->need_keyframe || !cq_vp8_asm_peek(&j->asm_, j->ends[i], &first, &d, &key) || key)
        return false;
    if (!j->have_tl0 || !d.has_tid || !d.has_tl0picidx)
        return true;
    return d.tl0picidx != j->last_tl0;
}

/* Moves on to the frame ending at ends[i]: the frames before it are forgotten. */
static void skip_to(cq_vjb_t *j, int i) {
    uint16_t first;
    cq_vp8_asm_complete(&j->asm_, j->ends[i], &first);
    for (unsigned k = 0; k < j->nends;)
        if (cq_seq_newer(first, j->ends[k]))
            forget_end(j, (int)k);
        else
            k++;
    cq_vp8_asm_drop_before(&j->asm_, first);
    j->next_seq = first;
    j->broken_since_tl0 = true;
    j->skipped++;
    j->gap_since_us = 0;
    j->holding = false;
}

int cq_vjb_pop(cq_vjb_t *j, int64_t now_us, int64_t wait_us, uint8_t *out, size_t cap,
               cq_vp8_frame_info_t *info) {
    for (unsigned guard = 0; guard <= CQ_VJB_FRAMES; guard++) {
        int e = earliest(j);
        if (e < 0)
            return 0;
        uint16_t end = j->ends[e], first;
        bool complete = cq_vp8_asm_complete(&j->asm_, end, &first);
        if (!j->started) {
            if (!complete) {
                /* The first frame seen lost its start: what came before the first packet
                 * seen cannot be asked for again. After the wait budget, start at a later
                 * frame (the give-up below), rather than wait for it forever. */
                if (j->gap_since_us == 0)
                    j->gap_since_us = now_us ? now_us : 1;
                if (now_us - j->gap_since_us < wait_us)
                    return 0;
                j->started = true;
                j->next_seq = end;
                j->need_keyframe = true; /* the chain never began: only a keyframe starts it */
            } else {
                j->started = true;
                j->next_seq = first;
            }
        }
        if (!complete || first != j->next_seq) {
            /* A packet before `end` is missing. Wait for it, within the budget. */
            if (j->gap_since_us == 0)
                j->gap_since_us = now_us ? now_us : 1;
            int64_t waited = now_us - j->gap_since_us;
            /* A later frame that needs nothing the gap can hold is complete: once the gap
             * is older than reordering makes one, what is missing is a lost TL1 or TL2
             * frame, and its repair, a round trip away, would only show it late. */
            int spared = -1;
            if (waited >= (wait_us < CQ_VJB_REORDER_US ? wait_us : CQ_VJB_REORDER_US) &&
                (spared = spared_by_gap(j)) >= 0) {
                j->passed++;
                skip_to(j, spared);
                continue;
            }
            if (waited < wait_us)
                return 0;
            /* Past the budget: move on to the next complete frame, whatever it needed;
             * unless it needs the gap, which is then asked a keyframe for and waited for
             * while the hold lasts (above). */
            int next = -1;
            for (unsigned i = 0; i < j->nends; i++) {
                uint16_t f;
                if (cq_vp8_asm_complete(&j->asm_, j->ends[i], &f) &&
                    (next < 0 || cq_seq_newer(j->ends[next], j->ends[i])))
                    next = (int)i;
            }
            if (next < 0)
                return 0;
            int64_t hold = wait_us > CQ_VJB_HOLD_US ? wait_us : CQ_VJB_HOLD_US;
            if (needs_gap(j, next) && waited < hold) {
                if (!j->holding)
                    j->keyframes_asked++;
                j->holding = true;
                return 0;
            }
            if (j->holding) /* given up after all: the keyframe was asked for already */
                j->need_keyframe = true;
            skip_to(j, next);
            continue;
        }
        j->gap_since_us = 0;
        j->holding = false;
        int n = cq_vp8_asm_take(&j->asm_, end, out, cap, info);
        if (n < 0)
            return n;
        forget_end(j, e);
        j->next_seq = (uint16_t)(end + 1);
        if (decodable(j, info)) {
            j->frames++;
            return n;
        }
        /* Not decodable: dropped. A TL0 frame lost from the chain stops the picture. */
        j->undecodable++;
        j->broken_since_tl0 = true;
        if (!info->keyframe && (!info->desc.has_tid || info->desc.tid == 0) && !j->need_keyframe) {
            j->need_keyframe = true;
            j->keyframes_asked++;
        }
    }
    return 0;
}

bool cq_vjb_wants_keyframe(const cq_vjb_t *j) {
    return j->need_keyframe || j->holding;
}
