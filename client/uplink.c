#include "client/uplink.h"

#include <string.h>

#include "rtp/cqlu.h"
#include "rtp/rtcp.h"

int cq_uplink_init(cq_uplink_t *u, const cq_cc_config_t *cfg) {
    memset(u, 0, sizeof *u);
    return cq_cc_init(&u->cc, cfg);
}

void cq_uplink_sent(cq_uplink_t *u, uint16_t tseq, size_t bytes, int64_t now_us, int probe) {
    cq_cc_on_sent(&u->cc, tseq, bytes, now_us, probe);
}

void cq_uplink_rtcp(cq_uplink_t *u, const uint8_t *pkt, size_t len, int64_t now_us) {
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, pkt, len);
    while (cq_rtcp_iter_next(&it, &h) > 0) {
        if (h.pt == CQ_RTCP_PT_RTPFB && h.count == CQ_RTCP_FMT_TWCC) {
            cq_twcc_fb_t fb;
            int n = cq_twcc_parse(&h, &fb, u->pkts, CQ_UPLINK_TWCC_MAX);
            if (n <= 0) {
                u->feedback_skipped++;
                continue;
            }
            cq_cc_on_feedback(&u->cc, u->pkts, (size_t)n, now_us);
            u->feedbacks++;
        } else if (h.pt == CQ_RTCP_PT_APP) {
            cq_cqlu_t m;
            if (cq_cqlu_parse(&h, &m) != 0)
                continue;
            u->layers_used = m.layers;
            u->low_kbps = m.low_kbps;
            u->sound_kbps = m.sound_kbps;
            u->sound_us = now_us;
            u->layers_known = true;
            u->cqlu_in++;
        }
    }
}

unsigned cq_uplink_sound_kbps(const cq_uplink_t *u, int64_t now_us) {
    if (u->sound_kbps == 0 || now_us - u->sound_us > CQ_UPLINK_SOUND_LAPSE_US)
        return 0;
    return u->sound_kbps;
}
