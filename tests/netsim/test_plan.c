#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "tools/netsim/link.h"

/* Field by field: struct assignment need not copy padding, so memcmp could differ on
 * equal params. Doubles are compared exactly: the parser must give the very value. */
static void check_params(const cq_netsim_params_t *got, const cq_netsim_params_t *want,
                         const char *what) {
    if (got->rate_bps != want->rate_bps || got->queue_bytes != want->queue_bytes ||
        got->queue_ms != want->queue_ms || got->delay_ms != want->delay_ms ||
        got->jitter_ms != want->jitter_ms || got->reorder != want->reorder ||
        got->loss != want->loss || got->ge_p != want->ge_p || got->ge_r != want->ge_r ||
        got->ge_loss_good != want->ge_loss_good || got->ge_loss_bad != want->ge_loss_bad ||
        got->duplicate != want->duplicate || got->down != want->down) {
        fail_msg("%s: got rate %llu queue %uB/%ums delay %u jitter %u reorder %d loss %g "
                 "burst %g %g %g %g dup %g down %d",
                 what, (unsigned long long)got->rate_bps, got->queue_bytes, got->queue_ms,
                 got->delay_ms, got->jitter_ms, got->reorder, got->loss, got->ge_p, got->ge_r,
                 got->ge_loss_good, got->ge_loss_bad, got->duplicate, got->down);
    }
}

static void check_change(const cq_netsim_plan_t *plan, size_t i, uint32_t at_ms, bool up,
                         const cq_netsim_params_t *want) {
    char what[64];
    assert_true(i < plan->nchanges);
    snprintf(what, sizeof what, "change %zu", i);
    assert_int_equal(plan->changes[i].at_ms, at_ms);
    assert_int_equal(plan->changes[i].up, up);
    check_params(&plan->changes[i].params, want, what);
}

static int parse(const char *text, cq_netsim_plan_t *plan, unsigned *bad_line) {
    return cq_netsim_script_parse(text, strlen(text), plan, bad_line);
}

/* ---- profiles ---------------------------------------------------------------------------- */

static void test_plan_profile_lan(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("lan", &plan), 0);
    cq_netsim_params_t want = {.delay_ms = 1};
    check_params(&plan.up, &want, "up");
    check_params(&plan.down, &want, "down");
    assert_int_equal(plan.nchanges, 0);
    assert_int_equal(plan.period_ms, 0);
}

static void test_plan_profile_rural_radio(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("rural-radio", &plan), 0);
    cq_netsim_params_t want = {
        .rate_bps = 512000, .queue_ms = 250, .delay_ms = 40, .jitter_ms = 10, .loss = 0.02};
    check_params(&plan.up, &want, "up");
    check_params(&plan.down, &want, "down");
    assert_int_equal(plan.nchanges, 0);
}

static void test_plan_profile_vsat(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("vsat", &plan), 0);
    cq_netsim_params_t want = {
        .rate_bps = 384000, .queue_ms = 300, .delay_ms = 300, .jitter_ms = 20, .loss = 0.01};
    check_params(&plan.up, &want, "up");
    want.rate_bps = 1000000;
    check_params(&plan.down, &want, "down");
    assert_int_equal(plan.nchanges, 0);
}

/* 5 % long-run loss in bursts of 3-4 packets: the arithmetic of docs/NETSIM.md. */
static void test_plan_profile_3g_weak(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("3g-weak", &plan), 0);
    const cq_netsim_params_t *p = &plan.up;
    assert_int_equal(p->rate_bps, 256000);
    assert_int_equal(p->queue_ms, 500);
    assert_int_equal(p->queue_bytes, 0);
    assert_int_equal(p->delay_ms, 80);
    assert_int_equal(p->jitter_ms, 40);
    assert_true(p->loss == 0.0 && p->ge_loss_good == 0.0 && p->ge_loss_bad == 1.0);
    double pi_bad = p->ge_p / (p->ge_p + p->ge_r);
    double long_run = (1 - pi_bad) * p->ge_loss_good + pi_bad * p->ge_loss_bad;
    assert_true(long_run > 0.05 - 1e-12 && long_run < 0.05 + 1e-12);
    double mean_burst = 1.0 / p->ge_r;
    assert_true(mean_burst >= 3.0 && mean_burst <= 4.0);
    check_params(&plan.down, &plan.up, "down");
    assert_int_equal(plan.nchanges, 0);
}

