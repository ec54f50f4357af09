/*
 * The bandwidth estimator driven through a simulated link: a sender that sends what the
 * estimator allows (and the probes it asks for) through chasqui-netsim's link model (a
 * rate cap behind a drop-tail queue, delay, jitter, loss), a receiver that reports every
 * arrival back every 100 ms, as transport-wide feedback would (arrival times at its 250 us
 * resolution), over a return path of the same delay. What is checked is what issue 7 asks:
 * it finds a capped link's rate within 10 % in under 5 s, backs off within 1 s when the
 * link drops to a quarter, and holds steady (within +-15 %) on a link losing 5 % at random.
 * Everything runs on simulated time: deterministic, no clock.
 *
 * Each scenario is one draw of the link's dice (seed 7), but the steady lossy link, which
 * must hold on 18 of 20. CQ_CC_SEED=N runs them all on seed N instead, so that
 * scripts/cc-seeds.sh can say on how many draws each one holds: a change to the estimator
 * is judged on many, not on the one a test keeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cc/estimator.h"
#include "rtp/error.h"
#include "tools/netsim/link.h"

#define PACKET      1200   /* bytes of media per packet */
#define FEEDBACK_US 100000 /* the receiver reports this often */
#define STEP_US     250    /* simulation step */
#define MAX_SEQ     65536  /* transport seqs a run may use: runs stay far below */
#define MAX_FB      64     /* feedbacks in flight on the return path */
#define MAX_REPORT  4096   /* packets one feedback may report */

typedef struct {
    int64_t due_us;
    size_t n;
    cq_twcc_packet_t pkts[MAX_REPORT];
} feedback_t;

typedef struct {
    cq_cc_t cc;
    cq_netsim_link_t link;
    int64_t now;
    uint32_t app_max_bps; /* what the encoders could send at most */
    /* Sender. */
    uint16_t tseq;
    uint32_t sent_total;
    int64_t next_media_us;
    /* A probe cluster being sent. */
    unsigned probe_left;
    int probe_id;
    uint32_t probe_rate;
    unsigned probes;   /* clusters started */
    uint32_t want_bps; /* passed to cq_cc_want every 100 ms; 0: never */
    /* Keyframes: every burst_period_us, burst_packets more, paced at 1.25x the target. */
    int64_t burst_period_us, next_burst_us, next_burst_pkt_us;
    unsigned burst_packets, burst_left;
    int64_t next_want_us;
    int64_t next_probe_us;
    /* The receiving host stalls (a busy machine): nothing is read in [from, to), then
     * all of it at once. */
    int64_t stall_from_us, stall_to_us;
    int64_t stall_period_us, stall_us; /* repeated stalls within it; 0: one stall */
    /* Receiver: arrival of each transport seq (0: not yet), and what has been reported. */
    int64_t arrival[MAX_SEQ];
    uint32_t next_report;  /* the first seq the next feedback covers */
    uint32_t highest_seen; /* one past the highest seq that arrived */
    int64_t next_feedback_us;
    /* Return path. */
    feedback_t fb[MAX_FB];
    unsigned fb_head, fb_n;
    uint32_t one_way_ms;
    /* Sound: audio_bytes every 20 ms, sent whatever the target (it never waits); the
     * media above fills what the target leaves. 0: none. */
    unsigned audio_bytes;
    int64_t next_audio_us;
    bool windowed; /* media waits while cq_cc_window_full, as the relay's and client's do */
    /* Per 100 ms: the target, and the link's queue (how long a packet sent then waits). */
    uint32_t target_at[1000];
    uint32_t queue_ms_at[1000];
    uint32_t queue_ms_max;      /* the longest any packet waited in the link's queue */
    double loss_burst_at[1000]; /* per 100 ms: the estimator's packets per loss run */
    uint32_t loss_bound_max;    /* the highest loss bound seen at those times; 0: never set */
    unsigned ntarget;
} sim_t;

static sim_t sim;
static unsigned packet_bytes = PACKET; /* of media packets (probes: PACKET) */

/* CQ_CC_SEED's seed, if it names one; 0 if not (so CQ_CC_SEED=0 is the default seed). */
static uint64_t env_seed(void) {
    const char *env = getenv("CQ_CC_SEED");
    char *end;
    unsigned long long seed = env != NULL ? strtoull(env, &end, 10) : 0;
    return env != NULL && *env != '\0' && *end == '\0' ? (uint64_t)seed : 0;
}

static uint64_t seed_now; /* a scenario run over many seeds sets it; 0: not */

/* The link's seed: the one a many-seed scenario runs on, or CQ_CC_SEED's, or 7. */
static uint64_t link_seed(void) {
    if (seed_now != 0)
        return seed_now;
    return env_seed() != 0 ? env_seed() : 7;
}

static void sim_start(const cq_netsim_params_t *p, uint32_t start_bps, uint32_t app_max_bps) {
    memset(&sim, 0, sizeof sim);
    cq_cc_config_t cfg = {.start_bps = start_bps, .min_bps = 30000, .max_bps = 5000000};
    assert_int_equal(cq_cc_init(&sim.cc, &cfg), 0);
    assert_int_equal(cq_netsim_link_init(&sim.link, p, link_seed(), 4096), 0);
    sim.app_max_bps = app_max_bps;
    sim.one_way_ms = p->delay_ms;
    sim.now = 1000000;
    sim.next_media_us = sim.now;
    sim.next_audio_us = sim.now;
    sim.next_feedback_us = sim.now + FEEDBACK_US;
    /* A round trip as RTCP would measure it. */
    cq_cc_set_rtt(&sim.cc, 2 * p->delay_ms * 1000u);
}

static void sim_end(void) {
    cq_netsim_link_free(&sim.link);
    memset(&sim.link, 0, sizeof sim.link);
}

/* After each test, passed or failed: the link's pool goes back. */
static int teardown(void **state) {
    (void)state;
    packet_bytes = PACKET;
    seed_now = 0;
    sim_end();
    return 0;
}

static void send_sized(int probe, size_t bytes) {
    uint8_t pkt[PACKET];
    memset(pkt, 0, sizeof pkt);
    uint16_t seq = sim.tseq++;
    memcpy(pkt, &seq, sizeof seq);
    cq_cc_on_sent(&sim.cc, seq, bytes, sim.now, probe);
    cq_netsim_link_send(&sim.link, pkt, bytes, (uint64_t)sim.now);
    sim.sent_total++;
    assert_true(sim.sent_total < MAX_SEQ);
}

static void send_packet(int probe) {
    send_sized(probe, probe == CQ_SENDHIST_NO_PROBE ? packet_bytes : PACKET);
}

static void sender_step(void) {
    cq_cc_cluster_t cl;
    if (sim.want_bps != 0 && sim.now >= sim.next_want_us) {
        cq_cc_want(&sim.cc, sim.want_bps, sim.now);
        sim.next_want_us = sim.now + 100000;
    }
    if (sim.probe_left == 0 && cq_cc_probe_next(&sim.cc, sim.now, &cl)) {
        sim.probe_left = cq_cc_cluster_packets(&cl, PACKET);
        sim.probes++;
        sim.probe_id = cl.id;
        sim.probe_rate = cl.rate_bps;
        sim.next_probe_us = sim.now;
    }
    if (sim.probe_left > 0 && sim.now >= sim.next_probe_us) {
        send_packet(sim.probe_id);
        sim.probe_left--;
        sim.next_probe_us += (int64_t)PACKET * 8 * 1000000 / sim.probe_rate;
    }
    uint32_t target = cq_cc_target_bps(&sim.cc);
    if (sim.burst_period_us != 0 && sim.now >= sim.next_burst_us) {
        sim.burst_left = sim.burst_packets;
        sim.next_burst_us = sim.now + sim.burst_period_us;
        sim.next_burst_pkt_us = sim.now;
    }
    if (sim.burst_left > 0 && sim.now >= sim.next_burst_pkt_us) {
        send_packet(sim.probe_left > 0 ? sim.probe_id : CQ_SENDHIST_NO_PROBE);
        sim.burst_left--;
        /* The pacer lets all video out at 1.25x the target: the burst gets what the
         * steady media leaves of that. */
        uint32_t steady = target < sim.app_max_bps ? target : sim.app_max_bps;
        uint32_t room = target * 5 / 4 > steady + 20000 ? target * 5 / 4 - steady : 20000;
        sim.next_burst_pkt_us += (int64_t)packet_bytes * 8 * 1000000 / room;
    }
    uint32_t rate_now = target < sim.app_max_bps ? target : sim.app_max_bps;
    if (sim.audio_bytes != 0) {
        if (sim.now >= sim.next_audio_us) {
            send_sized(sim.probe_left > 0 ? sim.probe_id : CQ_SENDHIST_NO_PROBE, sim.audio_bytes);
            sim.next_audio_us += 20000;
        }
        uint32_t audio_bps = sim.audio_bytes * 8 * 50;
        rate_now = rate_now > audio_bps + 8000 ? rate_now - audio_bps : 8000;
    }
    if (sim.windowed && cq_cc_window_full(&sim.cc, sim.now)) {
        sim.next_media_us = sim.now; /* held: it goes when the window opens */
    } else if (sim.now >= sim.next_media_us) {
        /* Media that goes out during a cluster is part of it: the link carried both. */
        send_packet(sim.probe_left > 0 ? sim.probe_id : CQ_SENDHIST_NO_PROBE);
        sim.next_media_us += (int64_t)packet_bytes * 8 * 1000000 / rate_now;
        if (sim.next_media_us < sim.now)
            sim.next_media_us = sim.now; /* the rate rose: no catching up in a burst */
    }
}

