#include "client/ratealloc.h"

#include "codec/vp8_codec.h"

#include <math.h>
#include <string.h>

/* What one audio packet costs beyond its Opus data: RTP header 12, the extension block
 * (audio level and transport-wide number) 12, the SRTP tag 16 (GCM; 10 with AES-CM); and
 * per RED block its 4-byte header. */
#define AUDIO_HEADER_BYTES 40
#define RED_BLOCK_BYTES    4

/* Frame-rate steps of the top layer on: full, 2/3, 1/2. */
#define STEPS 3
/* up_since_us when no better choice fits: a time of its own, since a step up among other
 * layers counts as held from a hold before now, which may be before the clock's zero. */
#define UP_NONE INT64_MIN
static const unsigned step_pct[STEPS] = {100, 67, 50};

/* Layer weights lowest first, by layers configured: 1:3:9, 1:3, 1. */
static unsigned weight(unsigned layers, unsigned i) {
    static const unsigned w[3] = {1, 3, 9};
    return i < layers ? w[i] : 0;
}

unsigned cq_ratealloc_layer_max_kbps(const cq_ratealloc_config_t *cfg, unsigned layer) {
    unsigned sum = 0;
    for (unsigned i = 0; i < cfg->layers; i++)
        sum += weight(cfg->layers, i);
    if (sum == 0 || layer >= cfg->layers)
        return 0;
    unsigned k = cfg->max_video_kbps * weight(cfg->layers, layer) / sum;
    return k < CQ_RATEALLOC_FLOOR_KBPS ? CQ_RATEALLOC_FLOOR_KBPS : k;
}

unsigned cq_ratealloc_layer_min_kbps(const cq_ratealloc_config_t *cfg, unsigned layer) {
    unsigned k = (unsigned)(cq_ratealloc_layer_max_kbps(cfg, layer) * CQ_RATEALLOC_MIN_SHARE);
    return k < CQ_RATEALLOC_FLOOR_KBPS ? CQ_RATEALLOC_FLOOR_KBPS : k;
}

/* The same, within the relay's ceiling on layer 0 of this update. */
/* What the video costs the uplink per bit the encoders make: with TL0's copies, more. */
static double video_factor(bool protect) {
    return protect ? 1.0 + CQ_VP8_TL0_SHARE_PCT / 100.0 : 1.0;
}

/* The most a layer gets: its share of the configured maximum, less what its TL0's copies
 * cost when they go (copied), then within the relay's ceiling on layer 0, which is about
 * what receivers get and the copies never reach them. */
static unsigned layer_max(const cq_ratealloc_t *a, unsigned layer, bool copied) {
    unsigned k = cq_ratealloc_layer_max_kbps(&a->cfg, layer);
    if (copied)
        k = (unsigned)(k / video_factor(true));
    if (layer == 0 && a->low_kbps != 0 && a->low_kbps < k)
        k = a->low_kbps < CQ_RATEALLOC_FLOOR_KBPS ? CQ_RATEALLOC_FLOOR_KBPS : a->low_kbps;
    return k;
}

static unsigned layer_min(const cq_ratealloc_t *a, unsigned layer) {
    unsigned min = cq_ratealloc_layer_min_kbps(&a->cfg, layer), max = layer_max(a, layer, false);
    return min < max ? min : max;
}

void cq_ratealloc_init(cq_ratealloc_t *a, const cq_ratealloc_config_t *cfg) {
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    if (a->cfg.layers > CQ_RATEALLOC_MAX_LAYERS)
        a->cfg.layers = CQ_RATEALLOC_MAX_LAYERS;
    if (a->cfg.audio_frame_ms != 40 && a->cfg.audio_frame_ms != 60)
        a->cfg.audio_frame_ms = 20;
    a->frame_ms = a->cfg.audio_frame_ms;
    a->up_since_us = UP_NONE;
    a->frame_since_us = -1;
    cq_minwin_init(&a->rtt_least, CQ_RATEALLOC_PROTECT_RTT_SECONDS);
}

/* ---- audio ------------------------------------------------------------------------------ */

/* The frame for an estimate of bps, never shorter than least_ms. */
static unsigned frame_for(const cq_ratealloc_t *a, double bps, unsigned least_ms) {
    unsigned ms = bps < CQ_RATEALLOC_AUDIO_60MS_BPS   ? 60
                  : bps < CQ_RATEALLOC_AUDIO_40MS_BPS ? 40
                                                      : 20;
    ms = ms < least_ms ? least_ms : ms;
    return ms < a->cfg.audio_frame_ms ? a->cfg.audio_frame_ms : ms;
}

