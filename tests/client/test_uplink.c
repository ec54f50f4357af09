/* The client's view of its uplink (client/uplink.h): what it sent, the relay's feedback
 * about it and the layers the relay says are used, read from RTCP compounds built as the
 * relay builds them (an empty RR, CQLU, transport-wide feedback from cc/arrivals.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cc/arrivals.h"
#include "client/uplink.h"
#include "rtp/cqlu.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"

static cq_uplink_t *make(void) {
    cq_uplink_t *u = malloc(sizeof *u);
    assert_non_null(u);
    cq_cc_config_t cfg = {.start_bps = 300000, .min_bps = 30000, .max_bps = 2000000};
    assert_int_equal(cq_uplink_init(u, &cfg), 0);
    return u;
}

/* RR, then (if layers >= 0) CQLU with ceiling low_kbps and the sound's room sound_kbps,
 * then the feedback a for what it recorded. */
static int relay_compound(cq_arrivals_t *a, int layers, uint16_t low_kbps, uint8_t sound_kbps,
                          int64_t now, uint8_t *buf, size_t cap) {
    cq_rtcp_compound_t c;
    cq_rtcp_compound_init(&c, buf, cap);
    cq_rtcp_compound_commit(&c, cq_rtcp_rr_write(0x5eed, NULL, 0, cq_rtcp_compound_tail(&c),
                                                 cq_rtcp_compound_room(&c)));
    cq_cqlu_t m = {.sender_ssrc = 0x5eed,
                   .layers = (uint8_t)layers,
                   .low_kbps = low_kbps,
                   .sound_kbps = sound_kbps};
    if (layers >= 0)
        cq_rtcp_compound_commit(
            &c, cq_cqlu_write(&m, cq_rtcp_compound_tail(&c), cq_rtcp_compound_room(&c)));
    int n = cq_rtcp_compound_finish(&c);
    assert_true(n > 0);
    if (a != NULL) {
        int w = cq_arrivals_write(a, now, buf + n, cap - (size_t)n);
        assert_true(w > 0);
        n += w;
    }
    return n;
}

static void test_uplink_feedback_and_layers(void **state) {
    (void)state;
    cq_uplink_t *u = make();
    cq_arrivals_t *a = malloc(sizeof *a);
    assert_non_null(a);
    cq_arrivals_init(a, 0x5eed, 0);
    /* 40 packets sent 10 ms apart; all but two arrive 30 ms later. */
    for (uint16_t k = 0; k < 40; k++) {
        int64_t t = 1000000 + (int64_t)k * 10000;
        cq_uplink_sent(u, (uint16_t)(65520 + k), 1016, t, CQ_SENDHIST_NO_PROBE);
        if (k != 7 && k != 30)
            cq_arrivals_record(a, (uint16_t)(65520 + k), t + 30000);
    }
    uint8_t buf[1500];
    int n = relay_compound(a, 0x5, 0, 0, 1500000, buf, sizeof buf);
    cq_uplink_rtcp(u, buf, (size_t)n, 1500000);
    assert_int_equal(u->feedbacks, 1);
    assert_true(u->layers_known);
    assert_int_equal(u->layers_used, 0x5);
    assert_int_equal(u->low_kbps, 0);
    assert_int_equal(u->sound_kbps, 0);
    assert_int_equal(u->cqlu_in, 1);
    cq_cc_stats_t st;
    cq_cc_stats(&u->cc, &st);
    assert_int_equal(st.feedbacks, 1);
    assert_int_equal(st.packets_reported, 40);
    assert_int_equal(st.packets_lost, 2);
    /* A CQLU alone changes the mask, the ceiling and the sound's room; another
     * application's APP packet does not. */
    n = relay_compound(NULL, 0x1, 25, 36, 0, buf, sizeof buf);
    cq_uplink_rtcp(u, buf, (size_t)n, 1600000);
    assert_int_equal(u->layers_used, 0x1);
    assert_int_equal(u->low_kbps, 25);
    assert_int_equal(u->sound_kbps, 36);
    memcpy(buf + 16, "XXXX", 4); /* the CQLU's name, after the 8-byte RR and its SSRC */
    buf[8 + 12 + 3] = 0x7;
    buf[8 + 12 + 2] = 0x40;
    cq_uplink_rtcp(u, buf, (size_t)n, 1700000);
    assert_int_equal(u->layers_used, 0x1);
    assert_int_equal(u->low_kbps, 25);
    assert_int_equal(u->sound_kbps, 36);
    assert_int_equal(u->cqlu_in, 2);
    /* The room holds while CQLU keeps coming (the relay repeats it every second), and
     * lapses once none has come for CQ_UPLINK_SOUND_LAPSE_US: the one that said it went
     * may have been lost. */
    assert_int_equal(cq_uplink_sound_kbps(u, 1600000 + CQ_UPLINK_SOUND_LAPSE_US), 36);
    assert_int_equal(cq_uplink_sound_kbps(u, 1600001 + CQ_UPLINK_SOUND_LAPSE_US), 0);
    free(a);
    free(u);
}

/* Feedback that does not parse is skipped and counted; the estimator hears nothing. */
static void test_uplink_bad_feedback(void **state) {
    (void)state;
    cq_uplink_t *u = make();
    uint8_t buf[64] = {0x8f, 205, 0x00, 0x04}; /* RTPFB FMT 15, 20 bytes: status count 0 */
    cq_uplink_rtcp(u, buf, 20, 1000);
    assert_int_equal(u->feedbacks, 0);
    assert_int_equal(u->feedback_skipped, 1);
    cq_cc_stats_t st;
    cq_cc_stats(&u->cc, &st);
    assert_int_equal(st.feedbacks, 0);
    assert_false(u->layers_known);
    free(u);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uplink_feedback_and_layers),
        cmocka_unit_test(test_uplink_bad_feedback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
