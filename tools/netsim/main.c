/*
 * chasqui-netsim: a weak link in user space, between one telecentre and the relay (the
 * kernel's netem is not available on the project's machines). A UDP proxy on libuv: what
 * the telecentre sends to --listen goes through the "up" link model to --to; what comes
 * back goes through the "down" link to the telecentre (the last address it sent from, so
 * a NAT rebinding is followed). Each direction has its own rate, queue, delay, jitter,
 * losses and outages (tools/netsim/link.h), from a profile, a script of timed changes, or
 * --up/--down lines in the script's language.
 *
 *   chasqui-netsim --listen PORT --to HOST:PORT [--profile NAME] [--script FILE]
 *                  [--up "rate 256kbit delay 80ms"] [--down "..."] [--seed N]
 *                  [--stats FILE.json] [--series FILE.csv] [--series-ms MS]
 *                  [--duration S] [--bind ADDRESS]
 *
 * It prints "netsim: listening on UDP PORT" once ready, and its counts (what each direction
 * delivered and dropped, and why) as JSON at the end (SIGINT, SIGTERM, --duration). With
 * --series, every MS milliseconds (250) a row per direction: the capacity in force, what
 * was offered and delivered, the queue, and the drops by cause (docs/NETSIM.md).
 * Exit status: 0 done, 2 bad command line, 1 a socket could not be opened.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "rtp/error.h"
#include "tools/netsim/link.h"

#define POOL_PACKETS 4096

typedef struct {
    uv_loop_t *loop;
    uv_udp_t inner, outer; /* facing the telecentre, facing the relay */
    struct sockaddr_storage client, target;
    bool have_client;
    cq_netsim_link_t up, down;
    cq_netsim_plan_t plan;
    size_t next_change;
    uint64_t start_us, period_start_us;
    uv_timer_t deliver_timer, change_timer, stop_timer, series_timer;
    uv_signal_t sigint, sigterm;
    const char *stats_path;
    FILE *series;
    uint64_t series_ms;
    uint8_t rbuf[CQ_NETSIM_MAX_PACKET], sbuf[CQ_NETSIM_MAX_PACKET];
    uint64_t oversize;
} netsim_t;

static uint64_t now_us(void) {
    return uv_hrtime() / 1000u;
}

static void schedule(netsim_t *n);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    netsim_t *n = h->data;
    *buf = uv_buf_init((char *)n->rbuf, sizeof n->rbuf);
}