/* Longer frames at once; shorter ones after the estimate held with headroom. */
static void choose_frame(cq_ratealloc_t *a, uint32_t target, unsigned least_ms, int64_t now_us) {
    unsigned want = frame_for(a, target, least_ms);
    if (want >= a->frame_ms) {
        a->frame_ms = want;
        a->frame_since_us = -1;
        return;
    }
    unsigned sure = frame_for(a, target / CQ_RATEALLOC_UP_HEADROOM, least_ms);
    if (sure >= a->frame_ms) {
        a->frame_since_us = -1;
        return;
    }
    if (a->frame_since_us < 0)
        a->frame_since_us = now_us;
    else if (now_us - a->frame_since_us >= CQ_RATEALLOC_UP_HOLD_US) {
        a->frame_ms = sure;
        a->frame_since_us = -1;
    }
}

/* The loss to protect against: the measure, averaged over CQ_RATEALLOC_LOSS_US from none.
 * Not from the first measure: the first second's probes overfill any link's queue, and
 * a session that started deep would hold every receiver's sound back for seconds. */
static double protect_loss(cq_ratealloc_t *a, double loss, int64_t now_us) {
    if (a->protect_us != 0 && now_us > a->protect_us) {
        double keep = exp(-(double)(now_us - a->protect_us) / CQ_RATEALLOC_LOSS_US);
        a->protect_loss = loss + (a->protect_loss - loss) * keep;
    }
    a->protect_us = now_us ? now_us : 1;
    return a->protect_loss;
}

/* The loss measured, as a fraction within [0, 1]. */
static double measured_loss(const cq_ratealloc_input_t *in) {
    return in->loss < 0 ? 0 : in->loss > 1 ? 1 : in->loss;
}

/* Whether the window has been full long enough to plan as for a collapsed link. */
static bool stalled(const cq_ratealloc_input_t *in) {
    return in->stalled_us >= CQ_RATEALLOC_STALL_US;
}

static void plan_audio(cq_ratealloc_t *a, const cq_ratealloc_input_t *in, int64_t now_us,
                       cq_ratealloc_plan_t *out) {
    if (!a->cfg.audio)
        return;
    unsigned pct = (unsigned)(protect_loss(a, measured_loss(in), now_us) * 100 + 0.999);
    bool bursty = in->loss_burst >= CQ_RATEALLOC_DEEP_BURST;
    uint32_t target = stalled(in) && in->target_bps > CQ_RATEALLOC_STALLED_BPS
                          ? CQ_RATEALLOC_STALLED_BPS
                          : in->target_bps;
    uint32_t lean_by = target;
    if (in->sound_kbps != 0 && in->sound_kbps * 1000u < target) {
        target = in->sound_kbps * 1000u;
        if (target < CQ_RATEALLOC_ROOM_LEAN_BPS)
            lean_by = target;
    }
    if (lean_by < CQ_RATEALLOC_RED_MIN_BPS)
        a->red_lean = true;
    else if (lean_by >= CQ_RATEALLOC_RED_MIN_BPS * CQ_RATEALLOC_UP_HEADROOM)
        a->red_lean = false;
    unsigned copies = a->cfg.audio_red == 0                         ? 0
                      : bursty && pct >= CQ_RATEALLOC_DEEP_LOSS_PCT ? a->cfg.audio_red
                      : a->red_lean                                 ? 0
                                                                    : 1;
    bool deep = copies > 1;
    double least = deep ? CQ_RATEALLOC_DEEP_MIN_BPS : CQ_RATEALLOC_AUDIO_MIN_BPS;
    double bps = target * CQ_RATEALLOC_AUDIO_SHARE;
    bps = bps < least ? least : bps > CQ_RATEALLOC_AUDIO_MAX_BPS ? CQ_RATEALLOC_AUDIO_MAX_BPS : bps;
    choose_frame(a, target, deep ? CQ_RATEALLOC_DEEP_FRAME_MS : 20, now_us);
    out->audio_bps = (unsigned)bps / 2000 * 2000; /* steps of 2 kbit/s: no needless ctl calls */
    out->audio_frame_ms = a->frame_ms;
    out->audio_loss_pct = pct;
    out->audio_bursty = bursty;
    out->audio_red_lean = a->cfg.audio_red != 0 && copies == 0;
    out->audio_fec = a->cfg.fec && pct > 0;
    unsigned packets = 1000 / a->frame_ms;
    unsigned header = AUDIO_HEADER_BYTES + (a->cfg.audio_red ? RED_BLOCK_BYTES * copies + 1 : 0);
    out->audio_cost_bps = out->audio_bps * (1 + copies) + packets * header * 8;
}

