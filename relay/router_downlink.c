/*
 * The router's downlink: what it sends each participant and how fast. Every RTP packet to
 * a participant leaves through cq_router_queue_rtp, which numbers it for transport-wide
 * feedback, records it for that participant's estimator (cc/estimator.h), and paces
 * video and repairs at the estimate while sound goes at once (relay/paceq.h). The
 * participant's feedback moves the estimate, and the estimate is shared among the
 * publishers it receives (relay/alloc.h), which sets each consumer's layer.
 *
 * A participant that sends no transport-wide feedback (an old client, a test peer) is
 * served as before adaptivity: unpaced, every layer its preferences allow.
 */
#include "relay/router_internal.h"

#include <stdlib.h>
#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"
#include "rtp/rtpext.h"
#include "rtp/twcc.h"

int cq_router_downlink_create(struct participant *p) {
    p->down = calloc(1, sizeof *p->down);
    if (p->down == NULL)
        return CQ_ENOMEM;
    cq_cc_config_t cfg = {
        .start_bps = DOWNLINK_START_BPS, .min_bps = DOWNLINK_MIN_BPS, .max_bps = DOWNLINK_MAX_BPS};
    int err = cq_cc_init(&p->down->cc, &cfg);
    if (err != 0) {
        free(p->down);
        p->down = NULL;
        return err;
    }
    cq_paceq_init(&p->down->q, cq_alloc_pace_bps(DOWNLINK_START_BPS, 0), PACE_QUEUE_MIN_BYTES);
    p->down->stream_share_bps = UINT32_MAX; /* nothing allocated yet */
    p->down->voice_share_bps = UINT32_MAX;
    cq_alloc_steady_init(&p->down->steady);
    cq_minwin_init(&p->down->rtt_least, PROTECT_RTT_SECONDS);
    return 0;
}

static void unlist(struct cq_router *r, struct participant *p) {
    for (struct participant **link = &r->backlogged; *link != NULL;
         link = &(*link)->down->next_backlogged)
        if (*link == p) {
            *link = p->down->next_backlogged;
            break;
        }
    p->down->backlogged = false;
}

void cq_router_downlink_clear(struct cq_router *r, struct participant *p) {
    if (p->down == NULL)
        return;
    cq_paceq_clear(&r->pool, &p->down->q);
    if (p->down->backlogged)
        unlist(r, p);
}

void cq_router_downlink_free(struct cq_router *r, struct participant *p) {
    cq_router_downlink_clear(r, p);
    free(p->down);
    p->down = NULL;
}

/* Stamps, protects and queues for sendmmsg the plain packet in the current slot; spend:
 * it did not come through the pacer, whose credit it takes now. */
static size_t send_now(struct cq_router *r, struct participant *sub, uint8_t *slot, size_t len,
                       ptrdiff_t tseq_at, bool spend) {
    /* Every copy is renumbered for its receiver (the publisher's number is about the
     * publisher's uplink); a number is used up only by a packet that is queued. */
    if (tseq_at >= 0)
        cq_store_be16(slot + tseq_at, sub->transport_seq);
    size_t out_len = len;
    if (cq_srtp_protect(&sub->srtp_out, slot, &out_len, CQ_UDP_SLOT_SIZE) != 0 ||
        cq_udp_sendq_commit(&r->sendq, out_len, &sub->addr) != 0) {
        r->stats.send_dropped++;
        return 0;
    }
    struct downlink *d = sub->down;
    if (tseq_at >= 0) {
        /* Media sent while a cluster goes out is part of it: the link carried both. */
        cq_cc_on_sent(&d->cc, sub->transport_seq, out_len, (int64_t)r->now_us,
                      d->probe_left > 0 ? d->probe_id : CQ_SENDHIST_NO_PROBE);
        sub->transport_seq++;
    }
    if (spend && d->active)
        cq_paceq_spend(&d->q, out_len);
    return out_len;
}

size_t cq_router_queue_rtp(struct cq_router *r, struct participant *sub, uint8_t *slot, size_t len,
                           ptrdiff_t tseq_at, bool paced) {
    struct downlink *d = sub->down;
    /* Sound goes at once; video waits its turn at the pace, and while the window is full
     * (feedback has stopped keeping up: the link may have collapsed). */
    if (!paced || !d->active ||
        (cq_paceq_open(&d->q, r->now_us) && !cq_cc_window_full(&d->cc, (int64_t)r->now_us)))
        return send_now(r, sub, slot, len, tseq_at, true);
    if (cq_paceq_push(&r->pool, &d->q, slot, len, tseq_at, r->now_us) != 0) {
        sub->stats.paced_dropped++;
        return 0;
    }
    sub->stats.paced_packets++;
    if (!d->backlogged) {
        d->backlogged = true;
        d->next_backlogged = r->backlogged;
        r->backlogged = sub;
    }
    return len;
}

