#include "client/endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/mediafile.h"
#include "client/pacer.h"
#include "client/ratealloc.h"
#include "client/synth.h"
#include "client/uplink.h"
#include "client/v4l2.h"
#include "codec/opus_codec.h"
#include "codec/scale.h"
#include "codec/vp8_desc.h"
#include "rtp/error.h"
#include "rtp/rtpext.h"

#define CHUNK_MS 20 /* sources give sound in 20 ms pieces; a packet carries 1 to 3 */

/* The encoders follow the uplink estimate this often (feedback comes every 100 ms; the
 * allocator's own hysteresis keeps them from following every wobble). */
#define ADAPT_MS 250
/* The uplink estimator starts here (GCC's usual start; the first probes find a faster
 * link within a second or two) and never goes below what audio and layer 0 need. */
#define UPLINK_START_BPS 300000u
#define UPLINK_MIN_BPS   30000u
/* Video leaves at up to this many times the room the estimate leaves it, and at least
 * 1.5 times what the encoders were given (below). libwebrtc paces at 2.5 times; here that
 * sent each burst into a 512 kbit/s radio modem faster than the modem sends it on, and
 * the sound behind it waited there: the uplink's queue stood 23-29 ms at p95 and 50-55 ms
 * at worst. Paced at the estimate it stands 16-23 and 26-30 ms, and radio-3's mouth to ear
 * went from 185-230 to 180-205 ms at p95 (docs/E2E.md). A burst takes as long to reach the relay
 * either way: the modem sends no faster than its link. */
#define PACE_ESTIMATE_FACTOR 1.0
/* How soon the pacer looks again while the congestion window holds video, and how long
 * video may wait there before it is dropped rather than sent late. */
#define WINDOW_RETRY_MS 10
#define PACE_MAX_AGE_US 1000000u
/* Probe packets: padding-only RTX of this size, as many as a cluster's bytes take. */
#define PROBE_PACKET_BYTES 280

/* A remote telecentre's files, opened at its first picture or sound. */
typedef struct {
    uint32_t telecentre;
    struct cq_ivf *ivf;
    uint32_t ivf_first_ts;
    struct cq_y4m *y4m;
    unsigned width, height;
    uint8_t *scaled;
    struct cq_wav *wav;
} sink_t;

struct cq_endpoint {
    uv_loop_t *loop;
    uv_timer_t video_timer, audio_timer, tick_timer, report_timer, pace_timer;
    cq_pacer_t pacer; /* video only: sound and RTCP go straight out */
    int open_handles;
    struct cq_link *link;
    struct cq_sender *sender;
    struct cq_receiver *receiver;
    cq_endpoint_config_t cfg;
    char out_dir[256], sink_suffix[16];
    /* Sources. */
    bool video_synth, audio_synth, audio_mic;
    struct cq_y4m *video_file;
    struct cq_v4l2 *camera;
    struct cq_sdl_mic *mic;
    uint32_t slot_of[CQ_SDL_SLOTS]; /* the telecentre in each window and speaker slot */
    char video_path[256];
    struct cq_wav *audio_file;
    char audio_path[256];
    uint8_t *picture;
    unsigned width, height;
    uint32_t video_frame, audio_frame;
    uint64_t video_start_us, audio_start_us;
    unsigned frame_ms;                /* per packet: 20, 40 or 60 */
    int16_t pcm[CQ_OPUS_SAMPLES(60)]; /* the packet being filled */
    size_t pcm_fill;
    sink_t sinks[CQ_RECEIVER_MAX_REMOTES];
    /* Transport-wide CC: the number the next packet to leave gets, how many got one, and
     * where a packet is copied to be stamped (the sender's and the pacer's are read-only). */
    uint16_t transport_seq;
    uint64_t stamped;
    uint8_t out[CQ_PACER_MTU];
    /* The uplink loop (issue 7): the estimate from the relay's feedback, the allocator that
     * turns it into encoder settings every ADAPT_MS, the probe cluster going out. */
    size_t srtp_tag; /* bytes SRTP adds to an RTP packet: part of what the link carries */
    cq_uplink_t up;
    cq_ratealloc_t alloc;
    cq_ratealloc_plan_t plan;
    bool planned;
    uint64_t full_since_us; /* the congestion window has been full since; 0: it is not */
    unsigned frame_ms_next; /* the audio packet size the allocator asked for */
    uv_timer_t adapt_timer, probe_timer;
    struct {
        bool active;
        int id;
        uint32_t rate_bps;
        unsigned packets, sent;
        uint64_t start_us, give_up_us; /* give_up_us: ten times its length */
    } probe;
    uint64_t probe_packets;
    uint64_t layer_packets_dropped;
    uint8_t probe_pkt[CQ_PACER_MTU];
    uint64_t last_tick_us, loop_gap_max_us, loop_stalls; /* the event loop's 10 ms tick */
};

static uint64_t now_us(void) {
    return uv_hrtime() / 1000u;
}

/* ---- plumbing between link, sender and receiver --------------------------------------- */

