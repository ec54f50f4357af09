#include "tools/bench/scenario.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/error.h"

/* Layer bitrates (kbit/s), lowest first, of the three kinds of publisher. */
static const unsigned fanout_kbps[] = {900};
static const unsigned conference_kbps[] = {150, 450};
static const unsigned presenter_kbps[] = {100, 300, 900};

/* VP8's temporal pattern repeats every 4 frames (TID 0, 2, 1, 2): keyframes start one. */
#define TEMPORAL_PATTERN 4

const char *cq_bench_scenario_name(cq_bench_kind_t kind) {
    switch (kind) {
    case CQ_BENCH_FANOUT:
        return "fanout";
    case CQ_BENCH_CONFERENCE:
        return "conference";
    case CQ_BENCH_BROADCAST:
        return "broadcast";
    }
    return NULL;
}

int cq_bench_scenario_from_name(const char *name, cq_bench_kind_t *kind) {
    for (int k = CQ_BENCH_FANOUT; k <= CQ_BENCH_BROADCAST; k++) {
        if (strcmp(name, cq_bench_scenario_name((cq_bench_kind_t)k)) == 0) {
            *kind = (cq_bench_kind_t)k;
            return 0;
        }
    }
    return CQ_EINVAL;
}

/* Members in one session: the publisher and its receivers, or the telecentres. */
static unsigned per_session(cq_bench_kind_t kind, unsigned size) {
    return kind == CQ_BENCH_CONFERENCE ? size : size + 1;
}

/* Credentials and keys that differ for every member and direction. */
static void fill_identity(cq_relay_participant_params_t *p, uint32_t session, uint32_t id,
                          cq_srtp_suite_t suite) {
    p->id = id;
    p->suite = suite;
    p->subscribe_all = true;
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "bench-%u-%u", (unsigned)session, (unsigned)id);
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "chasqui-bench-password-%u-%u", (unsigned)session,
             (unsigned)id);
    uint64_t x = ((uint64_t)session << 32 | id) * 0x9e3779b97f4a7c15ull + 1;
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        p->key_in[k] = (uint8_t)(x >> 24);
        p->key_out[k] = (uint8_t)(x >> 40);
    }
}

/* SSRCs: a block of 16 per member, unique across the whole scenario. */
static uint32_t ssrc_base(uint32_t session, uint32_t id) {
    return 0x10000000u + (session << 18) + (id << 4);
}

static cq_bench_stream_t audio_stream(uint32_t ssrc) {
    return (cq_bench_stream_t){.ssrc = ssrc,
                               .size = CQ_BENCH_AUDIO_SIZE,
                               .frame_packets = 1,
                               .frame_rate = CQ_BENCH_AUDIO_PPS};
}

/* A layer of kbps in packets of CQ_BENCH_VIDEO_SIZE: as many a frame as keeps the frame
 * rate at CQ_BENCH_VIDEO_FPS or below, and as few frames a second as the bitrate needs. */
static cq_bench_stream_t video_stream(uint32_t ssrc, uint8_t layer, unsigned kbps) {
    double pps = kbps * 1000.0 / 8.0 / CQ_BENCH_VIDEO_SIZE;
    unsigned per_frame = (unsigned)ceil(pps / CQ_BENCH_VIDEO_FPS);
    if (per_frame == 0)
        per_frame = 1;
    double fps = pps / per_frame;
    unsigned key = (unsigned)ceil(fps * CQ_BENCH_KEYFRAME_S / TEMPORAL_PATTERN) * TEMPORAL_PATTERN;
    return (cq_bench_stream_t){.video = true,
                               .layer = layer,
                               .ssrc = ssrc,
                               .size = CQ_BENCH_VIDEO_SIZE,
                               .frame_packets = per_frame,
                               .frame_rate = fps,
                               .keyframe_frames = key ? key : TEMPORAL_PATTERN};
}

/* Makes m a publisher of sound and the given simulcast layers. */
static void publish(cq_bench_member_t *m, const unsigned *kbps, unsigned layers) {
    cq_relay_participant_params_t *p = &m->params;
    uint32_t base = ssrc_base(m->session, p->id);
    p->audio_ssrc = base + 1;
    m->streams[m->nstreams++] = audio_stream(p->audio_ssrc);
    p->video_layers = layers;
    for (unsigned l = 0; l < layers; l++) {
        p->video_ssrc[l] = base + 2 + l;
        p->video_rtx_ssrc[l] = base + 8 + l;
        m->streams[m->nstreams++] = video_stream(p->video_ssrc[l], (uint8_t)l, kbps[l]);
    }
}