static void receiver_step(void) {
    uint8_t buf[CQ_NETSIM_MAX_PACKET];
    int n;
    if (sim.now >= sim.stall_from_us && sim.now < sim.stall_to_us &&
        (sim.stall_period_us == 0 ||
         (sim.now - sim.stall_from_us) % sim.stall_period_us < sim.stall_us))
        return;
    while ((n = cq_netsim_link_take(&sim.link, (uint64_t)sim.now, buf, sizeof buf)) > 0) {
        uint16_t seq;
        memcpy(&seq, buf, sizeof seq);
        /* The wire's resolution: 250 us. */
        sim.arrival[seq] = sim.now / CQ_TWCC_TICK_US * CQ_TWCC_TICK_US;
        if ((uint32_t)seq + 1 > sim.highest_seen)
            sim.highest_seen = (uint32_t)seq + 1;
    }
    if (sim.now < sim.next_feedback_us)
        return;
    sim.next_feedback_us += FEEDBACK_US;
    if (sim.highest_seen <= sim.next_report)
        return;
    assert_true(sim.fb_n < MAX_FB);
    feedback_t *f = &sim.fb[(sim.fb_head + sim.fb_n++) % MAX_FB];
    f->due_us = sim.now + (int64_t)sim.one_way_ms * 1000;
    f->n = 0;
    for (uint32_t s = sim.next_report; s < sim.highest_seen; s++) {
        assert_true(f->n < MAX_REPORT);
        f->pkts[f->n++] = (cq_twcc_packet_t){
            .seq = (uint16_t)s, .received = sim.arrival[s] != 0, .arrival_us = sim.arrival[s]};
    }
    sim.next_report = sim.highest_seen;
}

static void feedback_step(void) {
    while (sim.fb_n > 0 && sim.fb[sim.fb_head].due_us <= sim.now) {
        feedback_t *f = &sim.fb[sim.fb_head];
        cq_cc_on_feedback(&sim.cc, f->pkts, f->n, sim.now);
        sim.fb_head = (sim.fb_head + 1) % MAX_FB;
        sim.fb_n--;
    }
}

/* Runs until `until_s` seconds after the start, recording the target every 100 ms. */
static void run_until(double until_s) {
    int64_t end = 1000000 + (int64_t)(until_s * 1e6);
    for (; sim.now <= end; sim.now += STEP_US) {
        sender_step();
        receiver_step();
        feedback_step();
        if ((sim.now - 1000000) % 100000 == 0 && sim.ntarget < 1000 &&
            (sim.now - 1000000) / 100000 == sim.ntarget) {
            cq_netsim_sample_t sample;
            cq_netsim_link_sample(&sim.link, (uint64_t)sim.now, &sample);
            sim.queue_ms_at[sim.ntarget] = sample.queue_ms;
            if (sample.queue_ms_max > sim.queue_ms_max)
                sim.queue_ms_max = sample.queue_ms_max;
            cq_cc_stats_t now_st;
            cq_cc_stats(&sim.cc, &now_st);
            sim.loss_burst_at[sim.ntarget] = now_st.loss_burst;
            if (now_st.loss_bps > sim.loss_bound_max)
                sim.loss_bound_max = now_st.loss_bps;
            sim.target_at[sim.ntarget++] = cq_cc_target_bps(&sim.cc);
            if (getenv("CC_DEBUG")) { /* the estimator's state, to see why a check failed */
                cq_cc_stats_t st;
                cq_cc_stats(&sim.cc, &st);
                fprintf(stderr, "%.1f n%u q%u t%u d%u l%u a%u u%d thr%.1f tr%.1f\n",
                        (double)(sim.now - 1000000) / 1e6, sim.sent_total, sample.queue_ms,
                        st.target_bps / 1000, st.delay_bps / 1000, st.loss_bps / 1000,
                        st.acked_bps / 1000, st.usage, st.threshold_ms, st.trend);
            }
        }
    }
}

/* The target at t seconds. */
static uint32_t target_at(double t) {
    unsigned i = (unsigned)(t * 10 + 0.5);
    assert_true(i < sim.ntarget);
    return sim.target_at[i];
}

static void print_targets(const char *what, double from_s, double to_s) {
    print_message("%s:", what);
    for (double t = from_s; t <= to_s + 1e-9; t += 0.5)
        print_message(" %.1f:%u", t, target_at(t) / 1000);
    print_message(" kbit/s\n");
}

static cq_netsim_params_t capped(uint64_t rate_bps, uint32_t delay_ms) {
    return (cq_netsim_params_t){.rate_bps = rate_bps, .queue_ms = 300, .delay_ms = delay_ms};
}

/* The mean target over the 3 s that end at t. */
static double mean_at(double t) {
    double sum = 0;
    for (int i = 0; i < 30; i++)
        sum += target_at(t - 2.9 + i * 0.1);
    return sum / 30;
}

/* The estimate within frac of want, read over any 3 s that end in [from_s, to_s]: GCC
 * saws (overuse cuts it to 85 % of what arrived, then it climbs back by about a packet
 * per round trip, a cycle of 2-3 s), and converging means the saw is centred on the link.
 * How wide the saw may be is checked on its own. */
static void expect_mean_within(double from_s, double to_s, double want, double frac) {
    for (double t = from_s; t <= to_s + 1e-9; t += 0.1) {
        double v = mean_at(t);
        if (v < want * (1 - frac) || v > want * (1 + frac)) {
            print_message("the second to %.1f s averages %.0f, not within %.0f %% of %.0f\n", t, v,
                          frac * 100, want);
            fail();
        }
    }
}

/* Within frac of want, over every sample in [from_s, to_s]. */
static void expect_within(double from_s, double to_s, double want, double frac) {
    for (double t = from_s; t <= to_s + 1e-9; t += 0.1) {
        double v = target_at(t);
        if (v < want * (1 - frac) || v > want * (1 + frac)) {
            print_message("at %.1f s the target is %.0f, not within %.0f %% of %.0f\n", t, v,
                          frac * 100, want);
            fail();
        }
    }
}

/* A 512 kbit/s radio link, the estimate starting at 300: found within 10 % before 5 s,
 * and held there. */
static void test_cc_converges_to_capped_link(void **state) {
    (void)state;
    cq_netsim_params_t p = capped(512000, 40);
    sim_start(&p, 300000, 5000000);
    run_until(20);
    print_targets("512 kbit/s", 0, 10);
    expect_mean_within(5, 20, 512000, 0.10);
    expect_within(5, 20, 512000, 0.20); /* the saw: down to 85 % of what arrived */
    cq_cc_stats_t st;
    cq_cc_stats(&sim.cc, &st);
    assert_true(st.probe_bps > 0); /* the initial probes measured the link */
    /* What the link let through when it was last full is the link's rate. */
    print_message("carried %u kbit/s\n", st.carried_bps / 1000);
    assert_true(st.carried_us > 0);
    assert_true(st.carried_bps >= 0.85 * 512000 && st.carried_bps <= 1.05 * 512000);
    sim_end();
    /* Starting far above the link (a guess of 2 Mbit/s on 1 Mbit/s): down to it as fast. */
    p = capped(1000000, 40);
    sim_start(&p, 2000000, 5000000);
    run_until(20);
    print_targets("1 Mbit/s from 2", 0, 10);
    expect_mean_within(5, 20, 1000000, 0.10);
    sim_end();
}

/* The start's second probe (six times the start rate) goes only where the first (three
 * times) came through whole: on a 512 kbit/s radio link the two together stood 105-125
 * ms in its queue; a fast link still finds its rate within a second. Media at 250 kbit/s
 * (under the start rate) leaves the probes alone in filling a link. */
static void test_cc_start_probes_fit_the_link(void **state) {
    (void)state;
    cq_netsim_params_t p = capped(512000, 40);
    sim_start(&p, 300000, 250000);
    run_until(1.5);
    print_message("512 kbit/s: %u probe clusters in 1.5 s, queue up to %u ms, target %u\n",
                  sim.probes, sim.queue_ms_max, target_at(1.5) / 1000);
    assert_int_equal(sim.probes, 1);
    assert_true(sim.queue_ms_max < 100); /* both: 182 ms */
    assert_true(target_at(1.5) >= 0.8 * 512000 && target_at(1.5) <= 512000);
    sim_end();
    p = capped(5000000, 20);
    sim_start(&p, 300000, 250000);
    run_until(1.0);
    print_message("5 Mbit/s: %u probe clusters in 1 s, target %u\n", sim.probes,
                  target_at(1.0) / 1000);
    assert_int_equal(sim.probes, 2);
    assert_true(target_at(1.0) >= 6 * 300000 * 0.9);
    sim_end();
}

/* The link drops to a quarter: within a second the target is at or under the new rate
 * (plus 10 %), and it settles near it. */
