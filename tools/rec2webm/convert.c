#include "tools/rec2webm/convert.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/opus_toc.h"
#include "codec/recfile.h"
#include "rtp/error.h"
#include "tools/rec2webm/depack.h"
#include "tools/rec2webm/webm.h"

/* The largest VP8 frame put together: a keyframe of 1280x720 at high quality. */
#define MAX_FRAME (2u << 20)

/* One recording in memory: its bytes and its packets (views into them). */
typedef struct {
    cq_recfile_header_t h;
    uint8_t *bytes;
    cq_depack_packet_t *pkts;
    size_t n;
} recording_t;

/* What goes into the file, on one timeline (µs on the relay's arrival clock). */
typedef struct {
    int64_t t_us;
    size_t off, len; /* video: in the frame store; sound: data points into the recording */
    const uint8_t *data;
    bool key;
    int64_t duration_us;
} item_t;

typedef struct {
    item_t *v;
    size_t n, cap;
} items_t;

static int items_add(items_t *l, const item_t *it) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        item_t *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return CQ_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *it;
    return 0;
}

static void recording_free(recording_t *r) {
    free(r->bytes);
    free(r->pkts);
    *r = (recording_t){0};
}

/* Reads a whole recording; a last record cut short (a crash) is left out. */
static int recording_read(const char *path, recording_t *r) {
    *r = (recording_t){0};
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "chasqui-rec2webm: %s: %s\n", path, strerror(errno));
        return errno == ENOENT ? CQ_ENOENT : CQ_EIO;
    }
    int err = CQ_EIO;
    long size;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto fail;
    err = CQ_ENOMEM;
    if ((r->bytes = malloc((size_t)size + 1)) == NULL)
        goto fail;
    err = CQ_EIO;
    if (fread(r->bytes, 1, (size_t)size, f) != (size_t)size)
        goto fail;
    int n = cq_recfile_header_parse(r->bytes, (size_t)size, &r->h);
    if (n < 0) {
        fprintf(stderr, "chasqui-rec2webm: %s: not a chasqui recording (%s)\n", path,
                cq_strerror(n));
        err = n;
        goto fail;
    }
    size_t cap = (size_t)size / (CQ_RECFILE_RECORD_HEAD + 12) + 1;
    err = CQ_ENOMEM;
    if ((r->pkts = calloc(cap, sizeof *r->pkts)) == NULL)
        goto fail;
    for (size_t at = (size_t)n; at < (size_t)size && r->n < cap;) {
        cq_depack_packet_t *p = &r->pkts[r->n];
        int used = cq_recfile_record_parse(r->bytes + at, (size_t)size - at, &p->arrival_us,
                                           &p->pkt, &p->len);
        if (used < 0) {
            fprintf(stderr, "chasqui-rec2webm: %s: %s at byte %zu: the rest is ignored\n", path,
                    cq_strerror(used), at);
            break;
        }
        at += (size_t)used;
        r->n++;
    }
    fclose(f);
    return 0;
fail:
    fclose(f);
    recording_free(r);
    return err;
}

/* Puts r's packets in sequence order and maps its RTP clock (rate Hz) onto arrivals. */
static void order_and_clock(recording_t *r, uint32_t rate, cq_depack_clock_t *clock,
                            cq_rec2webm_report_t *rep) {
    r->n = cq_depack_order(r->pkts, r->n, &rep->malformed);
    cq_depack_clock_init(clock, rate);
    for (size_t i = 0; i < r->n; i++)
        cq_depack_clock_add(clock, r->pkts[i].ext_ts, r->pkts[i].arrival_us);
}

/* The video's frames, complete and decodable, with their times. */
static int video_items(recording_t *r, items_t *out, uint8_t **store, size_t *store_len,
                       cq_rec2webm_report_t *rep) {
    cq_depack_clock_t clock;
    order_and_clock(r, 90000, &clock, rep);
    uint8_t *buf = malloc(MAX_FRAME);
    if (buf == NULL)
        return CQ_ENOMEM;
    cq_depack_vp8_t d;
    cq_depack_vp8_init(&d, buf, MAX_FRAME);
    size_t cap = 0;
    int err = 0;
    for (size_t i = 0; i < r->n && err == 0; i++) {
        cq_depack_frame_t fr;
        if (cq_depack_vp8_push(&d, &r->pkts[i], &fr) != 1)
            continue;
        if (rep->width == 0 && fr.keyframe) {
            rep->width = fr.width;
            rep->height = fr.height;
        }
        if (*store_len + fr.len > cap) {
            size_t ncap = cap ? 2 * cap : 1u << 20;
            while (ncap < *store_len + fr.len)
                ncap *= 2;
            uint8_t *s = realloc(*store, ncap);
            if (s == NULL) {
                err = CQ_ENOMEM;
                break;
            }
            *store = s;
            cap = ncap;
        }
        memcpy(*store + *store_len, fr.data, fr.len);
        item_t it = {.t_us = cq_depack_clock_us(&clock, fr.ext_ts),
                     .off = *store_len,
                     .len = fr.len,
                     .key = fr.keyframe};
        *store_len += fr.len;
        err = items_add(out, &it);
    }
    rep->video_lost += d.lost_frames;
    rep->video_waiting += d.waiting_dropped;
    free(buf);
    return err;
}