/* ---- video ------------------------------------------------------------------------------ */

/* One choice of layers: the lowest k of the used ones, the top one at frame-rate step. */
typedef struct {
    uint8_t on;
    unsigned top, step;
    unsigned need_kbps;
} choice_t;

/* Every choice for the used layers, best first: more layers before fewer, and for the
 * same layers a higher frame rate of the top one before a lower. Returns how many. */
static unsigned list_choices(const cq_ratealloc_t *a, uint8_t used, choice_t *c) {
    unsigned order[CQ_RATEALLOC_MAX_LAYERS], m = 0;
    for (unsigned i = 0; i < a->cfg.layers; i++)
        if (used & (1u << i))
            order[m++] = i;
    unsigned n = 0;
    for (unsigned k = m; k >= 1; k--) {
        uint8_t on = 0;
        unsigned below = 0;
        for (unsigned j = 0; j + 1 < k; j++) {
            on |= (uint8_t)(1u << order[j]);
            below += layer_min(a, order[j]);
        }
        unsigned top = order[k - 1], min = layer_min(a, top);
        for (unsigned s = 0; s < STEPS; s++)
            c[n++] = (choice_t){.on = (uint8_t)(on | (1u << top)),
                                .top = top,
                                .step = s,
                                .need_kbps = below + min * step_pct[s] / 100};
    }
    return n;
}

/* The first (best) choice whose need times headroom fits budget, or the last one (layer
 * 0 alone at its lowest frame rate runs whatever the budget). */
static unsigned first_fit(const choice_t *c, unsigned n, double budget, double headroom) {
    for (unsigned i = 0; i < n; i++)
        if (c[i].need_kbps * headroom <= budget)
            return i;
    return n - 1;
}

static unsigned top_layer(uint8_t on) {
    unsigned top = 0;
    for (unsigned i = 0; i < CQ_RATEALLOC_MAX_LAYERS; i++)
        if (on & (1u << i))
            top = i;
    return top;
}

/* Whether choosing ch would raise the video above the choice in force: more layers, a
 * higher top layer, or the same layers with the top one at a higher frame rate. */
static bool is_up(const cq_ratealloc_t *a, const choice_t *ch) {
    unsigned have = (unsigned)__builtin_popcount(a->on),
             want = (unsigned)__builtin_popcount(ch->on);
    if (want != have)
        return want > have;
    if (ch->on != a->on)
        return top_layer(ch->on) > top_layer(a->on);
    return step_pct[ch->step] > step_pct[a->top_step];
}

/* Whether a probe judged since the better choice began to fit (up_since_us) carried what
 * ch needs of the uplink; if none did, one is asked for (above the target, or the
 * estimator takes it for nothing new). One that carried less holds the step again. */
static bool proven(cq_ratealloc_t *a, const cq_ratealloc_input_t *in, unsigned audio_cost,
                   const choice_t *ch, double factor, int64_t now_us, cq_ratealloc_plan_t *out) {
    double need_bps = audio_cost + ch->need_kbps * 1000.0 * factor / CQ_RATEALLOC_VIDEO_SHARE;
    if (in->probe_us != 0 && in->probe_us > a->up_since_us) {
        if (in->probe_bps >= need_bps * CQ_RATEALLOC_PROOF_MARGIN)
            return true;
        a->up_since_us = now_us;
        return false;
    }
    double ask = need_bps * CQ_RATEALLOC_PROOF_ASK, above = in->target_bps * 1.1;
    out->probe_bps = (uint32_t)(ask > above ? ask : above);
    return false;
}