/*
 * Packet tseq of `bytes` (plain RTP) left at send_us: the uplink estimator's send history
 * gets it with the SRTP tag added (what the link carries; the UDP/IP headers are left out,
 * as libwebrtc leaves them out of its send-side estimate), so that the relay's transport-
 * wide feedback about this uplink can be matched to what was sent. Every packet that
 * leaves while a probe cluster goes out belongs to the cluster (cc/estimator.h).
 */
static void on_packet_sent(struct cq_endpoint *e, uint16_t tseq, size_t bytes, uint64_t send_us) {
    int probe = e->probe.active ? e->probe.id : CQ_SENDHIST_NO_PROBE;
    cq_uplink_sent(&e->up, tseq, bytes + e->srtp_tag, (int64_t)send_us, probe);
    e->stamped++;
}

/*
 * The one point where RTP leaves for the link: sound straight from the sender, video and
 * its repairs from the pacer. The transport-wide number is stamped here, in the order
 * packets actually go (the pacer lets sound overtake video, so the order the sender made
 * them in is not the wire order), and it is used up only by a packet the link took: a
 * packet dropped while the link is down never was on the wire, and a gap in the numbers
 * would tell the estimator of a loss the path never had.
 */
static void send_rtp(struct cq_endpoint *e, const uint8_t *pkt, size_t len) {
    if (len > sizeof e->out)
        return; /* the pacer refuses these too: no packet of ours is this long */
    memcpy(e->out, pkt, len);
    bool stamped = cq_rtpext_transport_cc_stamp(e->out, len, CQ_SENDER_EXT_TRANSPORT_CC,
                                                e->transport_seq) == 0;
    if (cq_link_send_rtp(e->link, e->out, len) != 0 || !stamped)
        return;
    on_packet_sent(e, e->transport_seq, len, now_us());
    e->transport_seq++;
}

static void on_pace_timer(uv_timer_t *t);

/* Whether the uplink's congestion window is full at now, noting since when it has been:
 * the sound's plan waits to see it full for a while (client/ratealloc.h). The pacer and
 * the adapt tick look; a sender of sound alone never paces, so two fills 250 ms apart may
 * read as one long one there. Looking at every 10 ms loop tick as well was tried: collapse
 * then missed its layer target (the late top-layer picture) in 3 runs of 8, against 1 of
 * 11 without: not clearly its doing, but not shown harmless, so it was taken out. */
static bool window_full(struct cq_endpoint *e, uint64_t now) {
    bool full = !e->cfg.no_adapt && cq_cc_window_full(&e->up.cc, (int64_t)now);
    if (!full)
        e->full_since_us = 0;
    else if (e->full_since_us == 0)
        e->full_since_us = now;
    return full;
}

/* Lets out the video packets the pacer allows now, and wakes up for the next. While the
 * congestion window is full (the relay's feedback stopped keeping up: the uplink may have
 * collapsed, and what is sent now would only queue behind the sound) video waits, and
 * the pacer looks again a little later. */
static void pace(struct cq_endpoint *e) {
    uint64_t now = now_us(), at;
    const uint8_t *pkt;
    size_t len;
    bool held = false;
    cq_pacer_drop_stale(&e->pacer, now, PACE_MAX_AGE_US);
    while (!(held = window_full(e, now)) && (len = cq_pacer_pop(&e->pacer, now, &pkt)) > 0)
        send_rtp(e, pkt, len);
    if (held && cq_pacer_next(&e->pacer, now, &at))
        uv_timer_start(&e->pace_timer, on_pace_timer, WINDOW_RETRY_MS, 0);
    else if (cq_pacer_next(&e->pacer, now, &at))
        uv_timer_start(&e->pace_timer, on_pace_timer, at > now ? (at - now + 999) / 1000 : 0, 0);
}

static void on_pace_timer(uv_timer_t *t) {
    pace(t->data);
}

static void sender_out(void *ctx, const uint8_t *pkt, size_t len, bool rtcp) {
    struct cq_endpoint *e = ctx;
    /* While the link is down media is dropped there: real time does not queue. Video
     * (and its repairs) is paced; sound and RTCP never wait behind it. */
    uint8_t pt = len > 1 ? pkt[1] & 0x7f : 0;
    if (rtcp)
        cq_link_send_rtcp(e->link, pkt, len);
    else if (pt == CQ_SENDER_PT_VP8 || pt == CQ_SENDER_PT_RTX) {
        if (cq_pacer_push(&e->pacer, pkt, len, now_us()) == 0)
            pace(e);
    } else
        send_rtp(e, pkt, len);
}

/* A repair goes ahead of the video waiting (client/pacer.h); while the link is down it is
 * dropped there, as all media is. */
static void sender_repair(void *ctx, const uint8_t *pkt, size_t len) {
    struct cq_endpoint *e = ctx;
    if (cq_pacer_push_repair(&e->pacer, pkt, len, now_us()) == 0)
        pace(e);
}

static void receiver_out(void *ctx, const uint8_t *pkt, size_t len) {
    struct cq_endpoint *e = ctx;
    cq_link_send_rtcp(e->link, pkt, len);
}

static void link_rtp(void *ctx, uint8_t *pkt, size_t len) {
    struct cq_endpoint *e = ctx;
    cq_receiver_rtp(e->receiver, pkt, len, now_us());
}

