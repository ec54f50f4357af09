/*
 * chasqui-client: a telecentre in a session. Joins through the district server's API
 * with the token the operator issued, binds to the relay, sends its sources and records
 * or plays what the others send, and writes its stats as JSON (every 5 s and at the end).
 *
 *   chasqui-client --server URL --token TOKEN [--video /dev/videoN|synth|FILE.y4m|none]
 *                  [--audio synth|FILE.wav|none] [--out DIR] [--headless]
 *                  [--duration S] [--stats FILE.json] [--size WxH] [--fps N] [--kbps N]
 *
 * Exit status: 0 done, 1 the server refused the join, 2 bad command line, 3 server
 * unreachable or its answer unusable, 4 media could not start (a source, the socket),
 * 5 the operator removed this telecentre from the session.
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

#include "client/app/app.h"
#include "client/v4l2.h"
#include "rtp/error.h"

#define JOIN_TIMEOUT_MS 10000
#define STATS_PERIOD_MS 5000

static void usage(FILE *out) {
    fprintf(out,
            "usage: chasqui-client --server URL --token TOKEN [options]\n"
            "\n"
            "  --video /dev/videoN|synth|FILE.y4m|none\n"
            "                                what to send as video: a camera (default\n"
            "                                /dev/video0, YUYV), a test pattern, a file\n"
            "  --audio mic|synth|FILE.wav|none\n"
            "                                what to send as audio: the microphone (default),\n"
            "                                test tones, a 48 kHz WAV file\n"
            "  --out DIR                     record each telecentre received as DIR/<id>.y4m\n"
            "                                (decoded), DIR/<id>.ivf (as sent) and DIR/<id>.wav\n"
            "  --headless                    no window and no speakers (tests, recording)\n"
            "  --duration S                  leave after S seconds (default: until Ctrl-C)\n"
            "  --stats FILE.json             write the stats there every 5 s and at the end\n"
            "  --series FILE.csv             a row per telecentre received, every second\n"
            "  --size WxH --fps N --kbps N   the video sent (default 640x360, 15, 500)\n"
            "  --media-via HOST:PORT         send media there instead of to the relay the server\n"
            "                                names (a link emulator in front of it, for tests)\n"
            "  --no-nack, --no-fec, --no-red never ask for video repairs / no Opus FEC / no\n"
            "                                earlier sound repeated in each packet (RED): to\n"
            "                                measure what each is worth (the e2e suite)\n"
            "  --no-copies                   never send the base layer twice on a long,\n"
            "                                lossy round trip (the same, for the copies)\n"
            "  --audio-ms 20|40|60           sound per packet (default 20; 60 spends a third\n"
            "                                of the header overhead on a weak link; the\n"
            "                                uplink loop may lengthen it, never shorten it)\n"
            "  --no-adapt                    keep --kbps, every layer and the Opus settings\n"
            "                                fixed whatever the uplink estimate says (by\n"
            "                                default the encoders follow it: the e2e suite's\n"
            "                                ablation)\n"
            "\n"
            "The token comes from the operator (chasqui-ctl token issue). Exit status: 0 done,\n"
            "1 join refused, 2 bad command line, 3 server unreachable, 4 media could not start,\n"
            "5 the operator removed this telecentre from the session.\n");
}

static int bad_usage(const char *what) {
    fprintf(stderr, "chasqui-client: %s (chasqui-client --help tells more)\n", what);
    return EXIT_USAGE;
}

static int parse_options(int argc, char **argv, app_options_t *o) {
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
        {"audio-ms", required_argument, NULL, 'm'},
        {"media-via", required_argument, NULL, 'M'},
        {"series", required_argument, NULL, 'C'},
        {"no-nack", no_argument, NULL, 'N'},
        {"no-fec", no_argument, NULL, 'F'},
        {"no-red", no_argument, NULL, 'R'},
        {"no-copies", no_argument, NULL, 'K'},
        {"no-adapt", no_argument, NULL, 'A'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (app_options_t){.width = 640, .height = 360, .fps = 15, .kbps = 500, .audio_ms = 20};
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
        case 'N':
            o->no_nack = true;
            break;
        case 'F':
            o->no_fec = true;
            break;
        case 'K':
            o->no_copies = true;
            break;
        case 'R':
            o->no_red = true;
            break;
        case 'A':
            o->no_adapt = true;
            break;
        case 'C':
            o->series = optarg;
            break;
        case 'M':
            o->media_via = optarg;
            if (strrchr(optarg, ':') == NULL)
                return bad_usage("--media-via is HOST:PORT");
            break;
        case 'm':
            o->audio_ms = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || (o->audio_ms != 20 && o->audio_ms != 40 && o->audio_ms != 60))
                return bad_usage("--audio-ms is 20, 40 or 60");
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
    /* A telecentre's own camera and microphone unless told otherwise. */
    if (o->video == NULL)
        o->video = "/dev/video0";
    if (o->audio == NULL)
        o->audio = "mic";
    if (strcmp(o->video, "none") == 0)
        o->video = NULL;
    if (strcmp(o->audio, "none") == 0)
        o->audio = NULL;
    return 0;
}

