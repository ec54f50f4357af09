#include "client/sender.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "client/ratealloc.h"
#include "codec/opus_codec.h"
#include "codec/red.h"
#include "codec/rtx.h"
#include "codec/scale.h"
#include "codec/vp8_desc.h"
#include "codec/vp8_packetizer.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "rtp/seq.h"

/* Packets of each layer kept for NACK: a keyframe of the top layer and a second of
 * delta frames after it, more than the relay's one-second NACK horizon needs. */
#define HISTORY      512
#define HISTORY_SLOT 1200
#define VIDEO_CLOCK  90000u
#define AUDIO_CLOCK  48000u
/* Earlier packets kept for RED: the deepest copy is of the fourth packet back. */
#define RED_HISTORY 4

typedef struct {
    uint16_t len;
    uint16_t seq;
    bool used;
    uint64_t sent_us; /* when it first went out */
    uint8_t data[HISTORY_SLOT];
} slot_t;

/* A repair older than this arrives after every receiver has given the packet up (their
 * jitter buffers wait a round trip and a little): sending it only delays fresh video. After
 * an outage the receivers ask for everything they missed, and resending it all once froze
 * the pictures for 13 s on a rate-capped link. */
#define RTX_MAX_AGE_US 1000000u
/* ... but a packet of the newest keyframe is repaired for longer. Its loss is seen only
 * when the layer's next packet comes, and after a keyframe of a thin layer libvpx skips
 * pictures for up to 0.4 s; lose that one too and the relay asked for the keyframe's last
 * packet 0.8-1 s after it was captured. Refused as old, every receiver of the layer waited
 * for another keyframe (its request, the encoder, a burst through both links): frozen
 * 2.1-2.9 s on weak-3g-3. A keyframe is a few packets, and nothing else brings the
 * picture back sooner. */
#define RTX_KEY_MAX_AGE_US 3000000u

/* What an SR needs of one stream. */
typedef struct {
    uint32_t ssrc, clock;
    bool sent;
    uint32_t last_ts;
    uint64_t last_capture_us;
    uint32_t packets, octets;
} origin_t;

typedef struct {
    struct cq_vp8_enc *enc;
    unsigned width, height;
    uint8_t *planes; /* scaled picture (NULL for the top layer, which is the source) */
    uint16_t seq, rtx_seq;
    origin_t origin;
    uint32_t rtx_ssrc;
    /* A keyframe was asked for: packets before floor_seq are history no receiver will
     * decode, and repairing them only delays the keyframe. */
    bool has_floor;
    uint16_t floor_seq;
    /* The newest keyframe's packets: [key_seq, key_end). */
    bool has_key;
    uint16_t key_seq, key_end;
    slot_t *history; /* HISTORY slots */
    /* What the uplink allows (cq_sender_set_layers): encoded or not, at what bitrate, and
     * at what share of the frame rate (a picture is encoded when the share adds up past
     * 100, so 67 % takes two in three and 50 % one in two). */
    bool off;
    unsigned kbps, fps_pct, fps_acc;
    /* A layer above was switched off: a keyframe is due CQ_SENDER_DROP_KEY_US after the
     * next picture (key_at_us: when; 0 until that picture sets it). */
    bool key_for_drop;
    uint64_t key_at_us;
    cq_sender_layer_stats_t stats;
} layer_t;

struct cq_sender {
    cq_sender_config_t cfg;
    char cname[64];
    layer_t layer[CQ_SENDER_MAX_LAYERS];
    uint32_t video_ts_offset;
    struct cq_opus_enc *opus;
    uint16_t audio_seq;
    uint32_t audio_ts;
    bool audio_started;
    origin_t audio;
    /* The last packets' Opus data, newest first, for RED. */
    struct {
        uint32_t ts;
        uint16_t len;
        uint8_t data[CQ_RED_MAX_BLOCK_LEN];
    } red[RED_HISTORY];
    unsigned nred;
    unsigned ext_loss_pct; /* loss the rate allocator protects against (cq_sender_set_audio) */
    bool loss_bursty;      /* and whether it comes in bursts (the same) */
    bool red_lean;         /* cq_sender_set_red_lean */
    uint8_t protect_tl0;   /* cq_sender_set_protect_tl0: bit i, layer i */
    uint8_t used;          /* cq_sender_set_used: bit i, layer i */
    unsigned rr_loss_pct;  /* loss the relay's last report gave for audio */
    double rr_protect_pct; /* the reports' loss, averaged (RR_LOSS_WEIGHT), from none */
    cq_sender_stats_t stats;
    uint8_t pkt[HISTORY_SLOT + 64];
};

