/*
 * chasqui-client's parts (the program, not a library): main.c (options, the join, media),
 * control.c (the WebSocket to the district server: events, reconnects, re-joins) and
 * stats.c (the stats file). One loop, one thread: nothing here is shared otherwise.
 */
#ifndef CQ_CLIENT_APP_H
#define CQ_CLIENT_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <uv.h>

#include "client/endpoint.h"
#include "client/hubconn.h"
#include "client/join.h"
#include "signaling/httpc.h"

/* Exit statuses (docs/OPERATOR.md "At the telecentre"); EXIT_REMOVED: the operator took
 * this telecentre out of the session, so trying again is pointless. */
enum { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_SERVER, EXIT_MEDIA, EXIT_REMOVED };

typedef struct {
    const char *server, *token, *video, *audio, *out, *stats;
    const char *media_via; /* HOST:PORT that stands for the relay (chasqui-netsim), or NULL */
    const char *series;    /* a CSV row per telecentre received, every second, or NULL */
    bool headless;
    double duration; /* 0: until a signal */
    unsigned width, height, fps, kbps;
    unsigned audio_ms;                       /* per audio packet: 20, 40 or 60 */
    bool no_nack, no_fec, no_red, no_copies; /* ablations for the e2e suite */
    bool no_adapt;                           /* encoders ignore the uplink estimate (an ablation) */
} app_options_t;

typedef struct {
    uint64_t joined, left, speaker_changes; /* events heard */
    uint32_t speaker;                       /* the telecentre speaking now, 0: none heard */
    int64_t ending_in_s;                    /* from session_ending; -1: not told */
    bool ended;                             /* session_ended came */
    bool up;                                /* the control connection is attached now */
    uint64_t reconnects, rejoins;
    bool muted_by_operator; /* the relay forwards none of this telecentre's sound */
    uint64_t promotions, demotions;
    bool hand_raised;      /* asking to speak, as the server last said */
    bool recorded;         /* the session is being recorded, as the server last said */
    uint64_t hands_raised; /* times this client raised it */
} app_control_stats_t;

typedef struct {
    uint32_t telecentre;
    uint64_t bytes, frames, played, recovered, concealed, dropped;
} app_series_last_t;

typedef struct app {
    uv_loop_t *loop;
    app_options_t *opt;
    cq_httpc_url_t url;
    cq_join_t join;
    unsigned joins; /* 1 after the first join; names the recordings of later ones */
    struct cq_endpoint *ep;
    /* Without --headless: the window and speakers (SDL), presented every 40 ms. */
    bool sdl;
    struct cq_sdl_window *window;
    struct cq_sdl_speaker *speaker;
    uv_timer_t present_timer;
    uv_timer_t stop_timer, stats_timer;
    uv_signal_t sigint, sigterm, sigusr1; /* SIGUSR1: the hand (headless) */
    uint64_t started_ms;
    int exit_code;
    /* The control connection (control.c). */
    struct cq_hubconn *hub;
    uv_timer_t retry_timer, watch_timer;
    unsigned backoff_ms;
    bool rejoin_wanted;
    uint64_t link_down_ms, link_errors_at_down;
    app_control_stats_t control;
    /* The time series (stats.c): the file, and each telecentre's counts a second ago. */
    FILE *series;
    uv_timer_t series_timer;
    app_series_last_t last[CQ_RECEIVER_MAX_REMOTES];
} app_t;

/* main.c: POSTs the token and fills app->join (logging why not); and (re)starts the media
 * with it. Both return an exit status. */
int app_join(app_t *app);
int app_start_media(app_t *app);
void app_stop(app_t *app, int exit_code);

/* control.c */
void app_control_start(app_t *app);
void app_control_stop(app_t *app);
/* Raises this telecentre's hand, or lowers it if raised (the operator's queue). */
void app_control_hand(app_t *app);

/* stats.c: the stats file's JSON (docs/OPERATOR.md "At the telecentre"), and the time
 * series: app_series_start opens the file and samples every second until app_series_stop. */
json_t *app_stats_json(const app_t *app, const cq_endpoint_stats_t *st, double seconds);
int app_series_start(app_t *app);
void app_series_stop(app_t *app);

#endif
