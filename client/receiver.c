#include "client/receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ajb.h"
#include "client/feedback.h"
#include "client/lipsync.h"
#include "client/sender.h"
#include "client/synth.h"
#include "client/vhold.h"
#include "client/vjb.h"
#include "codec/opus_codec.h"
#include "codec/red.h"
#include "codec/rtx.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"

#define MAX_STREAMS (3 * CQ_RECEIVER_MAX_REMOTES)
/* Lip sync moves a hold at most this often, by half of what it measures: the delays it
 * compares are smoothed over a second or two, and chasing them faster would oscillate. */
#define SYNC_EVERY_US     2000000u
#define MAX_VIDEO_HOLD_MS 400u
#define SYNC_DEADBAND_US  20000
#define TL0_WAIT_MIN_US   350000 /* a lost TL0 frame is waited for at least this (video_tick) */
#define FRAME_MAX         (CQ_VP8_ASM_SLOTS * CQ_VP8_ASM_SLOT)

typedef enum { KIND_AUDIO, KIND_VIDEO, KIND_RTX } kind_t;

/* Latencies in 5 ms steps up to 2 s (and one bucket beyond), for percentiles. */
#define HIST_STEP_MS 5
#define HIST_BUCKETS 401
typedef struct {
    uint32_t n[HIST_BUCKETS];
    uint64_t count;
} hist_t;

static void hist_add(hist_t *h, double ms) {
    size_t b = ms <= 0 ? 0 : (size_t)(ms / HIST_STEP_MS);
    h->n[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
    h->count++;
}

/* The upper edge of the bucket holding percentile pct, in ms; 0 with no samples. */
static unsigned hist_pct(const hist_t *h, unsigned pct) {
    if (h->count == 0)
        return 0;
    uint64_t want = (h->count * pct + 99) / 100, seen = 0;
    for (size_t b = 0; b < HIST_BUCKETS; b++)
        if ((seen += h->n[b]) >= want)
            return (unsigned)((b + 1) * HIST_STEP_MS);
    return HIST_BUCKETS * HIST_STEP_MS;
}

typedef struct {
    bool used;
    kind_t kind;
    uint32_t ssrc;
    int remote; /* index into remotes */
} stream_t;

/* A remote telecentre: its audio and video streams and what became of them. */
typedef struct {
    bool used;
    char cname[64];
    uint32_t audio_ssrc, video_ssrc; /* 0: none yet */
    cq_vjb_t *vjb;
    struct cq_vp8_dec *vdec;
    cq_ajb_t *ajb;
    struct cq_opus_dec *adec;
    uint64_t next_play_us;
    uint64_t last_frame_us;
    double frame_interval_us; /* smoothed */
    bool waiting_keyframe;
    bool named_keyframe; /* named just now: one keyframe so recordings start whole */
    bool have_class;     /* synthetic sound: the tone class of the last frame played */
    int last_class;
    uint64_t decode_failures;
    cq_lipsync_t sync;
    hist_t audio_latency, video_latency;
    cq_vhold_t vhold;
    unsigned audio_hold_ms, video_hold_ms;
    uint64_t last_sync_us;
    cq_receiver_remote_stats_t st;
} remote_t;

struct cq_receiver {
    cq_receiver_config_t cfg;
    cq_feedback_t fb;
    stream_t streams[MAX_STREAMS];
    /* SSRCs an SDES named before any packet came on them (the RTX of a video): where to
     * put them when one does. */
    struct {
        uint32_t ssrc;
        int remote;
    } named[MAX_STREAMS];
    unsigned next_named;
    remote_t remotes[CQ_RECEIVER_MAX_REMOTES];
    uint32_t rtt_us;
    uint8_t frame[FRAME_MAX];
    uint8_t rtcp[1500];
    int16_t pcm[CQ_OPUS_SAMPLES(120)];
    uint8_t *ref; /* a repainted synthetic picture, for PSNR */
    size_t ref_size;
};

int cq_receiver_create(struct cq_receiver **out, const cq_receiver_config_t *cfg) {
    *out = NULL;
    if (cfg->send_rtcp == NULL)
        return CQ_EINVAL;
    struct cq_receiver *r = calloc(1, sizeof *r);
    if (r == NULL)
        return CQ_ENOMEM;
    r->cfg = *cfg;
    cq_feedback_init(&r->fb, cfg->own_ssrc);
    r->fb.nack_off = cfg->no_nack;
    *out = r;
    return 0;
}

static void remote_free(remote_t *m) {
    cq_vhold_free(&m->vhold);
    free(m->vjb);
    free(m->ajb);
    cq_vp8_dec_destroy(m->vdec);
    cq_opus_dec_destroy(m->adec);
    memset(m, 0, sizeof *m);
}

void cq_receiver_destroy(struct cq_receiver *r) {
    if (r == NULL)
        return;
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES; i++)
        remote_free(&r->remotes[i]);
    free(r->ref);
    free(r);
}