/* Each layer's share of the total, lowest first: enough for the small layer that weak
 * links fall back on, most for the top one. */
static unsigned layer_kbps(unsigned total, unsigned layers, unsigned i) {
    static const unsigned share[3][3] = {{100, 0, 0}, {30, 70, 0}, {15, 30, 55}};
    unsigned k = total * share[layers - 1][i] / 100;
    return k < 20 ? 20 : k;
}

static uint32_t random32(void) {
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = 0x5eed1234u;
    return r;
}

static void send_pkt(struct cq_sender *s, const uint8_t *pkt, size_t len, bool rtcp) {
    s->cfg.send(s->cfg.ctx, pkt, len, rtcp);
}

static int config_ok(const cq_sender_config_t *c) {
    if (c->send == NULL || c->video_layers > CQ_SENDER_MAX_LAYERS ||
        (c->audio_ssrc == 0 && c->video_layers == 0) || c->audio_red > CQ_SENDER_MAX_RED)
        return CQ_EINVAL;
    if (c->video_layers > 0) {
        unsigned div = 1u << (c->video_layers - 1);
        if (c->width % (2 * div) != 0 || c->height % (2 * div) != 0 || c->width / div < 16 ||
            c->height / div < 16 || c->fps == 0 || c->video_kbps == 0)
            return CQ_EINVAL;
        for (unsigned i = 0; i < c->video_layers; i++)
            if (c->video_ssrc[i] == 0 || c->rtx_ssrc[i] == 0)
                return CQ_EINVAL;
    }
    return 0;
}

/* The frame rate an encoder plans for at pct of the configured one (at least 1). */
static unsigned scaled_fps(unsigned fps, unsigned pct) {
    unsigned f = (fps * pct + 50) / 100;
    return f ? f : 1;
}

/* The share of the frame rate layer l goes at, at kbps and pct asked: the lowest layer of
 * several comes down where each picture would have too few bits (CQ_SENDER_THIN_BITS_PER_PIXEL,
 * measured on the small picture it is; a larger one needs fewer a pixel, and a layer alone
 * follows the uplink through client/ratealloc.h's frame-rate steps). */
static unsigned layer_pct(const struct cq_sender *s, const layer_t *l, unsigned kbps,
                          unsigned pct) {
    if (l != &s->layer[0] || s->cfg.video_layers < 2)
        return pct;
    double bits_per_picture = CQ_SENDER_THIN_BITS_PER_PIXEL * l->width * l->height;
    double fit = 100.0 * kbps * 1000.0 / (bits_per_picture * s->cfg.fps);
    unsigned thin = fit < CQ_SENDER_THIN_MIN_PCT ? CQ_SENDER_THIN_MIN_PCT : (unsigned)fit;
    return thin < pct ? thin : pct;
}

static int layer_init(struct cq_sender *s, unsigned i) {
    layer_t *l = &s->layer[i];
    unsigned div = 1u << (s->cfg.video_layers - 1 - i);
    l->width = s->cfg.width / div;
    l->height = s->cfg.height / div;
    l->origin = (origin_t){.ssrc = s->cfg.video_ssrc[i], .clock = VIDEO_CLOCK};
    l->rtx_ssrc = s->cfg.rtx_ssrc[i];
    l->seq = (uint16_t)random32();
    l->rtx_seq = (uint16_t)random32();
    l->stats.width = l->width;
    l->stats.height = l->height;
    l->kbps = layer_kbps(s->cfg.video_kbps, s->cfg.video_layers, i);
    l->fps_pct = layer_pct(s, l, l->kbps, 100);
    l->stats.on = true;
    l->stats.kbps = l->kbps;
    l->stats.fps_pct = l->fps_pct;
    if ((l->history = calloc(HISTORY, sizeof *l->history)) == NULL)
        return CQ_ENOMEM;
    if (div > 1 && (l->planes = malloc((size_t)l->width * l->height * 3 / 2)) == NULL)
        return CQ_ENOMEM;
    cq_vp8_enc_config_t ec = {.width = l->width,
                              .height = l->height,
                              .bitrate_kbps = l->kbps,
                              .fps = scaled_fps(s->cfg.fps, l->fps_pct),
                              .temporal_layers = 3};
    return cq_vp8_enc_create(&l->enc, &ec);
}

