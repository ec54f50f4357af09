#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "rtp/seq.h"
#include "support/test_rand.h"

static void test_seq_diff_wrap_65535_to_0(void **state) {
    (void)state;
    assert_int_equal(cq_seq_diff(0, 65535), 1);
    assert_int_equal(cq_seq_diff(65535, 0), -1);
    assert_true(cq_seq_newer(0, 65535));
    assert_false(cq_seq_newer(65535, 0));
    assert_int_equal(cq_seq_diff(5, 65530), 11);
    assert_int_equal(cq_seq_diff(65530, 5), -11);
    assert_int_equal(cq_seq_diff(1234, 1234), 0);
    assert_false(cq_seq_newer(1234, 1234));
}

static void test_seq_diff_half_range_edges(void **state) {
    (void)state;
    /* Just inside half the space either way: unambiguous. */
    assert_int_equal(cq_seq_diff(0x7fff, 0), 32767);
    assert_int_equal(cq_seq_diff(0, 0x7fff), -32767);
    assert_int_equal(cq_seq_diff(0x8001, 0), -32767);
    assert_int_equal(cq_seq_diff(0, 0x8001), 32767);
    /* Exactly half: the numerically larger value is the newer one, so exactly one of the
     * pair is newer and the distance stays antisymmetric. */
    assert_int_equal(cq_seq_diff(0x8000, 0), 32768);
    assert_int_equal(cq_seq_diff(0, 0x8000), -32768);
    assert_true(cq_seq_newer(0x8000, 0));
    assert_false(cq_seq_newer(0, 0x8000));
    assert_int_equal(cq_seq_diff(0xffff, 0x7fff), 32768);
    assert_int_equal(cq_seq_diff(0x7fff, 0xffff), -32768);
    assert_true(cq_seq_newer(0xffff, 0x7fff));
}

/* Over many random pairs: b + diff(a, b) == a, diff is antisymmetric, within bounds, and
 * exactly one of two different values is newer. */
static void test_seq_diff_properties_random_pairs(void **state) {
    (void)state;
    cq_test_rand_t r = {.state = 0x5e9d1ffULL};
    for (int i = 0; i < 200000; i++) {
        uint16_t a = (uint16_t)cq_test_rand_u32(&r);
        uint16_t b = (uint16_t)cq_test_rand_u32(&r);
        if (i % 4 == 0)
            b = (uint16_t)(a + 0x8000); /* make the tie common */
        int32_t d = cq_seq_diff(a, b);
        if ((uint16_t)(b + (uint16_t)d) != a || d != -cq_seq_diff(b, a) || d < -32768 ||
            d > 32768 || (a != b && cq_seq_newer(a, b) == cq_seq_newer(b, a))) {
            fail_msg("iteration %d: a=%u b=%u diff=%d", i, a, b, (int)d);
        }
    }
}

static void test_seq_ts_diff_wrap_and_half_range(void **state) {
    (void)state;
    assert_int_equal(cq_ts_diff(0, 0xffffffffu), 1);
    assert_int_equal(cq_ts_diff(0xffffffffu, 0), -1);
    assert_int_equal(cq_ts_diff(1500, 0xfffffc18u), 2500); /* 90 kHz frame step across 0 */
    assert_true(cq_ts_newer(1500, 0xfffffc18u));
    assert_int_equal(cq_ts_diff(0x7fffffffu, 0), 0x7fffffff);
    assert_int_equal(cq_ts_diff(0x80000001u, 0), -0x7fffffff);
    assert_true(cq_ts_diff(0x80000000u, 0) == 2147483648LL);
    assert_true(cq_ts_diff(0, 0x80000000u) == -2147483648LL);
    assert_true(cq_ts_newer(0x80000000u, 0));
    assert_false(cq_ts_newer(0, 0x80000000u));
    assert_false(cq_ts_newer(42, 42));

    cq_test_rand_t r = {.state = 0x7157ULL};
    for (int i = 0; i < 200000; i++) {
        uint32_t a = cq_test_rand_u32(&r);
        uint32_t b = i % 4 == 0 ? a + 0x80000000u : cq_test_rand_u32(&r);
        int64_t d = cq_ts_diff(a, b);
        if ((uint32_t)(b + (uint32_t)(uint64_t)d) != a || d != -cq_ts_diff(b, a) ||
            (a != b && cq_ts_newer(a, b) == cq_ts_newer(b, a)))
            fail_msg("iteration %d: a=%u b=%u", i, a, b);
    }
}

