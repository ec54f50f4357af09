#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"

static void test_error_strerror_known_codes(void **state) {
    (void)state;
    assert_string_equal(cq_strerror(CQ_EAUTH), "authentication failed");
    assert_string_equal(cq_strerror(CQ_ETRUNCATED), "input is shorter than its format requires");
    assert_string_equal(cq_err_name(CQ_EREPLAY), "CQ_EREPLAY");
}

static void test_error_strerror_unknown_code(void **state) {
    (void)state;
    assert_string_equal(cq_strerror(-12345), "unknown error");
    assert_string_equal(cq_strerror(0), "unknown error");
    assert_string_equal(cq_err_name(-12345), "CQ_EUNKNOWN");
}

/* libuv's codes are negated errno values; ours must be the same numbers so they pass
 * through unchanged, and chasqui's own must stay clear of libuv's range (down to -4095). */
static void test_error_codes_match_errno_and_stay_apart(void **state) {
    (void)state;
    assert_int_equal(CQ_EINVAL, -EINVAL);
    assert_int_equal(CQ_EAGAIN, -EAGAIN);
    assert_int_equal(CQ_ENOBUFS, -ENOBUFS);
    assert_true(CQ_ETRUNCATED < -4095);
    assert_true(CQ_EBADSTATE < -4095);
}

/* Every name in the table must have a distinct value, or cq_strerror would be ambiguous
 * (and the switch in error.c would not compile, which this test documents). */
static void test_error_names_are_distinct(void **state) {
    (void)state;
    static const int codes[] = {
#define CODE(name, value, msg) value,
        CQ_ERRNO_MAP(CODE)
#undef CODE
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(cq_err_name(codes[i]), "CQ_EUNKNOWN");
        for (size_t j = i + 1; j < sizeof codes / sizeof codes[0]; j++)
            assert_int_not_equal(codes[i], codes[j]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_strerror_known_codes),
        cmocka_unit_test(test_error_strerror_unknown_code),
        cmocka_unit_test(test_error_codes_match_errno_and_stay_apart),
        cmocka_unit_test(test_error_names_are_distinct),
    };
    return cmocka_run_group_tests_name("rtp/error", tests, NULL, NULL);
}
