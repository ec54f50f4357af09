#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/rtxcache.h"
#include "rtp/error.h"

static void put(cq_rtxcache_t *c, uint16_t seq, uint64_t t) {
    uint8_t pkt[100];
    memset(pkt, (int)(seq & 0xff), sizeof pkt);
    pkt[0] = (uint8_t)(seq >> 8);
    cq_rtxcache_put(c, seq, pkt, 20 + seq % 50, t);
}

static void test_rtxcache_hits_misses_and_age(void **state) {
    (void)state;
    cq_rtxcache_t c;
    assert_int_equal(cq_rtxcache_init(&c, 500, 1500, 1000000), 0);
    assert_int_equal(c.count, 512); /* rounded up to a power of two */
    for (uint16_t s = 0; s < 300; s++)
        put(&c, s, 1000 + s);
    const uint8_t *p;
    size_t n = cq_rtxcache_get(&c, 123, 2000, &p);
    assert_int_equal(n, 20 + 123 % 50);
    assert_int_equal(p[0], 0);
    assert_int_equal(p[1], 123);
    assert_int_equal(cq_rtxcache_get(&c, 400, 2000, &p), 0);                 /* never put */
    assert_int_equal(cq_rtxcache_get(&c, 123, 1000 + 123 + 1000001, &p), 0); /* too old */
    assert_int_equal(c.hits, 1);
    assert_int_equal(c.misses, 2);
    cq_rtxcache_close(&c);
    cq_rtxcache_close(&c); /* harmless twice */
}

/* A later packet that lands on the same slot (512 apart) replaces the old one, and the
 * old sequence number is not served the new packet's bytes; the same across the wrap. */
static void test_rtxcache_overwrite_and_wrap(void **state) {
    (void)state;
    cq_rtxcache_t c;
    assert_int_equal(cq_rtxcache_init(&c, 512, 1500, 1000000), 0);
    put(&c, 65530, 0);
    put(&c, (uint16_t)(65530 + 512), 1); /* wraps to 506, same slot */
    const uint8_t *p;
    assert_int_equal(cq_rtxcache_get(&c, 65530, 2, &p), 0);
    assert_true(cq_rtxcache_get(&c, 506, 2, &p) > 0);
    assert_int_equal(p[1], 506 & 0xff);
    /* Too large for a slot: not kept, and the slot's older packet is forgotten. */
    uint8_t big[2000] = {0};
    cq_rtxcache_put(&c, 506 + 512, big, sizeof big, 3);
    assert_int_equal(cq_rtxcache_get(&c, 506, 4, &p), 0);
    assert_int_equal(cq_rtxcache_get(&c, 506 + 512, 4, &p), 0);
    cq_rtxcache_close(&c);
}

static void test_rtxcache_init_rejects_bad_sizes(void **state) {
    (void)state;
    cq_rtxcache_t c;
    assert_int_equal(cq_rtxcache_init(&c, 0, 1500, 1), CQ_EINVAL);
    assert_int_equal(cq_rtxcache_init(&c, 64, 0, 1), CQ_EINVAL);
    assert_int_equal(cq_rtxcache_init(&c, 64, 70000, 1), CQ_EINVAL);
    const uint8_t *p;
    assert_int_equal(cq_rtxcache_get(&c, 1, 0, &p), 0); /* a failed init serves nothing */
    cq_rtxcache_put(&c, 1, (const uint8_t *)"x", 1, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtxcache_hits_misses_and_age),
        cmocka_unit_test(test_rtxcache_overwrite_and_wrap),
        cmocka_unit_test(test_rtxcache_init_rejects_bad_sizes),
    };
    return cmocka_run_group_tests_name("relay/rtxcache", tests, NULL, NULL);
}