static void test_plan_profile_collapse(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("collapse", &plan), 0);
    cq_netsim_params_t healthy = {.rate_bps = 1000000, .queue_bytes = 25000, .delay_ms = 20};
    cq_netsim_params_t collapsed = healthy;
    collapsed.rate_bps = 64000;
    check_params(&plan.up, &healthy, "up");
    check_params(&plan.down, &healthy, "down");
    assert_int_equal(plan.nchanges, 4);
    assert_int_equal(plan.period_ms, 0);
    check_change(&plan, 0, 20000, true, &collapsed);
    check_change(&plan, 1, 20000, false, &collapsed);
    check_change(&plan, 2, 40000, true, &healthy);
    check_change(&plan, 3, 40000, false, &healthy);
}

/* 2 s of outage every 30 s: the changes repeat with period_ms. */
static void test_plan_profile_outage(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("outage", &plan), 0);
    cq_netsim_params_t up = {.rate_bps = 1000000, .queue_ms = 200, .delay_ms = 20};
    cq_netsim_params_t down = up;
    down.down = true;
    check_params(&plan.up, &up, "up");
    check_params(&plan.down, &up, "down");
    assert_int_equal(plan.period_ms, 30000);
    assert_int_equal(plan.nchanges, 4);
    check_change(&plan, 0, 20000, true, &down);
    check_change(&plan, 1, 20000, false, &down);
    check_change(&plan, 2, 22000, true, &up);
    check_change(&plan, 3, 22000, false, &up);
    for (size_t i = 0; i < plan.nchanges; i++)
        assert_true(plan.changes[i].at_ms < plan.period_ms);
}

static void test_plan_profile_unknown(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    memset(&plan, 0xa5, sizeof plan);
    assert_int_equal(cq_netsim_profile("lan ", &plan), CQ_ENOENT);
    assert_int_equal(cq_netsim_profile("LAN", &plan), CQ_ENOENT);
    assert_int_equal(cq_netsim_profile("", &plan), CQ_ENOENT);
    assert_int_equal(plan.nchanges, (size_t)0xa5a5a5a5a5a5a5a5ull); /* untouched */
    assert_int_equal(cq_netsim_profile(NULL, &plan), CQ_EINVAL);
}

/* Every parameter set of every profile is one a link accepts. */
static void test_plan_profile_params_valid_for_link(void **state) {
    (void)state;
    const char *names[] = {"lan", "rural-radio", "vsat", "3g-weak", "collapse", "outage"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cq_netsim_plan_t plan;
        cq_netsim_link_t l;
        assert_int_equal(cq_netsim_profile(names[i], &plan), 0);
        assert_int_equal(cq_netsim_link_init(&l, &plan.up, 1, 4), 0);
        assert_int_equal(cq_netsim_link_set(&l, &plan.down), 0);
        for (size_t c = 0; c < plan.nchanges; c++)
            assert_int_equal(cq_netsim_link_set(&l, &plan.changes[c].params), 0);
        cq_netsim_link_free(&l);
    }
}

/* ---- scripts ----------------------------------------------------------------------------- */

/* The header's example. A line at 0 s is a change too, made at the start; the plan's own
 * start stays as it was. */
