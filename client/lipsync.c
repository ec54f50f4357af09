#include "client/lipsync.h"

#include <string.h>

#include "rtp/rtcp.h"

/* Smoothing of the delays: a frame at a time moves them by a tenth, so one late frame
 * does not jerk the picture. */
#define ALPHA 0.1

void cq_lipsync_init(cq_lipsync_t *l) {
    memset(l, 0, sizeof *l);
    l->clock[CQ_LIPSYNC_AUDIO] = 48000;
    l->clock[CQ_LIPSYNC_VIDEO] = 90000;
}

void cq_lipsync_sr(cq_lipsync_t *l, cq_lipsync_kind_t kind, uint64_t ntp, uint32_t rtp_ts) {
    l->sr_ntp_us[kind] = cq_rtcp_ntp_to_us(ntp);
    l->sr_rtp[kind] = rtp_ts;
    l->have_sr[kind] = true;
}

void cq_lipsync_played(cq_lipsync_t *l, cq_lipsync_kind_t kind, uint32_t rtp_ts, int64_t now_us) {
    if (!l->have_sr[kind])
        return;
    /* Signed distance from the SR's RTP time, across the 32-bit wrap. */
    int64_t ticks = (int32_t)(rtp_ts - l->sr_rtp[kind]);
    double captured_us = (double)l->sr_ntp_us[kind] + (double)ticks * 1e6 / l->clock[kind];
    double delay = (double)now_us - captured_us;
    if (!l->have_delay[kind])
        l->delay_us[kind] = delay;
    else
        l->delay_us[kind] += ALPHA * (delay - l->delay_us[kind]);
    l->have_delay[kind] = true;
}

void cq_lipsync_hold(const cq_lipsync_t *l, int64_t *audio_us, int64_t *video_us) {
    *audio_us = *video_us = 0;
    if (!l->have_delay[0] || !l->have_delay[1])
        return;
    double diff = l->delay_us[CQ_LIPSYNC_AUDIO] - l->delay_us[CQ_LIPSYNC_VIDEO];
    if (diff > 0) {
        *video_us = (int64_t)diff; /* audio is later: hold the picture */
    } else {
        int64_t hold = (int64_t)-diff - CQ_LIPSYNC_AUDIO_LEAD_US;
        if (hold < 0)
            hold = 0;
        *audio_us = hold > CQ_LIPSYNC_MAX_AUDIO_HOLD_US ? CQ_LIPSYNC_MAX_AUDIO_HOLD_US : hold;
    }
}
