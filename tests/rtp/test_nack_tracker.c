#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtp/nack_tracker.h"

static void test_nack_tracker_single_loss_held_then_retried(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    cq_nack_tracker_init(&t);
    uint16_t out[16];
    cq_nack_tracker_on_packet(&t, 100, 0);
    cq_nack_tracker_on_packet(&t, 102, 1000); /* 101 missing */
    assert_int_equal(t.missing, 1);
    assert_int_equal(cq_nack_tracker_poll(&t, 5000, 0, out, 16), 0); /* within the hold */
    assert_int_equal(cq_nack_tracker_poll(&t, 11000, 0, out, 16), 1);
    assert_int_equal(out[0], 101);
    assert_int_equal(cq_nack_tracker_poll(&t, 20000, 100000, out, 16), 0); /* RTT 100 ms */
    assert_int_equal(cq_nack_tracker_poll(&t, 11000 + 150000, 100000, out, 16), 1);
    cq_nack_tracker_on_packet(&t, 101, 200000); /* the repair */
    assert_int_equal(t.missing, 0);
    assert_int_equal(t.recovered, 1);
    assert_int_equal(t.recovered_wait_us, 199000); /* open since 102 showed the gap */
    assert_int_equal(t.recovered_wait_max_us, 199000);
    assert_int_equal(cq_nack_tracker_poll(&t, 500000, 0, out, 16), 0);
    /* A second hole, filled sooner: summed, and the longest stays. */
    cq_nack_tracker_on_packet(&t, 104, 600000);
    cq_nack_tracker_on_packet(&t, 103, 650000);
    assert_int_equal(t.recovered, 2);
    assert_int_equal(t.recovered_wait_us, 199000 + 50000);
    assert_int_equal(t.recovered_wait_max_us, 199000);
    cq_nack_tracker_on_packet(&t, 103, 900000); /* twice: no hole to fill */
    assert_int_equal(t.recovered_wait_us, 199000 + 50000);
}

/* On a 600 ms round trip the first request goes twice, 40 ms apart, then waits 1.5 round
 * trips as before; on a 200 ms one it goes once. Switched off, once. */
static void test_nack_tracker_long_round_trip_asks_twice(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    uint16_t out[16];
    for (int off = 0; off <= 1; off++) {
        cq_nack_tracker_init(&t);
        if (off)
            t.double_rtt_us = 0;
        cq_nack_tracker_on_packet(&t, 100, 0);
        cq_nack_tracker_on_packet(&t, 102, 1000);
        assert_int_equal(cq_nack_tracker_poll(&t, 11000, 600000, out, 16), 1);
        assert_int_equal(cq_nack_tracker_poll(&t, 11000 + 39000, 600000, out, 16), 0);
        assert_int_equal(cq_nack_tracker_poll(&t, 11000 + 40000, 600000, out, 16), off ? 0 : 1);
        uint64_t again = off ? 11000 : 11000 + 40000;
        assert_int_equal(cq_nack_tracker_poll(&t, again + 899000, 600000, out, 16), 0);
        assert_int_equal(cq_nack_tracker_poll(&t, again + 900000, 600000, out, 16), 1);
        assert_int_equal(out[0], 101);
    }
    cq_nack_tracker_init(&t);
    cq_nack_tracker_on_packet(&t, 100, 0);
    cq_nack_tracker_on_packet(&t, 102, 1000);
    assert_int_equal(cq_nack_tracker_poll(&t, 11000, 200000, out, 16), 1);
    assert_int_equal(cq_nack_tracker_poll(&t, 11000 + 40000, 200000, out, 16), 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 11000 + 300000, 200000, out, 16), 1);
}

/* No round trip measured yet: the request is repeated after 1.5 times the guess, not
 * every 20 ms. */
static void test_nack_tracker_unknown_round_trip_guessed(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    cq_nack_tracker_init(&t);
    uint16_t out[4];
    cq_nack_tracker_on_packet(&t, 100, 0);
    cq_nack_tracker_on_packet(&t, 102, 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 10000, 0, out, 4), 1);
    uint64_t again = 10000 + CQ_NACK_RTT_GUESS_US * 3 / 2;
    for (uint64_t now = 30000; now < again; now += 20000)
        assert_int_equal(cq_nack_tracker_poll(&t, now, 0, out, 4), 0);
    assert_int_equal(cq_nack_tracker_poll(&t, again, 0, out, 4), 1);
    assert_int_equal(out[0], 101);
}

/* Reordering inside the hold is never asked for. */
static void test_nack_tracker_reordering_within_hold(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    cq_nack_tracker_init(&t);
    uint16_t out[16];
    cq_nack_tracker_on_packet(&t, 1, 0);
    cq_nack_tracker_on_packet(&t, 3, 0);
    cq_nack_tracker_on_packet(&t, 2, 4000);
    assert_int_equal(cq_nack_tracker_poll(&t, 50000, 0, out, 16), 0);
    assert_int_equal(t.recovered, 1);
}

/* A burst of 20 (the radio-link case) across the 65535 -> 0 wrap, oldest first, capped by
 * the caller's array and resumed at the next poll. */
static void test_nack_tracker_burst_across_wrap_and_cap(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    cq_nack_tracker_init(&t);
    uint16_t out[8];
    cq_nack_tracker_on_packet(&t, 65525, 0);
    cq_nack_tracker_on_packet(&t, 10, 0); /* 65526 .. 9 lost: 20 packets */
    assert_int_equal(t.missing, 20);
    assert_int_equal(cq_nack_tracker_poll(&t, 20000, 0, out, 8), 8);
    assert_int_equal(out[0], 65526);
    assert_int_equal(out[7], 65533);
    assert_int_equal(cq_nack_tracker_poll(&t, 20000, 0, out, 8), 8);
    assert_int_equal(out[0], 65534);
    assert_int_equal(out[2], 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 20000, 0, out, 8), 4);
    assert_int_equal(out[3], 9);
}

