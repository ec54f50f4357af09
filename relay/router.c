#include "relay/router_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay/ice.h"
#include "relay/recorder.h"
#include "codec/red.h"
#include "codec/rtx.h"
#include "codec/vp8_desc.h"
#include "rtp/bytes.h"
#include "rtp/demux.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "rtp/seq.h"
#include "rtp/stun.h"

/* ---- lookups ------------------------------------------------------------------------ */

static uint64_t addr_key(const cq_udp_addr_t *a) {
    uint8_t bytes[19];
    bytes[0] = a->family;
    bytes[1] = (uint8_t)(a->port >> 8);
    bytes[2] = (uint8_t)a->port;
    memcpy(bytes + 3, a->ip, 16);
    return cq_map_hash_bytes(bytes, sizeof bytes);
}

static struct participant *find_by_addr(const struct cq_router *r, const cq_udp_addr_t *a) {
    struct participant *p = cq_map_get(&r->by_addr, addr_key(a));
    /* The key is a hash: confirm, so a collision can never deliver to the wrong peer. */
    return p != NULL && cq_udp_addr_equal(&p->addr, a) ? p : NULL;
}

static struct participant *find_by_ufrag(const struct cq_router *r, const char *ufrag, size_t len) {
    struct participant *p = cq_map_get(&r->by_ufrag, cq_map_hash_bytes(ufrag, len));
    return p != NULL && p->ufrag_len == len && memcmp(p->ufrag, ufrag, len) == 0 ? p : NULL;
}

static struct session *find_session(const struct cq_router *r, uint32_t id) {
    return cq_map_get(&r->sessions, id);
}

