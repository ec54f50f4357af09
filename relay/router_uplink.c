/*
 * What the relay tells each publisher about its uplink (issue 7, "Per publisher";
 * docs/PROTOCOL.md "Uplink adaptation"):
 *
 * - Transport-wide feedback (RTPFB FMT 15) on every packet the publisher sent with a
 *   transport-wide number, every 100 ms while they come (cc/arrivals.h decides when). The
 *   publisher's own estimator (cc/estimator.h, in client/uplink.c) turns it into its
 *   uplink estimate, as libwebrtc's send-side estimation does: the relay keeps no
 *   per-publisher estimator and sends no REMB.
 * - CQLU (rtp/cqlu.h): which of its simulcast layers anyone uses, when that changes and
 *   once a second anyway (an APP packet lost on the way is repaired within a second);
 *   and the most its lowest layer should cost, from its weakest receiver's downlink.
 *
 * Both go in one SRTCP compound that opens with an empty RR from the relay's SSRC, as
 * every other feedback to publishers does (router_rtcp.c). The arrival times live in the
 * participant (struct uplink): recording one is a store into a ring, nothing allocated.
 */
#include <string.h>

#include "relay/router_internal.h"
#include "rtp/cqlu.h"
#include "rtp/rtpext.h"
#include "rtp/twcc.h"

/* The largest feedback compound: with the SRTCP trailer and the UDP/IP headers it is
 * never fragmented on a path of 1280 bytes (what is left goes with the next tick). */
#define UPLINK_FEEDBACK_MTU 1200
_Static_assert(UPLINK_FEEDBACK_MTU <= CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM,
               "a feedback compound fits a send slot with room for SRTCP");

void cq_router_uplink_init(struct participant *p) {
    memset(&p->uplink, 0, sizeof p->uplink);
    cq_minwin_init(&p->uplink.ceilings, UPLINK_CEILING_SECONDS);
    cq_minwin_init(&p->uplink.sounds, UPLINK_CEILING_SECONDS);
    cq_arrivals_init(&p->uplink.arrivals, p->rtcp_ssrc, 0);
}

void cq_router_uplink_packet(struct participant *p, const cq_rtp_view_t *v, uint64_t now_us) {
    const uint8_t *data;
    size_t len;
    uint16_t tseq;
    if (cq_rtp_ext_find(v, CQ_RTPEXT_ID_TRANSPORT_CC, &data, &len) == 0 &&
        cq_rtpext_transport_cc_parse(data, len, &tseq) == 0)
        cq_arrivals_record(&p->uplink.arrivals, tseq, (int64_t)now_us);
}

/*
 * The highest layer consumer c would be moved to if its publisher sent it: what its
 * preferences allow of what the publisher announced. It must not depend on which layers
 * arrive now: a layer the publisher stopped because nobody used it would otherwise never
 * be asked for again (router.c's update_target only targets layers that arrive). The
 * downlink allocator's share caps it: it prices a stopped layer from the one below, so a
 * receiver with room climbs to it, and the publisher is asked to start it again. The share
 * counts only once the receiver's estimate has settled (DOWNLINK_SETTLE_US).
 */
static int consumer_ceiling(const struct consumer *c) {
    int top = (int)c->publisher->video_layers - 1;
    int max = c->s.prefs.max_spatial;
    unsigned temporal;
    int share = cq_router_alloc_spatial(c, &temporal); /* its downlink's room, if known */
    if (share < max && cq_router_alloc_settled(c))
        max = share;
    return max < top ? max : top;
}