static void test_cc_backs_off_when_link_drops(void **state) {
    (void)state;
    cq_netsim_params_t p = capped(1000000, 40);
    sim_start(&p, 300000, 5000000);
    run_until(15);
    expect_mean_within(10, 15, 1000000, 0.10);
    p.rate_bps = 250000;
    assert_int_equal(cq_netsim_link_set(&sim.link, &p), 0);
    run_until(30);
    print_targets("1 Mbit/s then 250 kbit/s at 15 s", 14, 24);
    /* Within a second of the drop: at the new rate or under it. */
    assert_true(target_at(16) <= 250000 * 1.1);
    /* After it, the saw overshoots the link by a few per cent before each cut, no more. */
    for (double t = 16; t <= 30; t += 0.1)
        assert_true(target_at(t) <= 250000 * 1.15);
    /* The cut went below the link (the queue overflowed and loss cut too); it climbs back
     * by a packet per round trip and saws about the link again within 10 s. At a quarter
     * of the rate a packet per round trip is a larger step, the saw is relatively wider
     * and its mean sits 6-10 % under the link: checked at 15 % here, the 10 % of the
     * convergence test is asserted there. */
    expect_mean_within(25, 30, 250000, 0.15);
    sim_end();
}

/* 5 % random loss on a steady 512 kbit/s link, one draw of its dice: loss alone is not
 * congestion, so the estimate stays near the link. Returns whether it held within the
 * swing allowed; the rest is asserted. */
static bool steady_holds(uint64_t seed) {
    cq_netsim_params_t p = capped(512000, 40);
    p.loss = 0.05;
    p.jitter_ms = 5;
    seed_now = seed;
    sim_start(&p, 300000, 5000000);
    run_until(40);
    /* GCC saws by construction: each overuse cuts to 85 % of what the link carried and
     * the climb back passes the link a little before the queue shows it, so single
     * samples span 15 % plus the overshoot. What a sender lives with is the rate over a
     * second (the allocator's and the encoders' horizon): every 1-second mean stays
     * within +-15 % of the long-run mean, and no single sample strays past +-20 %. */
    double sum = 0;
    unsigned n = 0;
    for (double t = 10; t <= 40; t += 0.1, n++)
        sum += target_at(t);
    double mean = sum / n;
    double lo = mean, hi = mean, lo1 = mean, hi1 = mean;
    for (double t = 10; t <= 40; t += 0.1) {
        lo = target_at(t) < lo ? target_at(t) : lo;
        hi = target_at(t) > hi ? target_at(t) : hi;
    }
    for (double t = 11; t <= 40 + 1e-9; t += 0.1) {
        double m = 0;
        for (int i = 0; i < 10; i++)
            m += target_at(t - 0.9 + i * 0.1) / 10.0;
        lo1 = m < lo1 ? m : lo1;
        hi1 = m > hi1 ? m : hi1;
    }
    bool held = lo1 >= 0.85 * mean && hi1 <= 1.15 * mean && lo >= 0.80 * mean && hi <= 1.20 * mean;
    print_message("seed %llu: mean %.0f kbit/s, from %.0f to %.0f; 1-s means from %.0f to %.0f%s\n",
                  (unsigned long long)seed, mean / 1000, lo / 1000, hi / 1000, lo1 / 1000,
                  hi1 / 1000, held ? "" : " (swung wider)");
    assert_true(mean > 512000 * 0.75); /* and near the link, not timidly under it */
    cq_cc_stats_t st;
    cq_cc_stats(&sim.cc, &st);
    /* The loss measured over the run is the link's (one half-second window's is not:
     * 1 packet of 25 more or less is 4 %). */
    double lost = (double)st.packets_lost / (double)st.packets_reported;
    assert_true(lost > 0.035 && lost < 0.065);
    /* Random: lost one packet at a time, bar the odd two in a row. */
    assert_true(st.loss_burst >= 1.0 && st.loss_burst < 1.3);
    assert_true(st.loss_runs > 0 && st.loss_runs <= st.packets_lost);
    sim_end();
    seed_now = 0;
    return held;
}

/* The steady lossy link over twenty draws of its dice, not one: the swing holds within
 * +-15 % on at least 18 of them. A single seed passed before on an estimator that held on
 * 6 of 40 (docs/E2E.md). With CQ_CC_SEED, on that seed alone (scripts/cc-seeds.sh). */
#define STEADY_SEEDS      20
#define STEADY_SEEDS_HELD 18
static void test_cc_steady_with_random_loss(void **state) {
    (void)state;
    if (env_seed() != 0) {
        assert_true(steady_holds(env_seed()));
        return;
    }
    unsigned held = 0;
    for (uint64_t seed = 1; seed <= STEADY_SEEDS; seed++)
        held += steady_holds(seed);
    print_message("held on %u of %u seeds\n", held, STEADY_SEEDS);
    assert_true(held >= STEADY_SEEDS_HELD);
}

/* Heavy loss (20 %, not from a queue) does bring the target down: the loss bound. */
static void test_cc_heavy_loss_lowers_target(void **state) {
    (void)state;
    cq_netsim_params_t p = capped(1000000, 40);
    sim_start(&p, 300000, 5000000);
    run_until(10);
    uint32_t before = target_at(10);
    p.loss = 0.20;
    assert_int_equal(cq_netsim_link_set(&sim.link, &p), 0);
    run_until(15);
    cq_cc_stats_t st;
    cq_cc_stats(&sim.cc, &st);
    print_message("before %u, after 5 s of 20 %% loss %u (loss bound %u)\n", before / 1000,
                  target_at(15) / 1000, st.loss_bps / 1000);
    assert_true(target_at(15) < before * 0.6);
    assert_true(st.loss_bps > 0);
    /* The loss stops: the bound climbs back and lets go. */
    p.loss = 0;
    assert_int_equal(cq_netsim_link_set(&sim.link, &p), 0);
    run_until(45);
    assert_true(target_at(45) > 1000000 * 0.8);
    sim_end();
}

/* An encoder that sends only 100 kbit/s on a 1 Mbit/s link: the estimate does not run
 * away past what it has seen arrive... */
static void test_cc_app_limited_then_probe(void **state) {
    (void)state;
    cq_netsim_params_t p = capped(1000000, 40);
    cq_cc_config_t cfg = {.start_bps = 100000, .min_bps = 30000, .max_bps = 5000000};
    sim_start(&p, cfg.start_bps, 100000);
    /* No initial probes this time: the point is what media alone proves. */
    sim.cc.initial_probes_sent = true;
    sim.cc.next_probe_id = 2;
    run_until(20);
    uint32_t limited = target_at(20);
    print_message("app-limited at 100 kbit/s: target %u kbit/s\n", limited / 1000);
    assert_true(limited <= 1.5 * 100000 + 10000 + 5000);
    cq_cc_stats_t st;
    cq_cc_stats(&sim.cc, &st);
    assert_int_equal(st.carried_us, 0);   /* the link was never full: nothing known of it */
    assert_int_equal(st.last_loss_us, 0); /* nor lost a packet */
    /* ... until a probe at 600 kbit/s (the allocator wants a layer of that much) proves
     * the room. */
    cq_cc_request_probe(&sim.cc, 600000, sim.now);
    run_until(22);
    cq_cc_stats(&sim.cc, &st);
    print_message("after a probe at 600: probe %u, target %u kbit/s\n", st.probe_bps / 1000,
                  target_at(22) / 1000);
    assert_int_equal(st.carried_us, 0); /* nor by a probe the link carried whole */
    assert_true(st.probe_bps > 540000);
    assert_true(target_at(21) >= 540000 || target_at(22) >= 540000);
    sim_end();
}

/* The 3g-weak link of the e2e suite: 256 kbit/s, 80 ms each way, jitter of +-40 ms on
 * each packet (reordering), 5 % loss in bursts of 3.3 packets (tools/netsim/plan.c). */
static cq_netsim_params_t weak_3g_link(void) {
    return (cq_netsim_params_t){.rate_bps = 256000,
                                .queue_ms = 500,
                                .delay_ms = 80,
                                .jitter_ms = 40,
                                .ge_p = 0.3 / 19.0,
                                .ge_r = 0.3,
                                .ge_loss_bad = 1.0};
}

/* That link, filled by a sender: it finds it within 20 % (as 3-second means). The jitter
 * trips the overuse detector now and then (sawing 205-293). */
static void test_cc_weak_3g(void **state) {
    (void)state;
    cq_netsim_params_t p = weak_3g_link();
    sim_start(&p, 300000, 5000000);
    run_until(30);
    print_targets("3g-weak", 0, 30);
    expect_mean_within(10, 30, 256000, 0.2);
    /* 5 % loss, a burst every few seconds: the last one reported within the 10 s the
     * base layer's copies are held for. */
    cq_cc_stats_t st;
    cq_cc_stats(&sim.cc, &st);
    print_message("last loss %.1f s before the end\n", (double)(sim.now - st.last_loss_us) / 1e6);
    assert_true(st.last_loss_us > 0 && sim.now - st.last_loss_us < 10000000);
    /* The bursts show as runs of lost packets (3.3 on average at the link), read over the
     * last 20 s of ten draws: the estimator averages the runs of its last seconds, a
     * handful at 5 % of 27 packets a second, and one draw may hold short ones only (1.81
     * all along on one). Random loss reads about 1 (test_cc_loss_runs_need_evidence). */
    double burst = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        sim_end();
        seed_now = seed;
        sim_start(&p, 300000, 5000000);
        run_until(30);
        double mean = 0;
        for (unsigned i = 100; i < sim.ntarget; i++)
            mean += sim.loss_burst_at[i] / (sim.ntarget - 100);
        print_message("seed %u: loss runs of %.2f packets\n", (unsigned)seed, mean);
        assert_true(mean > 1.3);
        burst += mean / 10;
    }
    print_message("loss runs: %.2f packets\n", burst);
    assert_true(burst > 2.0);
}