void cq_receiver_set_rtt(struct cq_receiver *r, uint32_t rtt_us) {
    r->rtt_us = rtt_us;
    r->fb.rtt_us = rtt_us;
}

static int remote_new(struct cq_receiver *r) {
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES; i++)
        if (!r->remotes[i].used) {
            r->remotes[i].used = true;
            cq_lipsync_init(&r->remotes[i].sync);
            cq_vhold_init(&r->remotes[i].vhold);
            return i;
        }
    return -1;
}

static stream_t *stream_find(struct cq_receiver *r, uint32_t ssrc) {
    for (int i = 0; i < MAX_STREAMS; i++)
        if (r->streams[i].used && r->streams[i].ssrc == ssrc)
            return &r->streams[i];
    return NULL;
}

/* The remote of an RTX stream: the one its CNAME named, else the one remote with video. */
static int rtx_remote(struct cq_receiver *r, uint32_t ssrc) {
    for (int i = 0; i < MAX_STREAMS; i++)
        if (r->named[i].ssrc == ssrc && r->remotes[r->named[i].remote].used)
            return r->named[i].remote;
    int found = -1;
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES; i++)
        if (r->remotes[i].used && r->remotes[i].video_ssrc != 0) {
            if (found >= 0)
                return -1;
            found = i;
        }
    return found;
}

static stream_t *stream_new(struct cq_receiver *r, uint32_t ssrc, kind_t kind) {
    stream_t *s = NULL;
    for (int i = 0; i < MAX_STREAMS && s == NULL; i++)
        if (!r->streams[i].used)
            s = &r->streams[i];
    if (s == NULL)
        return NULL;
    int m = kind == KIND_RTX ? rtx_remote(r, ssrc) : remote_new(r);
    if (m < 0)
        return NULL;
    *s = (stream_t){.used = true, .kind = kind, .ssrc = ssrc, .remote = m};
    remote_t *rm = &r->remotes[m];
    if (kind == KIND_AUDIO)
        rm->audio_ssrc = ssrc;
    else if (kind == KIND_VIDEO)
        rm->video_ssrc = ssrc;
    return s;
}

static int video_ready(remote_t *m) {
    if (m->vjb != NULL)
        return 0;
    if ((m->vjb = calloc(1, sizeof *m->vjb)) == NULL)
        return CQ_ENOMEM;
    cq_vjb_init(m->vjb);
    m->st.has_video = true;
    m->st.psnr_min = 99;
    return cq_vp8_dec_create(&m->vdec);
}

static int audio_ready(remote_t *m) {
    if (m->ajb != NULL)
        return 0;
    if ((m->ajb = calloc(1, sizeof *m->ajb)) == NULL)
        return CQ_ENOMEM;
    cq_ajb_init(m->ajb);
    m->st.has_audio = true;
    return cq_opus_dec_create(&m->adec);
}

static void video_packet(struct cq_receiver *r, remote_t *m, const cq_rtp_view_t *v,
                         uint64_t now_us, bool repair) {
    if (video_ready(m) != 0)
        return;
    m->st.video_packets++;
    m->st.video_bytes += v->payload_len;
    bool needed = !repair || cq_vjb_wants(m->vjb, v->seq);
    m->st.video_repaired += repair && needed;
    m->st.video_repairs_unneeded += repair && !needed;
    cq_feedback_packet(&r->fb, m->video_ssrc, true, v->seq, v->marker, v->timestamp, v->payload_len,
                       repair, now_us);
    cq_vjb_put(m->vjb, v->seq, v->timestamp, v->marker, v->payload, v->payload_len);
}

/* Into the jitter buffer: an Opus packet, or a RED one's copies of earlier packets and then
 * its own. A block of another codec is not ours to play. */
