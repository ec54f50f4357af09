/* The video pacer: packets leave in order at the rate asked, after a burst allowance; the
 * ring's limit drops rather than grows; next() says when to look again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/pacer.h"
#include "rtp/error.h"

static cq_pacer_t pacer;

static void push_n(unsigned n, size_t len, uint64_t now) {
    uint8_t pkt[CQ_PACER_MTU];
    for (unsigned i = 0; i < n; i++) {
        memset(pkt, (int)i, len);
        assert_int_equal(cq_pacer_push(&pacer, pkt, len, now), 0);
    }
}

/* 40 packets of 1000 bytes at 400 kbit/s (20 ms each): the burst allowance (2600 bytes)
 * lets three start at once, then one leaves every 20 ms, in order: the whole frame takes
 * about 730 ms, not 0. */
static void test_paced_in_order_at_the_rate(void **state) {
    (void)state;
    cq_pacer_init(&pacer, 400000, 0);
    push_n(40, 1000, 1000000);
    unsigned out = 0;
    uint64_t last_at = 0;
    for (uint64_t t = 1000000; t <= 2000000 && out < 40; t += 1000) {
        const uint8_t *pkt;
        size_t len;
        while ((len = cq_pacer_pop(&pacer, t, &pkt)) > 0) {
            assert_int_equal(len, 1000);
            assert_int_equal(pkt[0], (uint8_t)out); /* order kept */
            out++;
            last_at = t;
        }
    }
    assert_int_equal(out, 40);
    /* The last of 37 paced packets: 8 ms (the debt of the third) + 36 x 20 ms. */
    assert_true(last_at - 1000000 >= 727000 && last_at - 1000000 <= 731000);
    assert_true(pacer.max_delay_us >= 727000);
    assert_int_equal(pacer.sent, 40);
}

/* After a pause, the burst (two packets) leaves at once; not a third. */
static void test_burst_after_idle(void **state) {
    (void)state;
    cq_pacer_init(&pacer, 100000, 0);
    const uint8_t *pkt;
    push_n(1, 1000, 0);
    assert_true(cq_pacer_pop(&pacer, 0, &pkt) > 0);
    push_n(4, 1000, 5000000); /* five seconds later */
    unsigned now_out = 0;
    while (cq_pacer_pop(&pacer, 5000000, &pkt) > 0)
        now_out++;
    assert_int_equal(now_out, 3); /* credit of a full burst (2600 bytes): three may start */
    uint64_t at;
    assert_true(cq_pacer_next(&pacer, 5000000, &at));
    assert_true(at > 5000000); /* in debt: later */
    assert_int_equal(cq_pacer_pop(&pacer, at - 1000, &pkt), 0);
    assert_true(cq_pacer_pop(&pacer, at, &pkt) > 0);
    assert_false(cq_pacer_next(&pacer, at, &at));
}

static void test_limits(void **state) {
    (void)state;
    cq_pacer_init(&pacer, 1000, 0); /* 1 kbit/s: nothing drains */
    uint8_t big[CQ_PACER_MTU + 1] = {0};
    assert_int_equal(cq_pacer_push(&pacer, big, sizeof big, 0), CQ_EINVAL);
    assert_int_equal(cq_pacer_push(&pacer, big, 0, 0), CQ_EINVAL);
    push_n(CQ_PACER_PACKETS, 100, 0);
    assert_int_equal(cq_pacer_push(&pacer, big, 100, 0), CQ_ENOBUFS);
    assert_int_equal(pacer.dropped, 1);
    /* A new rate takes effect for what waits. */
    cq_pacer_set_rate(&pacer, 8000000);
    const uint8_t *pkt;
    unsigned out = 0;
    while (cq_pacer_pop(&pacer, 1000000, &pkt) > 0)
        out++;
    assert_true(out >= 2);
}

/* A keyframe asked for on one stream: its packets leave the queue, the others keep their
 * order. */
static void test_drop_ssrc(void **state) {
    (void)state;
    cq_pacer_init(&pacer, 1000, 0);
    uint8_t pkt[100] = {0x80, 96};
    for (unsigned i = 0; i < 10; i++) {
        uint32_t ssrc = i % 2 ? 0x22222222u : 0x11111111u;
        pkt[8] = (uint8_t)(ssrc >> 24), pkt[9] = (uint8_t)(ssrc >> 16);
        pkt[10] = (uint8_t)(ssrc >> 8), pkt[11] = (uint8_t)ssrc;
        pkt[20] = (uint8_t)i;
        assert_int_equal(cq_pacer_push(&pacer, pkt, sizeof pkt, 0), 0);
    }
    assert_int_equal(cq_pacer_drop_ssrc(&pacer, 0x22222222u), 5);
    assert_int_equal(pacer.count, 5);
    assert_int_equal(pacer.flushed, 5);
    cq_pacer_set_rate(&pacer, 100000000);
    const uint8_t *out;
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(cq_pacer_pop(&pacer, 1000000u + i, &out), sizeof pkt);
        assert_int_equal(out[20], 2 * i); /* the even ones, in order */
    }
    assert_int_equal(cq_pacer_drop_ssrc(&pacer, 0x11111111u), 0);
}

/* Held past the age (the congestion window stopped video): the old ones go, counted; the
 * younger ones leave in order. */
