#include "tools/bench/gen.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "codec/vp8_desc.h"
#include "rtp/bytes.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "tools/bench/sys.h"
#include "tools/bench/thread.h"

#define AUDIO_PT 111
#define VIDEO_PT 96
/* Frames one stream may send in one pass when it runs behind: the rest wait a pass, so
 * one late stream cannot starve the others. */
#define MAX_FRAMES_PER_PASS 8
/* How long the thread naps while paused. */
#define IDLE_NS 1000000u
/* VP8 frame tags (RFC 6386 §9.1): a keyframe (P = 0) with its start code and a 320x180
 * size, and an interframe; show_frame set in both. */
static const uint8_t keyframe_tag[CQ_VP8_KEYFRAME_HEADER_SIZE] = {0x10, 0x02, 0x00, 0x9d, 0x01,
                                                                  0x2a, 0x40, 0x01, 0xb4, 0x00};
static const uint8_t interframe_tag[CQ_VP8_FRAME_TAG_SIZE] = {0x11, 0x02, 0x00};
/* TID of each frame of VP8's three-layer pattern. */
static const uint8_t temporal_pattern[4] = {0, 2, 1, 2};

/* Toward which forwarder: each has its own sequence numbers and SRTP context, so each
 * sees continuous streams however the run alternates between them. */
enum { TO_RELAY, TO_LIMIT, TARGETS };

struct publisher {
    cq_bench_ep_t *ep;
    cq_udp_sendq_t *q;
    cq_srtp_t limit_tx; /* toward the limit forwarder (the relay's is ep->tx) */
    bool limit_tx_ready;
    uint16_t transport_seq; /* one counter across its streams */
};

struct stream {
    const cq_bench_stream_t *def;
    struct publisher *pub;
    uint8_t
        tmpl[CQ_BENCH_VIDEO_SIZE > CQ_BENCH_AUDIO_SIZE ? CQ_BENCH_VIDEO_SIZE : CQ_BENCH_AUDIO_SIZE];
    size_t header_len;           /* RTP header with its extensions */
    size_t tcc_at, send_time_at; /* where the extension values sit */
    uint32_t ts_step;            /* RTP clock per frame */
    double frame_s;              /* media seconds per frame */
    uint16_t seq[TARGETS];
    uint32_t ts;
    uint16_t picture_id; /* 15 bits */
    uint8_t tl0picidx;
    uint64_t frame;
    uint64_t next_ns, interval_ns;
    uint64_t sent[TARGETS]; /* packets queued toward each forwarder */
};

struct cq_bench_gen {
    const cq_bench_scenario_t *sc;
    struct publisher *pubs;
    size_t npubs;
    struct stream *streams;
    size_t nstreams;
    cq_bench_thread_t thread;

    /* Control: the main thread writes under lock and bumps epoch; the thread applies it
     * and publishes applied. */
    pthread_mutex_t lock;
    atomic_uint epoch, applied;
    double want_speed;
    bool want_limit;
    cq_udp_addr_t want_limit_addr;

    /* What the thread owns. */
    double speed;
    int target; /* TO_RELAY or TO_LIMIT */
    uint64_t expected, max_lag_ns;

    /* Published for the main thread. */
    atomic_uint_fast64_t out_packets, out_expected, out_dropped, out_lag, out_min_video;
};

/* ---- templates ------------------------------------------------------------------------ */

static int build_template(struct stream *st, uint8_t pt) {
    const cq_bench_stream_t *d = st->def;
    uint8_t tcc[CQ_RTPEXT_TRANSPORT_CC_SIZE] = {0}, level = 0;
    uint8_t send_time[CQ_BENCH_EXT_SEND_TIME_SIZE] = {0};
    cq_rtpext_audio_level_t al = {.voice = true, .level = 30};
    if (cq_rtpext_audio_level_write(&al, &level, 1) != 1)
        return CQ_EINVAL;
    cq_rtp_ext_t exts[3] = {
        {CQ_RTPEXT_ID_TRANSPORT_CC, sizeof tcc, tcc},
        {CQ_BENCH_EXT_SEND_TIME, sizeof send_time, send_time},
        {CQ_RTPEXT_ID_AUDIO_LEVEL, CQ_RTPEXT_AUDIO_LEVEL_SIZE, &level},
    };
    cq_rtp_header_t h = {.payload_type = pt, .ssrc = d->ssrc};
    int n = cq_rtp_header_write(&h, exts, d->video ? 2 : 3, st->tmpl, sizeof st->tmpl);
    if (n <= 0 || (size_t)n + CQ_VP8_DESC_MAX_SIZE + CQ_VP8_KEYFRAME_HEADER_SIZE >= d->size)
        return CQ_EINVAL;
    st->header_len = (size_t)n;
    /* The body: bytes that change along the packet, so nothing compresses it away. */
    for (size_t k = st->header_len; k < d->size; k++)
        st->tmpl[k] = (uint8_t)(k * 31u + d->ssrc);
    cq_rtp_view_t v;
    const uint8_t *at;
    size_t len;
    if (cq_rtp_parse(st->tmpl, d->size, &v) < 0 ||
        cq_rtp_ext_find(&v, CQ_RTPEXT_ID_TRANSPORT_CC, &at, &len) != 0)
        return CQ_EINVAL;
    st->tcc_at = (size_t)(at - st->tmpl);
    if (cq_rtp_ext_find(&v, CQ_BENCH_EXT_SEND_TIME, &at, &len) != 0)
        return CQ_EINVAL;
    st->send_time_at = (size_t)(at - st->tmpl);
    return 0;
}

