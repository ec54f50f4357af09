#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/alloc.h"

/*
 * The allocator is pure, so every test is numbers in, numbers out. Most tests use one
 * publisher shape, cumulative in t (bit/s):
 *
 *            t=0      t=1      t=2
 *   layer 0  100000   150000   200000
 *   layer 1  300000   400000   500000
 *   layer 2  900000  1200000  1500000
 *
 * whose options, cheapest first (layer 0 at every t, the layers above at the top t only:
 * a larger picture at half the frame rate is worse than a smaller one at the full rate), are
 *
 *   index        0       1       2       3       4
 *   option       (0,0)   (0,1)   (0,2)   (1,2)   (2,2)
 *   price        100000  150000  200000  500000  1500000
 *   price * 1.15 115000  172500  230000  575000  1725000
 *
 * With max_temporal 1 they are (0,0) (0,1) (1,1) (2,1); with max_temporal 0, (0,0) (1,0)
 * (2,0). A step up to an option above the last run's choice needs 1.15 times its price of
 * room (its price plus what the stream's current option frees), a resume 1.3 times the lowest.
 * Doubles carry 1.15 as a hair under it, so the allocator's probe_bps, which truncates
 * price * 1.15, may come out one bit/s under the hand-computed figure: assert_probe
 * allows that one bit/s and nothing else.
 */
static const uint32_t std_rates[CQ_ALLOC_SPATIAL][CQ_ALLOC_TEMPORAL] = {
    {100000, 150000, 200000},
    {300000, 400000, 500000},
    {900000, 1200000, 1500000},
};

#define S        1000000u /* one second in microseconds */
#define T0       (100u * (uint64_t)S)
#define PLENTY   100000000u
#define NO_VIDEO (-1)

/* A publisher of the table above, every limit open, never allocated yet. */
static void stream_std(cq_alloc_stream_t *s, uint32_t audio_bps) {
    cq_alloc_stream_init(s);
    s->audio_bps = audio_bps;
    s->layers = 3;
    memcpy(s->rate_bps, std_rates, sizeof std_rates);
    s->max_spatial = 2;
    s->max_temporal = 2;
}

static void streams_std(cq_alloc_stream_t *s, size_t n, uint32_t audio_bps) {
    for (size_t i = 0; i < n; i++)
        stream_std(&s[i], audio_bps);
}

/* Whether the subscriber gets any option of s at all (layers it has, a limit >= 0). */
static bool has_options(const cq_alloc_stream_t *s) {
    return s->layers > 0 && s->max_spatial >= 0;
}

/*
 * What every result must satisfy, whatever the inputs: audio is the sum of the sounds;
 * video is the sum of the choices' costs; paused counts the streams with options that got
 * none; a paused or video-less stream costs nothing. Video stays within what audio left,
 * but for the streams kept at their lowest option over the budget: each may take it over by
 * at most that option's price (rate_bps[0][0]). Such a stream is one whose clock runs
 * (short_us, for less than CQ_ALLOC_PAUSE_AFTER_US) or one settling, whose clock does not.
 */
static void check_result(uint32_t budget, const cq_alloc_stream_t *s, size_t n, uint64_t now_us,
                         const cq_alloc_result_t *out) {
    uint64_t audio = 0, video = 0, over = 0;
    unsigned paused = 0;
    for (size_t i = 0; i < n; i++) {
        audio += s[i].audio_bps;
        if (s[i].choice.spatial < 0) {
            assert_int_equal(s[i].cost_bps, 0);
            if (has_options(&s[i])) {
                paused++;
                assert_true(s[i].paused_us != 0);
            } else {
                assert_int_equal(s[i].paused_us, 0);
            }
            continue;
        }
        video += s[i].cost_bps;
        assert_int_equal(s[i].paused_us, 0);
        /* A lowest option priced 0 (not measured) is never short, and a shortfall before
         * it counts no more. */
        if (s[i].rate_bps[0][0] == 0) {
            assert_int_equal(s[i].short_us, 0);
            continue;
        }
        if (s[i].settling)
            assert_int_equal(s[i].short_us, 0);
        if (s[i].short_us != 0) {
            assert_true(s[i].short_us <= now_us);
            assert_true(now_us - s[i].short_us < CQ_ALLOC_PAUSE_AFTER_US);
        }
        if (s[i].short_us != 0 || s[i].settling)
            over += s[i].rate_bps[0][0];
    }
    assert_int_equal(out->audio_bps, audio);
    assert_int_equal(out->video_bps, video);
    assert_int_equal(out->paused, paused);
    uint64_t room = budget > audio ? budget - audio : 0;
    assert_true(video <= room + over);
}

/* A run on a budget that has held steady: the steady budget is the budget. */
static void run(uint32_t budget, cq_alloc_stream_t *s, size_t n, uint64_t now_us,
                cq_alloc_result_t *out) {
    cq_alloc_run(budget, budget, s, n, now_us, out);
    check_result(budget, s, n, now_us, out);
}

static void run_steady(uint32_t budget, uint32_t steady, cq_alloc_stream_t *s, size_t n,
                       uint64_t now_us, cq_alloc_result_t *out) {
    cq_alloc_run(budget, steady, s, n, now_us, out);
    check_result(budget, s, n, now_us, out);
}

/*
 * A shortfall that lasts: the same budget CQ_ALLOC_PAUSE_AFTER_US before now_us, and at
 * now_us. A stream whose lowest option does not fit is kept at it, over the budget, by the
 * first run and paused by the second: the first pauses none that was not paused already,
 * and every stream the second pauses was kept so by the first, its clock started there.
 */
static void run_lasting(uint32_t budget, cq_alloc_stream_t *s, size_t n, uint64_t now_us,
                        cq_alloc_result_t *out) {
    const uint64_t began = now_us - CQ_ALLOC_PAUSE_AFTER_US;
    cq_alloc_stream_t before[8], first[8];
    assert_true(n <= sizeof first / sizeof first[0]);
    memcpy(before, s, n * sizeof *s);
    run(budget, s, n, began, out);
    memcpy(first, s, n * sizeof *s);
    run(budget, s, n, now_us, out);
    for (size_t i = 0; i < n; i++) {
        if (before[i].paused_us != 0)
            continue;
        assert_int_equal(first[i].paused_us, 0);
        if (s[i].paused_us == 0)
            continue;
        assert_int_equal(s[i].paused_us, now_us);
        assert_int_equal(first[i].choice.spatial, 0);
        assert_int_equal(first[i].choice.temporal, 0);
        assert_int_equal(first[i].short_us, began);
    }
}

static void assert_choice(const cq_alloc_stream_t *s, int spatial, unsigned temporal) {
    assert_int_equal(s->choice.spatial, spatial);
    if (spatial >= 0)
        assert_int_equal(s->choice.temporal, temporal);
}

static void assert_probe(const cq_alloc_result_t *out, uint32_t expected) {
    assert_in_range(out->probe_bps, expected - 1, expected);
}

/* Audio is taken off the top, whatever it costs: with less budget than sound every video is
 * paused (once that has lasted CQ_ALLOC_PAUSE_AFTER_US), and the audio is still reported
 * whole. */
static void test_alloc_run_audio_off_the_top(void **state) {
    (void)state;
    cq_alloc_stream_t s[3];
    cq_alloc_result_t out = {0};

    /* The shortfall's first run keeps every stream at its lowest, over the budget. */
    const uint64_t began = T0 - CQ_ALLOC_PAUSE_AFTER_US;
    streams_std(s, 3, 32000); /* audio 3 * 32000 = 96000 */
    run(60000, s, 3, began, &out);
    assert_int_equal(out.audio_bps, 96000);
    assert_int_equal(out.video_bps, 300000);
    assert_int_equal(out.paused, 0);
    for (int i = 0; i < 3; i++) {
        assert_choice(&s[i], 0, 0);
        assert_int_equal(s[i].short_us, began);
        assert_int_equal(s[i].paused_us, 0);
    }
    /* CQ_ALLOC_PAUSE_AFTER_US later, all paused. */
    run(60000, s, 3, T0, &out);
    assert_int_equal(out.audio_bps, 96000);
    assert_int_equal(out.video_bps, 0);
    assert_int_equal(out.paused, 3);
    for (int i = 0; i < 3; i++) {
        assert_choice(&s[i], NO_VIDEO, 0);
        assert_int_equal(s[i].paused_us, T0);
    }
    /* The first paused stream wants its resume: 96000 spent + 1.3 * 100000. */
    assert_probe(&out, 226000);

    /* No budget at all: the same. */
    streams_std(s, 3, 32000);
    run_lasting(0, s, 3, T0, &out);
    assert_int_equal(out.audio_bps, 96000);
    assert_int_equal(out.paused, 3);

    /* Exactly the audio: nothing left for video. */
    streams_std(s, 3, 32000);
    run_lasting(96000, s, 3, T0, &out);
    assert_int_equal(out.paused, 3);

    /* One bit/s short of one lowest option after audio: still all paused. */
    streams_std(s, 3, 32000);
    run_lasting(96000 + 99999, s, 3, T0, &out);
    assert_int_equal(out.paused, 3);

    /* Exactly one lowest option (a first lowest option needs no headroom): the first stream
     * gets (0,0), the other two none. Its step to (0,1) is what the probe asks for:
     * 196000 spent + 150000 * 1.15 - 100000 = 268500. */
    streams_std(s, 3, 32000);
    run_lasting(96000 + 100000, s, 3, T0, &out);
    assert_choice(&s[0], 0, 0);
    assert_int_equal(s[0].cost_bps, 100000);
    assert_choice(&s[1], NO_VIDEO, 0);
    assert_choice(&s[2], NO_VIDEO, 0);
    assert_int_equal(out.video_bps, 100000);
    assert_int_equal(out.paused, 2);
    assert_probe(&out, 268500);
}

/* A generous budget gives each stream its top option within its own limits and the layers it
 * has; a stream the subscriber wants no video of, or one without video, is not paused. */