/* A keyframe asked for on one of our video layers: the packets of that layer still
 * waiting in the pacer (and its repairs) are history the receivers will skip. After an
 * outage they can be seconds of it, and the keyframe would wait behind them. */
static void on_keyframe_request(void *ctx, uint32_t video_ssrc, uint32_t rtx_ssrc) {
    struct cq_endpoint *e = ctx;
    cq_pacer_drop_ssrc(&e->pacer, video_ssrc);
    cq_pacer_drop_ssrc(&e->pacer, rtx_ssrc);
}

static void link_rtcp(void *ctx, uint8_t *pkt, size_t len) {
    struct cq_endpoint *e = ctx;
    uint64_t now = now_us();
    /* One compound may carry both: reports and feedback about what we send (transport-
     * wide feedback and layer use for the uplink estimate too), sender reports and SDES
     * about what we receive. */
    if (e->sender != NULL) {
        cq_sender_rtcp(e->sender, pkt, len, now);
        cq_sender_stats_t st;
        cq_sender_stats(e->sender, &st);
        if (st.rtt_us) {
            cq_receiver_set_rtt(e->receiver, st.rtt_us);
            cq_cc_set_rtt(&e->up.cc, st.rtt_us);
        }
        uint64_t feedbacks = e->up.feedbacks;
        cq_uplink_rtcp(&e->up, pkt, len, (int64_t)now);
        if (e->up.feedbacks != feedbacks)
            cq_link_heard(e->link);
    }
    cq_receiver_rtcp(e->receiver, pkt, len, now);
}

/* ---- sinks -------------------------------------------------------------------------- */

/* The files of a remote telecentre, with the path of its file of type ext in path; NULL
 * when nothing is written (no out_dir, or a remote whose CNAME has not named it yet). */
static sink_t *sink_for(struct cq_endpoint *e, uint32_t telecentre, const char *ext, char *path,
                        size_t cap) {
    if (e->out_dir[0] == '\0' || telecentre == 0)
        return NULL;
    snprintf(path, cap, "%s/%u%s.%s", e->out_dir, (unsigned)telecentre, e->sink_suffix, ext);
    sink_t *free_slot = NULL;
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES; i++) {
        sink_t *s = &e->sinks[i];
        bool used = s->y4m || s->wav || s->ivf;
        if (used && s->telecentre == telecentre)
            return s;
        if (free_slot == NULL && !used)
            free_slot = s;
    }
    if (free_slot != NULL)
        free_slot->telecentre = telecentre;
    return free_slot;
}

/* The window and speaker slot of a telecentre, taking a free one the first time; -1 when
 * all are taken (more than CQ_SDL_SLOTS telecentres: the rest are not shown). */
static int slot_for(struct cq_endpoint *e, uint32_t telecentre) {
    int free_slot = -1;
    for (int i = 0; i < CQ_SDL_SLOTS; i++) {
        if (e->slot_of[i] == telecentre)
            return i;
        if (free_slot < 0 && e->slot_of[i] == 0)
            free_slot = i;
    }
    if (free_slot >= 0)
        e->slot_of[free_slot] = telecentre;
    return free_slot;
}

void cq_endpoint_forget(struct cq_endpoint *e, uint32_t telecentre) {
    for (int i = 0; i < CQ_SDL_SLOTS && telecentre != 0; i++)
        if (e->slot_of[i] == telecentre) {
            e->slot_of[i] = 0;
            if (e->cfg.window != NULL)
                cq_sdl_window_clear(e->cfg.window, (unsigned)i);
            if (e->cfg.speaker != NULL)
                cq_sdl_speaker_clear(e->cfg.speaker, (unsigned)i);
        }
}

static void on_video(void *ctx, uint32_t telecentre, const cq_i420_t *img) {
    struct cq_endpoint *e = ctx;
    int slot = telecentre != 0 && e->cfg.window != NULL ? slot_for(e, telecentre) : -1;
    if (slot >= 0)
        cq_sdl_window_show(e->cfg.window, (unsigned)slot, img);
    char path[300];
    sink_t *s = sink_for(e, telecentre, "y4m", path, sizeof path);
    if (s == NULL)
        return;
    if (s->y4m == NULL) {
        unsigned fps = e->cfg.sender.fps ? e->cfg.sender.fps : 15;
        if (cq_y4m_create(&s->y4m, path, img->width, img->height, fps) != 0)
            return;
        s->width = img->width;
        s->height = img->height;
    }
    if (img->width == s->width && img->height == s->height) {
        cq_y4m_write(s->y4m, img->plane[0], img->stride[0], img->plane[1], img->stride[1],
                     img->plane[2], img->stride[2]);
        return;
    }
    size_t ysz = (size_t)s->width * s->height;
    if (s->scaled == NULL && (s->scaled = malloc(ysz * 3 / 2)) == NULL)
        return;
    uint8_t *y = s->scaled, *u = y + ysz, *v = u + ysz / 4;
    int w = (int)s->width;
    cq_i420_t dst = {.width = s->width, .height = s->height, .stride = {w, w / 2, w / 2}};
    if (cq_scale_i420(img, y, u, v, &dst) == 0)
        cq_y4m_write(s->y4m, y, w, u, w / 2, v, w / 2);
}

