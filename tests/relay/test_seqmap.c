#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/seqmap.h"
#include "rtp/error.h"
#include "support/test_rand.h"

static uint32_t fwd(cq_seqmap_t *m, uint32_t in) {
    uint32_t out = 0xdeadbeef;
    assert_int_equal(cq_seqmap_forward(m, in, &out), 0);
    return out;
}

static void test_seqmap_needs_a_run(void **state) {
    (void)state;
    cq_seqmap_t m;
    cq_seqmap_init(&m);
    uint32_t out;
    assert_int_equal(cq_seqmap_forward(&m, 5, &out), CQ_EBADSTATE);
    assert_int_equal(cq_seqmap_drop(&m, 5), CQ_EBADSTATE);
    assert_int_equal(cq_seqmap_restart(&m, 5, 0), CQ_EINVAL);
    assert_int_equal(cq_seqmap_restart(&m, 5, 17), CQ_EINVAL);
}

/* The first run keeps the publisher's numbers; losses stay visible as gaps. */
static void test_seqmap_forward_first_run_is_identity(void **state) {
    (void)state;
    cq_seqmap_t m;
    cq_seqmap_init(&m);
    assert_int_equal(cq_seqmap_restart(&m, 1000, 16), 0);
    assert_int_equal(fwd(&m, 1000), 1000);
    assert_int_equal(fwd(&m, 1001), 1001);
    assert_int_equal(fwd(&m, 1004), 1004); /* 1002, 1003 lost */
    assert_int_equal(fwd(&m, 1003), 1003); /* a repair fills its own hole */
    assert_int_equal(fwd(&m, 1004), 1004); /* the newest again: same number */
    uint32_t out;
    assert_int_equal(cq_seqmap_forward(&m, 999, &out), CQ_EREPLAY); /* before the run */
}

/* Dropped packets leave no hole; late packets get the number they would have had. */
static void test_seqmap_drop_closes_up(void **state) {
    (void)state;
    cq_seqmap_t m;
    cq_seqmap_init(&m);
    assert_int_equal(cq_seqmap_restart(&m, 10, 16), 0);
    assert_int_equal(fwd(&m, 10), 10);
    /* 11 lost, 12 dropped, 13 forwarded: 11 keeps its number (a visible gap). */
    assert_int_equal(cq_seqmap_drop(&m, 12), 0);
    assert_int_equal(fwd(&m, 13), 12);
    assert_int_equal(fwd(&m, 11), 11);
    assert_int_equal(cq_seqmap_drop(&m, 12), 0); /* again: nothing changes */
    uint32_t out;
    assert_int_equal(cq_seqmap_forward(&m, 12, &out), CQ_ENOENT); /* it was dropped */
    assert_int_equal(fwd(&m, 14), 13);
    /* A drop arriving after numbers were given past it cannot close its hole. */
    assert_int_equal(fwd(&m, 16), 15);
    assert_int_equal(cq_seqmap_drop(&m, 15), CQ_EREPLAY);
    assert_int_equal(fwd(&m, 17), 16);
}

/* A new run continues from the highest number given, whatever the new source's numbers,
 * across the 16-bit wrap on either side. */
static void test_seqmap_restart_continues_across_wrap(void **state) {
    (void)state;
    cq_seqmap_t m;
    cq_seqmap_init(&m);
    assert_int_equal(cq_seqmap_restart(&m, 65530, 16), 0);
    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(fwd(&m, (65530 + i) & 0xffff), (65530 + i) & 0xffff);
    /* Last given: 3. The new source is at 65534 and wraps itself two packets later. */
    assert_int_equal(cq_seqmap_restart(&m, 65534, 16), 0);
    assert_int_equal(fwd(&m, 65534), 4);
    assert_int_equal(fwd(&m, 65535), 5);
    assert_int_equal(fwd(&m, 0), 6);
    assert_int_equal(cq_seqmap_drop(&m, 1), 0);
    assert_int_equal(fwd(&m, 2), 7);
    uint32_t out;
    assert_int_equal(cq_seqmap_forward(&m, 65533, &out), CQ_EREPLAY); /* old source era */
    /* And back to a source far away in the space. */
    assert_int_equal(cq_seqmap_restart(&m, 40000, 16), 0);
    assert_int_equal(fwd(&m, 40000), 8);
}

/* PictureIDs: 15 bits wrap at 32768, and packets of one frame share a number. */
static void test_seqmap_picture_id_15_bit_wrap(void **state) {
    (void)state;
    cq_seqmap_t m;
    cq_seqmap_init(&m);
    assert_int_equal(cq_seqmap_restart(&m, 32766, 15), 0);
    assert_int_equal(fwd(&m, 32766), 32766);
    assert_int_equal(fwd(&m, 32766), 32766);
    assert_int_equal(cq_seqmap_drop(&m, 32767), 0); /* a whole frame dropped, */
    assert_int_equal(cq_seqmap_drop(&m, 32767), 0); /* packet after packet */
    assert_int_equal(fwd(&m, 0), 32767);
    assert_int_equal(fwd(&m, 1), 0);
    /* Switch to a 7-bit source: the next number is 1 in the 7-bit space. */
    assert_int_equal(cq_seqmap_restart(&m, 100, 7), 0);
    assert_int_equal(fwd(&m, 100), 1);
    assert_int_equal(fwd(&m, 127), 28);
    assert_int_equal(fwd(&m, 0), 29);
}

