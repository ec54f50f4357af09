#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "relay/speaker.h"
#include "rtp/error.h"

/* Drives the detector as the relay does: a packet every 20 ms per talker (levels given per
 * participant, 127 meaning silent / no voice flag), evaluation every 20 ms. Returns the
 * number of speaker changes during the run and leaves *speaker as the last reported. */
static int run(cq_speaker_t *s, uint64_t *t, uint64_t duration_us, const uint8_t levels[4],
               uint32_t *speaker) {
    int changes = 0;
    for (uint64_t end = *t + duration_us; *t < end; *t += 20000) {
        for (uint32_t id = 1; id <= 4; id++)
            if (levels[id - 1] < 127)
                cq_speaker_feed(s, id, levels[id - 1], true, *t);
        uint32_t who;
        if (cq_speaker_evaluate(s, *t, &who)) {
            changes++;
            *speaker = who;
        }
    }
    return changes;
}

static void setup4(cq_speaker_t *s) {
    cq_speaker_init(s);
    for (uint32_t id = 1; id <= 4; id++)
        assert_int_equal(cq_speaker_add(s, id), 0);
}

static void test_speaker_first_speaker_named_after_short_hold(void **state) {
    (void)state;
    cq_speaker_t s;
    setup4(&s);
    uint64_t t = 1000000;
    uint32_t who = 99;
    const uint8_t one[4] = {25, 127, 127, 127};
    assert_int_equal(run(&s, &t, 200000, one, &who), 0); /* too soon */
    assert_int_equal(run(&s, &t, 400000, one, &who), 1);
    assert_int_equal(who, 1);
}

static void test_speaker_takeover_after_a_second_and_silence_keeps_speaker(void **state) {
    (void)state;
    cq_speaker_t s;
    setup4(&s);
    uint64_t t = 1000000;
    uint32_t who = 0;
    const uint8_t one[4] = {25, 127, 127, 127}, two[4] = {127, 25, 127, 127},
                  quiet[4] = {127, 127, 127, 127};
    run(&s, &t, 3000000, one, &who);
    assert_int_equal(who, 1);
    /* 2 talks, 1 stops: 2 takes over, but not within the first half second. */
    assert_int_equal(run(&s, &t, 500000, two, &who), 0);
    assert_int_equal(run(&s, &t, 1500000, two, &who), 1);
    assert_int_equal(who, 2);
    /* Everyone falls silent: the last speaker stays. */
    assert_int_equal(run(&s, &t, 5000000, quiet, &who), 0);
}

/* Two people talking over each other at similar levels: no flapping. */
static void test_speaker_overlapping_talkers_do_not_flap(void **state) {
    (void)state;
    cq_speaker_t s;
    setup4(&s);
    uint64_t t = 1000000;
    uint32_t who = 0;
    const uint8_t one[4] = {25, 127, 127, 127};
    run(&s, &t, 2000000, one, &who);
    int changes = 0;
    for (int k = 0; k < 20; k++) { /* alternate who is a bit louder every 300 ms */
        const uint8_t both[4] = {(uint8_t)(k % 2 ? 24 : 27), (uint8_t)(k % 2 ? 27 : 24), 127, 127};
        changes += run(&s, &t, 300000, both, &who);
    }
    assert_int_equal(changes, 0);
    assert_int_equal(who, 1);
}

/* A loud generator (below the voice threshold or without the voice flag) never wins. */
static void test_speaker_background_noise_never_wins(void **state) {
    (void)state;
    cq_speaker_t s;
    setup4(&s);
    uint64_t t = 1000000;
    uint32_t who = 0;
    int changes = 0;
    for (int k = 0; k < 500; k++, t += 20000) {
        cq_speaker_feed(&s, 3, 55, true, t);  /* -55 dBov hum, flagged as voice */
        cq_speaker_feed(&s, 4, 10, false, t); /* loud, but the sender's VAD says not voice */
        uint32_t w;
        if (cq_speaker_evaluate(&s, t, &w)) {
            changes++;
            who = w;
        }
    }
    assert_int_equal(changes, 0);
    assert_int_equal(who, 0);
}

/* Where the evaluation falls between packets must not matter: evaluated right after each
 * packet (a busy worker) or just before it, a talker is found all the same. */
static void test_speaker_independent_of_evaluation_phase(void **state) {
    (void)state;
    for (uint64_t phase = 1000; phase < 20000; phase += 9000) {
        cq_speaker_t s;
        setup4(&s);
        uint32_t who = 0;
        int changes = 0;
        for (uint64_t t = 1000000; t < 2000000; t += 20000) {
            cq_speaker_feed(&s, 1, 25, true, t);
            uint32_t w;
            if (cq_speaker_evaluate(&s, t + phase, &w)) {
                changes++;
                who = w;
            }
        }
        assert_int_equal(changes, 1);
        assert_int_equal(who, 1);
    }
}

static void test_speaker_removal_and_table_limits(void **state) {
    (void)state;
    cq_speaker_t s;
    setup4(&s);
    uint64_t t = 1000000;
    uint32_t who = 0;
    const uint8_t one[4] = {25, 127, 127, 127};
    run(&s, &t, 1000000, one, &who);
    assert_int_equal(who, 1);
    cq_speaker_remove(&s, 1);
    uint32_t w = 7;
    assert_true(cq_speaker_evaluate(&s, t, &w));
    assert_int_equal(w, 0);
    cq_speaker_feed(&s, 1, 10, true, t); /* unknown now: ignored */
    assert_int_equal(cq_speaker_add(&s, 2), CQ_EEXIST);
    assert_int_equal(cq_speaker_add(&s, 0), CQ_EINVAL);
    for (uint32_t id = 100; id < 100 + CQ_SPEAKER_MAX - 3; id++)
        assert_int_equal(cq_speaker_add(&s, id), 0);
    assert_int_equal(cq_speaker_add(&s, 5000), CQ_ENOBUFS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_speaker_first_speaker_named_after_short_hold),
        cmocka_unit_test(test_speaker_takeover_after_a_second_and_silence_keeps_speaker),
        cmocka_unit_test(test_speaker_overlapping_talkers_do_not_flap),
        cmocka_unit_test(test_speaker_background_noise_never_wins),
        cmocka_unit_test(test_speaker_independent_of_evaluation_phase),
        cmocka_unit_test(test_speaker_removal_and_table_limits),
    };
    return cmocka_run_group_tests_name("relay/speaker", tests, NULL, NULL);
}