int cq_sender_create(struct cq_sender **out, const cq_sender_config_t *cfg) {
    *out = NULL;
    int err = config_ok(cfg);
    if (err != 0)
        return err;
    struct cq_sender *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CQ_ENOMEM;
    s->cfg = *cfg;
    s->used = 0xff; /* every layer, until the relay says */
    snprintf(s->cname, sizeof s->cname, "%s", cfg->cname ? cfg->cname : "chasqui-client");
    s->cfg.cname = s->cname;
    s->video_ts_offset = random32();
    for (unsigned i = 0; i < cfg->video_layers && err == 0; i++)
        err = layer_init(s, i);
    if (err == 0 && cfg->audio_ssrc != 0) {
        cq_opus_enc_config_t oc = {.bitrate_bps = cfg->audio_bps ? cfg->audio_bps : 24000,
                                   .frame_ms = cfg->audio_frame_ms ? cfg->audio_frame_ms : 20,
                                   .fec = !cfg->audio_no_fec,
                                   .dtx = true};
        err = cq_opus_enc_create(&s->opus, &oc);
        s->audio = (origin_t){.ssrc = cfg->audio_ssrc, .clock = AUDIO_CLOCK};
        s->stats.audio_bps = oc.bitrate_bps;
        s->stats.audio_frame_ms = oc.frame_ms;
        s->audio_seq = (uint16_t)random32();
        s->audio_ts = random32();
    }
    if (err != 0) {
        cq_sender_destroy(s);
        return err;
    }
    *out = s;
    return 0;
}

void cq_sender_destroy(struct cq_sender *s) {
    if (s == NULL)
        return;
    for (unsigned i = 0; i < CQ_SENDER_MAX_LAYERS; i++) {
        cq_vp8_enc_destroy(s->layer[i].enc);
        free(s->layer[i].planes);
        free(s->layer[i].history);
    }
    cq_opus_enc_destroy(s->opus);
    free(s);
}

static void account(origin_t *o, uint32_t ts, uint64_t capture_us, size_t payload) {
    o->sent = true;
    o->last_ts = ts;
    o->last_capture_us = capture_us;
    o->packets++;
    o->octets += (uint32_t)payload;
}

/* The transport-wide sequence number's element with a placeholder value: the endpoint
 * stamps the real number in place as the packet leaves. RTX copies the header of the
 * packet it repairs, so repairs carry the element too and get their own number. */
static const uint8_t twcc_placeholder[CQ_RTPEXT_TRANSPORT_CC_SIZE] = {0, 0};
static const cq_rtp_ext_t twcc_ext = {
    .id = CQ_SENDER_EXT_TRANSPORT_CC, .len = CQ_RTPEXT_TRANSPORT_CC_SIZE, .data = twcc_placeholder};

/* Sends the packet kept in slot again as RTX (RFC 4588) on l's RTX SSRC, through s->pkt,
 * as a repair or as a copy sent ahead of loss; false when it cannot be wrapped. */
static bool send_rtx(struct cq_sender *s, layer_t *l, const slot_t *slot, bool repair) {
    cq_rtp_view_t v;
    if (cq_rtp_parse(slot->data, slot->len, &v) < 0)
        return false;
    size_t hl = (size_t)(v.payload - slot->data);
    int n = cq_rtx_wrap(slot->data, hl, v.payload_len, CQ_SENDER_PT_RTX, l->rtx_seq, l->rtx_ssrc,
                        s->pkt, sizeof s->pkt);
    if (n < 0)
        return false;
    l->rtx_seq++;
    if (repair && s->cfg.send_repair != NULL)
        s->cfg.send_repair(s->cfg.ctx, s->pkt, (size_t)n);
    else
        send_pkt(s, s->pkt, (size_t)n, false);
    return true;
}

/* Packetizes one encoded frame of layer l and sends it, keeping each packet for NACK;
 * with TL0 protected, a TL0 frame but a keyframe goes twice. */