static int prepare(struct cq_bench_gen *g) {
    const cq_bench_scenario_t *sc = g->sc;
    for (size_t mi = 0; mi < sc->nmembers; mi++) {
        const cq_bench_member_t *m = &sc->members[mi];
        if (m->nstreams == 0)
            continue;
        struct publisher *p = &g->pubs[g->npubs++];
        for (unsigned si = 0; si < m->nstreams; si++) {
            struct stream *st = &g->streams[g->nstreams++];
            st->def = &m->streams[si];
            st->pub = p;
            st->frame_s = 1.0 / st->def->frame_rate;
            st->ts_step = st->def->video ? (uint32_t)(90000.0 * st->frame_s) : 960u;
            st->seq[TO_RELAY] = (uint16_t)(st->def->ssrc * 7u);
            st->seq[TO_LIMIT] = (uint16_t)(st->def->ssrc * 11u);
            int err = build_template(st, st->def->video ? VIDEO_PT : AUDIO_PT);
            if (err != 0)
                return err;
        }
    }
    return 0;
}

/* ---- sending ---------------------------------------------------------------------------- */

/* Writes packet k of the stream's current frame, toward target, into slot; returns its
 * plain length. */
static size_t write_packet(struct stream *st, int target, uint8_t *slot, unsigned k) {
    const cq_bench_stream_t *d = st->def;
    memcpy(slot, st->tmpl, d->size);
    cq_rtp_set_seq(slot, st->seq[target]++);
    cq_rtp_set_timestamp(slot, st->ts);
    bool last = k + 1 == d->frame_packets;
    cq_rtp_set_marker(slot, d->video && last);
    cq_store_be16(slot + st->tcc_at, st->pub->transport_seq++);
    cq_store_be64(slot + st->send_time_at, cq_bench_real_ns());
    if (!d->video)
        return d->size;
    unsigned phase = (unsigned)(st->frame % 4);
    uint8_t tid = temporal_pattern[phase];
    cq_vp8_desc_t desc = {.extended = true,
                          .start = k == 0,
                          .has_picture_id = true,
                          .picture_id_15bit = true,
                          .picture_id = st->picture_id,
                          .has_tl0picidx = true,
                          .has_tid = true,
                          .tl0picidx = st->tl0picidx,
                          .tid = tid,
                          /* Frames right after a TL0 frame, and every TID 1 frame, depend
                           * on TL0 alone: a receiver may climb a layer there. */
                          .y = tid != 0 && (phase == 1 || tid == 1)};
    uint8_t *payload = slot + st->header_len;
    int n = cq_vp8_desc_write(&desc, payload, CQ_VP8_DESC_MAX_SIZE);
    if (k == 0 && n > 0) {
        bool key = st->frame % d->keyframe_frames == 0;
        if (key)
            memcpy(payload + n, keyframe_tag, sizeof keyframe_tag);
        else
            memcpy(payload + n, interframe_tag, sizeof interframe_tag);
    }
    return d->size;
}

