/*
 * chasqui-relay: the district server's process. The main thread owns one libuv loop with
 * the control plane on it (HTTP API over libwebsockets, the SQLite store, the schedule's
 * clock) and is the only caller of the relay's API (relay.h); the relay's workers carry
 * the media on their own threads. Events from the workers arrive through an async handle
 * and go to the log. SIGINT or SIGTERM stops it cleanly.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

#include "signaling/log.h"
#include "relay/relay.h"
#include "relay/sigmedia.h"
#include "rtp/error.h"
#include "signaling/fsutil.h"
#include "signaling/api.h"
#include "signaling/http.h"
#include "signaling/hub.h"
#include "signaling/opkey.h"
#include "signaling/store.h"

#define DEFAULT_MEDIA_PORT   40000
#define DEFAULT_HTTP_PORT    8080
#define DEFAULT_DB           "var/chasqui.db"
#define DEFAULT_OPERATOR_KEY "var/operator.key"
#define DEFAULT_RECORDINGS   "var/recordings"
#define DEFAULT_REC_FLOOR_MB 512
/* The schedule's clock: sessions open, start and end within a second of their time. */
#define SCHEDULE_TICK_MS 1000

typedef struct {
    const char *host;
    long media_port;
    long http_port;
    long workers;
    long stats_s;
    bool no_adapt, no_copies;
    const char *db;
    const char *operator_key_file;
    const char *public_ip;
    const char *recording_dir;
    long recording_floor_mb;
    cq_log_level_t log_level;
} options_t;

typedef struct {
    uv_loop_t *loop;
    struct cq_relay *relay;
    struct cq_store *store;
    struct cq_api *api;
    struct cq_hub *hub;
    struct cq_http *http;
    uv_signal_t sigint, sigterm;
    uv_async_t events;
    uv_timer_t schedule;
    int stop_signal;
} daemon_t;

static void usage(FILE *out) {
    fprintf(out,
            "usage: chasqui-relay [options]\n"
            "\n"
            "The chasqui district relay. With no options it serves the operator's API on\n"
            "TCP %d, media on UDP %d (IPv4 and IPv6) with one worker, keeps its data in\n"
            "%s, and stops cleanly on SIGINT or SIGTERM.\n"
            "\n"
            "  --http-port PORT    TCP port of the HTTP API (default %d; 0: the system picks)\n"
            "  --media-port PORT   first UDP port for media; worker i uses PORT + i "
            "(default %d;\n"
            "                      0 lets the system pick, for tests)\n"
            "  --bind ADDRESS      address to listen on (default: every address, both "
            "families)\n"
            "  --public-ip ADDRESS the address telecentres are told to send media to\n"
            "                      (default: the one they reached the API on)\n"
            "  --db PATH           the SQLite database (default %s)\n"
            "  --operator-key-file PATH\n"
            "                      the operator's key, made on first start, mode 0600\n"
            "                      (default %s)\n"
            "  --workers N         media worker threads, 1..%d (default 1)\n"
            "  --stats-interval S  log each participant's counters every S seconds "
            "(default 10)\n"
            "  --log-level LEVEL   error, warn, info or debug (default info)\n"
            "  --recording-dir DIR where recordings go, one folder per session\n"
            "                      (default %s)\n"
            "  --recording-min-free MB\n"
            "                      recording stops when the disk holding them has less\n"
            "                      free (default %d)\n"
            "  --no-adapt          estimate each downlink but neither pace nor choose\n"
            "                      layers by it (to measure what adaptivity does)\n"
            "  --no-copies         never send a receiver's base layer twice on a long,\n"
            "                      lossy round trip (to measure what the copies do)\n"
            "  --help              this text\n"
            "  --version           the version\n",
            DEFAULT_HTTP_PORT, DEFAULT_MEDIA_PORT, DEFAULT_DB, DEFAULT_HTTP_PORT,
            DEFAULT_MEDIA_PORT, DEFAULT_DB, DEFAULT_OPERATOR_KEY, CQ_RELAY_MAX_WORKERS,
            DEFAULT_RECORDINGS, DEFAULT_REC_FLOOR_MB);
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
        {"http-port", required_argument, NULL, 'H'},
        {"db", required_argument, NULL, 'd'},
        {"operator-key-file", required_argument, NULL, 'k'},
        {"public-ip", required_argument, NULL, 'i'},
        {"bind", required_argument, NULL, 'b'},
        {"workers", required_argument, NULL, 'w'},
        {"stats-interval", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'l'},
        {"no-adapt", no_argument, NULL, 'A'},
        {"no-copies", no_argument, NULL, 'K'},
        {"recording-dir", required_argument, NULL, 'r'},
        {"recording-min-free", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    *o = (options_t){.media_port = DEFAULT_MEDIA_PORT,
                     .http_port = DEFAULT_HTTP_PORT,
                     .workers = 1,
                     .stats_s = 10,
                     .db = DEFAULT_DB,
                     .operator_key_file = DEFAULT_OPERATOR_KEY,
                     .recording_dir = DEFAULT_RECORDINGS,
                     .recording_floor_mb = DEFAULT_REC_FLOOR_MB,
                     .log_level = CQ_LOG_INFO};
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    int c, li = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, &li)) != -1) {
        switch (c) {
        case 'p':
            if ((o->media_port = parse_number(optarg, 0, 65535)) < 0)
                goto bad_value;
            break;
        case 'H':
            if ((o->http_port = parse_number(optarg, 0, 65535)) < 0)
                goto bad_value;
            break;
        case 'd':
            if (*optarg == '\0')
                goto bad_value;
            o->db = optarg;
            break;
        case 'k':
            if (*optarg == '\0')
                goto bad_value;
            o->operator_key_file = optarg;
            break;
        case 'i': {
            unsigned char addr[16];
            if (inet_pton(AF_INET, optarg, addr) != 1 && inet_pton(AF_INET6, optarg, addr) != 1)
                goto bad_value;
            o->public_ip = optarg;
            break;
        }
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
        case 'A':
            o->no_adapt = true;
            break;
        case 'K':
            o->no_copies = true;
            break;
        case 'r':
            if (*optarg == '\0')
                goto bad_value;
            o->recording_dir = optarg;
            break;
        case 'F':
            if ((o->recording_floor_mb = parse_number(optarg, 1, 1L << 30)) < 0)
                goto bad_value;
            break;
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
    case CQ_RELAY_EVENT_LAYER:
        return "receives another layer";
    case CQ_RELAY_EVENT_RECORDING_STOPPED:
        return "recording stopped (disk space or write error)";
    }
    return "unknown event";
}