static int send_frame(struct cq_sender *s, layer_t *l, const cq_vp8_frame_t *f, uint32_t ts,
                      uint64_t capture_us) {
    cq_vp8_desc_t d = {.extended = true,
                       .non_reference = f->tid == 2,
                       .has_picture_id = true,
                       .picture_id_15bit = true,
                       .picture_id = f->picture_id,
                       .has_tl0picidx = true,
                       .tl0picidx = f->tl0picidx,
                       .has_tid = true,
                       .tid = f->tid,
                       .y = f->layer_sync};
    unsigned index = (unsigned)(l - s->layer);
    bool protect = ((unsigned)s->protect_tl0 >> index & 1u) && f->tid == 0 && !f->keyframe;
    cq_vp8_packetizer_t pz;
    int rc = cq_vp8_packetizer_init(&pz, f->data, f->len, &d, CQ_SENDER_MAX_PAYLOAD);
    if (rc < 0)
        return rc;
    if (f->keyframe) {
        l->has_key = true;
        l->key_seq = l->seq;
    }
    for (bool last = false; !last;) {
        cq_rtp_header_t h = {.payload_type = CQ_SENDER_PT_VP8,
                             .seq = l->seq,
                             .timestamp = ts,
                             .ssrc = l->origin.ssrc};
        int hl = cq_rtp_header_write(&h, &twcc_ext, 1, s->pkt, sizeof s->pkt);
        if (hl < 0)
            return hl;
        int pl = cq_vp8_packetizer_next(&pz, s->pkt + hl, sizeof s->pkt - (size_t)hl, &last);
        if (pl < 0)
            return pl;
        cq_rtp_set_marker(s->pkt, last);
        size_t len = (size_t)hl + (size_t)pl;
        slot_t *slot = &l->history[l->seq % HISTORY];
        slot->used = true;
        slot->seq = l->seq;
        slot->sent_us = capture_us;
        slot->len = (uint16_t)len;
        memcpy(slot->data, s->pkt, len);
        send_pkt(s, s->pkt, len, false);
        if (protect && send_rtx(s, l, slot, false))
            s->stats.tl0_copies++;
        account(&l->origin, ts, capture_us, (size_t)pl);
        l->stats.packets++;
        l->stats.bytes += len;
        l->seq++;
    }
    if (f->keyframe)
        l->key_end = l->seq;
    return 0;
}

int cq_sender_video(struct cq_sender *s, const cq_i420_t *img, uint64_t capture_us) {
    if (s->cfg.video_layers == 0)
        return CQ_EINVAL;
    if (img->width != s->cfg.width || img->height != s->cfg.height)
        return CQ_EINVAL;
    uint32_t ts = s->video_ts_offset + (uint32_t)(capture_us * VIDEO_CLOCK / 1000000u);
    for (unsigned i = 0; i < s->cfg.video_layers; i++) {
        layer_t *l = &s->layer[i];
        if (l->off)
            continue;
        if (l->key_for_drop) {
            if (l->key_at_us == 0) {
                l->key_at_us = capture_us + CQ_SENDER_DROP_KEY_US;
            } else if (capture_us >= l->key_at_us) {
                cq_vp8_enc_request_keyframe(l->enc);
                l->key_for_drop = false;
            }
        }
        l->fps_acc += l->fps_pct;
        if (l->fps_acc < 100) {
            l->stats.decimated++;
            continue;
        }
        l->fps_acc -= 100;
        cq_i420_t scaled;
        const cq_i420_t *pic = img;
        if (l->planes != NULL) {
            size_t ysz = (size_t)l->width * l->height;
            uint8_t *y = l->planes, *u = y + ysz, *v = u + ysz / 4;
            scaled = (cq_i420_t){.width = l->width,
                                 .height = l->height,
                                 .plane = {y, u, v},
                                 .stride = {(int)l->width, (int)l->width / 2, (int)l->width / 2}};
            int rc = cq_scale_i420(img, y, u, v, &scaled);
            if (rc != 0)
                return rc;
            pic = &scaled;
        }
        cq_vp8_frame_t f;
        int rc = cq_vp8_enc_encode(l->enc, pic, ts, &f);
        if (rc == CQ_EAGAIN) {
            l->stats.skipped++;
            continue;
        }
        if (rc != 0)
            return rc;
        l->stats.frames++;
        l->stats.keyframes += f.keyframe;
        if ((rc = send_frame(s, l, &f, ts, capture_us)) != 0)
            return rc;
    }
    return 0;
}

/* RFC 6464 level of a frame in -dBov, and a voice flag from a plain energy detector: the
 * relay's speaker detection only needs to tell talk from room noise. */
static cq_rtpext_audio_level_t audio_level(const int16_t *pcm, size_t n) {
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (double)pcm[i] * pcm[i];
    double rms = n ? sqrt(sum / (double)n) / 32768.0 : 0;
    double db = rms > 0 ? -20.0 * log10(rms) : 127;
    uint8_t level = db > 127 ? 127 : db < 0 ? 0 : (uint8_t)db;
    return (cq_rtpext_audio_level_t){.voice = level < 50, .level = level};
}

