/* The uplink allocator (client/ratealloc.h): audio first, layers dropped from the top as
 * the estimate falls, frame rate before resolution, hysteresis on the way up, unused
 * layers not encoded. Time is the test's own: no clock is read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/ratealloc.h"

#define STEP_US 250000 /* the endpoint plans every 250 ms */

static cq_ratealloc_config_t config(void) {
    return (cq_ratealloc_config_t){.layers = 3,
                                   .max_video_kbps = 500,
                                   .audio = true,
                                   .audio_red = 1,
                                   .audio_frame_ms = 20,
                                   .fec = true};
}

/* A wide link: every probe asked for came back having carried plenty (judged now). The
 * proof a step up waits for has tests of its own below. */
#define WIDE_PROBE_BPS 100000000u

static cq_ratealloc_plan_t plan(cq_ratealloc_t *a, uint32_t target, int64_t now) {
    cq_ratealloc_input_t in = {.target_bps = target, .probe_bps = WIDE_PROBE_BPS, .probe_us = now};
    cq_ratealloc_plan_t p;
    cq_ratealloc_update(a, &in, now, &p);
    return p;
}

static unsigned count(uint8_t mask) {
    unsigned n = 0;
    for (; mask; mask >>= 1)
        n += mask & 1u;
    return n;
}

static void test_ratealloc_layer_shares(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    /* 1:3:9 of 500 kbit/s, and a minimum of about a third (never under 20). */
    assert_int_equal(cq_ratealloc_layer_max_kbps(&c, 0), 38);
    assert_int_equal(cq_ratealloc_layer_max_kbps(&c, 1), 115);
    assert_int_equal(cq_ratealloc_layer_max_kbps(&c, 2), 346);
    assert_int_equal(cq_ratealloc_layer_min_kbps(&c, 0), 20);
    assert_int_equal(cq_ratealloc_layer_min_kbps(&c, 2), 121);
    assert_int_equal(cq_ratealloc_layer_max_kbps(&c, 3), 0);
    c.layers = 2;
    assert_int_equal(cq_ratealloc_layer_max_kbps(&c, 1), 375);
}

/* As the estimate falls, layers go from the top, one at a time, and never come back
 * while it keeps falling; before each layer goes, it ran at a lower frame rate. */
static void test_ratealloc_drops_from_top_fps_first(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    cq_ratealloc_plan_t prev = plan(&a, 1000000, 0);
    assert_int_equal(prev.layers_on, 0x7);
    assert_int_equal(prev.fps_pct[2], 100);
    unsigned drops = 0, reduced_seen = 0;
    int64_t now = 0;
    for (uint32_t t = 1000000; t >= 20000; t -= 2000) {
        now += STEP_US;
        cq_ratealloc_plan_t p = plan(&a, t, now);
        /* Always the lowest layers: 1, 3 or 7. */
        assert_true(p.layers_on == 0x1 || p.layers_on == 0x3 || p.layers_on == 0x7);
        assert_true(count(p.layers_on) <= count(prev.layers_on));
        unsigned top = count(p.layers_on) - 1;
        if (p.fps_pct[top] < 100)
            reduced_seen++;
        if (count(p.layers_on) < count(prev.layers_on)) {
            /* The layer that went had been at half the frame rate. */
            drops++;
            assert_int_equal(prev.fps_pct[count(prev.layers_on) - 1], 50);
        }
        /* Only the top layer on is ever slowed. */
        for (unsigned i = 0; i < top; i++)
            assert_int_equal(p.fps_pct[i], 100);
        for (unsigned i = top + 1; i < CQ_RATEALLOC_MAX_LAYERS; i++)
            assert_int_equal(p.layer_kbps[i], 0);
        prev = p;
    }
    assert_int_equal(drops, 2);
    assert_true(reduced_seen > 0);
    /* At the bottom: layer 0 alone, at half its frame rate, at the encoder's floor. */
    assert_int_equal(prev.layers_on, 0x1);
    assert_int_equal(prev.fps_pct[0], 50);
    assert_int_equal(prev.layer_kbps[0], CQ_RATEALLOC_FLOOR_KBPS);
}

/* Where the three layers fit only at a lower frame rate, the top one slows down and all
 * three stay: the receivers of the top layer keep their resolution. */
static void test_ratealloc_fps_before_resolution(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    bool found = false;
    for (uint32_t t = 400000; t >= 100000 && !found; t -= 1000) {
        cq_ratealloc_t a;
        cq_ratealloc_init(&a, &c);
        cq_ratealloc_plan_t p = plan(&a, t, 0);
        double budget = (double)(t - p.audio_cost_bps) * CQ_RATEALLOC_VIDEO_SHARE / 1000;
        unsigned need_full = 20 + 40 + 121;
        if (budget < need_full && budget >= 20 + 40 + 121 * 67 / 100) {
            found = true;
            assert_int_equal(p.layers_on, 0x7);
            assert_int_equal(p.fps_pct[2], 67);
            assert_int_equal(p.fps_pct[0], 100);
            assert_int_equal(p.fps_pct[1], 100);
            assert_true(p.video_kbps <= budget + 1);
        }
    }
    assert_true(found);
}