static void audio_packet(remote_t *m, const cq_rtp_view_t *v, uint64_t now_us) {
    if (v->payload_type == CQ_SENDER_PT_OPUS) {
        if (cq_ajb_put(m->ajb, v->seq, v->timestamp, v->payload, v->payload_len, (int64_t)now_us) ==
            CQ_EMALFORMED)
            m->st.audio_malformed++;
        return;
    }
    cq_red_block_t b[CQ_SENDER_MAX_RED + 2];
    int n = cq_red_parse(v->payload, v->payload_len, b, sizeof b / sizeof b[0]);
    if (n <= 0) { /* (never 0: a parsed payload has its primary block) */
        m->st.audio_malformed++;
        return;
    }
    for (int i = 0; i < n - 1; i++)
        if (b[i].pt == CQ_SENDER_PT_OPUS)
            cq_ajb_put_redundant(m->ajb, v->timestamp - b[i].ts_offset, v->timestamp, b[i].data,
                                 b[i].len);
    if (b[n - 1].pt == CQ_SENDER_PT_OPUS && b[n - 1].len > 0 &&
        cq_ajb_put(m->ajb, v->seq, v->timestamp, b[n - 1].data, b[n - 1].len, (int64_t)now_us) ==
            CQ_EMALFORMED)
        m->st.audio_malformed++;
}

void cq_receiver_rtp(struct cq_receiver *r, uint8_t *pkt, size_t len, uint64_t now_us) {
    cq_rtp_view_t v;
    if (cq_rtp_parse(pkt, len, &v) < 0)
        return;
    /* Every packet the relay numbered counts for its estimate of this downlink, whatever
     * its stream or payload (repairs and probes included): recorded before anything else
     * can turn it away, and before RTX is unwrapped in place. */
    const uint8_t *data;
    size_t dlen;
    uint16_t tseq;
    if (cq_rtp_ext_find(&v, CQ_SENDER_EXT_TRANSPORT_CC, &data, &dlen) == 0 &&
        cq_rtpext_transport_cc_parse(data, dlen, &tseq) == 0)
        cq_feedback_transport_seq(&r->fb, tseq, now_us);
    /* Padding alone (the relay's bandwidth probes) carries nothing to play: it must not
     * make a stream, let alone a remote telecentre, of an SSRC not announced yet. */
    if (v.payload_len == 0)
        return;
    kind_t kind = v.payload_type == CQ_SENDER_PT_OPUS  ? KIND_AUDIO
                  : v.payload_type == CQ_SENDER_PT_RED ? KIND_AUDIO
                  : v.payload_type == CQ_SENDER_PT_VP8 ? KIND_VIDEO
                  : v.payload_type == CQ_SENDER_PT_RTX ? KIND_RTX
                                                       : (kind_t)-1;
    if ((int)kind < 0)
        return;
    stream_t *s = stream_find(r, v.ssrc);
    if (s == NULL && (s = stream_new(r, v.ssrc, kind)) == NULL)
        return;
    remote_t *m = &r->remotes[s->remote];
    if (s->kind == KIND_AUDIO) {
        if (audio_ready(m) != 0)
            return;
        m->st.audio_packets++;
        m->st.audio_bytes += v.payload_len;
        cq_feedback_packet(&r->fb, v.ssrc, false, v.seq, false, v.timestamp, v.payload_len, false,
                           now_us);
        audio_packet(m, &v, now_us);
    } else if (s->kind == KIND_VIDEO) {
        video_packet(r, m, &v, now_us, false);
    } else if (m->video_ssrc != 0) {
        size_t hl = (size_t)(v.payload - pkt);
        int n = cq_rtx_unwrap(pkt, hl, v.payload_len, CQ_SENDER_PT_VP8, m->video_ssrc);
        if (n > 0 && cq_rtp_parse(pkt, (size_t)n, &v) > 0)
            video_packet(r, m, &v, now_us, true);
    }
}

/* One stream's half of the lip sync state, from one remote to another. */
static void move_sync(remote_t *to, const remote_t *from, cq_lipsync_kind_t k) {
    to->sync.have_sr[k] = from->sync.have_sr[k];
    to->sync.sr_ntp_us[k] = from->sync.sr_ntp_us[k];
    to->sync.sr_rtp[k] = from->sync.sr_rtp[k];
    to->sync.clock[k] = from->sync.clock[k];
    to->sync.have_delay[k] = from->sync.have_delay[k];
    to->sync.delay_us[k] = from->sync.delay_us[k];
}

/* The audio half of a remote's stats: what moves with its audio stream, and what a moved
 * video stream must leave as it was. One list, so the two moves cannot disagree. */