/* From CQ_RATEALLOC_DEEP_LOSS_PCT of loss (per cent), where the loss comes in bursts
 * (cq_sender_set_audio's bursty), RED repeats every copy allowed rather than one: a 3G
 * link loses three packets in a row on average, and each of the two hops, uplink and the
 * receiver's downlink, has its own; copies of the packets just before are lost with them.
 * Deep copies are spread, the second and the fourth packet back, so that a burst of up to
 * three still leaves a copy of each (simulated over two such hops: 4.9 % of packets lost
 * for good with copies 1 and 2 back, 2.6 % with 2 and 4). The receiver's jitter buffer
 * waits the span of the copies it sees (client/ajb.h). Under it, or where packets are lost
 * one at a time, one copy of the packet just before: that copy comes soonest. */
static const unsigned red_deep[CQ_SENDER_MAX_RED] = {2, 4}; /* packets back */

/* The loss RED is sized on: the larger of the allocator's (an average over 5 s) and the
 * relay's reports (one a second) averaged the same way, so that a report without a burst
 * does not make RED shallow before the next burst, nor one unlucky second deep. */
#define RR_LOSS_WEIGHT 0.2
static unsigned red_loss_pct(const struct cq_sender *s) {
    unsigned rr = (unsigned)(s->rr_protect_pct + 0.5);
    return rr > s->ext_loss_pct ? rr : s->ext_loss_pct;
}

/*
 * Writes the audio payload at out (room for cap bytes): Opus data alone, or with RED the
 * earlier packets' data first (as many as the loss calls for, and that still fit the
 * format: a talkspurt's first packet has none). Returns its length or an error.
 */
static int audio_payload(struct cq_sender *s, uint32_t ts, const uint8_t *opus, size_t len,
                         uint8_t *out, size_t cap) {
    if (s->cfg.audio_red == 0) {
        if (len > cap)
            return CQ_ENOBUFS;
        memcpy(out, opus, len);
        return (int)len;
    }
    bool deep = s->loss_bursty && red_loss_pct(s) >= CQ_RATEALLOC_DEEP_LOSS_PCT;
    unsigned copies = deep ? s->cfg.audio_red : s->red_lean ? 0 : 1;
    cq_red_block_t b[CQ_SENDER_MAX_RED + 1];
    size_t n = 0;
    unsigned last_back = 0;
    for (unsigned c = copies; c-- > 0;) {
        /* Oldest first, as RFC 2198 orders them; each within the 14-bit offset. Early in a
         * talkspurt the deep copies are of the oldest packets it has, once each. */
        unsigned back = deep ? red_deep[c] : 1;
        if (back > s->nred)
            back = s->nred;
        if (back == 0 || back == last_back)
            continue;
        last_back = back;
        unsigned i = back - 1;
        uint32_t off = ts - s->red[i].ts;
        if (off == 0 || off > CQ_RED_MAX_TS_OFFSET)
            continue;
        b[n++] = (cq_red_block_t){.pt = CQ_SENDER_PT_OPUS,
                                  .ts_offset = (uint16_t)off,
                                  .len = s->red[i].len,
                                  .data = s->red[i].data};
    }
    b[n++] = (cq_red_block_t){.pt = CQ_SENDER_PT_OPUS, .len = len, .data = opus};
    int w = cq_red_write(b, n, out, cap);
    if (w < 0)
        return w;
    s->stats.audio_red_blocks += n - 1;
    /* Remember this packet's data for the next ones (one too large to repeat is not). */
    if (len <= CQ_RED_MAX_BLOCK_LEN) {
        memmove(&s->red[1], &s->red[0], sizeof s->red[0] * (RED_HISTORY - 1));
        s->red[0].ts = ts;
        s->red[0].len = (uint16_t)len;
        memcpy(s->red[0].data, opus, len);
        if (s->nred < RED_HISTORY)
            s->nred++;
    }
    return w;
}