/* The mean and the lowest target over [from_s, to_s]. */
static void targets_over(double from_s, double to_s, double *mean, double *lo) {
    double sum = 0;
    unsigned n = 0;
    *lo = 1e12;
    for (double t = from_s; t <= to_s + 1e-9; t += 0.1, n++) {
        sum += target_at(t);
        *lo = target_at(t) < *lo ? target_at(t) : *lo;
    }
    *mean = sum / n;
}

/* The link's queue at t seconds, in ms. */
static uint32_t queue_at(double t) {
    unsigned i = (unsigned)(t * 10 + 0.5);
    assert_true(i < sim.ntarget);
    return sim.queue_ms_at[i];
}

/*
 * The collapse of the e2e suite: 1 Mbit/s behind a modem buffer of 25 kB, down to 64 kbit/s,
 * where that buffer holds 3 s. Before any feedback shows it, a few hundred milliseconds at
 * the old rate fill the buffer; the target must come down at once, and the queue (sound at
 * 24 kbit/s goes on whatever the target) empties within seconds.
 */
static void test_cc_collapse_cut_at_once(void **state) {
    (void)state;
    cq_netsim_params_t p = {.rate_bps = 1000000, .queue_bytes = 25000, .delay_ms = 20};
    sim_start(&p, 300000, 5000000);
    sim.audio_bytes = 60; /* 24 kbit/s of sound */
    sim.windowed = true;
    run_until(15);
    p.rate_bps = 64000;
    assert_int_equal(cq_netsim_link_set(&sim.link, &p), 0);
    run_until(35);
    print_targets("1 Mbit/s then 64 kbit/s at 15 s", 14, 35);
    print_message("queue:");
    for (double t = 14; t <= 35 + 1e-9; t += 0.5)
        print_message(" %.1f:%u", t, queue_at(t));
    print_message(" ms\n");
    /* The first cut is to 85 % of what arrives, within a second. What arrived over the
     * half second before it had been sent within a few milliseconds at the old rate, too
     * short a time to measure a send rate; an unmeasured one counted as "all that was sent
     * arrived" (an application-limited sender, cut only once per response time), and the
     * estimate took 3 s to come down from 1 Mbit/s while the buffer overflowed. */
    assert_true(target_at(16) < 100000);
    uint32_t worst = 0;
    for (double t = 20.5; t <= 35 + 1e-9; t += 0.1)
        worst = queue_at(t) > worst ? queue_at(t) : worst;
    print_message("longest queue from 5.5 s after the collapse: %u ms\n", worst);
    /* Three of its packets, 150 ms each at 64 kbit/s, and the sound that came between
     * them (7.5 ms a packet). */
    assert_true(worst < 3 * 150 + 2 * 8);
    /* Drained, not starved: the link is used again. */
    double mean, lo;
    targets_over(25, 35, &mean, &lo);
    print_message("target over 25-35 s: mean %.0f, lowest %.0f kbit/s\n", mean / 1000, lo / 1000);
    assert_true(mean >= 40000);
    sim_end();
}

/*
 * What the relay sends a receiver: many small packets (sound from every publisher, video
 * paced out in 5 ms slices), below what the link carries. Dense groups on a jittery link
 * must not read as a queue building: a fit over twenty groups 3 ms apart saw a slope in
 * the jitter and cut the rate again and again, each time to 85 % of what the sender was
 * sending, down to a fifth of the link (the trend is now fitted over half a second and
 * smoothed per unit of time; estimator.c).
 */
static void test_cc_dense_small_packets(void **state) {
    (void)state;
    /* rural-radio: 512 kbit/s, 2 % loss, +-10 ms jitter; 300-byte packets at 400 kbit/s. */
    cq_netsim_params_t radio = {
        .rate_bps = 512000, .queue_ms = 250, .delay_ms = 40, .jitter_ms = 10, .loss = 0.02};
    packet_bytes = 300;
    sim_start(&radio, 300000, 400000);
    run_until(30);
    print_targets("radio, 400 kbit/s in 300 B packets", 0, 30);
    double mean, lo;
    targets_over(5, 30, &mean, &lo);
    assert_true(lo >= 400000); /* never below what is sent: no false overuse */
    sim_end();
    /* 3g-weak: 180-byte packets at 150 kbit/s (sound of two publishers and a little
     * video). The jitter of +-40 ms tilts the trend past the threshold now and then; with
     * no queue standing behind it that is not overuse (estimator.c, QUEUE_GATE_MIN_MS):
     * the estimate never falls under what is sent. Without the gate it fell to 92. */
    cq_netsim_params_t g3 = weak_3g_link();
    packet_bytes = 180;
    sim_start(&g3, 300000, 150000);
    run_until(30);
    print_targets("3g-weak, 150 kbit/s in 180 B packets", 0, 30);
    targets_over(10, 30, &mean, &lo);
    print_message("mean %.0f, lowest %.0f kbit/s\n", mean / 1000, lo / 1000);
    assert_true(mean >= 150000 && lo >= 150000);
    packet_bytes = PACKET;
}

/*
 * weak-3g-3's downlink as the relay fills it: media under the link (200 of 256 kbit/s) on
 * a link that loses 5 % in bursts of 3.3 packets. A half second that lost one long burst
 * reads as 30-70 % loss, two bursts in 1.5 s as 15-20 %: heavy, but packets came through
 * with no queue ahead of them. They are the link's own (estimator.c, LOSS_LINK_RUN): over
 * ten draws the estimate never falls under what is sent, and the loss bound is set on at
 * most three (a window whose few arrivals all came late by the jitter). Cut for every
 * such window, the bound was set on all ten and the estimate fell under what was sent on
 * four, to 127-197 kbit/s.
 */
static void test_cc_link_bursts_are_not_congestion(void **state) {
    (void)state;
    cq_netsim_params_t g3 = weak_3g_link();
    unsigned bounded = 0, under = 0;
    uint64_t passed = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        seed_now = seed;
        sim_start(&g3, 300000, 200000);
        run_until(30);
        double mean, lo;
        targets_over(5, 30, &mean, &lo);
        cq_cc_stats_t st;
        cq_cc_stats(&sim.cc, &st);
        print_message("seed %u: lowest %.0f kbit/s, loss bound up to %u, %u heavy windows "
                      "passed, %u packets lost\n",
                      (unsigned)seed, lo / 1000, sim.loss_bound_max / 1000,
                      (unsigned)st.loss_bursts_passed, (unsigned)st.packets_lost);
        bounded += sim.loss_bound_max > 0;
        under += lo < 200000;
        passed += st.loss_bursts_passed;
        sim_end();
    }
    seed_now = 0;
    assert_int_equal(under, 0);
    assert_true(bounded <= 3);
    assert_true(passed > 0); /* the bursts were there, and heavy */
}

/*
 * The receiving host stalls (a loaded machine, or a telecentre PC busy with something
 * else): nothing is read for a while, then everything at once. The delay spikes with no
 * queue behind it and everything sent arrives, so the estimator cuts its own estimate
 * once, to 85 %, rather than back off to 85 % of what the application-limited sender was
 * sending (which, with a sender that follows the target as the relay's allocator does,
 * compounded in the e2e suite from 174 to 66 kbit/s). One 300 ms stall: the estimate
 * stays above 200 kbit/s (backing off from what arrived: 142). 120 ms stalls every 300 ms
 * for 2 s: it stays above 0.75 of what is sent.
 */
static void test_cc_host_stall_is_one_cut(void **state) {
    (void)state;
    cq_netsim_params_t p = capped(256000, 80);
    packet_bytes = 180;
    sim_start(&p, 300000, 170000);
    sim.stall_from_us = sim.now + 10000000;
    sim.stall_to_us = sim.stall_from_us + 300000;
    run_until(16);
    print_targets("256 kbit/s, 170 sent, 300 ms stall at 10 s", 8, 16);
    double mean, lo, before_lo;
    targets_over(7, 10, &mean, &before_lo);
    targets_over(10, 16, &mean, &lo);
    print_message("lowest %.0f kbit/s before, %.0f after the stall\n", before_lo / 1000, lo / 1000);
    assert_true(before_lo >= 170000);
    assert_true(lo >= 200000);
    sim_end();
    sim_start(&p, 300000, 170000);
    sim.stall_from_us = sim.now + 10000000;
    sim.stall_to_us = sim.stall_from_us + 2000000;
    sim.stall_period_us = 300000;
    sim.stall_us = 120000;
    run_until(20);
    print_targets("256 kbit/s, 170 sent, 120 ms stalls every 300 ms for 2 s", 8, 20);
    targets_over(10, 20, &mean, &lo);
    print_message("lowest %.0f kbit/s\n", lo / 1000);
    assert_true(lo >= 0.75 * 170000);
    packet_bytes = PACKET;
}

/*
 * collapse: 64 kbit/s for 20 s, then 1 Mbit/s again, the sender able to use 800. With
 * cq_cc_want the estimate finds the room within seconds of the return (without, 8 % a
 * second from 64 takes half a minute); while the link stays at 64, the probes back off
 * to one every 4 s. How long the return takes to find depends on where in those 4 s it
 * falls, so it returns at each tenth of a second of them:
 *  - once one cluster finds room, the next follows as soon as it is judged (each a
 *    second after the last: 4.3 s on average, 6.2 s at worst; 3.0 and 4.9 with this);
 *  - a cluster sent as the link returns comes in bunched (the queue of the 64 kbit/s
 *    link let out at 1 Mbit/s) and says nothing: it is asked again a second later, not
 *    4 s (with both, 2.8 and 4.6).
 * What is left at worst is a return just after a cluster the 64 kbit/s link held back.
 */
