#include "relay/vselect.h"

#include "rtp/seq.h"

void cq_vsel_init(cq_vsel_t *s) {
    *s = (cq_vsel_t){.spatial = -1, .temporal_target = CQ_VSEL_MAX_TEMPORAL};
    cq_seqmap_init(&s->seq);
    cq_seqmap_init(&s->picture_id);
}

void cq_vsel_set_target(cq_vsel_t *s, int spatial, unsigned temporal) {
    s->spatial_target = (int8_t)(spatial < 0 ? -1 : spatial > 127 ? 127 : spatial);
    s->temporal_target =
        (uint8_t)(temporal > CQ_VSEL_MAX_TEMPORAL ? CQ_VSEL_MAX_TEMPORAL : temporal);
}

int cq_vsel_wanted_layer(const cq_vsel_t *s) {
    return s->spatial_target >= 0 && s->spatial != s->spatial_target ? s->spatial_target : -1;
}

/* Whether a keyframe on `layer` is worth switching to: it moves toward the target without
 * going past it (never above what the subscriber was allowed). */
static bool switch_helps(const cq_vsel_t *s, int layer) {
    int cur = s->spatial, target = s->spatial_target;
    if (cur < target)
        return layer > cur && layer <= target;
    if (cur > target)
        return layer >= target && layer < cur;
    return false;
}

/* The highest TID forwarded of the current layer: the target's, but only the base frames
 * of a layer being left for a lower one. Until the lower layer's keyframe comes (a round
 * trip to the publisher and its uplink away, a second or more on 3G) the relay goes on
 * sending what the receiver's estimate no longer carries: at the start of weak-3g-3, a
 * receiver switched down from two publishers' layer 1 stood 300-400 ms in its link's queue
 * for 2-4 s. The picture keeps moving at the base frame rate meanwhile. */
static uint8_t temporal_cap(const cq_vsel_t *s) {
    return s->spatial_target >= 0 && s->spatial > s->spatial_target ? 0 : s->temporal_target;
}

/* Starts a run of p's layer at keyframe p: every number continues from what was sent. */
static void switch_to(cq_vsel_t *s, const cq_vsel_packet_t *p, uint64_t now_us) {
    s->spatial = (int8_t)p->layer;
    s->temporal = temporal_cap(s);
    s->switches++;
    cq_seqmap_restart(&s->seq, p->seq, 16);
    if (p->has_picture_id)
        cq_seqmap_restart(&s->picture_id, p->picture_id, p->picture_id_15bit ? 15 : 7);
    if (s->ts_started) {
        /* The new layer's clock has its own origin: place its keyframe after the last
         * frame sent by the time that passed since (at least one tick, so two frames
         * never share a timestamp). */
        uint64_t ticks = (now_us - s->ts_last_us) * CQ_VSEL_CLOCK_HZ / 1000000u;
        uint32_t first = s->ts_last_out + (uint32_t)(ticks ? ticks : 1);
        s->ts_delta = first - p->ts;
    }
    if (s->tl0_started && p->has_tl0picidx)
        s->tl0_delta = (uint8_t)(s->tl0_last_out + 1 - p->tl0picidx);
}

/* The temporal verdict for a packet of the forwarded layer. The forwarded TID moves only
 * at frame starts, and every packet of a frame carries the frame's TID, so a frame is
 * never cut in half. */
static bool temporal_keeps(cq_vsel_t *s, const cq_vsel_packet_t *p) {
    if (!p->has_tid)
        return true;
    if (p->frame_start) {
        uint8_t cap = temporal_cap(s);
        if (cap < s->temporal)
            s->temporal = cap;
        else if (p->tid > s->temporal && p->tid <= cap && p->layer_sync)
            s->temporal = p->tid;
    }
    return p->tid <= s->temporal;
}

cq_vsel_verdict_t cq_vsel_on_packet(cq_vsel_t *s, const cq_vsel_packet_t *p, uint64_t now_us,
                                    cq_vsel_out_t *out) {
    if (s->spatial_target < 0) {
        s->spatial = -1;
        return CQ_VSEL_DROP_PAUSED;
    }
    if (p->keyframe && p->layer != s->spatial && switch_helps(s, p->layer))
        switch_to(s, p, now_us);
    else if (p->keyframe && p->layer == s->spatial)
        s->temporal = temporal_cap(s); /* a keyframe references nothing */
    if (s->spatial < 0)
        return CQ_VSEL_DROP_WAITING;
    if (p->layer != s->spatial)
        return CQ_VSEL_DROP_LAYER;
    if (!temporal_keeps(s, p)) {
        /* A late packet of a dropped frame leaves its hole: numbers went past it. */
        (void)cq_seqmap_drop(&s->seq, p->seq);
        if (p->has_picture_id)
            (void)cq_seqmap_drop(&s->picture_id, p->picture_id);
        return CQ_VSEL_DROP_TEMPORAL;
    }
    uint32_t n;
    if (p->has_picture_id) {
        if (!s->picture_id.started)
            cq_seqmap_restart(&s->picture_id, p->picture_id, p->picture_id_15bit ? 15 : 7);
        if (cq_seqmap_forward(&s->picture_id, p->picture_id, &n) != 0)
            return CQ_VSEL_DROP_LATE;
        out->picture_id = (uint16_t)n;
    }
    if (cq_seqmap_forward(&s->seq, p->seq, &n) != 0)
        return CQ_VSEL_DROP_LATE;
    out->seq = (uint16_t)n;
    out->ts = p->ts + s->ts_delta;
    if (!s->ts_started || cq_ts_newer(out->ts, s->ts_last_out)) {
        s->ts_last_out = out->ts;
        s->ts_last_us = now_us;
        s->ts_started = true;
    }
    if (p->has_tl0picidx) {
        out->tl0picidx = (uint8_t)(p->tl0picidx + s->tl0_delta);
        if (!s->tl0_started || (int8_t)(out->tl0picidx - s->tl0_last_out) > 0)
            s->tl0_last_out = out->tl0picidx;
        s->tl0_started = true;
    }
    return CQ_VSEL_FORWARD;
}
