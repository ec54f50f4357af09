#include "relay/sigmedia.h"

#include <string.h>

#include "relay/recorder.h"
#include "rtp/error.h"

_Static_assert(CQ_MEDIA_MAX_LAYERS <= CQ_RELAY_MAX_LAYERS, "a join may not ask for more layers");
_Static_assert(CQ_MEDIA_UFRAG_LEN <= CQ_RELAY_UFRAG_MAX, "the relay must hold the ufrag");
_Static_assert(CQ_MEDIA_PWD_LEN <= CQ_RELAY_PWD_MAX, "the relay must hold the password");

static int session_open(void *ctx, uint32_t session, uint16_t *port) {
    return cq_relay_session_create(ctx, session, port);
}

static int session_close(void *ctx, uint32_t session) {
    return cq_relay_session_close(ctx, session);
}

/* Everyone receives everyone: the allocation of issue 7 decides per receiver what of it
 * goes down its link. */
static int participant_add(void *ctx, uint32_t session, const cq_media_participant_t *p) {
    cq_relay_participant_params_t r;
    memset(&r, 0, sizeof r);
    r.id = p->id;
    memcpy(r.ice_ufrag, p->ufrag, sizeof p->ufrag);
    memcpy(r.ice_pwd, p->pwd, sizeof p->pwd);
    r.suite = p->suite;
    memcpy(r.key_in, p->key_in, sizeof r.key_in);
    memcpy(r.key_out, p->key_out, sizeof r.key_out);
    r.audio_ssrc = p->audio_ssrc;
    r.video_layers = p->video_layers;
    for (unsigned l = 0; l < p->video_layers && l < CQ_MEDIA_MAX_LAYERS; l++) {
        r.video_ssrc[l] = p->video_ssrc[l];
        r.video_rtx_ssrc[l] = p->video_rtx_ssrc[l];
    }
    r.subscribe_all = true;
    int err = cq_relay_participant_add(ctx, session, &r);
    memset(&r, 0, sizeof r); /* keys do not linger on the stack */
    return err;
}

static int participant_remove(void *ctx, uint32_t session, uint32_t participant) {
    return cq_relay_participant_remove(ctx, session, participant);
}

static int participant_mute(void *ctx, uint32_t session, uint32_t participant, bool muted) {
    return cq_relay_participant_mute(ctx, session, participant, muted);
}

static int totals(void *ctx, cq_media_totals_t *out) {
    cq_relay_worker_stats_t w;
    int err = cq_relay_worker_stats(ctx, &w);
    if (err != 0)
        return err;
    *out = (cq_media_totals_t){.datagrams = w.datagrams,
                               .packets_in = w.packets_in,
                               .bytes_in = w.bytes_in,
                               .packets_out = w.packets_out,
                               .bytes_out = w.bytes_out,
                               .nacks_in = w.nacks_in,
                               .rtx_sent = w.rtx_sent,
                               .keyframe_requests_sent = w.keyframe_requests_sent,
                               .send_dropped = w.send_dropped,
                               .drops_unbound = w.drops_unbound,
                               .drops_stun = w.drops_stun,
                               .drops_garbage = w.drops_garbage,
                               .drops_auth = w.drops_auth,
                               .drops_replay = w.drops_replay,
                               .drops_unknown_ssrc = w.drops_unknown_ssrc,
                               .drops_malformed = w.drops_malformed,
                               .sessions = w.sessions,
                               .participants = w.participants,
                               .participants_bound = w.participants_bound};
    return 0;
}

static int max_layers(void *ctx, uint32_t session, uint32_t participant, int spatial,
                      unsigned temporal) {
    cq_relay_layer_prefs_t prefs = {spatial, temporal};
    return cq_relay_set_layer_prefs(ctx, session, participant, CQ_RELAY_ALL_PUBLISHERS, &prefs);
}

static int participant_stats(void *ctx, uint32_t session, uint32_t participant,
                             cq_media_participant_stats_t *out) {
    cq_relay_participant_stats_t p;
    cq_relay_stream_stats_t streams[CQ_RELAY_MAX_STREAMS];
    size_t n = 0;
    int err = cq_relay_participant_stats(ctx, session, participant, &p);
    if (err == 0)
        err = cq_relay_stream_stats(ctx, session, participant, streams, &n);
    if (err != 0)
        return err;
    *out = (cq_media_participant_stats_t){.bound = p.bound,
                                          .packets_in = p.packets_in,
                                          .bytes_in = p.bytes_in,
                                          .packets_out = p.packets_out,
                                          .bytes_out = p.bytes_out,
                                          .rtt_ms = p.rtt_us / 1000,
                                          .nacks_in = p.nacks_in,
                                          .rtx_sent = p.rtx_sent,
                                          .downlink_estimate_bps = p.downlink_bps,
                                          .downlink_paced_bps = p.pace_bps,
                                          .video_paused = p.video_paused};
    for (size_t i = 0; i < n; i++) {
        if (streams[i].kind == CQ_RELAY_STREAM_RTX)
            continue;
        out->lost += streams[i].lost > 0 ? streams[i].lost : 0;
        if (streams[i].jitter_us / 1000 > out->jitter_ms)
            out->jitter_ms = streams[i].jitter_us / 1000;
        out->bitrate_in_bps += streams[i].bitrate_bps;
    }
    return 0;
}

static int received_layer(void *ctx, uint32_t session, uint32_t subscriber, uint32_t publisher,
                          int *spatial, unsigned *temporal) {
    cq_relay_consumer_stats_t c;
    int err = cq_relay_consumer_stats(ctx, session, subscriber, publisher, &c);
    if (err == 0) {
        *spatial = c.spatial;
        *temporal = c.temporal;
    }
    return err;
}

static int recording(void *ctx, uint32_t session, bool on) {
    return cq_relay_recording(ctx, session, on);
}

static int recording_status(void *ctx, uint32_t session, bool *on, uint64_t *drops,
                            uint64_t *stops) {
    cq_relay_recording_status_t st;
    int err = cq_relay_recording_status(ctx, session, &st);
    if (err == 0) {
        *on = st.on;
        *drops = st.drops;
        *stops = st.stops;
    }
    return err;
}

static int recording_dir(void *ctx, uint32_t session, char *buf, size_t cap) {
    return cq_recorder_session_dir(cq_relay_recording_dir(ctx), session, buf, cap);
}

cq_media_ops_t cq_sigmedia_ops(struct cq_relay *r) {
    return (cq_media_ops_t){.ctx = r,
                            .session_open = session_open,
                            .session_close = session_close,
                            .participant_add = participant_add,
                            .participant_remove = participant_remove,
                            .participant_mute = participant_mute,
                            .totals = totals,
                            .max_layers = max_layers,
                            .participant_stats = participant_stats,
                            .received_layer = received_layer,
                            .recording = recording,
                            .recording_status = recording_status,
                            .recording_dir = recording_dir};
}