static void test_seq_unwrap_first_packet_is_itself(void **state) {
    (void)state;
    cq_seq_unwrapper_t u;
    cq_seq_unwrapper_init(&u);
    assert_false(u.started);
    assert_int_equal(cq_seq_unwrap_peek(&u, 65535), 65535);
    assert_false(u.started); /* peek changes nothing */
    assert_int_equal(cq_seq_unwrap(&u, 65535), 65535);
    assert_true(u.started);
    assert_int_equal(u.highest, 65535);
    /* The very next packet is in the next cycle. */
    assert_int_equal(cq_seq_unwrap(&u, 0), 65536);
    assert_int_equal(u.highest, 65536);

    cq_seq_unwrapper_init(&u);
    assert_int_equal(cq_seq_unwrap(&u, 0), 0);
    assert_int_equal(cq_seq_unwrap(&u, 1), 1);
}

static void test_seq_unwrap_late_packets_across_wrap(void **state) {
    (void)state;
    cq_seq_unwrapper_t u;
    cq_seq_unwrapper_init(&u);
    assert_int_equal(cq_seq_unwrap(&u, 65533), 65533);
    assert_int_equal(cq_seq_unwrap(&u, 65535), 65535); /* 65534 missing */
    assert_int_equal(cq_seq_unwrap(&u, 1), 65537);     /* 0 missing, wrapped */
    /* Late packets from before the wrap: smaller values, highest stays. */
    assert_int_equal(cq_seq_unwrap(&u, 65534), 65534);
    assert_int_equal(u.highest, 65537);
    assert_int_equal(cq_seq_unwrap(&u, 0), 65536);
    assert_int_equal(u.highest, 65537);
    /* A duplicate of the highest. */
    assert_int_equal(cq_seq_unwrap(&u, 1), 65537);
    assert_int_equal(cq_seq_unwrap(&u, 2), 65538);

    /* The reverse: the highest is just before the wrap and a packet from after it arrives
     * early, then late ones from before it. */
    cq_seq_unwrapper_init(&u);
    assert_int_equal(cq_seq_unwrap(&u, 65500), 65500);
    assert_int_equal(cq_seq_unwrap(&u, 3), 65539);
    assert_int_equal(cq_seq_unwrap(&u, 65535), 65535);
    assert_int_equal(cq_seq_unwrap(&u, 65501), 65501);
    assert_int_equal(u.highest, 65539);
}

static void test_seq_unwrap_older_than_first_goes_negative(void **state) {
    (void)state;
    cq_seq_unwrapper_t u;
    cq_seq_unwrapper_init(&u);
    assert_int_equal(cq_seq_unwrap(&u, 0), 0);
    assert_int_equal(cq_seq_unwrap(&u, 65535), -1);
    assert_int_equal(cq_seq_unwrap(&u, 65000), -536);
    assert_int_equal(u.highest, 0);
    assert_int_equal(cq_seq_unwrap(&u, 1), 1);
}

static void test_seq_unwrap_half_range_ambiguity(void **state) {
    (void)state;
    cq_seq_unwrapper_t u;
    cq_seq_unwrapper_init(&u);
    assert_int_equal(cq_seq_unwrap(&u, 0), 0);
    /* Exactly half ahead and numerically larger: taken as a jump forward. */
    assert_int_equal(cq_seq_unwrap(&u, 0x8000), 0x8000);
    assert_int_equal(u.highest, 0x8000);
    /* 0 is now exactly half away and smaller: it is the past, not the next cycle. */
    assert_int_equal(cq_seq_unwrap(&u, 0), 0);
    assert_int_equal(u.highest, 0x8000);
    /* One past half behind the highest reads as ahead. */
    assert_int_equal(cq_seq_unwrap(&u, 0xffff), 0xffff);
    /* Now 0x7fff is exactly half behind 0xffff and numerically smaller: late. */
    assert_int_equal(cq_seq_unwrap(&u, 0x7fff), 0x7fff);
    assert_int_equal(u.highest, 0xffff);
    assert_int_equal(cq_seq_unwrap(&u, 0x7ffe), 0x10000 + 0x7ffe);
}

/*
 * Property test against a 64-bit model: a stream whose true sequence numbers walk
 * forward over many wraps with random gaps, duplicates and reordering (every packet
 * within 32767 of the highest so far), fed as 16-bit values. The unwrapper must give back
 * the true value less the constant offset of the first packet's cycle, and its highest
 * must be the true highest the same way.
 */