/* The simulcast layers this telecentre's picture makes: each halves the size, and a size
 * that does not halve evenly (or would go below 16 pixels) makes fewer layers rather than
 * none. 0 without a picture. */
static unsigned video_layers(const app_options_t *o) {
    if (o->video == NULL)
        return 0;
    unsigned n = CQ_SENDER_MAX_LAYERS, div;
    while (n > 1 && (div = 1u << (n - 1), o->width % (2 * div) != 0 || o->height % (2 * div) != 0 ||
                                              o->width / div < 16 || o->height / div < 16))
        n--;
    return n;
}

/* POSTs the token, and the layers it will send (the relay must not wait for one that
 * never comes); on success fills app->join. */
int app_join(app_t *app) {
    const app_options_t *o = app->opt;
    uint32_t session;
    if (cq_join_token_session(o->token, &session) != 0)
        return bad_usage("that is not a chasqui token (they start with cq1-)");
    cq_httpc_url_t url = app->url;
    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%u/join", (unsigned)session);
    json_t *body = json_pack("{s:s, s:i}", "token", o->token, "video_layers", (int)video_layers(o));
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
        rc = res.status >= 500 ? EXIT_SERVER : EXIT_REFUSED;
        if (res.status == 403 && reason != NULL && strcmp(reason, "removed") == 0)
            rc = EXIT_REMOVED;
        json_decref(e);
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

/* Writes the stats file whole or not at all: a reader never sees half of one. */
static void write_stats(app_t *app) {
    if (app->opt->stats == NULL || app->ep == NULL)
        return;
    cq_endpoint_stats_t st;
    cq_endpoint_stats(app->ep, &st);
    double seconds = (double)(uv_now(app->loop) - app->started_ms) / 1000.0;
    json_t *j = app_stats_json(app, &st, seconds);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", app->opt->stats);
    if (j == NULL || json_dump_file(j, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0 ||
        rename(tmp, app->opt->stats) != 0)
        fprintf(stderr, "chasqui-client: cannot write %s: %s\n", app->opt->stats, strerror(errno));
    json_decref(j);
}

void app_stop(app_t *app, int exit_code) {
    app->exit_code = exit_code;
    uv_stop(app->loop);
}

static void on_stop_timer(uv_timer_t *t) {
    app_stop(t->data, EXIT_OK);
}

static void on_stats_timer(uv_timer_t *t) {
    write_stats(t->data);
}

static void on_signal(uv_signal_t *s, int signum) {
    (void)signum;
    app_stop(s->data, EXIT_OK);
}

/* SIGUSR1: the hand goes up (or down), for a telecentre without the window. */
static void on_hand_signal(uv_signal_t *s, int signum) {
    (void)signum;
    app_control_hand(s->data);
}

static int make_dir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "chasqui-client: cannot make %s: %s\n", dir, strerror(errno));
    return -1;
}

