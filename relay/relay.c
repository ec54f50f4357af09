#include "relay/relay.h"

#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "relay/events.h"
#include "signaling/log.h"
#include "relay/map.h"
#include "relay/recorder.h"
#include "relay/router.h"
#include "relay/worker.h"
#include "rtp/error.h"

struct relay_worker {
    struct cq_worker *worker;
    struct cq_router *router;
    struct cq_recorder *recorder; /* its packets' copies, written on a thread of its own */
    unsigned sessions;            /* placed here, counted on the main thread */
};

struct cq_relay {
    unsigned nworkers;
    struct relay_worker w[CQ_RELAY_MAX_WORKERS];
    cq_map_t session_worker; /* session id -> worker index + 1 */
    bool events_ready;
    cq_relay_events_t events; /* shared by the workers, drained by the owner */
    char *recording_dir;
};

static const cq_worker_ops_t router_ops = {cq_router_on_readable, cq_router_on_tick};

int cq_relay_create(struct cq_relay **out, const cq_relay_config_t *cfg) {
    unsigned n = cfg->workers ? cfg->workers : 1;
    if (n > CQ_RELAY_MAX_WORKERS)
        return CQ_EINVAL;
    int err = cq_srtp_global_init(); /* once, before worker threads use libsrtp2 */
    if (err != 0)
        return err;
    struct cq_relay *r = calloc(1, sizeof *r);
    if (r == NULL)
        return CQ_ENOMEM;
    if ((err = cq_map_init(&r->session_worker, 64)) != 0 ||
        (err = cq_relay_events_init(&r->events, cfg->events_notify)) != 0)
        goto fail;
    r->events_ready = true;
    r->recording_dir = strdup(cfg->recording_dir != NULL ? cfg->recording_dir : "var/recordings");
    if (r->recording_dir == NULL) {
        err = CQ_ENOMEM;
        goto fail;
    }
    for (unsigned i = 0; i < n; i++) {
        cq_recorder_config_t recc = {.dir = r->recording_dir,
                                     .min_free_bytes = cfg->recording_min_free,
                                     .free_bytes = cfg->recording_free_bytes,
                                     .before_write = cfg->recording_before_write,
                                     .hook_arg = cfg->recording_hook_arg};
        if ((err = cq_recorder_create(&r->w[i].recorder, &recc)) != 0)
            goto fail;
        cq_router_config_t rc = {
            .consent_us = (uint64_t)(cfg->consent_s ? cfg->consent_s : 30) * 1000000u,
            .seed = uv_hrtime() ^ ((uint64_t)i << 48),
            .events = &r->events,
            .stats_log_us = (uint64_t)(cfg->stats_log_ms ? cfg->stats_log_ms : 10000) * 1000u,
            .adapt = !cfg->no_adapt,
            .copies = !cfg->no_copies,
            .recorder = r->w[i].recorder,
        };
        if ((err = cq_router_create(&r->w[i].router, &rc)) != 0)
            goto fail;
        int buf = cfg->socket_buffer ? cfg->socket_buffer : 4 << 20;
        cq_worker_config_t wc = {
            .host = cfg->host,
            .port = cfg->port ? (uint16_t)(cfg->port + i) : 0,
            .rcvbuf = buf,
            .sndbuf = buf,
            .tick_ms = CQ_ROUTER_TICK_MS,
        };
        if ((err = cq_worker_create(&r->w[i].worker, &wc, &router_ops, r->w[i].router)) != 0)
            goto fail;
        r->nworkers = i + 1;
    }
    for (unsigned i = 0; i < n; i++)
        if ((err = cq_worker_start(r->w[i].worker)) != 0)
            goto fail;
    *out = r;
    return 0;
fail:
    cq_relay_destroy(r);
    return err;
}

static int do_close_all(void *arg) {
    cq_router_close_all(arg);
    return 0;
}

void cq_relay_destroy(struct cq_relay *r) {
    if (r == NULL)
        return;
    /* Sessions close on their workers first, so subscribers hear BYE while sockets are
     * open; then workers stop, and only then are routers touched from this thread. */
    size_t sessions = r->session_worker.count;
    unsigned workers = 0;
    for (unsigned i = 0; i < r->nworkers; i++)
        if (r->w[i].worker != NULL)
            cq_worker_call(r->w[i].worker, do_close_all, r->w[i].router);
    for (unsigned i = 0; i < CQ_RELAY_MAX_WORKERS; i++) {
        workers += r->w[i].worker != NULL;
        cq_worker_destroy(r->w[i].worker);
    }
    cq_log(CQ_LOG_INFO, "relay", "%u media worker%s stopped, %zu session%s closed", workers,
           workers == 1 ? "" : "s", sessions, sessions == 1 ? "" : "s");
    for (unsigned i = 0; i < CQ_RELAY_MAX_WORKERS; i++)
        cq_router_destroy(r->w[i].router);
    /* After the routers: closing a recorded session stops its recording. */
    for (unsigned i = 0; i < CQ_RELAY_MAX_WORKERS; i++)
        cq_recorder_destroy(r->w[i].recorder);
    free(r->recording_dir);
    cq_map_close(&r->session_worker);
    if (r->events_ready)
        cq_relay_events_close(&r->events);
    free(r);
}

