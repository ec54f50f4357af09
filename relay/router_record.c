/*
 * Recording at the router: the copy to the worker's recorder that the packet path makes
 * while a session records, and the control of it. What the recorder does with the copies
 * (ring, writer thread, files, disk guard) is relay/recorder.h's.
 */
#include "relay/router_internal.h"

#include <inttypes.h>

#include "codec/recfile.h"
#include "relay/recorder.h"
#include "rtp/error.h"

/* How long after a recording starts its publishers are asked for keyframes: long enough
 * for a few requests across a VSAT round trip. */
#define RECORD_KEYFRAME_US 5000000u

void cq_router_record(struct cq_router *r, struct participant *p, const struct stream *s,
                      const uint8_t *pkt, size_t len, uint64_t now_us) {
    cq_recorder_stream_t st = {.session = p->session->id,
                               .participant = p->id,
                               .ssrc = s->ssrc,
                               .epoch = p->epoch,
                               .kind =
                                   s->kind == STREAM_AUDIO ? CQ_RECFILE_AUDIO : CQ_RECFILE_VIDEO,
                               .layer = s->layer};
    if (!cq_recorder_push(r->cfg.recorder, &st, now_us, pkt, len))
        p->session->record_drops++;
}

static struct session *session_of(struct cq_router *r, uint32_t id) {
    return cq_map_get(&r->sessions, id);
}

int cq_router_recording_set(struct cq_router *r, uint32_t session_id, bool on) {
    struct session *s = session_of(r, session_id);
    if (s == NULL)
        return CQ_ENOENT;
    if (r->cfg.recorder == NULL)
        return CQ_ENOTSUP;
    if (s->recording == on)
        return 0;
    int err = on ? cq_recorder_start(r->cfg.recorder, session_id)
                 : cq_recorder_stop(r->cfg.recorder, session_id);
    if (err != 0)
        return err;
    s->recording = on;
    s->record_since_us = r->now_us;
    s->record_keyframes_until_us = on ? r->now_us + RECORD_KEYFRAME_US : 0;
    return 0;
}

int cq_router_recording_status(struct cq_router *r, uint32_t session_id,
                               cq_relay_recording_status_t *out) {
    const struct session *s = session_of(r, session_id);
    if (s == NULL)
        return CQ_ENOENT;
    *out = (cq_relay_recording_status_t){
        .on = s->recording, .drops = s->record_drops, .stops = s->record_stops};
    return 0;
}

/* A recording's video starts at a keyframe (the converter drops what comes before one):
 * each layer a publisher sends is asked for one until one has come since the start,
 * rather than left to the encoder's next (seconds away). The usual coalescing spaces the
 * requests. */
static void ask_keyframes(struct cq_router *r, struct session *s, uint64_t now_us) {
    for (struct participant *p = s->participants; p != NULL; p = p->next)
        for (unsigned l = 0; p->bound && l < p->video_layers; l++) {
            const struct stream *v = video_stream(p, (int)l);
            if (v != NULL && v->last_packet_us > s->record_since_us &&
                v->last_keyframe_us < s->record_since_us)
                cq_router_request_keyframe(r, p, (int)l, now_us);
        }
}

void cq_router_record_tick(struct cq_router *r, uint64_t now_us) {
    uint32_t id;
    if (r->cfg.recorder == NULL)
        return;
    for (struct session *s = r->session_list; s != NULL; s = s->next)
        if (s->recording && now_us < s->record_keyframes_until_us)
            ask_keyframes(r, s, now_us);
    while (cq_recorder_poll_stopped(r->cfg.recorder, &id)) {
        struct session *s = session_of(r, id);
        if (s == NULL || !s->recording)
            continue; /* closed or stopped by the operator meanwhile */
        /* A stop to match: had the operator started it again since, the writer would be
         * recording what the session no longer sends it. */
        (void)cq_recorder_stop(r->cfg.recorder, id);
        s->recording = false;
        s->record_stops++;
        cq_log(CQ_LOG_WARN, "relay", "session %" PRIu32 ": recording stopped by the recorder", id);
        if (r->cfg.events != NULL) {
            cq_relay_event_t ev = {
                .type = CQ_RELAY_EVENT_RECORDING_STOPPED, .session_id = id, .time_us = now_us};
            cq_relay_events_push(r->cfg.events, &ev);
        }
    }
}