uint8_t cq_router_uplink_layers(const struct participant *pub) {
    unsigned mask = 0;
    for (size_t i = 0; i < pub->nconsumers; i++) {
        const struct consumer *c = pub->consumers[i];
        const cq_vsel_t *vs = &c->s.vsel;
        /* Every layer between the lowest this subscriber gets, waits for or is headed to,
         * and the highest it would take: the relay may move it anywhere in that range,
         * and a layer it falls back on must already be running. A paused subscriber
         * (nothing forwarded, nothing wanted) uses none. */
        int now[3] = {vs->spatial, cq_vsel_wanted_layer(vs), vs->spatial_target};
        int top = (int)pub->video_layers - 1;
        int lo = -1, hi = consumer_ceiling(c);
        for (int k = 0; k < 3; k++) {
            int v = now[k] > top ? top : now[k]; /* a target past the top is the top */
            if (v >= 0) {
                lo = lo < 0 || v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
        }
        if (lo < 0 && hi >= 0)
            lo = hi; /* nothing forwarded yet: its first layer will be its target */
        hi = hi > top ? top : hi;
        for (int l = lo; l >= 0 && l <= hi && l < CQ_RELAY_MAX_LAYERS; l++)
            mask |= 1u << l;
    }
    return (uint8_t)mask;
}

/*
 * The lowest layer is the one every receiver can fall back on, so it is made for the
 * weakest: each settled receiver's video budget, shared equally among the video streams it
 * receives, is what one lowest layer may cost there. A lowest layer made bigger reaches
 * that receiver at its base temporal layer (a few frames a second) or paused for seconds,
 * which is what a 256 kbit/s 3G link carrying two publishers' sound saw (docs/E2E.md).
 * The encoder's target leaves out the packets' headers (RTP, extensions and SRTP tag: a
 * fifth of a 25 kbit/s layer), and the allocator resumes a paused stream only with 1.3
 * times its cost to spare: the ceiling is this share of the receiver's.
 */
#define CEILING_OF_SHARE 0.7

uint16_t cq_router_uplink_ceiling(const struct participant *pub) {
    uint32_t least = UINT32_MAX;
    for (size_t i = 0; i < pub->nconsumers; i++) {
        const struct consumer *c = pub->consumers[i];
        if (c->s.prefs.max_spatial < 0 || !cq_router_alloc_settled(c))
            continue;
        uint32_t share = c->subscriber->down->stream_share_bps;
        least = share < least ? share : least;
    }
    if (least == UINT32_MAX)
        return UINT16_MAX;
    double kbps = least * CEILING_OF_SHARE / 1000;
    return kbps < 1 ? 1 : kbps >= UINT16_MAX ? UINT16_MAX - 1 : (uint16_t)kbps;
}

/*
 * The relay forwards sound as it comes: made for the publisher's own uplink (Opus at 32
 * kbit/s, 20 ms packets with RED copies on a healthy one: 74 kbit/s), it cannot be made
 * thinner on the way, and RED's primary alone (the allocator's fallback) still costs 50.
 * A receiver whose link collapsed to 64 kbit/s then had its modem's queue, filled in the
 * second before feedback showed the collapse, drain at 14 kbit/s: it heard everyone 1.5 s
 * late for ten seconds. Where a settled receiver's budget leaves a voice under
 * UPLINK_SOUND_THIN_BPS, every publisher it hears is told that share, and plans its sound
 * as for an uplink of that much (client/ratealloc.h): about 21 kbit/s at 36.
 */
uint8_t cq_router_uplink_sound(const struct participant *pub) {
    uint32_t least = UINT32_MAX;
    for (size_t i = 0; i < pub->nconsumers; i++) {
        const struct consumer *c = pub->consumers[i];
        if (!cq_router_alloc_settled(c))
            continue;
        uint32_t share = c->subscriber->down->voice_share_bps;
        least = share < least ? share : least;
    }
    if (least >= UPLINK_SOUND_THIN_BPS)
        return 0;
    return least < 1000 ? 1 : (uint8_t)(least / 1000);
}

/* The least of the last UPLINK_CEILING_SECONDS of a limit (kbit/s; none: no limit), this
 * tick's included, as CQLU says it (0: none): quick to narrow, slow to widen, as a
 * receiver's estimate saws. */
static unsigned smoothed(cq_minwin_t *w, unsigned kbps, unsigned none, uint64_t now_us) {
    double least = cq_minwin_update(w, kbps, (int64_t)now_us);
    return least >= none ? 0 : (unsigned)least;
}

/* A ceiling worth telling at once: one appears or goes, or it moved by a step. */
static bool ceiling_moved(uint16_t told, uint16_t now) {
    if ((told == 0) != (now == 0))
        return true;
    double d = (double)now - told;
    return d > told * UPLINK_CEILING_STEP || -d > told * UPLINK_CEILING_STEP;
}

/* Commits every complete RTCP packet in [tail, tail + n) to the compound one by one (the
 * recorder writes several feedback messages back to back). */
static void commit_all(cq_rtcp_compound_t *cp, int n) {
    if (n <= 0)
        return;
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    const uint8_t *start = cq_rtcp_compound_tail(cp);
    cq_rtcp_iter_init(&it, start, (size_t)n);
    int size;
    while ((size = cq_rtcp_iter_next(&it, &h)) > 0)
        if (cq_rtcp_compound_commit(cp, size) != 0)
            return;
}

void cq_router_uplink_tick(struct cq_router *r, struct participant *p, uint64_t now_us) {
    struct uplink *u = &p->uplink;
    bool twcc = cq_arrivals_due(&u->arrivals, (int64_t)now_us);
    uint8_t layers = 0;
    uint16_t ceiling = 0;
    if (p->video_layers > 0) {
        layers = cq_router_uplink_layers(p);
        ceiling = (uint16_t)smoothed(&u->ceilings, cq_router_uplink_ceiling(p), UINT16_MAX, now_us);
    }
    unsigned room = cq_router_uplink_sound(p);
    uint8_t sound =
        (uint8_t)smoothed(&u->sounds, room ? room : UINT8_MAX + 1u, UINT8_MAX + 1u, now_us);
    /* An audio-only publisher hears of its sound's room alone, while there is one. */
    bool cqlu = (p->video_layers > 0 || sound != 0 || u->sound != 0) &&
                (!u->layers_told || layers != u->layers || ceiling_moved(u->ceiling, ceiling) ||
                 ceiling_moved(u->sound, sound) || now_us >= u->next_layers_us);
    if (!twcc && !cqlu)
        return;
    uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
    cq_rtcp_compound_t cp;
    cq_rtcp_compound_init(&cp, slot, UPLINK_FEEDBACK_MTU);
    cq_rtcp_compound_commit(&cp, cq_rtcp_rr_write(p->rtcp_ssrc, NULL, 0, cq_rtcp_compound_tail(&cp),
                                                  cq_rtcp_compound_room(&cp)));
    cq_cqlu_t m = {
        .sender_ssrc = p->rtcp_ssrc, .layers = layers, .low_kbps = ceiling, .sound_kbps = sound};
    if (cqlu)
        cq_rtcp_compound_commit(
            &cp, cq_cqlu_write(&m, cq_rtcp_compound_tail(&cp), cq_rtcp_compound_room(&cp)));
    if (twcc)
        commit_all(&cp, cq_arrivals_write(&u->arrivals, (int64_t)now_us, cq_rtcp_compound_tail(&cp),
                                          cq_rtcp_compound_room(&cp)));
    int len = cq_rtcp_compound_finish(&cp);
    if (len <= 0)
        return;
    size_t out_len = (size_t)len;
    if (cq_srtp_protect_rtcp(&p->srtp_out, slot, &out_len, CQ_UDP_SLOT_SIZE) != 0 ||
        cq_udp_sendq_commit(&r->sendq, out_len, &p->addr) != 0)
        return; /* the layers go again at the next tick; the arrivals were written */
    if (twcc)
        u->feedbacks++;
    if (cqlu) {
        u->layers = layers;
        u->ceiling = ceiling;
        u->sound = sound;
        p->stats.lowest_layer_ceiling_kbps = ceiling;
        p->stats.sound_room_kbps = sound;
        u->layers_told = true;
        u->next_layers_us = now_us + UPLINK_LAYERS_REPEAT_US;
        u->layers_sent++;
    }
}