static void test_plan_script_example(void **state) {
    (void)state;
    const char *script = "# comments and blank lines are ignored\n"
                         "at 0s up rate 256kbit delay 80ms jitter 40ms loss 5%\n"
                         "\n"
                         "at 10s down burst 1% 30% 0% 50%\n"
                         "at 20s down rate 64kbit queue 200ms\n"
                         "at 40s both outage on\n"
                         "at 42s both outage off\n";
    cq_netsim_plan_t plan = {0};
    unsigned bad = 99;
    assert_int_equal(parse(script, &plan, &bad), 0);
    assert_int_equal(bad, 0);
    cq_netsim_params_t up = {.rate_bps = 256000, .delay_ms = 80, .jitter_ms = 40, .loss = 0.05};
    cq_netsim_params_t none = {0};
    check_params(&plan.up, &none, "up");
    check_params(&plan.down, &none, "down");
    assert_int_equal(plan.nchanges, 7);
    check_change(&plan, 0, 0, true, &up);
    cq_netsim_params_t d10 = {.ge_p = 0.01, .ge_r = 0.3, .ge_loss_good = 0.0, .ge_loss_bad = 0.5};
    check_change(&plan, 1, 10000, false, &d10);
    cq_netsim_params_t d20 = d10;
    d20.rate_bps = 64000;
    d20.queue_ms = 200;
    check_change(&plan, 2, 20000, false, &d20);
    cq_netsim_params_t up40 = up, d40 = d20;
    up40.down = d40.down = true;
    check_change(&plan, 3, 40000, true, &up40);
    check_change(&plan, 4, 40000, false, &d40);
    check_change(&plan, 5, 42000, true, &up);
    check_change(&plan, 6, 42000, false, &d20);

    /* Lines out of time order are refused, at the line that goes back. */
    const char *verbatim = "# comments and blank lines are ignored\n"
                           "at 0s up rate 256kbit delay 80ms jitter 40ms loss 5%\n"
                           "at 20s down rate 64kbit queue 200ms\n"
                           "at 40s both outage on\n"
                           "at 42s both outage off\n"
                           "at 10s down burst 1% 30% 0% 50%\n";
    cq_netsim_plan_t empty = {0};
    assert_int_equal(parse(verbatim, &empty, &bad), CQ_EMALFORMED);
    assert_int_equal(bad, 6);
}

static void test_plan_script_units(void **state) {
    (void)state;
    const char *script = "at 0s up rate 1.5mbit queue 16KB delay 1.5s jitter 0 loss 0.05\n"
                         "at 0s down rate 9600bit queue 300B reorder on duplicate 1%\n"
                         "at 1.25s up queue 200ms loss 2.5% duplicate 1\n"
                         "at 2s up queue 0 rate 0 burst 0.1 0.9 0 1\n"
                         "at 3s up rate 2Mbit DELAY 20MS burst off\n"
                         "at 4s down rate 2kbit reorder off outage on\n";
    cq_netsim_plan_t plan = {0};
    unsigned bad = 99;
    assert_int_equal(parse(script, &plan, &bad), 0);
    cq_netsim_params_t up = {
        .rate_bps = 1500000, .queue_bytes = 16000, .delay_ms = 1500, .loss = 0.05};
    cq_netsim_params_t down = {
        .rate_bps = 9600, .queue_bytes = 300, .reorder = true, .duplicate = 0.01};
    assert_int_equal(plan.nchanges, 6);
    check_change(&plan, 0, 0, true, &up);
    check_change(&plan, 1, 0, false, &down);
    cq_netsim_params_t c1 = up; /* a queue in ms replaces one in bytes */
    c1.queue_bytes = 0;
    c1.queue_ms = 200;
    c1.loss = 0.025;
    c1.duplicate = 1.0;
    check_change(&plan, 2, 1250, true, &c1);
    cq_netsim_params_t c2 = c1; /* queue 0: neither, the link's 100 ms default */
    c2.queue_ms = 0;
    c2.rate_bps = 0;
    c2.ge_p = 0.1;
    c2.ge_r = 0.9;
    c2.ge_loss_bad = 1.0;
    check_change(&plan, 3, 2000, true, &c2);
    cq_netsim_params_t c3 = c2;
    c3.rate_bps = 2000000;
    c3.delay_ms = 20;
    c3.ge_p = c3.ge_r = c3.ge_loss_bad = 0.0;
    check_change(&plan, 4, 3000, true, &c3);
    cq_netsim_params_t c4 = down;
    c4.rate_bps = 2000;
    c4.reorder = false;
    c4.down = true;
    check_change(&plan, 5, 4000, false, &c4);
    /* "5%" and "0.05" are the same double. */
    assert_true(plan.changes[0].params.loss == 0.05);
}