/* The VP8 as it came, from the first keyframe on (an IVF file needs the size). Timestamps
 * count 90 kHz ticks; IVF's time base says so. */
static void on_encoded(void *ctx, uint32_t telecentre, const uint8_t *frame, size_t len,
                       uint32_t ts) {
    struct cq_endpoint *e = ctx;
    char path[300];
    sink_t *s = sink_for(e, telecentre, "ivf", path, sizeof path);
    if (s == NULL)
        return;
    if (s->ivf == NULL) {
        cq_vp8_frame_header_t hdr;
        if (cq_vp8_frame_header_parse(frame, len, &hdr) < 0 || !hdr.keyframe ||
            cq_ivf_create(&s->ivf, path, hdr.width, hdr.height, 90000) != 0)
            return;
        s->ivf_first_ts = ts;
    }
    cq_ivf_write(s->ivf, frame, len, (uint64_t)(uint32_t)(ts - s->ivf_first_ts));
}

static void on_audio(void *ctx, uint32_t telecentre, const int16_t *pcm, size_t samples) {
    struct cq_endpoint *e = ctx;
    int slot = telecentre != 0 && e->cfg.speaker != NULL ? slot_for(e, telecentre) : -1;
    if (slot >= 0)
        cq_sdl_speaker_play(e->cfg.speaker, (unsigned)slot, pcm, samples);
    char path[300];
    sink_t *s = sink_for(e, telecentre, "wav", path, sizeof path);
    if (s == NULL)
        return;
    if (s->wav == NULL) {
        if (cq_wav_create(&s->wav, path, CQ_OPUS_RATE) != 0)
            return;
    }
    cq_wav_write(s->wav, pcm, samples);
}

/* ---- sources ------------------------------------------------------------------------ */

static int read_picture(struct cq_endpoint *e) {
    size_t ysz = (size_t)e->width * e->height;
    uint8_t *y = e->picture, *u = y + ysz, *v = u + ysz / 4;
    if (e->video_synth)
        return cq_synth_video_paint(e->video_frame, (uint32_t)(now_us() / 1000), e->width,
                                    e->height, y, (int)e->width, u, (int)e->width / 2, v,
                                    (int)e->width / 2);
    int rc = cq_y4m_read(e->video_file, y, u, v);
    if (rc == CQ_ENOENT) {
        /* The end of the file: play it again. */
        cq_y4m_close(e->video_file);
        e->video_file = NULL;
        if (cq_y4m_open(&e->video_file, e->video_path) != 0)
            return CQ_EIO;
        rc = cq_y4m_read(e->video_file, y, u, v);
    }
    return rc;
}

/*
 * How many frames of a source are due at now: frame n belongs at start + n * period. Timers
 * only promise "not before", and a 20 ms repeat that fires at 20.1 ms would send 0.5 %
 * too little audio, which the receiver must conceal; so sources follow the clock, not the
 * timer. After a stall of more than max frames the missed ones are skipped, not burst.
 */
static unsigned frames_due(uint64_t *start, uint64_t period_us, uint32_t *count, unsigned max) {
    uint64_t now = now_us();
    if (*start == 0)
        *start = now;
    uint64_t target = (now - *start) / period_us + 1;
    if (target > (uint64_t)*count + max)
        *count = (uint32_t)(target - max);
    return target > *count ? (unsigned)(target - *count) : 0;
}

static void send_picture(struct cq_endpoint *e) {
    if (read_picture(e) != 0)
        return;
    size_t ysz = (size_t)e->width * e->height;
    int w = (int)e->width;
    cq_i420_t img = {.width = e->width,
                     .height = e->height,
                     .plane = {e->picture, e->picture + ysz, e->picture + ysz + ysz / 4},
                     .stride = {w, w / 2, w / 2}};
    cq_sender_video(e->sender, &img, now_us());
}

static void on_video_timer(uv_timer_t *t) {
    struct cq_endpoint *e = t->data;
    uint64_t period = 1000000u / e->cfg.sender.fps;
    for (unsigned k = frames_due(&e->video_start_us, period, &e->video_frame, 2); k > 0; k--) {
        send_picture(e);
        e->video_frame++;
    }
}

/* One 20 ms piece of sound; a packet goes out when it holds frame_ms of them. */
static void add_sound(struct cq_endpoint *e, const int16_t *chunk) {
    size_t n = CQ_OPUS_SAMPLES(CHUNK_MS);
    memcpy(e->pcm + e->pcm_fill, chunk, n * sizeof chunk[0]);
    e->pcm_fill += n;
    if (e->pcm_fill < CQ_OPUS_SAMPLES(e->frame_ms))
        return;
    cq_sender_audio(e->sender, e->pcm, e->pcm_fill, now_us());
    e->pcm_fill = 0;
    /* Between two packets: the only moment the packet size may change. */
    if (e->frame_ms_next != 0 && e->frame_ms_next != e->frame_ms &&
        cq_sender_set_audio(e->sender, e->plan.audio_bps, e->frame_ms_next, e->plan.audio_loss_pct,
                            e->plan.audio_bursty) == 0)
        e->frame_ms = e->frame_ms_next;
}

