/*
 * The RTCP the relay terminates on each leg (DESIGN.md, issue 3): sender reports passed on
 * in the publisher's name, receiver reports to publishers and round-trip times from
 * subscribers' reports, keyframe requests coalesced per layer, NACKs answered from the
 * cache as RTX or sent upstream for the publisher's own gaps, BYE on leave.
 */
#include <stdio.h>
#include <string.h>

#include "codec/rtx.h"
#include "codec/vp8_desc.h"
#include "relay/router_internal.h"
#include "rtp/error.h"
#include "rtp/rtp.h"

/* Queues the RTCP compound built in the send queue's current slot for participant to:
 * protected as SRTCP with its outbound context. Returns true when queued. */
static bool queue_rtcp(struct cq_router *r, struct participant *to, uint8_t *slot,
                       const cq_rtcp_compound_t *cp) {
    int len = cq_rtcp_compound_finish(cp);
    if (len <= 0)
        return false;
    size_t out_len = (size_t)len;
    return cq_srtp_protect_rtcp(&to->srtp_out, slot, &out_len, CQ_UDP_SLOT_SIZE) == 0 &&
           cq_udp_sendq_commit(&r->sendq, out_len, &to->addr) == 0;
}

/* Starts feedback to publisher p in the send queue's next slot: a compound must open with
 * a report (RFC 3550 §6.1), so an empty RR from the relay's SSRC goes first. */
static uint8_t *begin_feedback(struct cq_router *r, const struct participant *p,
                               cq_rtcp_compound_t *cp) {
    uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
    cq_rtcp_compound_init(cp, slot, CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM);
    cq_rtcp_compound_commit(cp, cq_rtcp_rr_write(p->rtcp_ssrc, NULL, 0, cq_rtcp_compound_tail(cp),
                                                 cq_rtcp_compound_room(cp)));
    return slot;
}

/* The CNAME subscribers see for a publisher: one per publisher, shared by its audio and
 * video, which is what lets a receiver synchronise the two (RFC 3550 §6.5.1). */
static int publisher_cname(const struct participant *p, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "chasqui-%u-%u", (unsigned)p->session->id, (unsigned)p->id);
    return n > 0 && (size_t)n < cap ? n : CQ_ENOBUFS;
}

/*
 * A publisher's sender report, passed on to each subscriber in the publisher's name: the
 * SR comes from the SSRC that subscriber knows the stream by and keeps the publisher's
 * NTP <-> RTP mapping, moved by the offset its video timestamps were given (only the
 * forwarded layer's reports go on), so lip sync survives the relay; the counts are what
 * that subscriber was actually sent. An SDES CNAME follows (for video, of the RTX SSRC
 * as well).
 */
static void relay_sender_report(struct cq_router *r, struct participant *pub,
                                const cq_rtcp_sr_t *sr, uint64_t now_us) {
    int idx = stream_index(pub, sr->ssrc);
    if (idx < 0)
        return;
    struct stream *s = &pub->streams[idx];
    cq_rtp_recv_stats_on_sr(&s->rx, sr->info.ntp, now_us); /* LSR/DLSR of our reports */
    if (s->kind == STREAM_RTX)
        return;
    int k = s->kind == STREAM_AUDIO ? 0 : 1;
    char cname[48];
    int cname_len = publisher_cname(pub, cname, sizeof cname);
    if (cname_len < 0)
        return;
    for (size_t i = 0; i < pub->nconsumers; i++) {
        struct consumer *c = pub->consumers[i];
        struct participant *sub = c->subscriber;
        if (!sub->bound || (k == 1 && c->s.vsel.spatial != s->layer))
            continue;
        uint32_t ssrc = k == 0 ? c->s.ssrcs.audio : c->s.ssrcs.video;
        cq_rtcp_sender_info_t info = sr->info;
        if (k == 1)
            info.rtp_ts += c->s.vsel.ts_delta;
        info.packet_count = c->s.sent_packets[k];
        info.octet_count = c->s.sent_octets[k];
        uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
        cq_rtcp_compound_t cp;
        cq_rtcp_compound_init(&cp, slot, CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM);
        cq_rtcp_compound_commit(&cp,
                                cq_rtcp_sr_write(ssrc, &info, NULL, 0, cq_rtcp_compound_tail(&cp),
                                                 cq_rtcp_compound_room(&cp)));
        /* For video the RTX SSRC gets the CNAME too: a receiver of several publishers
         * learns whose repairs come on it (RFC 4588 §8.3 pairs them by CNAME). */
        uint8_t items[2 + sizeof cname];
        items[0] = CQ_RTCP_SDES_CNAME;
        items[1] = (uint8_t)cname_len;
        memcpy(items + 2, cname, (size_t)cname_len);
        cq_rtcp_sdes_chunk_t chunks[2] = {
            {.ssrc = ssrc, .items = items, .items_len = 2 + (size_t)cname_len},
            {.ssrc = c->s.ssrcs.video_rtx, .items = items, .items_len = 2 + (size_t)cname_len}};
        cq_rtcp_compound_commit(&cp, cq_rtcp_sdes_write(chunks, k == 1 ? 2 : 1,
                                                        cq_rtcp_compound_tail(&cp),
                                                        cq_rtcp_compound_room(&cp)));
        if (queue_rtcp(r, sub, slot, &cp))
            cq_consumer_sr_sent(&c->s, ssrc, info.ntp, now_us);
    }
}