/* Each line changes what it names on top of what is in force for that direction then. */
static void test_plan_script_cumulative(void **state) {
    (void)state;
    const char *script = "at 10s up loss 5%\n"
                         "at 20s up delay 100ms\n"
                         "at 20s both jitter 5ms\n"
                         "at 30s down rate 64kbit\n";
    cq_netsim_plan_t plan = {0};
    assert_int_equal(parse(script, &plan, NULL), 0);
    assert_int_equal(plan.nchanges, 5);
    cq_netsim_params_t p = {.loss = 0.05};
    check_change(&plan, 0, 10000, true, &p);
    p.delay_ms = 100;
    check_change(&plan, 1, 20000, true, &p);
    p.jitter_ms = 5;
    check_change(&plan, 2, 20000, true, &p);
    cq_netsim_params_t d = {.jitter_ms = 5};
    check_change(&plan, 3, 20000, false, &d);
    d.rate_bps = 64000;
    check_change(&plan, 4, 30000, false, &d);
    cq_netsim_params_t none = {0};
    check_params(&plan.up, &none, "up");
    check_params(&plan.down, &none, "down");

    /* A second script goes on top of the first. */
    assert_int_equal(parse("at 25s up loss 1%\n", &plan, NULL), 0);
    assert_int_equal(plan.nchanges, 6);
    p.loss = 0.01;
    check_change(&plan, 4, 25000, true, &p);
}

/* On a profile with changes of its own, a line's fields are carried into the later ones,
 * up to the first that sets the field itself. */
static void test_plan_script_over_profile_carries_fields(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("collapse", &plan), 0);
    const char *script = "at 10s both loss 1%\n"
                         "at 20s down jitter 3ms\n"
                         "at 30s up rate 128kbit\n";
    assert_int_equal(parse(script, &plan, NULL), 0);
    cq_netsim_params_t healthy = {
        .rate_bps = 1000000, .queue_bytes = 25000, .delay_ms = 20, .loss = 0.01};
    cq_netsim_params_t collapsed = healthy;
    collapsed.rate_bps = 64000;
    assert_int_equal(plan.nchanges, 8);
    check_change(&plan, 0, 10000, true, &healthy);
    check_change(&plan, 1, 10000, false, &healthy);
    check_change(&plan, 2, 20000, true, &collapsed);
    check_change(&plan, 3, 20000, false, &collapsed);
    cq_netsim_params_t d20 = collapsed; /* after the profile's own 20 s change */
    d20.jitter_ms = 3;
    check_change(&plan, 4, 20000, false, &d20);
    cq_netsim_params_t u30 = collapsed;
    u30.rate_bps = 128000;
    check_change(&plan, 5, 30000, true, &u30);
    check_change(&plan, 6, 40000, true, &healthy); /* the profile's return wins the rate */
    cq_netsim_params_t d40 = healthy;
    d40.jitter_ms = 3;
    check_change(&plan, 7, 40000, false, &d40);
}

/* On a periodic plan the script's lines join the cycle, so they must fall inside the
 * period; a line at 0 s is carried into every later change of the cycle. */
static void test_plan_script_over_periodic_profile(void **state) {
    (void)state;
    cq_netsim_plan_t plan;
    assert_int_equal(cq_netsim_profile("outage", &plan), 0);
    assert_int_equal(parse("at 0s both delay 100ms\nat 25s up loss 1%\n", &plan, NULL), 0);
    cq_netsim_params_t base = {.rate_bps = 1000000, .queue_ms = 200, .delay_ms = 20};
    cq_netsim_params_t up = base;
    up.delay_ms = 100;
    cq_netsim_params_t down = up;
    down.down = true;
    check_params(&plan.up, &base, "up");
    check_params(&plan.down, &base, "down");
    assert_int_equal(plan.nchanges, 7);
    check_change(&plan, 0, 0, true, &up);
    check_change(&plan, 1, 0, false, &up);
    check_change(&plan, 2, 20000, true, &down);
    check_change(&plan, 3, 20000, false, &down);
    check_change(&plan, 4, 22000, true, &up);
    check_change(&plan, 5, 22000, false, &up);
    cq_netsim_params_t u25 = up;
    u25.loss = 0.01;
    check_change(&plan, 6, 25000, true, &u25);
    assert_int_equal(plan.period_ms, 30000);

    unsigned bad = 0;
    assert_int_equal(parse("at 29.999s up loss 2%\nat 30s up loss 1%\n", &plan, &bad),
                     CQ_EMALFORMED);
    assert_int_equal(bad, 2);
}