static void on_inner(uv_udp_t *u, ssize_t len, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags) {
    netsim_t *n = u->data;
    (void)buf;
    if (len <= 0 || addr == NULL)
        return;
    if (flags & UV_UDP_PARTIAL) {
        n->oversize++;
        return;
    }
    memcpy(&n->client, addr,
           addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    n->have_client = true;
    cq_netsim_link_send(&n->up, n->rbuf, (size_t)len, now_us());
    schedule(n);
}

static void on_outer(uv_udp_t *u, ssize_t len, const uv_buf_t *buf, const struct sockaddr *addr,
                     unsigned flags) {
    netsim_t *n = u->data;
    (void)buf;
    (void)addr;
    if (len <= 0 || !n->have_client)
        return;
    if (flags & UV_UDP_PARTIAL) {
        n->oversize++;
        return;
    }
    cq_netsim_link_send(&n->down, n->rbuf, (size_t)len, now_us());
    schedule(n);
}

/* Sends every packet due now, then sleeps until the next one. */
static void on_deliver(uv_timer_t *t) {
    netsim_t *n = t->data;
    uint64_t now = now_us();
    int len;
    while ((len = cq_netsim_link_take(&n->up, now, n->sbuf, sizeof n->sbuf)) > 0) {
        uv_buf_t b = uv_buf_init((char *)n->sbuf, (unsigned)len);
        uv_udp_try_send(&n->outer, &b, 1, (const struct sockaddr *)&n->target);
    }
    while ((len = cq_netsim_link_take(&n->down, now, n->sbuf, sizeof n->sbuf)) > 0) {
        uv_buf_t b = uv_buf_init((char *)n->sbuf, (unsigned)len);
        uv_udp_try_send(&n->inner, &b, 1, (const struct sockaddr *)&n->client);
    }
    schedule(n);
}

static void schedule(netsim_t *n) {
    uint64_t a, b, due = UINT64_MAX;
    if (cq_netsim_link_next(&n->up, &a))
        due = a;
    if (cq_netsim_link_next(&n->down, &b) && b < due)
        due = b;
    if (due == UINT64_MAX) {
        uv_timer_stop(&n->deliver_timer);
        return;
    }
    uint64_t now = now_us();
    /* libuv's timers count whole milliseconds: round up, never early. */
    uint64_t ms = due > now ? (due - now + 999) / 1000 : 0;
    uv_timer_start(&n->deliver_timer, on_deliver, ms, 0);
}

/* Applies the plan's changes that are due, then waits for the next one. */
static void on_change(uv_timer_t *t) {
    netsim_t *n = t->data;
    for (;;) {
        if (n->next_change == n->plan.nchanges) {
            if (n->plan.period_ms == 0 || n->plan.nchanges == 0)
                return;
            n->next_change = 0; /* the plan repeats */
            n->period_start_us += (uint64_t)n->plan.period_ms * 1000u;
        }
        const cq_netsim_change_t *c = &n->plan.changes[n->next_change];
        uint64_t at = n->period_start_us + (uint64_t)c->at_ms * 1000u, now = now_us();
        if (at > now) {
            uv_timer_start(&n->change_timer, on_change, (at - now + 999) / 1000, 0);
            return;
        }
        cq_netsim_link_set_at(c->up ? &n->up : &n->down, &c->params, now);
        n->next_change++;
    }
}

/* A row per direction of the time series. Once per interval, not per packet: the
 * forwarding path stays without allocation (stdio's buffer is made at the first row). */
static void write_series(netsim_t *n) {
    char row[256];
    cq_netsim_sample_t s;
    uint64_t now = now_us();
    cq_netsim_link_sample(&n->up, now, &s);
    if (cq_netsim_sample_write(&s, n->start_us, "up", row, sizeof row) > 0)
        fputs(row, n->series);
    cq_netsim_link_sample(&n->down, now, &s);
    if (cq_netsim_sample_write(&s, n->start_us, "down", row, sizeof row) > 0)
        fputs(row, n->series);
    fflush(n->series);
}

static void on_series(uv_timer_t *t) {
    write_series(t->data);
}

static void print_direction(FILE *f, const char *name, const cq_netsim_link_t *l, bool last) {
    cq_netsim_stats_t s;
    cq_netsim_link_stats(l, &s);
    fprintf(f,
            "  \"%s\": {\"sent\": %llu, \"delivered\": %llu, \"bytes_sent\": %llu, "
            "\"bytes_delivered\": %llu, \"drop_outage\": %llu, \"drop_loss\": %llu, "
            "\"drop_burst\": %llu, \"drop_queue\": %llu, \"drop_pool\": %llu, "
            "\"duplicated\": %llu, \"reordered\": %llu}%s\n",
            name, (unsigned long long)s.sent, (unsigned long long)s.delivered,
            (unsigned long long)s.bytes_sent, (unsigned long long)s.bytes_delivered,
            (unsigned long long)s.drop_outage, (unsigned long long)s.drop_loss,
            (unsigned long long)s.drop_burst, (unsigned long long)s.drop_queue,
            (unsigned long long)s.drop_pool, (unsigned long long)s.duplicated,
            (unsigned long long)s.reordered, last ? "" : ",");
}

static void write_stats(netsim_t *n) {
    FILE *f = n->stats_path ? fopen(n->stats_path, "w") : stderr;
    if (f == NULL) {
        fprintf(stderr, "netsim: cannot write %s: %s\n", n->stats_path, strerror(errno));
        return;
    }
    fprintf(f, "{\n  \"seconds\": %.3f,\n  \"oversize\": %llu,\n",
            (double)(now_us() - n->start_us) / 1e6, (unsigned long long)n->oversize);
    print_direction(f, "up", &n->up, false);
    print_direction(f, "down", &n->down, true);
    fprintf(f, "}\n");
    if (f != stderr)
        fclose(f);
}

static void stop(netsim_t *n) {
    uv_stop(n->loop);
}

static void on_signal(uv_signal_t *s, int signum) {
    (void)signum;
    stop(s->data);
}

static void on_stop_timer(uv_timer_t *t) {
    stop(t->data);
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: chasqui-netsim --listen PORT --to HOST:PORT [options]\n"
            "\n"
            "  --profile NAME       lan, rural-radio, vsat, 3g-weak, collapse, outage\n"
            "  --script FILE        timed changes (docs/NETSIM.md), after the profile\n"
            "  --up LINE            e.g. \"rate 256kbit delay 80ms loss 5%%\" (client to server)\n"
            "  --down LINE          the same, server to client\n"
            "  --seed N             the same seed gives the same losses and delays (default 1)\n"
            "  --stats FILE.json    where the counts go at the end (default: stderr)\n"
            "  --series FILE.csv    a row per direction every --series-ms: capacity, offered,\n"
            "                       delivered, queue, drops by cause (docs/NETSIM.md)\n"
            "  --series-ms MS       the series' interval (default 250)\n"
            "  --duration S         stop after S seconds (default: SIGINT or SIGTERM)\n"
            "  --bind ADDRESS       where to listen (default 127.0.0.1)\n");
}