static struct participant *find_participant(const struct session *s, uint32_t id) {
    for (struct participant *p = s->participants; p != NULL; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

/* ---- binding ------------------------------------------------------------------------ */

static void emit(struct cq_router *r, const struct participant *p, cq_relay_event_type_t type,
                 uint64_t now_us) {
    if (r->cfg.events == NULL)
        return;
    cq_relay_event_t ev = {
        .type = type, .session_id = p->session->id, .participant_id = p->id, .time_us = now_us};
    cq_relay_events_push(r->cfg.events, &ev);
}

static void unbind(struct cq_router *r, struct participant *p) {
    if (!p->bound)
        return;
    cq_map_remove(&r->by_addr, addr_key(&p->addr));
    p->bound = false;
    p->stats.bound = false;
    cq_router_downlink_clear(r, p); /* what waits for it would go to an address it left */
}

/*
 * An authenticated check binds a participant to the address it came from. A participant
 * already bound elsewhere moves only on a nominating check (USE-CANDIDATE), which chasqui's
 * client sends on every check: a NAT that rebinds on a flaky link is followed at once,
 * while a stray consent check from an old path cannot steal the binding back.
 */
static void bind_participant(struct cq_router *r, struct participant *p, const cq_udp_addr_t *from,
                             bool nominated, uint64_t now_us) {
    p->last_seen_us = now_us;
    p->stats.stun_checks++;
    if (p->bound && cq_udp_addr_equal(&p->addr, from))
        return;
    if (p->bound && !nominated)
        return;
    bool moving = p->bound;
    /* Whoever held this address before (a participant that left without a word, its
     * port now reused) loses it: the newest authenticated owner wins. */
    struct participant *holder = find_by_addr(r, from);
    if (holder != NULL && holder != p)
        unbind(r, holder);
    unbind(r, p);
    if (cq_map_put(&r->by_addr, addr_key(from), p) != 0)
        return; /* out of memory (or a 64-bit key collision): unbound, its next check retries */
    p->addr = *from;
    p->bound = true;
    p->stats.bound = true;
    if (moving)
        p->stats.rebinds++;
    emit(r, p, moving ? CQ_RELAY_EVENT_MOVED : CQ_RELAY_EVENT_BOUND, now_us);
}

/* ---- packet path -------------------------------------------------------------------- */

static void handle_stun(struct cq_router *r, const cq_udp_dgram_t *d, uint64_t now_us) {
    cq_stun_view_t v;
    const char *ufrag;
    size_t ufrag_len;
    if (cq_stun_parse(d->data, d->len, &v) < 0 ||
        cq_ice_request_ufrag(&v, &ufrag, &ufrag_len) != 0) {
        r->stats.drops_stun++;
        return;
    }
    struct participant *p = find_by_ufrag(r, ufrag, ufrag_len);
    cq_ice_result_t res;
    cq_ice_check(d->data, d->len, &v, p ? p->pwd : NULL, p ? p->pwd_len : 0, &res);
    if (res.verdict == CQ_ICE_DROP) {
        r->stats.drops_stun++;
        return;
    }
    uint8_t *out = cq_udp_sendq_slot(&r->sendq);
    int n;
    if (res.verdict == CQ_ICE_ERROR) {
        r->stats.stun_errors++;
        n = cq_ice_write_error(&v, &res, p ? p->pwd : NULL, p ? p->pwd_len : 0, out,
                               CQ_UDP_SLOT_SIZE);
    } else {
        bind_participant(r, p, &d->from, res.nominated, now_us);
        n = cq_ice_write_success(&v, &d->from, p->pwd, p->pwd_len, out, CQ_UDP_SLOT_SIZE);
    }
    if (n > 0)
        cq_udp_sendq_commit(&r->sendq, (size_t)n, &d->from);
}

ptrdiff_t cq_router_tseq_offset(const uint8_t *pkt, const cq_rtp_view_t *v) {
    const uint8_t *data;
    size_t len;
    if (cq_rtp_ext_find(v, CQ_RTPEXT_ID_TRANSPORT_CC, &data, &len) != 0 ||
        len != CQ_RTPEXT_TRANSPORT_CC_SIZE)
        return -1;
    return data - pkt;
}

/* Counts a media packet (not a repair) sent to sub. */
static void count_out(struct participant *sub, size_t bytes) {
    sub->stats.packets_out++;
    sub->stats.bytes_out += bytes;
}

/*
 * Sends a copy of the plain audio packet pkt (parsed: v) to every subscriber of its
 * publisher, each under the SSRC that subscriber knows it by, protected with that
 * subscriber's key. Audio has one stream: its numbers pass through unchanged. A receiver
 * whose downlink is too narrow for the sound with its redundancy, or whose feedback has
 * stalled, gets the primary block alone (primary: NULL when the packet is not RED). The received
 * slot stays untouched: copies are rewritten in the send queue's scratch slots.
 */
static void forward_audio(struct cq_router *r, struct participant *pub, const uint8_t *pkt,
                          const cq_rtp_view_t *v, const cq_red_block_t *primary) {
    size_t len = v->header_len + v->payload_len + v->padding_len;
    ptrdiff_t tseq_at = cq_router_tseq_offset(pkt, v);
    for (size_t i = 0; i < pub->nconsumers; i++) {
        struct consumer *c = pub->consumers[i];
        struct participant *sub = c->subscriber;
        if (!sub->bound)
            continue;
        uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
        size_t n = len, payload = v->payload_len;
        int lean = primary != NULL && (sub->down->lean_audio || sub->down->stalled)
                       ? cq_red_primary_packet(pkt, v->header_len, primary, slot,
                                               CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM)
                       : 0;
        if (lean > 0) {
            n = (size_t)lean;
            payload = primary->len;
            sub->stats.red_stripped++;
        } else {
            memcpy(slot, pkt, len);
        }
        cq_rtp_set_ssrc(slot, c->s.ssrcs.audio);
        size_t sent = cq_router_queue_rtp(r, sub, slot, n, tseq_at, false);
        if (sent != 0) {
            count_out(sub, sent);
            c->s.sent_packets[0]++;
            c->s.sent_octets[0] += (uint32_t)payload;
        }
    }
}

/* The primary block of a RED audio packet, read once for all its receivers; false when
 * the packet is not RED, carries no copy to strip (a publisher sending lean RED), or does
 * not parse: then it is forwarded as it came. */
static bool red_primary(const uint8_t *pkt, const cq_rtp_view_t *v, cq_red_block_t *primary) {
    cq_red_block_t b[4];
    if (v->payload_type != AUDIO_RED_PAYLOAD_TYPE)
        return false;
    int n = cq_red_parse(pkt + v->header_len, v->payload_len, b, sizeof b / sizeof b[0]);
    if (n < 2 || b[n - 1].len == 0)
        return false;
    *primary = b[n - 1];
    return true;
}

/* Writes the numbers a consumer's copy of a video packet goes out with: into the header,
 * and into the VP8 descriptor that starts the payload at payload (as parsed into desc). */
static void rewrite_video(uint8_t *pkt, uint8_t *payload, size_t payload_len,
                          const cq_vp8_desc_t *desc, uint32_t ssrc, const cq_vsel_out_t *out) {
    cq_rtp_set_ssrc(pkt, ssrc);
    cq_rtp_set_seq(pkt, out->seq);
    cq_rtp_set_timestamp(pkt, out->ts);
    if (desc->has_picture_id)
        cq_vp8_desc_set_picture_id(payload, payload_len, desc, out->picture_id);
    if (desc->has_tl0picidx)
        cq_vp8_desc_set_tl0picidx(payload, payload_len, desc, out->tl0picidx);
}

int cq_router_rtx_as_sent(const struct consumer *c, const uint8_t *pkt, const cq_rtp_view_t *v,
                          const cq_vp8_desc_t *desc, const cq_vsel_out_t *out, uint8_t *slot) {
    int n = cq_rtx_wrap(pkt, v->header_len, v->payload_len, RTX_PAYLOAD_TYPE, c->s.rtx_seq,
                        c->s.ssrcs.video_rtx, slot, CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM);
    if (n <= 0)
        return n < 0 ? n : CQ_EMALFORMED;
    /* The wrap keeps the publisher's numbers: OSN, timestamp and descriptor are given the
     * ones the receiver knows. */
    uint8_t *osn = slot + v->header_len;
    cq_store_be16(osn, out->seq);
    cq_rtp_set_timestamp(slot, out->ts);
    if (desc->has_picture_id)
        cq_vp8_desc_set_picture_id(osn + 2, v->payload_len, desc, out->picture_id);
    if (desc->has_tl0picidx)
        cq_vp8_desc_set_tl0picidx(osn + 2, v->payload_len, desc, out->tl0picidx);
    return n;
}

/* Sends c's subscriber, right behind a base-layer packet it just got, a copy of it as RTX
 * (the downlink protects TL0: struct downlink). A copy the pacer cannot take is lost like
 * any packet; its loss costs no more than no copy. */
static void send_tl0_copy(struct cq_router *r, struct consumer *c, const uint8_t *pkt,
                          const cq_rtp_view_t *v, const cq_vp8_desc_t *desc,
                          const cq_vsel_out_t *out, ptrdiff_t tseq_at) {
    uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
    int n = cq_router_rtx_as_sent(c, pkt, v, desc, out, slot);
    if (n <= 0 || cq_router_queue_rtp(r, c->subscriber, slot, (size_t)n, tseq_at, true) == 0)
        return;
    c->s.rtx_seq++;
    c->subscriber->stats.tl0_copies++;
}

/* Tells the owner that c's subscriber now gets another layer of its publisher (rare: at
 * switches, so an event per packet can never happen). */
static void layer_changed(struct cq_router *r, const struct consumer *c, uint64_t now_us) {
    if (r->cfg.events == NULL)
        return;
    cq_relay_event_t ev = {.type = CQ_RELAY_EVENT_LAYER,
                           .session_id = c->subscriber->session->id,
                           .participant_id = c->subscriber->id,
                           .time_us = now_us,
                           .publisher_id = c->publisher->id,
                           .layer = c->s.vsel.spatial};
    cq_relay_events_push(r->cfg.events, &ev);
}

static void count_drop(cq_relay_consumer_stats_t *st, cq_vsel_verdict_t verdict) {
    switch (verdict) {
    case CQ_VSEL_DROP_PAUSED:
        st->drops_paused++;
        break;
    case CQ_VSEL_DROP_WAITING:
        st->drops_waiting++;
        break;
    case CQ_VSEL_DROP_LAYER:
        st->drops_layer++;
        break;
    case CQ_VSEL_DROP_TEMPORAL:
        st->drops_temporal++;
        break;
    case CQ_VSEL_DROP_LATE:
        st->drops_late++;
        break;
    case CQ_VSEL_FORWARD:
        break;
    }
}

/* What the selectors need from a video packet, read once for all its consumers. Returns
 * false for a packet without video in it (padding only, a bandwidth probe) or with a
 * descriptor that does not parse: neither can be spliced into anyone's stream. */
static bool describe_video(const struct stream *s, const uint8_t *pkt, const cq_rtp_view_t *v,
                           cq_vp8_desc_t *desc, cq_vsel_packet_t *vp) {
    const uint8_t *payload = pkt + v->header_len;
    if (v->payload_len == 0 || cq_vp8_desc_parse(payload, v->payload_len, desc) < 0)
        return false;
    cq_vp8_frame_header_t fh;
    bool start = cq_vp8_desc_starts_frame(desc);
    bool key =
        start &&
        cq_vp8_frame_header_parse(payload + desc->size, v->payload_len - desc->size, &fh) > 0 &&
        fh.keyframe;
    *vp = (cq_vsel_packet_t){
        .layer = s->layer,
        .seq = v->seq,
        .ts = v->timestamp,
        .frame_start = start,
        .keyframe = key,
        .has_tid = desc->has_tid,
        .tid = desc->tid,
        .layer_sync = desc->y,
        .has_picture_id = desc->has_picture_id,
        .picture_id_15bit = desc->picture_id_15bit,
        .picture_id = desc->picture_id,
        .has_tl0picidx = desc->has_tl0picidx,
        .tl0picidx = desc->tl0picidx,
    };
    return true;
}

/* A video packet as every consumer's selector is offered it: parsed once. */
typedef struct {
    const uint8_t *pkt;
    const cq_rtp_view_t *v;
    const cq_vp8_desc_t *desc;
    const cq_vsel_packet_t *vp;
    ptrdiff_t tseq_at; /* its transport-wide number's place, or -1 */
    bool tl0;          /* a base-layer frame's, not a keyframe's: copied where protected */
} offered_t;

static offered_t offered(const struct stream *s, const uint8_t *pkt, const cq_rtp_view_t *v,
                         const cq_vp8_desc_t *desc, const cq_vsel_packet_t *vp) {
    /* Base-layer frames other than keyframes: every later frame until the next one refers
     * to them (a keyframe is a burst, asked for again if it does not come whole). Only a
     * keyframe's first packet says it is one: the rest share its timestamp. */
    bool key = s->has_keyframe_ts && v->timestamp == s->keyframe_ts;
    return (offered_t){.pkt = pkt,
                       .v = v,
                       .desc = desc,
                       .vp = vp,
                       .tseq_at = cq_router_tseq_offset(pkt, v),
                       .tl0 = !key && (!vp->has_tid || vp->tid == 0)};
}

/* Offers video packet o of layer s to consumer c's selector, which decides whether it
 * goes, and under which numbers; what goes is remembered so the subscriber's NACKs find
 * it. Returns whether the selector switched layers on it. */
static bool offer_video(struct cq_router *r, struct consumer *c, const struct stream *s,
                        const offered_t *o, uint64_t now_us) {
    struct participant *sub = c->subscriber;
    const cq_rtp_view_t *v = o->v;
    size_t len = v->header_len + v->payload_len + v->padding_len;
    cq_vsel_out_t out;
    int8_t before = c->s.vsel.spatial;
    cq_vsel_verdict_t verdict = cq_vsel_on_packet(&c->s.vsel, o->vp, now_us, &out);
    bool switched = c->s.vsel.spatial != before;
    if (switched)
        layer_changed(r, c, now_us);
    if (verdict != CQ_VSEL_FORWARD) {
        count_drop(&c->s.stats, verdict);
        return switched;
    }
    uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
    memcpy(slot, o->pkt, len);
    rewrite_video(slot, slot + v->header_len, v->payload_len, o->desc, c->s.ssrcs.video, &out);
    size_t sent = cq_router_queue_rtp(r, sub, slot, len, o->tseq_at, true);
    if (sent == 0)
        return switched;
    count_out(sub, sent);
    c->s.sent_packets[1]++;
    c->s.sent_octets[1] += (uint32_t)v->payload_len;
    c->s.stats.packets++;
    c->s.stats.bytes += sent;
    cq_consumer_sent_record(&c->s, s->layer, v->seq, &out, c->s.vsel.ts_delta);
    if (o->vp->keyframe)
        c->keyframe_sent_us = now_us;
    if (o->tl0 && tl0_copied(c))
        send_tl0_copy(r, c, o->pkt, v, o->desc, &out, o->tseq_at);
    return switched;
}

/*
 * Consumer c switched to layer s at a keyframe whose first packet, from_seq, came late
 * (repaired after the packets behind it): those were dropped for c as another layer's,
 * and its receiver would find a hole the relay never sent it, so cannot repair, and wait
 * for the next keyframe (on radio-3, 650-850 ms of frozen picture). They are in the
 * layer's cache: they follow now, in order, through c's selector.
 */
static void replay_after_late_keyframe(struct cq_router *r, struct consumer *c, struct stream *s,
                                       uint16_t from_seq, uint64_t now_us) {
    int32_t span = cq_seq_diff(s->nack->highest, from_seq);
    if (span > REPLAY_MAX_PACKETS)
        span = REPLAY_MAX_PACKETS;
    for (int32_t k = 1; k <= span; k++) {
        const uint8_t *pkt;
        size_t len = cq_rtxcache_get(&s->cache, (uint16_t)(from_seq + k), now_us, &pkt);
        cq_rtp_view_t v;
        cq_vp8_desc_t desc;
        cq_vsel_packet_t vp;
        if (len == 0 || cq_rtp_parse(pkt, len, &v) < 0 || !describe_video(s, pkt, &v, &desc, &vp))
            continue; /* still missing: the relay's own NACK brings it, forwarded then */
        offered_t o = offered(s, pkt, &v, &desc, &vp);
        uint64_t sent = c->s.stats.packets;
        (void)offer_video(r, c, s, &o, now_us);
        c->s.stats.replayed += c->s.stats.packets - sent;
    }
}

/*
 * Offers a plain video packet of layer s (already parsed: v, and its VP8 descriptor vp) to
 * every subscriber of the publisher; a subscriber that switched layers on it, when it
 * came late, gets what followed it too.
 */
static void forward_video(struct cq_router *r, struct participant *pub, struct stream *s,
                          const uint8_t *pkt, const cq_rtp_view_t *v, const cq_vp8_desc_t *desc,
                          const cq_vsel_packet_t *vp, uint64_t now_us) {
    offered_t o = offered(s, pkt, v, desc, vp);
    bool late = s->nack->started && cq_seq_newer(s->nack->highest, v->seq);
    for (size_t i = 0; i < pub->nconsumers; i++) {
        struct consumer *c = pub->consumers[i];
        if (!c->subscriber->bound)
            continue;
        if (offer_video(r, c, s, &o, now_us) && late && c->s.vsel.spatial >= 0)
            replay_after_late_keyframe(r, c, s, v->seq, now_us);
    }
}

static void review_active_layers(struct cq_router *r, struct participant *pub, uint64_t now_us);

/* A new rate window for s from now_us: its bytes counted from zero, the rates of the last
 * one kept until this one closes. */
static void rate_window_restart(struct stream *s, uint64_t now_us) {
    s->window_start_us = now_us;
    s->window_bytes = 0;
    s->window_frames = 0;
    memset(s->tid_window_bytes, 0, sizeof s->tid_window_bytes);
}

/* A window of video layer s closed after elapsed_us: its pictures a second, and whether
 * it is too slow to offer beside layer 0 (CQ_ALLOC_MIN_FPS): in SLOW_WINDOWS windows in a
 * row, so that a layer's first second (its keyframe, the encoder's rate control catching
 * up after it) does not hold it back for the whole hold. */
static void frame_rate_update(struct participant *p, struct stream *s, uint64_t elapsed_us,
                              uint64_t now_us) {
    s->fps = (uint32_t)((s->window_frames * 1000000ull + elapsed_us / 2) / elapsed_us);
    const struct stream *base = video_stream(p, 0);
    bool slow = s->layer != 0 && s->fps < CQ_ALLOC_MIN_FPS && base != NULL && base->fps > s->fps &&
                base->last_packet_us != 0 && now_us - base->last_packet_us < 1000000u;
    s->slow_windows = slow ? s->slow_windows + 1 : 0;
    if (s->slow_windows >= SLOW_WINDOWS)
        s->slow_until_us = now_us + CQ_ALLOC_SLOW_HOLD_US;
}

/* Whether a layer of pub's video above `layer`, counted as sent, has been silent for
 * LAYER_QUIET_US. */
static bool upper_layer_quiet(const struct participant *pub, int layer, uint64_t now_us) {
    for (unsigned i = 0; i < pub->nstreams; i++) {
        const struct stream *s = &pub->streams[i];
        if (s->kind == STREAM_VIDEO && s->layer > layer && (pub->active_layers >> s->layer & 1u) &&
            s->last_packet_us != 0 && now_us - s->last_packet_us >= LAYER_QUIET_US)
            return true;
    }
    return false;
}

/*
 * A video packet from publisher p on stream s, received or restored from its RTX: kept for
 * receivers' NACKs, its gaps tracked for the relay's own NACKs, then offered to every
 * subscriber's selector.
 */
static void video_arrived(struct cq_router *r, struct participant *p, struct stream *s,
                          const uint8_t *pkt, const cq_rtp_view_t *v, uint64_t now_us) {
    size_t len = v->header_len + v->payload_len + v->padding_len;
    if (p->session->recording) /* here, so that repairs from RTX are recorded too */
        cq_router_record(r, p, s, pkt, len, now_us);
    cq_rtxcache_put(&s->cache, v->seq, pkt, len, now_us);
    cq_nack_tracker_on_frame_packet(s->nack, v->seq, v->marker, now_us);
    if (s->nack->keyframe_needed) {
        /* A gap too large to repair: a keyframe is the faster way back. */
        s->nack->keyframe_needed = false;
        cq_router_request_keyframe(r, p, s->layer, now_us);
    }
    cq_vp8_desc_t desc;
    cq_vsel_packet_t vp;
    if (!describe_video(s, pkt, v, &desc, &vp)) {
        if (v->payload_len != 0)
            p->stats.drops_malformed++;
        return;
    }
    if (vp.keyframe) {
        s->keyframes++;
        s->last_keyframe_us = now_us;
        s->keyframe_ts = v->timestamp;
        s->has_keyframe_ts = true;
        /* A layer above it that fell silent may have been dropped, or this layer is
         * coming back (its publisher's uplink has room again): the receivers are moved
         * before this keyframe is offered, so that they switch at it (layer_sending).
         * Moved at the next tick, they had let it pass and asked for another, 2-4 kB
         * more on the publisher's uplink each time (weak-3g-3). Not when no layer was
         * being sent (a camera back, an outage over): the first layer's keyframe would
         * move everyone to it before the others' come; the tick's review waits for them. */
        if (upper_layer_quiet(p, s->layer, now_us) ||
            (p->active_layers != 0 && !((unsigned)p->active_layers >> s->layer & 1u)))
            review_active_layers(r, p, now_us);
    }
    if (!s->has_keyframe_ts || v->timestamp != s->keyframe_ts)
        s->tid_window_bytes[vp.has_tid && vp.tid < CQ_ALLOC_TEMPORAL ? vp.tid : 0] += len;
    if (!s->has_frame_ts || cq_ts_newer(v->timestamp, s->frame_ts)) {
        s->window_frames++;
        s->frame_ts = v->timestamp;
        s->has_frame_ts = true;
    }
    forward_video(r, p, s, pkt, v, &desc, &vp, now_us);
}

/*
 * A publisher's RTX (its answer to the relay's NACK) restored in place to the packet it
 * repairs: the original SSRC and payload type, the original sequence number. It then
 * goes where the original would have gone: the statistics (as a repair, so it does not
 * count as jitter), the cache and every subscriber, whose gap it fills. Padding-only RTX
 * (bandwidth probes) carries nothing to restore and is dropped.
 */
static void recover_from_rtx(struct cq_router *r, struct participant *p, const struct stream *rtx,
                             uint8_t *pkt, const cq_rtp_view_t *v, uint64_t now_us) {
    struct stream *orig = video_stream(p, rtx->layer);
    if (orig == NULL)
        return;
    int n = cq_rtx_unwrap(pkt, v->header_len, v->payload_len, VIDEO_PAYLOAD_TYPE, orig->ssrc);
    cq_rtp_view_t ov;
    if (n <= 0 || cq_rtp_parse(pkt, (size_t)n, &ov) < 0)
        return;
    if (cq_rtxcache_has(&orig->cache, ov.seq, now_us)) {
        /* Repaired already (asked for twice on a long round trip) or never lost. */
        p->stats.rtx_duplicates++;
        return;
    }
    p->stats.rtx_recovered++;
    cq_rtp_recv_stats_update(&orig->rx, ov.seq, ov.timestamp, now_us, (size_t)n, true);
    video_arrived(r, p, orig, pkt, &ov, now_us);
}

/* The audio level a packet carries (RFC 6464, at the id chasqui announces) feeds the
 * session's active-speaker detector; packets without it count as silence. */
static void feed_speaker(struct participant *p, const cq_rtp_view_t *v, uint64_t now_us) {
    const uint8_t *data;
    size_t len;
    cq_rtpext_audio_level_t al;
    if (cq_rtp_ext_find(v, CQ_RTPEXT_ID_AUDIO_LEVEL, &data, &len) == 0 &&
        cq_rtpext_audio_level_parse(data, len, &al) == 0)
        cq_speaker_feed(&p->session->speaker, p->id, al.level, al.voice, now_us);
}

/* Counts a dropped datagram and says so in the log, at most once a second per cause. */
static void drop_logged(uint64_t *counter, cq_log_limit_t *lim, uint64_t now_us, const char *what) {
    (*counter)++;
    uint64_t held;
    if (cq_log_limit_allow(lim, now_us, &held))
        cq_log(CQ_LOG_DEBUG, "relay", "%s dropped (%" PRIu64 " more since the last line)", what,
               held);
}

static void handle_media(struct cq_router *r, cq_udp_dgram_t *d, bool rtcp, uint64_t now_us) {
    struct participant *p = find_by_addr(r, &d->from);
    if (p == NULL) {
        drop_logged(&r->stats.drops_unbound, &r->log_unbound, now_us,
                    "media from an unbound address");
        return;
    }
    size_t len = d->len;
    int rc = rtcp ? cq_srtp_unprotect_rtcp(&p->srtp_in, d->data, &len)
                  : cq_srtp_unprotect(&p->srtp_in, d->data, &len);
    if (rc != 0) {
        uint64_t held;
        if (rc == CQ_EREPLAY) {
            p->stats.drops_replay++;
        } else {
            p->stats.drops_auth++;
            if (cq_log_limit_allow(&r->log_auth, now_us, &held))
                cq_log(CQ_LOG_WARN, "relay",
                       "session %" PRIu32 " participant %" PRIu32
                       ": SRTP%s authentication failed (%" PRIu64 " more since the last line)",
                       p->session->id, p->id, rtcp ? "C" : "", held);
        }
        return;
    }
    /* Authenticated traffic proves the path works, as a consent check would. */
    p->last_seen_us = now_us;
    if (rtcp) {
        cq_router_handle_rtcp(r, p, d->data, len, now_us);
        return;
    }
    cq_rtp_view_t v;
    if (cq_rtp_parse(d->data, len, &v) < 0) {
        p->stats.drops_malformed++;
        return;
    }
    int idx = stream_index(p, v.ssrc);
    if (idx < 0) {
        p->stats.drops_unknown_ssrc++;
        return;
    }
    struct stream *s = &p->streams[idx];
    cq_router_uplink_packet(p, &v, now_us); /* RTX and probes too */
    if (s->kind == STREAM_RTX) {
        recover_from_rtx(r, p, s, d->data, &v, now_us);
        return;
    }
    if (s->kind == STREAM_VIDEO && s->last_packet_us != 0 &&
        now_us - s->last_packet_us >= RATE_SILENCE_US) {
        rate_window_restart(s, now_us); /* the rates stay those it was sent at */
        s->slow_windows = 0;            /* the layer starts again, its clock perhaps anew */
        s->has_frame_ts = false;
    }
    s->last_packet_us = now_us;
    if (p->video_since_us == 0 && s->kind == STREAM_VIDEO)
        p->video_since_us = now_us;
    cq_rtp_recv_stats_update(&s->rx, v.seq, v.timestamp, now_us, len, false);
    if (now_us - s->window_start_us >= 1000000u) {
        uint64_t elapsed = now_us - s->window_start_us;
        s->rate_bps = s->window_start_us ? s->window_bytes * 8u * 1000000u / elapsed : 0;
        for (unsigned t = 0; t < CQ_ALLOC_TEMPORAL; t++)
            s->tid_rate_bps[t] = s->window_start_us
                                     ? (uint32_t)(s->tid_window_bytes[t] * 8u * 1000000u / elapsed)
                                     : 0;
        if (s->kind == STREAM_VIDEO && s->window_start_us != 0)
            frame_rate_update(p, s, elapsed, now_us);
        rate_window_restart(s, now_us);
    }
    s->window_bytes += len;
    p->stats.packets_in++;
    p->stats.bytes_in += len;
    if (s->kind == STREAM_VIDEO) {
        video_arrived(r, p, s, d->data, &v, now_us);
    } else if (p->muted) {
        p->stats.muted_dropped++; /* counted as received: its uplink is not to blame */
    } else {
        if (p->session->recording)
            cq_router_record(r, p, s, d->data, len, now_us);
        feed_speaker(p, &v, now_us);
        cq_red_block_t primary;
        forward_audio(r, p, d->data, &v, red_primary(d->data, &v, &primary) ? &primary : NULL);
    }
}

static void handle(struct cq_router *r, cq_udp_dgram_t *d, uint64_t now_us) {
    r->stats.datagrams++;
    if (d->truncated || d->len == 0) {
        drop_logged(&r->stats.drops_garbage, &r->log_garbage, now_us,
                    "datagram neither STUN nor RTP/RTCP");
        return;
    }
    switch (cq_demux_classify(d->data, d->len)) {
    case CQ_DEMUX_STUN:
        handle_stun(r, d, now_us);
        return;
    case CQ_DEMUX_RTP:
        handle_media(r, d, false, now_us);
        return;
    case CQ_DEMUX_RTCP:
        handle_media(r, d, true, now_us);
        return;
    default:
        drop_logged(&r->stats.drops_garbage, &r->log_garbage, now_us,
                    "datagram neither STUN nor RTP/RTCP");
        return;
    }
}

/* Datagrams the send queue has sent or dropped so far. */
static uint64_t sendq_handled(const cq_udp_sendq_t *q) {
    return q->sent + q->dropped_full + q->dropped_error;
}

void cq_router_on_readable(void *ctx, cq_udp_t *udp, uint64_t now_us) {
    struct cq_router *r = ctx;
    r->now_us = now_us;
    if (!r->sendq_ready) {
        cq_udp_sendq_init(&r->sendq, udp);
        r->sendq_ready = true;
    }
    cq_udp_dgram_t msgs[CQ_UDP_BATCH];
    /* An event's cost is in its copies (one packet of a broadcast is hundreds): batches
     * are sized by the copies the last one made per datagram, within what is left. */
    uint64_t copies = 0;
    for (int batch = 0; batch < MAX_BATCHES_PER_EVENT && copies < MAX_COPIES_PER_EVENT; batch++) {
        uint64_t want = (MAX_COPIES_PER_EVENT - copies) / r->copies_per_datagram;
        want = want < 1 ? 1 : want > CQ_UDP_BATCH ? CQ_UDP_BATCH : want;
        for (unsigned i = 0; i < want; i++)
            msgs[i] = (cq_udp_dgram_t){.data = r->rx[i], .cap = RX_SLOT_SIZE};
        uint64_t before = sendq_handled(&r->sendq);
        int n = cq_udp_recv(udp, msgs, (unsigned)want);
        if (n <= 0)
            break;
        for (int i = 0; i < n; i++)
            handle(r, &msgs[i], now_us);
        cq_router_pace(r, now_us);
        cq_udp_sendq_flush(&r->sendq);
        uint64_t made = sendq_handled(&r->sendq) - before;
        copies += made;
        r->copies_per_datagram = made > (uint64_t)n ? (made + (uint64_t)n - 1) / (uint64_t)n : 1;
        if ((uint64_t)n < want)
            break;
    }
}

/* Whether pub's layer is arriving: only then is a keyframe request for it any use (a
 * layer's first frame after a pause is a keyframe anyway). */
/* Whether a lower layer than `layer` of pub's video started a keyframe after since_us. */
static bool lower_keyframe_since(const struct participant *pub, int layer, uint64_t since_us) {
    for (unsigned i = 0; i < pub->nstreams; i++) {
        const struct stream *s = &pub->streams[i];
        if (s->kind == STREAM_VIDEO && s->layer < layer && s->last_keyframe_us > since_us)
            return true;
    }
    return false;
}

/* Whether pub still sends a video layer: it was heard from within LAYER_TIMEOUT_US, and
 * it is not a layer silent for LAYER_QUIET_US since which a lower one started a keyframe
 * (a publisher that drops a layer for its uplink makes that keyframe for the receivers it
 * had: client/sender.c). Waiting out the timeout, and then for a keyframe asked for,
 * those receivers' pictures stood 2.5 s on weak-3g-3. */
static bool layer_sending(const struct participant *pub, int layer, uint64_t now_us) {
    for (unsigned i = 0; i < pub->nstreams; i++) {
        const struct stream *s = &pub->streams[i];
        if (s->kind != STREAM_VIDEO || s->layer != layer)
            continue;
        if (s->last_packet_us == 0 || now_us - s->last_packet_us >= LAYER_TIMEOUT_US)
            return false;
        return now_us - s->last_packet_us < LAYER_QUIET_US ||
               !lower_keyframe_since(pub, layer, s->last_packet_us);
    }
    return false;
}

/*
 * Where consumer c's video should go: the highest layer its preferences and its share of
 * the subscriber's downlink allow among those the publisher is sending (any, until the
 * publisher sends something), or none when it paused the video or there is no room for
 * it. A change that needs a keyframe asks for one.
 */
void cq_router_update_target(struct cq_router *r, struct consumer *c, uint64_t now_us) {
    const struct participant *pub = c->publisher;
    unsigned temporal;
    int max = cq_router_alloc_spatial(c, &temporal);
    if (c->s.prefs.max_spatial < max)
        max = c->s.prefs.max_spatial;
    if (c->s.prefs.max_temporal < temporal)
        temporal = c->s.prefs.max_temporal;
    int target = -1;
    if (max >= 0 && pub->video_layers > 0) {
        int top = max < (int)pub->video_layers ? max : (int)pub->video_layers - 1;
        target = top;
        if (pub->active_layers != 0)
            while (target > 0 && !(pub->active_layers & (1u << target)))
                target--;
    }
    cq_vsel_set_target(&c->s.vsel, target, temporal);
    int want = cq_vsel_wanted_layer(&c->s.vsel);
    /* Not when a keyframe of that layer started in this very batch: it is being offered
     * (the consumer was moved for it: video_arrived). */
    const struct stream *ws = want >= 0 ? video_stream(c->publisher, want) : NULL;
    if (ws != NULL && layer_sending(pub, want, now_us) && ws->last_keyframe_us != now_us)
        cq_router_request_keyframe(r, c->publisher, want, now_us);
}

/*
 * Once a tick for each publisher: notices layers that started or stopped arriving and
 * moves their subscribers, and asks again for a keyframe somebody still waits for (the
 * PLI or the keyframe was lost on the way, or the subscriber was not bound when it came).
 */
static void review_active_layers(struct cq_router *r, struct participant *pub, uint64_t now_us) {
    /* For a second after video starts, a layer not seen yet counts as coming: an encoder
     * starts its layers together, and the first tick must not settle on the first one. */
    bool starting = pub->video_since_us != 0 && now_us - pub->video_since_us < LAYER_TIMEOUT_US;
    uint8_t active = 0;
    for (unsigned i = 0; i < pub->nstreams; i++) {
        const struct stream *s = &pub->streams[i];
        if (s->kind == STREAM_VIDEO &&
            (layer_sending(pub, s->layer, now_us) || (starting && s->last_packet_us == 0)))
            active |= (uint8_t)(1u << s->layer);
    }
    if (active != pub->active_layers) {
        pub->active_layers = active;
        for (size_t i = 0; i < pub->nconsumers; i++)
            cq_router_update_target(r, pub->consumers[i], now_us);
    }
}

static void review_layers(struct cq_router *r, struct participant *pub, uint64_t now_us) {
    review_active_layers(r, pub, now_us);
    uint64_t retry = keyframe_retry_us(pub);
    for (size_t i = 0; i < pub->nconsumers; i++) {
        if (!pub->consumers[i]->subscriber->bound)
            continue;
        struct stream *s = video_stream(pub, cq_vsel_wanted_layer(&pub->consumers[i]->s.vsel));
        if (s != NULL && layer_sending(pub, s->layer, now_us) &&
            (s->last_keyframe_request_us == 0 || now_us - s->last_keyframe_request_us >= retry))
            cq_router_request_keyframe(r, pub, s->layer, now_us);
    }
}

/* One line of p's counters for the operator: what it sends, what it receives, how its
 * link looks (loss, jitter, RTT) and which layer of each publisher it gets. */
static void log_participant(const struct participant *p) {
    uint64_t rate = 0, lost = 0, jitter_ms = 0;
    for (unsigned i = 0; i < p->nstreams; i++) {
        const struct stream *s = &p->streams[i];
        if (s->kind == STREAM_RTX || !s->rx.started)
            continue;
        rate += s->rate_bps;
        int64_t l = cq_rtp_recv_stats_lost(&s->rx);
        lost += l > 0 ? (uint64_t)l : 0;
        uint64_t j = (uint64_t)(s->rx.jitter_q4 >> 4) * 1000u / s->rx.clock_rate;
        jitter_ms = j > jitter_ms ? j : jitter_ms;
    }
    char layers[256] = "";
    size_t n = 0;
    for (const struct participant *q = p->session->participants; q != NULL; q = q->next) {
        const struct consumer *c = find_consumer(q, p);
        if (c == NULL || q->video_layers == 0)
            continue;
        int k = snprintf(layers + n, sizeof layers - n, " %" PRIu32 ":%d/%u", q->id,
                         c->s.vsel.spatial, (unsigned)c->s.vsel.temporal);
        if (k < 0 || (size_t)k >= sizeof layers - n)
            break; /* a session this large is summed up by its first subscriptions */
        n += (size_t)k;
    }
    const cq_relay_participant_stats_t *st = &p->stats;
    cq_cc_stats_t cc;
    cq_cc_stats(&p->down->cc, &cc);
    cq_log(CQ_LOG_INFO, "relay",
           "session %" PRIu32 " participant %" PRIu32 " %s: in %" PRIu64 " pkt %" PRIu64
           " kbit/s lost %" PRIu64 " (asked %" PRIu64 " repaired %" PRIu64 ") jitter %" PRIu64
           " ms; out %" PRIu64 " pkt; rtt %" PRIu32 " ms; nack in %" PRIu64 " rtx %" PRIu64
           " limited %" PRIu64 " unanswered %" PRIu64 " (unsent %" PRIu64 ") tl0 copies %" PRIu64
           "; pli in %" PRIu64 " sent %" PRIu64 "; drops auth %" PRIu64 " replay %" PRIu64
           " ssrc %" PRIu64 "; downlink %" PRIu32 " kbit/s (delay %" PRIu32 " loss %" PRIu32
           " acked %" PRIu32 " lost %.0f%% probe %" PRIu32 "/%" PRIu64 " void %" PRIu64 "+%" PRIu64
           " carried %" PRIu32 ") paced %" PRIu64 " dropped %" PRIu64 " waited %" PRIu32
           " ms paused %" PRIu32 "; layers%s",
           p->session->id, p->id, p->bound ? "bound" : "unbound", st->packets_in, rate / 1000, lost,
           st->nacks_sent, st->rtx_recovered, jitter_ms, st->packets_out, st->rtt_us / 1000,
           st->nacks_in, st->rtx_sent, st->nacks_limited, st->nacks_unanswered, st->nacks_unsent,
           st->tl0_copies, st->keyframe_requests_in, st->keyframe_requests_sent, st->drops_auth,
           st->drops_replay, st->drops_unknown_ssrc, st->downlink_bps / 1000, cc.delay_bps / 1000,
           cc.loss_bps / 1000, cc.acked_bps / 1000, cc.loss_fraction * 100, cc.probe_bps / 1000,
           st->probes, cc.probes_bunched, cc.probes_jittered, cc.carried_bps / 1000,
           st->paced_packets, st->paced_dropped, st->pace_max_wait_us / 1000, st->video_paused,
           n ? layers : " -");
}

void cq_router_on_tick(void *ctx, uint64_t now_us) {
    struct cq_router *r = ctx;
    r->now_us = now_us;
    if (r->sendq_ready) {
        for (struct session *s = r->session_list; s != NULL; s = s->next)
            for (struct participant *p = s->participants; p != NULL; p = p->next)
                cq_router_probe(r, p, now_us);
        cq_router_pace(r, now_us);
        cq_udp_sendq_flush(&r->sendq);
    }
    if (now_us < r->next_control_us)
        return;
    r->next_control_us = now_us + CONTROL_INTERVAL_US - CQ_ROUTER_TICK_MS * 1000u / 2;
    if (r->cfg.stats_log_us != 0 && now_us >= r->next_stats_log_us) {
        if (r->next_stats_log_us != 0 && cq_log_enabled(CQ_LOG_INFO))
            for (struct session *s = r->session_list; s != NULL; s = s->next)
                for (struct participant *p = s->participants; p != NULL; p = p->next)
                    log_participant(p);
        r->next_stats_log_us = now_us + r->cfg.stats_log_us;
    }
    if (r->sendq_ready) {
        for (struct session *s = r->session_list; s != NULL; s = s->next)
            for (struct participant *p = s->participants; p != NULL; p = p->next)
                if (p->bound) {
                    cq_router_downlink_watch(p, r->cfg.copies, now_us);
                    cq_router_send_upstream_nacks(r, p, now_us);
                    review_layers(r, p, now_us);
                    cq_router_uplink_tick(r, p, now_us);
                }
        cq_udp_sendq_flush(&r->sendq);
    }
    for (struct session *s = r->session_list; s != NULL; s = s->next) {
        uint32_t who;
        if (cq_speaker_evaluate(&s->speaker, now_us, &who) && r->cfg.events != NULL) {
            cq_relay_event_t ev = {.type = CQ_RELAY_EVENT_SPEAKER,
                                   .session_id = s->id,
                                   .participant_id = who,
                                   .time_us = now_us};
            cq_relay_events_push(r->cfg.events, &ev);
        }
    }
    cq_router_record_tick(r, now_us);
    if (r->sendq_ready && now_us >= r->next_report_us) {
        r->next_report_us = now_us + RECEIVER_REPORT_US;
        for (struct session *s = r->session_list; s != NULL; s = s->next)
            for (struct participant *p = s->participants; p != NULL; p = p->next)
                if (p->bound)
                    cq_router_send_receiver_report(r, p, now_us);
        cq_udp_sendq_flush(&r->sendq);
    }
    if (now_us < r->next_consent_check_us)
        return;
    r->next_consent_check_us = now_us + CONSENT_CHECK_US;
    /* RFC 7675: without fresh consent, stop sending; the participant stays in its
     * session and binds again with its next check. */
    for (struct session *s = r->session_list; s != NULL; s = s->next)
        for (struct participant *p = s->participants; p != NULL; p = p->next)
            if (p->bound && now_us - p->last_seen_us > r->cfg.consent_us) {
                unbind(r, p);
                r->stats.consent_expired++;
                emit(r, p, CQ_RELAY_EVENT_CONSENT_LOST, now_us);
            }
}

/* ---- control ------------------------------------------------------------------------ */

int cq_router_create(struct cq_router **out, const cq_router_config_t *cfg) {
    struct cq_router *r = calloc(1, sizeof *r);
    if (r == NULL)
        return CQ_ENOMEM;
    r->cfg = *cfg;
    if (r->cfg.consent_us == 0)
        r->cfg.consent_us = 30000000u;
    r->rng = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15ull;
    r->copies_per_datagram = 1;
    r->pool_entries = calloc(PACE_POOL_PACKETS, sizeof *r->pool_entries);
    r->pool_data = malloc(PACE_POOL_PACKETS * sizeof *r->pool_data);
    if (r->pool_entries == NULL || r->pool_data == NULL || cq_map_init(&r->sessions, 16) != 0 ||
        cq_map_init(&r->by_ufrag, 64) != 0 || cq_map_init(&r->by_addr, 64) != 0) {
        cq_router_destroy(r);
        return CQ_ENOMEM;
    }
    cq_paceq_pool_init(&r->pool, r->pool_entries, r->pool_data, PACE_POOL_PACKETS);
    *out = r;
    return 0;
}

unsigned cq_router_session_count(const struct cq_router *r) {
    return (unsigned)r->sessions.count;
}

int cq_router_session_create(struct cq_router *r, uint32_t session_id) {
    if (find_session(r, session_id) != NULL)
        return CQ_EEXIST;
    struct session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CQ_ENOMEM;
    s->id = session_id;
    cq_speaker_init(&s->speaker);
    int err = cq_map_put(&r->sessions, session_id, s);
    if (err != 0) {
        free(s);
        return err;
    }
    s->next = r->session_list;
    r->session_list = s;
    return 0;
}

/* xorshift64*: outgoing SSRCs need to be unpredictable enough not to collide, not secret. */
static uint32_t next_random(struct cq_router *r) {
    r->rng ^= r->rng >> 12;
    r->rng ^= r->rng << 25;
    r->rng ^= r->rng >> 27;
    return (uint32_t)((r->rng * 0x2545f4914f6cdd1dull) >> 32);
}

/* An SSRC the subscriber does not already see or send: RFC 3550 §8 asks for uniqueness
 * within the session as each receiver sees it. */
static bool ssrc_in_use(const struct participant *sub, uint32_t ssrc) {
    if (ssrc == 0 || stream_index(sub, ssrc) >= 0)
        return true;
    for (struct participant *q = sub->session->participants; q != NULL; q = q->next) {
        const struct consumer *c = find_consumer(q, sub);
        if (c &&
            (c->s.ssrcs.audio == ssrc || c->s.ssrcs.video == ssrc || c->s.ssrcs.video_rtx == ssrc))
            return true;
    }
    return false;
}

static uint32_t fresh_ssrc(struct cq_router *r, const struct participant *sub) {
    uint32_t ssrc;
    do {
        ssrc = next_random(r);
    } while (ssrc_in_use(sub, ssrc));
    return ssrc;
}

static int add_consumer(struct cq_router *r, struct participant *pub, struct participant *sub) {
    if (find_consumer(pub, sub) != NULL)
        return CQ_EEXIST;
    if (pub->nconsumers == pub->cap_consumers) {
        size_t cap = pub->cap_consumers ? pub->cap_consumers * 2 : 8;
        struct consumer **grown = realloc(pub->consumers, cap * sizeof *grown);
        if (grown == NULL)
            return CQ_ENOMEM;
        pub->consumers = grown;
        pub->cap_consumers = cap;
    }
    struct consumer *c = calloc(1, sizeof *c);
    if (c == NULL)
        return CQ_ENOMEM;
    c->subscriber = sub;
    c->publisher = pub;
    cq_relay_consumer_ssrcs_t ssrcs = {0};
    ssrcs.audio = fresh_ssrc(r, sub);
    cq_consumer_init(&c->s, &ssrcs, 0);
    if (sub->has_default_prefs)
        c->s.prefs = sub->default_prefs;
    pub->consumers[pub->nconsumers++] = c; /* visible to ssrc_in_use from here on */
    c->s.ssrcs.video = fresh_ssrc(r, sub);
    c->s.ssrcs.video_rtx = fresh_ssrc(r, sub);
    c->s.rtx_seq = (uint16_t)next_random(r); /* RFC 3550 §5.1: a random start */
    /* A new subscriber needs a keyframe to start from. */
    cq_router_update_target(r, c, r->now_us);
    if (r->sendq_ready)
        cq_udp_sendq_flush(&r->sendq);
    return 0;
}

static int remove_consumer(struct participant *pub, const struct participant *sub) {
    for (size_t i = 0; i < pub->nconsumers; i++) {
        if (pub->consumers[i]->subscriber == sub) {
            free(pub->consumers[i]);
            pub->consumers[i] = pub->consumers[--pub->nconsumers];
            return 0;
        }
    }
    return CQ_ENOENT;
}

static int check_params(const cq_relay_participant_params_t *p, size_t *ufrag_len,
                        size_t *pwd_len) {
    *ufrag_len = strnlen(p->ice_ufrag, sizeof p->ice_ufrag);
    *pwd_len = strnlen(p->ice_pwd, sizeof p->ice_pwd);
    if (*ufrag_len == 0 || *ufrag_len > CQ_RELAY_UFRAG_MAX || memchr(p->ice_ufrag, ':', *ufrag_len))
        return CQ_EINVAL;
    if (*pwd_len < MIN_PWD_LEN || *pwd_len > CQ_RELAY_PWD_MAX)
        return CQ_EINVAL;
    if (p->video_layers > CQ_RELAY_MAX_LAYERS || cq_srtp_key_len(p->suite) == 0)
        return CQ_EINVAL;
    uint32_t all[MAX_STREAMS];
    unsigned n = 0;
    if (p->audio_ssrc)
        all[n++] = p->audio_ssrc;
    for (unsigned i = 0; i < p->video_layers; i++) {
        if (p->video_ssrc[i] == 0)
            return CQ_EINVAL;
        all[n++] = p->video_ssrc[i];
        if (p->video_rtx_ssrc[i])
            all[n++] = p->video_rtx_ssrc[i];
    }
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++)
            if (all[i] == all[j])
                return CQ_EINVAL;
    return 0;
}

static void add_counters(cq_relay_participant_stats_t *sum, const cq_relay_participant_stats_t *p);

static void participant_free(struct cq_router *r, struct participant *p) {
    add_counters(&r->departed, &p->stats); /* the worker's totals keep what it did */
    cq_router_send_bye(r, p);
    unbind(r, p);
    struct participant *holder = find_by_ufrag(r, p->ufrag, p->ufrag_len);
    if (holder == p)
        cq_map_remove(&r->by_ufrag, cq_map_hash_bytes(p->ufrag, p->ufrag_len));
    for (size_t i = 0; i < p->nconsumers; i++)
        free(p->consumers[i]);
    free(p->consumers);
    cq_router_downlink_free(r, p);
    cq_srtp_close(&p->srtp_in);
    cq_srtp_close(&p->srtp_out);
    for (unsigned i = 0; i < p->nstreams; i++) {
        cq_rtxcache_close(&p->streams[i].cache);
        free(p->streams[i].nack);
    }
    free(p);
}

static int subscribe(struct cq_router *r, struct participant *sub, struct participant *pub) {
    if (sub == pub)
        return CQ_EINVAL;
    return add_consumer(r, pub, sub);
}

/* Whether sub, which joined with subscribe_all, receives pub: when pub publishes. */
static bool subscribes_all_to(const struct participant *sub, const struct participant *pub) {
    return sub->subscribe_all && pub->nstreams > 0;
}

int cq_router_participant_add(struct cq_router *r, uint32_t session_id,
                              const cq_relay_participant_params_t *params) {
    struct session *s = find_session(r, session_id);
    if (s == NULL)
        return CQ_ENOENT;
    size_t ufrag_len, pwd_len;
    int err = check_params(params, &ufrag_len, &pwd_len);
    if (err != 0)
        return err;
    if (find_participant(s, params->id) != NULL ||
        cq_map_get(&r->by_ufrag, cq_map_hash_bytes(params->ice_ufrag, ufrag_len)) != NULL)
        return CQ_EEXIST;

    struct participant *p = calloc(1, sizeof *p);
    if (p == NULL)
        return CQ_ENOMEM;
    p->session = s;
    p->id = params->id;
    p->epoch = ++r->joins;
    memcpy(p->ufrag, params->ice_ufrag, ufrag_len);
    p->ufrag_len = ufrag_len;
    memcpy(p->pwd, params->ice_pwd, pwd_len);
    p->pwd_len = pwd_len;
    p->subscribe_all = params->subscribe_all;
    p->video_layers = params->video_layers;
    if ((err = cq_router_downlink_create(p)) != 0)
        goto fail;
    do
        p->rtcp_ssrc = next_random(r);
    while (p->rtcp_ssrc == 0);
    cq_router_uplink_init(p);
    if (params->audio_ssrc)
        p->streams[p->nstreams++] =
            (struct stream){.ssrc = params->audio_ssrc, .kind = STREAM_AUDIO};
    for (unsigned i = 0; i < params->video_layers; i++) {
        p->streams[p->nstreams++] = (struct stream){
            .ssrc = params->video_ssrc[i], .kind = STREAM_VIDEO, .layer = (uint8_t)i};
        if (params->video_rtx_ssrc[i])
            p->streams[p->nstreams++] = (struct stream){
                .ssrc = params->video_rtx_ssrc[i], .kind = STREAM_RTX, .layer = (uint8_t)i};
    }
    for (unsigned i = 0; i < p->nstreams; i++) {
        struct stream *st = &p->streams[i];
        cq_rtp_recv_stats_init(&st->rx, st->kind == STREAM_AUDIO ? 48000u : 90000u);
        if (st->kind != STREAM_VIDEO)
            continue;
        if ((err = cq_rtxcache_init(&st->cache, RTX_CACHE_PACKETS, RX_SLOT_SIZE,
                                    RTX_CACHE_AGE_US)) != 0)
            goto fail;
        if ((st->nack = malloc(sizeof *st->nack)) == NULL) {
            err = CQ_ENOMEM;
            goto fail;
        }
        cq_nack_tracker_init(st->nack);
    }
    size_t klen = cq_srtp_key_len(params->suite);
    if ((err = cq_srtp_init(&p->srtp_in, params->suite, CQ_SRTP_INBOUND, params->key_in, klen,
                            INBOUND_REPLAY_WINDOW)) != 0 ||
        (err = cq_srtp_init(&p->srtp_out, params->suite, CQ_SRTP_OUTBOUND, params->key_out, klen,
                            0)) != 0)
        goto fail;
    if ((err = cq_map_put(&r->by_ufrag, cq_map_hash_bytes(p->ufrag, ufrag_len), p)) != 0)
        goto fail;
    p->next = s->participants;
    s->participants = p;
    /* Beyond CQ_SPEAKER_MAX talkers the detector ignores the rest (last-N's job). */
    if (params->audio_ssrc)
        cq_speaker_add(&s->speaker, p->id);

    for (struct participant *q = s->participants; q != NULL; q = q->next) {
        if (q == p)
            continue;
        if ((subscribes_all_to(p, q) && (err = subscribe(r, p, q)) != 0) ||
            (subscribes_all_to(q, p) && (err = subscribe(r, q, p)) != 0)) {
            cq_router_participant_remove(r, session_id, p->id);
            return err;
        }
    }
    return 0;

fail:
    participant_free(r, p);
    return err;
}

int cq_router_participant_mute(struct cq_router *r, uint32_t session_id, uint32_t id, bool muted) {
    struct session *s = find_session(r, session_id);
    struct participant *p = s ? find_participant(s, id) : NULL;
    if (p == NULL)
        return CQ_ENOENT;
    p->muted = muted;
    return 0;
}

int cq_router_participant_remove(struct cq_router *r, uint32_t session_id, uint32_t id) {
    struct session *s = find_session(r, session_id);
    if (s == NULL)
        return CQ_ENOENT;
    struct participant **link = &s->participants;
    while (*link != NULL && (*link)->id != id)
        link = &(*link)->next;
    struct participant *p = *link;
    if (p == NULL)
        return CQ_ENOENT;
    *link = p->next;
    if (s->recording)
        (void)cq_recorder_left(r->cfg.recorder, s->id, p->id, p->epoch);
    cq_speaker_remove(&s->speaker, p->id);
    for (struct participant *q = s->participants; q != NULL; q = q->next)
        remove_consumer(q, p); /* p no longer receives q */
    participant_free(r, p);    /* nobody receives p: its consumers go with it */
    return 0;
}

int cq_router_session_close(struct cq_router *r, uint32_t session_id) {
    struct session *s = find_session(r, session_id);
    if (s == NULL)
        return CQ_ENOENT;
    /* One by one, as a removal would: each leaves nobody holding a pointer to it, and the
     * ones still there get its BYE. */
    while (s->participants != NULL)
        cq_router_participant_remove(r, session_id, s->participants->id);
    if (s->recording && cq_router_recording_set(r, session_id, false) != 0)
        cq_log(CQ_LOG_ERROR, "relay", "session %" PRIu32 ": its recording could not be stopped",
               session_id); /* its files stay open until the relay stops */
    cq_map_remove(&r->sessions, session_id);
    struct session **link = &r->session_list;
    while (*link != s)
        link = &(*link)->next;
    *link = s->next;
    free(s);
    return 0;
}

static int find_pair(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                     uint32_t publisher, struct participant **sub, struct participant **pub) {
    struct session *s = find_session(r, session_id);
    if (s == NULL)
        return CQ_ENOENT;
    *sub = find_participant(s, subscriber);
    *pub = find_participant(s, publisher);
    return *sub && *pub ? 0 : CQ_ENOENT;
}

int cq_router_subscribe(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                        uint32_t publisher) {
    struct participant *sub, *pub;
    int err = find_pair(r, session_id, subscriber, publisher, &sub, &pub);
    return err ? err : subscribe(r, sub, pub);
}

int cq_router_unsubscribe(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                          uint32_t publisher) {
    struct participant *sub, *pub;
    int err = find_pair(r, session_id, subscriber, publisher, &sub, &pub);
    return err ? err : remove_consumer(pub, sub);
}

int cq_router_consumer_ssrcs(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                             uint32_t publisher, cq_relay_consumer_ssrcs_t *out) {
    struct participant *sub, *pub;
    int err = find_pair(r, session_id, subscriber, publisher, &sub, &pub);
    if (err)
        return err;
    const struct consumer *c = find_consumer(pub, sub);
    if (c == NULL)
        return CQ_ENOENT;
    *out = c->s.ssrcs;
    return 0;
}

static void apply_prefs(struct cq_router *r, struct consumer *c,
                        const cq_relay_layer_prefs_t *prefs) {
    c->s.prefs = *prefs;
    if (c->s.prefs.max_spatial < -1)
        c->s.prefs.max_spatial = -1;
    cq_router_update_target(r, c, r->now_us);
}

int cq_router_set_layer_prefs(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                              uint32_t publisher, const cq_relay_layer_prefs_t *prefs) {
    if (prefs->max_temporal > CQ_VSEL_MAX_TEMPORAL)
        return CQ_EINVAL;
    struct session *s = find_session(r, session_id);
    struct participant *sub = s ? find_participant(s, subscriber) : NULL;
    if (sub == NULL)
        return CQ_ENOENT;
    if (publisher == CQ_RELAY_ALL_PUBLISHERS) {
        /* Every publisher, now and those who join later. */
        sub->default_prefs = *prefs;
        sub->has_default_prefs = true;
        for (struct participant *q = s->participants; q != NULL; q = q->next) {
            struct consumer *c = find_consumer(q, sub);
            if (c != NULL)
                apply_prefs(r, c, prefs);
        }
    } else {
        struct participant *pub = find_participant(s, publisher);
        struct consumer *c = pub ? find_consumer(pub, sub) : NULL;
        if (c == NULL)
            return CQ_ENOENT;
        apply_prefs(r, c, prefs);
    }
    if (r->sendq_ready)
        cq_udp_sendq_flush(&r->sendq);
    return 0;
}

int cq_router_consumer_stats(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                             uint32_t publisher, cq_relay_consumer_stats_t *out) {
    struct participant *sub, *pub;
    int err = find_pair(r, session_id, subscriber, publisher, &sub, &pub);
    if (err)
        return err;
    const struct consumer *c = find_consumer(pub, sub);
    if (c == NULL)
        return CQ_ENOENT;
    *out = c->s.stats;
    out->spatial = c->s.vsel.spatial;
    out->spatial_target = c->s.vsel.spatial_target;
    out->temporal = c->s.vsel.temporal;
    out->switches = c->s.vsel.switches;
    return 0;
}

int cq_router_stream_stats(struct cq_router *r, uint32_t session_id, uint32_t id,
                           cq_relay_stream_stats_t *out, size_t *n) {
    struct session *s = find_session(r, session_id);
    struct participant *p = s ? find_participant(s, id) : NULL;
    if (p == NULL)
        return CQ_ENOENT;
    for (unsigned i = 0; i < p->nstreams; i++) {
        const struct stream *st = &p->streams[i];
        out[i] = (cq_relay_stream_stats_t){
            .ssrc = st->ssrc,
            .kind = st->kind,
            .layer = st->layer,
            .active = st->last_packet_us != 0 && r->now_us - st->last_packet_us < LAYER_TIMEOUT_US,
            .packets = st->rx.received,
            .bytes = st->rx.bytes,
            .lost = st->rx.started ? cq_rtp_recv_stats_lost(&st->rx) : 0,
            .jitter_us =
                (uint32_t)((uint64_t)(st->rx.jitter_q4 >> 4) * 1000000u / st->rx.clock_rate),
            .bitrate_bps = st->rate_bps,
            .keyframes = st->keyframes,
        };
    }
    *n = p->nstreams;
    return 0;
}

int cq_router_participant_stats(struct cq_router *r, uint32_t session_id, uint32_t id,
                                cq_relay_participant_stats_t *out) {
    struct session *s = find_session(r, session_id);
    struct participant *p = s ? find_participant(s, id) : NULL;
    if (p == NULL)
        return CQ_ENOENT;
    *out = p->stats;
    return 0;
}

/* Adds the counters of p into sum (the ones that feed the worker's totals). */
static void add_counters(cq_relay_participant_stats_t *sum, const cq_relay_participant_stats_t *p) {
    sum->packets_in += p->packets_in;
    sum->bytes_in += p->bytes_in;
    sum->packets_out += p->packets_out;
    sum->bytes_out += p->bytes_out;
    sum->nacks_in += p->nacks_in;
    sum->rtx_sent += p->rtx_sent;
    sum->keyframe_requests_sent += p->keyframe_requests_sent;
    sum->drops_auth += p->drops_auth;
    sum->drops_replay += p->drops_replay;
    sum->drops_unknown_ssrc += p->drops_unknown_ssrc;
    sum->drops_malformed += p->drops_malformed;
}

void cq_router_worker_stats(const struct cq_router *r, cq_relay_worker_stats_t *out) {
    *out = r->stats;
    /* Copies refused before the queue (SRTP) plus those the queue could not send, in any
     * flush: after a receive batch or from a pacing timer. */
    if (r->sendq_ready)
        out->send_dropped += r->sendq.dropped_full + r->sendq.dropped_error;
    cq_relay_participant_stats_t sum = r->departed;
    out->sessions = r->sessions.count;
    for (const struct session *s = r->session_list; s != NULL; s = s->next)
        for (const struct participant *p = s->participants; p != NULL; p = p->next) {
            add_counters(&sum, &p->stats);
            out->participants++;
            out->participants_bound += p->bound;
        }
    out->packets_in = sum.packets_in;
    out->bytes_in = sum.bytes_in;
    out->packets_out = sum.packets_out;
    out->bytes_out = sum.bytes_out;
    out->nacks_in = sum.nacks_in;
    out->rtx_sent = sum.rtx_sent;
    out->keyframe_requests_sent = sum.keyframe_requests_sent;
    out->drops_auth = sum.drops_auth;
    out->drops_replay = sum.drops_replay;
    out->drops_unknown_ssrc = sum.drops_unknown_ssrc;
    out->drops_malformed = sum.drops_malformed;
}

void cq_router_close_all(struct cq_router *r) {
    while (r->session_list != NULL)
        cq_router_session_close(r, r->session_list->id);
}

void cq_router_destroy(struct cq_router *r) {
    if (r == NULL)
        return;
    /* The worker (and its socket) may be gone by now: nothing may be sent any more. */
    r->sendq_ready = false;
    while (r->session_list != NULL)
        cq_router_session_close(r, r->session_list->id);
    cq_map_close(&r->sessions);
    cq_map_close(&r->by_ufrag);
    cq_map_close(&r->by_addr);
    free(r->pool_entries);
    free(r->pool_data);
    free(r);
}