int cq_sender_audio(struct cq_sender *s, const int16_t *pcm, size_t samples, uint64_t capture_us) {
    if (s->opus == NULL)
        return CQ_EINVAL;
    uint8_t payload[CQ_OPUS_MAX_PACKET];
    int n = cq_opus_enc_encode(s->opus, pcm, samples, payload, sizeof payload);
    if (n < 0)
        return n;
    uint32_t ts = s->audio_ts;
    s->audio_ts += (uint32_t)samples;
    if (n <= 2) {
        /* DTX: the decoder's comfort noise covers the gap; nothing worth a packet. What
         * was said before the silence is not repeated after it. */
        s->stats.audio_dtx++;
        s->audio_started = false;
        s->nred = 0;
        return 0;
    }
    uint8_t ext[CQ_RTPEXT_AUDIO_LEVEL_SIZE];
    cq_rtpext_audio_level_t al = audio_level(pcm, samples);
    cq_rtpext_audio_level_write(&al, ext, sizeof ext);
    cq_rtp_ext_t e[2] = {{.id = CQ_SENDER_EXT_AUDIO_LEVEL, .len = sizeof ext, .data = ext},
                         twcc_ext};
    /* The marker starts a talkspurt (RFC 3551 §4.1): the receiver may resync its buffer. */
    cq_rtp_header_t h = {.payload_type = s->cfg.audio_red ? CQ_SENDER_PT_RED : CQ_SENDER_PT_OPUS,
                         .marker = !s->audio_started,
                         .seq = s->audio_seq,
                         .timestamp = ts,
                         .ssrc = s->audio.ssrc};
    int hl = cq_rtp_header_write(&h, e, 2, s->pkt, sizeof s->pkt);
    if (hl < 0)
        return hl;
    int pl = audio_payload(s, ts, payload, (size_t)n, s->pkt + hl, sizeof s->pkt - (size_t)hl);
    if (pl < 0)
        return pl;
    s->audio_seq++;
    s->audio_started = true;
    send_pkt(s, s->pkt, (size_t)hl + (size_t)pl, false);
    account(&s->audio, ts, capture_us, (size_t)pl);
    s->stats.audio_frames++;
    s->stats.audio_bytes += (size_t)hl + (size_t)pl;
    return 0;
}

static layer_t *layer_of(struct cq_sender *s, uint32_t ssrc) {
    for (unsigned i = 0; i < s->cfg.video_layers; i++)
        if (s->layer[i].origin.ssrc == ssrc)
            return &s->layer[i];
    return NULL;
}

static void resend(struct cq_sender *s, layer_t *l, uint16_t seq, uint64_t now_us) {
    const slot_t *slot = &l->history[seq % HISTORY];
    if (!slot->used || slot->seq != seq) {
        s->stats.rtx_missing++;
        return;
    }
    bool key = l->has_key && !cq_seq_newer(l->key_seq, seq) && cq_seq_newer(l->key_end, seq);
    uint64_t max_age = key ? RTX_KEY_MAX_AGE_US : RTX_MAX_AGE_US;
    if ((now_us > slot->sent_us && now_us - slot->sent_us > max_age) ||
        (l->has_floor && cq_seq_newer(l->floor_seq, seq))) {
        s->stats.rtx_stale++;
        return;
    }
    if (send_rtx(s, l, slot, true))
        s->stats.rtx_sent++;
}

/*
 * What Opus is told of the loss, from what the relay reports of this uplink. The relay
 * sees only the first half of the path (its own leg to each receiver loses as much again),
 * and at the few percent a radio link loses Opus judges in-band FEC not worth its bits and
 * leaves it out: judged by the synthetic tone, it brought back 1 lost frame in 20 on the
 * e2e radio scenario. So any loss is reported as at least 10 %, and twice what was
 * measured above that: FEC on whenever the link loses at all.
 */
static unsigned opus_loss_hint(unsigned measured_pct) {
    if (measured_pct == 0)
        return 0;
    unsigned hint = 2 * measured_pct < 10 ? 10 : 2 * measured_pct;
    return hint > 50 ? 50 : hint;
}

/* Opus hears the larger of the loss the relay reports and the one the uplink estimator
 * measured (cq_sender_set_audio): both are of this uplink, at different moments. */
static void tell_opus_loss(struct cq_sender *s) {
    unsigned pct = s->rr_loss_pct > s->ext_loss_pct ? s->rr_loss_pct : s->ext_loss_pct;
    s->stats.opus_loss_hint = opus_loss_hint(pct);
    cq_opus_enc_set_loss(s->opus, s->stats.opus_loss_hint);
}

static void on_report(struct cq_sender *s, const cq_rtcp_reports_t *reports, uint64_t now_us) {
    for (size_t i = 0; i < reports->count; i++) {
        cq_rtcp_report_t r = cq_rtcp_report_at(reports, i);
        uint32_t rtt;
        if (r.lsr != 0 && cq_rtcp_rtt_us(cq_rtcp_ntp_short(cq_rtcp_ntp_from_us(now_us)), r.lsr,
                                         r.dlsr, &rtt) == 0)
            s->stats.rtt_us = s->stats.rtt_us ? (s->stats.rtt_us * 7 + rtt) / 8 : rtt;
        if (r.ssrc == s->audio.ssrc && s->opus != NULL) {
            unsigned pct = (unsigned)r.fraction_lost * 100u / 256u;
            s->stats.loss_percent = pct;
            s->rr_loss_pct = pct;
            s->rr_protect_pct += (pct - s->rr_protect_pct) * RR_LOSS_WEIGHT;
            tell_opus_loss(s);
        }
    }
}

