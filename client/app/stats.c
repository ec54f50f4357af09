/* chasqui-client's stats file: what it sends, what it receives from each telecentre, and
 * how its control connection went. Rates are over the whole run. */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "client/app/app.h"

static double rate_kbps(uint64_t bytes, double seconds) {
    return seconds > 0 ? (double)bytes * 8 / seconds / 1000 : 0;
}

json_t *app_stats_json(const app_t *app, const cq_endpoint_stats_t *st, double seconds) {
    json_t *layers = json_array();
    for (unsigned i = 0; i < CQ_SENDER_MAX_LAYERS; i++) {
        const cq_sender_layer_stats_t *l = &st->sent.layer[i];
        if (l->width == 0)
            continue;
        json_array_append_new(layers,
                              json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:f, s:f}", "layer", (int)i,
                                        "width", (int)l->width, "height", (int)l->height, "frames",
                                        (json_int_t)l->frames, "keyframes",
                                        (json_int_t)l->keyframes, "skipped", (json_int_t)l->skipped,
                                        "fps", seconds > 0 ? (double)l->frames / seconds : 0.0,
                                        "kbps", rate_kbps(l->bytes, seconds)));
    }
    json_t *received = json_array();
    for (size_t i = 0; i < st->remotes && i < CQ_RECEIVER_MAX_REMOTES; i++) {
        const cq_receiver_remote_stats_t *r = &st->remote[i];
        double n = r->synth_frames ? (double)r->synth_frames : 1;
        json_t *v = json_pack(
            "{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "width",
            (int)r->width, "height", (int)r->height, "packets", (json_int_t)r->video_packets,
            "repaired", (json_int_t)r->video_repaired, "repairs_unneeded",
            (json_int_t)r->video_repairs_unneeded, "frames_decoded", (json_int_t)r->frames_decoded,
            "frames_shown", (json_int_t)r->frames_shown, "fps",
            seconds > 0 ? (double)r->frames_shown / seconds : 0.0, "frames_dropped",
            (json_int_t)r->frames_dropped, "gaps_passed", (json_int_t)r->gaps_passed, "keyframes",
            (json_int_t)r->keyframes, "keyframes_wanted", (json_int_t)r->plis_wanted, "freezes",
            (json_int_t)r->freezes, "freeze_longest_ms", (json_int_t)r->freeze_longest_ms,
            "freeze_total_ms", (json_int_t)r->freeze_total_ms);
        json_object_set_new(v, "holes_filled", json_integer((json_int_t)r->video_holes_filled));
        json_object_set_new(v, "repair_wait_ms_avg", json_integer(r->video_repair_wait_ms_avg));
        json_object_set_new(v, "repair_wait_ms_max", json_integer(r->video_repair_wait_ms_max));
        if (r->synth_frames > 0)
            json_object_set_new(v, "synth",
                                json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "frames",
                                          (json_int_t)r->synth_frames, "last_frame",
                                          (json_int_t)r->synth_last_frame, "out_of_order",
                                          (json_int_t)r->synth_out_of_order, "psnr_avg",
                                          r->psnr_sum / n, "psnr_min", r->psnr_min,
                                          "latency_ms_avg", r->latency_ms_sum / n, "latency_ms_max",
                                          r->latency_ms_max));
        json_t *a = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i}", "packets", (json_int_t)r->audio_packets,
            "malformed", (json_int_t)r->audio_malformed, "played", (json_int_t)r->audio_played,
            "red_recovered", (json_int_t)r->audio_red, "fec_recovered", (json_int_t)r->audio_fec,
            "concealed", (json_int_t)r->audio_concealed, "jitter_buffer_ms",
            (int)r->jitter_buffer_ms, "lipsync_hold_ms", (int)r->audio_hold_ms);
        json_object_set_new(a, "dropped", json_integer((json_int_t)r->audio_dropped));
        json_object_set_new(a, "latency_ms_p50", json_integer(r->audio_latency_ms_p50));
        if (r->synth_fec_ok + r->synth_fec_failed > 0)
            json_object_set_new(a, "synth",
                                json_pack("{s:I, s:I}", "fec_recovered",
                                          (json_int_t)r->synth_fec_ok, "fec_failed",
                                          (json_int_t)r->synth_fec_failed));
        json_object_set_new(a, "latency_ms_p95", json_integer(r->audio_latency_ms_p95));
        json_object_set_new(v, "lipsync_hold_ms", json_integer(r->video_hold_ms));
        json_object_set_new(v, "latency_ms_p50", json_integer(r->video_latency_ms_p50));
        json_object_set_new(v, "latency_ms_p95", json_integer(r->video_latency_ms_p95));
        json_array_append_new(received,
                              json_pack("{s:I, s:i, s:o, s:o}", "telecentre",
                                        (json_int_t)r->telecentre, "av_offset_ms", r->av_offset_ms,
                                        "video", r->has_video ? v : json_null(), "audio",
                                        r->has_audio ? a : json_null()));
        if (!r->has_video)
            json_decref(v);
        if (!r->has_audio)
            json_decref(a);
    }
    const cq_link_stats_t *l = &st->link;
    json_t *root = json_pack(
        "{s:I, s:I, s:s, s:f, s:{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
        "s:{s:o, s:{s:I, s:I, s:f}, s:I, s:I, s:I, s:i, s:f}, s:o}",
        "session", (json_int_t)app->join.session, "telecentre", (json_int_t)app->join.telecentre,
        "role", app->join.role, "seconds", seconds, "link", "up", st->up, "checks",
        (json_int_t)l->checks_sent, "answers", (json_int_t)l->answers, "downs",
        (json_int_t)l->downs, "packets_out", (json_int_t)l->packets_out, "packets_in",
        (json_int_t)l->packets_in, "auth_failures", (json_int_t)l->auth_failures, "send_drops",
        (json_int_t)l->send_drops, "sent", "video", layers, "audio", "packets",
        (json_int_t)st->sent.audio_frames, "dtx", (json_int_t)st->sent.audio_dtx, "kbps",
        rate_kbps(st->sent.audio_bytes, seconds), "plis_in", (json_int_t)st->sent.plis_in,
        "nacks_in", (json_int_t)st->sent.nacks_in, "rtx_sent", (json_int_t)st->sent.rtx_sent,
        "loss_percent", (int)st->sent.loss_percent, "rtt_ms", st->sent.rtt_us / 1000.0, "received",
        received);
    /* Repairs asked for too late, or replaced by a keyframe: not sent (client/sender.c). */
    json_object_set_new(json_object_get(root, "sent"), "rtx_stale",
                        json_integer((json_int_t)st->sent.rtx_stale));
    /* TL0 packets sent twice on a long, lossy round trip (client/sender.h). */
    json_object_set_new(json_object_get(root, "sent"), "tl0_copies",
                        json_integer((json_int_t)st->sent.tl0_copies));
    /* The uplink loop (docs/ARCHITECTURE.md "The client's uplink loop"). */
    const cq_cc_stats_t *u = &st->uplink;
    json_t *plan = json_null();
    if (st->planned) {
        json_t *kbps = json_array(), *fps = json_array();
        for (unsigned i = 0; i < CQ_RATEALLOC_MAX_LAYERS; i++) {
            json_array_append_new(kbps, json_integer(st->plan.layer_kbps[i]));
            json_array_append_new(fps, json_integer(st->plan.fps_pct[i]));
        }
        plan = json_pack("{s:i, s:i, s:i, s:i, s:i, s:o, s:o, s:i, s:b, s:i}", "audio_bps",
                         (int)st->plan.audio_bps, "audio_frame_ms", (int)st->plan.audio_frame_ms,
                         "audio_cost_bps", (int)st->plan.audio_cost_bps, "layers_on",
                         (int)st->plan.layers_on, "video_kbps", (int)st->plan.video_kbps,
                         "layer_kbps", kbps, "layer_fps_pct", fps, "audio_loss_pct",
                         (int)st->plan.audio_loss_pct, "audio_red_lean", st->plan.audio_red_lean,
                         "protect_tl0", (int)st->plan.protect_tl0);
    }
    json_object_set_new(
        root, "uplink",
        json_pack("{s:b, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:o, s:i, s:i, s:o}",
                  "adapt", st->adapt, "estimate_kbps", u->target_bps / 1000.0, "delay_kbps",
                  u->delay_bps / 1000.0, "loss_kbps", u->loss_bps / 1000.0, "acked_kbps",
                  u->acked_bps / 1000.0, "loss_fraction", u->loss_fraction, "feedbacks",
                  (json_int_t)st->uplink_feedbacks, "overuses", (json_int_t)u->overuses,
                  "probe_packets", (json_int_t)st->probe_packets, "layer_packets_dropped",
                  (json_int_t)st->layer_packets_dropped, "packets_lost",
                  (json_int_t)u->packets_lost, "layers_used",
                  st->layers_known ? json_integer(st->layers_used) : json_null(), "low_kbps",
                  (int)st->low_kbps, "sound_kbps", (int)st->sound_kbps, "plan", plan));
    const app_control_stats_t *c = &app->control;
    json_t *control = json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:b}", "up", c->up, "reconnects", (json_int_t)c->reconnects,
        "rejoins", (json_int_t)c->rejoins, "joined_events", (json_int_t)c->joined, "left_events",
        (json_int_t)c->left, "speaker", (json_int_t)c->speaker, "session_ended", c->ended);
    if (c->ending_in_s >= 0)
        json_object_set_new(control, "ending_in_s", json_integer(c->ending_in_s));
    json_object_set_new(control, "muted_by_operator", json_boolean(c->muted_by_operator));
    json_object_set_new(control, "promotions", json_integer((json_int_t)c->promotions));
    json_object_set_new(control, "hand_raised", json_boolean(c->hand_raised));
    json_object_set_new(control, "recorded", json_boolean(c->recorded));
    json_object_set_new(control, "hands_raised", json_integer((json_int_t)c->hands_raised));
    json_object_set_new(control, "demotions", json_integer((json_int_t)c->demotions));
    json_object_set_new(root, "control", control);
    /* Video the pacer never let out: full, flushed for a keyframe, or held too long. */
    json_object_set_new(
        root, "pacer",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "queued", (json_int_t)st->pacer_queued, "sent",
                  (json_int_t)st->pacer_sent, "full", (json_int_t)st->pacer_full, "flushed",
                  (json_int_t)st->pacer_flushed, "stale", (json_int_t)st->pacer_stale,
                  "longest_wait_ms", (double)st->pacer_max_delay_us / 1000.0));
    json_object_set_new(root, "loop",
                        json_pack("{s:I, s:f}", "stalls", (json_int_t)st->loop_stalls,
                                  "longest_gap_ms", (double)st->loop_gap_max_us / 1000.0));
    return root;
}