static void test_alloc_run_generous_budget_tops_within_limits(void **state) {
    (void)state;
    cq_alloc_stream_t s[8];
    cq_alloc_result_t out = {0};
    streams_std(s, 8, 20000);
    /* s[0]: everything open. */
    s[1].layers = 2; /* publishes two layers only */
    s[2].max_spatial = 1;
    s[2].max_temporal = 1;
    s[3].max_spatial = 0;
    s[3].max_temporal = 0;
    s[4].max_spatial = -1; /* wants no video of this one */
    s[5].layers = 0;       /* audio only publisher */
    s[6].max_temporal = 0; /* options (0,0), (1,0), (2,0) */
    s[7].max_spatial = 7;  /* limits above what exists are clamped */
    s[7].max_temporal = 9;
    s[7].layers = 5; /* as is a publisher claiming more layers than the relay keeps */

    run(PLENTY, s, 8, T0, &out);
    assert_choice(&s[0], 2, 2);
    assert_int_equal(s[0].cost_bps, 1500000);
    assert_choice(&s[1], 1, 2);
    assert_int_equal(s[1].cost_bps, 500000);
    assert_choice(&s[2], 1, 1);
    assert_int_equal(s[2].cost_bps, 400000);
    assert_choice(&s[3], 0, 0);
    assert_int_equal(s[3].cost_bps, 100000);
    assert_choice(&s[4], NO_VIDEO, 0);
    assert_int_equal(s[4].paused_us, 0);
    assert_choice(&s[5], NO_VIDEO, 0);
    assert_int_equal(s[5].paused_us, 0);
    assert_choice(&s[6], 2, 0);
    assert_int_equal(s[6].cost_bps, 900000);
    assert_choice(&s[7], 2, 2);
    assert_int_equal(s[7].cost_bps, 1500000);
    assert_int_equal(out.audio_bps, 8 * 20000);
    /* 1500000 + 500000 + 400000 + 100000 + 900000 + 1500000 */
    assert_int_equal(out.video_bps, 4900000);
    assert_int_equal(out.paused, 0);
    assert_int_equal(out.probe_bps, 0); /* everything at its top */
}

/* When only lowest options fit, every stream gets (0,0); with less, the priority stream is
 * served first, even when the caller lists it last, and the others are the ones paused once
 * the shortfall has lasted (run_lasting). */
static void test_alloc_run_lowest_options_priority_first(void **state) {
    (void)state;
    cq_alloc_stream_t s[3];
    cq_alloc_result_t out = {0};

    /* 3 * 100000 exactly: all at (0,0), nothing left to climb. The probe is the priority
     * stream's (it is served first): 300000 + 150000 * 1.15 - 100000 = 372500. */
    streams_std(s, 3, 0);
    s[2].priority = true;
    run(300000, s, 3, T0, &out);
    for (int i = 0; i < 3; i++)
        assert_choice(&s[i], 0, 0);
    assert_int_equal(out.video_bps, 300000);
    assert_int_equal(out.paused, 0);
    assert_probe(&out, 372500);

    /* One short: served s[2], s[0], s[1]: the last one goes. The 99999 it leaves lets
     * the priority stream climb to (0,1) (172500 <= 99999 + 100000), leaving 49999, which
     * s[0] cannot climb with (172500 > 149999). */
    streams_std(s, 3, 0);
    s[2].priority = true;
    run_lasting(299999, s, 3, T0, &out);
    assert_choice(&s[2], 0, 1);
    assert_choice(&s[0], 0, 0);
    assert_choice(&s[1], NO_VIDEO, 0);
    assert_int_equal(out.paused, 1);

    /* Room for one: the priority stream's. */
    streams_std(s, 3, 0);
    s[2].priority = true;
    run_lasting(100000, s, 3, T0, &out);
    assert_choice(&s[2], 0, 0);
    assert_choice(&s[0], NO_VIDEO, 0);
    assert_choice(&s[1], NO_VIDEO, 0);
    assert_int_equal(out.paused, 2);
    /* The first blocked stream in service order is s[2], which cannot climb:
     * 100000 + 150000 * 1.15 - 100000 = 172500. */
    assert_probe(&out, 172500);

    /* Room for none. */
    streams_std(s, 3, 0);
    s[2].priority = true;
    run_lasting(99999, s, 3, T0, &out);
    assert_int_equal(out.paused, 3);
}

/*
 * The priority stream climbs as far as it fits before the others take a step beyond layer
 * 0's floor (CQ_ALLOC_FLOOR_TEMPORAL). Two streams, 725000: after both lowest options 525000
 * is left. The floor: s[1] (0,1) 172500 <= 625000 leaves 475000, s[0] (0,1) 172500 <= 575000
 * leaves 425000. Then s[1]: (0,2) 230000 <= 575000 leaves 375000, (1,2) 575000 <= 575000
 * leaves 75000, and it stops before (2,2) 1725000. Then s[0]: (0,2) 230000 > 225000.
 */
static void test_alloc_run_priority_climbs_first(void **state) {
    (void)state;
    cq_alloc_stream_t s[2];
    cq_alloc_result_t out = {0};
    streams_std(s, 2, 0);
    s[1].priority = true;
    run(725000, s, 2, T0, &out);
    assert_choice(&s[1], 1, 2);
    assert_choice(&s[0], 0, 1);
    assert_int_equal(out.video_bps, 650000);
    /* The probe is the priority stream's next step: 650000 + 1500000 * 1.15 - 500000. */
    assert_probe(&out, 1875000);

    /*
     * The same without priority: the two climb in turns, and neither reaches layer 1.
     * Left after lowest: 500000.
     * s0 (0,1): 172500 <= 600000, left 450000; s1 (0,1): 172500 <= 550000, left 400000;
     * s0 (0,2): 230000 <= 550000, left 350000; s1 (0,2): 230000 <= 500000, left 300000;
     * s0 (1,2): 575000 > 500000; s1 (1,2): 575000 > 500000. Nobody moves: done.
     */
    streams_std(s, 2, 0);
    run(700000, s, 2, T0, &out);
    assert_choice(&s[0], 0, 2);
    assert_choice(&s[1], 0, 2);
    assert_int_equal(out.video_bps, 400000);
    /* s[0] is served first: 400000 + 500000 * 1.15 - 200000 = 775000. */
    assert_probe(&out, 775000);
}

/*
 * Every picture moves before any is larger: layer 0 up to CQ_ALLOC_FLOOR_TEMPORAL for all,
 * then the priority stream's larger picture. Two publishers whose layer 0 costs 10000,
 * 20000, 25000 up its temporal layers and layer 1 60000; 79000 for both. Before the floor,
 * the priority stream took (1,2) (69000 <= 79000 - 10000 - 25000 + 25000) and left the
 * other at its base layer alone (its next step, 23000, over the 9000 left and its own
 * 10000): a quarter of the frame rate. With it: both (0,1) (23000 <= 69000, then <= 59000),
 * both (0,2) (28750 <= 59000, then <= 54000), and (1,2) fits neither (69000 > 59000, >
 * 54000). With room for one floor step only (40000: 20000 left after both lowest), the
 * priority stream's comes first (23000 <= 30000), the other's does not fit what is left
 * (23000 > 20000), and the priority stream climbs on with it ((0,2): 28750 <= 30000).
 */
static void test_alloc_run_every_picture_moves_first(void **state) {
    (void)state;
    static const uint32_t thin[CQ_ALLOC_SPATIAL][CQ_ALLOC_TEMPORAL] = {
        {10000, 20000, 25000}, {60000, 60000, 60000}, {0, 0, 0}};
    cq_alloc_stream_t s[2];
    cq_alloc_result_t out = {0};
    for (int pass = 0; pass < 2; pass++) {
        streams_std(s, 2, 0);
        for (int i = 0; i < 2; i++) {
            memcpy(s[i].rate_bps, thin, sizeof thin);
            s[i].layers = 2;
        }
        s[1].priority = true;
        if (pass == 0) {
            run(79000, s, 2, T0, &out);
            assert_choice(&s[1], 0, 2);
            assert_choice(&s[0], 0, 2);
            assert_int_equal(out.video_bps, 50000);
        } else {
            run(40000, s, 2, T0, &out);
            assert_choice(&s[1], 0, 2);
            assert_choice(&s[0], 0, 0);
            assert_int_equal(out.video_bps, 35000);
        }
    }
}

/* A layer marked slow (CQ_ALLOC_MIN_FPS) is not offered, nor any above it, whatever the
 * budget; a stream on it steps down to the best option under it, and climbs back once the
 * mark is gone. With every layer marked but 0 the choice is layer 0's top, as with a
 * subscriber limited to it. */
static void test_alloc_run_slow_layer_not_offered(void **state) {
    (void)state;
    cq_alloc_stream_t s[3];
    cq_alloc_result_t out = {0};
    streams_std(s, 3, 0);
    s[0].slow = 1u << 1; /* layer 1, and so 2 */
    s[1].slow = 1u << 2;
    s[2].slow = 1u << 0; /* layer 0 is always offered */
    run(PLENTY, s, 3, T0, &out);
    assert_choice(&s[0], 0, 2);
    assert_choice(&s[1], 1, 2);
    assert_choice(&s[2], 2, 2);
    assert_int_equal(out.probe_bps, 0); /* nothing above is wanted */
    /* On the top layer when it is found slow: down at once. */
    s[2].slow = 1u << 2;
    run(PLENTY, s, 3, T0 + 10 * S, &out);
    assert_choice(&s[2], 1, 2);
    /* The marks gone: back up, one larger picture at a time. */
    s[0].slow = 0;
    s[2].slow = 0;
    run(PLENTY, s, 3, T0 + 20 * S, &out);
    run(PLENTY, s, 3, T0 + 22 * S, &out);
    assert_choice(&s[0], 2, 2);
    assert_choice(&s[2], 2, 2);
}

/*
 * Equal streams climb together: with room for each to take one step but not for one to take
 * two, both end one step up. 350000 for two: 150000 left after lowest options. s0 (0,1) needs
 * 172500 <= 250000, leaves 100000; s1 (0,1) 172500 <= 200000, leaves 50000; s0 (0,2) needs
 * 230000 > 200000. A stream served greedily would have taken (0,2) (230000 <= 250000) and
 * left the other at (0,0).
 */
