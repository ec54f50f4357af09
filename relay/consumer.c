#include "relay/consumer.h"

#include "rtp/error.h"
#include "rtp/rtcp.h"

_Static_assert((CQ_CONSUMER_HISTORY & (CQ_CONSUMER_HISTORY - 1)) == 0,
               "the history is indexed by the low bits of the sequence number");

void cq_consumer_init(cq_consumer_t *c, const cq_relay_consumer_ssrcs_t *ssrcs, uint16_t rtx_seq) {
    *c = (cq_consumer_t){.ssrcs = *ssrcs, .rtx_seq = rtx_seq};
    c->prefs = (cq_relay_layer_prefs_t){.max_spatial = CQ_RELAY_MAX_LAYERS - 1,
                                        .max_temporal = CQ_VSEL_MAX_TEMPORAL};
    cq_vsel_init(&c->vsel);
}

void cq_consumer_sent_record(cq_consumer_t *c, uint8_t layer, uint16_t in_seq,
                             const cq_vsel_out_t *out, uint32_t ts_delta) {
    cq_consumer_sent_t *e = &c->sent[out->seq & (CQ_CONSUMER_HISTORY - 1)];
    /* The same number sent again (a repair from the publisher) keeps its resend stamp. */
    uint64_t resent = e->used && e->out_seq == out->seq ? e->resent_us : 0;
    *e = (cq_consumer_sent_t){
        .used = true,
        .layer = layer,
        .out_seq = out->seq,
        .in_seq = in_seq,
        .picture_id = out->picture_id,
        .tl0picidx = out->tl0picidx,
        .ts_delta = ts_delta,
        .resent_us = resent,
    };
}

cq_consumer_sent_t *cq_consumer_sent_find(cq_consumer_t *c, uint16_t out_seq) {
    cq_consumer_sent_t *e = &c->sent[out_seq & (CQ_CONSUMER_HISTORY - 1)];
    return e->used && e->out_seq == out_seq ? e : NULL;
}

bool cq_consumer_may_resend(cq_consumer_t *c, cq_consumer_sent_t *e, size_t bytes, double rate_bps,
                            uint64_t min_interval_us, uint64_t now_us) {
    if (e->resent_us != 0 && now_us - e->resent_us < min_interval_us)
        return false;
    double cap = rate_bps / 8 / 4;
    if (c->rtx_refill_us == 0)
        c->rtx_tokens = cap;
    else
        c->rtx_tokens += rate_bps / 8 * (double)(now_us - c->rtx_refill_us) / 1e6;
    if (c->rtx_tokens > cap)
        c->rtx_tokens = cap;
    c->rtx_refill_us = now_us;
    if (c->rtx_tokens < (double)bytes)
        return false;
    c->rtx_tokens -= (double)bytes;
    e->resent_us = now_us;
    return true;
}

void cq_consumer_sr_sent(cq_consumer_t *c, uint32_t ssrc, uint64_t ntp, uint64_t now_us) {
    unsigned i = c->next_sr++ % CQ_CONSUMER_SR_MEMORY;
    c->srs[i].ssrc = ssrc;
    c->srs[i].lsr = cq_rtcp_ntp_short(ntp);
    c->srs[i].sent_us = now_us;
}

int cq_consumer_rtt(const cq_consumer_t *c, uint32_t ssrc, uint32_t lsr, uint32_t dlsr,
                    uint64_t now_us, uint64_t *rtt_us) {
    if (lsr == 0)
        return CQ_ENOENT;
    for (unsigned i = 0; i < CQ_CONSUMER_SR_MEMORY; i++) {
        if (c->srs[i].sent_us == 0 || c->srs[i].ssrc != ssrc || c->srs[i].lsr != lsr)
            continue;
        /* The SR carried the publisher's NTP time, not ours: the RTT is measured from when
         * the relay sent it, less the time the subscriber held it. */
        uint64_t held_us = (uint64_t)dlsr * 1000000u / 65536u;
        uint64_t since = now_us - c->srs[i].sent_us;
        *rtt_us = since > held_us ? since - held_us : 0;
        return 0;
    }
    return CQ_ENOENT;
}
