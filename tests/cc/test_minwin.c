/* The windowed minimum (cc/minwin.h): a value counts until its second leaves the window,
 * seconds without values add nothing, time going back counts in the newest second, and a
 * gap of a whole window starts over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cc/minwin.h"

#define S 1000000 /* a second, in microseconds */

static void test_minwin_least_until_its_second_leaves(void **state) {
    (void)state;
    cq_minwin_t w;
    cq_minwin_init(&w, 5);
    assert_true(cq_minwin_update(&w, 40, 10 * S) == 40);
    assert_true(cq_minwin_update(&w, 12, 10 * S + 500000) == 12);
    assert_true(cq_minwin_update(&w, 30, 11 * S) == 12);
    /* Second 10 is in the window up to second 14, and gone at 15. */
    assert_true(cq_minwin_update(&w, 50, 14 * S + 999999) == 12);
    assert_true(cq_minwin_update(&w, 50, 15 * S) == 30);
    assert_true(cq_minwin_update(&w, 50, 16 * S) == 50);
}

/* Seconds skipped between values hold nothing lower than the value that follows them. */
static void test_minwin_skipped_seconds(void **state) {
    (void)state;
    cq_minwin_t w;
    cq_minwin_init(&w, 5);
    cq_minwin_update(&w, 20, 0);
    assert_true(cq_minwin_update(&w, 60, 3 * S) == 20);
    assert_true(cq_minwin_update(&w, 70, 5 * S) == 60); /* second 0 left; 3 is still in */
    /* A gap of a whole window: only the new value. */
    assert_true(cq_minwin_update(&w, 90, 20 * S) == 90);
}

/* An arrival stamped earlier than the newest (reordered) counts in the newest second. */
static void test_minwin_time_back(void **state) {
    (void)state;
    cq_minwin_t w;
    cq_minwin_init(&w, 3);
    cq_minwin_update(&w, 50, 7 * S);
    assert_true(cq_minwin_update(&w, 10, 6 * S) == 10);
    assert_true(cq_minwin_update(&w, 40, 9 * S) == 10);
    assert_true(cq_minwin_update(&w, 40, 10 * S) == 40);
}

/* The window is kept within 1..CQ_MINWIN_MAX_SECONDS. */
static void test_minwin_bounds(void **state) {
    (void)state;
    cq_minwin_t w;
    cq_minwin_init(&w, 0);
    assert_int_equal(w.seconds, 1);
    cq_minwin_update(&w, 5, 0);
    assert_true(cq_minwin_update(&w, 9, S) == 9);
    cq_minwin_init(&w, 1000);
    assert_int_equal(w.seconds, CQ_MINWIN_MAX_SECONDS);
    cq_minwin_update(&w, 5, 0);
    assert_true(cq_minwin_update(&w, 9, (CQ_MINWIN_MAX_SECONDS - 1) * (int64_t)S) == 5);
    assert_true(cq_minwin_update(&w, 9, CQ_MINWIN_MAX_SECONDS * (int64_t)S) == 9);
}

/* Slots of six seconds: ten of them span a minute, and a value stays until its slot
 * leaves (the one of 0-6 s, at 60 s). A slot of zero is brought to a microsecond. */
static void test_minwin_coarse_slots(void **state) {
    (void)state;
    cq_minwin_t w;
    cq_minwin_init_slots(&w, 10, 6 * S);
    assert_true(cq_minwin_update(&w, 20, 5 * S) == 20);
    assert_true(cq_minwin_update(&w, 60, 30 * S) == 20);
    assert_true(cq_minwin_update(&w, 70, 59 * S) == 20);
    assert_true(cq_minwin_update(&w, 70, 60 * S) == 60);
    assert_true(cq_minwin_update(&w, 80, 89 * S) == 60); /* 30 s's slot (30-36 s) is in */
    assert_true(cq_minwin_update(&w, 80, 90 * S) == 70); /* and gone */
    cq_minwin_init_slots(&w, 2, 0);
    assert_true(w.slot_us == 1);
    cq_minwin_update(&w, 5, 0);
    assert_true(cq_minwin_update(&w, 9, 1) == 5);
    assert_true(cq_minwin_update(&w, 9, 2) == 9);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minwin_least_until_its_second_leaves),
        cmocka_unit_test(test_minwin_skipped_seconds),
        cmocka_unit_test(test_minwin_time_back),
        cmocka_unit_test(test_minwin_coarse_slots),
        cmocka_unit_test(test_minwin_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