/*
 * Asks publisher pub for a keyframe of a video layer, unless one was asked for less than
 * KEYFRAME_REQUEST_INTERVAL_US ago, or one asked for has not come yet (within
 * keyframe_retry_us): however many receivers ask, and however often, the publisher's weak
 * uplink sees one request per keyframe. Sent as a compound (an empty RR from the relay's
 * SSRC, then the PLI), which every receiver of RTCP accepts.
 */
void cq_router_request_keyframe(struct cq_router *r, struct participant *pub, int layer,
                                uint64_t now_us) {
    struct stream *s = video_stream(pub, layer);
    if (s == NULL || !pub->bound || !r->sendq_ready)
        return;
    /* Asked lately, or asked and not answered yet: the keyframe on its way serves this
     * request too. Over a weak link it comes a round trip to the publisher and the time to
     * pace it out later, and each receiver repeats its own request meanwhile: forwarded,
     * each repeat cost the publisher another keyframe (11 in 15 s on weak-3g-3). */
    bool pending = s->last_keyframe_request_us != 0 &&
                   s->last_keyframe_request_us >= s->last_keyframe_us &&
                   now_us - s->last_keyframe_request_us < keyframe_retry_us(pub);
    if (pending || (s->last_keyframe_request_us != 0 &&
                    now_us - s->last_keyframe_request_us < KEYFRAME_REQUEST_INTERVAL_US)) {
        pub->stats.keyframe_requests_coalesced++;
        return;
    }
    cq_rtcp_compound_t cp;
    uint8_t *slot = begin_feedback(r, pub, &cp);
    cq_rtcp_compound_commit(&cp,
                            cq_rtcp_pli_write(pub->rtcp_ssrc, s->ssrc, cq_rtcp_compound_tail(&cp),
                                              cq_rtcp_compound_room(&cp)));
    if (!queue_rtcp(r, pub, slot, &cp))
        return;
    s->last_keyframe_request_us = now_us;
    pub->stats.keyframe_requests_sent++;
}

/* The consumer through which subscriber sub knows a publisher's video as media_ssrc, or
 * NULL. Feedback is rare next to media, so a scan of the session is fine here. */
static struct consumer *consumer_of_video(const struct participant *sub, uint32_t media_ssrc) {
    for (struct participant *q = sub->session->participants; q != NULL; q = q->next) {
        struct consumer *c = find_consumer(q, sub);
        if (c != NULL && c->s.ssrcs.video == media_ssrc)
            return c;
    }
    return NULL;
}

/*
 * Answers a receiver's NACK for out_seq, a number of the video it was sent, with an RTX
 * packet: the history says which layer and publisher packet that was, the layer's cache
 * still holds it, and the copy is rewritten exactly as it first went out, then wrapped
 * with the receiver's RTX SSRC and its own RTX sequence (RFC 4588 §4).
 */