/* Up again only after the better choice fitted with 20 % to spare for 2 s, and an
 * estimate that saws across a layer's need does not switch it on and off. */
static void test_ratealloc_hysteresis(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t now = 0;
    assert_int_equal(plan(&a, 1000000, now).layers_on, 0x7);
    now += STEP_US;
    assert_int_equal(plan(&a, 150000, now).layers_on, 0x3); /* down at once */
    /* Sawing: 150 and 217 kbit/s. At 217 the top layer would fit at 2/3 of its frame
     * rate, but not with 20 % to spare: nothing changes for 20 s. */
    unsigned changes = 0;
    uint8_t last = 0x3;
    for (int i = 0; i < 80; i++) {
        now += STEP_US;
        uint8_t on = plan(&a, i % 2 ? 217000 : 150000, now).layers_on;
        changes += on != last;
        last = on;
    }
    assert_int_equal(changes, 0);
    /* A clear rise: held for 2 s, then the three layers. */
    int64_t rise = now + STEP_US;
    int64_t up_at = -1;
    for (int i = 0; i < 40 && up_at < 0; i++) {
        now += STEP_US;
        if (plan(&a, 1000000, now).layers_on == 0x7)
            up_at = now;
    }
    assert_true(up_at >= 0);
    assert_true(up_at - rise >= CQ_RATEALLOC_UP_HOLD_US);
    assert_true(up_at - rise <= CQ_RATEALLOC_UP_HOLD_US + STEP_US);
    /* A dip in the middle of a hold starts it again. */
    now += STEP_US;
    assert_int_equal(plan(&a, 150000, now).layers_on, 0x3);
    for (int i = 0; i < 6; i++) {
        now += STEP_US;
        assert_int_equal(plan(&a, 1000000, now).layers_on, 0x3);
    }
    now += STEP_US;
    assert_int_equal(plan(&a, 200000, now).layers_on, 0x3); /* no headroom: the hold ends */
    for (int i = 0; i < 6; i++) {
        now += STEP_US;
        assert_int_equal(plan(&a, 1000000, now).layers_on, 0x3);
    }
}

/* One plan with the last probe's result judged at probe_us (0: none yet). */
static cq_ratealloc_plan_t plan_probed(cq_ratealloc_t *a, uint32_t target, uint32_t probe_bps,
                                       int64_t probe_us, int64_t now) {
    cq_ratealloc_input_t in = {.target_bps = target, .probe_bps = probe_bps, .probe_us = probe_us};
    cq_ratealloc_plan_t p;
    cq_ratealloc_update(a, &in, now, &p);
    return p;
}

/*
 * A step up waits for a probe that carried what it needs. Down to two layers, the
 * estimate rises past the three layers' need with headroom: after the 2 s hold the plan
 * asks for a probe (above the target) and keeps two layers while none is judged; a probe
 * judged before the rise began proves nothing; one that carried too little sends the step
 * back to a whole hold, asking nothing meanwhile; one that carried enough takes it.
 */
static void test_ratealloc_step_up_waits_for_proof(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t now = 0;
    assert_int_equal(plan_probed(&a, 1000000, 0, 0, now).layers_on, 0x7); /* first: at once */
    now += STEP_US;
    assert_int_equal(plan_probed(&a, 150000, 0, 0, now).layers_on, 0x3); /* down at once */
    int64_t old_probe = now;
    int64_t rise = now + STEP_US;
    cq_ratealloc_plan_t p;
    for (int i = 0; i < 16; i++) { /* 4 s: the hold, and two seconds asking */
        now += STEP_US;
        p = plan_probed(&a, 1000000, WIDE_PROBE_BPS, old_probe, now);
        assert_int_equal(p.layers_on, 0x3);
        if (now - rise < CQ_RATEALLOC_UP_HOLD_US)
            assert_int_equal(p.probe_bps, 0);
        else
            assert_true(p.probe_bps > 1000000);
    }
    /* Carried 300 kbit/s, well under three layers' need: a new hold, nothing asked. */
    int64_t denied = now + STEP_US;
    for (int i = 0; i < 8; i++) {
        now += STEP_US;
        p = plan_probed(&a, 1000000, 300000, denied, now);
        assert_int_equal(p.layers_on, 0x3);
        assert_int_equal(p.probe_bps, 0);
    }
    /* The hold over, asked again; a probe that carried 1.2 Mbit/s takes the step. */
    now += STEP_US;
    p = plan_probed(&a, 1000000, 300000, denied, now);
    assert_int_equal(p.layers_on, 0x3);
    assert_true(p.probe_bps > 1000000);
    now += STEP_US;
    p = plan_probed(&a, 1000000, 1200000, now - 1000, now);
    assert_int_equal(p.layers_on, 0x7);
    assert_int_equal(p.probe_bps, 0);
}

/*
 * The collapse profile's uplink: 64 kbit/s, over which the estimate wanders to 1.4 times
 * the link for seconds at a time (the estimator lets it grow to 1.5 times what arrived while the
 * sender is held below), and each probe comes back with 95 % of the link. Layer 0 alone for 60 s.
 * On a link that is wide again the probes prove it and the second layer follows.
 */