/* Sends the stream's next frame; returns the packets queued. */
static unsigned send_frame(struct cq_bench_gen *g, struct stream *st) {
    const cq_bench_stream_t *d = st->def;
    struct publisher *p = st->pub;
    if (d->video) {
        /* TL0PICIDX counts TID 0 frames: it changes with each one. */
        if (st->frame % 4 == 0 && st->frame != 0)
            st->tl0picidx++;
    }
    unsigned queued = 0;
    cq_srtp_t *tx = g->target == TO_LIMIT ? &p->limit_tx : &p->ep->tx;
    for (unsigned k = 0; k < d->frame_packets; k++) {
        uint8_t *slot = cq_udp_sendq_slot(p->q);
        size_t len = write_packet(st, g->target, slot, k);
        if (cq_srtp_protect(tx, slot, &len, CQ_UDP_SLOT_SIZE) != 0 ||
            cq_udp_sendq_commit(p->q, len, &p->ep->to) != 0)
            continue;
        g->expected += d->ndest;
        st->sent[g->target]++;
        queued++;
    }
    st->ts += st->ts_step;
    st->picture_id = (uint16_t)((st->picture_id + 1) & 0x7fff);
    st->frame++;
    return queued;
}

/* Applies a change from the main thread: speed and destination, then a fresh schedule,
 * streams spread over one frame interval so they do not all burst at once. */
static void apply(struct cq_bench_gen *g) {
    pthread_mutex_lock(&g->lock);
    g->speed = g->want_speed;
    g->target = g->want_limit ? TO_LIMIT : TO_RELAY;
    for (size_t i = 0; i < g->npubs; i++)
        g->pubs[i].ep->to = g->want_limit ? g->want_limit_addr : g->pubs[i].ep->relay;
    unsigned epoch = atomic_load(&g->epoch);
    pthread_mutex_unlock(&g->lock);
    uint64_t now = cq_bench_mono_ns();
    for (size_t i = 0; i < g->nstreams; i++) {
        struct stream *st = &g->streams[i];
        st->interval_ns = g->speed > 0 ? (uint64_t)(st->frame_s * 1e9 / g->speed) : 0;
        st->next_ns = now + st->interval_ns * i / (g->nstreams ? g->nstreams : 1);
    }
    g->max_lag_ns = 0;
    atomic_store(&g->applied, epoch);
}

static void publish_counters(struct cq_bench_gen *g) {
    uint64_t sent = 0, dropped = 0;
    for (size_t i = 0; i < g->npubs; i++) {
        sent += g->pubs[i].q->sent;
        dropped += g->pubs[i].q->dropped_full + g->pubs[i].q->dropped_error;
    }
    atomic_store_explicit(&g->out_packets, sent, memory_order_relaxed);
    atomic_store_explicit(&g->out_dropped, dropped, memory_order_relaxed);
    atomic_store_explicit(&g->out_expected, g->expected, memory_order_relaxed);
    atomic_store_explicit(&g->out_lag, g->max_lag_ns, memory_order_relaxed);
    uint64_t min_video = UINT64_MAX;
    for (size_t i = 0; i < g->nstreams; i++)
        if (g->streams[i].def->video && g->streams[i].sent[TO_RELAY] < min_video)
            min_video = g->streams[i].sent[TO_RELAY];
    atomic_store_explicit(&g->out_min_video, min_video == UINT64_MAX ? 0 : min_video,
                          memory_order_relaxed);
}

/* One pass: every stream sends the frames due by now; returns when the next one is due. */
static uint64_t pass(struct cq_bench_gen *g) {
    uint64_t now = cq_bench_mono_ns(), next = UINT64_MAX;
    for (size_t i = 0; i < g->nstreams; i++) {
        struct stream *st = &g->streams[i];
        for (int f = 0; f < MAX_FRAMES_PER_PASS && st->next_ns <= now; f++) {
            /* Each frame leaves as soon as it is made, as an encoder's would: the send
             * time stamped in it is then within a few packets of the real one. */
            send_frame(g, st);
            cq_udp_sendq_flush(st->pub->q);
            st->next_ns += st->interval_ns;
        }
        if (st->next_ns <= now && now - st->next_ns > g->max_lag_ns)
            g->max_lag_ns = now - st->next_ns;
        if (st->next_ns < next)
            next = st->next_ns;
    }
    publish_counters(g);
    return next;
}

static void thread_main(void *arg) {
    struct cq_bench_gen *g = arg;
    while (cq_bench_thread_running(&g->thread)) {
        if (atomic_load(&g->epoch) != atomic_load(&g->applied))
            apply(g);
        if (g->speed <= 0) {
            cq_bench_sleep_ns(IDLE_NS);
            continue;
        }
        uint64_t next = pass(g);
        /* Bounded, so a change from the main thread is seen soon even at low speeds. */
        uint64_t cap = cq_bench_mono_ns() + 2 * IDLE_NS;
        cq_bench_sleep_until(next < cap ? next : cap);
    }
}