void cq_router_pace(struct cq_router *r, uint64_t now_us) {
    if (!r->sendq_ready)
        return;
    struct participant **link = &r->backlogged;
    while (*link != NULL) {
        struct participant *p = *link;
        struct downlink *d = p->down;
        if (!p->bound)
            cq_paceq_clear(&r->pool, &d->q);
        p->stats.paced_dropped += cq_paceq_drop_stale(&r->pool, &d->q, now_us, PACE_MAX_AGE_US);
        const cq_paceq_entry_t *e;
        const uint8_t *pkt;
        while (!cq_cc_window_full(&d->cc, (int64_t)r->now_us) &&
               (e = cq_paceq_due(&r->pool, &d->q, now_us, &pkt)) != NULL) {
            uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
            size_t len = e->len;
            ptrdiff_t at = e->tseq_at;
            memcpy(slot, pkt, len);
            cq_paceq_pop(&r->pool, &d->q, now_us);
            send_now(r, p, slot, len, at, false);
        }
        uint32_t waited = d->q.max_wait_us > UINT32_MAX ? UINT32_MAX : (uint32_t)d->q.max_wait_us;
        p->stats.pace_max_wait_us = waited;
        if (d->q.count == 0) {
            d->backlogged = false;
            *link = d->next_backlogged;
        } else {
            link = &d->next_backlogged;
        }
    }
}

/* The consumer whose RTX stream p's probes go on: any with video (its receiver knows the
 * SSRC and drops padding-only RTX unread, RFC 4588 §4). */
static struct consumer *probe_consumer(const struct participant *p) {
    for (struct participant *q = p->session->participants; q != NULL; q = q->next) {
        struct consumer *c = q == p || q->video_layers == 0 ? NULL : find_consumer(q, p);
        if (c != NULL && c->s.ssrcs.video_rtx != 0)
            return c;
    }
    return NULL;
}

/* Writes a padding-only RTX packet with a transport-wide number into slot; returns its
 * length and where the number goes. */
static size_t write_probe(uint8_t *slot, struct consumer *c, uint8_t padding, ptrdiff_t *tseq_at) {
    size_t len = 0;
    slot[len++] = 0x80 | 0x20 | 0x10; /* V=2, padding, extension */
    slot[len++] = RTX_PAYLOAD_TYPE;
    cq_store_be16(slot + len, c->s.rtx_seq++);
    len += 2;
    cq_store_be32(slot + len, 0);
    len += 4;
    cq_store_be32(slot + len, c->s.ssrcs.video_rtx);
    len += 4;
    /* RFC 8285 one-byte header: one element of two bytes, then a byte of padding. */
    slot[len++] = 0xbe;
    slot[len++] = 0xde;
    cq_store_be16(slot + len, 1);
    len += 2;
    slot[len++] = (uint8_t)(CQ_RTPEXT_ID_TRANSPORT_CC << 4 | (CQ_RTPEXT_TRANSPORT_CC_SIZE - 1));
    *tseq_at = (ptrdiff_t)len;
    len += CQ_RTPEXT_TRANSPORT_CC_SIZE;
    slot[len++] = 0;
    memset(slot + len, 0, padding - 1u);
    len += padding - 1u;
    slot[len++] = padding;
    return len;
}

_Static_assert(PROBE_MIN_PACKETS >= CQ_CC_PROBE_MIN_PACKETS, "a cluster the estimator can read");