/* The sound's packets with their times and lengths (from their TOC); *channels from the
 * first. */
/* Adds one Opus packet at RTP time ext_ts; 0 when it is not Opus (skipped) or added. */
static int audio_add(items_t *out, const cq_depack_clock_t *clock, int64_t ext_ts,
                     const uint8_t *data, size_t len, unsigned *channels) {
    cq_opus_toc_t toc;
    if (cq_opus_toc_parse(data, len, &toc) != 0)
        return 0;
    if (out->n == 0)
        *channels = toc.stereo ? 2 : 1;
    item_t it = {.t_us = cq_depack_clock_us(clock, ext_ts),
                 .data = data,
                 .len = len,
                 .key = true,
                 .duration_us = (int64_t)toc.packet_samples * 1000000 / 48000};
    return items_add(out, &it);
}

/* Packets missing before packet i restored from its redundant copies: those newer than
 * the packet before the gap. */
static int audio_recover(const recording_t *r, size_t i, items_t *out,
                         const cq_depack_clock_t *clock, unsigned *channels,
                         cq_rec2webm_report_t *rep) {
    cq_depack_redundant_t red[8];
    int n = cq_depack_red_redundant(&r->pkts[i], red, 8);
    for (int k = 0; k < n; k++) {
        if (red[k].ext_ts <= r->pkts[i - 1].ext_ts || red[k].ext_ts >= r->pkts[i].ext_ts)
            continue;
        size_t before = out->n;
        int err = audio_add(out, clock, red[k].ext_ts, red[k].data, red[k].len, channels);
        if (err != 0)
            return err;
        rep->audio_recovered += out->n > before;
    }
    return 0;
}

static int audio_items(recording_t *r, items_t *out, unsigned *channels,
                       cq_rec2webm_report_t *rep) {
    cq_depack_clock_t clock;
    order_and_clock(r, 48000, &clock, rep);
    for (size_t i = 0; i < r->n; i++) {
        int err;
        if (i > 0 && r->pkts[i].ext_seq != r->pkts[i - 1].ext_seq + 1) {
            rep->audio_missing += (uint64_t)(r->pkts[i].ext_seq - r->pkts[i - 1].ext_seq - 1);
            if ((err = audio_recover(r, i, out, &clock, channels, rep)) != 0)
                return err;
        }
        const uint8_t *data;
        size_t len;
        if (cq_depack_opus(&r->pkts[i], &data, &len) == 1 &&
            (err = audio_add(out, &clock, r->pkts[i].ext_ts, data, len, channels)) != 0)
            return err;
    }
    return 0;
}

/* When a recording's first and last packets arrived (0, 0 when it has none). */
static uint64_t first_arrival(const recording_t *r) {
    return r->n ? r->pkts[0].arrival_us : 0;
}

static uint64_t last_arrival(const recording_t *r) {
    return r->n ? r->pkts[r->n - 1].arrival_us : 0;
}

static int by_first_arrival(const void *a, const void *b) {
    uint64_t x = first_arrival(*(recording_t *const *)a),
             y = first_arrival(*(recording_t *const *)b);
    return x < y ? -1 : x > y;
}

/*
 * One stay of the participant: a telecentre that joins again (its link dropped, or the
 * operator promoted or demoted it) sends with new SSRCs into new files, whose packets all
 * arrived after the earlier stay's. The stays are told apart by time: recordings whose
 * arrivals overlap are of one stay. Of each, the sound and the top video layer are kept.
 */
typedef struct {
    recording_t *audio, *video;
} stay_t;

/* Groups the recordings (all of one participant) into stays, oldest first; *nstays. */
static int choose_stays(recording_t *recs, size_t n, stay_t *stays, size_t *nstays) {
    recording_t **order = malloc((n ? n : 1) * sizeof *order);
    if (order == NULL)
        return CQ_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].h.session != recs[0].h.session ||
            recs[i].h.participant != recs[0].h.participant) {
            fprintf(stderr, "chasqui-rec2webm: the recordings are of different participants\n");
            free(order);
            return CQ_EINVAL;
        }
        if (recs[i].n > 0)
            order[m++] = &recs[i];
    }
    qsort(order, m, sizeof *order, by_first_arrival);
    int err = 0;
    *nstays = 0;
    uint64_t end = 0;
    for (size_t i = 0; i < m && err == 0; i++) {
        recording_t *r = order[i];
        if (*nstays == 0 || first_arrival(r) > end)
            stays[(*nstays)++] = (stay_t){0}; /* after everything before it: a new stay */
        stay_t *s = &stays[*nstays - 1];
        if (last_arrival(r) > end)
            end = last_arrival(r);
        if (r->h.kind == CQ_RECFILE_AUDIO) {
            if (s->audio == NULL)
                s->audio = r;
            else
                fprintf(stderr, "chasqui-rec2webm: a second sound recording is ignored\n");
        } else if (s->video == NULL || r->h.layer > s->video->h.layer) {
            s->video = r;
        } else if (r->h.layer == s->video->h.layer) {
            fprintf(stderr, "chasqui-rec2webm: two recordings of video layer %u at once\n",
                    r->h.layer);
            err = CQ_EINVAL;
        }
    }
    free(order);
    return err != 0 ? err : *nstays == 0 ? CQ_EINVAL : 0;
}