/* ---- control ------------------------------------------------------------------------------ */

static void close_publisher(struct publisher *p) {
    if (p->limit_tx_ready)
        cq_srtp_close(&p->limit_tx);
    free(p->q);
}

int cq_bench_gen_create(struct cq_bench_gen **out, const cq_bench_scenario_t *s,
                        cq_bench_ep_t *eps) {
    struct cq_bench_gen *g = calloc(1, sizeof *g);
    if (g == NULL)
        return CQ_ENOMEM;
    g->sc = s;
    size_t npubs = 0, nstreams = 0;
    for (size_t mi = 0; mi < s->nmembers; mi++) {
        npubs += s->members[mi].nstreams > 0;
        nstreams += s->members[mi].nstreams;
    }
    int err = CQ_ENOMEM;
    g->pubs = calloc(npubs ? npubs : 1, sizeof *g->pubs);
    g->streams = calloc(nstreams ? nstreams : 1, sizeof *g->streams);
    if (g->pubs == NULL || g->streams == NULL || pthread_mutex_init(&g->lock, NULL) != 0)
        goto fail;
    if ((err = prepare(g)) != 0)
        goto fail_lock;
    size_t pi = 0;
    for (size_t mi = 0; mi < s->nmembers; mi++) {
        if (s->members[mi].nstreams == 0)
            continue;
        struct publisher *p = &g->pubs[pi++];
        p->ep = &eps[mi];
        const cq_relay_participant_params_t *params = &s->members[mi].params;
        uint8_t key[CQ_SRTP_MAX_KEY_LEN];
        cq_bench_scenario_limit_key(params, key);
        if ((err = cq_srtp_init(&p->limit_tx, params->suite, CQ_SRTP_OUTBOUND, key,
                                cq_srtp_key_len(params->suite), 0)) != 0)
            goto fail_lock;
        p->limit_tx_ready = true;
        /* The queue holds 64-byte aligned slots: its storage must be aligned as much. */
        size_t qsize = (sizeof *p->q + 63u) / 64u * 64u;
        p->q = aligned_alloc(64, qsize);
        if (p->q == NULL) {
            err = CQ_ENOMEM;
            goto fail_lock;
        }
        cq_udp_sendq_init(p->q, &p->ep->udp);
    }
    *out = g;
    return 0;
fail_lock:
    pthread_mutex_destroy(&g->lock);
fail:
    for (size_t i = 0; g->pubs != NULL && i < g->npubs; i++)
        close_publisher(&g->pubs[i]);
    free(g->pubs);
    free(g->streams);
    free(g);
    return err;
}

int cq_bench_gen_start(struct cq_bench_gen *g) {
    return cq_bench_thread_start(&g->thread, "cq-bench-gen", CQ_BENCH_ALLOCS_BENCH, thread_main, g);
}

void cq_bench_gen_set(struct cq_bench_gen *g, double speed, const cq_udp_addr_t *limit) {
    pthread_mutex_lock(&g->lock);
    g->want_speed = speed;
    g->want_limit = limit != NULL;
    if (limit != NULL)
        g->want_limit_addr = *limit;
    unsigned epoch = atomic_fetch_add(&g->epoch, 1) + 1;
    pthread_mutex_unlock(&g->lock);
    if (!g->thread.started)
        return;
    while (atomic_load(&g->applied) != epoch)
        cq_bench_sleep_ns(50000u);
}

void cq_bench_gen_counters(struct cq_bench_gen *g, cq_bench_gen_counters_t *out) {
    out->packets = atomic_load_explicit(&g->out_packets, memory_order_relaxed);
    out->expected = atomic_load_explicit(&g->out_expected, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&g->out_dropped, memory_order_relaxed);
    out->max_lag_ns = atomic_load_explicit(&g->out_lag, memory_order_relaxed);
    out->min_video_to_relay = atomic_load_explicit(&g->out_min_video, memory_order_relaxed);
    out->cpu_ns = cq_bench_thread_cpu_ns(&g->thread);
}

void cq_bench_gen_destroy(struct cq_bench_gen *g) {
    if (g == NULL)
        return;
    cq_bench_thread_stop(&g->thread);
    pthread_mutex_destroy(&g->lock);
    for (size_t i = 0; i < g->npubs; i++)
        close_publisher(&g->pubs[i]);
    free(g->pubs);
    free(g->streams);
    free(g);
}