static void read_sound(struct cq_endpoint *e) {
    int16_t chunk[CQ_OPUS_SAMPLES(CHUNK_MS)];
    size_t n = sizeof chunk / sizeof chunk[0];
    if (e->audio_synth) {
        cq_synth_audio_frame(e->audio_frame, chunk);
    } else {
        int got = cq_wav_read(e->audio_file, chunk, n);
        if (got < (int)n) {
            /* The end of the file: the rest of this piece is silence, then it starts over. */
            size_t have = got > 0 ? (size_t)got : 0;
            memset(chunk + have, 0, (n - have) * sizeof chunk[0]);
            cq_wav_close(e->audio_file);
            e->audio_file = NULL;
            if (cq_wav_open(&e->audio_file, e->audio_path) != 0)
                uv_timer_stop(&e->audio_timer);
        }
    }
    add_sound(e, chunk);
}

static void on_audio_timer(uv_timer_t *t) {
    struct cq_endpoint *e = t->data;
    for (unsigned k = frames_due(&e->audio_start_us, CHUNK_MS * 1000u, &e->audio_frame, 5);
         k > 0 && (e->audio_synth || e->audio_file != NULL); k--) {
        read_sound(e);
        e->audio_frame++;
    }
}

static void on_tick(uv_timer_t *t) {
    struct cq_endpoint *e = t->data;
    uint64_t now = now_us();
    if (e->last_tick_us != 0) {
        uint64_t gap = now - e->last_tick_us;
        e->loop_gap_max_us = gap > e->loop_gap_max_us ? gap : e->loop_gap_max_us;
        e->loop_stalls += gap >= CQ_ENDPOINT_STALL_US;
    }
    e->last_tick_us = now;
    cq_receiver_tick(e->receiver, now);
}

/* ---- the uplink loop ------------------------------------------------------------------ */

static void on_probe_timer(uv_timer_t *t);

/* A probe cluster: padding packets at the rate asked for, as many as its bytes take (it
 * lasts as long as the estimator planned), spaced by the probe timer (1 ms). */
static void start_probe(struct cq_endpoint *e, const cq_cc_cluster_t *cl) {
    e->probe.active = true;
    e->probe.id = cl->id;
    e->probe.rate_bps = cl->rate_bps;
    e->probe.packets = cq_cc_cluster_packets(cl, PROBE_PACKET_BYTES);
    e->probe.sent = 0;
    e->probe.start_us = now_us();
    /* A loop held up for ten times the cluster's length: what is left would not be one. */
    e->probe.give_up_us =
        10u * (uint64_t)e->probe.packets * PROBE_PACKET_BYTES * 8000000u / cl->rate_bps;
    uv_timer_start(&e->probe_timer, on_probe_timer, 0, 1);
}

static void on_probe_timer(uv_timer_t *t) {
    struct cq_endpoint *e = t->data;
    uint64_t now = now_us(), elapsed = now - e->probe.start_us;
    uint64_t due = elapsed * e->probe.rate_bps / (8u * PROBE_PACKET_BYTES * 1000000u) + 1;
    if (due > e->probe.packets)
        due = e->probe.packets;
    while (e->probe.sent < due) {
        int n = cq_sender_padding(e->sender, PROBE_PACKET_BYTES - e->srtp_tag, e->probe_pkt,
                                  sizeof e->probe_pkt);
        if (n <= 0)
            break;
        send_rtp(e, e->probe_pkt, (size_t)n);
        e->probe.sent++;
        e->probe_packets++;
    }
    if (e->probe.sent >= e->probe.packets || elapsed > e->probe.give_up_us) {
        e->probe.active = false;
        uv_timer_stop(&e->probe_timer);
    }
}

/* Layers the plan switched off: their packets still in the pacer (and their repairs) go
 * too. They wait there while the congestion window is full, when a link has collapsed,
 * and would be let out once feedback caught up: pictures a second old, of a layer no
 * receiver should get any more (on collapse, 20-22 packets at the switch). */
static void drop_layers_off(struct cq_endpoint *e, uint8_t off) {
    for (unsigned i = 0; i < CQ_SENDER_MAX_LAYERS && off != 0; i++)
        if (off & (1u << i)) {
            e->layer_packets_dropped += cq_pacer_drop_ssrc(&e->pacer, e->cfg.sender.video_ssrc[i]);
            e->layer_packets_dropped += cq_pacer_drop_ssrc(&e->pacer, e->cfg.sender.rtx_ssrc[i]);
        }
}

/*
 * Every ADAPT_MS: the estimate and the layers used go through the allocator, and the
 * encoders, the pacer and Opus are set to what it plans. A probe cluster goes first when
 * the estimator wants one (at the start, to find the link fast). With --no-adapt the
 * estimate is still made (for the stats and the e2e plots) but nothing follows it.
 */