static void test_drop_stale(void **state) {
    (void)state;
    cq_pacer_init(&pacer, 100000000, 0);
    uint8_t pkt[100] = {0x80, 96};
    for (unsigned i = 0; i < 6; i++) {
        pkt[20] = (uint8_t)i;
        assert_int_equal(cq_pacer_push(&pacer, pkt, sizeof pkt, 1000000u + i * 100000u), 0);
    }
    assert_int_equal(cq_pacer_drop_stale(&pacer, 2000000u, 1000000u), 0); /* none over */
    assert_int_equal(cq_pacer_drop_stale(&pacer, 2250000u, 1000000u), 3);
    assert_int_equal(pacer.stale, 3);
    assert_int_equal(pacer.count, 3);
    const uint8_t *out;
    for (unsigned i = 3; i < 6; i++) {
        assert_int_equal(cq_pacer_pop(&pacer, 2250000u, &out), sizeof pkt);
        assert_int_equal(out[20], i);
    }
    assert_int_equal(cq_pacer_drop_stale(&pacer, 9000000u, 1000000u), 0); /* empty */
}

/* A repair goes ahead of the video waiting, behind the repairs before it, and takes the
 * pace's credit as video does; a PLI's flush and the age limit reach both queues; with
 * the repairs' queue full, a repair waits as video. */
static void test_repairs_first(void **state) {
    (void)state;
    cq_pacer_init(&pacer, 100000, 200); /* 100-byte packets: one every 8 ms, two at once */
    uint8_t pkt[100] = {0x80, 96, 0, 0, 0, 0, 0, 0, 0x11, 0x11, 0x11, 0x11};
    const uint8_t *out;
    for (unsigned i = 0; i < 10; i++) {
        pkt[20] = (uint8_t)i;
        assert_int_equal(cq_pacer_push(&pacer, pkt, sizeof pkt, 0), 0);
    }
    unsigned first = 0;
    while (cq_pacer_pop(&pacer, 0, &out) > 0)
        assert_int_equal(out[20], first++);
    assert_int_equal(first, 2);
    pkt[1] = 97;
    pkt[11] = 0x22; /* the RTX stream */
    for (unsigned i = 0; i < 2; i++) {
        pkt[20] = (uint8_t)(100 + i);
        assert_int_equal(cq_pacer_push_repair(&pacer, pkt, sizeof pkt, 0), 0);
    }
    assert_int_equal(pacer.count, 10);
    assert_int_equal(pacer.repairs_queued, 2);
    uint64_t at;
    assert_true(cq_pacer_next(&pacer, 0, &at));
    assert_true(at > 0); /* no credit: the repair waits for the pace, too */
    assert_int_equal(cq_pacer_pop(&pacer, at, &out), sizeof pkt);
    assert_int_equal(out[20], 100);
    assert_true(cq_pacer_next(&pacer, at, &at));
    assert_int_equal(cq_pacer_pop(&pacer, at, &out), sizeof pkt);
    assert_int_equal(out[20], 101);
    assert_true(cq_pacer_next(&pacer, at, &at));
    assert_int_equal(cq_pacer_pop(&pacer, at, &out), sizeof pkt);
    assert_int_equal(out[20], 2); /* then the video, where it was */

    /* A flush of the RTX stream reaches the repairs; of the video stream, the video. */
    pkt[20] = 102;
    assert_int_equal(cq_pacer_push_repair(&pacer, pkt, sizeof pkt, 2000), 0);
    assert_int_equal(cq_pacer_drop_ssrc(&pacer, 0x11111122u), 1);
    assert_int_equal(pacer.repairs.count, 0);
    assert_int_equal(pacer.count, 7);
    /* Old repairs are stale as old video is. */
    assert_int_equal(cq_pacer_push_repair(&pacer, pkt, sizeof pkt, 2000), 0);
    assert_int_equal(cq_pacer_drop_stale(&pacer, 2000000, 1000000), 8);
    assert_int_equal(pacer.count, 0);

    /* The repairs' queue full: the next waits behind the video. */
    for (unsigned i = 0; i < CQ_PACER_REPAIRS; i++)
        assert_int_equal(cq_pacer_push_repair(&pacer, pkt, sizeof pkt, 3000000), 0);
    pkt[20] = 7;
    assert_int_equal(cq_pacer_push(&pacer, pkt, sizeof pkt, 3000000), 0);
    pkt[20] = 103;
    assert_int_equal(cq_pacer_push_repair(&pacer, pkt, sizeof pkt, 3000000), 0);
    assert_int_equal(pacer.video.count, 2);
    cq_pacer_set_rate(&pacer, 100000000);
    unsigned n = 0;
    uint8_t last = 0, before = 0;
    while (cq_pacer_pop(&pacer, 4000000 + 1000 * n, &out) > 0) {
        before = last;
        last = out[20];
        n++;
    }
    assert_int_equal(n, CQ_PACER_REPAIRS + 2);
    assert_int_equal(before, 7);
    assert_int_equal(last, 103);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paced_in_order_at_the_rate),
        cmocka_unit_test(test_burst_after_idle),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_drop_ssrc),
        cmocka_unit_test(test_drop_stale),
        cmocka_unit_test(test_repairs_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