static void test_ratealloc_wandering_estimate_not_taken(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    c.layers = 2;
    c.max_video_kbps = 180;
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t now = 0, probe_us = 0;
    assert_int_equal(plan_probed(&a, 1000000, 0, 0, now).layers_on, 0x3);
    for (int i = 0; i < 240; i++) {
        now += STEP_US;
        uint32_t target = i % 32 < 16 ? 50000 : 90000; /* 4 s at each */
        if (i % 8 == 7)
            probe_us = now - 1000;
        cq_ratealloc_plan_t p = plan_probed(&a, target, 61000, probe_us, now);
        assert_int_equal(p.layers_on, 0x1);
    }
    int64_t wide = now;
    int64_t up_at = -1;
    for (int i = 0; i < 40 && up_at < 0; i++) {
        now += STEP_US;
        if (i % 4 == 3)
            probe_us = now - 1000;
        if (plan_probed(&a, 400000, 500000, probe_us, now).layers_on == 0x3)
            up_at = now;
    }
    assert_true(up_at >= 0);
    assert_true(up_at - wide <= CQ_RATEALLOC_UP_HOLD_US + 2 * STEP_US);
}

/* A layer the relay newly uses comes without the hold, but not without proof: the probe
 * asked for at the change, once judged with room, turns it on. */
static void test_ratealloc_newly_used_layer_waits_for_proof(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    cq_ratealloc_input_t in = {.target_bps = 2000000, .used = 0x1, .used_known = true};
    cq_ratealloc_plan_t p;
    int64_t now = 0;
    cq_ratealloc_update(&a, &in, now, &p);
    assert_int_equal(p.layers_on, 0x1);
    in.used = 0x7;
    now += STEP_US;
    cq_ratealloc_update(&a, &in, now, &p);
    assert_int_equal(p.layers_on, 0x1);
    assert_true(p.probe_bps > in.target_bps);
    now += STEP_US;
    in.probe_bps = 2500000;
    in.probe_us = now - 1000;
    cq_ratealloc_update(&a, &in, now, &p);
    assert_int_equal(p.layers_on, 0x7);
}

/* The plan at now for a 2 Mbit/s uplink (room for every layer) when the relay says the
 * layers in used are taken. */
static cq_ratealloc_plan_t plan_for_used(cq_ratealloc_t *a, uint8_t used, int64_t now) {
    cq_ratealloc_input_t in = {.target_bps = 2000000,
                               .used = used,
                               .used_known = true,
                               .probe_bps = WIDE_PROBE_BPS,
                               .probe_us = now};
    cq_ratealloc_plan_t p;
    cq_ratealloc_update(a, &in, now, &p);
    return p;
}
/* Layers nobody uses are not encoded, whatever the budget; layer 0 always is. Before the
 * relay has said anything, every layer counts as used. */
static void test_ratealloc_unused_layers_off(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    static const struct {
        uint8_t used, on;
    } cases[] = {{0x4, 0x5}, {0x0, 0x1}, {0x2, 0x3}, {0x7, 0x7}, {0x1, 0x1}, {0xf8, 0x5}};
    int64_t now = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cq_ratealloc_plan_t p = plan_for_used(&a, cases[i].used, now += STEP_US);
        assert_int_equal(p.layers_on, cases[i].on);
        for (unsigned l = 0; l < CQ_RATEALLOC_MAX_LAYERS; l++)
            assert_int_equal(p.layer_kbps[l] != 0, (cases[i].on >> l) & 1u);
    }
    /* Unknown: all three. */
    now += STEP_US;
    cq_ratealloc_input_t in = {
        .target_bps = 2000000, .used_known = false, .probe_bps = WIDE_PROBE_BPS, .probe_us = now};
    cq_ratealloc_plan_t p;
    cq_ratealloc_update(&a, &in, now, &p);
    assert_int_equal(p.layers_on, 0x7);
    /* With every layer at its best, video is the configured maximum, no more. */
    assert_true(p.video_kbps <= c.max_video_kbps);
    assert_true(p.video_kbps >= c.max_video_kbps - 3);
}

/* Signalling gives every sender three layers; one whose picture allows two is asked for
 * "layer 2" by a relay whose receivers have room: that is its top layer, not none. */
static void test_ratealloc_layer_above_top_is_top(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    c.layers = 2;
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    static const struct {
        uint8_t used, on;
    } cases[] = {{0x4, 0x3}, {0x6, 0x3}, {0x1, 0x1}, {0x5, 0x3}, {0x2, 0x3}};
    int64_t now = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cq_ratealloc_plan_t p = plan_for_used(&a, cases[i].used, now += STEP_US);
        assert_int_equal(p.layers_on, cases[i].on);
        assert_int_equal(p.layer_kbps[2], 0);
    }
}

/* The relay's ceiling on layer 0 (CQLU) bounds layer 0 alone, never under the encoder's
 * floor; layers above keep their shares, and a budget that fits only layer 0 at its
 * ceiling keeps it at full frame rate where without the ceiling it would be slowed. */