/* A long run without drops stays numbered correctly however often it wraps, and a
 * forgotten drop makes older inputs refused, not misnumbered. */
static void test_seqmap_long_run_and_forgotten_drops(void **state) {
    (void)state;
    cq_seqmap_t m;
    cq_seqmap_init(&m);
    assert_int_equal(cq_seqmap_restart(&m, 0, 16), 0);
    for (uint32_t i = 0; i < 200000; i++)
        assert_int_equal(fwd(&m, i & 0xffff), i & 0xffff);
    /* A late packet 100 behind still maps exactly, 200000 packets into the run. */
    assert_int_equal(fwd(&m, (200000 - 100) & 0xffff), (200000 - 100) & 0xffff);

    cq_seqmap_init(&m);
    assert_int_equal(cq_seqmap_restart(&m, 0, 16), 0);
    uint32_t in = 0;
    for (unsigned i = 0; i < CQ_SEQMAP_DROPS + 1; i++) {
        fwd(&m, in++);
        assert_int_equal(cq_seqmap_drop(&m, in++), 0);
    }
    /* The first drop (input 1) is forgotten: input 0 and 1 can no longer be numbered,
     * input 2 (after it) still can. */
    uint32_t out;
    assert_int_equal(cq_seqmap_forward(&m, 0, &out), CQ_EREPLAY);
    assert_int_equal(fwd(&m, 2), 1);
}

/*
 * A model check: a stream with drops, losses and late packets, over several runs and
 * the wrap. Within a run, input i must get start + (how many inputs of the run before i
 * were not dropped): drops close up, losses stay as holes, late packets land where they
 * belong.
 */
static void test_seqmap_model(void **state) {
    (void)state;
    cq_test_rand_t rng = {42};
    cq_seqmap_t m;
    cq_seqmap_init(&m);
    uint32_t next_out = 0;
    bool any = false;
    for (int run = 0; run < 20; run++) {
        uint32_t first = cq_test_rand_u32(&rng) & 0xffff;
        assert_int_equal(cq_seqmap_restart(&m, first, 16), 0);
        uint32_t start = any ? next_out : first;
        enum { FORWARD, DROP, LOST } fate[600];
        uint32_t expect[600];
        uint32_t kept = 0;
        for (int i = 0; i < 600; i++) {
            uint64_t r = cq_test_rand_below(&rng, 100);
            /* A run starts with the keyframe it switched on. */
            fate[i] = i == 0 ? FORWARD : r < 15 ? DROP : r < 20 ? LOST : FORWARD;
            expect[i] = (start + kept) & 0xffff;
            if (fate[i] != DROP)
                kept++;
        }
        /* Arrival: in order, except that some forwarded packets come up to 30 late. */
        int delayed[600], ndelayed = 0;
        for (int i = 0; i < 600; i++) {
            for (int k = 0; k < ndelayed; k++) {
                if (delayed[k] + 30 <= i || cq_test_rand_below(&rng, 8) == 0) {
                    int j = delayed[k];
                    assert_int_equal(fwd(&m, (first + (uint32_t)j) & 0xffff), expect[j]);
                    delayed[k--] = delayed[--ndelayed];
                }
            }
            uint32_t in = (first + (uint32_t)i) & 0xffff;
            if (fate[i] == DROP)
                assert_int_equal(cq_seqmap_drop(&m, in), 0);
            else if (fate[i] == FORWARD && i > 0 && cq_test_rand_below(&rng, 10) == 0)
                delayed[ndelayed++] = i;
            else if (fate[i] == FORWARD)
                assert_int_equal(fwd(&m, in), expect[i]);
        }
        for (int k = 0; k < ndelayed; k++)
            assert_int_equal(fwd(&m, (first + (uint32_t)delayed[k]) & 0xffff), expect[delayed[k]]);
        /* The next run continues after the highest number actually given: the last
         * forwarded input's (trailing losses were never numbered on the wire). */
        int last = 599;
        while (fate[last] != FORWARD)
            last--;
        next_out = (expect[last] + 1) & 0xffff;
        any = true;
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seqmap_needs_a_run),
        cmocka_unit_test(test_seqmap_forward_first_run_is_identity),
        cmocka_unit_test(test_seqmap_drop_closes_up),
        cmocka_unit_test(test_seqmap_restart_continues_across_wrap),
        cmocka_unit_test(test_seqmap_picture_id_15_bit_wrap),
        cmocka_unit_test(test_seqmap_long_run_and_forgotten_drops),
        cmocka_unit_test(test_seqmap_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
