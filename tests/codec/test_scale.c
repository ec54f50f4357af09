#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/scale.h"
#include "rtp/error.h"

static uint8_t sy[640 * 360], su[320 * 180], sv[320 * 180];
static uint8_t dy[320 * 180], du[160 * 90], dv[160 * 90];

/* Down to each simulcast size: a flat image stays flat, a left/right split stays split
 * where it was, and chroma follows. */
static void test_scale_down_to_simulcast_sizes(void **state) {
    (void)state;
    for (unsigned r = 0; r < 360; r++)
        for (unsigned c = 0; c < 640; c++)
            sy[r * 640 + c] = c < 320 ? 40 : 200;
    memset(su, 90, sizeof su);
    memset(sv, 170, sizeof sv);
    cq_i420_t src = {.width = 640, .height = 360, .plane = {sy, su, sv}, .stride = {640, 320, 320}};
    static const unsigned sizes[][2] = {{320, 180}, {160, 90}};
    for (int i = 0; i < 2; i++) {
        unsigned w = sizes[i][0], h = sizes[i][1];
        cq_i420_t dst = {.width = w, .height = h, .stride = {(int)w, (int)w / 2, (int)w / 2}};
        assert_int_equal(cq_scale_i420(&src, dy, du, dv, &dst), 0);
        assert_int_equal(dy[0], 40);
        assert_int_equal(dy[w - 1], 200);
        assert_int_equal(dy[(h - 1) * w + w / 4], 40);
        assert_int_equal(dy[(h - 1) * w + 3 * w / 4], 200);
        assert_int_equal(du[0], 90);
        assert_int_equal(dv[(h / 2 - 1) * (w / 2)], 170);
    }
    cq_i420_t zero = {.width = 0, .height = 90, .stride = {160, 80, 80}};
    assert_int_equal(cq_scale_i420(&src, dy, du, dv, &zero), CQ_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scale_down_to_simulcast_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