static void on_events(uv_async_t *h) {
    daemon_t *d = h->data;
    cq_relay_event_t ev[64];
    size_t n;
    uint64_t dropped = 0;
    while ((n = cq_relay_poll_events(d->relay, ev, 64, &dropped)) > 0)
        for (size_t i = 0; i < n; i++) {
            if (ev[i].type == CQ_RELAY_EVENT_SPEAKER && d->hub != NULL)
                cq_hub_speaker(d->hub, ev[i].session_id, ev[i].participant_id);
            if (ev[i].type == CQ_RELAY_EVENT_RECORDING_STOPPED && d->hub != NULL)
                cq_hub_recording(d->hub, ev[i].session_id, false, "disk");
            if (ev[i].type == CQ_RELAY_EVENT_LAYER) {
                if (d->hub != NULL)
                    cq_hub_layer(d->hub, ev[i].session_id, ev[i].participant_id, ev[i].publisher_id,
                                 ev[i].layer);
                continue; /* frequent while links settle: not worth a log line */
            }
            cq_log(ev[i].type == CQ_RELAY_EVENT_CONSENT_LOST ? CQ_LOG_WARN : CQ_LOG_INFO, "relay",
                   "session %" PRIu32 " participant %" PRIu32 ": %s", ev[i].session_id,
                   ev[i].participant_id, event_name(ev[i].type));
        }
    if (dropped != 0)
        cq_log(CQ_LOG_WARN, "relay", "%" PRIu64 " events lost to a full queue", dropped);
}

static void on_schedule(uv_timer_t *t) {
    daemon_t *d = t->data;
    cq_api_tick(d->api);
}

/* Closes what the loop runs: the HTTP server first (no new requests), the relay (its
 * workers stop, subscribers hear BYE; it may still signal the events handle until then),
 * then the main loop's own handles. The loop ends when their closes have run. */
static void shut_down(daemon_t *d) {
    cq_http_stop(d->http);
    cq_relay_destroy(d->relay);
    d->relay = NULL;
    uv_handle_t *handles[] = {(uv_handle_t *)&d->sigint, (uv_handle_t *)&d->sigterm,
                              (uv_handle_t *)&d->events, (uv_handle_t *)&d->schedule};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
        if (handles[i]->loop != NULL && !uv_is_closing(handles[i]))
            uv_close(handles[i], NULL);
}