static void test_alloc_run_others_climb_together(void **state) {
    (void)state;
    cq_alloc_stream_t s[3];
    cq_alloc_result_t out = {0};
    streams_std(s, 2, 0);
    run(350000, s, 2, T0, &out);
    assert_choice(&s[0], 0, 1);
    assert_choice(&s[1], 0, 1);
    assert_int_equal(out.video_bps, 300000);
    /* 300000 + 200000 * 1.15 - 150000 = 380000. */
    assert_probe(&out, 380000);

    /* Three streams and a priority one at its own top ((0,0): max 0, 0). 600000: 300000 left
     * after lowest. Round 1: s0 leaves 250000, s1 200000; round 2: s0 (0,2) 230000 <= 350000
     * leaves 150000, s1 (0,2) 230000 <= 300000 leaves 100000; round 3: s0 (1,2) 575000 >
     * 300000, s1 the same. Both at (0,2). */
    streams_std(s, 3, 0);
    s[2].priority = true;
    s[2].max_spatial = 0;
    s[2].max_temporal = 0;
    run(600000, s, 3, T0, &out);
    assert_choice(&s[2], 0, 0);
    assert_choice(&s[0], 0, 2);
    assert_choice(&s[1], 0, 2);
    assert_int_equal(out.video_bps, 500000);
    /* The priority stream is at its top and wants nothing; s[0] is the first blocked:
     * 500000 + 500000 * 1.15 - 200000 = 875000. */
    assert_probe(&out, 875000);

    /* Together across the spatial step too, in the order they are served. Three streams,
     * 1500000: 1200000 left after lowest. Rounds 1 and 2 take all three to (0,2), leaving
     * 900000; round 3: s0 (1,2) 575000 <= 1100000 leaves 600000, s1 575000 <= 800000 leaves
     * 300000, s2 575000 > 500000; round 4: (2,2) 1725000 fits none. */
    streams_std(s, 3, 0);
    run(1500000, s, 3, T0, &out);
    assert_choice(&s[0], 1, 2);
    assert_choice(&s[1], 1, 2);
    assert_choice(&s[2], 0, 2);
    assert_int_equal(out.video_bps, 1200000);
    /* s[0] is the first blocked: 1200000 + 1500000 * 1.15 - 500000 = 2425000. */
    assert_probe(&out, 2425000);
}

/* Frame rate goes before resolution: with a budget shrinking from the top, the choices pass
 * every option in order, and a layer above 0 only ever at the top temporal layer: (1,1) is
 * never offered, so between (1,2) and (0,2) there is nothing. The last is the pause, once
 * (0,0) has not fit for CQ_ALLOC_PAUSE_AFTER_US. */
