/*
 * chasqui-relay: the district server's process. Today it runs the media plane (the relay's
 * workers on UDP) and shuts down cleanly on SIGINT or SIGTERM; the signaling daemon of
 * issue 4 (HTTP + WebSocket, SQLite, tokens) joins it on this main loop, and until it does
 * no session can be created from outside, which the start-up line says.
 *
 * The main thread owns the loop and is the only caller of the relay's API (relay.h);
 * events from the workers arrive through an async handle and go to the log.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "signaling/log.h"
#include "relay/relay.h"
#include "rtp/error.h"

#define DEFAULT_MEDIA_PORT 40000

typedef struct {
    const char *host;
    long media_port;
    long workers;
    long stats_s;
    cq_log_level_t log_level;
} options_t;

typedef struct {
    uv_loop_t *loop;
    struct cq_relay *relay;
    uv_signal_t sigint, sigterm;
    uv_async_t events;
    int stop_signal;
} daemon_t;

static void usage(FILE *out) {
    fprintf(out,
            "usage: chasqui-relay [options]\n"
            "\n"
            "The chasqui district relay. With no options it listens for media on UDP %d\n"
            "(IPv4 and IPv6) with one worker, and stops cleanly on SIGINT or SIGTERM.\n"
            "\n"
            "  --media-port PORT   first UDP port for media; worker i uses PORT + i "
            "(default %d;\n"
            "                      0 lets the system pick, for tests)\n"
            "  --bind ADDRESS      address to listen on (default: every address, both "
            "families)\n"
            "  --workers N         media worker threads, 1..%d (default 1)\n"
            "  --stats-interval S  log each participant's counters every S seconds "
            "(default 10)\n"
            "  --log-level LEVEL   error, warn, info or debug (default info)\n"
            "  --help              this text\n"
            "  --version           the version\n",
            DEFAULT_MEDIA_PORT, DEFAULT_MEDIA_PORT, CQ_RELAY_MAX_WORKERS);
}

/* A whole decimal number in [min, max], or -1. */
static long parse_number(const char *s, long min, long max) {
    char *end;
    long v = strtol(s, &end, 10);
    return *s != '\0' && *end == '\0' && v >= min && v <= max ? v : -1;
}

/* Returns 0 to run, 1 to exit successfully (help, version), 2 for a usage error. */
static int parse_options(int argc, char **argv, options_t *o) {
    static const struct option longs[] = {
        {"media-port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"stats-interval", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    *o = (options_t){
        .media_port = DEFAULT_MEDIA_PORT, .workers = 1, .stats_s = 10, .log_level = CQ_LOG_INFO};
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    int c, li = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, &li)) != -1) {
        switch (c) {
        case 'p':
            if ((o->media_port = parse_number(optarg, 0, 65535)) < 0)
                goto bad_value;
            break;
        case 'b':
            o->host = optarg;
            break;
        case 'w':
            if ((o->workers = parse_number(optarg, 1, CQ_RELAY_MAX_WORKERS)) < 0)
                goto bad_value;
            break;
        case 's':
            if ((o->stats_s = parse_number(optarg, 1, 86400)) < 0)
                goto bad_value;
            break;
        case 'l': {
            unsigned i = 0;
            while (i < 4 && strcmp(optarg, levels[i]) != 0)
                i++;
            if (i == 4)
                goto bad_value;
            o->log_level = (cq_log_level_t)i;
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            printf("chasqui-relay %s\n", CQ_VERSION);
            return 1;
        default:
            fprintf(stderr, "chasqui-relay: unknown option %s\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "chasqui-relay: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    return 0;
bad_value:
    fprintf(stderr, "chasqui-relay: bad value '%s' for --%s (see --help)\n", optarg,
            longs[li].name);
    return 2;
}

static const char *event_name(cq_relay_event_type_t t) {
    switch (t) {
    case CQ_RELAY_EVENT_BOUND:
        return "bound";
    case CQ_RELAY_EVENT_MOVED:
        return "moved to a new address";
    case CQ_RELAY_EVENT_CONSENT_LOST:
        return "silent: consent lost";
    case CQ_RELAY_EVENT_SPEAKER:
        return "active speaker";
    }
    return "unknown event";
}

static void on_events(uv_async_t *h) {
    daemon_t *d = h->data;
    cq_relay_event_t ev[64];
    size_t n;
    uint64_t dropped = 0;
    while ((n = cq_relay_poll_events(d->relay, ev, 64, &dropped)) > 0)
        for (size_t i = 0; i < n; i++)
            cq_log(ev[i].type == CQ_RELAY_EVENT_CONSENT_LOST ? CQ_LOG_WARN : CQ_LOG_INFO, "relay",
                   "session %" PRIu32 " participant %" PRIu32 ": %s", ev[i].session_id,
                   ev[i].participant_id, event_name(ev[i].type));
    if (dropped != 0)
        cq_log(CQ_LOG_WARN, "relay", "%" PRIu64 " events lost to a full queue", dropped);
}

/* The first signal stops the loop: handles close, the relay stops its workers (telling
 * every subscriber BYE), and main returns 0. */
static void on_signal(uv_signal_t *h, int signum) {
    daemon_t *d = h->data;
    d->stop_signal = signum;
    cq_log(CQ_LOG_INFO, "relay", "%s received: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_close((uv_handle_t *)&d->sigint, NULL);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->events, NULL);
}

int main(int argc, char **argv) {
    options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    cq_log_set_level(o.log_level);
    daemon_t d = {.loop = uv_default_loop()};
    d.sigint.data = d.sigterm.data = d.events.data = &d;
    int err;
    if ((err = uv_async_init(d.loop, &d.events, on_events)) != 0 ||
        (err = uv_signal_init(d.loop, &d.sigint)) != 0 ||
        (err = uv_signal_init(d.loop, &d.sigterm)) != 0 ||
        (err = uv_signal_start(&d.sigint, on_signal, SIGINT)) != 0 ||
        (err = uv_signal_start(&d.sigterm, on_signal, SIGTERM)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "cannot set up the main loop: %s", uv_strerror(err));
        return 1;
    }
    cq_relay_config_t cfg = {.host = o.host,
                             .port = (uint16_t)o.media_port,
                             .workers = (unsigned)o.workers,
                             .stats_log_ms = (unsigned)o.stats_s * 1000u,
                             .events_notify = &d.events};
    if ((err = cq_relay_create(&d.relay, &cfg)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "cannot listen for media on UDP %ld: %s", o.media_port,
               cq_strerror(err));
        uv_close((uv_handle_t *)&d.sigint, NULL);
        uv_close((uv_handle_t *)&d.sigterm, NULL);
        uv_close((uv_handle_t *)&d.events, NULL);
        uv_run(d.loop, UV_RUN_DEFAULT);
        uv_loop_close(d.loop);
        return 1;
    }
    cq_log(CQ_LOG_INFO, "relay",
           "chasqui-relay %s: media on UDP %u (%ld worker%s); signaling (HTTP, WebSocket) "
           "is not built yet, so no session can be created from outside",
           CQ_VERSION, (unsigned)cq_relay_media_port(d.relay, 0), o.workers,
           o.workers == 1 ? "" : "s");
    uv_run(d.loop, UV_RUN_DEFAULT);
    cq_relay_destroy(d.relay);
    int closed = uv_loop_close(d.loop);
    cq_log(CQ_LOG_INFO, "relay", "stopped");
    return closed == 0 ? 0 : 1;
}