static void test_ratealloc_lowest_layer_ceiling(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    static const struct {
        unsigned low_kbps, want;
    } cases[] = {{0, 38}, {25, 25}, {38, 38}, {90, 38}, {5, CQ_RATEALLOC_FLOOR_KBPS}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cq_ratealloc_t a;
        cq_ratealloc_init(&a, &c);
        cq_ratealloc_input_t in = {
            .target_bps = 2000000, .used = 0x7, .used_known = true, .low_kbps = cases[i].low_kbps};
        cq_ratealloc_plan_t p;
        cq_ratealloc_update(&a, &in, 0, &p);
        assert_int_equal(p.layers_on, 0x7);
        assert_int_equal(p.layer_kbps[0], cases[i].want);
        assert_int_equal(p.layer_kbps[1], 115);
        assert_int_equal(p.layer_kbps[2], 346);
        assert_int_equal(p.fps_pct[0], 100);
    }
    /* With 900 kbit/s configured, layer 0 needs 24 kbit/s at its full frame rate. On an
     * uplink whose video budget is 21-23 kbit/s it slows to 2/3 without a ceiling; a
     * ceiling of 20 makes it fit at its full frame rate. */
    c.max_video_kbps = 900;
    assert_int_equal(cq_ratealloc_layer_min_kbps(&c, 0), 24);
    uint32_t target = 0;
    for (uint32_t t = 40000; t < 200000 && target == 0; t += 500) {
        cq_ratealloc_t a;
        cq_ratealloc_init(&a, &c);
        cq_ratealloc_plan_t p = plan(&a, t, 0);
        double budget = (double)(t - p.audio_cost_bps) * CQ_RATEALLOC_VIDEO_SHARE / 1000;
        if (budget >= 21 && budget < 23)
            target = t;
    }
    assert_true(target != 0);
    for (int ceiling = 0; ceiling <= 1; ceiling++) {
        cq_ratealloc_t a;
        cq_ratealloc_init(&a, &c);
        cq_ratealloc_input_t in = {
            .target_bps = target, .used = 0x1, .used_known = true, .low_kbps = ceiling ? 20 : 0};
        cq_ratealloc_plan_t p;
        cq_ratealloc_update(&a, &in, 0, &p);
        assert_int_equal(p.layers_on, 0x1);
        assert_int_equal(p.fps_pct[0], ceiling ? 100 : 67);
        assert_true(p.layer_kbps[0] <= (ceiling ? 20u : 24u));
    }
}

/* Audio is paid first: Opus keeps at least 16 kbit/s however thin the uplink, video gets
 * only what audio leaves (beyond layer 0's floor), and a thin uplink gets longer audio
 * packets, shortened again only after the estimate held for 2 s. */
static void test_ratealloc_audio_first(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t now = 0;
    for (uint32_t t = 2000000; t >= 20000; t -= 5000) {
        cq_ratealloc_plan_t p = plan(&a, t, now += STEP_US);
        assert_true(p.audio_bps >= CQ_RATEALLOC_AUDIO_MIN_BPS);
        assert_true(p.audio_bps <= CQ_RATEALLOC_AUDIO_MAX_BPS);
        if (p.video_kbps > CQ_RATEALLOC_FLOOR_KBPS)
            assert_true(p.audio_cost_bps + p.video_kbps * 1000u <= t);
        if (t >= 1000000)
            assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MAX_BPS);
    }
    cq_ratealloc_plan_t p = plan(&a, 30000, now += STEP_US);
    assert_int_equal(p.audio_frame_ms, 60);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MIN_BPS);
    /* 70 kbit/s would do with 40 ms packets, with headroom: the hold starts here. */
    int64_t rise = now + STEP_US;
    assert_int_equal(plan(&a, 70000, now += STEP_US).audio_frame_ms, 60);
    int64_t short_at = -1;
    for (int i = 0; i < 20 && short_at < 0; i++)
        if (plan(&a, 500000, now += STEP_US).audio_frame_ms == 20)
            short_at = now;
    assert_true(short_at >= 0);
    assert_true(short_at - rise >= CQ_RATEALLOC_UP_HOLD_US);
    assert_true(short_at - rise <= CQ_RATEALLOC_UP_HOLD_US + STEP_US);
    /* Never shorter than configured. */
    c.audio_frame_ms = 40;
    cq_ratealloc_init(&a, &c);
    assert_int_equal(plan(&a, 2000000, 0).audio_frame_ms, 40);
}

/* steps updates STEP_US apart from *t with the same input: the last plan. A lossy input
 * (loss > 0) has its feedback report a loss at every step. */
static cq_ratealloc_plan_t run_steps(cq_ratealloc_t *a, const cq_ratealloc_input_t *in, int64_t *t,
                                     int steps) {
    cq_ratealloc_plan_t p;
    cq_ratealloc_input_t step = *in;
    for (int i = 0; i < steps; i++) {
        *t += STEP_US;
        if (in->loss > 0)
            step.last_loss_us = *t;
        cq_ratealloc_update(a, &step, *t, &p);
    }
    return p;
}