static void test_seq_unwrap_matches_64bit_model(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        cq_test_rand_t r = {.state = seed * 0x9e3779b9ULL};
        int64_t truth = (int64_t)cq_test_rand_u32(&r) + ((int64_t)1 << 33);
        int64_t offset = truth - (truth & 0xffff);
        int64_t max = truth;
        cq_seq_unwrapper_t u;
        cq_seq_unwrapper_init(&u);
        assert_int_equal(cq_seq_unwrap(&u, (uint16_t)truth), truth - offset);
        for (int i = 0; i < 50000; i++) {
            uint32_t kind = cq_test_rand_below(&r, 100);
            int64_t t;
            if (kind < 60)
                t = max + 1; /* in order */
            else if (kind < 75)
                t = max + 1 + cq_test_rand_below(&r, 300); /* a burst lost */
            else if (kind < 80)
                t = max + 1 + cq_test_rand_below(&r, 32767); /* a long outage */
            else if (kind < 97)
                t = max - cq_test_rand_below(&r, 200); /* late or duplicate */
            else
                t = max - cq_test_rand_below(&r, 32768); /* very late, up to the limit */
            int64_t got = cq_seq_unwrap(&u, (uint16_t)t);
            if (t > max)
                max = t;
            if (got != t - offset || u.highest != max - offset)
                fail_msg("seed %llu iteration %d: true %lld -> %lld, highest %lld want %lld",
                         (unsigned long long)seed, i, (long long)(t - offset), (long long)got,
                         (long long)u.highest, (long long)(max - offset));
        }
        /* Many wraps were crossed. */
        assert_true((max - offset) >> 16 > 100);
    }
}

static void test_seq_ts_unwrap_first_and_wrap(void **state) {
    (void)state;
    cq_ts_unwrapper_t u;
    cq_ts_unwrapper_init(&u);
    assert_int_equal(cq_ts_unwrap_peek(&u, 0xfffff000u), 0xfffff000u);
    assert_true(cq_ts_unwrap(&u, 0xfffff000u) == 0xfffff000LL);
    /* Two 30 fps frames later at 90 kHz, across the wrap (the field reads 1904). */
    assert_true(cq_ts_unwrap(&u, 0xfffff000u + 6000u) == 0xfffff000LL + 6000);
    assert_true(u.highest == 0xfffff000LL + 6000);
    /* A late packet of the frame before the wrap. */
    assert_true(cq_ts_unwrap(&u, 0xfffff000u) == 0xfffff000LL);
    assert_true(u.highest == 0xfffff000LL + 6000);
    /* Older than the first packet: negative. */
    cq_ts_unwrapper_init(&u);
    assert_true(cq_ts_unwrap(&u, 100) == 100);
    assert_true(cq_ts_unwrap(&u, 0xffffff00u) == -256);
    assert_true(u.highest == 100);
    /* Exactly half: larger is newer. */
    assert_true(cq_ts_unwrap(&u, 100u + 0x80000000u) == 100LL + 0x80000000LL);
    assert_true(cq_ts_unwrap(&u, 100) == 100);
}

static void test_seq_ts_unwrap_matches_64bit_model(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        cq_test_rand_t r = {.state = seed * 0xdeadbeefULL};
        int64_t truth = (int64_t)cq_test_rand_u32(&r) + ((int64_t)5 << 32);
        int64_t offset = truth - (truth & 0xffffffffLL);
        int64_t max = truth;
        cq_ts_unwrapper_t u;
        cq_ts_unwrapper_init(&u);
        assert_true(cq_ts_unwrap(&u, (uint32_t)truth) == truth - offset);
        for (int i = 0; i < 20000; i++) {
            uint32_t kind = cq_test_rand_below(&r, 10);
            int64_t t;
            if (kind < 6) /* frames of a few ms to tens of seconds apart, up to the limit */
                t = max + (int64_t)cq_test_rand_below(&r, (kind + 1) * 0x15555555u);
            else if (kind < 9)
                t = max - (int64_t)cq_test_rand_below(&r, 90000 * 5);
            else
                t = max - (int64_t)cq_test_rand_below(&r, 0x80000000u);
            int64_t got = cq_ts_unwrap(&u, (uint32_t)t);
            if (t > max)
                max = t;
            if (got != t - offset || u.highest != max - offset)
                fail_msg("seed %llu iteration %d: true %lld got %lld", (unsigned long long)seed, i,
                         (long long)(t - offset), (long long)got);
        }
        assert_true((max - offset) >> 32 > 100);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seq_diff_wrap_65535_to_0),
        cmocka_unit_test(test_seq_diff_half_range_edges),
        cmocka_unit_test(test_seq_diff_properties_random_pairs),
        cmocka_unit_test(test_seq_ts_diff_wrap_and_half_range),
        cmocka_unit_test(test_seq_unwrap_first_packet_is_itself),
        cmocka_unit_test(test_seq_unwrap_late_packets_across_wrap),
        cmocka_unit_test(test_seq_unwrap_older_than_first_goes_negative),
        cmocka_unit_test(test_seq_unwrap_half_range_ambiguity),
        cmocka_unit_test(test_seq_unwrap_matches_64bit_model),
        cmocka_unit_test(test_seq_ts_unwrap_first_and_wrap),
        cmocka_unit_test(test_seq_ts_unwrap_matches_64bit_model),
    };
    return cmocka_run_group_tests_name("rtp/seq", tests, NULL, NULL);
}