static void copy_audio_stats(cq_receiver_remote_stats_t *t, const cq_receiver_remote_stats_t *f) {
    t->has_audio = f->has_audio;
    t->audio_packets = f->audio_packets;
    t->audio_bytes = f->audio_bytes;
    t->audio_played = f->audio_played;
    t->audio_red = f->audio_red;
    t->audio_fec = f->audio_fec;
    t->audio_malformed = f->audio_malformed;
    t->audio_concealed = f->audio_concealed;
    t->audio_stretched = f->audio_stretched;
    t->audio_gaps = f->audio_gaps;
    t->synth_fec_ok = f->synth_fec_ok;
    t->synth_fec_failed = f->synth_fec_failed;
    t->audio_hold_ms = f->audio_hold_ms;
    t->jitter_buffer_ms = f->jitter_buffer_ms;
}

static void move_audio(remote_t *to, remote_t *from) {
    move_sync(to, from, CQ_LIPSYNC_AUDIO);
    to->audio_latency = from->audio_latency;
    to->audio_hold_ms = from->audio_hold_ms;
    to->audio_ssrc = from->audio_ssrc;
    to->ajb = from->ajb;
    to->adec = from->adec;
    to->next_play_us = from->next_play_us;
    to->have_class = from->have_class;
    to->last_class = from->last_class;
    copy_audio_stats(&to->st, &from->st);
    from->audio_ssrc = 0;
    from->ajb = NULL;
    from->adec = NULL;
}

static void move_video(remote_t *to, remote_t *from) {
    /* Everything video in the stats: the audio half and the name are the target's own. */
    cq_receiver_remote_stats_t keep = to->st;
    to->st = from->st;
    to->st.telecentre = keep.telecentre;
    copy_audio_stats(&to->st, &keep);
    move_sync(to, from, CQ_LIPSYNC_VIDEO);
    to->video_latency = from->video_latency;
    to->video_hold_ms = from->video_hold_ms;
    cq_vhold_free(&to->vhold);
    to->vhold = from->vhold;
    cq_vhold_init(&from->vhold);
    to->video_ssrc = from->video_ssrc;
    to->vjb = from->vjb;
    to->vdec = from->vdec;
    to->last_frame_us = from->last_frame_us;
    to->frame_interval_us = from->frame_interval_us;
    to->waiting_keyframe = from->waiting_keyframe;
    to->decode_failures = from->decode_failures;
    from->video_ssrc = 0;
    from->vjb = NULL;
    from->vdec = NULL;
}

/* SDES says which remote an SSRC belongs to: streams first seen apart are joined under
 * their CNAME, and the CNAME names the telecentre. */
static void place(struct cq_receiver *r, uint32_t ssrc, const char *cname, size_t len) {
    if (len == 0 || len >= sizeof r->remotes[0].cname)
        return;
    int target = -1;
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES && target < 0; i++)
        if (r->remotes[i].used && strncmp(r->remotes[i].cname, cname, len) == 0 &&
            r->remotes[i].cname[len] == '\0')
            target = i;
    stream_t *s = stream_find(r, ssrc);
    if (s == NULL) {
        if (target >= 0) {
            r->named[r->next_named % MAX_STREAMS].ssrc = ssrc;
            r->named[r->next_named++ % MAX_STREAMS].remote = target;
        }
        return;
    }
    remote_t *own = &r->remotes[s->remote];
    if (own->cname[0] != '\0' && strncmp(own->cname, cname, len) == 0 && own->cname[len] == 0)
        return;
    if (target < 0) {
        /* The first CNAME of this remote. */
        memcpy(own->cname, cname, len);
        own->cname[len] = '\0';
        unsigned session, tc;
        if (sscanf(own->cname, "chasqui-%u-%u", &session, &tc) == 2)
            own->st.telecentre = tc;
        /* What came before had no name to be recorded under: a keyframe now lets a
         * recording of this telecentre start with a picture, not in the middle of one. */
        own->named_keyframe = r->cfg.on_encoded != NULL;
        return;
    }
    /* Move the stream (its buffers, state and counts) into the remote already named. */
    remote_t *to = &r->remotes[target];
    if (s->kind == KIND_AUDIO && to->audio_ssrc == 0)
        move_audio(to, own);
    else if (s->kind == KIND_VIDEO && to->video_ssrc == 0)
        move_video(to, own);
    else if (s->kind != KIND_RTX)
        return;
    int from = s->remote;
    s->remote = target;
    if (s->kind == KIND_VIDEO) {
        /* Its repairs follow it: an RTX stream placed beside the video, or named for it. */
        for (int i = 0; i < MAX_STREAMS; i++)
            if (r->streams[i].used && r->streams[i].kind == KIND_RTX &&
                r->streams[i].remote == from)
                r->streams[i].remote = target;
        for (int i = 0; i < MAX_STREAMS; i++)
            if (r->named[i].ssrc != 0 && r->named[i].remote == from)
                r->named[i].remote = target;
    }
    if (own->audio_ssrc == 0 && own->video_ssrc == 0)
        remote_free(own);
}

