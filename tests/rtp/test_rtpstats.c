#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtp/rtpstats.h"

static void feed(cq_rtp_recv_stats_t *s, uint16_t seq, uint64_t t_us) {
    cq_rtp_recv_stats_update(s, seq, (uint32_t)seq * 160u, t_us, 100, false);
}

static void test_rtpstats_report_without_loss(void **state) {
    (void)state;
    cq_rtp_recv_stats_t s;
    cq_rtp_recv_stats_init(&s, 8000);
    cq_rtcp_report_t r;
    cq_rtp_recv_stats_report(&s, 5, 0, &r); /* before any packet: all zero */
    assert_int_equal(r.ssrc, 5);
    assert_int_equal(r.highest_seq, 0);
    for (uint16_t i = 0; i < 100; i++)
        feed(&s, (uint16_t)(1000 + i), i * 20000u);
    cq_rtp_recv_stats_report(&s, 5, 2000000, &r);
    assert_int_equal(r.fraction_lost, 0);
    assert_int_equal(r.cumulative_lost, 0);
    assert_int_equal(r.highest_seq, 1099);
    assert_int_equal(r.jitter, 0); /* perfectly paced */
    assert_int_equal(r.lsr, 0);
    assert_int_equal(s.bytes, 100 * 100);
}

/* 10 of 100 lost while the sequence wraps: A.3's numbers, then a clean interval. */
static void test_rtpstats_loss_across_wrap_and_intervals(void **state) {
    (void)state;
    cq_rtp_recv_stats_t s;
    cq_rtp_recv_stats_init(&s, 90000);
    for (uint32_t i = 0; i < 100; i++)
        if (i % 10 != 5)
            feed(&s, (uint16_t)(65500 + i), i * 1000u);
    cq_rtcp_report_t r;
    cq_rtp_recv_stats_report(&s, 1, 0, &r);
    assert_int_equal(r.highest_seq, 65536 + 63); /* one cycle, then seq 63 */
    assert_int_equal(r.cumulative_lost, 10);
    assert_int_equal(r.fraction_lost, 10 * 256 / 100);
    for (uint32_t i = 100; i < 150; i++)
        feed(&s, (uint16_t)(65500 + i), i * 1000u);
    cq_rtp_recv_stats_report(&s, 1, 0, &r);
    assert_int_equal(r.fraction_lost, 0); /* nothing lost in this interval */
    assert_int_equal(r.cumulative_lost, 10);
}

/* Duplicates and late packets: more can arrive than expected, and then the interval's
 * fraction is 0 while the cumulative count goes negative (A.3 allows it). */
static void test_rtpstats_duplicates_and_reordering(void **state) {
    (void)state;
    cq_rtp_recv_stats_t s;
    cq_rtp_recv_stats_init(&s, 8000);
    feed(&s, 10, 0);
    assert_int_equal(cq_rtp_recv_stats_update(&s, 12, 12 * 160, 1, 100, false), CQ_RTP_PKT_NEW);
    assert_int_equal(cq_rtp_recv_stats_update(&s, 11, 11 * 160, 2, 100, false), CQ_RTP_PKT_LATE);
    assert_int_equal(cq_rtp_recv_stats_update(&s, 12, 12 * 160, 3, 100, false),
                     CQ_RTP_PKT_DUPLICATE);
    assert_int_equal(cq_rtp_recv_stats_update(&s, 12, 12 * 160, 4, 100, false),
                     CQ_RTP_PKT_DUPLICATE);
    cq_rtcp_report_t r;
    cq_rtp_recv_stats_report(&s, 1, 0, &r);
    assert_int_equal(r.highest_seq, 12);
    assert_int_equal(r.cumulative_lost, -2); /* 3 expected, 5 counted */
    assert_int_equal(r.fraction_lost, 0);
}