static double collapse_found_s(double return_s, unsigned *probes_during) {
    cq_netsim_params_t p = capped(64000, 20);
    sim_start(&p, 300000, 800000);
    sim.want_bps = 800000;
    run_until(return_s);
    assert_true(target_at(return_s - 0.5) < 100000);
    *probes_during = sim.probes;
    p = capped(1000000, 20);
    assert_int_equal(cq_netsim_link_set(&sim.link, &p), 0);
    run_until(return_s + 12);
    double t = return_s;
    while (t < return_s + 12 && target_at(t) < 700000)
        t += 0.1;
    sim_end();
    return t - return_s;
}

static void test_cc_want_finds_room_after_collapse(void **state) {
    (void)state;
    double worst = 0, sum = 0;
    unsigned most = 0;
    for (int k = 0; k < 40; k++) {
        unsigned during;
        double found = collapse_found_s(20 + k * 0.1, &during);
        sum += found;
        if (found > worst)
            worst = found;
        if (during > most)
            most = during;
    }
    print_message("700 kbit/s reached %.1f s after the return on average, %.1f s at worst; "
                  "up to %u probe clusters in the 20-24 s at 64 kbit/s\n",
                  sum / 40, worst, most);
    assert_true(worst <= 5.0);
    assert_true(most <= 2 + 7); /* the two initial ones, then 2 and 4 s apart, a retry */
}

/*
 * What the relay sends one radio receiver: media held under the link by the allocator
 * (250 of 512 kbit/s), a keyframe now and then paced out at 1.25x the target, and probes
 * for the room a layer up would need (cq_cc_want). Each probe fills the link's queue and
 * reads as overuse; backing off to 85 % of what arrived sawed the estimate down to about
 * 300 kbit/s (mean 345 over the run) and held the receiver a layer down. Backing off from
 * what the probe measured keeps the estimate near the link.
 */
static void radio_with_wants(const cq_netsim_params_t *radio) {
    sim_start(radio, 300000, 250000);
    sim.burst_period_us = 2000000;
    sim.burst_packets = 8;
    sim.next_burst_us = sim.now + 500000;
    sim.want_bps = 600000;
    run_until(30);
}

static void test_cc_radio_keyframes_and_wants(void **state) {
    (void)state;
    cq_netsim_params_t radio = {
        .rate_bps = 512000, .queue_ms = 250, .delay_ms = 40, .jitter_ms = 10, .loss = 0.02};
    packet_bytes = 1000;
    radio_with_wants(&radio);
    print_targets("radio, 250 kbit/s, keyframes, want 600", 0, 30);
    double mean, lo;
    targets_over(5, 30, &mean, &lo);
    cq_cc_stats_t st;
    cq_cc_stats(&sim.cc, &st);
    print_message("mean %.0f lowest %.0f kbit/s, %llu overuses, %u probe clusters\n", mean / 1000,
                  lo / 1000, (unsigned long long)st.overuses, sim.probes);
    assert_true(mean >= 0.8 * 512000);
    assert_true(lo >= 250000); /* never under what is sent */
    /* The sender never fills the link, but its keyframes and probes do: what got through
     * then is the link's rate, whatever the estimate stands at (the relay paces by it).
     * It is one reading, of one keyframe's overuse or one cluster 10 ms of jitter spreads:
     * over 40 draws 0.78-1.17 of the link, and one draw could not hold 0.8-1.1 (14 and 15
     * draws of 40 missed, before and after the wants climbed sooner). So over ten draws:
     * each within 0.75-1.2, their mean within 10 %. */
    double carried = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        sim_end();
        seed_now = seed;
        radio_with_wants(&radio);
        cq_cc_stats(&sim.cc, &st);
        print_message("seed %u: carried %u kbit/s, %.1f s ago\n", (unsigned)link_seed(),
                      st.carried_bps / 1000, (double)(sim.now - st.carried_us) / 1e6);
        assert_true(st.carried_us > 0 && sim.now - st.carried_us < 10000000);
        assert_true(st.carried_bps >= 0.75 * 512000 && st.carried_bps <= 1.2 * 512000);
        carried += st.carried_bps / 10.0;
    }
    print_message("carried %.0f kbit/s over ten draws\n", carried / 1000);
    assert_true(carried >= 0.9 * 512000 && carried <= 1.1 * 512000);
    packet_bytes = PACKET;
}

/* A sender fed by hand: 1000-byte packets every gap_us until until_us, each arriving 80 ms
 * later, plus stretch times the time spent since stretch_from_us up to stretch_to_us, less
 * as much again for the time since (a queue that builds at the link, then drains as fast),
 * with feedback every 100 ms of what arrived. */
typedef struct {
    cq_cc_t cc;
    int64_t now, next_feedback;
    uint16_t seq, reported;
    int64_t arrival[512];
} hand_t;

static void hand_run(hand_t *h, int64_t until_us, int64_t gap_us, double stretch,
                     int64_t stretch_from_us, int64_t stretch_to_us) {
    for (; h->now < until_us; h->now += gap_us) {
        cq_cc_on_sent(&h->cc, h->seq, 1000, h->now, CQ_SENDHIST_NO_PROBE);
        int64_t held = (h->now < stretch_to_us ? h->now : stretch_to_us) - stretch_from_us;
        int64_t drained = h->now > stretch_to_us ? h->now - stretch_to_us : 0;
        double lag = held > 0 ? stretch * (double)(held - drained) : 0;
        h->arrival[h->seq % 512] = h->now + 80000 + (lag > 0 ? (int64_t)lag : 0);
        h->seq++;
        while (h->now >= h->next_feedback) {
            cq_twcc_packet_t pkts[64];
            size_t n = 0;
            while (h->reported != h->seq && n < 64 && h->arrival[h->reported % 512] <= h->now) {
                pkts[n++] = (cq_twcc_packet_t){
                    .seq = h->reported, .received = 1, .arrival_us = h->arrival[h->reported % 512]};
                h->reported++;
            }
            if (n > 0)
                cq_cc_on_feedback(&h->cc, pkts, n, h->now);
            h->next_feedback += 100000;
        }
    }
}

/*
 * A sender under its estimate, its packets at 150 kbit/s: 2.5 s of a link that carries them
 * all, then half a second in which they arrive 1.4 times slower than they left (its own
 * burst queued at the link), then the queue drains. Most of what it sent arrived: it backs
 * off from the most that got through lately (150 kbit/s), not to 85 % of the last half
 * second's arrivals (94 kbit/s from 300: on weak-3g-3 such cuts went under a receiver's
 * lowest layers). Where under half got through (arrivals 2.5 times slower: a bottleneck),
 * the cut is from what arrived, at once.
 */
static void test_cc_own_bursts_back_off_from_what_got_through(void **state) {
    (void)state;
    const int64_t gap = INT64_C(1000) * 8 * 1000000 / 150000; /* 53 ms: 150 kbit/s */
    const double stretch[2] = {0.4, 1.5};
    for (int k = 0; k < 2; k++) {
        static hand_t h;
        memset(&h, 0, sizeof h);
        assert_int_equal(cq_cc_init(&h.cc, &(cq_cc_config_t){300000, 30000, 5000000}), 0);
        h.cc.initial_probes_sent = true; /* what media alone says */
        cq_cc_set_rtt(&h.cc, 160000);
        h.now = h.next_feedback = 1000000;
        hand_run(&h, 3500000, gap, 0, 0, 0);
        uint32_t before = cq_cc_target_bps(&h.cc), lowest = before;
        assert_true(before >= 200000); /* under it the sender is not application-limited */
        for (int64_t t = 3600000; t <= 5000000; t += 100000) {
            hand_run(&h, t, gap, stretch[k], 3500000, 4000000);
            lowest = cq_cc_target_bps(&h.cc) < lowest ? cq_cc_target_bps(&h.cc) : lowest;
        }
        cq_cc_stats_t st;
        cq_cc_stats(&h.cc, &st);
        print_message("arrivals %.1fx slower: %u kbit/s, cut to %u (%llu overuses, %u of %u "
                      "arrived at the end)\n",
                      1 + stretch[k], before / 1000, lowest / 1000, (unsigned long long)st.overuses,
                      st.acked_bps / 1000, h.cc.acked_sent_bps / 1000);
        assert_true(st.overuses >= 1);
        if (k == 0)
            assert_true(lowest >= 0.85 * 150000 * 0.95 && lowest <= 0.85 * 150000 * 1.05);
        else
            assert_true(lowest <= 0.85 * 150000 / 2.5 * 1.1);
    }
}

/*
 * The same sender and burst (arrivals 1.4 times slower than sent), just after a probe
 * cluster read the link at 400 kbit/s (a cluster a 3G link's jitter squeezed: a 256
 * kbit/s link read as 392). The cut follows the arrivals that lag the sends, not the
 * cluster's reading: backing off from 400 took 2 s of overuses to 333 each, over a link
 * whose queue overflowed meanwhile.
 */