/* Whether member r (index within its session) receives stream st of member p. */
static bool receives(cq_bench_kind_t kind, unsigned p, unsigned r, const cq_bench_stream_t *st,
                     const cq_bench_member_t *rm) {
    if (p == r)
        return false;
    switch (kind) {
    case CQ_BENCH_FANOUT:
        return true;
    case CQ_BENCH_CONFERENCE:
    case CQ_BENCH_BROADCAST:
        return !st->video || (int)st->layer == rm->prefs.max_spatial;
    }
    return false;
}

static void set_members(cq_bench_scenario_t *s) {
    unsigned n = per_session(s->kind, s->size);
    for (unsigned se = 0; se < s->sessions; se++) {
        for (unsigned i = 0; i < n; i++) {
            cq_bench_member_t *m = &s->members[se * n + i];
            m->session = se + 1;
            fill_identity(&m->params, m->session, i + 1, s->suite);
            switch (s->kind) {
            case CQ_BENCH_FANOUT:
                if (i == 0)
                    publish(m, fanout_kbps, 1);
                break;
            case CQ_BENCH_CONFERENCE:
                publish(m, conference_kbps, 2);
                m->has_prefs = true;
                m->pref_publisher = CQ_RELAY_ALL_PUBLISHERS;
                m->prefs = (cq_relay_layer_prefs_t){.max_spatial = 0, .max_temporal = 3};
                break;
            case CQ_BENCH_BROADCAST:
                if (i == 0) {
                    publish(m, presenter_kbps, 3);
                } else {
                    m->has_prefs = true;
                    m->pref_publisher = 1;
                    m->prefs = (cq_relay_layer_prefs_t){.max_spatial = (int)((i - 1) % 3),
                                                        .max_temporal = 3};
                }
                break;
            }
            /* See scenario.h: those who send nothing subscribe one by one. */
            m->params.subscribe_all = m->nstreams > 0;
        }
    }
}

/* Fills each stream's receivers; with dests NULL only counts them. */
static size_t route(cq_bench_scenario_t *s, uint32_t *dests) {
    unsigned n = per_session(s->kind, s->size);
    size_t k = 0;
    for (size_t mi = 0; mi < s->nmembers; mi++) {
        cq_bench_member_t *m = &s->members[mi];
        size_t first = mi - mi % n; /* this session's first member */
        for (unsigned si = 0; si < m->nstreams; si++) {
            cq_bench_stream_t *st = &m->streams[si];
            st->dest0 = (unsigned)k;
            for (unsigned r = 0; r < n; r++) {
                if (!receives(s->kind, (unsigned)(mi - first), r, st, &s->members[first + r]))
                    continue;
                if (dests != NULL)
                    dests[k] = (uint32_t)(first + r);
                k++;
            }
            st->ndest = (unsigned)(k - st->dest0);
        }
    }
    return k;
}

int cq_bench_scenario_create(cq_bench_scenario_t *s, cq_bench_kind_t kind, unsigned size,
                             unsigned sessions, cq_srtp_suite_t suite) {
    memset(s, 0, sizeof *s);
    if (cq_bench_scenario_name(kind) == NULL || size == 0 || size > CQ_BENCH_MAX_SIZE ||
        sessions == 0 || sessions > 64 || cq_srtp_key_len(suite) == 0 ||
        (kind == CQ_BENCH_CONFERENCE && size < 2))
        return CQ_EINVAL;
    s->kind = kind;
    s->size = size;
    s->sessions = sessions;
    s->suite = suite;
    s->nmembers = (size_t)per_session(kind, size) * sessions;
    s->members = calloc(s->nmembers, sizeof *s->members);
    if (s->members == NULL)
        return CQ_ENOMEM;
    set_members(s);
    s->ndests = route(s, NULL);
    s->dests = calloc(s->ndests ? s->ndests : 1, sizeof *s->dests);
    if (s->dests == NULL) {
        cq_bench_scenario_close(s);
        return CQ_ENOMEM;
    }
    route(s, s->dests);
    for (size_t mi = 0; mi < s->nmembers; mi++) {
        const cq_bench_member_t *m = &s->members[mi];
        for (unsigned si = 0; si < m->nstreams; si++) {
            double pps = m->streams[si].frame_rate * m->streams[si].frame_packets;
            s->in_pps += pps;
            s->out_pps += pps * m->streams[si].ndest;
        }
    }
    return 0;
}

void cq_bench_scenario_limit_key(const cq_relay_participant_params_t *p,
                                 uint8_t key[CQ_SRTP_MAX_KEY_LEN]) {
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++)
        key[k] = (uint8_t)(p->key_in[k] ^ 0xa5u);
}

void cq_bench_scenario_close(cq_bench_scenario_t *s) {
    free(s->members);
    free(s->dests);
    s->members = NULL;
    s->dests = NULL;
}
