#include "tools/bench/run.h"

#include <stdlib.h>
#include <string.h>

#include <valgrind/callgrind.h>

#include "relay/consumer.h"
#include "relay/relay.h"
#include "rtp/error.h"
#include "signaling/log.h"
#include "tools/bench/sys.h"
#include "tools/bench/endpoint.h"
#include "tools/bench/gen.h"
#include "tools/bench/limit.h"

#define BIND_TIMEOUT_MS 5000
/* The endpoints refresh no consent: the relay is told to wait longer than any run. */
#define CONSENT_S 600
#define WARMUP_S  0.3
/* The warm-up offers at least this many packets a second, so every stream has sent a few
 * frames, and every layer a keyframe, before anything is measured. */
#define WARMUP_IN_PPS 1000.0
/* Saturation windows per forwarder, taken in turns (see saturate). */
#define SATURATION_TURNS 2

struct bench {
    const cq_bench_opts_t *o;
    cq_bench_scenario_t sc;
    struct cq_relay *relay;
    uint16_t ports[64]; /* per session */
    cq_bench_ep_t *eps;
    size_t neps; /* opened */
    struct cq_bench_gen *gen;
    struct cq_bench_sink *sink;
    struct cq_bench_limit *limit;
};

/* ---- the forwarders as engines ------------------------------------------------------- */

static int relay_read(void *ctx, cq_bench_engine_counters_t *out) {
    struct bench *b = ctx;
    cq_relay_worker_stats_t st;
    int err = cq_relay_worker_stats(b->relay, &st);
    if (err != 0)
        return err;
    /* packets_out counts copies when they are queued; what sendmmsg then refused is in
     * send_dropped. */
    uint64_t refused = st.send_dropped < st.packets_out ? st.send_dropped : st.packets_out;
    *out = (cq_bench_engine_counters_t){
        .datagrams = st.datagrams,
        .forwarded = st.packets_out - refused,
        .dropped = st.send_dropped + st.drops_auth + st.drops_replay + st.drops_unknown_ssrc +
                   st.drops_malformed + st.drops_unbound,
    };
    for (unsigned i = 0; i < b->o->workers; i++) {
        uint64_t ns = 0;
        if ((err = cq_relay_worker_cpu_ns(b->relay, i, &ns)) != 0)
            return err;
        out->cpu_ns += ns;
    }
    return 0;
}

static int limit_read(void *ctx, cq_bench_engine_counters_t *out) {
    struct bench *b = ctx;
    cq_bench_limit_counters_t c;
    cq_bench_limit_counters(b->limit, &c);
    *out = (cq_bench_engine_counters_t){.datagrams = c.datagrams,
                                        .forwarded = c.forwarded,
                                        .dropped = c.dropped,
                                        .cpu_ns = c.cpu_ns};
    return 0;
}

/* ---- set-up ----------------------------------------------------------------------------- */

/* Where the threads created next run: the forwarder's side or the bench's (run.h). */
static void place(const struct bench *b, bool forwarder) {
    unsigned n = cq_bench_cpu_count();
    if (!b->o->pin || n < 2)
        return;
    int err = forwarder ? cq_bench_pin_self(1, n - 1) : cq_bench_pin_self(0, 0);
    if (err != 0)
        cq_log(CQ_LOG_WARN, "bench", "cannot pin threads: %s", cq_strerror(err));
}

static int open_relay(struct bench *b) {
    cq_relay_config_t cfg = {.host = "127.0.0.1",
                             .workers = b->o->workers,
                             .socket_buffer = b->o->sockbuf,
                             .consent_s = CONSENT_S,
                             .stats_log_ms = 3600u * 1000u};
    place(b, true); /* the workers start now, and stay where they start */
    int err = cq_relay_create(&b->relay, &cfg);
    place(b, false);
    for (unsigned s = 0; err == 0 && s < b->sc.sessions; s++)
        err = cq_relay_session_create(b->relay, s + 1, &b->ports[s]);
    return err;
}

static int open_endpoints(struct bench *b) {
    b->eps = calloc(b->sc.nmembers, sizeof *b->eps);
    if (b->eps == NULL)
        return CQ_ENOMEM;
    for (size_t i = 0; i < b->sc.nmembers; i++) {
        const cq_bench_member_t *m = &b->sc.members[i];
        int err = cq_bench_ep_open(&b->eps[i], &m->params, b->ports[m->session - 1], b->o->sockbuf);
        if (err != 0)
            return err;
        b->neps = i + 1;
    }
    return 0;
}