static void on_adapt(uv_timer_t *t) {
    struct cq_endpoint *e = t->data;
    uint64_t now = now_us();
    if (e->sender == NULL || e->cfg.no_adapt)
        return;
    cq_cc_cluster_t cl;
    if (!e->probe.active && e->cfg.sender.video_layers > 0 && cq_link_up(e->link) &&
        cq_cc_probe_next(&e->up.cc, (int64_t)now, &cl))
        start_probe(e, &cl);
    cq_cc_stats_t cs;
    cq_cc_stats(&e->up.cc, &cs);
    cq_ratealloc_input_t in = {.target_bps = cs.target_bps,
                               .loss = cs.loss_fraction,
                               .loss_burst = cs.loss_burst,
                               .used = e->up.layers_used,
                               .used_known = e->up.layers_known,
                               .low_kbps = e->up.low_kbps,
                               .sound_kbps = cq_uplink_sound_kbps(&e->up, (int64_t)now),
                               .stalled_us =
                                   window_full(e, now) ? (int64_t)(now - e->full_since_us) : 0,
                               .probe_bps = cs.probe_bps,
                               .probe_us = cs.probe_us,
                               /* No round trip, no copies (the ablation). */
                               .rtt_us = e->cfg.no_copies ? 0 : cq_sender_rtt_us(e->sender),
                               .last_loss_us = cs.last_loss_us};
    uint8_t was_on = e->planned ? e->plan.layers_on : 0;
    cq_ratealloc_update(&e->alloc, &in, (int64_t)now, &e->plan);
    e->planned = true;
    drop_layers_off(e, (uint8_t)(was_on & ~e->plan.layers_on));
    if (e->plan.probe_bps != 0) /* a step up waits for a probe to prove the link carries it */
        cq_cc_request_probe(&e->up.cc, e->plan.probe_bps, (int64_t)now);
    /* Video held below what it is configured for: the estimator probes now and then for
     * the room (after a collapse the estimate would creep back at 8 % a second). */
    if (e->cfg.sender.video_layers > 0 && e->plan.video_kbps < e->cfg.sender.video_kbps)
        cq_cc_want(&e->up.cc, e->cfg.sender.video_kbps * 1000u + e->plan.audio_cost_bps,
                   (int64_t)now);
    if (e->cfg.sender.video_layers > 0) {
        cq_sender_set_used(e->sender, e->up.layers_known ? e->up.layers_used : 0xff);
        cq_sender_set_layers(e->sender, e->plan.layers_on, e->plan.layer_kbps, e->plan.fps_pct);
        cq_sender_set_protect_tl0(e->sender, e->plan.protect_tl0);
        /* Video leaves at half again its rate, as at the start, or faster where the
         * estimate leaves more room than the video uses. TL0's copies (protect_tl0) add
         * up to 40 % to what leaves: within that half, and paced faster for them, their bursts
         * stood twice as long in a VSAT modem's queue, with the sound behind them. */
        uint64_t pace = (uint64_t)e->plan.video_kbps * 1500u;
        uint64_t room =
            cs.target_bps > e->plan.audio_cost_bps
                ? (uint64_t)((cs.target_bps - e->plan.audio_cost_bps) * PACE_ESTIMATE_FACTOR)
                : 0;
        cq_pacer_set_rate(&e->pacer, pace > room ? pace : room);
    }
    if (e->cfg.sender.audio_ssrc != 0) {
        cq_sender_set_audio(e->sender, e->plan.audio_bps, e->frame_ms, e->plan.audio_loss_pct,
                            e->plan.audio_bursty);
        cq_sender_set_red_lean(e->sender, e->plan.audio_red_lean);
        e->frame_ms_next = e->plan.audio_frame_ms; /* at the next packet boundary */
    }
}

static void on_report(uv_timer_t *t) {
    struct cq_endpoint *e = t->data;
    if (e->sender != NULL)
        cq_sender_report(e->sender, now_us());
}

static int open_sources(struct cq_endpoint *e, cq_sender_config_t *sc) {
    const char *vs = e->cfg.video_source, *as = e->cfg.audio_source;
    if (vs != NULL && strcmp(vs, "synth") == 0) {
        e->video_synth = true;
    } else if (vs != NULL && strncmp(vs, "/dev/", 5) == 0) {
        snprintf(e->video_path, sizeof e->video_path, "%s", vs); /* a camera: opened in start */
    } else if (vs != NULL) {
        snprintf(e->video_path, sizeof e->video_path, "%s", vs);
        if (cq_y4m_open(&e->video_file, vs) != 0)
            return CQ_EIO;
        unsigned fps;
        cq_y4m_size(e->video_file, &sc->width, &sc->height, &fps);
        if (sc->fps == 0)
            sc->fps = fps;
    } else {
        sc->video_layers = 0;
    }
    if (as != NULL && strcmp(as, "synth") == 0) {
        e->audio_synth = true;
    } else if (as != NULL && strcmp(as, "mic") == 0) {
        e->audio_mic = true; /* opened in start, once the sender exists */
    } else if (as != NULL) {
        snprintf(e->audio_path, sizeof e->audio_path, "%s", as);
        if (cq_wav_open(&e->audio_file, as) != 0)
            return CQ_EIO;
        if (cq_wav_rate(e->audio_file) != CQ_OPUS_RATE)
            return CQ_EINVAL; /* the sender does not resample */
    } else {
        sc->audio_ssrc = 0;
    }
    if (sc->video_layers > 0) {
        e->width = sc->width;
        e->height = sc->height;
        if ((e->picture = malloc((size_t)e->width * e->height * 3 / 2)) == NULL)
            return CQ_ENOMEM;
    }
    return 0;
}

