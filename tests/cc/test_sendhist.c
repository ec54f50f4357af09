/*
 * The send history: what was sent is found by its transport-wide number until 4096 later
 * numbers have taken its slot, across the 65535 -> 0 wrap; an unknown number is not found.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cc/sendhist.h"

static cq_sendhist_t h;

static void test_sendhist_find_and_forget(void **state) {
    (void)state;
    cq_sendhist_init(&h);
    assert_null(cq_sendhist_find(&h, 0));
    /* Across the wrap. */
    for (uint32_t k = 0; k < 100; k++)
        cq_sendhist_add(&h, (uint16_t)(65500 + k), 1000 + k, 5000 + (int64_t)k,
                        k % 10 == 0 ? 3 : CQ_SENDHIST_NO_PROBE);
    cq_sendhist_entry_t *e = cq_sendhist_find(&h, 65510);
    assert_non_null(e);
    assert_int_equal(e->bytes, 1010);
    assert_int_equal(e->send_us, 5010);
    assert_int_equal(e->probe, 3);
    assert_false(e->acked);
    e = cq_sendhist_find(&h, (uint16_t)(65500 + 99)); /* 63 after the wrap */
    assert_non_null(e);
    assert_int_equal(e->tseq, 63);
    assert_int_equal(e->probe, CQ_SENDHIST_NO_PROBE);
    assert_null(cq_sendhist_find(&h, 64)); /* never sent */
    /* 4096 later, a number's slot is someone else's: not found rather than wrong. */
    cq_sendhist_add(&h, (uint16_t)(65510 + CQ_SENDHIST_SIZE), 1, 9000, CQ_SENDHIST_NO_PROBE);
    assert_null(cq_sendhist_find(&h, 65510));
    assert_non_null(cq_sendhist_find(&h, (uint16_t)(65510 + CQ_SENDHIST_SIZE)));
    /* A negative probe id of any value means none. */
    cq_sendhist_add(&h, 7, 1, 1, -5);
    assert_int_equal(cq_sendhist_find(&h, 7)->probe, CQ_SENDHIST_NO_PROBE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sendhist_find_and_forget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
