#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "tools/bench/hist.h"

static cq_bench_hist_t *fresh(void) {
    cq_bench_hist_t *h = malloc(sizeof *h); /* ~400 KiB: not for the stack */
    assert_non_null(h);
    cq_bench_hist_reset(h);
    return h;
}

static void test_hist_quantile_empty_is_zero(void **state) {
    (void)state;
    cq_bench_hist_t *h = fresh();
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.5), 0);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.999), 0);
    free(h);
}

/* 1..1000 µs once each: the q-quantile is the ceil(q * n)-th value, to the microsecond. */
static void test_hist_quantile_exact_to_the_microsecond(void **state) {
    (void)state;
    cq_bench_hist_t *h = fresh();
    for (int us = 1000; us >= 1; us--)
        cq_bench_hist_add(h, (int64_t)us * 1000 + 999); /* sub-microsecond parts drop */
    assert_int_equal(h->count, 1000);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.5), 500);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.99), 990);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.999), 999);
    assert_int_equal(cq_bench_hist_quantile_us(h, 1.0), 1000);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.0), 1);
    assert_int_equal(h->max_us, 1000);
    free(h);
}

/* Past the last bucket, values are kept only as their maximum: quantiles that land there
 * say the maximum rather than something smaller than the truth. */
static void test_hist_overflow_reports_the_maximum(void **state) {
    (void)state;
    cq_bench_hist_t *h = fresh();
    for (int i = 0; i < 98; i++)
        cq_bench_hist_add(h, 100 * 1000);
    cq_bench_hist_add(h, (int64_t)CQ_BENCH_HIST_MAX_US * 1000);
    cq_bench_hist_add(h, (int64_t)CQ_BENCH_HIST_MAX_US * 5000);
    assert_int_equal(h->overflow, 2);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.98), 100);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.99), CQ_BENCH_HIST_MAX_US * 5);
    free(h);
}

static void test_hist_negative_counts_as_zero(void **state) {
    (void)state;
    cq_bench_hist_t *h = fresh();
    cq_bench_hist_add(h, -5000);
    assert_int_equal(h->negative, 1);
    assert_int_equal(h->count, 1);
    assert_int_equal(cq_bench_hist_quantile_us(h, 0.5), 0);
    free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hist_quantile_empty_is_zero),
        cmocka_unit_test(test_hist_quantile_exact_to_the_microsecond),
        cmocka_unit_test(test_hist_overflow_reports_the_maximum),
        cmocka_unit_test(test_hist_negative_counts_as_zero),
    };
    return cmocka_run_group_tests_name("bench/hist", tests, NULL, NULL);
}