static void resend(struct cq_router *r, struct consumer *c, uint16_t out_seq, uint64_t now_us) {
    struct participant *sub = c->subscriber;
    cq_consumer_sent_t *e = cq_consumer_sent_find(&c->s, out_seq);
    if (e == NULL) {
        /* A number the relay never sent it: the publisher's packet was lost on its uplink
         * (the relay's own request there repairs it, and the repair goes out under this
         * number), or it is older than the history. Counted apart, so that an operator
         * tells a lossy uplink from repairs the relay could not give. */
        sub->stats.nacks_unanswered++;
        sub->stats.nacks_unsent++;
        return;
    }
    struct stream *s = video_stream(c->publisher, e->layer);
    const uint8_t *pkt;
    size_t len = s ? cq_rtxcache_get(&s->cache, e->in_seq, now_us, &pkt) : 0;
    cq_rtp_view_t v;
    if (len == 0 || cq_rtp_parse(pkt, len, &v) < 0) {
        sub->stats.nacks_unanswered++;
        return;
    }
    /* Wrapped before the budget is asked: a packet that cannot be resent (too large for
     * the OSN, say) is unanswered and takes no tokens from the ones that can. */
    uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
    cq_vp8_desc_t desc;
    cq_vsel_out_t as_sent = {.seq = out_seq,
                             .ts = v.timestamp + e->ts_delta,
                             .picture_id = e->picture_id,
                             .tl0picidx = e->tl0picidx};
    int n = cq_vp8_desc_parse(pkt + v.header_len, v.payload_len, &desc) < 0
                ? -1
                : cq_router_rtx_as_sent(c, pkt, &v, &desc, &as_sent, slot);
    if (n <= 0) {
        sub->stats.nacks_unanswered++;
        return;
    }
    /* Once a round trip; on a long one, each of the two requests a receiver sends
     * (rtp/nack_tracker.h) is answered, and the budget is twice as large: counted in
     * repairs, a receiver that asks twice would otherwise get half, and two packets lost
     * from one frame would spend it all on the first, leaving the second for a round trip
     * later (VSAT's 600 ms, past what its jitter buffer waits). */
    bool twice = rtt_of(sub) >= CQ_NACK_DOUBLE_RTT_US;
    double rate = (double)s->rate_bps * RTX_SHARE;
    if (rate < RTX_FLOOR_BPS)
        rate = RTX_FLOOR_BPS;
    uint64_t interval =
        rtt_of(sub) > RESEND_MIN_INTERVAL_US && !twice ? rtt_of(sub) : RESEND_MIN_INTERVAL_US;
    if (!cq_consumer_may_resend(&c->s, e, len + 2, twice ? 2 * rate : rate, interval, now_us)) {
        sub->stats.nacks_limited++;
        return;
    }
    /* The wrap keeps the original's header: its element sits where it did there. */
    if (cq_router_queue_rtp(r, sub, slot, (size_t)n, cq_router_tseq_offset(pkt, &v), true) == 0)
        return;
    c->s.rtx_seq++;
    sub->stats.rtx_sent++;
}

static void nack_received(struct cq_router *r, struct participant *sub, const cq_rtcp_nack_t *nack,
                          uint64_t now_us) {
    struct consumer *c = consumer_of_video(sub, nack->media_ssrc);
    for (size_t i = 0; i < nack->count; i++) {
        cq_rtcp_nack_pair_t pair = cq_rtcp_nack_pair_at(nack, i);
        for (int bit = -1; bit < 16; bit++) {
            if (bit >= 0 && !(pair.blp & (1u << bit)))
                continue;
            sub->stats.nacks_in++;
            if (c != NULL)
                resend(r, c, (uint16_t)(pair.pid + bit + 1), now_us);
            else
                sub->stats.nacks_unanswered++;
        }
    }
}

/* A receiver asks for a keyframe of the video it gets: from the layer it receives, or
 * the one it waits for. */