/* The base layer's copies follow the last loss the uplink's feedback reported: on at the
 * first on a long round trip, held 10 s after the last (VSAT's 1 % comes a packet in a
 * window of fifty, and an average of it sank under its threshold now and then), never on a
 * short round trip. */
static void test_ratealloc_protect_tl0_follows_last_loss(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t t = 0;
    cq_ratealloc_input_t in = {.target_bps = 300000, .rtt_us = 600000};
    assert_int_equal(run_steps(&a, &in, &t, 40).protect_tl0, 0); /* no loss yet */
    in.last_loss_us = t + STEP_US;
    assert_int_equal(run_steps(&a, &in, &t, 1).protect_tl0 & 1, 1); /* the first loss */
    cq_ratealloc_plan_t p =
        run_steps(&a, &in, &t, (int)(CQ_RATEALLOC_PROTECT_HOLD_US / STEP_US) - 2);
    assert_int_equal(p.protect_tl0 & 1, 1);                     /* within the hold */
    assert_int_equal(run_steps(&a, &in, &t, 2).protect_tl0, 0); /* 10 s on */
    in.last_loss_us = t + STEP_US;
    in.rtt_us = 100000;
    assert_int_equal(run_steps(&a, &in, &t, 1).protect_tl0, 0); /* a short round trip */
    in.rtt_us = 0;
    assert_int_equal(run_steps(&a, &in, &t, 1).protect_tl0, 0); /* or none known */
}

/* Loss in bursts: Opus hears of it (FEC on), and RED's extra copy is paid for before
 * video. The loss protected against is the measure averaged (7.2 %, rounded up). */
static void test_ratealloc_loss(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    c.audio_red = 2;
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    cq_ratealloc_input_t in = {.target_bps = 300000, .loss = 0, .loss_burst = 3.3};
    cq_ratealloc_plan_t clean, lossy;
    cq_ratealloc_update(&a, &in, 0, &clean);
    in.loss = 0.072;
    int64_t t = 0;
    lossy = run_steps(&a, &in, &t, 120);
    assert_false(clean.audio_fec);
    assert_int_equal(clean.audio_loss_pct, 0);
    assert_true(lossy.audio_fec);
    assert_int_equal(lossy.audio_loss_pct, 8);
    assert_true(lossy.audio_cost_bps > clean.audio_cost_bps + lossy.audio_bps / 2);
    assert_true(lossy.video_kbps < clean.video_kbps);
    c.fec = false;
    cq_ratealloc_init(&a, &c);
    cq_ratealloc_update(&a, &in, 0, &lossy);
    assert_false(lossy.audio_fec);
}

/* The base layer goes twice on a long, lossy round trip (VSAT: 600 ms, 1 %), on every
 * layer on that someone uses, and the video gives up what the copies cost (TL0's 40 %);
 * not on a short one, nor without loss. On a link wide enough for both, each protected
 * layer with its copies costs what it did without them: at most its maximum. */
static void test_ratealloc_protect_tl0(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_input_t in[3] = {
        {.target_bps = 300000, .loss = 0.01, .rtt_us = 600000},
        {.target_bps = 300000, .loss = 0.01, .rtt_us = 100000},
        {.target_bps = 300000, .loss = 0, .rtt_us = 600000},
    };
    cq_ratealloc_plan_t p[3];
    for (int k = 0; k < 3; k++) {
        cq_ratealloc_t a;
        cq_ratealloc_init(&a, &c);
        int64_t t = 0;
        in[k].probe_bps = WIDE_PROBE_BPS;
        in[k].probe_us = 1; /* judged before any step: each step asks again */
        p[k] = run_steps(&a, &in[k], &t, 120);
    }
    assert_int_equal(p[0].protect_tl0, p[0].layers_on);
    assert_true(p[0].layers_on & 1u);
    assert_int_equal(p[1].protect_tl0, 0);
    assert_int_equal(p[2].protect_tl0, 0);
    assert_true(p[0].video_kbps < p[1].video_kbps);
    assert_true(p[0].video_kbps * 1.4 <= p[1].video_kbps + 2);
    assert_true(p[0].video_kbps * 1.4 >= p[1].video_kbps * 0.9);
    /* Wide: every layer at its best either way. */
    for (int k = 0; k < 2; k++) {
        cq_ratealloc_t a;
        cq_ratealloc_init(&a, &c);
        int64_t t = 0;
        in[k].target_bps = 5000000;
        p[k] = run_steps(&a, &in[k], &t, 120);
    }
    assert_int_equal(p[0].protect_tl0, 7);
    assert_int_equal(p[0].layers_on, p[1].layers_on);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(p[1].layer_kbps[i], cq_ratealloc_layer_max_kbps(&c, i));
        assert_true(p[0].layer_kbps[i] * 1.4 <= p[1].layer_kbps[i] + 1);
        assert_true(p[0].layer_kbps[i] * 1.4 >= p[1].layer_kbps[i] - 2);
    }
    /* Layer 0 is always encoded; with only layer 2 used, only its TL0 goes twice. */
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t t = 0;
    in[0].used = 4;
    in[0].used_known = true;
    p[0] = run_steps(&a, &in[0], &t, 120);
    assert_int_equal(p[0].layers_on & 4, 4);
    assert_int_equal(p[0].protect_tl0, 4);
    assert_int_equal(p[0].layer_kbps[0], cq_ratealloc_layer_max_kbps(&c, 0)); /* no copies */
    assert_true(p[0].layer_kbps[2] * 1.4 <= cq_ratealloc_layer_max_kbps(&c, 2) + 1);
    /* The relay's ceiling on layer 0 is what its receivers get: the copies, which never
     * reach them, do not cut it (two layers of 200 kbit/s: layer 0's maximum is 50, 35
     * with its copies, its minimum 20). */
    c.layers = 2;
    c.max_video_kbps = 200;
    cq_ratealloc_init(&a, &c);
    t = 0;
    in[0].used = 3;
    in[0].low_kbps = 30;
    p[0] = run_steps(&a, &in[0], &t, 120);
    assert_int_equal(p[0].protect_tl0, 3);
    assert_int_equal(p[0].layer_kbps[0], 30);
}