static int bad_usage(const char *what) {
    fprintf(stderr, "chasqui-netsim: %s (chasqui-netsim --help tells more)\n", what);
    return 2;
}

static int parse_target(const char *s, struct sockaddr_storage *out) {
    char host[128];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535)
        return -1;
    /* [v6]:port */
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)out) == 0)
        return 0;
    return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)out) == 0 ? 0 : -1;
}

static int read_file(const char *path, char **out, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    char *buf = malloc(65536);
    size_t n = buf ? fread(buf, 1, 65535, f) : 0;
    bool whole = buf != NULL && feof(f);
    fclose(f);
    if (!whole) {
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* --up/--down lines change the starting state of one direction, on top of the profile. */
static int apply_line(cq_netsim_plan_t *plan, bool up, const char *line) {
    char text[600];
    int n = snprintf(text, sizeof text, "at 0s %s %s\n", up ? "up" : "down", line);
    static cq_netsim_plan_t tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.up = plan->up;
    tmp.down = plan->down;
    unsigned bad;
    if (n < 0 || (size_t)n >= sizeof text ||
        cq_netsim_script_parse(text, (size_t)n, &tmp, &bad) != 0 || tmp.nchanges != 1)
        return -1;
    if (up)
        plan->up = tmp.changes[0].params;
    else
        plan->down = tmp.changes[0].params;
    return 0;
}

int main(int argc, char **argv) {
    static const struct option longs[] = {
        {"listen", required_argument, NULL, 'l'},   {"to", required_argument, NULL, 't'},
        {"profile", required_argument, NULL, 'p'},  {"script", required_argument, NULL, 's'},
        {"up", required_argument, NULL, 'u'},       {"down", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 'S'},     {"stats", required_argument, NULL, 'j'},
        {"duration", required_argument, NULL, 'D'}, {"bind", required_argument, NULL, 'b'},
        {"series", required_argument, NULL, 'C'},   {"series-ms", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    static netsim_t n;
    const char *listen = NULL, *to = NULL, *profile = "lan", *script = NULL, *bind = "127.0.0.1";
    const char *up_line = NULL, *down_line = NULL, *series = NULL;
    unsigned long long seed = 1;
    double duration = 0;
    char *end;
    int ch;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (ch) {
        case 'l':
            listen = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'p':
            profile = optarg;
            break;
        case 's':
            script = optarg;
            break;
        case 'u':
            up_line = optarg;
            break;
        case 'd':
            down_line = optarg;
            break;
        case 'j':
            n.stats_path = optarg;
            break;
        case 'b':
            bind = optarg;
            break;
        case 'C':
            series = optarg;
            break;
        case 'M':
            n.series_ms = strtoull(optarg, &end, 10);
            if (*end != '\0' || n.series_ms < 10 || n.series_ms > 60000)
                return bad_usage("--series-ms is milliseconds, 10 to 60000");
            break;
        case 'S':
            seed = strtoull(optarg, &end, 10);
            if (*end != '\0')
                return bad_usage("--seed is a number");
            break;
        case 'D':
            duration = strtod(optarg, &end);
            if (*end != '\0' || !(duration > 0))
                return bad_usage("--duration is seconds, more than 0");
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return bad_usage("unknown option");
        }
    }
    if (listen == NULL || to == NULL || optind < argc)
        return bad_usage("--listen PORT and --to HOST:PORT are needed");
    unsigned long lport = strtoul(listen, &end, 10);
    if (*end != '\0' || lport > 65535)
        return bad_usage("--listen is a port number");
    if (parse_target(to, &n.target) != 0)
        return bad_usage("--to is HOST:PORT with an IPv4 or [IPv6] address");
    if (cq_netsim_profile(profile, &n.plan) != 0)
        return bad_usage("unknown profile");
    if (script != NULL) {
        char *text;
        size_t len;
        unsigned bad = 0;
        if (read_file(script, &text, &len) != 0) {
            fprintf(stderr, "chasqui-netsim: cannot read %s\n", script);
            return 2;
        }
        int rc = cq_netsim_script_parse(text, len, &n.plan, &bad);
        free(text);
        if (rc != 0) {
            fprintf(stderr, "chasqui-netsim: %s:%u: not understood\n", script, bad);
            return 2;
        }
    }
    if ((up_line && apply_line(&n.plan, true, up_line) != 0) ||
        (down_line && apply_line(&n.plan, false, down_line) != 0))
        return bad_usage("--up/--down: not understood (docs/NETSIM.md)");
    if (cq_netsim_link_init(&n.up, &n.plan.up, seed, POOL_PACKETS) != 0 ||
        cq_netsim_link_init(&n.down, &n.plan.down, seed ^ 0x9e3779b97f4a7c15ull, POOL_PACKETS) != 0)
        return bad_usage("the link parameters are out of range");

    if (series != NULL) {
        if ((n.series = fopen(series, "w")) == NULL) {
            fprintf(stderr, "chasqui-netsim: cannot write %s: %s\n", series, strerror(errno));
            return 2;
        }
        fputs(CQ_NETSIM_SERIES_HEADER, n.series);
        if (n.series_ms == 0)
            n.series_ms = 250;
    }

    n.loop = uv_default_loop();
    struct sockaddr_storage local, any;
    memset(&any, 0, sizeof any);
    if (uv_ip4_addr(bind, (int)lport, (struct sockaddr_in *)&local) != 0 &&
        uv_ip6_addr(bind, (int)lport, (struct sockaddr_in6 *)&local) != 0)
        return bad_usage("--bind is an IPv4 or IPv6 address");
    any.ss_family = n.target.ss_family;
    uv_udp_init(n.loop, &n.inner);
    uv_udp_init(n.loop, &n.outer);
    n.inner.data = n.outer.data = &n;
    int err;
    if ((err = uv_udp_bind(&n.inner, (const struct sockaddr *)&local, 0)) != 0 ||
        (err = uv_udp_bind(&n.outer, (const struct sockaddr *)&any, 0)) != 0 ||
        (err = uv_udp_recv_start(&n.inner, on_alloc, on_inner)) != 0 ||
        (err = uv_udp_recv_start(&n.outer, on_alloc, on_outer)) != 0) {
        fprintf(stderr, "chasqui-netsim: %s\n", uv_strerror(err));
        return 1;
    }
    int size = 4 << 20;
    uv_recv_buffer_size((uv_handle_t *)&n.inner, &size);
    size = 4 << 20;
    uv_recv_buffer_size((uv_handle_t *)&n.outer, &size);
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_udp_getsockname(&n.inner, (struct sockaddr *)&bound, &blen);
    unsigned port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                     : ((struct sockaddr_in6 *)&bound)->sin6_port);
    fprintf(stderr, "netsim: listening on UDP %u, to %s, profile %s, seed %llu\n", port, to,
            profile, seed);

    uv_timer_init(n.loop, &n.deliver_timer);
    uv_timer_init(n.loop, &n.change_timer);
    uv_timer_init(n.loop, &n.stop_timer);
    uv_timer_init(n.loop, &n.series_timer);
    uv_signal_init(n.loop, &n.sigint);
    uv_signal_init(n.loop, &n.sigterm);
    n.deliver_timer.data = n.change_timer.data = n.stop_timer.data = n.series_timer.data = &n;
    n.sigint.data = n.sigterm.data = &n;
    uv_signal_start(&n.sigint, on_signal, SIGINT);
    uv_signal_start(&n.sigterm, on_signal, SIGTERM);
    if (duration > 0)
        uv_timer_start(&n.stop_timer, on_stop_timer, (uint64_t)(duration * 1000), 0);
    n.start_us = n.period_start_us = now_us();
    if (n.series != NULL) {
        /* The first interval starts now, not at the clock's zero. */
        cq_netsim_sample_t discard;
        cq_netsim_link_sample(&n.up, n.start_us, &discard);
        cq_netsim_link_sample(&n.down, n.start_us, &discard);
        uv_timer_start(&n.series_timer, on_series, n.series_ms, n.series_ms);
    }
    on_change(&n.change_timer);
    uv_run(n.loop, UV_RUN_DEFAULT);

    if (n.series != NULL) {
        write_series(&n); /* the last, shorter interval */
        fclose(n.series);
    }
    write_stats(&n);
    uv_close((uv_handle_t *)&n.inner, NULL);
    uv_close((uv_handle_t *)&n.outer, NULL);
    uv_close((uv_handle_t *)&n.deliver_timer, NULL);
    uv_close((uv_handle_t *)&n.change_timer, NULL);
    uv_close((uv_handle_t *)&n.stop_timer, NULL);
    uv_close((uv_handle_t *)&n.series_timer, NULL);
    uv_close((uv_handle_t *)&n.sigint, NULL);
    uv_close((uv_handle_t *)&n.sigterm, NULL);
    uv_run(n.loop, UV_RUN_DEFAULT);
    cq_netsim_link_free(&n.up);
    cq_netsim_link_free(&n.down);
    uv_loop_close(n.loop);
    return 0;
}