/* Subscribes m, which joined without subscribe_all, to every publisher of its session. */
static int subscribe(struct bench *b, const cq_bench_member_t *m) {
    for (size_t k = 0; k < b->sc.nmembers; k++) {
        const cq_bench_member_t *p = &b->sc.members[k];
        if (p == m || p->session != m->session || p->nstreams == 0)
            continue;
        int err = cq_relay_subscribe(b->relay, m->session, m->params.id, p->params.id);
        if (err != 0)
            return err;
    }
    return 0;
}

static int join_all(struct bench *b) {
    for (size_t i = 0; i < b->sc.nmembers; i++)
        if (b->o->subscribe_all)
            b->sc.members[i].params.subscribe_all = true;
    for (size_t i = 0; i < b->sc.nmembers; i++) {
        const cq_bench_member_t *m = &b->sc.members[i];
        int err = cq_relay_participant_add(b->relay, m->session, &m->params);
        if (err != 0) {
            cq_log(CQ_LOG_ERROR, "bench", "participant %zu: %s", i, cq_strerror(err));
            return err;
        }
    }
    /* Once everyone is in: subscriptions need both ends, preferences a subscription. */
    for (size_t i = 0; i < b->sc.nmembers; i++) {
        const cq_bench_member_t *m = &b->sc.members[i];
        int err = m->params.subscribe_all ? 0 : subscribe(b, m);
        if (err == 0 && m->has_prefs)
            err = cq_relay_set_layer_prefs(b->relay, m->session, m->params.id, m->pref_publisher,
                                           &m->prefs);
        if (err != 0) {
            cq_log(CQ_LOG_ERROR, "bench", "participant %zu: %s", i, cq_strerror(err));
            return err;
        }
    }
    int err = cq_bench_ep_bind_all(b->eps, b->neps, BIND_TIMEOUT_MS);
    if (err != 0)
        cq_log(CQ_LOG_ERROR, "bench", "binding over ICE-lite: %s", cq_strerror(err));
    return err;
}

static void teardown(struct bench *b) {
    cq_bench_gen_destroy(b->gen);
    cq_bench_sink_destroy(b->sink);
    cq_bench_limit_destroy(b->limit);
    cq_relay_destroy(b->relay);
    for (size_t i = 0; i < b->neps; i++)
        cq_bench_ep_close(&b->eps[i]);
    free(b->eps);
    cq_bench_scenario_close(&b->sc);
}

/* ---- measuring ---------------------------------------------------------------------------- */

/* Seconds of each kind of window, from the run's duration. */
static double share(const cq_bench_opts_t *o, double fraction, double floor_s) {
    double s = o->duration_s * fraction;
    return s > floor_s ? s : floor_s;
}

/* Before anything is measured: a warm-up (every SSRC seen, every layer started on a
 * keyframe), a window at real time, and the search for the saturation speed. */
static int prepare(struct bench *b, const cq_bench_engine_t *e, cq_bench_engine_result_t *res) {
    const cq_bench_opts_t *o = b->o;
    cq_bench_rig_t rig = {.sc = &b->sc, .gen = b->gen, .sink = b->sink};
    const cq_bench_window_opts_t plain = {0};
    double warm = WARMUP_IN_PPS / b->sc.in_pps, fixed = o->rate_in_pps / b->sc.in_pps;
    if (warm < 1)
        warm = 1;
    /* A fixed rate below real time (under valgrind, say) is never exceeded, and then there
     * is no window at real time either. */
    if (fixed > 0 && fixed < warm)
        warm = fixed;
    cq_bench_window_t w;
    int err = cq_bench_window(&rig, e, warm, WARMUP_S, &plain, &w);
    if (err == 0 && (fixed <= 0 || fixed >= 1))
        err = cq_bench_window(&rig, e, 1, share(o, 0.06, 0.3), &plain, &res->realtime);
    if (err == 0 && o->rate_in_pps <= 0)
        err = cq_bench_search(&rig, e, share(o, 0.05, 0.2), &res->search);
    res->ran = err == 0;
    return err;
}