void cq_router_probe(struct cq_router *r, struct participant *p, uint64_t now_us) {
    struct downlink *d = p->down;
    if (!d->active || !p->bound || cq_cc_window_full(&d->cc, (int64_t)now_us))
        return;
    if (d->probe_left == 0) {
        cq_cc_cluster_t cl;
        if (!cq_cc_probe_next(&d->cc, (int64_t)now_us, &cl))
            return;
        /* At least PROBE_MIN_PACKETS for the arrival rate to be measured, and as many as
         * the cluster's bytes take, so that it lasts as long as planned: ten packets of
         * the most padding were 13 ms at 1.8 Mbit/s, squeezed void by a VSAT link's
         * jitter. Padding rather than full packets: on a slow link a cluster of full
         * packets held sound back hundreds of milliseconds. */
        unsigned n = cq_cc_cluster_packets(&cl, PROBE_PADDING + PROBE_HEADER_BYTES);
        n = n > PROBE_MIN_PACKETS ? n : PROBE_MIN_PACKETS;
        uint32_t pad = cl.bytes / n > PROBE_HEADER_BYTES ? cl.bytes / n - PROBE_HEADER_BYTES : 0;
        d->probe_left = n;
        d->probe_padding = (uint8_t)(pad < 20 ? 20 : pad > PROBE_PADDING ? PROBE_PADDING : pad);
        d->probe_id = cl.id;
        d->probe_bps = cl.rate_bps;
        d->probe_next_us = now_us;
        p->stats.probes++;
    }
    struct consumer *c = probe_consumer(p);
    while (d->probe_left > 0 && now_us >= d->probe_next_us) {
        if (c == NULL) {
            d->probe_left = 0; /* nothing to probe on: the estimator judges what it has */
            break;
        }
        ptrdiff_t at;
        uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
        size_t len = write_probe(slot, c, d->probe_padding, &at);
        d->probe_left--;
        size_t sent = send_now(r, p, slot, len, at, false);
        if (sent == 0)
            sent = len;
        d->probe_next_us += (uint64_t)sent * 8u * 1000000u / d->probe_bps;
    }
}

/*
 * What one video layer costs per temporal layer, keyframes left out: its last full
 * second; before it has one, what its current window holds so far, once that window is
 * PRICE_EARLY_US old. Without that early price a publisher's first second or two of
 * video went to every receiver at its top layer whatever the receiver's estimate: two
 * publishers' top layers into a 256 kbit/s link stood a second in its pacer (weak-3g-3),
 * past the age at which the relay still holds a packet to repair, and the picture froze
 * 3-6 s. Returns false when nothing of the layer is measured yet.
 */
static bool layer_rates(const struct stream *st, uint64_t now_us, uint32_t out[CQ_ALLOC_TEMPORAL]) {
    uint64_t sum = 0;
    for (unsigned t = 0; t < CQ_ALLOC_TEMPORAL; t++)
        sum += out[t] = st->tid_rate_bps[t];
    if (sum != 0)
        return true;
    uint64_t elapsed = now_us - st->window_start_us;
    if (st->window_start_us == 0 || now_us < st->window_start_us || elapsed < PRICE_EARLY_US)
        return false;
    for (unsigned t = 0; t < CQ_ALLOC_TEMPORAL; t++)
        sum += out[t] = (uint32_t)(st->tid_window_bytes[t] * 8u * 1000000u / elapsed);
    return sum != 0;
}

/* What consumer c's stream costs, as the allocator prices it: with its base layer twice
 * where the subscriber's downlink protects it (PROTECT_RTT_US). */
static void price_consumer(const struct session *s, struct consumer *c, uint64_t now_us) {
    bool twice = tl0_copied(c);
    const struct participant *pub = c->publisher;
    cq_alloc_stream_t *a = &c->alloc;
    a->audio_bps = 0;
    a->layers = pub->video_layers;
    memset(a->rate_bps, 0, sizeof a->rate_bps);
    a->slow = 0;
    for (unsigned i = 0; i < pub->nstreams; i++) {
        const struct stream *st = &pub->streams[i];
        if (st->kind == STREAM_VIDEO && st->layer < CQ_ALLOC_SPATIAL && st->slow_until_us > now_us)
            a->slow |= (uint8_t)(1u << st->layer);
        if (st->kind == STREAM_AUDIO) {
            a->audio_bps = (uint32_t)st->rate_bps;
        } else if (st->kind == STREAM_VIDEO && st->layer < CQ_ALLOC_SPATIAL &&
                   st->last_packet_us != 0) {
            /* Cumulative in the temporal layer (a second of nothing but a keyframe is not
             * measured yet). Without temporal layers every packet counts as TID 0, so each
             * TID costs the whole layer. */
            uint32_t rates[CQ_ALLOC_TEMPORAL];
            if (!layer_rates(st, now_us, rates))
                continue;
            uint32_t sum = twice ? rates[0] : 0;
            for (unsigned t = 0; t < CQ_ALLOC_TEMPORAL; t++) {
                sum += rates[t];
                a->rate_bps[st->layer][t] = sum;
            }
        }
    }
    a->max_spatial = c->s.prefs.max_spatial;
    a->max_temporal = c->s.prefs.max_temporal;
    a->priority = s->speaker.current != 0 && s->speaker.current == pub->id;
    a->settling = !c->subscriber->down->settled;
}