static void test_nack_tracker_gives_up_by_count_and_age(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    cq_nack_tracker_init(&t);
    t.max_retries = 3;
    uint16_t out[4];
    cq_nack_tracker_on_packet(&t, 1, 0);
    cq_nack_tracker_on_packet(&t, 3, 0);
    uint64_t now = 0;
    int sent = 0;
    for (int k = 0; k < 10; k++, now += 30000)
        sent += (int)cq_nack_tracker_poll(&t, now + 20000, 10000, out, 4); /* a LAN's */
    assert_int_equal(sent, 3);
    assert_int_equal(t.given_up, 1);
    assert_int_equal(t.missing, 0);

    cq_nack_tracker_init(&t);
    cq_nack_tracker_on_packet(&t, 1, 0);
    cq_nack_tracker_on_packet(&t, 3, 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 1000001, 0, out, 4), 0); /* too old already */
    assert_int_equal(t.given_up, 1);
}

/* A gap too large to repair asks for a keyframe instead. */
/* A frame whose last packets were lost shows no gap until the next packet: told which
 * packets end their frames, the tracker asks for the packet after an unfinished frame's
 * newest once tail_us passed without it, and again for the one after that when the repair
 * does not end the frame either. A frame that ends, or goes on in time, asks nothing. */
static void test_nack_tracker_frame_tail(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    cq_nack_tracker_init(&t);
    uint16_t out[16];
    cq_nack_tracker_on_frame_packet(&t, 100, true, 0);
    cq_nack_tracker_on_frame_packet(&t, 101, false, 1000000); /* a keyframe's first part */
    assert_true(cq_nack_tracker_pending(&t));
    assert_int_equal(t.missing, 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 1000000 + CQ_NACK_TAIL_US - 1, 0, out, 16), 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 1000000 + CQ_NACK_TAIL_US, 0, out, 16), 1);
    assert_int_equal(out[0], 102);
    assert_int_equal(t.tails, 1);
    assert_int_equal(t.missing, 1);
    /* Its repair does not end the frame: 103 is asked for in turn. */
    cq_nack_tracker_on_frame_packet(&t, 102, false, 1300000);
    assert_int_equal(t.missing, 0);
    assert_int_equal(t.recovered, 1);
    assert_int_equal(cq_nack_tracker_poll(&t, 1300000 + CQ_NACK_TAIL_US / 2, 0, out, 16), 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 1300000 + CQ_NACK_TAIL_US, 0, out, 16), 1);
    assert_int_equal(out[0], 103);
    /* Only late: it fills the hole when it comes, ending the frame. */
    cq_nack_tracker_on_frame_packet(&t, 103, true, 1500000);
    assert_false(cq_nack_tracker_pending(&t));
    assert_int_equal(t.recovered, 2);
    assert_int_equal(cq_nack_tracker_poll(&t, 3000000, 0, out, 16), 0);
    /* A frame that goes on in time, then ends. */
    cq_nack_tracker_on_frame_packet(&t, 104, false, 4000000);
    cq_nack_tracker_on_frame_packet(&t, 105, false, 4000000 + CQ_NACK_TAIL_US - 1000);
    assert_int_equal(cq_nack_tracker_poll(&t, 4000000 + CQ_NACK_TAIL_US + 1000, 0, out, 16), 0);
    cq_nack_tracker_on_frame_packet(&t, 106, true, 4000000 + CQ_NACK_TAIL_US + 2000);
    assert_int_equal(cq_nack_tracker_poll(&t, 5000000, 0, out, 16), 0);
    /* An older packet without its marker (reordered) opens nothing. */
    cq_nack_tracker_on_frame_packet(&t, 108, true, 6000000);
    cq_nack_tracker_on_frame_packet(&t, 107, false, 6000000);
    assert_int_equal(cq_nack_tracker_poll(&t, 7000000, 0, out, 16), 0);
    assert_int_equal(t.tails, 2);
    assert_int_equal(t.given_up, 0);
    /* Switched off (tail_us 0), an unfinished frame waits for a gap. */
    t.tail_us = 0;
    cq_nack_tracker_on_frame_packet(&t, 109, false, 8000000);
    assert_int_equal(cq_nack_tracker_poll(&t, 9000000, 0, out, 16), 0);
}

static void test_nack_tracker_huge_gap_wants_keyframe(void **state) {
    (void)state;
    cq_nack_tracker_t t;
    cq_nack_tracker_init(&t);
    uint16_t out[4];
    cq_nack_tracker_on_packet(&t, 1, 0);
    cq_nack_tracker_on_packet(&t, 3, 0);
    cq_nack_tracker_on_packet(&t, 3 + CQ_NACK_TRACKER_SIZE, 0);
    assert_true(t.keyframe_needed);
    assert_int_equal(t.missing, 0);
    assert_int_equal(cq_nack_tracker_poll(&t, 100000, 0, out, 4), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nack_tracker_single_loss_held_then_retried),
        cmocka_unit_test(test_nack_tracker_long_round_trip_asks_twice),
        cmocka_unit_test(test_nack_tracker_unknown_round_trip_guessed),
        cmocka_unit_test(test_nack_tracker_reordering_within_hold),
        cmocka_unit_test(test_nack_tracker_burst_across_wrap_and_cap),
        cmocka_unit_test(test_nack_tracker_gives_up_by_count_and_age),
        cmocka_unit_test(test_nack_tracker_frame_tail),
        cmocka_unit_test(test_nack_tracker_huge_gap_wants_keyframe),
    };
    return cmocka_run_group_tests_name("rtp/nack_tracker", tests, NULL, NULL);
}