static void keyframe_wanted(struct cq_router *r, struct participant *sub, uint32_t media_ssrc,
                            uint64_t now_us) {
    sub->stats.keyframe_requests_in++;
    struct consumer *c = consumer_of_video(sub, media_ssrc);
    if (c == NULL)
        return;
    int layer = c->s.vsel.spatial >= 0 ? c->s.vsel.spatial : cq_vsel_wanted_layer(&c->s.vsel);
    if (c->keyframe_sent_us != 0 &&
        now_us - c->keyframe_sent_us < rtt_of(sub) + KEYFRAME_CROSSED_US &&
        layer == c->s.vsel.spatial) {
        /* Sent before the keyframe the relay just sent it had arrived. */
        c->publisher->stats.keyframe_requests_coalesced++;
        return;
    }
    if (layer >= 0)
        cq_router_request_keyframe(r, c->publisher, layer, now_us);
}

/* A receiver report from p about what the relay sends it: each block that names a sender
 * report the relay sent gives the round trip on p's leg, smoothed as TCP does (1/8). */
static void receiver_report(struct participant *p, const cq_rtcp_reports_t *reports,
                            uint64_t now_us) {
    for (size_t i = 0; i < reports->count; i++) {
        cq_rtcp_report_t rb = cq_rtcp_report_at(reports, i);
        if (rb.lsr == 0)
            continue;
        for (struct participant *q = p->session->participants; q != NULL; q = q->next) {
            const struct consumer *c = find_consumer(q, p);
            uint64_t rtt;
            if (c == NULL || cq_consumer_rtt(&c->s, rb.ssrc, rb.lsr, rb.dlsr, now_us, &rtt) != 0)
                continue;
            if (rtt > 10000000u)
                break; /* an SR from long ago that happens to match: not a round trip */
            uint32_t sample = (uint32_t)rtt;
            p->stats.rtt_us = p->stats.rtt_us ? p->stats.rtt_us - p->stats.rtt_us / 8 + sample / 8
                                              : (sample ? sample : 1);
            cq_cc_set_rtt(&p->down->cc, p->stats.rtt_us);
            p->down->rtt_base_us =
                (uint32_t)cq_minwin_update(&p->down->rtt_least, sample, (int64_t)now_us);
            break;
        }
    }
}

/* RTCP a participant sends, after SRTCP. Walks the whole compound first (RFC 3550 §A.2):
 * a datagram that does not validate is dropped whole. */
void cq_router_handle_rtcp(struct cq_router *r, struct participant *p, const uint8_t *data,
                           size_t len, uint64_t now_us) {
    if (cq_rtcp_validate(data, len) <= 0) {
        p->stats.drops_malformed++;
        return;
    }
    p->stats.rtcp_in++;
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, data, len);
    while (cq_rtcp_iter_next(&it, &h) > 0) {
        cq_rtcp_sr_t sr;
        cq_rtcp_rr_t rr;
        cq_rtcp_fb_t pli;
        cq_rtcp_fir_t fir;
        cq_rtcp_nack_t nack;
        if (h.pt == CQ_RTCP_PT_SR && cq_rtcp_sr_parse(&h, &sr) == 0) {
            relay_sender_report(r, p, &sr, now_us);
            receiver_report(p, &sr.reports, now_us);
        } else if (h.pt == CQ_RTCP_PT_RR && cq_rtcp_rr_parse(&h, &rr) == 0) {
            receiver_report(p, &rr.reports, now_us);
        } else if (cq_rtcp_nack_parse(&h, &nack) == 0) {
            nack_received(r, p, &nack, now_us);
        } else if (h.pt == CQ_RTCP_PT_RTPFB && h.count == CQ_RTCP_FMT_TWCC) {
            cq_router_on_twcc(r, p, &h, now_us);
        } else if (cq_rtcp_pli_parse(&h, &pli) == 0) {
            keyframe_wanted(r, p, pli.media_ssrc, now_us);
        } else if (cq_rtcp_fir_parse(&h, &fir) == 0) {
            /* RFC 5104 §4.3.1: the SSRCs asked for are in the entries. */
            for (size_t i = 0; i < fir.count; i++)
                keyframe_wanted(r, p, cq_rtcp_fir_entry_at(&fir, i).ssrc, now_us);
        }
    }
}