static void plan_video(cq_ratealloc_t *a, const cq_ratealloc_input_t *in, bool protect,
                       int64_t now_us, cq_ratealloc_plan_t *out) {
    if (a->cfg.layers == 0)
        return;
    /* While stalled, sound is planned lean, and the bits it gives up are not video's: the
     * window holds video anyway, and encoders given more would only fill the pacer with
     * frames to drop as late, on a link that may have collapsed. */
    unsigned audio_cost = out->audio_cost_bps;
    if (stalled(in) && a->open_audio_bps > audio_cost)
        audio_cost = a->open_audio_bps;
    else if (!stalled(in))
        a->open_audio_bps = audio_cost;
    double spare = (double)in->target_bps - audio_cost;
    double budget =
        (spare > 0 ? spare : 0) * CQ_RATEALLOC_VIDEO_SHARE / 1000 / video_factor(protect);
    uint8_t all = (uint8_t)((1u << a->cfg.layers) - 1);
    uint8_t asked = (uint8_t)((in->used_known ? in->used : all) & all);
    /* The relay knows the layers signalling gave this sender, not how many its picture
     * allows (a 320x180 source has two): a layer asked for above this sender's top is
     * its top. Layer 0 alone was sent, and the receivers switched twice instead. */
    if (in->used_known && (in->used & ~all) != 0)
        asked |= (uint8_t)(1u << (a->cfg.layers - 1));
    uint8_t used = (uint8_t)(asked | 1u);
    choice_t c[CQ_RATEALLOC_MAX_LAYERS * STEPS];
    unsigned n = list_choices(a, used, c);
    unsigned cur = n;
    for (unsigned i = 0; a->started && used == a->used && i < n; i++)
        if (c[i].on == a->on && c[i].step == a->top_step)
            cur = i;
    unsigned fit = first_fit(c, n, budget, 1.0);
    unsigned sure = first_fit(c, n, budget, CQ_RATEALLOC_UP_HEADROOM);
    unsigned pick;
    if (cur == n || fit > cur) {
        /* The first plan, other layers used, or the one in force no longer fits: at once;
         * a step up among other layers waits only for its proof, as if it had been held. */
        pick = fit;
        a->up_since_us = cur == n && a->started && is_up(a, &c[fit])
                             ? now_us - CQ_RATEALLOC_UP_HOLD_US
                             : UP_NONE;
    } else if (sure < cur) {
        if (a->up_since_us == UP_NONE)
            a->up_since_us = now_us;
        pick = now_us - a->up_since_us >= CQ_RATEALLOC_UP_HOLD_US ? sure : cur;
    } else {
        pick = cur;
        a->up_since_us = UP_NONE;
    }
    if (a->started && is_up(a, &c[pick])) {
        if (proven(a, in, audio_cost, &c[pick], video_factor(protect), now_us, out))
            a->up_since_us = UP_NONE;
        else
            while (pick + 1 < n && is_up(a, &c[pick]))
                pick++; /* the best choice that is no step up */
    }
    a->started = true;
    a->used = used;
    a->on = c[pick].on;
    a->top_step = (uint8_t)c[pick].step;

    /* Each layer on gets its minimum at its frame rate; what is left goes lowest first,
     * each up to its maximum at that rate: a protected layer's copies come out of its
     * maximum too, so that it costs the uplink no more than the telecentre was set to
     * send (unless its minimum is above what is left: a layer is not made below it). Copies on top
     * of the maximum loaded VSAT's 384 kbit/s uplinks from 275 to 330 kbit/s, whose queue then held
     * the sound 10-30 ms longer (its estimate, above the link, left the video at its maximum). */
    uint8_t twice = protect ? (uint8_t)(a->on & asked) : 0;
    double left = budget;
    for (unsigned i = 0; i < a->cfg.layers; i++) {
        if (!(a->on & (1u << i)))
            continue;
        out->fps_pct[i] = i == c[pick].top ? step_pct[c[pick].step] : 100;
        unsigned min = layer_min(a, i) * out->fps_pct[i] / 100;
        out->layer_kbps[i] = min < CQ_RATEALLOC_FLOOR_KBPS ? CQ_RATEALLOC_FLOOR_KBPS : min;
        left -= out->layer_kbps[i];
    }
    for (unsigned i = 0; i < a->cfg.layers && left > 0; i++) {
        if (!(a->on & (1u << i)))
            continue;
        unsigned max = layer_max(a, i, twice & (1u << i)) * out->fps_pct[i] / 100;
        double room = max > out->layer_kbps[i] ? max - out->layer_kbps[i] : 0;
        double add = room < left ? room : left;
        out->layer_kbps[i] += (unsigned)add;
        left -= add;
    }
    out->layers_on = a->on;
    out->protect_tl0 = twice;
    for (unsigned i = 0; i < a->cfg.layers; i++)
        out->video_kbps += out->layer_kbps[i];
}

void cq_ratealloc_update(cq_ratealloc_t *a, const cq_ratealloc_input_t *in, int64_t now_us,
                         cq_ratealloc_plan_t *out) {
    memset(out, 0, sizeof *out);
    a->low_kbps = in->low_kbps;
    plan_audio(a, in, now_us, out);
    if (in->rtt_us != 0)
        a->rtt_base_us = (uint32_t)cq_minwin_update(&a->rtt_least, in->rtt_us, now_us);
    bool protect = a->rtt_base_us >= CQ_RATEALLOC_PROTECT_RTT_US && in->last_loss_us != 0 &&
                   now_us - in->last_loss_us < CQ_RATEALLOC_PROTECT_HOLD_US;
    plan_video(a, in, protect, now_us, out);
}
