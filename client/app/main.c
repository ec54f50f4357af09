/*
 * chasqui-client: a telecentre in a session. Joins through the district server's API
 * with the token the operator issued, binds to the relay, sends its sources and records
 * or plays what the others send, and writes its stats as JSON (every 5 s and at the end).
 *
 *   chasqui-client --server URL --token TOKEN [--video synth|FILE.y4m|none]
 *                  [--audio synth|FILE.wav|none] [--out DIR] [--headless]
 *                  [--duration S] [--stats FILE.json] [--size WxH] [--fps N] [--kbps N]
 *
 * Exit status: 0 done, 1 the server refused the join, 2 bad command line, 3 server
 * unreachable or its answer unusable, 4 media could not start (a source, the socket).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <uv.h>

#include "client/endpoint.h"
#include "client/join.h"
#include "rtp/error.h"
#include "signaling/httpc.h"

enum { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_SERVER, EXIT_MEDIA };

#define JOIN_TIMEOUT_MS 10000
#define STATS_PERIOD_MS 5000

typedef struct {
    const char *server, *token, *video, *audio, *out, *stats;
    bool headless;
    double duration; /* 0: until a signal */
    unsigned width, height, fps, kbps;
} options_t;

typedef struct {
    uv_loop_t *loop;
    options_t *opt;
    cq_join_t join;
    struct cq_endpoint *ep;
    uv_timer_t stop_timer, stats_timer;
    uv_signal_t sigint, sigterm;
    uint64_t started_ms;
} app_t;

static void usage(FILE *out) {
    fprintf(out,
            "usage: chasqui-client --server URL --token TOKEN [options]\n"
            "\n"
            "  --video synth|FILE.y4m|none   what to send as video (synth: a test pattern)\n"
            "  --audio synth|FILE.wav|none   what to send as audio (48 kHz WAV)\n"
            "  --out DIR                     record each telecentre received as DIR/<id>.y4m\n"
            "                                and DIR/<id>.wav\n"
            "  --headless                    no window and no speakers (tests, servers)\n"
            "  --duration S                  leave after S seconds (default: until Ctrl-C)\n"
            "  --stats FILE.json             write the stats there every 5 s and at the end\n"
            "  --size WxH --fps N --kbps N   the synthetic video (default 640x360, 15, 500)\n"
            "\n"
            "The token comes from the operator (chasqui-ctl token issue). Exit status: 0 done,\n"
            "1 join refused, 2 bad command line, 3 server unreachable, 4 media could not start.\n");
}

static int bad_usage(const char *what) {
    fprintf(stderr, "chasqui-client: %s (chasqui-client --help tells more)\n", what);
    return EXIT_USAGE;
}