/* Whether the allocator has measured what c's publisher sends (any layer's rate): until
 * then its choice for c is only its starting point, the lowest option. */
static bool alloc_measured(const cq_alloc_stream_t *a) {
    for (unsigned s = 0; s < CQ_ALLOC_SPATIAL; s++)
        for (unsigned t = 0; t < CQ_ALLOC_TEMPORAL; t++)
            if (a->rate_bps[s][t] != 0)
                return true;
    return false;
}

/* Shares p's downlink estimate among the publishers it receives and moves each consumer
 * whose share changed. */
static void allocate(struct cq_router *r, struct participant *p, bool first, uint64_t now_us) {
    struct downlink *d = p->down;
    struct consumer *cs[CQ_ALLOC_MAX_STREAMS];
    cq_alloc_stream_t streams[CQ_ALLOC_MAX_STREAMS];
    size_t n = 0;
    for (struct participant *q = p->session->participants; q != NULL && n < CQ_ALLOC_MAX_STREAMS;
         q = q->next) {
        struct consumer *c = q == p ? NULL : find_consumer(q, p);
        if (c == NULL)
            continue;
        price_consumer(p->session, c, now_us);
        cs[n] = c;
        streams[n++] = c->alloc;
    }
    uint32_t budget = (uint32_t)(cq_cc_target_bps(&d->cc) * ALLOC_SHARE);
    uint32_t steady = cq_alloc_steady_update(&d->steady, budget, now_us);
    cq_alloc_run(budget, steady, streams, n, now_us, &d->alloc);
    for (size_t i = 0; i < n; i++) {
        cq_alloc_choice_t before = cs[i]->alloc.choice;
        cs[i]->alloc = streams[i];
        /* The choice changed, or what the layer rests on before it (the estimate's first
         * measure, the publisher's first prices: cq_router_alloc_spatial). */
        unsigned temporal;
        int spatial = cq_router_alloc_spatial(cs[i], &temporal);
        if (first || spatial != cs[i]->alloc_spatial || temporal != cs[i]->alloc_temporal ||
            before.spatial != streams[i].choice.spatial ||
            before.temporal != streams[i].choice.temporal) {
            cs[i]->alloc_spatial = (int8_t)spatial;
            cs[i]->alloc_temporal = (uint8_t)temporal;
            cq_router_update_target(r, cs[i], now_us);
        }
    }
    p->stats.video_paused = d->alloc.paused;
    if (!d->lean_audio && budget < d->alloc.audio_bps)
        d->lean_audio = true;
    else if (d->lean_audio && budget > d->alloc.audio_bps * LEAN_AUDIO_RESUME)
        d->lean_audio = false;
    /* A layer up (or video back) does not fit the estimate: the estimator probes for the
     * room this receiver could use, rather than wait for the estimate to creep up on what
     * is sent (it paces the probes itself). */
    if (d->alloc.probe_bps != 0)
        cq_cc_want(&d->cc, (uint32_t)(cq_alloc_demand_bps(&d->alloc) / ALLOC_SHARE),
                   (int64_t)now_us);
    p->stats.video_budget_bps = budget > d->alloc.audio_bps ? budget - d->alloc.audio_bps : 0;
    unsigned videos = 0, voices = 0;
    for (size_t i = 0; i < n; i++) {
        videos += streams[i].layers > 0 && streams[i].max_spatial >= 0;
        voices += streams[i].audio_bps > 0;
    }
    d->stream_share_bps = videos ? p->stats.video_budget_bps / videos : UINT32_MAX;
    cq_cc_stats_t cc;
    cq_cc_stats(&d->cc, &cc);
    bool congested = cc.last_cut_us != 0 && (int64_t)now_us - cc.last_cut_us < UPLINK_SOUND_CUT_US;
    d->voice_share_bps = voices && congested ? budget / voices : UINT32_MAX;
}

/*
 * A receiver whose feedback stopped keeping up gets its sound without RED's copies until
 * it catches up: when its link collapses, its estimate learns of it only from feedback
 * that crossed the collapse, a second or more later, and meanwhile sound made for a
 * healthy link (74 kbit/s with its copies) overfilled a 64 kbit/s link by itself. Its
 * base layer goes twice while its round trip, without queues, is long and its downlink
 * loses (PROTECT_RTT_US).
 */