void cq_receiver_rtcp(struct cq_receiver *r, const uint8_t *pkt, size_t len, uint64_t now_us) {
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, pkt, len);
    while (cq_rtcp_iter_next(&it, &h) > 0) {
        cq_rtcp_sr_t sr;
        cq_rtcp_sdes_t sdes;
        if (cq_rtcp_sr_parse(&h, &sr) == 0) {
            cq_feedback_sr(&r->fb, sr.ssrc, sr.info.ntp, now_us);
            stream_t *st = stream_find(r, sr.ssrc);
            if (st != NULL && st->kind != KIND_RTX)
                cq_lipsync_sr(&r->remotes[st->remote].sync,
                              st->kind == KIND_AUDIO ? CQ_LIPSYNC_AUDIO : CQ_LIPSYNC_VIDEO,
                              sr.info.ntp, sr.info.rtp_ts);
        } else if (cq_rtcp_sdes_parse(&h, &sdes) == 0) {
            size_t pos = 0;
            cq_rtcp_sdes_chunk_t chunk;
            while (cq_rtcp_sdes_next_chunk(&sdes, &pos, &chunk) > 0) {
                cq_rtcp_sdes_item_t item;
                if (cq_rtcp_sdes_find(&sdes, chunk.ssrc, CQ_RTCP_SDES_CNAME, &item) == 0)
                    place(r, chunk.ssrc, (const char *)item.text, item.len);
            }
        }
    }
}

/* What a decoded synthetic picture says: order, latency, PSNR against a fresh paint. */
static void measure(struct cq_receiver *r, remote_t *m, const cq_i420_t *img, uint64_t now_us) {
    uint32_t n, capture_ms;
    m->st.synth_last_read = cq_synth_video_read(img->plane[0], img->stride[0], img->width,
                                                img->height, &n, &capture_ms) == 0;
    if (!m->st.synth_last_read)
        return;
    /* The same picture again is not out of order: a switch to another simulcast layer
     * starts at that layer's keyframe, which may carry the instant the old layer's last
     * frame did (the viewer sees it sharpen, not jump). */
    if (m->st.synth_frames > 0 && (int32_t)(n - m->st.synth_last_frame) < 0)
        m->st.synth_out_of_order++;
    m->st.synth_last_frame = n;
    m->st.synth_last_capture_ms = capture_ms;
    size_t ysz = (size_t)img->width * img->height;
    if (r->ref_size < ysz * 3 / 2) {
        free(r->ref);
        r->ref_size = 0;
        if ((r->ref = malloc(ysz * 3 / 2)) == NULL)
            return;
        r->ref_size = ysz * 3 / 2;
    }
    uint8_t *y = r->ref, *u = y + ysz, *v = u + ysz / 4;
    int w = (int)img->width;
    if (cq_synth_video_paint(n, capture_ms, img->width, img->height, y, w, u, w / 2, v, w / 2) != 0)
        return;
    double psnr = cq_synth_psnr(img->plane[0], img->stride[0], y, w, img->width, img->height);
    double latency = (double)(uint32_t)((uint32_t)(now_us / 1000) - capture_ms);
    m->st.synth_frames++;
    m->st.psnr_sum += psnr;
    if (psnr < m->st.psnr_min)
        m->st.psnr_min = psnr;
    m->st.latency_ms_sum += latency;
    hist_add(&m->video_latency, latency);
    if (latency > m->st.latency_ms_max)
        m->st.latency_ms_max = latency;
}

static void shown(remote_t *m, uint64_t now_us) {
    if (m->last_frame_us != 0) {
        double gap = (double)(now_us - m->last_frame_us);
        double avg = m->frame_interval_us > 0 ? m->frame_interval_us : gap;
        if (gap > 3 * avg && gap > 200000) {
            uint64_t ms = (uint64_t)(gap / 1000);
            m->st.freezes++;
            m->st.freeze_total_ms += ms;
            if (ms > m->st.freeze_longest_ms)
                m->st.freeze_longest_ms = ms;
        } else {
            m->frame_interval_us =
                m->frame_interval_us > 0 ? m->frame_interval_us * 0.9 + gap * 0.1 : gap;
        }
    }
    m->last_frame_us = now_us;
}

