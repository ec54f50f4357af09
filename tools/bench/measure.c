#include "tools/bench/measure.h"

#include <math.h>
#include <string.h>

#include "tools/bench/sys.h"

/* Drained: nothing moved for this long, or the wait gave up (a backlog left then would
 * count in the next window: only an overloaded window leaves one that long). */
#define QUIET_NS     (20u * 1000000u)
#define DRAIN_MAX_NS (2000u * 1000000u)
#define POLL_NS      (5u * 1000000u)
#define LAG_POLL_NS  (1u * 1000000u)
/* The first window offers this many packets a second, at least real time. */
#define PROBE_IN_PPS 2000.0
#define RAMP         1.25
#define MAX_RAMP     12
#define BISECTIONS   3

typedef struct {
    cq_bench_gen_counters_t gen;
    cq_bench_engine_counters_t engine;
    cq_bench_sink_counters_t sink;
} snapshot_t;

static int snap(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, snapshot_t *s) {
    cq_bench_gen_counters(rig->gen, &s->gen);
    cq_bench_sink_counters(rig->sink, &s->sink);
    return e->read(e->ctx, &s->engine);
}

/* Waits until neither the forwarder nor the receivers count anything new. */
static int drain(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, snapshot_t *s) {
    uint64_t start = cq_bench_mono_ns(), quiet_since = start;
    int err = snap(rig, e, s);
    while (err == 0 && cq_bench_mono_ns() - start < DRAIN_MAX_NS) {
        cq_bench_sleep_ns(POLL_NS);
        snapshot_t now;
        if ((err = snap(rig, e, &now)) != 0)
            break;
        uint64_t t = cq_bench_mono_ns();
        if (now.engine.forwarded != s->engine.forwarded ||
            now.engine.datagrams != s->engine.datagrams || now.sink.media != s->sink.media)
            quiet_since = t;
        *s = now;
        if (t - quiet_since >= QUIET_NS)
            break;
    }
    return err;
}

static uint64_t allowed_lag(double seconds) {
    double share = seconds * CQ_BENCH_LAG_SHARE * 1e9;
    return share > CQ_BENCH_LAG_NS ? (uint64_t)share : CQ_BENCH_LAG_NS;
}

/* How long after t1 (the generator's stop) the forwarder had sent on 99.9 % of what a
 * asked of it; once that passes allowed, gives up and says so (a lag past allowed). */
static int lag(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, const snapshot_t *a,
               uint64_t t1, uint64_t allowed, uint64_t *out) {
    for (;;) {
        snapshot_t now;
        int err = snap(rig, e, &now);
        uint64_t t = cq_bench_mono_ns();
        if (err != 0)
            return err;
        uint64_t expected = now.gen.expected - a->gen.expected;
        uint64_t forwarded = now.engine.forwarded - a->engine.forwarded;
        if ((double)forwarded >= 0.999 * (double)expected || t - t1 > allowed) {
            *out = t - t1 > allowed && (double)forwarded < 0.999 * (double)expected ? allowed + 1
                                                                                    : t - t1;
            return 0;
        }
        cq_bench_sleep_ns(LAG_POLL_NS);
    }
}

static void fill(const cq_bench_rig_t *rig, const snapshot_t *a, const snapshot_t *b,
                 cq_bench_window_t *w) {
    w->offered = b->gen.packets - a->gen.packets;
    w->expected = b->gen.expected - a->gen.expected;
    w->gen_dropped = b->gen.dropped - a->gen.dropped;
    w->gen_lag_ns = b->gen.max_lag_ns;
    w->datagrams = b->engine.datagrams - a->engine.datagrams;
    w->dropped = b->engine.dropped - a->engine.dropped;
    w->forwarded = b->engine.forwarded - a->engine.forwarded;
    w->received = b->sink.media - a->sink.media;
    w->engine_cpu_ns = b->engine.cpu_ns - a->engine.cpu_ns;
    w->gen_cpu_ns = b->gen.cpu_ns - a->gen.cpu_ns;
    w->sink_cpu_ns = b->sink.cpu_ns - a->sink.cpu_ns;
    w->in_pps = (double)w->offered / w->seconds;
    w->out_pps = (double)w->forwarded / w->seconds;
    w->out_pps_per_core =
        w->engine_cpu_ns ? (double)w->forwarded * 1e9 / (double)w->engine_cpu_ns : 0;
    w->engine_load = (double)w->engine_cpu_ns / 1e9 / w->span;
    w->gen_load = (double)w->gen_cpu_ns / 1e9 / w->span;
    w->sink_load = (double)w->sink_cpu_ns / 1e9 / w->span;
    /* Allowed short of the schedule: 2 %, and the frame each stream may have had left
     * when the window closed (streams start spread over one frame interval). */
    double schedule = w->speed * rig->sc->in_pps * w->seconds;
    double slack = 0;
    for (size_t i = 0; i < rig->sc->nmembers; i++)
        for (unsigned k = 0; k < rig->sc->members[i].nstreams; k++)
            slack += rig->sc->members[i].streams[k].frame_packets;
    w->gen_short = (double)w->offered < 0.98 * schedule - slack;
    uint64_t lost = w->expected > w->forwarded ? w->expected - w->forwarded : 0;
    w->kept_up =
        w->lag_ns <= allowed_lag(w->seconds) && (double)lost <= 0.001 * (double)w->expected;
}

