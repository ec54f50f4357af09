#include "client/feedback.h"

#include <string.h>

#include "rtp/error.h"
#include "rtp/rtcp.h"

#define REPORT_US      1000000u
#define PLI_MIN_US     300000u
#define NACKS_PER_CALL 64

void cq_feedback_init(cq_feedback_t *f, uint32_t own_ssrc) {
    memset(f, 0, sizeof *f);
    f->own_ssrc = own_ssrc;
    /* Transport-wide feedback is about every stream at once: no media SSRC is meaningful
     * (libwebrtc puts one of the streams there and nobody reads it). */
    cq_arrivals_init(&f->twcc, own_ssrc, 0);
}

void cq_feedback_transport_seq(cq_feedback_t *f, uint16_t tseq, uint64_t now_us) {
    cq_arrivals_record(&f->twcc, tseq, (int64_t)now_us);
}

/* Appends the transport-wide feedback that is due, each message committed on its own (the
 * compound checks one packet per commit). Returns whether any went in. */
static bool add_twcc(cq_feedback_t *f, cq_rtcp_compound_t *cp, uint64_t now_us) {
    if (!cq_arrivals_due(&f->twcc, (int64_t)now_us) || cp->len >= CQ_FEEDBACK_MTU)
        return false;
    size_t room = cq_rtcp_compound_room(cp);
    if (room > CQ_FEEDBACK_MTU - cp->len)
        room = CQ_FEEDBACK_MTU - cp->len;
    uint8_t *at = cq_rtcp_compound_tail(cp);
    int n = cq_arrivals_write(&f->twcc, (int64_t)now_us, at, room);
    if (n <= 0)
        return false;
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, at, (size_t)n);
    int size;
    while ((size = cq_rtcp_iter_next(&it, &h)) > 0)
        cq_rtcp_compound_commit(cp, size);
    return true;
}

static cq_feedback_stream_t *find(cq_feedback_t *f, uint32_t ssrc) {
    for (unsigned i = 0; i < CQ_FEEDBACK_STREAMS; i++)
        if (f->s[i].used && f->s[i].ssrc == ssrc)
            return &f->s[i];
    return NULL;
}

int cq_feedback_packet(cq_feedback_t *f, uint32_t ssrc, bool video, uint16_t seq, bool frame_end,
                       uint32_t ts, size_t bytes, bool repair, uint64_t now_us) {
    cq_feedback_stream_t *s = find(f, ssrc);
    if (s == NULL) {
        for (unsigned i = 0; i < CQ_FEEDBACK_STREAMS && s == NULL; i++)
            if (!f->s[i].used)
                s = &f->s[i];
        if (s == NULL)
            return CQ_ENOBUFS;
        memset(s, 0, sizeof *s);
        s->used = true;
        s->ssrc = ssrc;
        s->video = video;
        cq_rtp_recv_stats_init(&s->rx, video ? 90000u : 48000u);
        cq_nack_tracker_init(&s->nack);
    }
    cq_rtp_recv_stats_update(&s->rx, seq, ts, now_us, bytes, repair);
    if (s->video)
        cq_nack_tracker_on_frame_packet(&s->nack, seq, frame_end, now_us);
    return 0;
}

void cq_feedback_sr(cq_feedback_t *f, uint32_t ssrc, uint64_t ntp, uint64_t now_us) {
    cq_feedback_stream_t *s = find(f, ssrc);
    if (s != NULL)
        cq_rtp_recv_stats_on_sr(&s->rx, ntp, now_us);
}

const cq_nack_tracker_t *cq_feedback_nacks(const cq_feedback_t *f, uint32_t ssrc) {
    for (unsigned i = 0; i < CQ_FEEDBACK_STREAMS; i++)
        if (f->s[i].used && f->s[i].video && f->s[i].ssrc == ssrc)
            return &f->s[i].nack;
    return NULL;
}

void cq_feedback_want_keyframe(cq_feedback_t *f, uint32_t ssrc, bool want) {
    cq_feedback_stream_t *s = find(f, ssrc);
    if (s != NULL)
        s->want_keyframe = want;
}

int cq_feedback_build(cq_feedback_t *f, uint64_t now_us, uint8_t *buf, size_t cap) {
    cq_rtcp_compound_t cp;
    cq_rtcp_compound_init(&cp, buf, cap);
    /* Every compound opens with a report (RFC 3550 §6.1): with blocks when one is due,
     * empty when only feedback is. */
    bool report = now_us >= f->next_report_us;
    cq_rtcp_report_t blocks[31];
    size_t nblocks = 0;
    if (report) {
        for (unsigned i = 0; i < CQ_FEEDBACK_STREAMS && nblocks < 31; i++)
            if (f->s[i].used && f->s[i].rx.started)
                cq_rtp_recv_stats_report(&f->s[i].rx, f->s[i].ssrc, now_us, &blocks[nblocks++]);
    }
    int n = cq_rtcp_rr_write(f->own_ssrc, blocks, nblocks, cq_rtcp_compound_tail(&cp),
                             cq_rtcp_compound_room(&cp));
    cq_rtcp_compound_commit(&cp, n);
    bool feedback = false;
    uint64_t pli_gap = f->rtt_us * 3 / 2 > PLI_MIN_US ? f->rtt_us * 3 / 2 : PLI_MIN_US;
    for (unsigned i = 0; i < CQ_FEEDBACK_STREAMS; i++) {
        cq_feedback_stream_t *s = &f->s[i];
        if (!s->used || !s->video)
            continue;
        uint16_t seqs[NACKS_PER_CALL];
        size_t ns = cq_nack_tracker_pending(&s->nack)
                        ? cq_nack_tracker_poll(&s->nack, now_us, f->rtt_us, seqs, NACKS_PER_CALL)
                        : 0;
        cq_rtcp_nack_pair_t pairs[NACKS_PER_CALL];
        int np = ns ? cq_rtcp_nack_compact(seqs, ns, pairs, NACKS_PER_CALL) : 0;
        if (np > 0 && !f->nack_off) {
            n = cq_rtcp_nack_write(f->own_ssrc, s->ssrc, pairs, (size_t)np,
                                   cq_rtcp_compound_tail(&cp), cq_rtcp_compound_room(&cp));
            cq_rtcp_compound_commit(&cp, n);
            f->nacks_sent += ns;
            feedback = true;
        }
        if ((s->want_keyframe || s->nack.keyframe_needed) &&
            (s->last_pli_us == 0 || now_us - s->last_pli_us >= pli_gap)) {
            n = cq_rtcp_pli_write(f->own_ssrc, s->ssrc, cq_rtcp_compound_tail(&cp),
                                  cq_rtcp_compound_room(&cp));
            cq_rtcp_compound_commit(&cp, n);
            s->last_pli_us = now_us;
            s->nack.keyframe_needed = false;
            f->plis_sent++;
            feedback = true;
        }
    }
    if (add_twcc(f, &cp, now_us))
        feedback = true;
    if (!report && !feedback)
        return 0;
    if (report)
        f->next_report_us = now_us + REPORT_US;
    int len = cq_rtcp_compound_finish(&cp);
    return len > 0 ? len : CQ_ENOBUFS;
}
