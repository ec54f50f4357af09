#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/consumer.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"

static cq_consumer_t consumer; /* about 13 KB: not on the test's stack */

static void start(void) {
    cq_relay_consumer_ssrcs_t ssrcs = {.audio = 1, .video = 2, .video_rtx = 3};
    cq_consumer_init(&consumer, &ssrcs, 4000);
}

static void test_consumer_init_defaults(void **state) {
    (void)state;
    start();
    assert_int_equal(consumer.ssrcs.video_rtx, 3);
    assert_int_equal(consumer.rtx_seq, 4000);
    /* Every layer until the subscriber says otherwise; nothing forwarded yet. */
    assert_int_equal(consumer.prefs.max_spatial, CQ_RELAY_MAX_LAYERS - 1);
    assert_int_equal(consumer.prefs.max_temporal, CQ_VSEL_MAX_TEMPORAL);
    assert_int_equal(consumer.vsel.spatial, -1);
}

/* What was sent is found by the number the receiver knows, across the 16-bit wrap; a
 * later packet on the same slot replaces it, and a number never sent is not found. */
static void test_consumer_sent_history(void **state) {
    (void)state;
    start();
    for (uint32_t k = 0; k < 600; k++) {
        cq_vsel_out_t out = {
            .seq = (uint16_t)(65300 + k), .picture_id = (uint16_t)k, .tl0picidx = (uint8_t)(k / 4)};
        cq_consumer_sent_record(&consumer, (uint8_t)(k % 2), (uint16_t)(1000 + k), &out, 77);
    }
    cq_consumer_sent_t *e = cq_consumer_sent_find(&consumer, (uint16_t)(65300 + 550));
    assert_non_null(e);
    assert_int_equal(e->in_seq, 1550);
    assert_int_equal(e->layer, 0);
    assert_int_equal(e->picture_id, 550);
    assert_int_equal(e->tl0picidx, 550 / 4);
    assert_int_equal(e->ts_delta, 77);
    /* Only the last CQ_CONSUMER_HISTORY are kept: an older one's slot holds a newer. */
    assert_null(cq_consumer_sent_find(&consumer, (uint16_t)(65300 + 20)));
    assert_non_null(cq_consumer_sent_find(&consumer, (uint16_t)(65300 + 532)));
    assert_non_null(
        cq_consumer_sent_find(&consumer, (uint16_t)(65300 + 600 - CQ_CONSUMER_HISTORY)));
    assert_null(cq_consumer_sent_find(&consumer, (uint16_t)(65300 + 599 - CQ_CONSUMER_HISTORY)));
    assert_null(cq_consumer_sent_find(&consumer, 30000)); /* never sent */
}

/* Not twice within the interval, and within the token bucket: a quarter second of the
 * rate as burst, refilled with time. */
static void test_consumer_may_resend_interval_and_budget(void **state) {
    (void)state;
    start();
    cq_vsel_out_t out = {.seq = 10};
    cq_consumer_sent_record(&consumer, 0, 10, &out, 0);
    out.seq = 11;
    cq_consumer_sent_record(&consumer, 0, 11, &out, 0);
    cq_consumer_sent_t *a = cq_consumer_sent_find(&consumer, 10);
    cq_consumer_sent_t *b = cq_consumer_sent_find(&consumer, 11);
    /* 80 kbit/s: a burst of 2,500 bytes, refilled at 10,000 bytes a second. */
    assert_true(cq_consumer_may_resend(&consumer, a, 1000, 80000, 100000, 1000000));
    assert_false(cq_consumer_may_resend(&consumer, a, 1000, 80000, 100000, 1050000));
    assert_true(cq_consumer_may_resend(&consumer, a, 1000, 80000, 100000, 1100000));
    /* The bucket: 2,500, less 1,000, back to 2,500 by 1.1 s, less 1,000 for a and 1,000
     * for b: 500 left, not enough for a third until it refills. */
    assert_true(cq_consumer_may_resend(&consumer, b, 1000, 80000, 100000, 1100000));
    assert_false(cq_consumer_may_resend(&consumer, b, 1000, 80000, 0, 1100000));
    assert_true(cq_consumer_may_resend(&consumer, b, 1000, 80000, 0, 1200000)); /* refilled */
    /* Recording the same number again (the publisher's repair) keeps its resend stamp. */
    out.seq = 10;
    cq_consumer_sent_record(&consumer, 0, 10, &out, 0);
    assert_false(cq_consumer_may_resend(&consumer, a, 1, 80000, 100000, 1150000));
    /* A long quiet spell refills to the burst, no further: two resends, not ten. */
    assert_true(cq_consumer_may_resend(&consumer, a, 1000, 80000, 0, 11200000));
    assert_true(cq_consumer_may_resend(&consumer, b, 1000, 80000, 0, 11200000));
    assert_false(cq_consumer_may_resend(&consumer, a, 1000, 80000, 0, 11200000));
}

/* RTT from a report block: the SR it names was sent at 1 s, the receiver held it 50 ms,
 * the report arrives at 1.3 s: 250 ms. Other SSRCs, unknown LSRs and LSR 0 give nothing. */
static void test_consumer_rtt_from_report(void **state) {
    (void)state;
    start();
    uint64_t ntp = 0xe1a2b3c4d5e6f708ull;
    cq_consumer_sr_sent(&consumer, 2, ntp, 1000000);
    for (unsigned k = 1; k < CQ_CONSUMER_SR_MEMORY; k++) /* the ring holds the last 8 */
        cq_consumer_sr_sent(&consumer, 1, ntp + ((uint64_t)k << 32), 1000000 + k);
    uint32_t lsr = cq_rtcp_ntp_short(ntp);
    uint32_t dlsr = cq_rtcp_dlsr_from_us(50000);
    uint64_t rtt = 0;
    assert_int_equal(cq_consumer_rtt(&consumer, 2, lsr, dlsr, 1300000, &rtt), 0);
    assert_true(rtt >= 249900 && rtt <= 250100);
    assert_int_equal(cq_consumer_rtt(&consumer, 1, lsr, dlsr, 1300000, &rtt), CQ_ENOENT);
    assert_int_equal(cq_consumer_rtt(&consumer, 2, lsr + 1, dlsr, 1300000, &rtt), CQ_ENOENT);
    assert_int_equal(cq_consumer_rtt(&consumer, 2, 0, dlsr, 1300000, &rtt), CQ_ENOENT);
    /* Held longer than the time since: clamped to 0, not a wrapped huge value. */
    assert_int_equal(
        cq_consumer_rtt(&consumer, 2, lsr, cq_rtcp_dlsr_from_us(900000), 1300000, &rtt), 0);
    assert_int_equal(rtt, 0);
    /* One more SR pushes the oldest out of memory. */
    cq_consumer_sr_sent(&consumer, 1, ntp + (9ull << 32), 1000009);
    assert_int_equal(cq_consumer_rtt(&consumer, 2, lsr, dlsr, 1300000, &rtt), CQ_ENOENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_consumer_init_defaults),
        cmocka_unit_test(test_consumer_sent_history),
        cmocka_unit_test(test_consumer_may_resend_interval_and_budget),
        cmocka_unit_test(test_consumer_rtt_from_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