int cq_sender_rtcp(struct cq_sender *s, const uint8_t *pkt, size_t len, uint64_t now_us) {
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, pkt, len);
    int rc;
    while ((rc = cq_rtcp_iter_next(&it, &h)) > 0) {
        cq_rtcp_fb_t fb;
        cq_rtcp_nack_t nack;
        cq_rtcp_rr_t rr;
        cq_rtcp_sr_t sr;
        layer_t *l;
        if (cq_rtcp_pli_parse(&h, &fb) == 0) {
            if ((l = layer_of(s, fb.media_ssrc)) != NULL) {
                s->stats.plis_in++;
                cq_vp8_enc_request_keyframe(l->enc);
                l->has_floor = true;
                l->floor_seq = l->seq; /* the keyframe starts at the next packet */
                if (s->cfg.on_keyframe_request)
                    s->cfg.on_keyframe_request(s->cfg.ctx, l->origin.ssrc, l->rtx_ssrc);
            }
        } else if (cq_rtcp_nack_parse(&h, &nack) == 0) {
            uint16_t seqs[256];
            int n = cq_rtcp_nack_expand(&nack, seqs, sizeof seqs / sizeof seqs[0]);
            if ((l = layer_of(s, nack.media_ssrc)) != NULL)
                for (int k = 0; k < n; k++) {
                    s->stats.nacks_in++;
                    resend(s, l, seqs[k], now_us);
                }
        } else if (cq_rtcp_rr_parse(&h, &rr) == 0) {
            on_report(s, &rr.reports, now_us);
        } else if (cq_rtcp_sr_parse(&h, &sr) == 0) {
            on_report(s, &sr.reports, now_us);
        }
    }
    return rc;
}

/* One SR and SDES for o, the RTP time extrapolated from its last packet to now. */
static int report_one(struct cq_sender *s, const origin_t *o, uint64_t now_us) {
    uint8_t buf[256];
    cq_rtcp_compound_t c;
    cq_rtcp_compound_init(&c, buf, sizeof buf);
    uint64_t since = now_us > o->last_capture_us ? now_us - o->last_capture_us : 0;
    cq_rtcp_sender_info_t info = {.ntp = cq_rtcp_ntp_from_us(now_us),
                                  .rtp_ts = o->last_ts + (uint32_t)(since * o->clock / 1000000u),
                                  .packet_count = o->packets,
                                  .octet_count = o->octets};
    cq_rtcp_compound_commit(&c, cq_rtcp_sr_write(o->ssrc, &info, NULL, 0, cq_rtcp_compound_tail(&c),
                                                 cq_rtcp_compound_room(&c)));
    cq_rtcp_compound_commit(&c, cq_rtcp_sdes_cname_write(o->ssrc, s->cname, strlen(s->cname),
                                                         cq_rtcp_compound_tail(&c),
                                                         cq_rtcp_compound_room(&c)));
    int n = cq_rtcp_compound_finish(&c);
    if (n > 0)
        send_pkt(s, buf, (size_t)n, true);
    return n < 0 ? n : 0;
}

int cq_sender_report(struct cq_sender *s, uint64_t now_us) {
    int rc = 0;
    if (s->audio.sent)
        rc = report_one(s, &s->audio, now_us);
    for (unsigned i = 0; i < s->cfg.video_layers && rc == 0; i++)
        if (s->layer[i].origin.sent)
            rc = report_one(s, &s->layer[i].origin, now_us);
    return rc;
}

int cq_sender_set_video_kbps(struct cq_sender *s, unsigned kbps) {
    if (kbps == 0)
        return CQ_EINVAL;
    s->cfg.video_kbps = kbps;
    unsigned k[CQ_SENDER_MAX_LAYERS], pct[CQ_SENDER_MAX_LAYERS];
    uint8_t on = 0;
    for (unsigned i = 0; i < s->cfg.video_layers; i++) {
        k[i] = layer_kbps(kbps, s->cfg.video_layers, i);
        pct[i] = 100;
        on |= (uint8_t)(1u << i);
    }
    return cq_sender_set_layers(s, on, k, pct);
}

