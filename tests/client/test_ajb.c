/*
 * The audio jitter buffer against simulated links: steady, jittery (with the reordering
 * jitter brings), lossy, and a sender that goes silent (DTX). Packets are real Opus
 * packets of 20 ms; the playout asks for a frame every 20 ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/ajb.h"
#include "rtp/error.h"
#include "support/test_rand.h"

static cq_ajb_t jb;

typedef struct {
    int64_t at_us;
    uint16_t seq;
    uint32_t ts;
} arrival_t;

/* A 20 ms Opus packet (TOC config 9: SILK wideband 20 ms, one frame) tagged with k. */
static size_t opus_packet(uint8_t *p, uint32_t k) {
    p[0] = 9 << 3;
    memcpy(p + 1, &k, sizeof k);
    return 1 + sizeof k;
}

typedef struct {
    int played, fec, concealed, stretched, gaps, late, wait, wrong_order;
    uint32_t last_k;
} tally_t;

/*
 * Sends n packets every 20 ms over a link of base_ms delay plus up to jitter_ms, losing
 * those where lost(k) says so, and plays for n + 50 frames, checking that what plays is in
 * order.
 */
static void simulate(uint32_t n, unsigned base_ms, unsigned jitter_ms, int loss_every,
                     uint32_t silent_from, uint32_t silent_to, tally_t *t) {
    static arrival_t arr[4096];
    cq_test_rand_t r = {99};
    size_t na = 0;
    for (uint32_t k = 0; k < n; k++) {
        if ((loss_every && k % (uint32_t)loss_every == 7) || (k >= silent_from && k < silent_to))
            continue;
        int64_t sent = (int64_t)k * 20000;
        arr[na++] =
            (arrival_t){sent + base_ms * 1000 + cq_test_rand_below(&r, jitter_ms + 1) * 1000,
                        (uint16_t)k, k * 960u};
    }
    /* Deliver in arrival order. */
    for (size_t i = 1; i < na; i++)
        for (size_t q = i; q > 0 && arr[q - 1].at_us > arr[q].at_us; q--) {
            arrival_t x = arr[q];
            arr[q] = arr[q - 1];
            arr[q - 1] = x;
        }
    cq_ajb_init(&jb);
    memset(t, 0, sizeof *t);
    size_t next = 0;
    for (int64_t now = 0; now < (int64_t)(n + 50) * 20000; now += 20000) {
        for (; next < na && arr[next].at_us <= now; next++) {
            uint8_t p[16];
            size_t len = opus_packet(p, arr[next].seq);
            if (cq_ajb_put(&jb, arr[next].seq, arr[next].ts, p, len, arr[next].at_us) == CQ_EREPLAY)
                t->late++;
        }
        const uint8_t *pkt;
        size_t len;
        unsigned samples;
        switch (cq_ajb_get(&jb, now, &pkt, &len, &samples)) {
        case CQ_AJB_WAIT:
            t->wait++;
            break;
        case CQ_AJB_PLAY: {
            uint32_t k;
            memcpy(&k, pkt + 1, sizeof k);
            if (t->played && k <= t->last_k)
                t->wrong_order++;
            t->last_k = k;
            t->played++;
            assert_int_equal(samples, 960);
            break;
        }
        case CQ_AJB_FEC:
            t->fec++;
            break;
        case CQ_AJB_CONCEAL:
            t->concealed++;
            break;
        case CQ_AJB_STRETCH:
            t->stretched++;
            break;
        case CQ_AJB_GAP:
            t->gaps++;
            break;
        }
    }
}

static void test_ajb_steady_link_keeps_the_minimum(void **state) {
    (void)state;
    tally_t t;
    simulate(500, 300, 0, 0, 0, 0, &t); /* VSAT-like: long but steady */
    assert_int_equal(cq_ajb_target_ms(&jb), CQ_AJB_MIN_MS);
    assert_int_equal(t.played, 500);
    assert_int_equal(t.late, 0);
    assert_int_equal(t.wrong_order, 0);
}

/* Jitter of 0-80 ms (which also reorders): the delay grows to cover it, and almost
 * nothing arrives too late. */
static void test_ajb_jittery_link(void **state) {
    (void)state;
    tally_t t;
    simulate(1000, 40, 80, 0, 0, 0, &t);
    assert_true(cq_ajb_target_ms(&jb) >= 80 && cq_ajb_target_ms(&jb) <= 120);
    /* The delay grew by frames made up on purpose, told apart from losses concealed. */
    assert_true(t.stretched >= 2);
    assert_true(t.late <= 20); /* 2 %: the first second, before the delay has grown */
    assert_true(t.played >= 970);
    assert_int_equal(t.wrong_order, 0);
}

/* One packet in ten lost: each loss is rebuilt from the next packet's FEC, which is there
 * in time on a steady link. */
static void test_ajb_losses_use_fec(void **state) {
    (void)state;
    tally_t t;
    simulate(500, 100, 0, 10, 0, 0, &t);
    assert_int_equal(t.played, 450);
    assert_int_equal(t.fec, 50);
    assert_int_equal(t.wrong_order, 0);
}

/* Two seconds of DTX silence: concealed while nothing comes, then the talk resumes at once
 * rather than after two seconds of catching up. */
static void test_ajb_silence_then_talk(void **state) {
    (void)state;
    tally_t t;
    simulate(400, 100, 10, 0, 100, 200, &t);
    assert_int_equal(t.played, 300);
    assert_true(t.gaps >= 90); /* the silence is gaps, not losses concealed */
    assert_int_equal(t.concealed, 0);
    assert_int_equal(t.late, 0);
    assert_int_equal(t.wrong_order, 0);
    uint8_t junk[2] = {0xff, 0xff};
    cq_ajb_init(&jb);
    assert_int_equal(cq_ajb_put(&jb, 1, 960, junk, 0, 0), CQ_EMALFORMED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ajb_steady_link_keeps_the_minimum),
        cmocka_unit_test(test_ajb_jittery_link),
        cmocka_unit_test(test_ajb_losses_use_fec),
        cmocka_unit_test(test_ajb_silence_then_talk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
