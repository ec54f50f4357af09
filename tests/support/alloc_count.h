/*
 * Counting heap allocations in a test, to prove a path allocates nothing: every malloc,
 * calloc and realloc of every thread of the process, with AddressSanitizer through its
 * malloc hooks, without it by wrapping the three functions. The counter is the one
 * chasqui-bench uses (tools/bench/allocs.h, library chasqui_allocs, which the test
 * support library links); here its classes of threads are summed. Counting is off until
 * cq_test_alloc_begin(); the hooks are installed by cq_test_alloc_install().
 */
#ifndef CQ_TEST_ALLOC_COUNT_H
#define CQ_TEST_ALLOC_COUNT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tools/bench/allocs.h"

static inline void cq_test_alloc_install(void) {
    assert_int_equal(cq_bench_allocs_install(), 0);
}

static inline void cq_test_alloc_begin(void) {
    cq_bench_allocs_begin();
}

/* Stops counting; returns the allocations since cq_test_alloc_begin(). */
static inline unsigned long cq_test_alloc_end(void) {
    uint64_t counts[CQ_BENCH_ALLOCS_CLASSES];
    cq_bench_allocs_end(counts);
    unsigned long sum = 0;
    for (int c = 0; c < CQ_BENCH_ALLOCS_CLASSES; c++)
        sum += (unsigned long)counts[c];
    return sum;
}

#endif
