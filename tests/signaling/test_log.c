#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "signaling/log.h"

typedef struct {
    int lines;
    cq_log_level_t level;
    char last[CQ_LOG_LINE_MAX + 8];
} capture_t;

static void capture(cq_log_level_t level, const char *line, void *ctx) {
    capture_t *c = ctx;
    c->lines++;
    c->level = level;
    strncpy(c->last, line, sizeof c->last - 1);
}

static void test_log_format_and_levels(void **state) {
    (void)state;
    capture_t c = {0};
    cq_log_set_sink(capture, &c);
    cq_log_set_level(CQ_LOG_INFO);
    cq_log(CQ_LOG_INFO, "relay", "session %u up", 7u);
    assert_int_equal(c.lines, 1);
    assert_int_equal(c.level, CQ_LOG_INFO);
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ info relay: session 7 up" */
    assert_int_equal(strlen(c.last), 24 + strlen(" info relay: session 7 up"));
    assert_int_equal(c.last[10], 'T');
    assert_int_equal(c.last[23], 'Z');
    assert_string_equal(c.last + 24, " info relay: session 7 up");
    cq_log(CQ_LOG_DEBUG, "relay", "not shown");
    assert_int_equal(c.lines, 1);
    assert_false(cq_log_enabled(CQ_LOG_DEBUG));
    cq_log_set_level(CQ_LOG_DEBUG);
    cq_log(CQ_LOG_DEBUG, "relay", "shown");
    assert_int_equal(c.lines, 2);
    cq_log_set_level(CQ_LOG_INFO);
    cq_log_set_sink(NULL, NULL);
}

/* A long message is cut, never overflows, and still makes one line. */
static void test_log_long_line_is_cut(void **state) {
    (void)state;
    capture_t c = {0};
    cq_log_set_sink(capture, &c);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cq_log(CQ_LOG_WARN, "relay", "%s", big);
    assert_int_equal(c.lines, 1);
    assert_int_equal(strlen(c.last), CQ_LOG_LINE_MAX);
    cq_log_set_sink(NULL, NULL);
}

/* One line a second per cause; what was held back is counted for the next line. */
static void test_log_limit_allow(void **state) {
    (void)state;
    cq_log_limit_t lim = {0};
    uint64_t held = 99;
    assert_true(cq_log_limit_allow(&lim, 1000, &held));
    assert_int_equal(held, 0);
    for (int k = 0; k < 5; k++)
        assert_false(cq_log_limit_allow(&lim, 1000 + 100000u * (uint64_t)k, &held));
    assert_true(cq_log_limit_allow(&lim, 1001000, &held));
    assert_int_equal(held, 5);
    lim = (cq_log_limit_t){.interval_us = 10};
    assert_true(cq_log_limit_allow(&lim, 5, NULL));
    assert_false(cq_log_limit_allow(&lim, 14, NULL));
    assert_true(cq_log_limit_allow(&lim, 15, NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_format_and_levels),
        cmocka_unit_test(test_log_long_line_is_cut),
        cmocka_unit_test(test_log_limit_allow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