/* Loss in bursts: one window in four loses 20 %, the others nothing. Protection follows
 * the average (5 %: two RED copies paid for), not each window; one unlucky window of a
 * clean link (10 %, once, after 20 s without) does not make it deep. */
static void test_ratealloc_loss_averaged(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    c.audio_red = 2;
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    cq_ratealloc_input_t in = {.target_bps = 300000, .loss_burst = 3.3};
    cq_ratealloc_plan_t p;
    int64_t t = 0;
    unsigned low = 100, high = 0;
    for (int i = 0; i < 240; i++) {
        in.loss = i % 4 == 0 ? 0.2 : 0;
        cq_ratealloc_update(&a, &in, t += STEP_US, &p);
        if (i >= 160) {
            low = p.audio_loss_pct < low ? p.audio_loss_pct : low;
            high = p.audio_loss_pct > high ? p.audio_loss_pct : high;
        }
    }
    assert_true(low >= 5 && high <= 7);
    assert_true(p.audio_bursty);
    uint32_t deep_cost = p.audio_cost_bps;
    cq_ratealloc_init(&a, &c);
    in.loss = 0;
    for (int i = 0; i < 80; i++) /* 20 s without loss */
        cq_ratealloc_update(&a, &in, t = (i + 1) * STEP_US, &p);
    in.loss = 0.1;
    cq_ratealloc_update(&a, &in, t += STEP_US, &p);
    in.loss = 0;
    for (int i = 0; i < 8; i++) {
        cq_ratealloc_update(&a, &in, t += STEP_US, &p);
        assert_true(p.audio_loss_pct <= 1);
    }
    assert_int_equal(p.audio_frame_ms, 20); /* shallow: deep RED would make it 40 */
    assert_true(p.audio_cost_bps < deep_cost);
}

/* Deep RED (two copies) on a thin uplink that loses in bursts: 40 ms packets and Opus down
 * to 12 kbit/s, so that a voice with its copies costs less than it did at 20 ms and 16
 * kbit/s; back to 20 ms once the loss has gone (and the 2-s hold has passed). One copy
 * changes nothing; nor does the same loss one packet at a time. */
static void test_ratealloc_deep_red_cheaper(void **state) {
    (void)state;
    cq_ratealloc_input_t in = {.target_bps = 150000, .loss = 0.06, .loss_burst = 3.3};
    cq_ratealloc_config_t c = config();
    c.audio_red = 2;
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t t = 0;
    cq_ratealloc_plan_t p = run_steps(&a, &in, &t, 120);
    assert_true(p.audio_loss_pct >= 5);
    assert_int_equal(p.audio_frame_ms, CQ_RATEALLOC_DEEP_FRAME_MS);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_DEEP_MIN_BPS);
    /* Opus x 3 and 25 packets of headers with two RED block headers each. */
    assert_int_equal(p.audio_cost_bps, 12000 * 3 + 25 * (40 + 4 * 2 + 1) * 8);
    /* What it cost before: 16 kbit/s x 3 and 50 packets a second. */
    assert_true(p.audio_cost_bps + 20000 < 16000 * 3 + 50 * (40 + 4 * 2 + 1) * 8);
    in.loss = 0;
    unsigned frame = p.audio_frame_ms;
    for (int i = 0; i < 200 && frame != 20; i++) {
        cq_ratealloc_update(&a, &in, t += STEP_US, &p);
        frame = p.audio_frame_ms;
    }
    assert_int_equal(frame, 20);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MIN_BPS);
    /* One copy configured: never deep, whatever the loss. */
    c.audio_red = 1;
    cq_ratealloc_init(&a, &c);
    in.loss = 0.06;
    p = run_steps(&a, &in, &t, 120);
    assert_int_equal(p.audio_frame_ms, 20);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MIN_BPS);
    /* Two copies allowed, but the loss is random (runs of 1.1 packets): one copy, 20 ms,
     * and the sender is told the loss is not bursty. */
    c.audio_red = 2;
    cq_ratealloc_init(&a, &c);
    in.loss_burst = 1.1;
    p = run_steps(&a, &in, &t, 120);
    assert_true(p.audio_loss_pct >= 5);
    assert_false(p.audio_bursty);
    assert_int_equal(p.audio_frame_ms, 20);
    assert_int_equal(p.audio_cost_bps, p.audio_bps * 2 + 50 * (40 + 4 + 1) * 8);
}