/* Each kind of mistake, and the line it is on; the plan is left as it was. */
static void test_plan_script_errors_report_line(void **state) {
    (void)state;
    static const struct {
        const char *script;
        unsigned line;
    } cases[] = {
        {"at 1s up delay 5ms\n# fine so far\nat 2s up latency 5ms\n", 3}, /* unknown keyword */
        {"up delay 5ms\n", 1},                                            /* no "at" */
        {"at 1s sideways delay 5ms\n", 1},                                /* direction */
        {"at 1s\n", 1},                                                   /* no direction */
        {"at 1s up\n", 1},                                                /* nothing to do */
        {"at 1s up delay\n", 1},                                          /* no argument */
        {"at 1s up rate fastkbit\n", 1},                                  /* bad number */
        {"at 1s up rate 1.2.3kbit\n", 1},                                 /* bad number */
        {"at 1s up rate -5kbit\n", 1},                                    /* no sign */
        {"at 1s up rate 5kb\n", 1},                                       /* bad unit */
        {"at 1s up delay 5min\n", 1},                                     /* bad unit */
        {"at 1s up delay 80\n", 1},                                       /* no unit */
        {"at 5 up delay 1ms\n", 1},                                       /* time, no unit */
        {"at 1s up queue 5\n", 1},                                        /* no unit */
        {"at 1s up queue 5kbit\n", 1},                                    /* a rate */
        {"at 1s up loss 5ms\n", 1},                                       /* a time */
        {"at 1s up delay 0.5ms\n", 1},                                    /* finer than 1 ms */
        {"\n\nat 5s up delay 1ms\nat 4s up delay 2ms\n", 4},              /* out of order */
        {"at 1s up loss 101%\n", 1},                                      /* out of range */
        {"at 1s up loss 1.01\n", 1},                                      /* out of range */
        {"at 1s up duplicate 2\n", 1},                                    /* out of range */
        {"at 1s up delay 5000000s\n", 1},                                 /* over 32 bits */
        {"at 1s up queue 5000000KB\n", 1},                                /* over 32 bits */
        {"at 5000000s up loss 1%\n", 1},                                  /* over 32 bits */
        {"at 1s up rate 1234567890123456789012kbit\n", 1},                /* too many digits */
        {"at 1s up burst 1% 30% 0%\n", 1},                                /* three of four */
        {"at 1s up burst 1% 30% 0% 150%\n", 1},                           /* out of range */
        {"at 1s up reorder maybe\n", 1},                                  /* on or off */
        {"at 1s up outage 1\n", 1},                                       /* on or off */
        {"at 1s up loss 1% loss 2%\n", 1},                                /* named twice */
        {"at 1s up loss 1%\nat 2s both delay 1ms jitter 1ms x\n", 2},     /* trailing junk */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cq_netsim_plan_t plan, before;
        assert_int_equal(cq_netsim_profile("vsat", &plan), 0);
        before = plan;
        unsigned bad = 0;
        int r = parse(cases[i].script, &plan, &bad);
        if (r != CQ_EMALFORMED || bad != cases[i].line)
            fail_msg("case %zu (%s): returned %d at line %u, expected line %u", i, cases[i].script,
                     r, bad, cases[i].line);
        assert_int_equal(plan.nchanges, before.nchanges);
        check_params(&plan.up, &before.up, "up unchanged");
        check_params(&plan.down, &before.down, "down unchanged");
    }
}