int app_start_media(app_t *app) {
    const app_options_t *o = app->opt;
    const cq_join_t *j = &app->join;
    char cname[48], suffix[16] = "";
    snprintf(cname, sizeof cname, "chasqui-%u-%u", (unsigned)j->session, (unsigned)j->telecentre);
    /* After a re-join the recordings go on in new files: the earlier ones are kept. */
    if (app->joins++ > 0)
        snprintf(suffix, sizeof suffix, "-%u", app->joins);
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
                              .out_dir = o->out,
                              .window = app->window,
                              .speaker = app->speaker,
                              .sink_suffix = suffix,
                              .no_nack = o->no_nack,
                              .no_copies = o->no_copies,
                              .no_adapt = o->no_adapt};
    c.sender = (cq_sender_config_t){.audio_ssrc = j->audio_ssrc,
                                    .audio_bps = 24000,
                                    .audio_frame_ms = o->audio_ms,
                                    .audio_no_fec = o->no_fec,
                                    .audio_red = o->no_red ? 0 : CQ_SENDER_MAX_RED,
                                    .video_layers = j->video_layers,
                                    .width = o->width,
                                    .height = o->height,
                                    .fps = o->fps,
                                    .video_kbps = o->kbps};
    /* The server gives what the join asked for; an older one gives three regardless. */
    if (c.sender.video_layers > video_layers(o))
        c.sender.video_layers = video_layers(o);
    memcpy(c.sender.video_ssrc, j->video_ssrc, sizeof j->video_ssrc);
    memcpy(c.sender.rtx_ssrc, j->rtx_ssrc, sizeof j->rtx_ssrc);
    /* --media-via: an IPv4 literal and a port, or [IPv6]:port. */
    char via[64];
    if (o->media_via != NULL) {
        const char *colon = strrchr(o->media_via, ':');
        size_t hl = (size_t)(colon - o->media_via);
        unsigned long port = strtoul(colon + 1, NULL, 10);
        if (hl == 0 || hl >= sizeof via || port == 0 || port > 65535) {
            fprintf(stderr, "chasqui-client: --media-via is HOST:PORT\n");
            return EXIT_USAGE;
        }
        bool bracket = o->media_via[0] == '[' && hl >= 2 && colon[-1] == ']';
        memcpy(via, o->media_via + bracket, hl - 2 * bracket);
        via[hl - 2 * bracket] = '\0';
        c.relay_address = via;
        c.relay_port = (uint16_t)port;
    }
    char why[256] = "";
    c.why = why;
    c.why_cap = sizeof why;
    int err = cq_endpoint_create(&app->ep, app->loop, &c);
    if (err != 0) {
        fprintf(stderr, "chasqui-client: media could not start: %s\n",
                why[0] ? why : cq_strerror(err));
        return EXIT_MEDIA;
    }
    fprintf(stderr,
            "chasqui-client: telecentre %u joined session %u as %s (%u others there); relay "
            "%s:%u\n",
            (unsigned)j->telecentre, (unsigned)j->session, j->role, j->participants, j->address,
            (unsigned)j->port);
    return EXIT_OK;
}

static void on_present(uv_timer_t *t) {
    app_t *app = t->data;
    cq_sdl_window_present(app->window);
    if (cq_sdl_window_poll(app->window))
        app_stop(app, EXIT_OK); /* the window was closed: the telecentre leaves */
    for (unsigned n = cq_sdl_window_take_hand(app->window); n > 0; n--)
        app_control_hand(app);
}

/* SDL for the window and speakers (not headless) and for the microphone. */
static int start_sdl(app_t *app) {
    const app_options_t *o = app->opt;
    bool mic = o->audio != NULL && strcmp(o->audio, "mic") == 0;
    if (o->headless && !mic)
        return EXIT_OK;
    if (cq_sdl_init(!o->headless, true) != 0) {
        fprintf(stderr, "chasqui-client: %s could not start: %s\n",
                o->headless ? "the microphone" : "the window and sound", cq_sdl_error());
        return EXIT_MEDIA;
    }
    app->sdl = true;
    if (o->headless)
        return EXIT_OK;
    char title[96];
    snprintf(title, sizeof title, "chasqui: telecentre %u, session %u",
             (unsigned)app->join.telecentre, (unsigned)app->join.session);
    if (cq_sdl_window_open(&app->window, title, 960, 540) != 0 ||
        cq_sdl_speaker_open(&app->speaker) != 0) {
        fprintf(stderr, "chasqui-client: the window and sound could not start: %s\n",
                cq_sdl_error());
        return EXIT_MEDIA;
    }
    uv_timer_init(app->loop, &app->present_timer);
    app->present_timer.data = app;
    uv_timer_start(&app->present_timer, on_present, 40, 40);
    return EXIT_OK;
}

static void stop_sdl(app_t *app) {
    if (app->window != NULL)
        uv_close((uv_handle_t *)&app->present_timer, NULL);
    cq_sdl_window_close(app->window);
    cq_sdl_speaker_close(app->speaker);
    app->window = NULL;
    app->speaker = NULL;
    if (app->sdl)
        cq_sdl_quit();
    app->sdl = false;
}