/* One RR to publisher p about every stream the relay receives from it. */
void cq_router_send_receiver_report(struct cq_router *r, struct participant *p, uint64_t now_us) {
    cq_rtcp_report_t blocks[MAX_STREAMS];
    size_t n = 0;
    for (unsigned i = 0; i < p->nstreams; i++)
        if (p->streams[i].rx.started)
            cq_rtp_recv_stats_report(&p->streams[i].rx, p->streams[i].ssrc, now_us, &blocks[n++]);
    if (n == 0)
        return;
    uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
    int len = cq_rtcp_rr_write(p->rtcp_ssrc, blocks, n, slot,
                               CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM);
    if (len <= 0)
        return;
    size_t out_len = (size_t)len;
    if (cq_srtp_protect_rtcp(&p->srtp_out, slot, &out_len, CQ_UDP_SLOT_SIZE) == 0)
        cq_udp_sendq_commit(&r->sendq, out_len, &p->addr);
}

/* NACKs to publisher p for the gaps in each of its video streams that are due now. */
void cq_router_send_upstream_nacks(struct cq_router *r, struct participant *p, uint64_t now_us) {
    for (unsigned i = 0; i < p->nstreams; i++) {
        struct stream *s = &p->streams[i];
        if (s->nack == NULL || !cq_nack_tracker_pending(s->nack))
            continue;
        uint16_t seqs[UPSTREAM_NACK_MAX];
        size_t n = cq_nack_tracker_poll(s->nack, now_us, rtt_of(p), seqs, UPSTREAM_NACK_MAX);
        cq_rtcp_nack_pair_t pairs[UPSTREAM_NACK_MAX];
        int np = n ? cq_rtcp_nack_compact(seqs, n, pairs, UPSTREAM_NACK_MAX) : 0;
        if (np <= 0)
            continue;
        cq_rtcp_compound_t cp;
        uint8_t *slot = begin_feedback(r, p, &cp);
        cq_rtcp_compound_commit(&cp, cq_rtcp_nack_write(p->rtcp_ssrc, s->ssrc, pairs, (size_t)np,
                                                        cq_rtcp_compound_tail(&cp),
                                                        cq_rtcp_compound_room(&cp)));
        if (queue_rtcp(r, p, slot, &cp))
            p->stats.nacks_sent += n;
    }
}

/*
 * Tells every subscriber of p that p's streams end (RFC 3550 §6.6): an empty RR from the
 * SSRC the subscriber knows p's audio by, then a BYE for all of p's SSRCs as that
 * subscriber sees them, so its jitter buffers and decoders let go at once rather than
 * after a time-out. Sent only where the socket is known (after the first datagram).
 */
void cq_router_send_bye(struct cq_router *r, const struct participant *p) {
    if (!r->sendq_ready)
        return;
    static const char reason[] = "left";
    for (size_t i = 0; i < p->nconsumers; i++) {
        const struct consumer *c = p->consumers[i];
        struct participant *sub = c->subscriber;
        if (!sub->bound)
            continue;
        uint32_t ssrcs[3] = {c->s.ssrcs.audio, c->s.ssrcs.video, c->s.ssrcs.video_rtx};
        uint8_t *slot = cq_udp_sendq_slot(&r->sendq);
        cq_rtcp_compound_t cp;
        cq_rtcp_compound_init(&cp, slot, CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM);
        cq_rtcp_compound_commit(&cp, cq_rtcp_rr_write(c->s.ssrcs.audio, NULL, 0,
                                                      cq_rtcp_compound_tail(&cp),
                                                      cq_rtcp_compound_room(&cp)));
        cq_rtcp_compound_commit(&cp, cq_rtcp_bye_write(ssrcs, 3, reason, sizeof reason - 1,
                                                       cq_rtcp_compound_tail(&cp),
                                                       cq_rtcp_compound_room(&cp)));
        queue_rtcp(r, sub, slot, &cp);
    }
    cq_udp_sendq_flush(&r->sendq);
}