/* A picture reaches the screen (or the file). */
static void present(struct cq_receiver *r, remote_t *m, const cq_i420_t *img, uint32_t ts,
                    uint64_t now_us) {
    m->st.width = img->width;
    m->st.height = img->height;
    m->st.frames_shown++;
    shown(m, now_us);
    measure(r, m, img, now_us);
    cq_lipsync_played(&m->sync, CQ_LIPSYNC_VIDEO, ts, (int64_t)now_us);
    if (r->cfg.on_video)
        r->cfg.on_video(r->cfg.ctx, m->st.telecentre, img);
}

/* Moves the holds toward what lip sync measures: first undo the other stream's hold, then
 * hold the one that is ahead (audio at most CQ_LIPSYNC_MAX_AUDIO_HOLD_US: speech first). */
static void sync_tick(remote_t *m, uint64_t now_us) {
    if (m->ajb == NULL || m->vjb == NULL || now_us - m->last_sync_us < SYNC_EVERY_US)
        return;
    m->last_sync_us = now_us;
    int64_t audio_us, video_us;
    cq_lipsync_hold(&m->sync, &audio_us, &video_us);
    unsigned step_ms;
    if (video_us > SYNC_DEADBAND_US) {
        step_ms = (unsigned)(video_us / 2000);
        unsigned undo = step_ms < m->audio_hold_ms ? step_ms : m->audio_hold_ms;
        m->audio_hold_ms -= undo;
        m->video_hold_ms += step_ms - undo;
        if (m->video_hold_ms > MAX_VIDEO_HOLD_MS)
            m->video_hold_ms = MAX_VIDEO_HOLD_MS;
    } else if (audio_us > SYNC_DEADBAND_US) {
        /* Pictures later than sound may wait for (a VSAT path repairing its losses): past
         * that, holding speech buys no lip sync and only delays what matters most. */
        double behind_us = m->sync.delay_us[CQ_LIPSYNC_VIDEO] - m->sync.delay_us[CQ_LIPSYNC_AUDIO];
        if (behind_us + m->audio_hold_ms * 1000.0 > (double)CQ_LIPSYNC_MAX_AUDIO_HOLD_US) {
            m->audio_hold_ms = 0;
        } else {
            step_ms = (unsigned)(audio_us / 2000);
            unsigned undo = step_ms < m->video_hold_ms ? step_ms : m->video_hold_ms;
            m->video_hold_ms -= undo;
            m->audio_hold_ms += step_ms - undo;
        }
    }
    cq_ajb_set_hold_ms(m->ajb, m->audio_hold_ms);
    m->st.audio_hold_ms = m->audio_hold_ms;
    m->st.video_hold_ms = m->video_hold_ms;
    if (m->sync.have_delay[CQ_LIPSYNC_AUDIO] && m->sync.have_delay[CQ_LIPSYNC_VIDEO])
        m->st.av_offset_ms =
            (int)((m->sync.delay_us[CQ_LIPSYNC_AUDIO] - m->sync.delay_us[CQ_LIPSYNC_VIDEO]) / 1000);
}

