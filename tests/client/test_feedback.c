#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/feedback.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"

static cq_feedback_t fb;

#define OWN   0x0c0ffee0u
#define AUDIO 0xa1u
#define VIDEO 0xb1u

typedef struct {
    int rr, blocks, nack, pli;
    uint16_t nacked[32];
    int nnacked;
} seen_t;

static void read_compound(const uint8_t *buf, int len, seen_t *s) {
    memset(s, 0, sizeof *s);
    assert_true(len > 0);
    assert_true(cq_rtcp_validate(buf, (size_t)len) > 0);
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, buf, (size_t)len);
    bool first = true;
    while (cq_rtcp_iter_next(&it, &h) > 0) {
        cq_rtcp_rr_t rr;
        cq_rtcp_nack_t nack;
        cq_rtcp_fb_t pli;
        if (cq_rtcp_rr_parse(&h, &rr) == 0) {
            assert_true(first); /* the report opens the compound */
            assert_int_equal(rr.ssrc, OWN);
            s->rr++;
            s->blocks += rr.reports.count;
        } else if (cq_rtcp_nack_parse(&h, &nack) == 0) {
            assert_int_equal(nack.media_ssrc, VIDEO);
            s->nack++;
            s->nnacked = cq_rtcp_nack_expand(&nack, s->nacked, 32);
        } else if (cq_rtcp_pli_parse(&h, &pli) == 0) {
            assert_int_equal(pli.media_ssrc, VIDEO);
            s->pli++;
        }
        first = false;
    }
}

static void test_feedback_reports_and_nacks(void **state) {
    (void)state;
    cq_feedback_init(&fb, OWN);
    uint64_t t = 1000000;
    for (uint16_t k = 0; k < 20; k++) {
        assert_int_equal(cq_feedback_packet(&fb, AUDIO, false, k, false, k * 960u, 80, false, t),
                         0);
        if (k != 5 && k != 6)
            assert_int_equal(cq_feedback_packet(&fb, VIDEO, true, (uint16_t)(100 + k), true,
                                                k * 3000u, 900, false, t),
                             0);
    }
    uint8_t buf[1200];
    seen_t s;
    /* First: the report on both streams; the holes are held 10 ms for reordering. */
    read_compound(buf, cq_feedback_build(&fb, t + 5000, buf, sizeof buf), &s);
    assert_int_equal(s.rr, 1);
    assert_int_equal(s.blocks, 2);
    assert_int_equal(s.nack, 0);
    /* Then the NACK alone, behind an empty report. */
    read_compound(buf, cq_feedback_build(&fb, t + 20000, buf, sizeof buf), &s);
    assert_int_equal(s.rr, 1);
    assert_int_equal(s.blocks, 0);
    assert_int_equal(s.nack, 1);
    assert_int_equal(s.nnacked, 2);
    assert_int_equal(s.nacked[0], 105);
    assert_int_equal(s.nacked[1], 106);
    /* Nothing more is due until a retry or the next report. */
    assert_int_equal(cq_feedback_build(&fb, t + 25000, buf, sizeof buf), 0);
    /* The repair arrives: no more NACKs for it; the next report a second after the first. */
    cq_feedback_packet(&fb, VIDEO, true, 105, true, 5 * 3000u, 900, true, t + 30000);
    cq_feedback_packet(&fb, VIDEO, true, 106, true, 6 * 3000u, 900, true, t + 30000);
    assert_int_equal(cq_feedback_build(&fb, t + 500000, buf, sizeof buf), 0);
    read_compound(buf, cq_feedback_build(&fb, t + 1005000, buf, sizeof buf), &s);
    assert_int_equal(s.blocks, 2);
    assert_int_equal(s.nack, 0);
}

/* The no-NACK ablation: the same holes, reports as before, no NACK ever. */
static void test_feedback_nack_off(void **state) {
    (void)state;
    cq_feedback_init(&fb, OWN);
    fb.nack_off = true;
    uint64_t t = 1000000;
    for (uint16_t k = 0; k < 20; k++)
        if (k != 5)
            assert_int_equal(cq_feedback_packet(&fb, VIDEO, true, (uint16_t)(100 + k), true,
                                                k * 3000u, 900, false, t),
                             0);
    uint8_t buf[1200];
    seen_t s;
    read_compound(buf, cq_feedback_build(&fb, t + 5000, buf, sizeof buf), &s);
    assert_int_equal(s.rr, 1);
    for (uint64_t dt = 20000; dt < 1000000; dt += 10000) {
        int n = cq_feedback_build(&fb, t + dt, buf, sizeof buf);
        if (n > 0) {
            read_compound(buf, n, &s);
            assert_int_equal(s.nack, 0);
        }
    }
    assert_int_equal(fb.nacks_sent, 0);
}

/* PLIs while the picture waits, spaced by max(300 ms, 1.5 RTT). */
static void test_feedback_pli_spacing(void **state) {
    (void)state;
    cq_feedback_init(&fb, OWN);
    uint64_t t = 1000000;
    cq_feedback_packet(&fb, VIDEO, true, 1, true, 0, 900, false, t);
    uint8_t buf[1200];
    seen_t s;
    read_compound(buf, cq_feedback_build(&fb, t, buf, sizeof buf), &s); /* the first report */
    cq_feedback_want_keyframe(&fb, VIDEO, true);
    read_compound(buf, cq_feedback_build(&fb, t + 1000, buf, sizeof buf), &s);
    assert_int_equal(s.pli, 1);
    assert_int_equal(cq_feedback_build(&fb, t + 200000, buf, sizeof buf), 0);
    read_compound(buf, cq_feedback_build(&fb, t + 302000, buf, sizeof buf), &s);
    assert_int_equal(s.pli, 1);
    fb.rtt_us = 600000; /* a VSAT round trip: 900 ms between PLIs */
    assert_int_equal(cq_feedback_build(&fb, t + 900000, buf, sizeof buf), 0);
    read_compound(buf, cq_feedback_build(&fb, t + 1203000, buf, sizeof buf), &s);
    assert_int_equal(s.pli, 1);
    cq_feedback_want_keyframe(&fb, VIDEO, false);
    read_compound(buf, cq_feedback_build(&fb, t + 2400000, buf, sizeof buf), &s);
    assert_int_equal(s.pli, 0);
    assert_int_equal(fb.plis_sent, 3);
}

static void test_feedback_full(void **state) {
    (void)state;
    cq_feedback_init(&fb, OWN);
    for (uint32_t i = 0; i < CQ_FEEDBACK_STREAMS; i++)
        assert_int_equal(cq_feedback_packet(&fb, 1000 + i, false, 1, false, 0, 80, false, 1), 0);
    assert_int_equal(cq_feedback_packet(&fb, 9999, false, 1, false, 0, 80, false, 1), CQ_ENOBUFS);
    uint8_t small[8];
    assert_int_equal(cq_feedback_build(&fb, 2, small, sizeof small), CQ_ENOBUFS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feedback_reports_and_nacks),
        cmocka_unit_test(test_feedback_nack_off),
        cmocka_unit_test(test_feedback_pli_spacing),
        cmocka_unit_test(test_feedback_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