static void run(app_t *app) {
    const app_options_t *o = app->opt;
    app->started_ms = uv_now(app->loop);
    uv_timer_init(app->loop, &app->stop_timer);
    uv_timer_init(app->loop, &app->stats_timer);
    uv_signal_init(app->loop, &app->sigint);
    uv_signal_init(app->loop, &app->sigterm);
    uv_signal_init(app->loop, &app->sigusr1);
    app->stop_timer.data = app->stats_timer.data = app->sigint.data = app->sigterm.data = app;
    app->sigusr1.data = app;
    if (o->duration > 0)
        uv_timer_start(&app->stop_timer, on_stop_timer, (uint64_t)(o->duration * 1000), 0);
    uv_timer_start(&app->stats_timer, on_stats_timer, STATS_PERIOD_MS, STATS_PERIOD_MS);
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    uv_signal_start(&app->sigusr1, on_hand_signal, SIGUSR1);
    app_control_start(app);
    if (app_series_start(app) != 0)
        app->exit_code = EXIT_MEDIA;
    else
        uv_run(app->loop, UV_RUN_DEFAULT);

    write_stats(app);
    size_t remotes = 0;
    if (app->ep != NULL) {
        cq_endpoint_stats_t st;
        cq_endpoint_stats(app->ep, &st);
        remotes = st.remotes;
    }
    fprintf(stderr, "chasqui-client: left after %.1f s; received %zu telecentre(s)\n",
            (double)(uv_now(app->loop) - app->started_ms) / 1000.0, remotes);
    app_control_stop(app);
    app_series_stop(app);
    cq_endpoint_close(app->ep);
    app->ep = NULL;
    uv_run(app->loop, UV_RUN_NOWAIT); /* the microphone closes before SDL stops */
    stop_sdl(app);
    uv_close((uv_handle_t *)&app->stop_timer, NULL);
    uv_close((uv_handle_t *)&app->stats_timer, NULL);
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
    uv_close((uv_handle_t *)&app->sigusr1, NULL);
    uv_run(app->loop, UV_RUN_DEFAULT);
}

static void ignore_picture(void *ctx, const cq_i420_t *img, uint64_t capture_us) {
    (void)ctx;
    (void)img;
    (void)capture_us;
}

/* A camera that cannot work is found before the join: a telecentre is not put into the
 * session only to leave it at once. */
static int check_camera(app_t *app) {
    const app_options_t *o = app->opt;
    if (o->video == NULL || strncmp(o->video, "/dev/", 5) != 0)
        return EXIT_OK;
    struct cq_v4l2 *cam;
    char msg[256];
    if (cq_v4l2_open(&cam, app->loop, o->video, o->width, o->height, o->fps, ignore_picture, NULL,
                     msg, sizeof msg) != 0) {
        fprintf(stderr, "chasqui-client: media could not start: %s\n", msg);
        return EXIT_MEDIA;
    }
    cq_v4l2_close(cam);
    uv_run(app->loop, UV_RUN_NOWAIT);
    return EXIT_OK;
}

int main(int argc, char **argv) {
    app_options_t opt;
    int rc = parse_options(argc, argv, &opt);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    app_t app = {.loop = uv_default_loop(), .opt = &opt};
    uint32_t session;
    if (cq_httpc_url_parse(opt.server, &app.url) != 0)
        return bad_usage("--server must be like http://host:port");
    if (cq_join_token_session(opt.token, &session) != 0)
        return bad_usage("that is not a chasqui token (they start with cq1-)");
    if (opt.out != NULL && make_dir(opt.out) != 0)
        return EXIT_MEDIA;
    if (cq_srtp_global_init() != 0) {
        fprintf(stderr, "chasqui-client: SRTP could not start\n");
        return EXIT_MEDIA;
    }
    if ((rc = check_camera(&app)) != EXIT_OK || (rc = app_join(&app)) != EXIT_OK)
        return rc;
    if ((rc = start_sdl(&app)) != EXIT_OK || (rc = app_start_media(&app)) != EXIT_OK) {
        stop_sdl(&app);
        uv_run(app.loop, UV_RUN_DEFAULT);
        return rc;
    }
    run(&app);
    uv_loop_close(app.loop);
    return app.exit_code;
}