static int parse_options(int argc, char **argv, options_t *o) {
    static const struct option longs[] = {
        {"server", required_argument, NULL, 's'},
        {"token", required_argument, NULL, 't'},
        {"video", required_argument, NULL, 'v'},
        {"audio", required_argument, NULL, 'a'},
        {"out", required_argument, NULL, 'o'},
        {"headless", no_argument, NULL, 'H'},
        {"duration", required_argument, NULL, 'd'},
        {"stats", required_argument, NULL, 'S'},
        {"size", required_argument, NULL, 'z'},
        {"fps", required_argument, NULL, 'f'},
        {"kbps", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (options_t){.width = 640, .height = 360, .fps = 15, .kbps = 500};
    opterr = 0;
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (ch) {
        case 's':
            o->server = optarg;
            break;
        case 't':
            o->token = optarg;
            break;
        case 'v':
            o->video = optarg;
            break;
        case 'a':
            o->audio = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'H':
            o->headless = true;
            break;
        case 'S':
            o->stats = optarg;
            break;
        case 'd':
            o->duration = strtod(optarg, &end);
            if (*end != '\0' || !(o->duration > 0 && o->duration <= 86400))
                return bad_usage("--duration is seconds, more than 0");
            break;
        case 'z':
            if (sscanf(optarg, "%ux%u", &o->width, &o->height) != 2 || o->width % 2 != 0 ||
                o->height % 2 != 0 || o->width < 128 || o->height < 72 || o->width > 1920 ||
                o->height > 1080)
                return bad_usage("--size is WxH, even numbers from 128x72 to 1920x1080");
            break;
        case 'f':
            o->fps = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || o->fps < 1 || o->fps > 30)
                return bad_usage("--fps is 1..30");
            break;
        case 'k':
            o->kbps = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || o->kbps < 30 || o->kbps > 4000)
                return bad_usage("--kbps is 30..4000");
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            return bad_usage("unknown option");
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument");
    if (o->server == NULL || o->token == NULL)
        return bad_usage("--server and --token are needed");
    /* A telecentre's own camera, microphone, window and speakers are the SDL2/V4L2 part of
     * issue 5, not built yet: say so rather than pretend. */
    if (o->video == NULL || o->audio == NULL)
        return bad_usage("the camera and microphone are not supported yet: give --video and "
                         "--audio (synth, a file, or none)");
    if (!o->headless)
        return bad_usage("the window and speakers are not built yet: run with --headless "
                         "(and --out DIR to keep what is received)");
    if (strcmp(o->video, "none") == 0)
        o->video = NULL;
    if (strcmp(o->audio, "none") == 0)
        o->audio = NULL;
    return 0;
}

/* POSTs the token; on success fills app->join. */
static int join(app_t *app) {
    const options_t *o = app->opt;
    cq_httpc_url_t url;
    uint32_t session;
    if (cq_httpc_url_parse(o->server, &url) != 0)
        return bad_usage("--server must be like http://host:port");
    if (cq_join_token_session(o->token, &session) != 0)
        return bad_usage("that is not a chasqui token (they start with cq1-)");
    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%u/join", (unsigned)session);
    json_t *body = json_pack("{s:s}", "token", o->token);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    cq_httpc_response_t res;
    int err =
        text ? cq_httpc_request(&url, "POST", path, NULL, text, JOIN_TIMEOUT_MS, &res) : CQ_ENOMEM;
    free(text);
    if (err != 0) {
        fprintf(stderr, "chasqui-client: cannot reach %s: %s\n", o->server,
                err > -4096 ? strerror(-err) : cq_strerror(err));
        return EXIT_SERVER;
    }
    int rc = EXIT_OK;
    if (res.status != 200) {
        json_t *e = json_loads(res.body, 0, NULL);
        const char *reason = json_string_value(json_object_get(e, "error"));
        const char *detail = json_string_value(json_object_get(e, "reason"));
        fprintf(stderr, "chasqui-client: the server refused the join (%d %s)%s%s\n", res.status,
                reason ? reason : "", detail ? ": " : "", detail ? detail : "");
        json_decref(e);
        rc = res.status >= 500 ? EXIT_SERVER : EXIT_REFUSED;
    } else {
        char why[64];
        if (cq_join_parse(res.body, res.body_len, &app->join, why, sizeof why) != 0) {
            fprintf(stderr, "chasqui-client: the join answer is unusable (%s)\n", why);
            rc = EXIT_SERVER;
        }
    }
    free(res.body);
    return rc;
}

static double rate_kbps(uint64_t bytes, double seconds) {
    return seconds > 0 ? (double)bytes * 8 / seconds / 1000 : 0;
}

static json_t *stats_json(const app_t *app, const cq_endpoint_stats_t *st, double seconds) {
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
            "{s:i, s:i, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I}", "width", (int)r->width,
            "height", (int)r->height, "packets", (json_int_t)r->video_packets, "repaired",
            (json_int_t)r->video_repaired, "frames_decoded", (json_int_t)r->frames_decoded, "fps",
            seconds > 0 ? (double)r->frames_decoded / seconds : 0.0, "frames_dropped",
            (json_int_t)r->frames_dropped, "keyframes", (json_int_t)r->keyframes,
            "keyframes_wanted", (json_int_t)r->plis_wanted, "freezes", (json_int_t)r->freezes,
            "freeze_longest_ms", (json_int_t)r->freeze_longest_ms, "freeze_total_ms",
            (json_int_t)r->freeze_total_ms);
        if (r->synth_frames > 0)
            json_object_set_new(v, "synth",
                                json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "frames",
                                          (json_int_t)r->synth_frames, "last_frame",
                                          (json_int_t)r->synth_last_frame, "out_of_order",
                                          (json_int_t)r->synth_out_of_order, "psnr_avg",
                                          r->psnr_sum / n, "psnr_min", r->psnr_min,
                                          "latency_ms_avg", r->latency_ms_sum / n, "latency_ms_max",
                                          r->latency_ms_max));
        json_t *a = json_pack("{s:I, s:I, s:I, s:I, s:i}", "packets", (json_int_t)r->audio_packets,
                              "played", (json_int_t)r->audio_played, "fec_recovered",
                              (json_int_t)r->audio_fec, "concealed", (json_int_t)r->audio_concealed,
                              "jitter_buffer_ms", (int)r->jitter_buffer_ms);
        json_array_append_new(received,
                              json_pack("{s:I, s:o, s:o}", "telecentre", (json_int_t)r->telecentre,
                                        "video", r->has_video ? v : json_null(), "audio",
                                        r->has_audio ? a : json_null()));
        if (!r->has_video)
            json_decref(v);
        if (!r->has_audio)
            json_decref(a);
    }
    const cq_link_stats_t *l = &st->link;
    return json_pack(
        "{s:I, s:I, s:s, s:f, s:{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
        "s:{s:o, s:{s:I, s:I, s:f}, s:I, s:I, s:I, s:i, s:f}, s:o}",
        "session", (json_int_t)app->join.session, "telecentre", (json_int_t)app->join.telecentre,
        "role", app->join.role, "seconds", seconds, "link", "up", st->up, "checks",
        (json_int_t)l->checks_sent, "answers", (json_int_t)l->answers, "downs",
        (json_int_t)l->downs, "packets_out", (json_int_t)l->packets_out, "packets_in",
        (json_int_t)l->packets_in, "auth_failures", (json_int_t)l->auth_failures, "send_drops",
        (json_int_t)l->send_drops, "sent", "video", layers, "audio", "frames",
        (json_int_t)st->sent.audio_frames, "dtx", (json_int_t)st->sent.audio_dtx, "kbps",
        rate_kbps(st->sent.audio_bytes, seconds), "plis_in", (json_int_t)st->sent.plis_in,
        "nacks_in", (json_int_t)st->sent.nacks_in, "rtx_sent", (json_int_t)st->sent.rtx_sent,
        "loss_percent", (int)st->sent.loss_percent, "rtt_ms", st->sent.rtt_us / 1000.0, "received",
        received);
}