static void video_tick(struct cq_receiver *r, remote_t *m, uint64_t now_us) {
    /* A lost packet is worth two round trips of waiting: its NACK and the RTX, and when
     * the relay lost it too, the relay's own NACK to the publisher first, which it sends
     * as soon as it sees the gap; then slack for a repair that comes late behind video in
     * a queue (a second request goes after 1.5 round trips: its repair fits only on round
     * trips under about 80 ms). Only a lost TL0 frame waits that long (client/vjb.h), and
     * giving it up costs a keyframe, more than a round trip again: at 1.5 round trips
     * radio-3 gave up 1-4 TL0 frames a 30 s run, and froze 1.0-2.0 s now and then. On a
     * short round trip two round trips are still far less than that keyframe (its request,
     * the encoder's next frame, and 10-15 kB through both links: 600-900 ms on radio), so
     * the wait is never under TL0_WAIT_MIN_US: a third request fits in it. */
    int64_t wait = r->rtt_us ? (int64_t)r->rtt_us * 2 + 50000 : 100000;
    if (wait < TL0_WAIT_MIN_US)
        wait = TL0_WAIT_MIN_US;
    cq_vp8_frame_info_t info;
    int n;
    while ((n = cq_vjb_pop(m->vjb, (int64_t)now_us, wait, r->frame, sizeof r->frame, &info)) > 0) {
        if (r->cfg.on_encoded)
            r->cfg.on_encoded(r->cfg.ctx, m->st.telecentre, r->frame, (size_t)n, info.ts);
        cq_i420_t img;
        if (cq_vp8_dec_decode(m->vdec, r->frame, (size_t)n, &img) != 0) {
            m->decode_failures++;
            continue;
        }
        m->st.frames_decoded++;
        m->st.keyframes += info.keyframe;
        if (info.keyframe)
            m->named_keyframe = false;
        if (m->video_hold_ms == 0 && cq_vhold_count(&m->vhold) == 0) {
            present(r, m, &img, info.ts, now_us);
            continue;
        }
        /* Lip sync holds the picture until its sound plays; a full line, or a new size,
         * lets the held ones out now rather than lose them. */
        uint64_t due = now_us + (uint64_t)m->video_hold_ms * 1000u;
        int rc = cq_vhold_push(&m->vhold, &img, info.ts, due);
        if (rc == CQ_EAGAIN || rc == CQ_ENOBUFS) {
            cq_i420_t held;
            uint32_t ts;
            bool all = rc == CQ_EAGAIN;
            while (cq_vhold_pop(&m->vhold, now_us, true, &held, &ts)) {
                present(r, m, &held, ts, now_us);
                if (!all)
                    break;
            }
            rc = cq_vhold_push(&m->vhold, &img, info.ts, due);
        }
        if (rc != 0)
            present(r, m, &img, info.ts, now_us); /* no memory to hold it: show it now */
    }
    cq_i420_t held;
    uint32_t ts;
    while (cq_vhold_pop(&m->vhold, now_us, false, &held, &ts))
        present(r, m, &held, ts, now_us);
    bool want =
        cq_vjb_wants_keyframe(m->vjb) || cq_vp8_dec_needs_keyframe(m->vdec) || m->named_keyframe;
    if (want != m->waiting_keyframe) {
        m->waiting_keyframe = want;
        m->st.plis_wanted += want;
        cq_feedback_want_keyframe(&r->fb, m->video_ssrc, want);
    }
}

/*
 * Synthetic sound carries its frame number in its pitch (client/synth.h), so a frame
 * rebuilt for a lost packet can be judged: it was truly recovered when it has the lost
 * frame's pitch. libopus 1.3 decodes "FEC" whether or not the next packet carried any, so
 * this is the only honest count of what FEC brought back. Real sound has no such pitch;
 * its counts stay 0.
 */
static void judge_synth(remote_t *m, cq_ajb_action_t a, const int16_t *pcm) {
    if (a == CQ_AJB_STRETCH || a == CQ_AJB_GAP)
        return; /* no frame's turn went by */
    /* The decoder's output lags its input by a few milliseconds (Opus's look-ahead): the
     * second half of a frame is the frame's own tone, the first half partly the one before. */
    int c = cq_synth_audio_class(pcm + CQ_AJB_FRAME / 2, CQ_AJB_FRAME / 2);
    if (a == CQ_AJB_PLAY || a == CQ_AJB_RED) { /* a RED copy is the packet's own data */
        m->have_class = c >= 0;
        m->last_class = c;
        return;
    }
    if (!m->have_class)
        return;
    int expected = (m->last_class + 1) % CQ_SYNTH_AUDIO_CLASSES;
    if (a == CQ_AJB_FEC) {
        if (c == expected)
            m->st.synth_fec_ok++;
        else
            m->st.synth_fec_failed++;
    }
    m->last_class = expected; /* the lost frame's turn went by */
}

