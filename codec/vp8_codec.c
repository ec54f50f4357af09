#include "codec/vp8_codec.h"

#include <stdlib.h>
#include <string.h>

#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include "rtp/error.h"

#define CLOCK 90000 /* RTP's video clock, used as the encoder's time base */

struct cq_vp8_enc {
    vpx_codec_ctx_t ctx;
    vpx_codec_enc_cfg_t cfg;
    vpx_image_t wrap;
    unsigned layers;
    unsigned frame_in_cycle; /* position in the 0-2-1-2 pattern */
    bool force_key;
    bool any;
    uint16_t picture_id;
    uint8_t tl0picidx;
    uint32_t last_pts;
    /* The clock libvpx is given: the caller's, but a gap of over a second in it counts as
     * one more frame as long as the one before. libvpx takes a gap for time its buffer
     * filled in: fed the capture clock across a layer's 20 s pause, it spent 1.35 times
     * the layer's rate on the interframes of the second after it (test_vp8_codec.c). */
    vpx_codec_pts_t enc_pts;
    unsigned long duration; /* of the last frame given */
    uint8_t *buf;
    size_t cap;
    uint32_t out_pts; /* of the last frame that came out, if any_out */
    bool any_out;
};

#define DROP_THRESHOLD 30 /* rc_dropframe_thresh while skipping is allowed */

/* Lets rate control skip frames (DROP_THRESHOLD) or not (0). */
static int set_skipping(struct cq_vp8_enc *e, bool allowed) {
    unsigned want = allowed ? DROP_THRESHOLD : 0;
    if (e->cfg.rc_dropframe_thresh == want)
        return 0;
    e->cfg.rc_dropframe_thresh = want;
    return vpx_codec_enc_config_set(&e->ctx, &e->cfg) == VPX_CODEC_OK ? 0 : CQ_EIO;
}

struct cq_vp8_dec {
    vpx_codec_ctx_t ctx;
    bool need_key;
};

/* The 0-2-1-2 pattern (as libwebrtc's three-layer VP8): TL0 frames reference and update
 * only LAST, so a receiver of TL0 alone decodes; the TL1 frame references LAST and updates
 * GOLDEN; TL2 frames update nothing. The first TL2 and the TL1 after a TL0 reference only
 * LAST: they are layer-sync frames a receiver can climb at.
 *
 * No frame carries VP8_EFLAG_NO_UPD_ENTROPY. The encoder runs with error-resilient
 * partitions, under which libvpx already codes every interframe with refresh_entropy_probs
 * 0 (its probability updates last for that frame only), so a receiver missing TL1 and TL2
 * frames keeps the same probabilities as the sender. The flag adds nothing to that, and
 * it breaks the stream when rate control skips the frame it was given: libvpx then
 * restores its probabilities from a copy it did not make for that frame
 * (vp8_get_compressed_data), the copy the last interframe before the last keyframe left.
 * The frames after are coded against probabilities the decoder never had: at 160x90 and
 * 20-25 kbit/s, where a keyframe makes rate control skip the frames after it, the decoder
 * called the next frame corrupt and showed later ones as garbage (10 dB), with no packet
 * lost (libvpx 1.12; tests/codec/test_vp8_codec.c). */
static const uint8_t pattern_tid[4] = {0, 2, 1, 2};
static const bool pattern_sync[4] = {false, true, true, false};

static vpx_enc_frame_flags_t pattern_flags(unsigned k) {
    switch (k) {
    case 0:
        return VP8_EFLAG_NO_REF_GF | VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_GF |
               VP8_EFLAG_NO_UPD_ARF;
    case 1:
        return VP8_EFLAG_NO_REF_GF | VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_LAST |
               VP8_EFLAG_NO_UPD_GF | VP8_EFLAG_NO_UPD_ARF;
    case 2:
        return VP8_EFLAG_NO_REF_GF | VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_LAST |
               VP8_EFLAG_NO_UPD_ARF;
    default:
        return VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_LAST | VP8_EFLAG_NO_UPD_GF |
               VP8_EFLAG_NO_UPD_ARF;
    }
}

/* Splits the bitrate across temporal layers, cumulative as libvpx wants it: TL0 gets
 * 40 % (CQ_VP8_TL0_SHARE_PCT), TL0+TL1 60 %, all 100 % (the share libwebrtc gives three
 * layers). */
static void set_layer_rates(vpx_codec_enc_cfg_t *cfg, unsigned kbps, unsigned layers) {
    cfg->rc_target_bitrate = kbps;
    if (layers == 3) {
        cfg->ts_target_bitrate[0] = kbps * CQ_VP8_TL0_SHARE_PCT / 100;
        cfg->ts_target_bitrate[1] = kbps * 6 / 10;
        cfg->ts_target_bitrate[2] = kbps;
    }
}