/* Before the relay's memory is read: media at its saturation speed (or the fixed rate)
 * until every video stream has sent as many packets as the relay's retransmission caches
 * and consumers' histories hold (CQ_CONSUMER_HISTORY), or for at most a share of the run.
 * Returns how full the fullest cache of the slowest stream is (0..1). */
static int fill_caches(struct bench *b, const cq_bench_engine_t *e, const cq_bench_search_t *s,
                       double *fill) {
    const cq_bench_opts_t *o = b->o;
    cq_bench_rig_t rig = {.sc = &b->sc, .gen = b->gen, .sink = b->sink};
    double slowest = 0; /* packets per second of media of the slowest video stream */
    for (size_t i = 0; i < b->sc.nmembers; i++)
        for (unsigned k = 0; k < b->sc.members[i].nstreams; k++) {
            const cq_bench_stream_t *st = &b->sc.members[i].streams[k];
            double pps = st->frame_rate * st->frame_packets;
            if (st->video && (slowest == 0 || pps < slowest))
                slowest = pps;
        }
    *fill = 1;
    if (slowest == 0)
        return 0;
    double speed = o->rate_in_pps > 0 ? o->rate_in_pps / b->sc.in_pps
                   : s->found         ? 0.8 * s->best.speed
                                      : 1;
    cq_bench_gen_counters_t c;
    cq_bench_gen_counters(b->gen, &c);
    double missing = (double)CQ_CONSUMER_HISTORY - (double)c.min_video_to_relay;
    double seconds = missing / slowest / speed, cap = share(o, 0.1, 0.2);
    int err = 0;
    if (missing > 0) {
        const cq_bench_window_opts_t plain = {0};
        cq_bench_window_t w;
        err = cq_bench_window(&rig, e, speed, seconds < cap ? seconds : cap, &plain, &w);
        cq_bench_gen_counters(b->gen, &c);
    }
    *fill = (double)c.min_video_to_relay / CQ_CONSUMER_HISTORY;
    if (*fill > 1)
        *fill = 1;
    return err;
}

/* Throughput per core: windows at each forwarder's saturation speed (or the fixed rate),
 * the forwarders taking turns so a change in what else the machine runs falls on both;
 * each keeps its best window (other load only ever slows a forwarder down). Allocations
 * are counted over all of them. */
static int saturate(struct bench *b, const cq_bench_engine_t *e[2],
                    cq_bench_engine_result_t *r[2]) {
    const cq_bench_opts_t *o = b->o;
    cq_bench_rig_t rig = {.sc = &b->sc, .gen = b->gen, .sink = b->sink};
    const cq_bench_window_opts_t full = {.count_allocs = true, .record_latency = true};
    bool fixed = o->rate_in_pps > 0;
    for (int turn = 0; turn < (fixed ? 1 : SATURATION_TURNS); turn++) {
        for (int i = 0; i < 2; i++) {
            if (e[i] == NULL)
                continue;
            const cq_bench_search_t *s = &r[i]->search;
            double speed = fixed ? o->rate_in_pps / b->sc.in_pps : s->found ? s->best.speed : 1;
            cq_bench_window_t w;
            int err =
                cq_bench_window(&rig, e[i], speed, share(o, fixed ? 0.5 : 0.08, 0.3), &full, &w);
            if (err != 0)
                return err;
            uint64_t allocs = r[i]->saturation.allocs + w.allocs;
            uint64_t packets = r[i]->allocs_packets + w.forwarded;
            if (turn == 0 || w.out_pps_per_core > r[i]->saturation.out_pps_per_core)
                r[i]->saturation = w;
            r[i]->saturation.allocs = allocs;
            r[i]->allocs_packets = packets;
            if (fixed) {
                r[i]->latency = w;
                cq_bench_sink_latency(b->sink, &r[i]->lat);
            }
        }
    }
    return 0;
}

/* Latency at one speed: half the relay's saturation, for both forwarders. */
static int latency(struct bench *b, const cq_bench_engine_t *e, double speed,
                   cq_bench_engine_result_t *res) {
    cq_bench_rig_t rig = {.sc = &b->sc, .gen = b->gen, .sink = b->sink};
    const cq_bench_window_opts_t rec = {.record_latency = true};
    int err = cq_bench_window(&rig, e, speed, share(b->o, 0.1, 0.3), &rec, &res->latency);
    if (err == 0)
        cq_bench_sink_latency(b->sink, &res->lat);
    return err;
}