static void test_cc_lagging_arrivals_outweigh_a_link_reading(void **state) {
    (void)state;
    const int64_t gap = INT64_C(1000) * 8 * 1000000 / 150000;
    static hand_t h;
    memset(&h, 0, sizeof h);
    assert_int_equal(cq_cc_init(&h.cc, &(cq_cc_config_t){300000, 30000, 5000000}), 0);
    h.cc.initial_probes_sent = true;
    cq_cc_set_rtt(&h.cc, 160000);
    h.now = h.next_feedback = 1000000;
    hand_run(&h, 3500000, gap, 0, 0, 0);
    uint32_t before = cq_cc_target_bps(&h.cc), lowest = before;
    assert_true(before >= 200000);
    h.cc.link_bps = 400000; /* what the cluster said, as probe_read records it */
    h.cc.link_us = h.now;
    for (int64_t t = 3600000; t <= 5000000; t += 100000) {
        hand_run(&h, t, gap, 0.4, 3500000, 4000000);
        lowest = cq_cc_target_bps(&h.cc) < lowest ? cq_cc_target_bps(&h.cc) : lowest;
    }
    print_message("link read at 400: %u kbit/s, cut to %u\n", before / 1000, lowest / 1000);
    assert_true(lowest <= 0.85 * 150000 * 1.05);
}

/* The window: never before feedback and a round trip; then full when more is in flight
 * than the target carries in the least round trip plus CQ_CC_WINDOW_QUEUE_US; a packet
 * reported lost counts as no longer in flight, as does everything sent before it. */
static void test_cc_window(void **state) {
    (void)state;
    cq_cc_t cc;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){300000, 30000, 5000000}), 0);
    for (uint16_t seq = 0; seq < 100; seq++)
        cq_cc_on_sent(&cc, seq, 1000, 1000 + seq * 100, CQ_SENDHIST_NO_PROBE);
    assert_false(cq_cc_window_full(&cc, 95000)); /* no feedback yet */
    cq_twcc_packet_t first = {.seq = 0, .received = true, .arrival_us = 50000};
    cq_cc_on_feedback(&cc, &first, 1, 60000);
    assert_false(cq_cc_window_full(&cc, 95000)); /* no round trip yet */
    cq_cc_set_rtt(&cc, 400000);
    cq_cc_set_rtt(&cc, 100000); /* the least counts: 300 kbit/s x 350 ms = 13125 bytes */
    cq_cc_set_rtt(&cc, 900000);
    assert_int_equal(cq_cc_target_bps(&cc), 300000);
    assert_true(cq_cc_window_full(&cc, 95000)); /* 99 000 bytes in flight */
    /* Reported up to seq 85 (lost): 14 packets, 14 000 bytes, still over. */
    cq_twcc_packet_t lost = {.seq = 85, .received = false};
    cq_cc_on_feedback(&cc, &lost, 1, 70000);
    assert_true(cq_cc_window_full(&cc, 95000));
    cq_twcc_packet_t got = {.seq = 87, .received = true, .arrival_us = 80000};
    cq_cc_on_feedback(&cc, &got, 1, 90000);
    assert_false(cq_cc_window_full(&cc, 95000)); /* 12 000 bytes */
    /* An older report does not move it back. */
    cq_twcc_packet_t old = {.seq = 3, .received = true, .arrival_us = 51000};
    cq_cc_on_feedback(&cc, &old, 1, 95000);
    assert_false(cq_cc_window_full(&cc, 95000));
    for (uint16_t seq = 100; seq < 102; seq++)
        cq_cc_on_sent(&cc, seq, 1000, 20000 + seq * 100, CQ_SENDHIST_NO_PROBE);
    assert_true(cq_cc_window_full(&cc, 95000)); /* 14 000 */
}

/* Time, not bytes: the oldest packet in flight went out more than the least round trip
 * plus CQ_CC_WINDOW_LATE_US ago, whatever the rate. A collapsed link with a target still
 * at the healthy link's, sending a fifth of it, holds video within half a second. */
static void test_cc_window_late_feedback(void **state) {
    (void)state;
    cq_cc_t cc;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){1000000, 30000, 5000000}), 0);
    cq_cc_set_rtt(&cc, 50000);
    /* 200 kbit/s: a 1000-byte packet each 40 ms; reported up to packet 9 at 0.5 s. */
    for (uint16_t seq = 0; seq < 10; seq++)
        cq_cc_on_sent(&cc, seq, 1000, seq * 40000, CQ_SENDHIST_NO_PROBE);
    cq_twcc_packet_t got = {.seq = 9, .received = true, .arrival_us = 400000};
    cq_cc_on_feedback(&cc, &got, 1, 500000);
    assert_false(cq_cc_window_full(&cc, 500000)); /* nothing in flight */
    /* Idle for a second (nothing to send is not late feedback), then sending again. */
    for (uint16_t seq = 10; seq < 30; seq++)
        cq_cc_on_sent(&cc, seq, 1000, 1500000 + (seq - 10) * 40000, CQ_SENDHIST_NO_PROBE);
    /* 20 000 bytes in flight: under the byte window (1 Mbit/s x 300 ms = 37 500). */
    assert_false(cq_cc_window_full(&cc, 1500000 + 399000));
    assert_true(cq_cc_window_full(&cc, 1500000 + 401000)); /* packet 10: 50 + 350 ms ago */
    /* Feedback reports up to 20: the oldest in flight is 21, sent 400 ms after 10. */
    got = (cq_twcc_packet_t){.seq = 20, .received = true, .arrival_us = 2000000};
    cq_cc_on_feedback(&cc, &got, 1, 2000000);
    assert_false(cq_cc_window_full(&cc, 2000000));
    assert_true(cq_cc_window_full(&cc, 1500000 + 11 * 40000 + 401000));
}

/* Runs a path whose feedback reports, every 100 ms, the packets that arrived lag_us
 * before (a 100-byte packet each 10 ms, one-way 20 ms, round trip 40), for 3 s from t0;
 * then the feedback stops and packets go on. Returns when, after the last feedback, the
 * window first became full (searched in 10 ms steps up to 1 s). */
static int64_t window_full_after_feedback_stops(int64_t lag_us) {
    cq_cc_t cc;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){300000, 30000, 5000000}), 0);
    cq_cc_set_rtt(&cc, 40000);
    const int64_t t0 = 1000000;
    uint16_t seq = 0;
    int64_t t = t0, last_fb = 0;
    for (; t < t0 + 3000000; t += 10000) {
        cq_cc_on_sent(&cc, seq++, 100, t, CQ_SENDHIST_NO_PROBE);
        if ((t - t0) % 100000 == 0 && t - t0 >= 100000) {
            /* Every packet sent up to t - 20 ms - lag has arrived (20 ms after it left). */
            cq_twcc_packet_t pk[64];
            size_t n = 0;
            for (int64_t s = t - 20000 - lag_us - 90000; s <= t - 20000 - lag_us; s += 10000)
                if (s >= t0 && n < 64)
                    pk[n++] = (cq_twcc_packet_t){.seq = (uint16_t)((s - t0) / 10000),
                                                 .received = true,
                                                 .arrival_us = s + 20000};
            cq_cc_on_feedback(&cc, pk, n, t);
            last_fb = t;
        }
    }
    for (int64_t at = last_fb; at < last_fb + 1000000; at += 10000) {
        if (at > t)
            cq_cc_on_sent(&cc, seq++, 100, t = at, CQ_SENDHIST_NO_PROBE);
        if (cq_cc_window_full(&cc, at))
            return at - last_fb;
    }
    return -1;
}

/* How late feedback may come is learned: on a path without queues, feedback every 100 ms
 * is about 70 ms late, and a stall fills the window in 200 ms, not the 400 of the fixed
 * slack (a collapsed link's modem takes 0.2 s less of the old rate); where feedback comes
 * 300 ms later than that (a downlink queue it crosses), the slack stays at its most. */
static void test_cc_window_learns_lateness(void **state) {
    (void)state;
    int64_t quick = window_full_after_feedback_stops(0);
    int64_t queued = window_full_after_feedback_stops(300000);
    print_message("window full %lld ms after the last feedback (no queue), %lld (300 ms late)\n",
                  (long long)(quick / 1000), (long long)(queued / 1000));
    assert_true(quick > 0 && quick <= 250000);
    /* The oldest in flight went out 20 + 300 ms before the last feedback: 40 + 350 later. */
    assert_true(queued > 0 && queued >= 40000 + 350000 - 320000 - 10000);
    assert_true(queued <= 40000 + 350000 - 320000 + 20000);
}

/* Packets 10 ms apart from *seq on, reported every 100 ms, until until_us; those for
 * which lost() says so are reported lost. Returns the most loss_burst read after any of
 * the feedbacks. */
static double report_span(cq_cc_t *cc, uint16_t *seq, int64_t *now, int64_t until_us,
                          bool (*lost)(uint16_t)) {
    double most = 0;
    while (*now < until_us) {
        cq_twcc_packet_t pk[10];
        for (int i = 0; i < 10; i++, (*seq)++, *now += 10000) {
            cq_cc_on_sent(cc, *seq, 1000, *now, CQ_SENDHIST_NO_PROBE);
            pk[i] = (cq_twcc_packet_t){
                .arrival_us = *now + 40000, .seq = *seq, .received = !lost(*seq)};
        }
        cq_cc_on_feedback(cc, pk, 10, *now + 40000);
        cq_cc_stats_t st;
        cq_cc_stats(cc, &st);
        most = st.loss_burst > most ? st.loss_burst : most;
    }
    return most;
}

static bool lost_one_pair(uint16_t seq) {
    return seq == 20 || seq == 21;
}

static bool lost_pair_then_singles(uint16_t seq) {
    return lost_one_pair(seq) || (seq > 100 && seq % 50 == 0);
}

