/* The lip-sync delay line: pictures come out copied, in order, when due; a full line and a
 * size change are the caller's to drain, and nothing is lost meanwhile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/vhold.h"
#include "rtp/error.h"

/* A w x h picture whose every byte says k (luma) or k + 100 / k + 200 (chroma), in planes
 * with strides wider than the picture, as a decoder's are. */
static cq_i420_t picture(unsigned w, unsigned h, uint8_t k, uint8_t *buf) {
    int ys = (int)w + 16, cs = (int)(w / 2) + 8;
    uint8_t *y = buf, *u = y + (size_t)ys * h, *v = u + (size_t)cs * (h / 2);
    memset(y, k, (size_t)ys * h);
    memset(u, k + 100, (size_t)cs * (h / 2));
    memset(v, k + 200, (size_t)cs * (h / 2));
    return (cq_i420_t){.width = w, .height = h, .plane = {y, u, v}, .stride = {ys, cs, cs}};
}

static void assert_picture(const cq_i420_t *img, unsigned w, unsigned h, uint8_t k) {
    assert_int_equal(img->width, w);
    assert_int_equal(img->height, h);
    for (unsigned r = 0; r < h; r++)
        for (unsigned c = 0; c < w; c++)
            assert_int_equal(img->plane[0][r * (unsigned)img->stride[0] + c], k);
    for (unsigned r = 0; r < h / 2; r++)
        for (unsigned c = 0; c < w / 2; c++) {
            assert_int_equal(img->plane[1][r * (unsigned)img->stride[1] + c], k + 100);
            assert_int_equal(img->plane[2][r * (unsigned)img->stride[2] + c], k + 200);
        }
}

static uint8_t buf[(64 + 16) * 48 * 2];

static void test_due_in_order_and_copied(void **state) {
    (void)state;
    cq_vhold_t h;
    cq_vhold_init(&h);
    for (uint8_t k = 0; k < 3; k++) {
        cq_i420_t p = picture(64, 48, k, buf);
        assert_int_equal(cq_vhold_push(&h, &p, 1000u + k, 100u + 10u * k), 0);
    }
    memset(buf, 0xee, sizeof buf); /* the caller's buffer is reused: the copies stay */
    cq_i420_t out;
    uint32_t ts;
    assert_false(cq_vhold_pop(&h, 99, false, &out, &ts));
    assert_true(cq_vhold_pop(&h, 100, false, &out, &ts));
    assert_int_equal(ts, 1000);
    assert_picture(&out, 64, 48, 0);
    assert_false(cq_vhold_pop(&h, 105, false, &out, &ts));
    assert_true(cq_vhold_pop(&h, 105, true, &out, &ts)); /* forced out early */
    assert_int_equal(ts, 1001);
    assert_picture(&out, 64, 48, 1);
    assert_true(cq_vhold_pop(&h, 500, false, &out, &ts));
    assert_int_equal(ts, 1002);
    assert_int_equal(cq_vhold_count(&h), 0);
    assert_false(cq_vhold_pop(&h, 500, true, &out, &ts));
    cq_vhold_free(&h);
}

static void test_full_and_new_size(void **state) {
    (void)state;
    cq_vhold_t h;
    cq_vhold_init(&h);
    cq_i420_t p;
    for (unsigned k = 0; k < CQ_VHOLD_PICTURES; k++) {
        p = picture(64, 48, (uint8_t)k, buf);
        assert_int_equal(cq_vhold_push(&h, &p, k, 1000), 0);
    }
    p = picture(64, 48, 50, buf);
    assert_int_equal(cq_vhold_push(&h, &p, 50, 1000), CQ_ENOBUFS);
    cq_i420_t out;
    uint32_t ts;
    assert_true(cq_vhold_pop(&h, 0, true, &out, &ts));
    assert_int_equal(ts, 0);
    assert_int_equal(cq_vhold_push(&h, &p, 50, 1000), 0); /* into the slot just freed */
    /* Another size while pictures are held: they must come out first. */
    cq_i420_t small = picture(32, 16, 9, buf);
    assert_int_equal(cq_vhold_push(&h, &small, 60, 2000), CQ_EAGAIN);
    for (unsigned k = 1; k < CQ_VHOLD_PICTURES; k++) {
        assert_true(cq_vhold_pop(&h, 0, true, &out, &ts));
        assert_int_equal(ts, k);
        assert_picture(&out, 64, 48, (uint8_t)k);
    }
    assert_true(cq_vhold_pop(&h, 0, true, &out, &ts));
    assert_int_equal(ts, 50);
    assert_picture(&out, 64, 48, 50);
    small = picture(32, 16, 9, buf);
    assert_int_equal(cq_vhold_push(&h, &small, 60, 2000), 0);
    assert_true(cq_vhold_pop(&h, 2000, false, &out, &ts));
    assert_picture(&out, 32, 16, 9);
    cq_vhold_free(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_in_order_and_copied),
        cmocka_unit_test(test_full_and_new_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
