#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/map.h"
#include "rtp/error.h"
#include "support/test_rand.h"

static void test_map_put_get_remove_basics(void **state) {
    (void)state;
    cq_map_t m;
    assert_int_equal(cq_map_init(&m, 4), 0);
    int a = 1, b = 2;
    assert_null(cq_map_get(&m, 7));
    assert_int_equal(cq_map_put(&m, 7, &a), 0);
    assert_int_equal(cq_map_put(&m, 7, &b), CQ_EEXIST);
    assert_int_equal(cq_map_put(&m, 8, NULL), CQ_EINVAL);
    assert_ptr_equal(cq_map_get(&m, 7), &a);
    assert_int_equal(cq_map_put(&m, 0, &b), 0); /* key 0 is an ordinary key */
    assert_ptr_equal(cq_map_get(&m, 0), &b);
    assert_ptr_equal(cq_map_remove(&m, 7), &a);
    assert_null(cq_map_remove(&m, 7));
    assert_null(cq_map_get(&m, 7));
    assert_int_equal(m.count, 1);
    cq_map_close(&m);
    cq_map_close(&m); /* twice is harmless */
    assert_null(cq_map_get(&m, 0));

    cq_map_t z = {0}; /* a zeroed map works without init */
    assert_int_equal(cq_map_put(&z, 5, &a), 0);
    assert_ptr_equal(cq_map_get(&z, 5), &a);
    cq_map_close(&z);
}

/* Against a model over many random operations, with growth and heavy deletion, including
 * keys chosen to collide in the low bits (sequential SSRCs, ports). */
static void test_map_matches_model_under_churn(void **state) {
    (void)state;
    enum { KEYS = 600 };
    static uint64_t keys[KEYS];
    static int present[KEYS];
    static int values[KEYS];
    cq_test_rand_t r = {77};
    for (int i = 0; i < KEYS; i++)
        keys[i] = i < KEYS / 2 ? (uint64_t)(0x10000000u + (unsigned)i) : cq_test_rand_u64(&r);
    cq_map_t m = {0};
    size_t live = 0;
    for (int op = 0; op < 200000; op++) {
        int k = (int)cq_test_rand_below(&r, KEYS);
        unsigned what = cq_test_rand_below(&r, 3);
        if (what == 0) {
            int rc = cq_map_put(&m, keys[k], &values[k]);
            assert_int_equal(rc, present[k] ? CQ_EEXIST : 0);
            if (!present[k]) {
                present[k] = 1;
                live++;
            }
        } else if (what == 1) {
            void *v = cq_map_remove(&m, keys[k]);
            assert_ptr_equal(v, present[k] ? &values[k] : NULL);
            if (present[k]) {
                present[k] = 0;
                live--;
            }
        } else {
            assert_ptr_equal(cq_map_get(&m, keys[k]), present[k] ? &values[k] : NULL);
        }
        if (m.count != live)
            fail_msg("op %d: count %zu, model %zu", op, m.count, live);
    }
    /* The table never exceeds half full. */
    assert_true(m.count * 2 <= m.mask + 1);
    for (int k = 0; k < KEYS; k++)
        assert_ptr_equal(cq_map_get(&m, keys[k]), present[k] ? &values[k] : NULL);
    cq_map_close(&m);
}

static void test_map_hash_bytes_distinguishes_inputs(void **state) {
    (void)state;
    assert_int_equal(cq_map_hash_bytes("abc", 3), cq_map_hash_bytes("abc", 3));
    assert_int_not_equal(cq_map_hash_bytes("abc", 3), cq_map_hash_bytes("abd", 3));
    assert_int_not_equal(cq_map_hash_bytes("ab", 2), cq_map_hash_bytes("ab\0", 3));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_put_get_remove_basics),
        cmocka_unit_test(test_map_matches_model_under_churn),
        cmocka_unit_test(test_map_hash_bytes_distinguishes_inputs),
    };
    return cmocka_run_group_tests_name("relay/map", tests, NULL, NULL);
}