/* Under CQ_RATEALLOC_RED_MIN_BPS the packet before is not repeated (lean RED), and the
 * copy comes back only past that with headroom; deep RED on bursty loss is kept however
 * thin the link. While the congestion window is full, sound is planned as for
 * CQ_RATEALLOC_STALLED_BPS at most: Opus at its least, 60 ms, lean, whatever the estimate
 * still says; once the window opens, the copy comes back at once (the estimate has room)
 * and shorter packets after the hold. */
static void test_ratealloc_red_lean_and_stalled(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t t = 0;
    cq_ratealloc_plan_t p = plan(&a, 300000, t += STEP_US);
    assert_false(p.audio_red_lean);
    assert_int_equal(p.audio_cost_bps, p.audio_bps * 2 + 50 * (40 + 4 + 1) * 8);
    p = plan(&a, 80000, t += STEP_US);
    assert_true(p.audio_red_lean);
    assert_int_equal(p.audio_frame_ms, 40);
    assert_int_equal(p.audio_cost_bps, p.audio_bps + 25 * (40 + 1) * 8);
    assert_true(plan(&a, 110000, t += STEP_US).audio_red_lean); /* not with headroom yet */
    assert_false(plan(&a, 130000, t += STEP_US).audio_red_lean);

    cq_ratealloc_init(&a, &c);
    cq_ratealloc_input_t in = {.target_bps = 560000};
    p = run_steps(&a, &in, &t, 4);
    assert_false(p.audio_red_lean);
    assert_int_equal(p.audio_frame_ms, 20);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MAX_BPS);
    uint32_t healthy = p.audio_cost_bps;
    unsigned video = p.video_kbps;
    /* Full for a moment (one feedback lost: the next comes 100 ms later): nothing moves. */
    in.stalled_us = 100000;
    p = run_steps(&a, &in, &t, 1);
    assert_false(p.audio_red_lean);
    assert_int_equal(p.audio_frame_ms, 20);
    assert_int_equal(p.audio_cost_bps, healthy);
    in.stalled_us = 0; /* the next feedback came: the window is open again */
    p = run_steps(&a, &in, &t, 1);
    assert_int_equal(p.audio_cost_bps, healthy);
    /* Full for CQ_RATEALLOC_STALL_US: the link may have collapsed. */
    in.stalled_us = CQ_RATEALLOC_STALL_US;
    p = run_steps(&a, &in, &t, 1);
    assert_true(p.video_kbps <= video); /* what sound gave up is not video's */
    assert_true(p.audio_red_lean);
    assert_int_equal(p.audio_frame_ms, 60);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MIN_BPS);
    print_message("sound: %u bit/s healthy, %u stalled\n", healthy, p.audio_cost_bps);
    assert_true(p.audio_cost_bps * 3 < healthy);
    assert_true(p.audio_cost_bps < CQ_RATEALLOC_STALLED_BPS);
    in.stalled_us = 0;
    p = run_steps(&a, &in, &t, 1);
    assert_false(p.audio_red_lean);
    assert_int_equal(p.audio_frame_ms, 60);
    p = run_steps(&a, &in, &t, (int)(CQ_RATEALLOC_UP_HOLD_US / STEP_US) + 2);
    assert_int_equal(p.audio_frame_ms, 20);

    /* Bursty heavy loss on a thin link: deep copies all the same. */
    c.audio_red = 2;
    cq_ratealloc_init(&a, &c);
    in = (cq_ratealloc_input_t){.target_bps = 80000, .loss = 0.06, .loss_burst = 3.3};
    p = run_steps(&a, &in, &t, 120);
    assert_false(p.audio_red_lean);
    assert_true(p.audio_bursty);
    assert_int_equal(p.audio_frame_ms, CQ_RATEALLOC_DEEP_FRAME_MS);
}

/* The round trip that decides the copies is the least of the last seconds: the path's. A
 * 3G link of 160 ms whose queue makes it read 600 ms for a few seconds does not send its
 * base layer twice into that queue; a path that stays long (VSAT) does, once its short
 * round trips are older than the window. */
static void test_ratealloc_protect_tl0_judges_the_path(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t t = 0;
    cq_ratealloc_input_t in = {.target_bps = 300000, .rtt_us = 160000};
    run_steps(&a, &in, &t, 8);
    in.rtt_us = 600000;
    in.last_loss_us = t;
    for (int i = 0; i < (int)(CQ_RATEALLOC_PROTECT_RTT_SECONDS * 1000000 / STEP_US) - 8; i++) {
        in.last_loss_us = t + STEP_US;
        assert_int_equal(run_steps(&a, &in, &t, 1).protect_tl0, 0);
    }
    in.last_loss_us = t + 12 * STEP_US;
    assert_int_equal(run_steps(&a, &in, &t, 12).protect_tl0 & 1, 1);
}