void cq_router_downlink_watch(struct participant *p, bool copies, uint64_t now_us) {
    struct downlink *d = p->down;
    d->stalled = d->active && cq_cc_window_full(&d->cc, (int64_t)now_us);
    int64_t lost_at = d->cc.last_loss_us;
    d->protect_tl0 = d->active && copies && d->rtt_base_us >= PROTECT_RTT_US && lost_at != 0 &&
                     (int64_t)now_us - lost_at < (int64_t)PROTECT_LOSS_HOLD_US;
}

bool cq_router_alloc_settled(const struct consumer *c) {
    const struct downlink *d = c->subscriber->down;
    return d != NULL && d->active && d->settled;
}

/* Whether d's estimate rests on something its link did (a probe cluster judged, or a cut
 * on delay or loss) rather than on the start's guess. */
static bool estimate_measured(const struct downlink *d) {
    cq_cc_stats_t st;
    cq_cc_stats(&d->cc, &st);
    return st.probe_us != 0 || st.last_cut_us != 0;
}

int cq_router_alloc_spatial(const struct consumer *c, unsigned *temporal) {
    const struct downlink *d = c->subscriber->down;
    /* No estimate yet: no limit. */
    if (d == NULL || !d->active) {
        *temporal = CQ_ALLOC_TEMPORAL;
        return CQ_ALLOC_SPATIAL - 1;
    }
    /* Nothing of the publisher's video measured to share out yet (layer_rates, from its
     * first 400 ms): the lowest layer where the link was measured (a probe judged, or a
     * cut) under UNPRICED_TOP_BPS, the top otherwise. On a 256 kbit/s link the top layer
     * and two publishers' first keyframes stood a second in the pacer, and the repairs of
     * what the link lost there came too late to mend anything (weak-3g-3: 2.4-6 s frozen).
     * The start's guess is under UNPRICED_TOP_BPS on any link: a LAN receiver sent low on
     * it, its video already flowing, went down and up again a moment later (lan-2: 230-245
     * ms frozen in three runs of four); one sent low before its first picture recorded
     * the session at the lowest layer's size (client/endpoint.c sizes a file by its first
     * picture). */
    if (!alloc_measured(&c->alloc)) {
        *temporal = CQ_ALLOC_TEMPORAL;
        bool slow = estimate_measured(d) && cq_cc_target_bps(&d->cc) < UNPRICED_TOP_BPS;
        return slow ? 0 : CQ_ALLOC_SPATIAL - 1;
    }
    *temporal = c->alloc.choice.temporal;
    return c->alloc.choice.spatial;
}

void cq_router_on_twcc(struct cq_router *r, struct participant *p, const cq_rtcp_header_t *h,
                       uint64_t now_us) {
    cq_twcc_fb_t fb;
    int n = cq_twcc_parse(h, &fb, r->twcc, TWCC_MAX_PACKETS);
    if (n <= 0) {
        p->stats.drops_malformed++;
        return;
    }
    struct downlink *d = p->down;
    cq_cc_on_feedback(&d->cc, r->twcc, (size_t)n, (int64_t)now_us);
    d->feedbacks++;
    uint32_t target = cq_cc_target_bps(&d->cc);
    p->stats.downlink_bps = target;
    if (!r->cfg.adapt)
        return; /* measured, for the report's ablation; not acted on */
    bool first = !d->active;
    d->active = true;
    if (first)
        d->active_us = now_us;
    d->settled = now_us - d->active_us >= DOWNLINK_SETTLE_US;
    bool carried = d->cc.carried_us != 0 && (int64_t)now_us - d->cc.carried_us <= PACE_CARRIED_US;
    uint32_t pace = cq_alloc_pace_bps(target, carried ? d->cc.carried_bps : 0);
    uint64_t max_bytes = (uint64_t)pace / 8u * PACE_QUEUE_US / 1000000u;
    cq_paceq_set_rate(&d->q, pace);
    d->q.max_bytes = max_bytes > PACE_QUEUE_MIN_BYTES ? (uint32_t)max_bytes : PACE_QUEUE_MIN_BYTES;
    p->stats.pace_bps = pace;
    if (first || now_us >= d->next_alloc_us) {
        d->next_alloc_us = now_us + ALLOC_INTERVAL_US;
        allocate(r, p, first, now_us);
    }
}
