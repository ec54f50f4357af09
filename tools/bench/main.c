/*
 * chasqui-bench: load and measurement for the relay's forwarding path (issue 8,
 * docs/PERFORMANCE.md). It runs the real relay in this process, binds synthetic
 * telecentres to it over ICE-lite, sends them real SRTP media from one thread and counts
 * what arrives on another, then does the same through a bare forwarder that makes the
 * same system calls and the same SRTP work and nothing else: the machine's limit. Every
 * run reports the relay as a ratio of that limit, measured in the same invocation.
 *
 *   chasqui-bench [--scenario fanout|conference|broadcast] [--fanout N | --participants N
 *                 | --viewers N] [--suite gcm|aes-cm] [--workers N] [--sessions N]
 *                 [--duration S] [--rate PPS] [--mode both|relay|limit]
 *                 [--socket-buffer BYTES] [--no-pin] [--subscribe-all] [--json]
 *                 [--callgrind]
 *
 * Without --rate it searches each forwarder's saturation (the highest load it forwards
 * with under 0.1 % loss); with --rate it offers that many packets a second throughout.
 * --json prints one JSON object on stdout; otherwise a summary. --callgrind counts
 * instructions per forwarded packet under valgrind instead (tools/bench/callgrind.h).
 * --no-pin leaves threads wherever the kernel puts them (run.h says where they go);
 * --subscribe-all joins every participant as the daemon does (tools/bench/scenario.h).
 * Exit status: 0 done, 2 bad command line, 1 the run failed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rtp/error.h"
#include "signaling/log.h"
#include "tools/bench/allocs.h"
#include "tools/bench/callgrind.h"
#include "tools/bench/run.h"

#ifndef CQ_SRTP_BACKEND
#define CQ_SRTP_BACKEND "unknown"
#endif

typedef struct {
    cq_bench_opts_t run;
    bool json, callgrind;
} options_t;

static void usage(FILE *f) {
    fprintf(f, "usage: chasqui-bench [--scenario fanout|conference|broadcast]\n"
               "         [--fanout N | --participants N | --viewers N] [--suite gcm|aes-cm]\n"
               "         [--workers N] [--sessions N] [--duration S] [--rate PPS]\n"
               "         [--mode both|relay|limit] [--socket-buffer BYTES] [--no-pin]\n"
               "         [--subscribe-all] [--json] [--callgrind]\n");
}

static const char *suite_label(cq_srtp_suite_t s) {
    return s == CQ_SRTP_AEAD_AES_128_GCM ? "gcm" : "aes-cm";
}

/* N's name in each scenario, and its default. */
static const char *size_key(cq_bench_kind_t k) {
    return k == CQ_BENCH_FANOUT ? "fanout" : k == CQ_BENCH_CONFERENCE ? "participants" : "viewers";
}

static unsigned default_size(cq_bench_kind_t k) {
    return k == CQ_BENCH_FANOUT ? 10 : k == CQ_BENCH_CONFERENCE ? 40 : 500;
}

static bool parse_uint(const char *s, unsigned max, unsigned *out) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static bool parse_double(const char *s, double *out) {
    char *end;
    *out = strtod(s, &end);
    return *s != '\0' && *end == '\0' && *out >= 0;
}

static bool parse_choice(options_t *o, int c, const char *arg) {
    switch (c) {
    case 's':
        return cq_bench_scenario_from_name(arg, &o->run.kind) == 0;
    case 'u':
        if (strcmp(arg, "gcm") == 0)
            o->run.suite = CQ_SRTP_AEAD_AES_128_GCM;
        else if (strcmp(arg, "aes-cm") == 0)
            o->run.suite = CQ_SRTP_AES_CM_128_HMAC_SHA1_80;
        else
            return false;
        return true;
    case 'm':
        o->run.relay = strcmp(arg, "limit") != 0;
        o->run.limit = strcmp(arg, "relay") != 0;
        return strcmp(arg, "both") == 0 || strcmp(arg, "relay") == 0 || strcmp(arg, "limit") == 0;
    }
    return false;
}