int cq_vp8_enc_create(struct cq_vp8_enc **out, const cq_vp8_enc_config_t *c) {
    if (c->width < 16 || c->width > 1920 || c->height < 16 || c->height > 1088 || (c->width & 1) ||
        (c->height & 1) || c->bitrate_kbps < 20 || c->bitrate_kbps > 4000 || c->fps < 1 ||
        c->fps > 60 || (c->temporal_layers != 1 && c->temporal_layers != 3))
        return CQ_EINVAL;
    struct cq_vp8_enc *e = calloc(1, sizeof *e);
    if (e == NULL)
        return CQ_ENOMEM;
    vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
    vpx_codec_enc_cfg_t *cfg = &e->cfg;
    cfg->g_w = c->width;
    cfg->g_h = c->height;
    cfg->g_timebase.num = 1;
    cfg->g_timebase.den = CLOCK;
    cfg->g_threads = 1; /* one encoder per simulcast layer already uses the cores */
    cfg->g_lag_in_frames = 0;
    /* PARTITIONS also keeps every interframe's probability updates to itself (see
     * pattern_flags): the temporal layers rely on it. */
    cfg->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT | VPX_ERROR_RESILIENT_PARTITIONS;
    cfg->rc_end_usage = VPX_CBR;
    cfg->rc_dropframe_thresh = DROP_THRESHOLD; /* skip a frame rather than overshoot a thin
                                                  link (within CQ_VP8_MAX_GAP_TICKS) */
    cfg->rc_min_quantizer = 2;
    cfg->rc_max_quantizer = 63; /* coarse pictures that move over sharp ones that stop */
    cfg->rc_undershoot_pct = 100;
    cfg->rc_overshoot_pct = 15;
    cfg->rc_buf_initial_sz = 500;
    cfg->rc_buf_optimal_sz = 600;
    cfg->rc_buf_sz = 1000;
    cfg->kf_mode = VPX_KF_AUTO;
    cfg->kf_max_dist = 3000; /* keyframes come when a receiver asks, not on a timer */
    e->layers = c->temporal_layers;
    if (e->layers == 3) {
        cfg->ts_number_layers = 3;
        cfg->ts_periodicity = 4;
        cfg->ts_rate_decimator[0] = 4;
        cfg->ts_rate_decimator[1] = 2;
        cfg->ts_rate_decimator[2] = 1;
        for (unsigned i = 0; i < 4; i++)
            cfg->ts_layer_id[i] = pattern_tid[i];
    }
    set_layer_rates(cfg, c->bitrate_kbps, e->layers);
    if (vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), cfg, 0) != VPX_CODEC_OK) {
        free(e);
        return CQ_EIO;
    }
    vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, c->cpu_used ? c->cpu_used : 8);
    vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
    vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
    vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
    vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);
    e->force_key = true;
    e->picture_id = (uint16_t)(rand() & 0x7fff); /* any start; the receiver follows */
    *out = e;
    return 0;
}

void cq_vp8_enc_destroy(struct cq_vp8_enc *e) {
    if (e == NULL)
        return;
    vpx_codec_destroy(&e->ctx);
    free(e->buf);
    free(e);
}

int cq_vp8_enc_set_rate(struct cq_vp8_enc *e, unsigned bitrate_kbps, unsigned fps) {
    if (bitrate_kbps < 20 || bitrate_kbps > 4000 || fps < 1 || fps > 60)
        return CQ_EINVAL;
    set_layer_rates(&e->cfg, bitrate_kbps, e->layers);
    return vpx_codec_enc_config_set(&e->ctx, &e->cfg) == VPX_CODEC_OK ? 0 : CQ_EIO;
}

void cq_vp8_enc_request_keyframe(struct cq_vp8_enc *e) {
    e->force_key = true;
}