static int start_limit(struct bench *b) {
    int err = cq_bench_limit_create(&b->limit, &b->sc, b->eps, b->o->sockbuf);
    if (err == 0) {
        place(b, true);
        err = cq_bench_limit_start(b->limit);
        place(b, false);
    }
    return err;
}

static int setup(struct bench *b, cq_bench_result_t *r) {
    const cq_bench_opts_t *o = b->o;
    int err = cq_bench_scenario_create(&b->sc, o->kind, o->size, o->sessions, o->suite);
    if (err == 0)
        err = open_relay(b);
    if (err == 0)
        err = open_endpoints(b);
    if (err == 0)
        err = cq_bench_gen_create(&b->gen, &b->sc, b->eps);
    if (err == 0)
        err = cq_bench_gen_start(b->gen);
    if (err == 0)
        err = cq_bench_sink_create(&b->sink, b->eps, b->neps);
    if (err != 0)
        return err;
    r->participants = b->sc.nmembers;
    r->rss_before_kib = cq_bench_rss_kib();
    /* The receivers start once the endpoints are bound: they would read the relay's
     * Binding responses off the sockets before the endpoints saw them. */
    if ((err = join_all(b)) == 0)
        err = cq_bench_sink_start(b->sink);
    return err;
}

static int total(const cq_bench_engine_t *e, uint64_t *forwarded) {
    cq_bench_engine_counters_t c;
    int err = e->read(e->ctx, &c);
    *forwarded = c.forwarded;
    return err;
}

/* The relay first (its memory is read once its caches filled, before the limit forwarder
 * exists), then the limit; then both at saturation in turns, then latency. */
static int measure(struct bench *b, cq_bench_result_t *r) {
    const cq_bench_opts_t *o = b->o;
    cq_bench_engine_t relay = {
        .name = "relay", .read = relay_read, .ctx = b, .allocs_class = CQ_BENCH_ALLOCS_OTHER};
    cq_bench_engine_t limit = {
        .name = "limit", .read = limit_read, .ctx = b, .allocs_class = CQ_BENCH_ALLOCS_LIMIT};
    const cq_bench_engine_t *e[2] = {o->relay ? &relay : NULL, NULL};
    cq_bench_engine_result_t *res[2] = {&r->relay, &r->limit};
    int err = 0;
    if (o->relay) {
        err = prepare(b, &relay, &r->relay);
        if (err == 0)
            err = fill_caches(b, &relay, &r->relay.search, &r->rtx_cache_fill);
        r->rss_after_kib = cq_bench_rss_kib();
    }
    if (err == 0 && o->limit && (err = start_limit(b)) == 0) {
        limit.addr = cq_bench_limit_addr(b->limit);
        e[1] = &limit;
        err = prepare(b, &limit, &r->limit);
    }
    /* Under callgrind (--callgrind), what was spent until now is set-up: bindings, every
     * SSRC's first packet, the warm-up. Counting starts again here, and the packets are
     * counted from here too (no-ops otherwise). */
    for (int i = 0; i < 2 && err == 0; i++)
        if (e[i] != NULL)
            err = total(e[i], &res[i]->forwarded_before);
    CALLGRIND_ZERO_STATS;
    if (err == 0)
        err = saturate(b, e, res);
    if (err == 0 && o->rate_in_pps <= 0) {
        const cq_bench_search_t *s = o->relay ? &r->relay.search : &r->limit.search;
        double speed = s->found ? s->best.speed / 2 : 1;
        for (int i = 0; i < 2 && err == 0; i++)
            if (e[i] != NULL)
                err = latency(b, e[i], speed, res[i]);
    }
    for (int i = 0; i < 2 && err == 0; i++)
        if (e[i] != NULL)
            err = total(e[i], &res[i]->forwarded_total);
    return err;
}

int cq_bench_run(const cq_bench_opts_t *o, cq_bench_result_t *r) {
    memset(r, 0, sizeof *r);
    r->searched = o->rate_in_pps <= 0;
    struct bench b = {.o = o};
    int err = setup(&b, r);
    if (err == 0)
        err = measure(&b, r);
    if (b.sink != NULL)
        cq_bench_sink_counters(b.sink, &r->sink);
    teardown(&b);
    return err;
}