/* A room between CQ_RATEALLOC_ROOM_LEAN_BPS and CQ_RATEALLOC_RED_MIN_BPS is a receiver's
 * budget for this voice alone: Opus at its least and 40 ms packets, but RED's copy stays
 * (a 3G link's bursts take a voice without it apart); under it the copy goes too. */
static void test_ratealloc_sound_room_keeps_copy(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t t = 0;
    cq_ratealloc_input_t in = {.target_bps = 600000};
    cq_ratealloc_plan_t healthy = run_steps(&a, &in, &t, 4);
    assert_true(healthy.audio_bps > CQ_RATEALLOC_AUDIO_MIN_BPS);
    in.sound_kbps = 90;
    cq_ratealloc_plan_t p = run_steps(&a, &in, &t, 1);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MIN_BPS);
    assert_int_equal(p.audio_frame_ms, 40);
    assert_false(p.audio_red_lean);
    assert_true(p.audio_cost_bps < 90000);
    in.sound_kbps = CQ_RATEALLOC_ROOM_LEAN_BPS / 1000 - 1;
    p = run_steps(&a, &in, &t, 1);
    assert_true(p.audio_red_lean);
    in.sound_kbps = 0;
    p = run_steps(&a, &in, &t, 1);
    assert_false(p.audio_red_lean);
}

/* The relay says a receiver has 36 kbit/s for our sound (CQLU): sound is planned as for
 * an uplink of that much (Opus at its least, 60 ms, lean) however fast our own uplink is,
 * and video gets what that leaves; when the room goes, RED's copy comes back at once and
 * 20 ms packets after the hold. */
static void test_ratealloc_sound_room(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    int64_t t = 0;
    cq_ratealloc_input_t in = {.target_bps = 2000000};
    cq_ratealloc_plan_t healthy = run_steps(&a, &in, &t, 4);
    in.sound_kbps = 36;
    cq_ratealloc_plan_t p = run_steps(&a, &in, &t, 1);
    assert_int_equal(p.audio_bps, CQ_RATEALLOC_AUDIO_MIN_BPS);
    assert_int_equal(p.audio_frame_ms, 60);
    assert_true(p.audio_red_lean);
    assert_true(p.audio_cost_bps < 36000);
    assert_true(p.video_kbps >= healthy.video_kbps);
    in.sound_kbps = 0;
    p = run_steps(&a, &in, &t, 1);
    assert_false(p.audio_red_lean);
    p = run_steps(&a, &in, &t, (int)(CQ_RATEALLOC_UP_HOLD_US / STEP_US) + 2);
    assert_int_equal(p.audio_frame_ms, 20);
    assert_int_equal(p.audio_bps, healthy.audio_bps);
}

/* No video configured: audio only, nothing else planned. One layer: it never goes. */
static void test_ratealloc_audio_only_and_one_layer(void **state) {
    (void)state;
    cq_ratealloc_config_t c = config();
    c.layers = 0;
    cq_ratealloc_t a;
    cq_ratealloc_init(&a, &c);
    cq_ratealloc_plan_t p = plan(&a, 100000, 0);
    assert_int_equal(p.layers_on, 0);
    assert_int_equal(p.video_kbps, 0);
    assert_true(p.audio_bps > 0);
    c.layers = 1;
    cq_ratealloc_init(&a, &c);
    p = plan(&a, 10000, 0);
    assert_int_equal(p.layers_on, 0x1);
    assert_int_equal(p.fps_pct[0], 50);
    cq_ratealloc_init(&a, &c);
    assert_int_equal(plan(&a, 10000000, 0).layer_kbps[0], 500);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratealloc_layer_shares),
        cmocka_unit_test(test_ratealloc_drops_from_top_fps_first),
        cmocka_unit_test(test_ratealloc_fps_before_resolution),
        cmocka_unit_test(test_ratealloc_hysteresis),
        cmocka_unit_test(test_ratealloc_unused_layers_off),
        cmocka_unit_test(test_ratealloc_layer_above_top_is_top),
        cmocka_unit_test(test_ratealloc_lowest_layer_ceiling),
        cmocka_unit_test(test_ratealloc_audio_first),
        cmocka_unit_test(test_ratealloc_loss),
        cmocka_unit_test(test_ratealloc_loss_averaged),
        cmocka_unit_test(test_ratealloc_protect_tl0),
        cmocka_unit_test(test_ratealloc_protect_tl0_follows_last_loss),
        cmocka_unit_test(test_ratealloc_deep_red_cheaper),
        cmocka_unit_test(test_ratealloc_red_lean_and_stalled),
        cmocka_unit_test(test_ratealloc_sound_room),
        cmocka_unit_test(test_ratealloc_sound_room_keeps_copy),
        cmocka_unit_test(test_ratealloc_protect_tl0_judges_the_path),
        cmocka_unit_test(test_ratealloc_audio_only_and_one_layer),
        cmocka_unit_test(test_ratealloc_step_up_waits_for_proof),
        cmocka_unit_test(test_ratealloc_wandering_estimate_not_taken),
        cmocka_unit_test(test_ratealloc_newly_used_layer_waits_for_proof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