int cq_vp8_enc_encode(struct cq_vp8_enc *e, const cq_i420_t *img, uint32_t pts,
                      cq_vp8_frame_t *out) {
    if (img->width != e->cfg.g_w || img->height != e->cfg.g_h)
        return CQ_EINVAL;
    /* Wrap the caller's planes without copying. */
    vpx_img_wrap(&e->wrap, VPX_IMG_FMT_I420, img->width, img->height, 1,
                 (unsigned char *)(uintptr_t)img->plane[0]);
    for (int p = 0; p < 3; p++) {
        e->wrap.planes[p] = (unsigned char *)(uintptr_t)img->plane[p];
        e->wrap.stride[p] = img->stride[p];
    }
    bool key = e->force_key;
    if (key)
        e->frame_in_cycle = 0; /* the pattern restarts at a keyframe */
    unsigned k = e->frame_in_cycle % 4;
    vpx_enc_frame_flags_t flags = key ? VPX_EFLAG_FORCE_KF : 0;
    if (e->layers == 3) {
        flags |= key ? 0 : pattern_flags(k);
        vpx_codec_control(&e->ctx, VP8E_SET_TEMPORAL_LAYER_ID, pattern_tid[k]);
    }
    bool overdue = e->any_out && (uint32_t)(pts - e->out_pts) >= CQ_VP8_MAX_GAP_TICKS;
    if (set_skipping(e, !overdue) != 0)
        return CQ_EIO;
    unsigned long duration = e->any ? (unsigned long)(uint32_t)(pts - e->last_pts) : 3000;
    if (duration == 0 || duration > CLOCK)
        duration = e->duration ? e->duration : 3000;
    e->duration = duration;
    if (e->any)
        e->enc_pts += (vpx_codec_pts_t)duration;
    if (vpx_codec_encode(&e->ctx, &e->wrap, e->enc_pts, duration, flags, VPX_DL_REALTIME) !=
        VPX_CODEC_OK)
        return CQ_EIO;
    e->last_pts = pts;
    e->any = true;
    const vpx_codec_cx_pkt_t *pkt;
    vpx_codec_iter_t iter = NULL;
    size_t len = 0;
    bool is_key = false;
    /* One frame in, at most one frame out (no lag); partitions come as one packet here. */
    while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT)
            continue;
        if (len + pkt->data.frame.sz > e->cap) {
            size_t cap = (len + pkt->data.frame.sz) * 2;
            uint8_t *grown = realloc(e->buf, cap);
            if (grown == NULL)
                return CQ_ENOMEM;
            e->buf = grown;
            e->cap = cap;
        }
        memcpy(e->buf + len, pkt->data.frame.buf, pkt->data.frame.sz);
        len += pkt->data.frame.sz;
        is_key |= (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
    }
    if (len == 0)
        return CQ_EAGAIN; /* dropped by rate control: the pattern does not advance */
    e->out_pts = pts;
    e->any_out = true;
    e->force_key = false;
    uint8_t tid = e->layers == 3 ? pattern_tid[k] : 0;
    if (is_key)
        tid = 0;
    if (tid == 0)
        e->tl0picidx++;
    *out = (cq_vp8_frame_t){.data = e->buf,
                            .len = len,
                            .keyframe = is_key,
                            .tid = tid,
                            .layer_sync = e->layers == 3 && !is_key && pattern_sync[k],
                            .picture_id = e->picture_id,
                            .tl0picidx = e->tl0picidx};
    e->picture_id = (uint16_t)((e->picture_id + 1) & 0x7fff);
    e->frame_in_cycle = is_key ? 1 : e->frame_in_cycle + 1;
    return 0;
}

int cq_vp8_dec_create(struct cq_vp8_dec **out) {
    struct cq_vp8_dec *d = calloc(1, sizeof *d);
    if (d == NULL)
        return CQ_ENOMEM;
    vpx_codec_dec_cfg_t cfg = {.threads = 1};
    if (vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0) != VPX_CODEC_OK) {
        free(d);
        return CQ_EIO;
    }
    d->need_key = true;
    *out = d;
    return 0;
}

void cq_vp8_dec_destroy(struct cq_vp8_dec *d) {
    if (d == NULL)
        return;
    vpx_codec_destroy(&d->ctx);
    free(d);
}

bool cq_vp8_dec_needs_keyframe(const struct cq_vp8_dec *d) {
    return d->need_key;
}

void cq_vp8_dec_frame_lost(struct cq_vp8_dec *d) {
    d->need_key = true;
}

int cq_vp8_dec_decode(struct cq_vp8_dec *d, const uint8_t *data, size_t len, cq_i420_t *img) {
    /* RFC 6386 §9.1: bit 0 of the first byte clear means a keyframe. */
    bool key = len >= 10 && (data[0] & 1) == 0;
    if (d->need_key && !key)
        return CQ_EBADSTATE;
    if (len == 0 || len > UINT32_MAX ||
        vpx_codec_decode(&d->ctx, data, (unsigned)len, NULL, 0) != VPX_CODEC_OK) {
        d->need_key = true;
        return CQ_EMALFORMED;
    }
    int corrupt = 0;
    vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupt);
    vpx_codec_iter_t iter = NULL;
    vpx_image_t *frame = vpx_codec_get_frame(&d->ctx, &iter);
    if (corrupt || frame == NULL) {
        d->need_key = true;
        return CQ_EMALFORMED;
    }
    d->need_key = false;
    img->width = frame->d_w;
    img->height = frame->d_h;
    for (int p = 0; p < 3; p++) {
        img->plane[p] = frame->planes[p];
        img->stride[p] = frame->stride[p];
    }
    return 0;
}