int cq_bench_window(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, double speed,
                    double seconds, const cq_bench_window_opts_t *opts, cq_bench_window_t *out) {
    memset(out, 0, sizeof *out);
    out->speed = speed;
    snapshot_t a, b;
    int err = snap(rig, e, &a);
    if (err != 0)
        return err;
    if (opts->count_allocs)
        cq_bench_allocs_begin();
    if (opts->record_latency)
        cq_bench_sink_record(rig->sink, true);
    cq_bench_gen_set(rig->gen, speed, e->addr);
    uint64_t t0 = cq_bench_mono_ns();
    cq_bench_sleep_until(t0 + (uint64_t)(seconds * 1e9));
    cq_bench_gen_set(rig->gen, 0, e->addr);
    uint64_t t1 = cq_bench_mono_ns();
    out->seconds = (double)(t1 - t0) / 1e9;
    if ((err = lag(rig, e, &a, t1, allowed_lag(out->seconds), &out->lag_ns)) != 0 ||
        (err = drain(rig, e, &b)) != 0)
        return err;
    out->span = (double)(cq_bench_mono_ns() - t0) / 1e9;
    if (opts->record_latency)
        cq_bench_sink_record(rig->sink, false);
    if (opts->count_allocs) {
        uint64_t counts[CQ_BENCH_ALLOCS_CLASSES];
        cq_bench_allocs_end(counts);
        out->allocs = counts[e->allocs_class];
    }
    fill(rig, &a, &b, out);
    return 0;
}

/* A window of the search; keeps the best that kept up. */
static int try_speed(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, double speed,
                     double step_s, cq_bench_search_t *s, cq_bench_window_t *w) {
    const cq_bench_window_opts_t plain = {0};
    int err = cq_bench_window(rig, e, speed, step_s, &plain, w);
    if (err == 0 && w->gen_short)
        err = cq_bench_window(rig, e, speed, step_s, &plain, w);
    if (err != 0)
        return err;
    s->windows++;
    if (w->kept_up && !w->gen_short && (!s->found || speed > s->best.speed)) {
        s->best = *w;
        s->found = true;
    }
    if (w->gen_short)
        s->generator_limited = true;
    else if (!w->kept_up && (s->fail_speed == 0 || speed < s->fail_speed))
        s->fail_speed = speed;
    return 0;
}

int cq_bench_search(const cq_bench_rig_t *rig, const cq_bench_engine_t *e, double step_s,
                    cq_bench_search_t *out) {
    memset(out, 0, sizeof *out);
    cq_bench_window_t w;
    double probe = PROBE_IN_PPS / rig->sc->in_pps;
    if (probe < 1)
        probe = 1;
    int err = try_speed(rig, e, probe, step_s, out, &w);
    if (err != 0)
        return err;
    /* The speed at which its CPU time would fill the window: a floor, since batches fill
     * up and each packet gets cheaper as the load grows. */
    double speed = w.engine_load > 0 ? 0.8 * probe / w.engine_load : probe * RAMP;
    if (speed < probe)
        speed = probe;
    /* Up until a window fails (or the generator gives out), down until one passes. */
    for (int i = 0; i < MAX_RAMP && (err = try_speed(rig, e, speed, step_s, out, &w)) == 0; i++) {
        if (w.gen_short)
            break;
        if (w.kept_up && out->fail_speed == 0)
            speed *= RAMP;
        else if (!w.kept_up && (!out->found || out->best.speed >= speed))
            speed /= RAMP;
        else
            break;
    }
    if (err != 0)
        return err;
    for (int i = 0; i < BISECTIONS && out->found && out->fail_speed > 0; i++) {
        double mid = sqrt(out->best.speed * out->fail_speed);
        if ((err = try_speed(rig, e, mid, step_s, out, &w)) != 0 || w.gen_short)
            break;
    }
    return err;
}