static void on_mic(void *ctx, const int16_t *pcm, size_t samples) {
    struct cq_endpoint *e = ctx;
    if (samples == CQ_OPUS_SAMPLES(CHUNK_MS))
        add_sound(e, pcm);
}

static void on_camera(void *ctx, const cq_i420_t *img, uint64_t capture_us) {
    struct cq_endpoint *e = ctx;
    cq_sender_video(e->sender, img, capture_us);
}

static void on_closed(uv_handle_t *h) {
    struct cq_endpoint *e = h->data;
    if (--e->open_handles == 0)
        free(e);
}

enum { TIMERS = 7 };

static uv_timer_t *timer_at(struct cq_endpoint *e, size_t i) {
    uv_timer_t *all[TIMERS] = {&e->video_timer, &e->audio_timer, &e->tick_timer, &e->report_timer,
                               &e->pace_timer,  &e->adapt_timer, &e->probe_timer};
    return all[i];
}

/* The endpoint is freed once every timer's close callback ran. */
static void close_timers(struct cq_endpoint *e) {
    for (size_t i = 0; i < TIMERS; i++)
        uv_close((uv_handle_t *)timer_at(e, i), on_closed);
}

static void free_parts(struct cq_endpoint *e) {
    cq_v4l2_close(e->camera);
    e->camera = NULL;
    cq_sdl_mic_close(e->mic);
    e->mic = NULL;
    cq_sender_destroy(e->sender);
    cq_receiver_destroy(e->receiver);
    cq_y4m_close(e->video_file);
    cq_wav_close(e->audio_file);
    free(e->picture);
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES; i++) {
        cq_y4m_close(e->sinks[i].y4m);
        cq_ivf_close(e->sinks[i].ivf);
        cq_wav_close(e->sinks[i].wav);
        free(e->sinks[i].scaled);
    }
    e->sender = NULL;
    e->receiver = NULL;
}

/* The uplink estimator and allocator for what this endpoint sends (sc after the sources
 * had their say: a .y4m's size, no video or no audio). */
static int start_uplink(struct cq_endpoint *e, const cq_sender_config_t *sc) {
    e->srtp_tag = cq_srtp_rtp_overhead(e->cfg.suite);
    uint32_t max = (uint32_t)sc->video_kbps * 2000u + 200000u;
    cq_cc_config_t cc = {.start_bps = UPLINK_START_BPS < max ? UPLINK_START_BPS : max,
                         .min_bps = UPLINK_MIN_BPS,
                         .max_bps = max};
    int err = cq_uplink_init(&e->up, &cc);
    if (err != 0)
        return err;
    cq_ratealloc_config_t ac = {.layers = sc->video_layers,
                                .max_video_kbps = sc->video_kbps,
                                .audio = sc->audio_ssrc != 0,
                                .audio_red = sc->audio_red,
                                .audio_frame_ms = e->frame_ms,
                                .fec = !sc->audio_no_fec};
    cq_ratealloc_init(&e->alloc, &ac);
    return 0;
}