size_t cq_relay_poll_events(struct cq_relay *r, cq_relay_event_t *out, size_t max,
                            uint64_t *dropped) {
    return cq_relay_events_pop(&r->events, out, max, dropped);
}

uint16_t cq_relay_media_port(const struct cq_relay *r, unsigned worker) {
    return worker < r->nworkers ? cq_worker_port(r->w[worker].worker) : 0;
}

int cq_relay_worker_cpu_ns(const struct cq_relay *r, unsigned worker, uint64_t *ns) {
    return worker < r->nworkers ? cq_worker_cpu_ns(r->w[worker].worker, ns) : CQ_ENOENT;
}

static struct relay_worker *worker_of(struct cq_relay *r, uint32_t session_id) {
    uintptr_t v = (uintptr_t)cq_map_get(&r->session_worker, session_id);
    return v ? &r->w[v - 1] : NULL;
}

/* Every call below travels to the session's worker as one of these. */
struct call {
    struct cq_router *router;
    uint32_t session, a, b;
    const cq_relay_participant_params_t *params;
    const cq_relay_layer_prefs_t *prefs;
    void *out;
    size_t *n;
};

static int do_session_create(void *arg) {
    struct call *c = arg;
    return cq_router_session_create(c->router, c->session);
}

static int do_session_close(void *arg) {
    struct call *c = arg;
    return cq_router_session_close(c->router, c->session);
}

static int do_participant_add(void *arg) {
    struct call *c = arg;
    return cq_router_participant_add(c->router, c->session, c->params);
}

static int do_participant_remove(void *arg) {
    struct call *c = arg;
    return cq_router_participant_remove(c->router, c->session, c->a);
}

static int do_participant_mute(void *arg) {
    struct call *c = arg;
    return cq_router_participant_mute(c->router, c->session, c->a, c->b != 0);
}

static int do_subscribe(void *arg) {
    struct call *c = arg;
    return cq_router_subscribe(c->router, c->session, c->a, c->b);
}

static int do_unsubscribe(void *arg) {
    struct call *c = arg;
    return cq_router_unsubscribe(c->router, c->session, c->a, c->b);
}

static int do_consumer_ssrcs(void *arg) {
    struct call *c = arg;
    return cq_router_consumer_ssrcs(c->router, c->session, c->a, c->b, c->out);
}

static int do_participant_stats(void *arg) {
    struct call *c = arg;
    return cq_router_participant_stats(c->router, c->session, c->a, c->out);
}

static int do_set_layer_prefs(void *arg) {
    struct call *c = arg;
    return cq_router_set_layer_prefs(c->router, c->session, c->a, c->b, c->prefs);
}

static int do_stream_stats(void *arg) {
    struct call *c = arg;
    return cq_router_stream_stats(c->router, c->session, c->a, c->out, c->n);
}

static int do_consumer_stats(void *arg) {
    struct call *c = arg;
    return cq_router_consumer_stats(c->router, c->session, c->a, c->b, c->out);
}

static int do_worker_stats(void *arg) {
    struct call *c = arg;
    cq_router_worker_stats(c->router, c->out);
    return 0;
}

static int do_recording(void *arg) {
    struct call *c = arg;
    return cq_router_recording_set(c->router, c->session, c->a != 0);
}

static int do_recording_status(void *arg) {
    struct call *c = arg;
    return cq_router_recording_status(c->router, c->session, c->out);
}

static int call_session(struct cq_relay *r, uint32_t session_id, int (*fn)(void *),
                        struct call *c) {
    struct relay_worker *w = worker_of(r, session_id);
    if (w == NULL)
        return CQ_ENOENT;
    c->router = w->router;
    c->session = session_id;
    return cq_worker_call(w->worker, fn, c);
}

int cq_relay_session_create(struct cq_relay *r, uint32_t session_id, uint16_t *media_port) {
    if (worker_of(r, session_id) != NULL)
        return CQ_EEXIST;
    unsigned best = 0;
    for (unsigned i = 1; i < r->nworkers; i++)
        if (r->w[i].sessions < r->w[best].sessions)
            best = i;
    struct call c = {.router = r->w[best].router, .session = session_id};
    int err = cq_worker_call(r->w[best].worker, do_session_create, &c);
    if (err != 0)
        return err;
    if ((err = cq_map_put(&r->session_worker, session_id, (void *)(uintptr_t)(best + 1))) != 0) {
        cq_worker_call(r->w[best].worker, do_session_close, &c);
        return err;
    }
    r->w[best].sessions++;
    if (media_port)
        *media_port = cq_worker_port(r->w[best].worker);
    return 0;
}