/* Two singles soon after the pair, reported before their loss window closes. */
static bool lost_pair_and_two_soon(uint16_t seq) {
    return lost_one_pair(seq) || seq == 62 || seq == 66;
}

/* A session's first loss run alone says nothing of the link: a pair of random losses next
 * to each other is no burst until more runs show it is what the link does. */
static void test_cc_loss_runs_need_evidence(void **state) {
    (void)state;
    cq_cc_t cc;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){300000, 30000, 5000000}), 0);
    uint16_t seq = 0;
    int64_t now = 1000;
    (void)report_span(&cc, &seq, &now, 1500000, lost_one_pair);
    cq_cc_stats_t st;
    cq_cc_stats(&cc, &st);
    assert_int_equal(st.loss_runs, 1);
    assert_true(st.loss_burst == 0); /* too few to tell */
    /* Single losses follow, one every half second: the link loses at random. */
    (void)report_span(&cc, &seq, &now, 5000000, lost_pair_then_singles);
    cq_cc_stats(&cc, &st);
    print_message("loss runs %llu, %.2f packets each\n", (unsigned long long)st.loss_runs,
                  st.loss_burst);
    assert_true(st.loss_runs >= 6);
    assert_true(st.loss_burst >= 1.0 && st.loss_burst < 1.5);
    /* The runs counted are those in the average: a pair and two singles seen before the
     * singles' window is judged never read as the pair alone (2, bursty). */
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){300000, 30000, 5000000}), 0);
    seq = 0;
    now = 1000;
    double most = report_span(&cc, &seq, &now, 3000000, lost_pair_and_two_soon);
    cq_cc_stats(&cc, &st);
    print_message("a pair and two singles: %.2f at most, %.2f at the end\n", most, st.loss_burst);
    assert_int_equal(st.loss_runs, 3);
    assert_true(most < 1.5);
    assert_true(st.loss_burst > 1.0 && st.loss_burst < 1.5);
}

static void test_cc_config_and_unknown_feedback(void **state) {
    (void)state;
    cq_cc_t cc;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){100, 200, 300}), CQ_EINVAL);
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){400, 200, 300}), CQ_EINVAL);
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){100, 0, 300}), CQ_EINVAL);
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){200, 100, 300}), 0);
    /* Feedback on packets never sent (or long forgotten) changes nothing. */
    cq_twcc_packet_t pk[3] = {{1000, 5, 1}, {2000, 6, 1}, {0, 7, 0}};
    cq_cc_on_feedback(&cc, pk, 3, 5000);
    cq_cc_stats_t st;
    cq_cc_stats(&cc, &st);
    assert_int_equal(st.packets_reported, 0);
    assert_int_equal(cq_cc_target_bps(&cc), 200);
    /* A packet reported twice counts once. */
    cq_cc_on_sent(&cc, 5, 1000, 1000, CQ_SENDHIST_NO_PROBE);
    cq_cc_on_feedback(&cc, pk, 1, 6000);
    cq_cc_on_feedback(&cc, pk, 1, 7000);
    cq_cc_stats(&cc, &st);
    assert_int_equal(st.packets_reported, 1);
}

/* The probe cluster the estimator hands out at now, sent by hand in 1200-byte packets
 * numbered from seq at its rate, its arrivals spaced by arrive_gap_us, reported at
 * now + report_after_us. Returns the target after the report. */
static uint32_t send_probe(cq_cc_t *cc, int64_t now, uint16_t seq, int64_t arrive_gap_us,
                           int64_t report_after_us, cq_cc_stats_t *st) {
    cq_cc_cluster_t cl;
    assert_true(cq_cc_probe_next(cc, now, &cl));
    int64_t gap = 1200 * 8 * 1000000LL / cl.rate_bps;
    unsigned packets = cq_cc_cluster_packets(&cl, PACKET);
    cq_twcc_packet_t pk[64];
    assert_true(packets <= 64);
    for (unsigned i = 0; i < packets; i++) {
        cq_cc_on_sent(cc, (uint16_t)(seq + i), 1200, now + i * gap, cl.id);
        pk[i] = (cq_twcc_packet_t){.arrival_us = now + 50000 + i * arrive_gap_us,
                                   .seq = (uint16_t)(seq + i),
                                   .received = true};
    }
    cq_cc_on_feedback(cc, pk, packets, now + report_after_us);
    cq_cc_stats(cc, st);
    return cq_cc_target_bps(cc);
}

/* Twenty packets of media 60 ms apart from now, numbered from seq, whose delay swings by
 * +-jitter_us from one to the next (the estimator learns the link's jitter from them),
 * reported at once. Returns when the last went out. */
static int64_t jittery_media(cq_cc_t *cc, int64_t now, uint16_t seq, int64_t jitter_us) {
    cq_twcc_packet_t pk[20];
    for (unsigned i = 0; i < 20; i++, seq++) {
        cq_cc_on_sent(cc, seq, 300, now + i * 60000, -1);
        int64_t swing = i % 2 ? jitter_us : -jitter_us;
        pk[i] = (cq_twcc_packet_t){
            .arrival_us = now + 50000 + i * 60000 + swing, .seq = seq, .received = true};
    }
    now += 20 * 60000;
    cq_cc_on_feedback(cc, pk, 20, now + 100000);
    return now;
}

/* That media on a fresh estimator, then one probe cluster by hand whose arrivals are
 * spaced by arrive_gap_us. Returns the target after its report. */
static uint32_t probe_after_media(cq_cc_t *cc, int64_t jitter_us, int64_t arrive_gap_us,
                                  cq_cc_stats_t *st) {
    assert_int_equal(cq_cc_init(cc, &(cq_cc_config_t){200000, 30000, 5000000}), 0);
    int64_t now = jittery_media(cc, 1000000, 0, jitter_us);
    return send_probe(cc, now, 20, arrive_gap_us, 300000, st);
}

/* A probe cluster that arrives as it was sent shows the link carries its rate; one that
 * arrives bunched, much faster than it was sent (jitter that held packets back and let
 * them go together), shows nothing and is void. On weak-3g-3's +-40 ms links clusters of
 * 25-40 ms came in within 2-18 ms, and taken at their send rate they lifted 256 kbit/s
 * receivers' estimates to 400-860 kbit/s. */
static void test_cc_bunched_probe_is_void(void **state) {
    (void)state;
    cq_cc_t cc;
    cq_cc_stats_t st;
    /* The first probe, after a little media on a steady link (a cluster is judged once
     * the link's jitter is known): 3x the start (600 kbit/s), 1200-byte packets 16 ms
     * apart. */
    uint32_t spread = probe_after_media(&cc, 0, 16000, &st);
    assert_true(spread >= 500000);
    assert_int_equal(st.probes_bunched, 0);
    uint32_t bunched = probe_after_media(&cc, 0, 250, &st); /* all within a few milliseconds */
    assert_true(bunched < 220000); /* the start's 200, as the media left it */
    assert_int_equal(st.probes_bunched, 1);
    /* Faster than sent by less than half again: the link's own jitter, still read. */
    uint32_t brisk = probe_after_media(&cc, 0, 12000, &st);
    assert_true(brisk >= 500000);
    assert_int_equal(st.probes_bunched, 0);
}

/* A want probe whose cluster came in bunched said nothing of the link: it is asked again
 * a second after it was judged, not at the backed-off wait (a cluster sent as a collapse
 * ends comes in so); once only, so a link that bunches every cluster is not probed every
 * second: the next goes at the wait the first was asked with. */
static void test_cc_void_want_probe_asked_again_once(void **state) {
    (void)state;
    cq_cc_t cc;
    cq_cc_stats_t st;
    cq_cc_cluster_t cl;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){200000, 30000, 5000000}), 0);
    cc.initial_probes_sent = true; /* the wants' probes alone */
    int64_t t0 = jittery_media(&cc, 1000000, 0, 0);
    cq_cc_want(&cc, 2000000, t0);
    send_probe(&cc, t0, 20, 250, 300000, &st); /* judged void at t0 + 0.3 s */
    assert_int_equal(st.probes_bunched, 1);
    cq_cc_want(&cc, 2000000, t0 + 1200000);
    assert_false(cq_cc_probe_next(&cc, t0 + 1200000, &cl));
    int64_t t1 = t0 + 1310000; /* a second after it was judged; the wait was 2 s */
    cq_cc_want(&cc, 2000000, t1);
    send_probe(&cc, t1, 60, 250, 300000, &st);
    assert_int_equal(st.probes_bunched, 2);
    /* Void again: no second retry a second later, but the next at the 2 s wait. */
    cq_cc_want(&cc, 2000000, t1 + 1400000);
    assert_false(cq_cc_probe_next(&cc, t1 + 1400000, &cl));
    cq_cc_want(&cc, 2000000, t1 + 1990000);
    assert_false(cq_cc_probe_next(&cc, t1 + 1990000, &cl));
    cq_cc_want(&cc, 2000000, t1 + 2000000);
    assert_true(cq_cc_probe_next(&cc, t1 + 2000000, &cl));
}

/* Whether the start's second probe (6x) follows the first (3x), once that is judged: not
 * where the first found the link under its rate, but where it came through whole and
 * where it said nothing (bunched). Left out after a void one too, a VSAT viewer of
 * broadcast-20 stayed on the start's guess and was cut to the lowest layer at 8 s. */