static bool parse_args(int argc, char **argv, options_t *o) {
    static const struct option longs[] = {{"scenario", required_argument, NULL, 's'},
                                          {"fanout", required_argument, NULL, 'n'},
                                          {"participants", required_argument, NULL, 'n'},
                                          {"viewers", required_argument, NULL, 'n'},
                                          {"suite", required_argument, NULL, 'u'},
                                          {"workers", required_argument, NULL, 'w'},
                                          {"sessions", required_argument, NULL, 'S'},
                                          {"duration", required_argument, NULL, 'd'},
                                          {"rate", required_argument, NULL, 'r'},
                                          {"mode", required_argument, NULL, 'm'},
                                          {"socket-buffer", required_argument, NULL, 'b'},
                                          {"json", no_argument, NULL, 'j'},
                                          {"callgrind", no_argument, NULL, 'c'},
                                          {"no-pin", no_argument, NULL, 'p'},
                                          {"subscribe-all", no_argument, NULL, 'a'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    *o = (options_t){.run = {.kind = CQ_BENCH_FANOUT,
                             .suite = CQ_SRTP_AEAD_AES_128_GCM,
                             .workers = 1,
                             .duration_s = 5,
                             .sockbuf = 4 << 20,
                             .relay = true,
                             .limit = true,
                             .pin = true}};
    unsigned sockbuf = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 's':
        case 'u':
        case 'm':
            ok = parse_choice(o, c, optarg);
            break;
        case 'n':
            ok = parse_uint(optarg, CQ_BENCH_MAX_SIZE, &o->run.size) && o->run.size > 0;
            break;
        case 'w':
            ok = parse_uint(optarg, CQ_RELAY_MAX_WORKERS, &o->run.workers) && o->run.workers > 0;
            break;
        case 'S':
            ok = parse_uint(optarg, 64, &o->run.sessions) && o->run.sessions > 0;
            break;
        case 'd':
            ok = parse_double(optarg, &o->run.duration_s) && o->run.duration_s > 0;
            break;
        case 'r':
            ok = parse_double(optarg, &o->run.rate_in_pps);
            break;
        case 'b':
            ok = parse_uint(optarg, 1u << 30, &sockbuf) && sockbuf >= 65536;
            o->run.sockbuf = (int)sockbuf;
            break;
        case 'j':
            o->json = true;
            break;
        case 'c':
            o->callgrind = true;
            break;
        case 'p':
            o->run.pin = false;
            break;
        case 'a':
            o->run.subscribe_all = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "chasqui-bench: bad value for --%s\n", argv[optind - 1] + 2);
            return false;
        }
    }
    if (optind != argc)
        return false;
    if (o->run.size == 0)
        o->run.size = default_size(o->run.kind);
    if (o->run.sessions == 0)
        o->run.sessions = o->run.workers;
    return true;
}

/* ---- output ------------------------------------------------------------------------------ */

static double ratio(double a, double b) {
    return b > 0 ? a / b : 0;
}

static json_t *window_json(const cq_bench_window_t *w) {
    uint64_t lost = w->expected > w->forwarded ? w->expected - w->forwarded : 0;
    return json_pack(
        "{s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, "
        "s:f, s:b, s:b}",
        "speed", w->speed, "seconds", w->seconds, "in_pps", w->in_pps, "out_pps", w->out_pps,
        "offered", (json_int_t)w->offered, "expected", (json_int_t)w->expected, "forwarded",
        (json_int_t)w->forwarded, "lost", (json_int_t)lost, "received", (json_int_t)w->received,
        "loss_pct", 100.0 * ratio((double)lost, (double)w->expected), "out_pps_per_core",
        w->out_pps_per_core, "cpu_pct", 100 * w->engine_load, "generator_cpu_pct",
        100 * w->gen_load, "receivers_cpu_pct", 100 * w->sink_load, "lag_ms",
        (double)w->lag_ns / 1e6, "kept_up", w->kept_up, "generator_short", w->gen_short);
}

static json_t *latency_json(const cq_bench_latency_t *l, const cq_bench_window_t *w) {
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "p50", (json_int_t)l->p50_us, "p99",
                     (json_int_t)l->p99_us, "p999", (json_int_t)l->p999_us, "max",
                     (json_int_t)l->max_us, "samples", (json_int_t)l->count, "in_pps", w->in_pps);
}

static json_t *engine_json(const cq_bench_engine_result_t *e, bool searched) {
    json_t *o = json_pack("{s:o, s:o, s:o, s:f, s:I, s:I}", "realtime", window_json(&e->realtime),
                          "saturation", window_json(&e->saturation), "latency_window",
                          window_json(&e->latency), "media_cpu_pct", 100 * e->realtime.engine_load,
                          "forwarded_total", (json_int_t)e->forwarded_total, "forwarded_measured",
                          (json_int_t)(e->forwarded_total - e->forwarded_before));
    if (searched)
        json_object_set_new(o, "search",
                            json_pack("{s:i, s:b, s:f, s:b}", "windows", (int)e->search.windows,
                                      "found", e->search.found, "fail_speed", e->search.fail_speed,
                                      "generator_limited", e->search.generator_limited));
    return o;
}

/* Allocations per forwarded packet over the windows that counted them. */
static double allocs_per_packet(const cq_bench_engine_result_t *e) {
    return ratio((double)e->saturation.allocs, (double)e->allocs_packets);
}

/* Who held the throughput back: a forwarder that saturated, or the generator. */
static const char *bottleneck(const cq_bench_result_t *r) {
    const cq_bench_engine_result_t *e = r->relay.ran ? &r->relay : &r->limit;
    if (!r->searched)
        return "none (fixed rate)";
    if (e->search.generator_limited && e->search.fail_speed == 0)
        return "generator";
    return e->search.found ? "forwarder" : "unknown";
}