int cq_relay_session_close(struct cq_relay *r, uint32_t session_id) {
    struct relay_worker *w = worker_of(r, session_id);
    struct call c = {0};
    int err = call_session(r, session_id, do_session_close, &c);
    if (err == 0) {
        cq_map_remove(&r->session_worker, session_id);
        w->sessions--;
    }
    return err;
}

int cq_relay_participant_add(struct cq_relay *r, uint32_t session_id,
                             const cq_relay_participant_params_t *p) {
    struct call c = {.params = p};
    return call_session(r, session_id, do_participant_add, &c);
}

int cq_relay_participant_remove(struct cq_relay *r, uint32_t session_id, uint32_t participant_id) {
    struct call c = {.a = participant_id};
    return call_session(r, session_id, do_participant_remove, &c);
}

int cq_relay_participant_mute(struct cq_relay *r, uint32_t session_id, uint32_t participant_id,
                              bool muted) {
    struct call c = {.a = participant_id, .b = muted};
    return call_session(r, session_id, do_participant_mute, &c);
}

int cq_relay_subscribe(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                       uint32_t publisher) {
    struct call c = {.a = subscriber, .b = publisher};
    return call_session(r, session_id, do_subscribe, &c);
}

int cq_relay_unsubscribe(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                         uint32_t publisher) {
    struct call c = {.a = subscriber, .b = publisher};
    return call_session(r, session_id, do_unsubscribe, &c);
}

int cq_relay_consumer_ssrcs(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                            uint32_t publisher, cq_relay_consumer_ssrcs_t *out) {
    struct call c = {.a = subscriber, .b = publisher, .out = out};
    return call_session(r, session_id, do_consumer_ssrcs, &c);
}

int cq_relay_participant_stats(struct cq_relay *r, uint32_t session_id, uint32_t participant_id,
                               cq_relay_participant_stats_t *out) {
    struct call c = {.a = participant_id, .out = out};
    return call_session(r, session_id, do_participant_stats, &c);
}

int cq_relay_set_layer_prefs(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                             uint32_t publisher, const cq_relay_layer_prefs_t *prefs) {
    struct call c = {.a = subscriber, .b = publisher, .prefs = prefs};
    return call_session(r, session_id, do_set_layer_prefs, &c);
}

int cq_relay_stream_stats(struct cq_relay *r, uint32_t session_id, uint32_t participant_id,
                          cq_relay_stream_stats_t *out, size_t *n) {
    struct call c = {.a = participant_id, .out = out, .n = n};
    return call_session(r, session_id, do_stream_stats, &c);
}

int cq_relay_consumer_stats(struct cq_relay *r, uint32_t session_id, uint32_t subscriber,
                            uint32_t publisher, cq_relay_consumer_stats_t *out) {
    struct call c = {.a = subscriber, .b = publisher, .out = out};
    return call_session(r, session_id, do_consumer_stats, &c);
}

int cq_relay_worker_stats(struct cq_relay *r, cq_relay_worker_stats_t *out) {
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < r->nworkers; i++) {
        cq_relay_worker_stats_t s = {0};
        struct call c = {.router = r->w[i].router, .out = &s};
        int err = cq_worker_call(r->w[i].worker, do_worker_stats, &c);
        if (err != 0)
            return err;
        out->datagrams += s.datagrams;
        out->drops_unbound += s.drops_unbound;
        out->drops_stun += s.drops_stun;
        out->drops_garbage += s.drops_garbage;
        out->stun_errors += s.stun_errors;
        out->consent_expired += s.consent_expired;
        out->send_dropped += s.send_dropped;
        out->packets_in += s.packets_in;
        out->bytes_in += s.bytes_in;
        out->packets_out += s.packets_out;
        out->bytes_out += s.bytes_out;
        out->nacks_in += s.nacks_in;
        out->rtx_sent += s.rtx_sent;
        out->keyframe_requests_sent += s.keyframe_requests_sent;
        out->drops_auth += s.drops_auth;
        out->drops_replay += s.drops_replay;
        out->drops_unknown_ssrc += s.drops_unknown_ssrc;
        out->drops_malformed += s.drops_malformed;
        out->sessions += s.sessions;
        out->participants += s.participants;
        out->participants_bound += s.participants_bound;
    }
    return 0;
}

int cq_relay_recording(struct cq_relay *r, uint32_t session_id, bool on) {
    struct call c = {.a = on};
    return call_session(r, session_id, do_recording, &c);
}

int cq_relay_recording_status(struct cq_relay *r, uint32_t session_id,
                              cq_relay_recording_status_t *out) {
    struct call c = {.out = out};
    return call_session(r, session_id, do_recording_status, &c);
}

const char *cq_relay_recording_dir(const struct cq_relay *r) {
    return r->recording_dir;
}