static void test_cc_second_start_probe_unless_link_under(void **state) {
    (void)state;
    cq_cc_t cc;
    cq_cc_stats_t st;
    cq_cc_cluster_t cl;
    struct {
        int64_t arrive_gap_us;
        bool second;
    } cases[] = {{16000, true}, {250, true}, {40000, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        (void)probe_after_media(&cc, 0, cases[i].arrive_gap_us, &st);
        bool next = cq_cc_probe_next(&cc, 3000000, &cl);
        print_message("first probe's packets %lld us apart: second %s\n",
                      (long long)cases[i].arrive_gap_us, next ? "sent" : "not sent");
        assert_int_equal(next, cases[i].second);
        if (next)
            assert_int_equal(cl.rate_bps, 6 * 200000);
    }
}

/* A cluster that arrived over a span the link's jitter alone could squeeze says nothing
 * either: the same six packets of a 600 kbit/s probe, sent over 80 ms and arriving over
 * 70 ms, are judged on a steady link and void where the delay swings by +-25 ms from one
 * packet to the next (a jitter of about 50 ms). On weak-3g-3's +-40 ms links such clusters
 * read the 256 kbit/s links at 320-700 kbit/s, and the relay sent at that into a queue
 * that stood full for seconds. */
static void test_cc_jittered_probe_is_void(void **state) {
    (void)state;
    cq_cc_t cc;
    cq_cc_stats_t st;
    uint32_t steady = probe_after_media(&cc, 0, 14000, &st);
    assert_true(steady >= 500000);
    assert_int_equal(st.probes_jittered, 0);
    uint32_t jittery = probe_after_media(&cc, 25000, 14000, &st);
    assert_true(jittery < 300000);
    assert_int_equal(st.probes_jittered, 1);
    assert_int_equal(st.probes_bunched, 0);
    /* Spread over long enough for the jitter not to matter (six packets over 240 ms, a
     * link of about 200 kbit/s): judged, the link's. */
    probe_after_media(&cc, 25000, 48000, &st);
    assert_int_equal(st.probes_jittered, 0);
    assert_true(st.probe_bps > 150000);
}

/* A cluster lasts long enough at its rate to be read on its link: 30 ms before the link's
 * jitter is known (the start's first) and on a steady link, four times the jitter where
 * that is longer, at most 100 ms. The relay's clusters at a VSAT viewer's start rates
 * lasted 13-25 ms, under three times the link's jitter, and came in void. */
static void test_cc_cluster_lasts_for_the_jitter(void **state) {
    (void)state;
    cq_cc_t cc;
    cq_cc_cluster_t cl;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){200000, 30000, 5000000}), 0);
    assert_true(cq_cc_probe_next(&cc, 1000000, &cl));
    assert_int_equal(cl.rate_bps, 600000);
    assert_int_equal(cl.bytes, 600000 / 8 * 30 / 1000); /* no jitter known yet: 30 ms */
    struct {
        int64_t swing_us;      /* each packet's delay this far above or below the last's */
        uint32_t lo_ms, hi_ms; /* how long the cluster lasts at its rate */
    } cases[] = {{0, 30, 30}, {3000, 30, 30}, {5000, 36, 44}, {25000, 100, 100}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){200000, 30000, 5000000}), 0);
        cc.initial_probes_sent = true; /* the wants' probes alone */
        int64_t now = jittery_media(&cc, 1000000, 0, cases[i].swing_us);
        cq_cc_request_probe(&cc, 1000000, now);
        assert_true(cq_cc_probe_next(&cc, now, &cl));
        uint32_t ms = cl.bytes * 8 / 1000; /* at 1 Mbit/s, a byte is 8 us */
        print_message("jitter %.1f ms: the cluster lasts %u ms\n", cc.jitter_ms, ms);
        assert_in_range(ms, cases[i].lo_ms, cases[i].hi_ms);
    }
}

/* A start's cluster goes out with the first packets: its report may come before the
 * link's jitter has been seen at all. It is judged once the jitter is known: a cluster
 * like the one above (six packets arriving over 55 ms, not bunched), reported before any
 * media, then media whose delay swings by +-25 ms, is void. Judged at once, with no jitter known,
 * it lifted the estimate to the probe's 600 kbit/s: weak-3g-3's receivers read 370 kbit/s on a 256
 * kbit/s link in their first seconds. */
static void test_cc_start_probe_waits_for_jitter(void **state) {
    (void)state;
    cq_cc_t cc;
    cq_cc_stats_t st;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){200000, 30000, 5000000}), 0);
    uint32_t before = send_probe(&cc, 1000000, 0, 11000, 150000, &st);
    assert_true(before < 300000);
    assert_int_equal(st.probes_jittered, 0);
    (void)jittery_media(&cc, 1200000, 6, 25000);
    cq_cc_stats(&cc, &st);
    assert_int_equal(st.probes_jittered, 1);
    assert_true(cq_cc_target_bps(&cc) < 300000);
}

/* One burst of 30 packets of 300 bytes 10 ms apart from *seq on, whose delay grows by 4 ms
 * a packet (a queue building: an overuse), reported at once. Its arrivals span 406 ms,
 * less than the window what arrived is measured over. Returns the target after it. */
static uint32_t queue_building_burst(cq_cc_t *cc, int64_t start_us, uint16_t *seq) {
    cq_twcc_packet_t pk[30];
    for (unsigned i = 0; i < 30; i++, (*seq)++) {
        int64_t sent = start_us + i * 10000;
        cq_cc_on_sent(cc, *seq, 300, sent, -1);
        pk[i] = (cq_twcc_packet_t){
            .arrival_us = sent + 50000 + i * 4000, .seq = *seq, .received = true};
    }
    cq_cc_on_feedback(cc, pk, 30, start_us + 30 * 10000 + 200000);
    return cq_cc_target_bps(cc);
}

/* What arrived is a measure only once arrivals have spanned a whole window: the start's
 * first overuse, and the first after an outage of a few seconds, back off from the
 * estimate (to 85 %), not from the 170 kbit/s that arrived over the first 406 ms. Backing
 * off from that cut a 256 kbit/s 3G link's estimate from 300 to 110 kbit/s at weak-3g-3's
 * starts, where the overuses after it held it for seconds. */
static void test_cc_start_backs_off_from_its_estimate(void **state) {
    (void)state;
    cq_cc_t cc;
    assert_int_equal(cq_cc_init(&cc, &(cq_cc_config_t){300000, 30000, 5000000}), 0);
    uint16_t seq = 0;
    uint32_t first = queue_building_burst(&cc, 1000000, &seq);
    cq_cc_stats_t st;
    cq_cc_stats(&cc, &st);
    print_message("after the first burst: %u kbit/s (%llu overuses, %u kbit/s arrived)\n",
                  first / 1000, (unsigned long long)st.overuses, st.acked_bps / 1000);
    assert_int_equal(st.overuses, 1);
    assert_true(st.acked_bps < 200000);
    assert_in_range(first, 250000, 256000);
    /* Three seconds of nothing, then the same: the measure starts over. */
    uint32_t again = queue_building_burst(&cc, 4500000, &seq);
    cq_cc_stats(&cc, &st);
    print_message("after the outage: %u kbit/s (%llu overuses)\n", again / 1000,
                  (unsigned long long)st.overuses);
    assert_int_equal(st.overuses, 2);
    assert_in_range(again, (uint32_t)(first * 0.85) - 1000, (uint32_t)(first * 0.85) + 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cc_config_and_unknown_feedback),
        cmocka_unit_test(test_cc_window),
        cmocka_unit_test(test_cc_window_late_feedback),
        cmocka_unit_test(test_cc_window_learns_lateness),
        cmocka_unit_test(test_cc_loss_runs_need_evidence),
        cmocka_unit_test(test_cc_bunched_probe_is_void),
        cmocka_unit_test(test_cc_second_start_probe_unless_link_under),
        cmocka_unit_test(test_cc_jittered_probe_is_void),
        cmocka_unit_test(test_cc_start_probe_waits_for_jitter),
        cmocka_unit_test(test_cc_cluster_lasts_for_the_jitter),
        cmocka_unit_test(test_cc_start_backs_off_from_its_estimate),
        cmocka_unit_test(test_cc_own_bursts_back_off_from_what_got_through),
        cmocka_unit_test(test_cc_lagging_arrivals_outweigh_a_link_reading),
        cmocka_unit_test_teardown(test_cc_converges_to_capped_link, teardown),
        cmocka_unit_test_teardown(test_cc_start_probes_fit_the_link, teardown),
        cmocka_unit_test_teardown(test_cc_backs_off_when_link_drops, teardown),
        cmocka_unit_test_teardown(test_cc_steady_with_random_loss, teardown),
        cmocka_unit_test_teardown(test_cc_heavy_loss_lowers_target, teardown),
        cmocka_unit_test_teardown(test_cc_app_limited_then_probe, teardown),
        cmocka_unit_test_teardown(test_cc_weak_3g, teardown),
        cmocka_unit_test_teardown(test_cc_link_bursts_are_not_congestion, teardown),
        cmocka_unit_test_teardown(test_cc_dense_small_packets, teardown),
        cmocka_unit_test_teardown(test_cc_host_stall_is_one_cut, teardown),
        cmocka_unit_test_teardown(test_cc_want_finds_room_after_collapse, teardown),
        cmocka_unit_test_teardown(test_cc_void_want_probe_asked_again_once, teardown),
        cmocka_unit_test_teardown(test_cc_collapse_cut_at_once, teardown),
        cmocka_unit_test_teardown(test_cc_radio_keyframes_and_wants, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