static json_t *result_json(const options_t *o, const cq_bench_result_t *r) {
    const cq_bench_engine_result_t *rl = &r->relay, *lm = &r->limit;
    const cq_bench_engine_result_t *main = rl->ran ? rl : lm;
    double relay_pps = rl->saturation.out_pps_per_core, limit_pps = lm->saturation.out_pps_per_core;
    int64_t rss = r->rss_after_kib - r->rss_before_kib;
    json_t *j =
        json_pack("{s:s, s:i, s:i, s:i, s:I, s:s, s:s, s:f, s:s, s:f, s:f, s:f}", "scenario",
                  cq_bench_scenario_name(o->run.kind), size_key(o->run.kind), (int)o->run.size,
                  "sessions", (int)o->run.sessions, "workers", (int)o->run.workers, "participants",
                  (json_int_t)r->participants, "suite", suite_label(o->run.suite), "srtp_backend",
                  CQ_SRTP_BACKEND, "duration_s", o->run.duration_s, "mode",
                  r->searched ? "search" : "fixed", "relay_out_pps_per_core", relay_pps,
                  "limit_out_pps_per_core", limit_pps, "ratio", ratio(relay_pps, limit_pps));
    json_object_set_new(j, "latency_us", latency_json(&main->lat, &main->latency));
    json_object_set_new(j, "limit_latency_us", latency_json(&lm->lat, &lm->latency));
    json_object_set_new(j, "allocs_per_packet", json_real(allocs_per_packet(main)));
    json_object_set_new(j, "limit_allocs_per_packet", json_real(allocs_per_packet(lm)));
    json_object_set_new(j, "rss_kib_per_participant",
                        json_real(rl->ran ? ratio((double)rss, (double)r->participants) : 0));
    json_object_set_new(j, "rtx_cache_fill", json_real(r->rtx_cache_fill));
    json_object_set_new(j, "offered_packets", json_integer((json_int_t)main->saturation.offered));
    json_object_set_new(j, "expected_packets", json_integer((json_int_t)main->saturation.expected));
    json_object_set_new(j, "forwarded_packets",
                        json_integer((json_int_t)main->saturation.forwarded));
    json_object_set_new(j, "received_packets", json_integer((json_int_t)main->saturation.received));
    json_object_set_new(j, "bottleneck", json_string(bottleneck(r)));
    json_object_set_new(j, "subscribe_all", json_boolean(o->run.subscribe_all));
    json_object_set_new(j, "receivers",
                        json_pack("{s:I, s:I, s:I}", "verified", (json_int_t)r->sink.verified,
                                  "auth_failures", (json_int_t)r->sink.auth_failures, "rtcp",
                                  (json_int_t)r->sink.rtcp));
    if (rl->ran)
        json_object_set_new(j, "relay", engine_json(rl, r->searched));
    if (lm->ran)
        json_object_set_new(j, "limit", engine_json(lm, r->searched));
    return j;
}

static void print_text(const options_t *o, const cq_bench_result_t *r) {
    printf("%s %s=%u, %s, %u worker(s), %zu participants\n", cq_bench_scenario_name(o->run.kind),
           size_key(o->run.kind), o->run.size, suite_label(o->run.suite), o->run.workers,
           r->participants);
    const cq_bench_engine_result_t *es[2] = {&r->relay, &r->limit};
    const char *names[2] = {"relay", "limit"};
    for (int i = 0; i < 2; i++) {
        const cq_bench_engine_result_t *e = es[i];
        if (!e->ran)
            continue;
        printf("%-5s  %9.0f out pkt/s per core at %.0f in pkt/s (%.2f%% lost), "
               "latency p50/p99/p99.9 %llu/%llu/%llu us, %.3f allocs/pkt, %.1f%% CPU per "
               "second of media\n",
               names[i], e->saturation.out_pps_per_core, e->saturation.in_pps,
               100.0 * ratio((double)(e->saturation.expected - e->saturation.forwarded),
                             (double)e->saturation.expected),
               (unsigned long long)e->lat.p50_us, (unsigned long long)e->lat.p99_us,
               (unsigned long long)e->lat.p999_us, allocs_per_packet(e),
               100 * e->realtime.engine_load);
    }
    if (r->relay.ran && r->limit.ran)
        printf("ratio  %.3f\n",
               ratio(r->relay.saturation.out_pps_per_core, r->limit.saturation.out_pps_per_core));
    if (r->relay.ran)
        printf("rss    %.1f KiB per participant (retransmission caches %.0f%% full)\n",
               ratio((double)(r->rss_after_kib - r->rss_before_kib), (double)r->participants),
               100 * r->rtx_cache_fill);
}

int main(int argc, char **argv) {
    options_t o;
    if (!parse_args(argc, argv, &o)) {
        usage(stderr);
        return 2;
    }
    if (o.callgrind)
        return cq_bench_callgrind(argv[0], argc, argv, &o.run) == 0 ? 0 : 1;
    if (cq_bench_allocs_install() != 0)
        fprintf(stderr, "chasqui-bench: cannot count allocations\n");
    cq_bench_allocs_set_class(CQ_BENCH_ALLOCS_BENCH);
    cq_log_set_level(CQ_LOG_WARN);
    cq_bench_result_t r;
    int err = cq_bench_run(&o.run, &r);
    if (err != 0) {
        fprintf(stderr, "chasqui-bench: %s\n", cq_strerror(err));
        return 1;
    }
    if (o.json) {
        json_t *j = result_json(&o, &r);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        print_text(&o, &r);
    }
    return 0;
}