/* Writes the stats file whole or not at all: a reader never sees half of one. */
static void write_stats(app_t *app) {
    if (app->opt->stats == NULL || app->ep == NULL)
        return;
    cq_endpoint_stats_t st;
    cq_endpoint_stats(app->ep, &st);
    double seconds = (double)(uv_now(app->loop) - app->started_ms) / 1000.0;
    json_t *j = stats_json(app, &st, seconds);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", app->opt->stats);
    if (j == NULL || json_dump_file(j, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0 ||
        rename(tmp, app->opt->stats) != 0)
        fprintf(stderr, "chasqui-client: cannot write %s: %s\n", app->opt->stats, strerror(errno));
    json_decref(j);
}

static void stop(app_t *app) {
    uv_stop(app->loop);
}

static void on_stop_timer(uv_timer_t *t) {
    stop(t->data);
}

static void on_stats_timer(uv_timer_t *t) {
    write_stats(t->data);
}

static void on_signal(uv_signal_t *s, int signum) {
    (void)signum;
    stop(s->data);
}

static int make_dir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "chasqui-client: cannot make %s: %s\n", dir, strerror(errno));
    return -1;
}

static int run(app_t *app) {
    const options_t *o = app->opt;
    const cq_join_t *j = &app->join;
    char cname[48];
    snprintf(cname, sizeof cname, "chasqui-%u-%u", (unsigned)j->session, (unsigned)j->telecentre);
    cq_endpoint_config_t c = {.relay_address = j->address,
                              .relay_port = j->port,
                              .relay_ufrag = j->ufrag,
                              .relay_pwd = j->pwd,
                              .suite = j->suite,
                              .key_tx = j->key_tx,
                              .key_rx = j->key_rx,
                              .cname = cname,
                              .video_source = j->video_layers ? o->video : NULL,
                              .audio_source = j->audio_ssrc ? o->audio : NULL,
                              .out_dir = o->out};
    c.sender = (cq_sender_config_t){.audio_ssrc = j->audio_ssrc,
                                    .audio_bps = 24000,
                                    .video_layers = j->video_layers,
                                    .width = o->width,
                                    .height = o->height,
                                    .fps = o->fps,
                                    .video_kbps = o->kbps};
    /* Simulcast halves the size per layer: a size that does not halve evenly (or would go
     * below 16 pixels) sends fewer layers rather than none. */
    unsigned div;
    while (c.sender.video_layers > 1 && (div = 1u << (c.sender.video_layers - 1),
                                         o->width % (2 * div) != 0 || o->height % (2 * div) != 0 ||
                                             o->width / div < 16 || o->height / div < 16))
        c.sender.video_layers--;
    memcpy(c.sender.video_ssrc, j->video_ssrc, sizeof j->video_ssrc);
    memcpy(c.sender.rtx_ssrc, j->rtx_ssrc, sizeof j->rtx_ssrc);
    int err = cq_endpoint_create(&app->ep, app->loop, &c);
    if (err != 0) {
        fprintf(stderr, "chasqui-client: media could not start: %s\n", cq_strerror(err));
        return EXIT_MEDIA;
    }
    fprintf(stderr,
            "chasqui-client: telecentre %u joined session %u as %s (%u others there); relay "
            "%s:%u\n",
            (unsigned)j->telecentre, (unsigned)j->session, j->role, j->participants, j->address,
            (unsigned)j->port);
    app->started_ms = uv_now(app->loop);
    uv_timer_init(app->loop, &app->stop_timer);
    uv_timer_init(app->loop, &app->stats_timer);
    uv_signal_init(app->loop, &app->sigint);
    uv_signal_init(app->loop, &app->sigterm);
    app->stop_timer.data = app->stats_timer.data = app->sigint.data = app->sigterm.data = app;
    if (o->duration > 0)
        uv_timer_start(&app->stop_timer, on_stop_timer, (uint64_t)(o->duration * 1000), 0);
    uv_timer_start(&app->stats_timer, on_stats_timer, STATS_PERIOD_MS, STATS_PERIOD_MS);
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    uv_run(app->loop, UV_RUN_DEFAULT);

    write_stats(app);
    cq_endpoint_stats_t st;
    cq_endpoint_stats(app->ep, &st);
    fprintf(stderr, "chasqui-client: left after %.1f s; received %zu telecentre(s)\n",
            (double)(uv_now(app->loop) - app->started_ms) / 1000.0, st.remotes);
    cq_endpoint_close(app->ep);
    uv_close((uv_handle_t *)&app->stop_timer, NULL);
    uv_close((uv_handle_t *)&app->stats_timer, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_run(app->loop, UV_RUN_DEFAULT);
    return EXIT_OK;
}

int main(int argc, char **argv) {
    options_t opt;
    int rc = parse_options(argc, argv, &opt);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    if (opt.out != NULL && make_dir(opt.out) != 0)
        return EXIT_MEDIA;
    if (cq_srtp_global_init() != 0) {
        fprintf(stderr, "chasqui-client: SRTP could not start\n");
        return EXIT_MEDIA;
    }
    app_t app = {.loop = uv_default_loop(), .opt = &opt};
    if ((rc = join(&app)) != EXIT_OK)
        return rc;
    rc = run(&app);
    uv_loop_close(app.loop);
    return rc;
}