static int start(struct cq_endpoint *e, uv_loop_t *loop) {
    cq_sender_config_t sc = e->cfg.sender;
    int err = open_sources(e, &sc);
    if (err != 0)
        return err;
    sc.send = sender_out;
    sc.send_repair = sender_repair;
    sc.on_keyframe_request = on_keyframe_request;
    sc.ctx = e;
    sc.cname = e->cfg.cname;
    if ((sc.audio_ssrc != 0 || sc.video_layers > 0) &&
        (err = cq_sender_create(&e->sender, &sc)) != 0)
        return err;
    e->cfg.sender.video_layers = sc.video_layers;
    e->cfg.sender.audio_ssrc = sc.audio_ssrc;
    if ((err = start_uplink(e, &sc)) != 0)
        return err;
    if (e->sender != NULL && sc.video_layers > 0 && strncmp(e->video_path, "/dev/", 5) == 0) {
        char msg[256];
        err = cq_v4l2_open(&e->camera, loop, e->video_path, sc.width, sc.height, sc.fps, on_camera,
                           e, msg, sizeof msg);
        if (err != 0) {
            if (e->cfg.why != NULL)
                snprintf(e->cfg.why, e->cfg.why_cap, "%s", msg);
            return err;
        }
    }
    if (e->sender != NULL && sc.audio_ssrc != 0 && e->audio_mic &&
        (err = cq_sdl_mic_open(&e->mic, loop, on_mic, e)) != 0) {
        if (e->cfg.why != NULL)
            snprintf(e->cfg.why, e->cfg.why_cap, "the microphone: %s", cq_sdl_error());
        return err;
    }
    uint32_t own = sc.audio_ssrc ? sc.audio_ssrc : sc.video_ssrc[0] ? sc.video_ssrc[0] : 1;
    cq_receiver_config_t rc = {.own_ssrc = own,
                               .no_nack = e->cfg.no_nack,
                               .send_rtcp = receiver_out,
                               .on_video = on_video,
                               .on_encoded = on_encoded,
                               .on_audio = on_audio,
                               .ctx = e};
    if ((err = cq_receiver_create(&e->receiver, &rc)) != 0)
        return err;
    cq_link_config_t lc = {.relay_address = e->cfg.relay_address,
                           .relay_port = e->cfg.relay_port,
                           .relay_ufrag = e->cfg.relay_ufrag,
                           .relay_pwd = e->cfg.relay_pwd,
                           .suite = e->cfg.suite,
                           .key_tx = e->cfg.key_tx,
                           .key_rx = e->cfg.key_rx,
                           .on_rtp = link_rtp,
                           .on_rtcp = link_rtcp,
                           .ctx = e};
    if ((err = cq_link_create(&e->link, loop, &lc)) != 0)
        return err;
    for (size_t i = 0; i < TIMERS; i++) {
        uv_timer_init(loop, timer_at(e, i));
        timer_at(e, i)->data = e;
        e->open_handles++;
    }
    /* Video leaves at half again its own rate: a keyframe of three to five times the
     * average frame spreads over two or three frame times, and sound never waits. After
     * a pause one packet goes at once, not three (the default burst of two packets and
     * the one that overdraws it): on a 384 kbit/s VSAT uplink three packets stood 50 ms
     * in the modem's queue, and the sound behind them waited as long. */
    cq_pacer_init(&e->pacer, (uint64_t)sc.video_kbps * 1500u, CQ_PACER_MTU / 2);
    if (e->sender != NULL && sc.video_layers > 0 && e->camera == NULL)
        uv_timer_start(&e->video_timer, on_video_timer, 0, 5);
    if (e->sender != NULL && sc.audio_ssrc != 0 && e->mic == NULL)
        uv_timer_start(&e->audio_timer, on_audio_timer, 0, 5);
    uv_timer_start(&e->tick_timer, on_tick, 10, 10);
    uv_timer_start(&e->report_timer, on_report, 1000, 1000);
    if (e->sender != NULL)
        uv_timer_start(&e->adapt_timer, on_adapt, ADAPT_MS, ADAPT_MS);
    return 0;
}

int cq_endpoint_create(struct cq_endpoint **out, uv_loop_t *loop, const cq_endpoint_config_t *cfg) {
    *out = NULL;
    struct cq_endpoint *e = calloc(1, sizeof *e);
    if (e == NULL)
        return CQ_ENOMEM;
    e->loop = loop;
    e->cfg = *cfg;
    if (cfg->out_dir != NULL)
        snprintf(e->out_dir, sizeof e->out_dir, "%s", cfg->out_dir);
    if (cfg->sink_suffix != NULL)
        snprintf(e->sink_suffix, sizeof e->sink_suffix, "%s", cfg->sink_suffix);
    e->frame_ms = cfg->sender.audio_frame_ms;
    if (e->frame_ms != 40 && e->frame_ms != 60)
        e->frame_ms = 20;
    e->cfg.sender.audio_frame_ms = e->frame_ms;
    int err = start(e, loop);
    if (err != 0) {
        cq_link_close(e->link);
        free_parts(e);
        if (e->open_handles == 0)
            free(e);
        else
            close_timers(e);
        return err;
    }
    *out = e;
    return 0;
}

void cq_endpoint_close(struct cq_endpoint *e) {
    if (e == NULL)
        return;
    cq_link_close(e->link);
    e->link = NULL;
    free_parts(e);
    close_timers(e);
}

void cq_endpoint_stats(const struct cq_endpoint *e, cq_endpoint_stats_t *out) {
    memset(out, 0, sizeof *out);
    if (e->link != NULL) {
        out->up = cq_link_up(e->link);
        cq_link_stats(e->link, &out->link);
    }
    if (e->sender != NULL)
        cq_sender_stats(e->sender, &out->sent);
    if (e->receiver != NULL)
        out->remotes = cq_receiver_stats(e->receiver, out->remote, CQ_RECEIVER_MAX_REMOTES);
    out->twcc_stamped = e->stamped;
    out->adapt = !e->cfg.no_adapt;
    cq_cc_stats(&e->up.cc, &out->uplink);
    out->uplink_feedbacks = e->up.feedbacks;
    out->layers_used = e->up.layers_used;
    out->layers_known = e->up.layers_known;
    out->low_kbps = e->up.low_kbps;
    out->sound_kbps = cq_uplink_sound_kbps(&e->up, (int64_t)now_us());
    out->probe_packets = e->probe_packets;
    out->layer_packets_dropped = e->layer_packets_dropped;
    out->pacer_queued = e->pacer.queued;
    out->pacer_sent = e->pacer.sent;
    out->pacer_full = e->pacer.dropped;
    out->pacer_flushed = e->pacer.flushed;
    out->pacer_stale = e->pacer.stale;
    out->pacer_max_delay_us = e->pacer.max_delay_us;
    out->planned = e->planned;
    out->plan = e->plan;
    out->loop_stalls = e->loop_stalls;
    out->loop_gap_max_us = e->loop_gap_max_us;
}