/* A.1: a big jump is believed only when the next packet confirms it. */
static void test_rtpstats_jump_needs_confirmation(void **state) {
    (void)state;
    cq_rtp_recv_stats_t s;
    cq_rtp_recv_stats_init(&s, 8000);
    for (uint16_t i = 100; i < 110; i++)
        feed(&s, i, 0);
    assert_int_equal(cq_rtp_recv_stats_update(&s, 20000, 0, 0, 100, false), CQ_RTP_PKT_JUMP);
    assert_int_equal(cq_rtp_recv_stats_ext_highest(&s), 109); /* ignored */
    assert_int_equal(cq_rtp_recv_stats_update(&s, 110, 0, 0, 100, false), CQ_RTP_PKT_NEW);
    /* The old sequence goes on after a stray jump; a jump that is followed restarts. */
    assert_int_equal(cq_rtp_recv_stats_update(&s, 30000, 0, 0, 100, false), CQ_RTP_PKT_JUMP);
    assert_int_equal(cq_rtp_recv_stats_update(&s, 30001, 0, 0, 100, false), CQ_RTP_PKT_RESTART);
    assert_int_equal(cq_rtp_recv_stats_ext_highest(&s), 30001);
    assert_int_equal(cq_rtp_recv_stats_lost(&s), 0);
    feed(&s, 30003, 0);
    assert_int_equal(cq_rtp_recv_stats_lost(&s), 1);
}

/* A.8 against the formula computed in floating point: 8 kHz audio, 20 ms packets whose
 * network delay alternates between 0 and 10 ms, with one late spike. */
static void test_rtpstats_jitter_matches_rfc3550_a8(void **state) {
    (void)state;
    cq_rtp_recv_stats_t s;
    cq_rtp_recv_stats_init(&s, 8000);
    double j = 0, last_transit = 0;
    for (uint32_t i = 0; i < 200; i++) {
        uint64_t delay_us = (i % 2) ? 10000 : 0;
        if (i == 100)
            delay_us = 80000;
        uint64_t arrival = 1000000 + i * 20000u + delay_us;
        uint32_t ts = 5000 + i * 160;
        cq_rtp_recv_stats_update(&s, (uint16_t)i, ts, arrival, 100, false);
        double transit = (double)arrival * 8000 / 1e6 - ts;
        if (i > 0)
            j += (fabs(transit - last_transit) - j) / 16;
        last_transit = transit;
    }
    cq_rtcp_report_t r;
    cq_rtp_recv_stats_report(&s, 1, 0, &r);
    assert_true(fabs((double)r.jitter - j) <= 1.0);
    assert_true(r.jitter > 40); /* a 10 ms swing is 80 ticks: clearly jittery */
}

/* Several packets of one frame share a timestamp and a retransmission arrives late: neither
 * makes a smooth stream look jittery. */
static void test_rtpstats_jitter_ignores_frame_spread_and_rtx(void **state) {
    (void)state;
    cq_rtp_recv_stats_t s;
    cq_rtp_recv_stats_init(&s, 90000);
    uint16_t seq = 0;
    for (uint32_t frame = 0; frame < 50; frame++) {
        uint64_t t = frame * 33333u;
        for (int k = 0; k < 5; k++) /* packets 2 ms apart, one timestamp */
            cq_rtp_recv_stats_update(&s, seq++, frame * 3000u, t + (uint64_t)k * 2000, 1100, false);
    }
    cq_rtp_recv_stats_update(&s, 3, 3000, 5000000, 1100, true); /* a repair, 5 s late */
    cq_rtcp_report_t r;
    cq_rtp_recv_stats_report(&s, 1, 0, &r);
    assert_true(r.jitter <= 2);
}

static void test_rtpstats_lsr_and_dlsr(void **state) {
    (void)state;
    cq_rtp_recv_stats_t s;
    cq_rtp_recv_stats_init(&s, 48000);
    feed(&s, 1, 0);
    cq_rtp_recv_stats_on_sr(&s, 0xAAAA12345678BBBBull, 10000000);
    cq_rtcp_report_t r;
    cq_rtp_recv_stats_report(&s, 1, 11500000, &r); /* 1.5 s later */
    assert_int_equal(r.lsr, 0x12345678);
    assert_int_equal(r.dlsr, 98304); /* 1.5 * 65536 */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtpstats_report_without_loss),
        cmocka_unit_test(test_rtpstats_loss_across_wrap_and_intervals),
        cmocka_unit_test(test_rtpstats_duplicates_and_reordering),
        cmocka_unit_test(test_rtpstats_jump_needs_confirmation),
        cmocka_unit_test(test_rtpstats_jitter_matches_rfc3550_a8),
        cmocka_unit_test(test_rtpstats_jitter_ignores_frame_spread_and_rtx),
        cmocka_unit_test(test_rtpstats_lsr_and_dlsr),
    };
    return cmocka_run_group_tests_name("rtp/rtpstats", tests, NULL, NULL);
}
