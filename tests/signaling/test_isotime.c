#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "signaling/isotime.h"

static void test_isotime_parse_known_instants(void **state) {
    (void)state;
    int64_t t;
    assert_int_equal(cq_isotime_parse("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(cq_isotime_parse("2026-11-23T14:00:00Z", &t), 0);
    assert_int_equal(t, 1795442400);
    assert_int_equal(cq_isotime_parse("2024-02-29T23:59:59Z", &t), 0); /* a leap day */
    assert_int_equal(t, 1709251199);
    char buf[32];
    assert_int_equal(cq_isotime_format(1795442400, buf, sizeof buf), 0);
    assert_string_equal(buf, "2026-11-23T14:00:00Z");
}

static void test_isotime_parse_refuses(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",
        "2026-11-23",
        "2026-11-23T14:00:00",       /* no zone */
        "2026-11-23T14:00:00+05:00", /* an offset: refused, not converted */
        "2026-11-23T14:00:00.5Z",    /* fractions */
        "2026-11-23 14:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z", /* not a leap year */
        "2026-04-31T00:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T14:60:00Z",
        "2026-11-23T14:00:60Z",
        "1969-12-31T23:59:59Z",
        "2026-1a-23T14:00:00Z",
        "2026-11-23T14:00:00Zx",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 77;
        assert_int_equal(cq_isotime_parse(bad[i], &t), CQ_EMALFORMED);
        assert_int_equal(t, 77);
    }
    char buf[32];
    assert_int_equal(cq_isotime_format(-1, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_isotime_format(253402300800LL, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_isotime_format(0, buf, 20), CQ_EINVAL);
}

/* Every second of a day round-trips; so do a spread of instants over the years. */
static void test_isotime_round_trip(void **state) {
    (void)state;
    char buf[32];
    for (int64_t t = 1709164800; t < 1709164800 + 86400; t += 7) {
        int64_t back;
        assert_int_equal(cq_isotime_format(t, buf, sizeof buf), 0);
        assert_int_equal(cq_isotime_parse(buf, &back), 0);
        assert_int_equal(back, t);
    }
    for (int64_t t = 0; t < 253402300800LL; t += 86400LL * 365 + 12345) {
        int64_t back;
        assert_int_equal(cq_isotime_format(t, buf, sizeof buf), 0);
        assert_int_equal(cq_isotime_parse(buf, &back), 0);
        assert_int_equal(back, t);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isotime_parse_known_instants),
        cmocka_unit_test(test_isotime_parse_refuses),
        cmocka_unit_test(test_isotime_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