static void audio_tick(struct cq_receiver *r, remote_t *m, uint64_t now_us) {
    if (m->next_play_us == 0)
        m->next_play_us = now_us;
    /* At most 10 frames a tick: a stalled caller catches up without a loop of seconds. */
    for (int k = 0; k < 10 && m->next_play_us <= now_us; k++) {
        const uint8_t *pkt = NULL;
        size_t len = 0;
        unsigned samples = CQ_AJB_FRAME;
        cq_ajb_action_t a = cq_ajb_get(m->ajb, (int64_t)now_us, &pkt, &len, &samples);
        int n = 0;
        if (a == CQ_AJB_PLAY || a == CQ_AJB_RED) {
            n = cq_opus_dec_decode(m->adec, pkt, len, r->pcm, sizeof r->pcm / sizeof r->pcm[0]);
            uint32_t ts = m->ajb->play_ts - samples;
            cq_lipsync_played(&m->sync, CQ_LIPSYNC_AUDIO, ts, (int64_t)now_us);
            if (m->sync.have_sr[CQ_LIPSYNC_AUDIO]) {
                /* Mouth to ear: captured per the sender's reports, played now (one clock
                 * for both ends, as for the pictures' latency). */
                double captured =
                    (double)m->sync.sr_ntp_us[CQ_LIPSYNC_AUDIO] +
                    (double)(int32_t)(ts - m->sync.sr_rtp[CQ_LIPSYNC_AUDIO]) * 1e6 / CQ_OPUS_RATE;
                hist_add(&m->audio_latency, ((double)now_us - captured) / 1000.0);
            }
        } else if (a == CQ_AJB_FEC || a == CQ_AJB_CONCEAL || a == CQ_AJB_STRETCH || a == CQ_AJB_GAP)
            n = cq_opus_dec_recover(m->adec, a == CQ_AJB_FEC ? pkt : NULL, len, samples, r->pcm,
                                    NULL);
        if (n == CQ_AJB_FRAME)
            judge_synth(m, a, r->pcm);
        if (n <= 0) {
            /* Nothing yet, or a packet libopus refused: silence of one frame. */
            n = CQ_AJB_FRAME;
            memset(r->pcm, 0, (size_t)n * sizeof r->pcm[0]);
        } else {
            /* Counted in 20 ms frames whatever the packets carry, so figures from
             * senders of 20, 40 and 60 ms packets compare. */
            uint64_t frames = ((unsigned)n + CQ_AJB_FRAME / 2) / CQ_AJB_FRAME;
            m->st.audio_played += a == CQ_AJB_PLAY ? frames : 0;
            m->st.audio_red += a == CQ_AJB_RED ? frames : 0;
            m->st.audio_fec += a == CQ_AJB_FEC ? frames : 0;
            m->st.audio_concealed += a == CQ_AJB_CONCEAL ? frames : 0;
            m->st.audio_stretched += a == CQ_AJB_STRETCH ? frames : 0;
            m->st.audio_gaps += a == CQ_AJB_GAP ? frames : 0;
        }
        m->next_play_us += (uint64_t)n * 1000000u / CQ_OPUS_RATE;
        if (r->cfg.on_audio)
            r->cfg.on_audio(r->cfg.ctx, m->st.telecentre, r->pcm, (size_t)n);
    }
    m->st.jitter_buffer_ms = cq_ajb_target_ms(m->ajb);
}

void cq_receiver_tick(struct cq_receiver *r, uint64_t now_us) {
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES; i++) {
        remote_t *m = &r->remotes[i];
        if (m->used && m->vjb != NULL)
            video_tick(r, m, now_us);
        if (m->used && m->ajb != NULL)
            audio_tick(r, m, now_us);
        if (m->used)
            sync_tick(m, now_us);
    }
    int n = cq_feedback_build(&r->fb, now_us, r->rtcp, sizeof r->rtcp);
    if (n > 0)
        r->cfg.send_rtcp(r->cfg.ctx, r->rtcp, (size_t)n);
}

size_t cq_receiver_stats(const struct cq_receiver *r, cq_receiver_remote_stats_t *out, size_t max) {
    size_t n = 0;
    for (int i = 0; i < CQ_RECEIVER_MAX_REMOTES; i++)
        if (r->remotes[i].used) {
            const remote_t *m = &r->remotes[i];
            if (n < max) {
                out[n] = m->st;
                /* Given up in the jitter buffer, or refused by the decoder. */
                /* A packet that came after its time was a loss to the listener. */
                if (m->ajb != NULL) {
                    out[n].audio_concealed += m->ajb->late;
                    out[n].audio_dropped = m->ajb->shrunk;
                }
                const cq_nack_tracker_t *t = cq_feedback_nacks(&r->fb, m->video_ssrc);
                if (t != NULL && t->recovered > 0) {
                    out[n].video_holes_filled = t->recovered;
                    out[n].video_repair_wait_ms_avg =
                        (unsigned)(t->recovered_wait_us / t->recovered / 1000);
                    out[n].video_repair_wait_ms_max = (unsigned)(t->recovered_wait_max_us / 1000);
                }
                out[n].audio_latency_ms_p50 = hist_pct(&m->audio_latency, 50);
                out[n].audio_latency_ms_p95 = hist_pct(&m->audio_latency, 95);
                out[n].video_latency_ms_p50 = hist_pct(&m->video_latency, 50);
                out[n].video_latency_ms_p95 = hist_pct(&m->video_latency, 95);
                if (m->vjb != NULL) {
                    out[n].frames_dropped =
                        m->vjb->skipped + m->vjb->undecodable + m->decode_failures;
                    out[n].gaps_passed = m->vjb->passed;
                }
            }
            n++;
        }
    return n;
}