void cq_sender_set_used(struct cq_sender *s, uint8_t used) {
    /* A layer above this sender's top (the relay knows what signalling gave it, not what
     * its picture allows: client/ratealloc.c) is its top. */
    unsigned layers = s->cfg.video_layers;
    if (layers > 0 && (used >> layers) != 0)
        used |= (uint8_t)(1u << (layers - 1));
    s->used = used;
}

int cq_sender_set_layers(struct cq_sender *s, uint8_t on, const unsigned *kbps,
                         const unsigned *fps_pct) {
    for (unsigned i = 0; i < s->cfg.video_layers; i++) {
        layer_t *l = &s->layer[i];
        bool want = (on & (1u << i)) != 0;
        if (!want) {
            if (!l->off && (s->used & (1u << i))) {
                /* Its receivers go to the highest layer below still on, at a keyframe. */
                for (unsigned j = i; j-- > 0;)
                    if (on & (1u << j)) {
                        s->layer[j].key_for_drop = true;
                        s->layer[j].key_at_us = 0;
                        break;
                    }
            }
            l->off = true;
            l->stats.on = false;
            continue;
        }
        unsigned k = kbps[i] < 20 ? 20 : kbps[i] > 4000 ? 4000 : kbps[i];
        unsigned pct = layer_pct(s, l, k, fps_pct[i] == 0 || fps_pct[i] > 100 ? 100 : fps_pct[i]);
        if (l->off) {
            /* Back on after a pause: its receivers' decoders lost track of it, and the
             * relay can only switch anyone to it at a keyframe. */
            l->off = false;
            l->fps_acc = 0;
            cq_vp8_enc_request_keyframe(l->enc);
            l->stats.restarts++;
        }
        l->stats.on = true;
        if (k != l->kbps || pct != l->fps_pct) {
            int rc = cq_vp8_enc_set_rate(l->enc, k, scaled_fps(s->cfg.fps, pct));
            if (rc != 0)
                return rc;
            l->kbps = k;
            l->fps_pct = pct;
            l->stats.kbps = k;
            l->stats.fps_pct = pct;
        }
    }
    return 0;
}

int cq_sender_set_audio(struct cq_sender *s, unsigned bps, unsigned frame_ms, unsigned loss_pct,
                        bool bursty) {
    if (s->opus == NULL)
        return CQ_EINVAL;
    if (bps < CQ_OPUS_MIN_BPS || bps > CQ_OPUS_MAX_BPS ||
        (frame_ms != 20 && frame_ms != 40 && frame_ms != 60))
        return CQ_EINVAL;
    int rc = 0;
    if (bps != s->stats.audio_bps && (rc = cq_opus_enc_set_bitrate(s->opus, bps)) == 0)
        s->stats.audio_bps = bps;
    if (rc == 0 && frame_ms != s->stats.audio_frame_ms &&
        (rc = cq_opus_enc_set_frame_ms(s->opus, frame_ms)) == 0)
        s->stats.audio_frame_ms = frame_ms;
    s->ext_loss_pct = loss_pct > 100 ? 100 : loss_pct;
    s->loss_bursty = bursty;
    tell_opus_loss(s);
    return rc;
}

void cq_sender_set_protect_tl0(struct cq_sender *s, uint8_t layers) {
    s->protect_tl0 = layers;
}

void cq_sender_set_red_lean(struct cq_sender *s, bool lean) {
    s->red_lean = lean;
}

int cq_sender_padding(struct cq_sender *s, size_t size, uint8_t *buf, size_t cap) {
    if (s->cfg.video_layers == 0)
        return CQ_EINVAL;
    layer_t *l = &s->layer[0];
    cq_rtp_header_t h = {.payload_type = CQ_SENDER_PT_RTX,
                         .seq = l->rtx_seq,
                         .timestamp = l->origin.last_ts,
                         .ssrc = l->rtx_ssrc};
    int hl = cq_rtp_header_write(&h, &twcc_ext, 1, buf, cap);
    if (hl < 0)
        return hl;
    size_t pad = size > (size_t)hl ? size - (size_t)hl : 1;
    if (pad > 255)
        pad = 255;
    int n = cq_rtp_padding_append(buf, (size_t)hl, cap, (uint8_t)pad);
    if (n < 0)
        return n;
    l->rtx_seq++;
    s->stats.padding_sent++;
    return n;
}

uint32_t cq_sender_rtt_us(const struct cq_sender *s) {
    return s->stats.rtt_us;
}

void cq_sender_stats(const struct cq_sender *s, cq_sender_stats_t *out) {
    *out = s->stats;
    for (unsigned i = 0; i < CQ_SENDER_MAX_LAYERS; i++)
        out->layer[i] = s->layer[i].stats;
}