/* The first signal stops everything; main then returns 0. */
static void on_signal(uv_signal_t *h, int signum) {
    daemon_t *d = h->data;
    d->stop_signal = signum;
    cq_log(CQ_LOG_INFO, "relay", "%s received: stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    shut_down(d);
}

/* Brings up store, API, relay and HTTP in that order; on failure logs why and returns
 * non-zero, leaving shut_down to undo what was done. */
static int start(daemon_t *d, const options_t *o) {
    char key[CQ_OPKEY_LEN + 1];
    bool created;
    int err = cq_opkey_load_or_create(o->operator_key_file, key, sizeof key, &created);
    if (err != 0) {
        cq_log(
            CQ_LOG_ERROR, "relay", "operator key %s: %s%s", o->operator_key_file, cq_strerror(err),
            err == CQ_EACCES ? " (others can read it: chmod 600, or remove it for a new key)" : "");
        return 1;
    }
    if (created)
        cq_log(CQ_LOG_INFO, "relay",
               "operator key created in %s (mode 0600): chasqui-ctl reads it from there",
               o->operator_key_file);
    if ((err = cq_fs_make_parents(o->db)) != 0 || (err = cq_store_open(&d->store, o->db)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "database %s: %s", o->db, cq_strerror(err));
        return 1;
    }
    cq_relay_config_t rc = {.host = o->host,
                            .port = (uint16_t)o->media_port,
                            .workers = (unsigned)o->workers,
                            .stats_log_ms = (unsigned)o->stats_s * 1000u,
                            .no_adapt = o->no_adapt,
                            .no_copies = o->no_copies,
                            .events_notify = &d->events,
                            .recording_dir = o->recording_dir,
                            .recording_min_free = (uint64_t)o->recording_floor_mb << 20};
    if ((err = cq_relay_create(&d->relay, &rc)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "cannot listen for media on UDP %ld: %s", o->media_port,
               cq_strerror(err));
        return 1;
    }
    /* The token secret lives beside the database: a district that moves its data moves
     * the tokens' validity with it. */
    char secret[CQ_OPKEY_LEN + 1], secret_path[4096];
    const char *slash = strrchr(o->db, '/');
    snprintf(secret_path, sizeof secret_path, "%.*s%s", slash ? (int)(slash - o->db + 1) : 0, o->db,
             "server.secret");
    if ((err = cq_opkey_load_or_create(secret_path, secret, sizeof secret, &created)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "token secret %s: %s", secret_path, cq_strerror(err));
        return 1;
    }
    cq_media_ops_t media = cq_sigmedia_ops(d->relay);
    cq_hub_config_t hubc = {.send = cq_http_ws_send, .media = &media};
    if ((err = cq_hub_create(&d->hub, &hubc)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "hub: %s", cq_strerror(err));
        return 1;
    }
    cq_api_config_t ac = {.store = d->store,
                          .operator_key = key,
                          .token_secret = (const uint8_t *)secret,
                          .token_secret_len = CQ_OPKEY_LEN,
                          .media = &media,
                          .public_ip = o->public_ip,
                          .hub = d->hub};
    err = cq_api_create(&d->api, &ac);
    memset(key, 0, sizeof key);
    memset(secret, 0, sizeof secret);
    if (err != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "API: %s", cq_strerror(err));
        return 1;
    }
    cq_http_config_t hc = {.loop = d->loop,
                           .host = o->host,
                           .port = (uint16_t)o->http_port,
                           .api = d->api,
                           .hub = d->hub};
    if ((err = cq_http_create(&d->http, &hc)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "cannot serve HTTP on TCP %ld (in use, or no such address)",
               o->http_port);
        return 1;
    }
    uv_timer_start(&d->schedule, on_schedule, SCHEDULE_TICK_MS, SCHEDULE_TICK_MS);
    cq_api_tick(d->api);
    cq_log(CQ_LOG_INFO, "relay",
           "chasqui-relay %s: API on TCP %u, media on UDP %u (%ld worker%s), database %s",
           CQ_VERSION, (unsigned)cq_http_port(d->http), (unsigned)cq_relay_media_port(d->relay, 0),
           o->workers, o->workers == 1 ? "" : "s", o->db);
    return 0;
}

int main(int argc, char **argv) {
    options_t o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    cq_log_set_level(o.log_level);
    daemon_t d = {.loop = uv_default_loop()};
    d.sigint.data = d.sigterm.data = d.events.data = d.schedule.data = &d;
    int err;
    if ((err = uv_async_init(d.loop, &d.events, on_events)) != 0 ||
        (err = uv_timer_init(d.loop, &d.schedule)) != 0 ||
        (err = uv_signal_init(d.loop, &d.sigint)) != 0 ||
        (err = uv_signal_init(d.loop, &d.sigterm)) != 0 ||
        (err = uv_signal_start(&d.sigint, on_signal, SIGINT)) != 0 ||
        (err = uv_signal_start(&d.sigterm, on_signal, SIGTERM)) != 0) {
        cq_log(CQ_LOG_ERROR, "relay", "cannot set up the main loop: %s", uv_strerror(err));
        return 1;
    }
    int status = start(&d, &o);
    if (status != 0)
        shut_down(&d);
    uv_run(d.loop, UV_RUN_DEFAULT);
    cq_http_destroy(d.http);
    cq_api_destroy(d.api);
    cq_hub_destroy(d.hub);
    cq_store_close(d.store);
    int closed = uv_loop_close(d.loop);
    cq_log(CQ_LOG_INFO, "relay", "stopped");
    return status != 0 ? status : closed == 0 ? 0 : 1;
}