/* What the video encoders are set to now, all layers together (kbit/s). */
static unsigned video_target_kbps(const cq_endpoint_stats_t *st) {
    unsigned k = 0;
    for (unsigned i = 0; i < CQ_SENDER_MAX_LAYERS; i++)
        if (st->sent.layer[i].width != 0 && st->sent.layer[i].on)
            k += st->sent.layer[i].kbps;
    return k;
}

/* The layers encoded now, as a bit mask (bit i: layer i). */
static unsigned layers_sent(const cq_endpoint_stats_t *st) {
    unsigned mask = 0;
    for (unsigned i = 0; i < CQ_SENDER_MAX_LAYERS; i++)
        if (st->sent.layer[i].width != 0 && st->sent.layer[i].on)
            mask |= 1u << i;
    return mask;
}

/* How old the picture on screen is: now less its capture, which a synthetic picture
 * carries painted in (client/synth.h; the sender's clock, so only a test on one machine
 * reads it). -1 when the picture on screen was not read as one. The e2e suite judges a layer switch
 * by when the pictures were captured, not when a deep modem queue let them out. */
static long picture_age_ms(const cq_receiver_remote_stats_t *r) {
    if (!r->synth_last_read)
        return -1;
    return (long)(uint32_t)((uint32_t)(uv_hrtime() / 1000000u) - r->synth_last_capture_ms);
}