static void test_alloc_run_frame_rate_before_resolution(void **state) {
    (void)state;
    static const cq_alloc_choice_t expected[] = {
        {2, 2}, {1, 2}, {0, 2}, {0, 1}, {0, 0}, {-1, 0},
    };
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    run(PLENTY, &s, 1, T0, &out);
    size_t seen = 0;
    uint64_t now = T0 + S;
    /* (0,0) stops fitting at 95000; a run every 0.1 s 5000 lower, it is kept over the budget
     * until the run that comes CQ_ALLOC_PAUSE_AFTER_US later, 45000. */
    const uint32_t last = 95000 - 5000 * (uint32_t)(CQ_ALLOC_PAUSE_AFTER_US / (S / 10));
    for (uint32_t budget = 1500000; budget >= last; budget -= 5000, now += S / 10) {
        run(budget, &s, 1, now, &out);
        if (s.choice.spatial > 0)
            assert_int_equal(s.choice.temporal, 2);
        if (s.cost_bps > budget) {
            assert_choice(&s, 0, 0);
            assert_true(s.short_us != 0);
        }
        if (seen == 0 || s.choice.spatial != expected[seen - 1].spatial ||
            (s.choice.spatial >= 0 && s.choice.temporal != expected[seen - 1].temporal)) {
            assert_true(seen < sizeof expected / sizeof expected[0]);
            assert_choice(&s, expected[seen].spatial, expected[seen].temporal);
            seen++;
        }
    }
    assert_int_equal(seen, sizeof expected / sizeof expected[0]);
    assert_int_equal(s.paused_us, now - S / 10); /* the loop's last run */

    /* Going up with room for (1,1) (460000 with headroom) but not for (1,2): the stream
     * stays at (0,2), the full frame rate, and asks for (1,2): 200000 + 575000 - 200000. */
    stream_std(&s, 0);
    run(470000, &s, 1, T0, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.cost_bps, 200000);
    assert_probe(&out, 575000);
    run(574999, &s, 1, T0 + S, &out);
    assert_choice(&s, 0, 2);
    assert_probe(&out, 575000);
    /* (1,2) with its headroom: it moves. */
    run(575001, &s, 1, T0 + 2 * S, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(s.cost_bps, 500000);

    /* The full frame rate is the subscriber's top: with max_temporal 1 the options are
     * (0,0) (0,1) (1,1) (2,1), and the same 470000 takes (1,1) (460000 with headroom). */
    stream_std(&s, 0);
    s.max_temporal = 1;
    run(470000, &s, 1, T0, &out);
    assert_choice(&s, 1, 1);
    assert_int_equal(s.cost_bps, 400000);
    /* Its next step is (2,1): 400000 + 1200000 * 1.15 - 400000 = 1380000. */
    assert_probe(&out, 1380000);

    /* Coming down keeps an option down to its exact price (no headroom from above):
     * (1,2) at 500000; one bit/s below, (0,2), though (1,1) at 400000 would fit. */
    stream_std(&s, 0);
    s.max_spatial = 1;
    run(PLENTY, &s, 1, T0, &out);
    assert_choice(&s, 1, 2);
    run(500000, &s, 1, T0 + S, &out);
    assert_choice(&s, 1, 2);
    run(499999, &s, 1, T0 + 2 * S, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.cost_bps, 200000);
    run(199999, &s, 1, T0 + 3 * S, &out);
    assert_choice(&s, 0, 1);
}

/* A step up needs 1.15 times the option's price; keeping an option from above needs only its
 * price. */
static void test_alloc_run_up_headroom(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    /* Exactly (0,1)'s price: (0,0) fits, (0,1) needs 150000 * 1.15 = 172500. */
    run(150000, &s, 1, T0, &out);
    assert_choice(&s, 0, 0);
    assert_probe(&out, 172500); /* 100000 + 172500 - 100000 */
    run(172499, &s, 1, T0 + S, &out);
    assert_choice(&s, 0, 0);
    run(172501, &s, 1, T0 + 2 * S, &out);
    assert_choice(&s, 0, 1);
    assert_int_equal(s.cost_bps, 150000);
    /* From above, its exact price keeps it. */
    run(150000, &s, 1, T0 + 3 * S, &out);
    assert_choice(&s, 0, 1);
    assert_int_equal(s.down_us, 0); /* no step down happened */
    run(149999, &s, 1, T0 + 4 * S, &out);
    assert_choice(&s, 0, 0);
    assert_int_equal(s.down_us, T0 + 4 * S);

    /* The same across a spatial step: at (0,2), (1,2) needs 500000 * 1.15 = 575000. */
    stream_std(&s, 0);
    run(574999, &s, 1, T0, &out);
    assert_choice(&s, 0, 2);
    assert_probe(&out, 575000); /* 200000 + 575000 - 200000 */
    run(575001, &s, 1, T0 + S, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(s.cost_bps, 500000);
    /* From above, its exact price keeps it. */
    run(500000, &s, 1, T0 + 2 * S, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(s.down_us, 0);
}

/* What the estimator is asked to probe for: everything at its top with a step's headroom,
 * or the blocked step's own need where that is more. */
static void test_alloc_demand_bps(void **state) {
    (void)state;
    cq_alloc_result_t r = {.want_bps = 200000, .probe_bps = 150000};
    assert_int_equal(cq_alloc_demand_bps(&r), (uint32_t)(200000 * CQ_ALLOC_UP_HEADROOM));
    r.probe_bps = 260000;
    assert_int_equal(cq_alloc_demand_bps(&r), 260000);
    r = (cq_alloc_result_t){.want_bps = UINT32_MAX};
    assert_int_equal(cq_alloc_demand_bps(&r), UINT32_MAX);
}

/* The pace: a quarter over the target, unless the link was seen to carry less; never
 * under the target. */
static void test_alloc_pace_bps(void **state) {
    (void)state;
    assert_int_equal(cq_alloc_pace_bps(400000, 0), 500000);      /* nothing known */
    assert_int_equal(cq_alloc_pace_bps(400000, 900000), 500000); /* the link has room */
    assert_int_equal(cq_alloc_pace_bps(400000, 470000), 470000); /* what it carried */
    /* radio-3: a target of 572 kbit/s on a link seen full at 464 */
    assert_int_equal(cq_alloc_pace_bps(572000, 464000), 572000);
    assert_int_equal(cq_alloc_pace_bps(0, 464000), 0);
}

/* A larger picture must fit the steady budget (the least of the last seconds) as well as
 * the budget now; frame rate steps and keeping what it has need the budget now only. */
static void test_alloc_run_larger_picture_needs_steady_budget(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    /* Frame rate climbs on the budget now, whatever the steady one. */
    run_steady(PLENTY, 0, &s, 1, T0, &out);
    assert_choice(&s, 0, 2);
    /* (1,2) needs 575000 of steady budget too. */
    run_steady(PLENTY, 574999, &s, 1, T0 + S, &out);
    assert_choice(&s, 0, 2);
    run_steady(PLENTY, 575001, &s, 1, T0 + 2 * S, &out);
    assert_choice(&s, 1, 2);
    /* (2,2) needs 1725000 of it: one step at a time, each on its own. */
    run_steady(PLENTY, 1724999, &s, 1, T0 + 3 * S, &out);
    assert_choice(&s, 1, 2);
    /* A steady budget under what it has does not take it down; the budget now does. */
    run_steady(500000, 0, &s, 1, T0 + 4 * S, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(s.down_us, 0);
    run_steady(499999, 0, &s, 1, T0 + 5 * S, &out);
    assert_choice(&s, 0, 2);
    /* Sound comes off the steady budget first, as off the budget now. */
    stream_std(&s, 50000);
    run_steady(PLENTY, 50000 + 575001, &s, 1, T0, &out);
    assert_choice(&s, 1, 2);
    stream_std(&s, 50000);
    run_steady(PLENTY, 50000 + 574999, &s, 1, T0, &out);
    assert_choice(&s, 0, 2);
    /* Two streams: what the first takes is not there for the second's larger picture. */
    cq_alloc_stream_t two[2];
    streams_std(two, 2, 0);
    run_steady(PLENTY, 575001 + 200000, two, 2, T0, &out);
    assert_choice(&two[0], 1, 2);
    assert_choice(&two[1], 0, 2);
}

/* The steady budget is the least of the last CQ_ALLOC_STEADY_SECONDS while the budget
 * creeps or saws; a jump of more than a quarter between two runs (a probe's measure)
 * starts it again. */
static void test_alloc_steady_budget(void **state) {
    (void)state;
    cq_alloc_steady_t st;
    cq_alloc_steady_init(&st);
    assert_int_equal(cq_alloc_steady_update(&st, 100000, T0), 100000);
    /* Creeping up 10 % a run: the trough stays (2 s of it here). */
    uint32_t b = 100000;
    for (unsigned k = 1; k <= 20; k++) {
        b = b * 11 / 10;
        uint32_t steady = cq_alloc_steady_update(&st, b, T0 + k * S / 10);
        assert_int_equal(steady, 100000);
    }
    /* Sawing under it: the least tooth. */
    assert_int_equal(cq_alloc_steady_update(&st, 90000, T0 + 2 * S + S / 10), 90000);
    assert_int_equal(cq_alloc_steady_update(&st, 95000, T0 + 2 * S + S / 5), 90000);
    /* Still there half a second before the window has passed it ... */
    const uint64_t past = T0 + (2 + CQ_ALLOC_STEADY_SECONDS) * S;
    assert_int_equal(cq_alloc_steady_update(&st, 95000, past - S / 2), 90000);
    /* ... and once every second of it is past, the window holds only what came after. */
    assert_int_equal(cq_alloc_steady_update(&st, 95000, past), 95000);
    /* A jump of more than a quarter: that is the steady budget at once. */
    assert_int_equal(cq_alloc_steady_update(&st, 118750, past + S / 10), 95000);
    assert_int_equal(cq_alloc_steady_update(&st, 300000, past + S / 5), 300000);
    assert_int_equal(cq_alloc_steady_update(&st, 280000, past + S / 2), 280000);
}

/* After a step down no step up for 2 s, however much room; each step down restarts the 2 s;
 * the stream still keeps (and may drop below) what it has meanwhile. */
static void test_alloc_run_no_step_up_after_step_down(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    run(PLENTY, &s, 1, T0, &out);
    assert_choice(&s, 2, 2);

    /* (Each top picture lasted: a larger picture waits 2 s too, test below.) */
    const uint64_t down = T0 + CQ_ALLOC_LASTED_US;
    run(600000, &s, 1, down, &out); /* (1,2) 500000 fits, (2,2) 1500000 does not */
    assert_choice(&s, 1, 2);
    assert_int_equal(s.down_us, down);

    run(PLENTY, &s, 1, down + S, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(out.probe_bps, 0); /* held: no probe */
    run(PLENTY, &s, 1, down + 2 * S - 1, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(out.probe_bps, 0);
    run(PLENTY, &s, 1, down + 2 * S, &out);
    assert_choice(&s, 2, 2);

    /* Held at layer 0 after a fall from the top, the climb back also waits, and then goes
     * all the way up in one run. */
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    run(PLENTY, &s, 1, T0, &out);
    run(450000, &s, 1, down, &out); /* (1,2) 500000 does not fit, (0,2) 200000 does */
    assert_choice(&s, 0, 2);
    assert_int_equal(s.down_us, down);
    run(PLENTY, &s, 1, down + 2 * S - 1, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(out.probe_bps, 0);
    run(PLENTY, &s, 1, down + 2 * S, &out);
    assert_choice(&s, 2, 2);

    /* Two steps down: the hold runs from the second. */
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    run(PLENTY, &s, 1, T0, &out);
    run(600000, &s, 1, down, &out);
    assert_choice(&s, 1, 2);
    /* Held, but exactly (1,2)'s price keeps (1,2). */
    run(500000, &s, 1, down + S / 2, &out);
    assert_choice(&s, 1, 2);
    const uint64_t down2 = down + S;
    run(250000, &s, 1, down2, &out); /* (0,2) 200000 fits, (1,2) 500000 does not */
    assert_choice(&s, 0, 2);
    assert_int_equal(s.down_us, down2);
    run(PLENTY, &s, 1, down + 2 * S + S / 2, &out); /* 2.5 s after the first, 1.5 s after */
    assert_choice(&s, 0, 2);
    run(PLENTY, &s, 1, down2 + 2 * S, &out);
    assert_choice(&s, 2, 2);
}

/* A larger picture that steps down to a smaller one within CQ_ALLOC_LASTED_US doubles the
 * wait for the next larger one (2, 4, 8, 16 s at most), counted from that step down; one
 * that lasted brings it back to 2 s. Steps within the smaller picture's own layer hold
 * only their own 2 s. */
static void test_alloc_run_larger_picture_backs_off(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    run(PLENTY, &s, 1, T0, &out);
    assert_choice(&s, 2, 2);
    assert_int_equal(s.larger_us, T0);

    uint64_t now = T0 + S / 10;
    const uint32_t waits[] = {4 * S, 8 * S, 16 * S, 16 * S};
    for (unsigned k = 0; k < sizeof waits / sizeof waits[0]; k++) {
        run(450000, &s, 1, now, &out); /* (1,2) 500000 does not fit, (0,2) 200000 does */
        assert_choice(&s, 0, 2);
        assert_int_equal(s.larger_hold_us, waits[k]);
        const uint64_t down = now;
        /* A step within layer 0 holds its own climb 2 s, not the larger picture's. */
        run(100000, &s, 1, down + S / 2, &out); /* (0,1) 150000 does not fit either */
        assert_choice(&s, 0, 0);
        run(PLENTY, &s, 1, down + S / 2 + CQ_ALLOC_UP_HOLD_US, &out);
        assert_choice(&s, 0, 2);
        run(PLENTY, &s, 1, down + waits[k] - 1, &out);
        assert_choice(&s, 0, 2);
        assert_int_equal(out.probe_bps, 0); /* held: no probe for it */
        assert_int_equal(s.larger_hold_us, waits[k]);
        now = down + waits[k];
        run(PLENTY, &s, 1, now, &out);
        assert_choice(&s, 2, 2);
        assert_int_equal(s.larger_us, now);
        now += CQ_ALLOC_LASTED_US - 1; /* it did not last */
    }
    /* One that lasted: back to the base wait. */
    now += 1;
    run(450000, &s, 1, now, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.larger_hold_us, CQ_ALLOC_UP_HOLD_US);
    run(PLENTY, &s, 1, now + CQ_ALLOC_UP_HOLD_US, &out);
    assert_choice(&s, 2, 2);

    /* A descent in two steps judges the larger picture once: 2 -> 1 -> 0 waits 4 s. */
    stream_std(&s, 0);
    run(PLENTY, &s, 1, T0, &out);
    run(600000, &s, 1, T0 + S, &out); /* (1,2) 500000 fits, (2,2) does not */
    assert_choice(&s, 1, 2);
    assert_int_equal(s.larger_hold_us, 4 * S);
    run(250000, &s, 1, T0 + S + S / 10, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.larger_hold_us, 4 * S);
    run(PLENTY, &s, 1, T0 + S + S / 10 + 4 * S - 1, &out);
    assert_choice(&s, 0, 2);
    run(PLENTY, &s, 1, T0 + S + S / 10 + 4 * S, &out);
    assert_choice(&s, 2, 2);

    /* A pause brings the wait back to the base (a collapse is not the estimate's saw),
     * and a resume straight to a larger picture is one: stepping down soon after it
     * doubles the wait again. */
    stream_std(&s, 0);
    run(PLENTY, &s, 1, T0, &out);
    const uint64_t t = T0 + S / 10;
    run(450000, &s, 1, t, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.larger_hold_us, 4 * S);
    run(50000, &s, 1, t + S / 10, &out); /* nothing fits: short, kept */
    run(50000, &s, 1, t + S / 10 + CQ_ALLOC_PAUSE_AFTER_US, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.larger_hold_us, CQ_ALLOC_UP_HOLD_US);
    const uint64_t resume = t + S / 10 + CQ_ALLOC_PAUSE_AFTER_US + CQ_ALLOC_PAUSE_MIN_US;
    run(PLENTY, &s, 1, resume, &out);
    assert_choice(&s, 2, 2);
    assert_int_equal(s.larger_us, resume);
    run(450000, &s, 1, resume + S, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.larger_hold_us, 4 * S);
}

/* Once their choices are in force, one stream at a time steps to a larger picture, and the
 * next not before CQ_ALLOC_LARGER_GAP_US: each such step is a keyframe, and two at once
 * stood 116-126 ms in a 512 kbit/s link's queue ahead of its sound. The stream that steps
 * may climb on in the same run (one keyframe, of the layer it ends on). */
static void test_alloc_run_one_larger_picture_at_a_time(void **state) {
    (void)state;
    cq_alloc_stream_t s[2];
    cq_alloc_result_t out = {0};
    streams_std(s, 2, 0);
    run(500000, s, 2, T0, &out); /* (0,2) for both; (1,2) needs 575000 */
    assert_choice(&s[0], 0, 2);
    assert_choice(&s[1], 0, 2);
    assert_int_equal(out.larger_us, 0);
    /* Room for both at (1,2): 1200000 - 400000 leaves 800000, each step 300000 more. */
    run(1200000, s, 2, T0 + S, &out);
    assert_choice(&s[0], 1, 2);
    assert_choice(&s[1], 0, 2);
    assert_int_equal(out.larger_us, T0 + S);
    run(1200000, s, 2, T0 + S + S / 2, &out);
    assert_choice(&s[1], 0, 2);
    run(1200000, s, 2, T0 + 2 * S - 1, &out);
    assert_choice(&s[1], 0, 2);
    run(1200000, s, 2, T0 + 2 * S, &out);
    assert_choice(&s[0], 1, 2);
    assert_choice(&s[1], 1, 2);
    assert_int_equal(out.larger_us, T0 + 2 * S);

    /* All the way up for the first in one run; the second a gap later. */
    streams_std(s, 2, 0);
    out = (cq_alloc_result_t){0};
    run(500000, s, 2, T0, &out);
    run(PLENTY, s, 2, T0 + S, &out);
    assert_choice(&s[0], 2, 2);
    assert_choice(&s[1], 0, 2);
    run(PLENTY, s, 2, T0 + 2 * S, &out);
    assert_choice(&s[1], 2, 2);

    /* A first price places both where they fit: the caller forwarded their top until then,
     * so nothing is larger than what they had. */
    streams_std(s, 2, 0);
    out = (cq_alloc_result_t){0};
    run(PLENTY, s, 2, T0, &out);
    assert_choice(&s[0], 2, 2);
    assert_choice(&s[1], 2, 2);
    assert_int_equal(out.larger_us, 0);
}

/* A stream whose lowest option has not fit for CQ_ALLOC_PAUSE_AFTER_US is paused; it resumes
 * no sooner than 3 s later, and only with 1.3 times its lowest price. */
static void test_alloc_run_pause_and_resume(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    const uint64_t began = T0 - CQ_ALLOC_PAUSE_AFTER_US;
    stream_std(&s, 0);
    run(100000, &s, 1, began - S, &out);
    assert_choice(&s, 0, 0);

    /* Short: kept at its lowest, over the budget, until the shortfall has lasted. */
    run(99999, &s, 1, began, &out);
    assert_choice(&s, 0, 0);
    assert_int_equal(s.short_us, began);
    assert_int_equal(out.paused, 0);
    run(99999, &s, 1, T0, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.paused_us, T0);
    assert_int_equal(out.paused, 1);
    assert_probe(&out, 130000); /* 0 spent + 100000 * 1.3 */

    run(PLENTY, &s, 1, T0 + S, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_probe(&out, 130000);
    run(PLENTY, &s, 1, T0 + 3 * S - 1, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.paused_us, T0); /* the pause keeps its start */

    /* After 3 s, 1.3 * 100000 = 130000 is needed: less is not enough. */
    run(129999, &s, 1, T0 + 3 * S, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.paused_us, T0);
    run(100000, &s, 1, T0 + 4 * S, &out); /* the lowest fits, but not with headroom */
    assert_choice(&s, NO_VIDEO, 0);
    run(130000, &s, 1, T0 + 5 * S, &out);
    assert_choice(&s, 0, 0);
    assert_int_equal(s.paused_us, 0);
    assert_int_equal(out.paused, 0);
    assert_int_equal(out.video_bps, 100000);

    /* A resume with plenty climbs straight to the top: the 2 s hold of the pause is over. */
    stream_std(&s, 0);
    run_lasting(50000, &s, 1, T0, &out);
    assert_choice(&s, NO_VIDEO, 0);
    run(PLENTY, &s, 1, T0 + 3 * S, &out);
    assert_choice(&s, 2, 2);

    /* Others' lowest options come first: the second stream resumes only when what the first
     * leaves is 1.3 times its lowest (100000 + 130000). */
    cq_alloc_stream_t two[2];
    streams_std(two, 2, 0);
    run_lasting(150000, two, 2, T0, &out);
    assert_choice(&two[0], 0, 0);
    assert_choice(&two[1], NO_VIDEO, 0);
    /* 229999: s[0] takes its 100000, s[1] needs 130000 of the 129999 left. What s[1]
     * cannot use lets s[0] climb to (0,1) (172500 <= 229999) but not to (0,2) (230000).
     * The probe is s[0]'s, served first: 150000 spent + 230000 - 150000. */
    run(229999, two, 2, T0 + 3 * S, &out);
    assert_choice(&two[0], 0, 1);
    assert_choice(&two[1], NO_VIDEO, 0);
    assert_probe(&out, 230000);
    /* 230000: s[1] resumes, and s[0] is back to (0,0) (its (0,1) needs 150000 of the
     * 100000 left to it): lowest options for all come before any climb. */
    run(230000, two, 2, T0 + 4 * S, &out);
    assert_choice(&two[0], 0, 0);
    assert_choice(&two[1], 0, 0);
    assert_int_equal(two[0].down_us, T0 + 4 * S);
}

/* A kept stream: at its lowest, over the budget, its clock started at short_us. */
static void assert_kept(const cq_alloc_stream_t *s, uint64_t short_us) {
    assert_choice(s, 0, 0);
    assert_int_equal(s->cost_bps, s->rate_bps[0][0]);
    assert_int_equal(s->short_us, short_us);
    assert_int_equal(s->paused_us, 0);
}

/*
 * A dip of the budget shorter than CQ_ALLOC_PAUSE_AFTER_US is not a pause, however deep
 * (below the audio, or to nothing): the stream keeps its lowest option over the budget, and
 * its clock is back to 0 once the lowest fits again. A pause would have frozen its picture
 * for CQ_ALLOC_PAUSE_MIN_US and brought it back at a keyframe; kept, it was never stepped
 * down, so nothing holds its climb once there is room.
 */
static void test_alloc_run_short_dip_is_not_a_pause(void **state) {
    (void)state;
    static const struct {
        uint64_t after_us; /* since the dip began */
        uint32_t budget;
    } dip[] = {
        {0, 110000},      {20000, 60000},  {320000, 0},
        {500000, 119999}, {800000, 10000}, {900000, 100000},
    };
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 20000);
    run(120000, &s, 1, T0, &out); /* exactly the audio and (0,0) */
    assert_choice(&s, 0, 0);
    assert_int_equal(s.short_us, 0);

    const uint64_t began = T0 + S / 10;
    for (size_t k = 0; k < sizeof dip / sizeof dip[0]; k++) {
        run(dip[k].budget, &s, 1, began + dip[k].after_us, &out);
        assert_kept(&s, began);
        assert_int_equal(out.paused, 0);
        assert_int_equal(out.video_bps, 100000);
    }
    run(120000, &s, 1, began + 950000, &out);
    assert_choice(&s, 0, 0);
    assert_int_equal(s.short_us, 0);
    assert_int_equal(s.paused_us, 0);
    assert_int_equal(s.down_us, 0);
    run(PLENTY, &s, 1, began + S, &out);
    assert_choice(&s, 2, 2);
}

/* A stream kept over the budget does not make the ones after it short: whether they fit
 * is judged on what the streams that fit leave. A (160 kbit/s at its lowest) stops
 * fitting half a second after B (100) did; on 150 kbit/s B fits if A goes, so A is the
 * one paused, a second after its own shortfall began, and B's clock stopped when A's
 * started. Judged on what was left after A, B ran out its second first and was paused in
 * A's place, and A after it: no video at all on a budget that carries B. */
static void test_alloc_run_kept_stream_does_not_pause_the_next(void **state) {
    (void)state;
    cq_alloc_stream_t s[2];
    cq_alloc_result_t out = {0};
    streams_std(s, 2, 0);
    s[0].rate_bps[0][0] = 160000;
    s[0].rate_bps[0][1] = 210000;
    s[0].rate_bps[0][2] = 260000;
    run(260000, s, 2, T0 - S, &out);
    assert_choice(&s[0], 0, 0);
    assert_choice(&s[1], 0, 0);
    run(200000, s, 2, T0, &out);
    assert_int_equal(s[0].short_us, 0);
    assert_kept(&s[1], T0);
    run(150000, s, 2, T0 + S / 2, &out);
    assert_kept(&s[0], T0 + S / 2);
    assert_choice(&s[1], 0, 0);
    assert_int_equal(s[1].short_us, 0);
    run(150000, s, 2, T0 + S, &out);
    assert_choice(&s[1], 0, 0);
    assert_int_equal(s[1].paused_us, 0);
    assert_int_equal(out.paused, 0);
    run(150000, s, 2, T0 + 3 * S / 2, &out);
    assert_choice(&s[0], NO_VIDEO, 0);
    assert_int_equal(s[0].paused_us, T0 + 3 * S / 2);
    assert_choice(&s[1], 0, 0);
    assert_int_equal(out.video_bps, 100000);
}

/* A stream the subscriber hid (or whose video stopped arriving) in the middle of a
 * shortfall starts it over when it is back: shown again 5 s later on a budget still
 * short, it is kept for CQ_ALLOC_PAUSE_AFTER_US, not paused at once on the old clock. */
static void test_alloc_run_hidden_stream_forgets_its_shortfall(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 20000);
    run(120000, &s, 1, T0 - S, &out);
    run(60000, &s, 1, T0, &out);
    assert_kept(&s, T0);
    s.max_spatial = -1;
    run(60000, &s, 1, T0 + S / 2, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.short_us, 0);
    s.max_spatial = 2;
    run(60000, &s, 1, T0 + 5 * S, &out);
    assert_kept(&s, T0 + 5 * S);
    assert_int_equal(out.paused, 0);
    run(60000, &s, 1, T0 + 6 * S, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.paused_us, T0 + 6 * S);
}

/*
 * A shortfall that lasts pauses the stream exactly when it has lasted
 * CQ_ALLOC_PAUSE_AFTER_US, and the priority stream is served first: with room for one
 * lowest option, the priority one (listed last) keeps its own within the budget, and the
 * other is the one kept over it and then paused.
 */
static void test_alloc_run_lasting_shortfall_pauses_at_the_mark(void **state) {
    (void)state;
    cq_alloc_stream_t s[2];
    cq_alloc_result_t out = {0};
    streams_std(s, 2, 0);
    s[1].priority = true;
    run(200000, s, 2, T0 - S, &out);
    assert_choice(&s[0], 0, 0);
    assert_choice(&s[1], 0, 0);

    /* 150000: 50000 is left after the priority stream's lowest. */
    const uint64_t ticks[] = {T0, T0 + S / 2, T0 + CQ_ALLOC_PAUSE_AFTER_US - 1};
    for (size_t k = 0; k < sizeof ticks / sizeof ticks[0]; k++) {
        run(150000, s, 2, ticks[k], &out);
        assert_choice(&s[1], 0, 0);
        assert_int_equal(s[1].short_us, 0);
        assert_kept(&s[0], T0);
        assert_int_equal(out.paused, 0);
        assert_int_equal(out.video_bps, 200000);
    }
    run(150000, s, 2, T0 + CQ_ALLOC_PAUSE_AFTER_US, &out);
    assert_choice(&s[0], NO_VIDEO, 0);
    assert_int_equal(s[0].paused_us, T0 + CQ_ALLOC_PAUSE_AFTER_US);
    assert_choice(&s[1], 0, 0);
    assert_int_equal(s[1].paused_us, 0);
    assert_int_equal(out.paused, 1);
    assert_int_equal(out.video_bps, 100000);
}

/*
 * One run where the lowest option fits ends a shortfall: the clock starts again at the next
 * one, and the pause comes CQ_ALLOC_PAUSE_AFTER_US after that, not after the first. A
 * stream whose budget saws around its lowest option is not paused by the saw.
 */
static void test_alloc_run_interrupted_shortfall_restarts_the_clock(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    run(100000, &s, 1, T0 - S, &out);
    run(99999, &s, 1, T0, &out);
    assert_kept(&s, T0);
    run(50000, &s, 1, T0 + 600000, &out);
    assert_kept(&s, T0);
    run(100000, &s, 1, T0 + 700000, &out); /* fits */
    assert_choice(&s, 0, 0);
    assert_int_equal(s.short_us, 0);

    const uint64_t again = T0 + 800000;
    run(99999, &s, 1, again, &out);
    assert_kept(&s, again);
    /* The first shortfall's mark: a clock that had not restarted would pause here. */
    run(99999, &s, 1, T0 + CQ_ALLOC_PAUSE_AFTER_US, &out);
    assert_kept(&s, again);
    run(99999, &s, 1, again + CQ_ALLOC_PAUSE_AFTER_US - 1, &out);
    assert_kept(&s, again);
    run(99999, &s, 1, again + CQ_ALLOC_PAUSE_AFTER_US, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.paused_us, again + CQ_ALLOC_PAUSE_AFTER_US);
    assert_int_equal(out.paused, 1);
}

/*
 * While the receiver's estimate is settling, a stream whose lowest option does not fit is
 * kept and its clock does not run: short for 5 s, it is never paused. Once settled, the
 * clock starts at the first short run, and the pause comes CQ_ALLOC_PAUSE_AFTER_US later.
 */
static void test_alloc_run_settling_is_never_paused(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    s.settling = true;
    for (uint64_t t = 0; t <= 5 * S; t += S / 4) {
        run(50000, &s, 1, T0 + t, &out);
        assert_kept(&s, 0);
        assert_int_equal(out.paused, 0);
        assert_int_equal(out.video_bps, 100000);
    }

    s.settling = false;
    const uint64_t settled = T0 + 5 * S + S / 4;
    run(50000, &s, 1, settled, &out);
    assert_kept(&s, settled);
    run(50000, &s, 1, settled + CQ_ALLOC_PAUSE_AFTER_US - 1, &out);
    assert_kept(&s, settled);
    run(50000, &s, 1, settled + CQ_ALLOC_PAUSE_AFTER_US, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(s.paused_us, settled + CQ_ALLOC_PAUSE_AFTER_US);
    assert_int_equal(out.paused, 1);
}

/* A layer not arriving is priced from the layer below times 3 (times 9 two layers up), so a
 * receiver can climb to it; a temporal layer not arriving costs what the one below costs. */
static void test_alloc_run_unmeasured_layers(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    memset(s.rate_bps[1], 0, sizeof s.rate_bps[1]);
    memset(s.rate_bps[2], 0, sizeof s.rate_bps[2]);
    /* Prices: (1,2) 3 * 200000 = 600000, (2,2) 9 * 200000 = 1800000; with max_temporal 1,
     * (1,1) 3 * 150000 = 450000, (2,1) 9 * 150000 = 1350000. */
    run(PLENTY, &s, 1, T0, &out);
    assert_choice(&s, 2, 2);
    assert_int_equal(s.cost_bps, 1800000);

    /* 600000: (1,2) needs 690000 (measured at 500000 it would need only 575000): the
     * stream stays at (0,2) and asks for it, 200000 + 690000 - 200000. */
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    memset(s.rate_bps[1], 0, sizeof s.rate_bps[1]);
    memset(s.rate_bps[2], 0, sizeof s.rate_bps[2]);
    run(600000, &s, 1, T0, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.cost_bps, 200000);
    assert_probe(&out, 690000);
    run(690001, &s, 1, T0 + S, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(s.cost_bps, 600000);
    assert_probe(&out, 2070000); /* 600000 + 1800000 * 1.15 - 600000 */

    /* The same at max_temporal 1. 600000: (1,1) needs 517500 (fits), (2,1) 1552500 (does
     * not). */
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    memset(s.rate_bps[1], 0, sizeof s.rate_bps[1]);
    memset(s.rate_bps[2], 0, sizeof s.rate_bps[2]);
    s.max_temporal = 1;
    run(600000, &s, 1, T0, &out);
    assert_choice(&s, 1, 1);
    assert_int_equal(s.cost_bps, 450000);
    assert_probe(&out, 1552500); /* 450000 + 1350000 * 1.15 - 450000 */
    run(PLENTY, &s, 1, T0 + S, &out);
    assert_choice(&s, 2, 1);
    assert_int_equal(s.cost_bps, 1350000);

    /* Only layer 2 off: (2,2) 3 * 500000, and at max_temporal 1 (2,1) 3 * 400000. */
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    memset(s.rate_bps[2], 0, sizeof s.rate_bps[2]);
    run(PLENTY, &s, 1, T0, &out);
    assert_choice(&s, 2, 2);
    assert_int_equal(s.cost_bps, 1500000);
    s.max_temporal = 1;
    run(PLENTY, &s, 1, T0 + S, &out);
    assert_choice(&s, 2, 1);
    assert_int_equal(s.cost_bps, 1200000);

    /* Layer 1 without its t=2: (1,2) costs what (1,1) does. */
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    s.rate_bps[1][2] = 0;
    s.max_spatial = 1;
    run(PLENTY, &s, 1, T0, &out);
    assert_choice(&s, 1, 2);
    assert_int_equal(s.cost_bps, 400000);
}

/*
 * No video measured yet (layer 0 not arriving): nothing to price, so the stream is not
 * paused and costs nothing, even with no budget at all. One layer only here: all its options
 * cost 0, so which t it gets is not the point.
 */
static void test_alloc_run_unmeasured_video_is_not_paused(void **state) {
    (void)state;
    cq_alloc_stream_t s[2];
    cq_alloc_result_t out = {0};
    stream_std(&s[0], 20000);
    memset(s[0].rate_bps, 0, sizeof s[0].rate_bps);
    s[0].layers = 1;
    stream_std(&s[1], 20000);
    run_lasting(10000, s, 2, T0, &out); /* less than the audio */
    assert_int_equal(s[0].choice.spatial, 0);
    assert_int_equal(s[0].cost_bps, 0);
    assert_int_equal(s[0].paused_us, 0);
    assert_int_equal(s[0].short_us, 0); /* what costs nothing is never short */
    assert_choice(&s[1], NO_VIDEO, 0);
    assert_int_equal(out.paused, 1);
    assert_int_equal(out.video_bps, 0);
    assert_int_equal(out.audio_bps, 40000);
    /* s[1]'s resume, since s[0]'s options cost nothing: 40000 + 130000. */
    assert_probe(&out, 170000);
}

/*
 * A publisher with three layers whose video has not arrived yet must start at its lowest
 * option, as cq_alloc_stream_init and alloc.c ("it starts lowest") say: its cost is
 * unknown, and a receiver set on its top layer gets a burst nobody checked against the
 * downlink (router_downlink.c prices a publisher whose video is not arriving this way, and
 * moves its receivers to the choice at once). alloc.c lets the stream climb every option
 * priced 0, up to (2,2), and the next run, once the video is measured, steps it down and
 * holds it for 2 s.
 */
static void test_alloc_run_unmeasured_video_starts_lowest(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    memset(s.rate_bps, 0, sizeof s.rate_bps);
    run(200000, &s, 1, T0, &out);
    assert_int_equal(s.cost_bps, 0);
    assert_int_equal(s.paused_us, 0);
    assert_int_equal(s.choice.spatial, 0);
    assert_int_equal(out.probe_bps, 0); /* nothing to probe for until it is measured */
}

/* Limits that come down are not a step down: the stream follows them without a hold and
 * climbs back as soon as they are lifted. */
static void test_alloc_run_limits_down_are_not_a_step_down(void **state) {
    (void)state;
    cq_alloc_stream_t s;
    cq_alloc_result_t out = {0};
    stream_std(&s, 0);
    out = (cq_alloc_result_t){0};
    run(PLENTY, &s, 1, T0, &out);
    assert_choice(&s, 2, 2);
    s.max_spatial = 0;
    run(PLENTY, &s, 1, T0 + S, &out);
    assert_choice(&s, 0, 2);
    assert_int_equal(s.down_us, 0);
    s.max_spatial = 2;
    run(PLENTY, &s, 1, T0 + S + 1, &out);
    assert_choice(&s, 2, 2);

    /* A temporal limit of 0 from (2,2): the options are (0,0) (1,0) (2,0), and (2,0) is
     * the highest not above the last choice. */
    s.max_temporal = 0;
    run(PLENTY, &s, 1, T0 + 2 * S, &out);
    assert_choice(&s, 2, 0);
    assert_int_equal(s.cost_bps, 900000);
    assert_int_equal(s.down_us, 0);

    /* A subscriber that wants none of it: no video, not paused, nothing held. */
    s.max_spatial = -1;
    run(PLENTY, &s, 1, T0 + 3 * S, &out);
    assert_choice(&s, NO_VIDEO, 0);
    assert_int_equal(out.paused, 0);
    assert_int_equal(s.down_us, 0);
}

/* More than CQ_ALLOC_MAX_STREAMS: those past it are left as they were (audio still counts),
 * priority streams first, so a priority stream past the end is still served. */
static void test_alloc_run_more_streams_than_allocated(void **state) {
    (void)state;
    enum { N = CQ_ALLOC_MAX_STREAMS + 1 };
    static cq_alloc_stream_t s[N];
    cq_alloc_result_t out = {0};
    streams_std(s, N, 1000);
    s[N - 1].choice = (cq_alloc_choice_t){.spatial = 1, .temporal = 1};
    s[N - 1].cost_bps = 4321;
    /* 64 * 1500000 = 96000000 for the served ones, well within the budget. */
    cq_alloc_run(PLENTY, PLENTY, s, N, T0, &out);
    assert_int_equal(out.audio_bps, N * 1000);
    assert_int_equal(out.video_bps, 96000000);
    for (int i = 0; i < N - 1; i++)
        assert_choice(&s[i], 2, 2);
    assert_choice(&s[N - 1], 1, 1);
    assert_int_equal(s[N - 1].cost_bps, 4321);

    streams_std(s, N, 1000);
    s[N - 1].priority = true;
    s[N - 2].choice = (cq_alloc_choice_t){.spatial = 0, .temporal = 1};
    s[N - 2].cost_bps = 4321;
    cq_alloc_run(PLENTY, PLENTY, s, N, T0, &out);
    assert_choice(&s[N - 1], 2, 2);
    assert_choice(&s[N - 2], 0, 1);
    assert_int_equal(s[N - 2].cost_bps, 4321);
}

/*
 * The randomized property test. Sets of up to 6 streams with random layers, limits, priority
 * and rates live for 40 runs each; each run has a random budget and moves the clock 0 to
 * 1.5 s; in a third of the sets the receiver's estimate is settling for up to their first
 * 20 runs.
 * Beside the result checks (check_result), each run must hold, per stream:
 * - a choice is an option of the stream: spatial within its limit and layers, temporal within
 *   its limit, and above layer 0 exactly the top temporal layer its limit allows; its cost is
 *   the option's price;
 * - which streams are paused, which are kept at their lowest over the budget, and each
 *   one's clock (short_us) are the reference first pass's (ref_lowest): a pause only once
 *   the lowest has not fit for 1 s, never while settling; video goes over what audio left by
 *   exactly what the kept streams took beyond what was left to them, and by no more when
 *   prices do not rise (a kept stream may then move to a cheaper option);
 * - a step above the last choice happens only 2 s or more after the stream's last step down
 *   or pause, and only with its price * 1.15 within what audio left and the kept streams
 *   took over it;
 * - a resume happens only 3 s or more after the pause, with 1.3 * the lowest price within
 *   what audio left (a stream whose video is unmeasured is exempt: it costs nothing);
 * - when prices rise with the options (set when the rates are drawn so), nothing is left
 *   that a stream could have used: a stream below its top and not held could not afford its
 *   next step, a newly paused stream could not afford its lowest, nor a paused one past its
 *   3 s its resume; a kept stream stays at its lowest;
 * and a second allocator fed the same copy gives the same answer.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* The rule's price, written apart from alloc.c: measured, or the same layer at the temporal
 * layer below (a temporal layer not sent adds nothing), or the layer below times 3. */
static uint32_t ref_price(const cq_alloc_stream_t *s, int sp, unsigned t) {
    for (unsigned u = t + 1; u-- > 0;)
        if (s->rate_bps[sp][u] != 0)
            return s->rate_bps[sp][u];
    if (sp == 0)
        return 0;
    uint64_t below = (uint64_t)ref_price(s, sp - 1, t) * 3;
    return below > UINT32_MAX ? UINT32_MAX : (uint32_t)below;
}

typedef struct {
    cq_alloc_choice_t at[9];
    uint32_t price[9];
    int n;
} ref_options_t;

static void ref_options(const cq_alloc_stream_t *s, ref_options_t *o) {
    o->n = 0;
    if (!has_options(s))
        return;
    int top = s->max_spatial < (int)s->layers - 1 ? s->max_spatial : (int)s->layers - 1;
    if (top > 2)
        top = 2;
    unsigned tmax = s->max_temporal > 2 ? 2 : s->max_temporal;
    /* Layer 0 at every temporal layer up to the limit, each layer above at the limit only. */
    for (int sp = 0; sp <= top; sp++)
        for (unsigned t = sp == 0 ? 0 : tmax; t <= tmax; t++) {
            o->at[o->n] = (cq_alloc_choice_t){.spatial = (int8_t)sp, .temporal = (uint8_t)t};
            o->price[o->n] = ref_price(s, sp, t);
            o->n++;
        }
}

/* The spatial layer of the last run's choice among o's options: its own, or the highest
 * option's under it (the limits may have moved since); 0 from a pause. */
static int ref_prev_spatial(const ref_options_t *o, cq_alloc_choice_t before) {
    int sp = 0;
    for (int k = 0; k < o->n; k++)
        if (before.spatial > o->at[k].spatial ||
            (before.spatial == o->at[k].spatial && before.temporal >= o->at[k].temporal))
            sp = o->at[k].spatial;
    return sp;
}

/* The spatial layer of the last run's choice as an option (the highest option not above
 * it), or -1 when there is none (paused, or nothing). */
static int ref_prev_layer(const ref_options_t *o, cq_alloc_choice_t before) {
    int sp = -1;
    for (int k = 0; k < o->n; k++)
        if (before.spatial > o->at[k].spatial ||
            (before.spatial == o->at[k].spatial && before.temporal >= o->at[k].temporal))
            sp = o->at[k].spatial;
    return sp;
}

static int ref_index(const ref_options_t *o, cq_alloc_choice_t c) {
    if (c.spatial < 0)
        return -1;
    for (int i = 0; i < o->n; i++)
        if (o->at[i].spatial == c.spatial && o->at[i].temporal == c.temporal)
            return i;
    fail_msg("choice (%d,%u) is not an option", c.spatial, c.temporal);
    return -2;
}

/* Rates of a publisher: measured layers below `measured`, none above; prices rising with the
 * options when `rising` (each value at least the one before, t=2 at most twice t=1 so that a
 * layer priced times 3 stays above the one below), anything when not. */
static void draw_rates(cq_alloc_stream_t *s, unsigned measured, bool rising) {
    memset(s->rate_bps, 0, sizeof s->rate_bps);
    uint32_t last = 20000 + rnd(80000);
    for (unsigned sp = 0; sp < measured; sp++) {
        if (!rising) {
            for (unsigned t = 0; t < CQ_ALLOC_TEMPORAL; t++)
                s->rate_bps[sp][t] = rnd(4) == 0 ? 0 : 1 + rnd(2000000);
            continue;
        }
        s->rate_bps[sp][0] = last + rnd(last);
        s->rate_bps[sp][1] = s->rate_bps[sp][0] + rnd(s->rate_bps[sp][0] / 2 + 1);
        s->rate_bps[sp][2] = s->rate_bps[sp][1] + rnd(s->rate_bps[sp][1] / 2 + 1);
        last = s->rate_bps[sp][2];
        if (rnd(6) == 0)
            s->rate_bps[sp][2] = 0; /* this layer's encoder makes two temporal layers */
    }
}

typedef struct {
    uint64_t down_us;        /* our own record of its last step down or pause; 0: none */
    uint64_t larger_us;      /* ... of its last step to a larger picture; 0: none */
    uint64_t smaller_us;     /* ... of its last step down to a smaller one, or pause */
    uint32_t larger_hold_us; /* ... of the wait for a larger one after a step down; 0: base */
    uint64_t pause_us;       /* when it was paused; 0: not paused */
    uint64_t short_us;       /* our own record of since when its lowest has not fit; 0: it fits */
    unsigned measured;
} shadow_t;

/* What the first pass does with a stream's lowest option. */
typedef enum {
    REF_FREE,   /* no options, or a lowest priced 0: nothing to share */
    REF_FITS,   /* its lowest (or its resume) fits what is left */
    REF_KEPT,   /* short, kept at its lowest over the budget */
    REF_PAUSED, /* stays or becomes audio only */
} ref_lowest_t;

/*
 * The rule's first pass, written apart from alloc.c: sound off the top, then in service
 * order (priority first, each group in the caller's order) each stream's lowest option out
 * of what is left. A paused stream resumes 3 s after its pause with 1.3 times its lowest;
 * any other whose lowest does not fit is kept at it, and nothing is left for those after
 * it, until it has been short for CQ_ALLOC_PAUSE_AFTER_US (its clock stands at 0 while
 * settling). Sets each stream's outcome and moves the shadow's clocks; returns how far the
 * kept streams took the video over what audio left.
 */
static uint64_t ref_lowest(const cq_alloc_stream_t *s, shadow_t *sh, size_t n, uint32_t budget,
                           uint64_t now, ref_lowest_t *outcome) {
    uint64_t audio = 0, over = 0;
    for (size_t i = 0; i < n; i++)
        audio += s[i].audio_bps;
    uint64_t left = budget > audio ? budget - audio : 0;
    uint64_t fit = left; /* what the streams that fit leave: whether one fits is judged on it */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            if (s[i].priority != (pass == 0))
                continue;
            ref_options_t o = {.n = 0};
            ref_options(&s[i], &o);
            /* Nothing to share: a shortfall before this counts no more. */
            if (o.n == 0 || o.price[0] == 0) {
                outcome[i] = REF_FREE;
                sh[i].short_us = 0;
                continue;
            }
            uint32_t lowest = o.price[0];
            if (sh[i].pause_us != 0 && (now - sh[i].pause_us < CQ_ALLOC_PAUSE_MIN_US ||
                                        lowest * CQ_ALLOC_RESUME_HEADROOM > (double)left)) {
                outcome[i] = REF_PAUSED;
                continue;
            }
            if (lowest <= fit) {
                outcome[i] = REF_FITS;
                sh[i].short_us = 0;
                fit -= lowest;
                over += lowest > left ? lowest - left : 0;
                left = lowest > left ? 0 : left - lowest;
                continue;
            }
            if (s[i].settling) {
                sh[i].short_us = 0;
            } else {
                if (sh[i].short_us == 0)
                    sh[i].short_us = now;
                if (now - sh[i].short_us >= CQ_ALLOC_PAUSE_AFTER_US) {
                    outcome[i] = REF_PAUSED;
                    continue;
                }
            }
            outcome[i] = REF_KEPT;
            over += lowest > left ? lowest - left : 0;
            left = lowest > left ? 0 : left - lowest;
        }
    return over;
}

static void test_alloc_run_random_properties(void **state) {
    (void)state;
    enum { SETS = 60, RUNS = 40, MAXN = 6 };
    cq_alloc_stream_t s[MAXN], copy[MAXN];
    shadow_t sh[MAXN];
    unsigned steps_up = 0, resumes = 0, pauses = 0, holds = 0, unsteady = 0, gated = 0;
    unsigned backed_off = 0, doubled = 0;
    unsigned kept_over = 0, settling_over = 0, recovered = 0;
    for (int set = 0; set < SETS; set++) {
        size_t n = 1 + rnd(MAXN);
        bool rising = rnd(4) != 0;
        int settling_runs = rnd(3) == 0 ? (int)rnd(RUNS / 2) : 0;
        uint64_t now = T0 + rnd(S);
        cq_alloc_result_t kept = {0}; /* the receiver's, between runs */
        for (size_t i = 0; i < n; i++) {
            cq_alloc_stream_init(&s[i]);
            s[i].audio_bps = rnd(3) == 0 ? 0 : 8000 + rnd(56000);
            s[i].layers = rnd(8) == 0 ? 0 : 1 + rnd(3);
            s[i].max_spatial = (int)rnd(4) - 1;
            s[i].max_temporal = rnd(4);
            s[i].priority = rnd(5) == 0;
            sh[i] =
                (shadow_t){.measured = rnd(10) == 0 ? 0 : 1 + rnd(s[i].layers ? s[i].layers : 1)};
            draw_rates(&s[i], sh[i].measured, rising);
        }
        for (int r = 0; r < RUNS; r++) {
            uint32_t budget = rnd(4) == 0 ? rnd(300000) : rnd(6000000);
            uint32_t steady = rnd(3) == 0 ? rnd(budget + 1) : budget;
            now += rnd(3 * S / 2);
            for (size_t i = 0; i < n; i++) {
                if (rnd(4) == 0)
                    draw_rates(&s[i], sh[i].measured, rising);
                s[i].settling = r < settling_runs;
            }
            cq_alloc_choice_t before[MAXN];
            bool priced[MAXN]; /* its choice was in force: a larger picture is a keyframe */
            uint64_t short_before[MAXN];
            for (size_t i = 0; i < n; i++) {
                before[i] = s[i].choice;
                priced[i] = s[i].priced;
                short_before[i] = sh[i].short_us;
            }
            memcpy(copy, s, sizeof s);
            ref_lowest_t lowest[MAXN];
            const uint64_t over = ref_lowest(s, sh, n, budget, now, lowest);

            cq_alloc_result_t out = kept, out2 = kept;
            run_steady(budget, steady, s, n, now, &out);
            cq_alloc_run(budget, steady, copy, n, now, &out2);
            assert_memory_equal(&out, &out2, sizeof out);
            bool larger_ok = kept.larger_us == 0 || now - kept.larger_us >= CQ_ALLOC_LARGER_GAP_US;
            kept = out;
            /* One stream's larger picture at a time, none within the gap of the last. */
            int larger_by = -1;
            for (size_t i = 0; i < n; i++) {
                ref_options_t o = {.n = 0};
                ref_options(&s[i], &o);
                if (priced[i] && s[i].choice.spatial > ref_prev_spatial(&o, before[i])) {
                    assert_true(larger_ok && larger_by < 0);
                    larger_by = (int)i;
                }
            }
            if (larger_by >= 0)
                assert_int_equal(out.larger_us, now);
            assert_memory_equal(s, copy, n * sizeof s[0]);

            uint32_t audio = out.audio_bps;
            uint64_t room = budget > audio ? budget - audio : 0;
            /* Video goes over what audio left by no more than the kept streams took beyond
             * what was left to them; with rising prices by exactly that, as nothing is left
             * after a kept stream and nobody climbs on nothing. */
            assert_true(out.video_bps <= room + over);
            if (rising && over != 0)
                assert_int_equal(out.video_bps, room + over);
            uint64_t left = room + over - out.video_bps;
            int64_t steady_left = (int64_t)steady - audio - (int64_t)out.video_bps;
            if (out.probe_bps != 0)
                assert_true(out.probe_bps > audio + out.video_bps);
            for (size_t i = 0; i < n; i++) {
                ref_options_t o = {.n = 0};
                ref_options(&s[i], &o);
                assert_int_equal(s[i].short_us, sh[i].short_us);
                if (o.n == 0) {
                    assert_int_equal(s[i].choice.spatial, -1);
                    sh[i].pause_us = 0;
                    continue;
                }
                int was = ref_index(&o, before[i]);
                /* A first run starts from init's (0,0), which is an option. */
                int is = ref_index(&o, s[i].choice);
                bool held = sh[i].down_us != 0 && now - sh[i].down_us < CQ_ALLOC_UP_HOLD_US;
                uint32_t larger_wait =
                    sh[i].larger_hold_us ? sh[i].larger_hold_us : CQ_ALLOC_UP_HOLD_US;
                bool larger_held = sh[i].smaller_us != 0 && now - sh[i].smaller_us < larger_wait;
                if (is >= 0)
                    assert_int_equal(s[i].cost_bps, o.price[is]);
                if (s[i].choice.spatial > 0)
                    assert_int_equal(s[i].choice.temporal,
                                     s[i].max_temporal > 2 ? 2 : s[i].max_temporal);

                assert_int_equal(is < 0, lowest[i] == REF_PAUSED);
                if (lowest[i] == REF_KEPT) {
                    if (s[i].settling)
                        settling_over++;
                    else
                        kept_over++;
                    if (rising)
                        assert_int_equal(is, 0);
                }
                if (lowest[i] == REF_FITS && short_before[i] != 0 && was >= 0)
                    recovered++; /* a shortfall over before it became a pause */

                if (was >= 0 && is > was) {
                    steps_up++;
                    assert_false(held);
                    if (s[i].choice.spatial > ref_prev_spatial(&o, before[i]))
                        assert_false(larger_held);
                    assert_true(o.price[is] * CQ_ALLOC_UP_HEADROOM <= (double)(room + over));
                }
                if (was < 0 && is >= 0 && o.price[0] != 0) {
                    resumes++;
                    if (s[i].choice.spatial > 0)
                        assert_false(larger_held);
                    assert_true(now - sh[i].pause_us >= CQ_ALLOC_PAUSE_MIN_US);
                    assert_true(o.price[0] * CQ_ALLOC_RESUME_HEADROOM <= (double)room);
                }
                /* A stream with nothing measured stays lowest (it has nothing to spend). */
                bool unmeasured = true;
                for (int k = 0; k < o.n; k++)
                    unmeasured = unmeasured && o.price[k] == 0;
                if (rising && !unmeasured && is >= 0 && is + 1 < o.n) {
                    int j = is + 1;
                    bool above = j > was;
                    double need = o.price[j] * (above ? CQ_ALLOC_UP_HEADROOM : 1.0);
                    /* A larger picture than the last run's must fit the steady budget. */
                    bool larger = o.at[j].spatial > ref_prev_spatial(&o, before[i]);
                    if (above && held)
                        holds++;
                    else if (larger && larger_held)
                        backed_off++;
                    else if (larger && priced[i] &&
                             (!larger_ok || (larger_by >= 0 && larger_by != (int)i)))
                        gated++;
                    else if (larger && need > (double)(steady_left + o.price[is]))
                        unsteady++;
                    else
                        assert_false(need <= (double)(left + o.price[is]));
                }
                if (rising && is < 0 && was >= 0)
                    assert_true(o.price[0] > left);
                if (rising && is < 0 && was < 0 && now - sh[i].pause_us >= CQ_ALLOC_PAUSE_MIN_US)
                    assert_true(o.price[0] * CQ_ALLOC_RESUME_HEADROOM > (double)left);

                /* Our own record of step downs and pauses, for the next run. */
                if (is < 0 && was >= 0) {
                    pauses++;
                    /* Only once short that long, and never while settling. */
                    assert_false(s[i].settling);
                    assert_true(short_before[i] != 0);
                    assert_true(now - short_before[i] >= CQ_ALLOC_PAUSE_AFTER_US);
                    sh[i].pause_us = sh[i].down_us = sh[i].smaller_us = now;
                    sh[i].larger_hold_us = CQ_ALLOC_UP_HOLD_US; /* a pause: the base */
                    assert_int_equal(s[i].paused_us, now);
                } else if (is >= 0) {
                    sh[i].pause_us = 0;
                    if (is < was)
                        sh[i].down_us = now;
                    /* A smaller picture: the larger one before it, judged at the first
                     * step down after it, doubles the wait if it lasted under
                     * CQ_ALLOC_LASTED_US, else brings it back to the base. */
                    int prev = ref_prev_layer(&o, before[i]);
                    if (prev >= 0 && s[i].choice.spatial < prev) {
                        if (sh[i].smaller_us <= sh[i].larger_us) {
                            bool lasted =
                                sh[i].larger_us == 0 || now - sh[i].larger_us >= CQ_ALLOC_LASTED_US;
                            uint32_t next = lasted ? CQ_ALLOC_UP_HOLD_US : 2 * larger_wait;
                            doubled += !lasted;
                            sh[i].larger_hold_us = next < CQ_ALLOC_LARGER_HOLD_MAX_US
                                                       ? next
                                                       : CQ_ALLOC_LARGER_HOLD_MAX_US;
                        }
                        sh[i].smaller_us = now;
                    } else if (s[i].choice.spatial > ref_prev_spatial(&o, before[i])) {
                        sh[i].larger_us = now; /* a resume to a larger picture too */
                    }
                }
                assert_int_equal(s[i].larger_us, sh[i].larger_us);
                assert_int_equal(s[i].larger_hold_us, sh[i].larger_hold_us);
            }
        }
    }
    /* The sets must have exercised what the checks are about. */
    assert_true(steps_up > 100);
    assert_true(resumes > 20);
    assert_true(pauses > 20);
    assert_true(holds > 20);
    print_message("larger pictures held back %u times, waits doubled %u times\n", backed_off,
                  doubled);
    assert_true(backed_off > 20);
    assert_true(doubled > 20);
    assert_true(unsteady > 20);
    assert_true(gated > 20);
    assert_true(kept_over > 20);
    assert_true(settling_over > 20);
    assert_true(recovered > 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_run_audio_off_the_top),
        cmocka_unit_test(test_alloc_run_generous_budget_tops_within_limits),
        cmocka_unit_test(test_alloc_run_lowest_options_priority_first),
        cmocka_unit_test(test_alloc_run_priority_climbs_first),
        cmocka_unit_test(test_alloc_run_every_picture_moves_first),
        cmocka_unit_test(test_alloc_run_slow_layer_not_offered),
        cmocka_unit_test(test_alloc_run_others_climb_together),
        cmocka_unit_test(test_alloc_run_frame_rate_before_resolution),
        cmocka_unit_test(test_alloc_run_up_headroom),
        cmocka_unit_test(test_alloc_run_larger_picture_needs_steady_budget),
        cmocka_unit_test(test_alloc_steady_budget),
        cmocka_unit_test(test_alloc_run_no_step_up_after_step_down),
        cmocka_unit_test(test_alloc_run_larger_picture_backs_off),
        cmocka_unit_test(test_alloc_run_one_larger_picture_at_a_time),
        cmocka_unit_test(test_alloc_run_pause_and_resume),
        cmocka_unit_test(test_alloc_run_short_dip_is_not_a_pause),
        cmocka_unit_test(test_alloc_run_lasting_shortfall_pauses_at_the_mark),
        cmocka_unit_test(test_alloc_run_interrupted_shortfall_restarts_the_clock),
        cmocka_unit_test(test_alloc_run_hidden_stream_forgets_its_shortfall),
        cmocka_unit_test(test_alloc_run_kept_stream_does_not_pause_the_next),
        cmocka_unit_test(test_alloc_run_settling_is_never_paused),
        cmocka_unit_test(test_alloc_run_unmeasured_layers),
        cmocka_unit_test(test_alloc_run_unmeasured_video_is_not_paused),
        cmocka_unit_test(test_alloc_run_unmeasured_video_starts_lowest),
        cmocka_unit_test(test_alloc_run_limits_down_are_not_a_step_down),
        cmocka_unit_test(test_alloc_run_more_streams_than_allocated),
        cmocka_unit_test(test_alloc_run_random_properties),
        cmocka_unit_test(test_alloc_demand_bps),
        cmocka_unit_test(test_alloc_pace_bps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
