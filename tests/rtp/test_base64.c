#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/base64.h"
#include "rtp/error.h"
#include "support/test_rand.h"

/* RFC 4648 §10. */
static void test_base64_encode_rfc4648_vectors(void **state) {
    (void)state;
    static const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        size_t n = strlen(plain[i]);
        assert_int_equal(cq_base64_encode((const uint8_t *)plain[i], n, out, sizeof out),
                         (int)strlen(coded[i]));
        assert_string_equal(out, coded[i]);
        assert_int_equal(cq_base64_encoded_size(n), strlen(coded[i]));
        uint8_t back[16];
        assert_int_equal(cq_base64_decode(coded[i], strlen(coded[i]), back, sizeof back), (int)n);
        assert_memory_equal(back, plain[i], n);
    }
}

static void test_base64_decode_is_strict(void **state) {
    (void)state;
    uint8_t out[16];
    static const char *bad[] = {
        "Zg=",      /* not a multiple of 4 */
        "Zg",       /* missing padding */
        "Z===",     /* three pads */
        "Zh==",     /* unused low bits of 'h' are not zero: would alias "Zg==" */
        "Zm9=",     /* unused low bits set with one pad */
        "Zm9v\n",   /* whitespace */
        "Zm 9",     /* space */
        "Zg==Zg==", /* padding before the end */
        "Zm=v",     /* pad in the middle of a quad */
        "Zm9-",     /* URL-safe alphabet is not base64 */
        "=Zm9",     /* leading pad */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = cq_base64_decode(bad[i], strlen(bad[i]), out, sizeof out);
        if (rc != CQ_EMALFORMED)
            fail_msg("\"%s\" decoded to %d", bad[i], rc);
    }
}

static void test_base64_buffers_too_small(void **state) {
    (void)state;
    char text[8];
    assert_int_equal(cq_base64_encode((const uint8_t *)"foobar", 6, text, 8), CQ_ENOBUFS);
    uint8_t out[5];
    assert_int_equal(cq_base64_decode("Zm9vYmFy", 8, out, sizeof out), CQ_ENOBUFS);
    assert_int_equal(cq_base64_decode("Zm9vYg==", 8, out, 4), 4);
}

/* Every byte string round-trips, and its encoding is the only one accepted. */
static void test_base64_round_trip_property(void **state) {
    (void)state;
    cq_test_rand_t r = {2024};
    for (int iter = 0; iter < 5000; iter++) {
        uint8_t data[64], back[64];
        size_t n = cq_test_rand_below(&r, sizeof data + 1);
        cq_test_rand_fill(&r, data, n);
        char text[100];
        int len = cq_base64_encode(data, n, text, sizeof text);
        assert_true(len >= 0);
        if (cq_base64_decode(text, (size_t)len, back, sizeof back) != (int)n ||
            memcmp(back, data, n) != 0)
            fail_msg("iteration %d (seed 2024) does not round-trip", iter);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_encode_rfc4648_vectors),
        cmocka_unit_test(test_base64_decode_is_strict),
        cmocka_unit_test(test_base64_buffers_too_small),
        cmocka_unit_test(test_base64_round_trip_property),
    };
    return cmocka_run_group_tests_name("rtp/base64", tests, NULL, NULL);
}