/* One CSV row per telecentre received: what the last second brought (rates from the
 * difference with the row before) and the state now. The e2e suite plots these. */
static void on_series(uv_timer_t *t) {
    app_t *app = t->data;
    if (app->ep == NULL)
        return;
    cq_endpoint_stats_t st;
    cq_endpoint_stats(app->ep, &st);
    double secs = (double)(uv_now(app->loop) - app->started_ms) / 1000.0;
    for (size_t i = 0; i < st.remotes && i < CQ_RECEIVER_MAX_REMOTES; i++) {
        const cq_receiver_remote_stats_t *r = &st.remote[i];
        if (r->telecentre == 0)
            continue;
        size_t k = 0;
        while (k < CQ_RECEIVER_MAX_REMOTES && app->last[k].telecentre != r->telecentre &&
               app->last[k].telecentre != 0)
            k++;
        if (k == CQ_RECEIVER_MAX_REMOTES)
            continue;
        app_series_last_t *l = &app->last[k];
        uint64_t bytes = r->video_bytes + r->audio_bytes;
        if (l->telecentre != r->telecentre) {
            memset(l, 0, sizeof *l);
            l->telecentre = r->telecentre;
        }
        /* A re-join starts the counts again: a drop below the last row is a new start. */
        if (bytes < l->bytes || r->frames_shown < l->frames)
            *l = (app_series_last_t){.telecentre = r->telecentre};
        fprintf(app->series,
                "%.1f,%u,%.1f,%llu,%u,%llu,%llu,%llu,%llu,%u,%d,%.1f,%d,%.1f,%u,%u,%llu,%ld\n",
                secs, (unsigned)r->telecentre, (double)(bytes - l->bytes) * 8 / 1000.0,
                (unsigned long long)(r->frames_shown - l->frames), r->height,
                (unsigned long long)(r->frames_dropped - l->dropped),
                (unsigned long long)(r->audio_played - l->played),
                (unsigned long long)(r->audio_red + r->audio_fec - l->recovered),
                (unsigned long long)(r->audio_concealed - l->concealed), r->jitter_buffer_ms,
                r->av_offset_ms, st.sent.rtt_us / 1000.0, st.up ? 1 : 0,
                st.uplink.target_bps / 1000.0, video_target_kbps(&st), layers_sent(&st),
                (unsigned long long)st.loop_stalls, picture_age_ms(r));
        l->bytes = bytes;
        l->frames = r->frames_shown;
        l->dropped = r->frames_dropped;
        l->played = r->audio_played;
        l->recovered = r->audio_red + r->audio_fec;
        l->concealed = r->audio_concealed;
    }
    fflush(app->series);
}

int app_series_start(app_t *app) {
    if (app->opt->series == NULL)
        return 0;
    if ((app->series = fopen(app->opt->series, "w")) == NULL) {
        fprintf(stderr, "chasqui-client: cannot write %s: %s\n", app->opt->series, strerror(errno));
        return -1;
    }
    fprintf(app->series,
            "t_s,telecentre,kbps,frames,height,frames_dropped,audio_played,"
            "audio_recovered,audio_concealed,jitter_buffer_ms,av_offset_ms,rtt_ms,"
            "link_up,uplink_kbps,video_target_kbps,layers_sent,loop_stalls,picture_age_ms\n");
    uv_timer_init(app->loop, &app->series_timer);
    app->series_timer.data = app;
    uv_timer_start(&app->series_timer, on_series, 1000, 1000);
    return 0;
}

void app_series_stop(app_t *app) {
    if (app->series == NULL)
        return;
    uv_close((uv_handle_t *)&app->series_timer, NULL);
    fclose(app->series);
    app->series = NULL;
}