/* 64 changes fit and the 65th is refused, with its line; "both" takes two. */
static void test_plan_script_too_many_changes(void **state) {
    (void)state;
    char script[8192];
    size_t n = 0;
    for (unsigned i = 1; i <= CQ_NETSIM_MAX_CHANGES + 1; i++)
        n += (size_t)snprintf(script + n, sizeof script - n, "at %us up loss %u%%\n", i, i);
    cq_netsim_plan_t plan = {0};
    unsigned bad = 0;
    assert_int_equal(parse(script, &plan, &bad), CQ_EMALFORMED);
    assert_int_equal(bad, CQ_NETSIM_MAX_CHANGES + 1);
    assert_int_equal(plan.nchanges, 0);

    /* The first 64 lines alone are fine. */
    const char *line65 = strstr(script, "at 65s");
    assert_non_null(line65);
    assert_int_equal(cq_netsim_script_parse(script, (size_t)(line65 - script), &plan, &bad), 0);
    assert_int_equal(plan.nchanges, CQ_NETSIM_MAX_CHANGES);
    assert_true(plan.changes[63].params.loss == 0.64);

    n = 0;
    for (unsigned i = 1; i <= CQ_NETSIM_MAX_CHANGES / 2 + 1; i++)
        n += (size_t)snprintf(script + n, sizeof script - n, "at %us both delay %ums\n", i, i);
    plan = (cq_netsim_plan_t){0};
    assert_int_equal(parse(script, &plan, &bad), CQ_EMALFORMED);
    assert_int_equal(bad, CQ_NETSIM_MAX_CHANGES / 2 + 1);

    /* A profile's changes count too: collapse has 4. */
    assert_int_equal(cq_netsim_profile("collapse", &plan), 0);
    n = 0;
    for (unsigned i = 1; i <= CQ_NETSIM_MAX_CHANGES - 3; i++)
        n += (size_t)snprintf(script + n, sizeof script - n, "at %ums down loss 1%%\n", i);
    assert_int_equal(parse(script, &plan, &bad), CQ_EMALFORMED);
    assert_int_equal(bad, CQ_NETSIM_MAX_CHANGES - 3);
}

/* Comments anywhere on a line, CR LF, tabs, no final newline; nothing read past len. */
static void test_plan_script_layout_and_length(void **state) {
    (void)state;
    const char *script = "  # leading comment\r\n"
                         "\r\n"
                         "\tat 1s\tup  delay 5ms # trailing comment\r\n"
                         "at 2s down loss 1%";
    cq_netsim_plan_t plan = {0};
    unsigned bad = 99;
    assert_int_equal(parse(script, &plan, &bad), 0);
    assert_int_equal(bad, 0);
    assert_int_equal(plan.nchanges, 2);
    cq_netsim_params_t u = {.delay_ms = 5}, d = {.loss = 0.01};
    check_change(&plan, 0, 1000, true, &u);
    check_change(&plan, 1, 2000, false, &d);

    /* The text need not end with a NUL: a length cutting "bogus" off parses. */
    const char *cut = "at 1s up delay 5ms\nat 2s up bogus 1\n";
    plan = (cq_netsim_plan_t){0};
    assert_int_equal(cq_netsim_script_parse(cut, 19, &plan, &bad), 0);
    assert_int_equal(plan.nchanges, 1);
    /* Cut inside a number: "at 1s up delay 5" lacks its unit. */
    plan = (cq_netsim_plan_t){0};
    assert_int_equal(cq_netsim_script_parse(cut, 16, &plan, &bad), CQ_EMALFORMED);
    assert_int_equal(bad, 1);
    /* Empty and comment-only scripts change nothing. */
    assert_int_equal(cq_netsim_script_parse("", 0, &plan, &bad), 0);
    assert_int_equal(parse("# nothing\n\n   \n", &plan, &bad), 0);
    assert_int_equal(plan.nchanges, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_profile_lan),
        cmocka_unit_test(test_plan_profile_rural_radio),
        cmocka_unit_test(test_plan_profile_vsat),
        cmocka_unit_test(test_plan_profile_3g_weak),
        cmocka_unit_test(test_plan_profile_collapse),
        cmocka_unit_test(test_plan_profile_outage),
        cmocka_unit_test(test_plan_profile_unknown),
        cmocka_unit_test(test_plan_profile_params_valid_for_link),
        cmocka_unit_test(test_plan_script_example),
        cmocka_unit_test(test_plan_script_units),
        cmocka_unit_test(test_plan_script_cumulative),
        cmocka_unit_test(test_plan_script_over_profile_carries_fields),
        cmocka_unit_test(test_plan_script_over_periodic_profile),
        cmocka_unit_test(test_plan_script_errors_report_line),
        cmocka_unit_test(test_plan_script_too_many_changes),
        cmocka_unit_test(test_plan_script_layout_and_length),
    };
    return cmocka_run_group_tests_name("netsim/plan", tests, NULL, NULL);
}