/* Writes both tracks in time order from origin_us; frame durations run to the next
 * frame (the last lasts as long as the one before it). */
static int write_all(struct cq_webm *w, const items_t *vid, const uint8_t *store,
                     const items_t *aud, int64_t origin_us, cq_rec2webm_report_t *rep) {
    size_t vi = 0, ai = 0;
    int64_t last_v = -1, last_a = -1, end = 0;
    while (vi < vid->n || ai < aud->n) {
        bool video = ai == aud->n || (vi < vid->n && vid->v[vi].t_us <= aud->v[ai].t_us);
        const item_t *it = video ? &vid->v[vi] : &aud->v[ai];
        int64_t pts = it->t_us - origin_us;
        int64_t dur = it->duration_us;
        if (video) {
            if (vi + 1 < vid->n)
                dur = vid->v[vi + 1].t_us - it->t_us;
            else
                dur = vi > 0 ? it->t_us - vid->v[vi - 1].t_us : 33333;
            vi++;
        } else {
            ai++;
        }
        /* Each track's times must grow: a timestamp that went back (a sender restarted
         * its stream) is dropped rather than written out of order. */
        int64_t *last = video ? &last_v : &last_a;
        if (pts / 1000 <= *last / 1000 && *last >= 0)
            continue;
        *last = pts;
        int err =
            cq_webm_write(w, video, pts, dur, it->key, video ? store + it->off : it->data, it->len);
        if (err != 0)
            return err;
        if (video)
            rep->video_frames++;
        else
            rep->audio_packets++;
        if (pts + dur > end)
            end = pts + dur;
    }
    rep->duration_us = end;
    return 0;
}

int cq_rec2webm_convert(const char *const *inputs, size_t n, const char *out,
                        cq_rec2webm_report_t *rep) {
    *rep = (cq_rec2webm_report_t){0};
    recording_t *recs = calloc(n ? n : 1, sizeof *recs);
    items_t vid = {0}, aud = {0};
    uint8_t *store = NULL;
    size_t store_len = 0;
    struct cq_webm *w = NULL;
    unsigned channels = 2;
    int err = recs == NULL ? CQ_ENOMEM : 0;
    for (size_t i = 0; i < n && err == 0; i++)
        err = recording_read(inputs[i], &recs[i]);
    stay_t *stays = err == 0 ? calloc(n ? n : 1, sizeof *stays) : NULL;
    size_t nstays = 0;
    if (err == 0)
        err = stays == NULL ? CQ_ENOMEM : choose_stays(recs, n, stays, &nstays);
    /* The stays one after the other, each on the relay's one arrival clock. */
    for (size_t i = 0; i < nstays && err == 0; i++) {
        if (stays[i].video != NULL) {
            if (stays[i].video->h.layer > rep->layer)
                rep->layer = stays[i].video->h.layer;
            err = video_items(stays[i].video, &vid, &store, &store_len, rep);
        }
        if (err == 0 && stays[i].audio != NULL)
            err = audio_items(stays[i].audio, &aud, &channels, rep);
    }
    rep->stays = nstays;
    free(stays);
    if (err == 0 && vid.n == 0 && aud.n == 0) {
        fprintf(stderr, "chasqui-rec2webm: nothing to convert (no keyframe, no sound)\n");
        err = CQ_ENOENT;
    }
    if (err != 0)
        goto done;
    int64_t origin = vid.n ? vid.v[0].t_us : aud.v[0].t_us;
    if (aud.n && aud.v[0].t_us < origin)
        origin = aud.v[0].t_us;
    cq_webm_config_t cfg = {.video = vid.n > 0,
                            .width = rep->width,
                            .height = rep->height,
                            .audio = aud.n > 0,
                            .channels = channels};
    if ((err = cq_webm_open(&w, out, &cfg)) != 0)
        goto done;
    err = write_all(w, &vid, store, &aud, origin, rep);
    int cerr = cq_webm_close(w);
    if (err == 0)
        err = cerr;
done:
    for (size_t i = 0; recs != NULL && i < n; i++)
        recording_free(&recs[i]);
    free(recs);
    free(vid.v);
    free(aud.v);
    free(store);
    return err;
}
