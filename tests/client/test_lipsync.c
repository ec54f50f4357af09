#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "client/lipsync.h"
#include "rtp/rtcp.h"

/* A sender whose clock is 12 hours away from ours, random RTP bases (video's about to
 * wrap), audio played 150 ms after capture and video 80 ms: the picture is held 70 ms. */
static void test_lipsync_holds_the_faster_stream(void **state) {
    (void)state;
    cq_lipsync_t l;
    cq_lipsync_init(&l);
    const int64_t offset_us = 43200000000LL; /* sender clock - ours */
    const uint32_t a0 = 123456, v0 = 0xffff0000u;
    int64_t a_hold, v_hold;
    cq_lipsync_hold(&l, &a_hold, &v_hold);
    assert_true(a_hold == 0 && v_hold == 0); /* nothing known yet */
    /* SRs at our time 1 s: sender time 1 s + offset. */
    cq_lipsync_sr(&l, CQ_LIPSYNC_AUDIO, cq_rtcp_ntp_from_us((uint64_t)(1000000 + offset_us)), a0);
    cq_lipsync_sr(&l, CQ_LIPSYNC_VIDEO, cq_rtcp_ntp_from_us((uint64_t)(1000000 + offset_us)), v0);
    for (int k = 0; k < 100; k++) {
        int64_t captured = 1000000 + k * 40000; /* our clock */
        uint32_t ta = a0 + (uint32_t)(k * 40000 * 48 / 1000);
        uint32_t tv = v0 + (uint32_t)(k * 40000 * 90 / 1000); /* wraps on the way */
        cq_lipsync_played(&l, CQ_LIPSYNC_AUDIO, ta, captured + 150000);
        cq_lipsync_played(&l, CQ_LIPSYNC_VIDEO, tv, captured + 80000);
    }
    cq_lipsync_hold(&l, &a_hold, &v_hold);
    assert_int_equal(a_hold, 0);
    assert_true(llabs(v_hold - 70000) < 500);
}

/* Video slower than audio: audio waits for what it leads by beyond 45 ms, never more than
 * 100 ms (speech first). */
static void test_lipsync_audio_hold_is_capped(void **state) {
    (void)state;
    cq_lipsync_t l;
    cq_lipsync_init(&l);
    cq_lipsync_sr(&l, CQ_LIPSYNC_AUDIO, cq_rtcp_ntp_from_us(5000000), 1000);
    cq_lipsync_sr(&l, CQ_LIPSYNC_VIDEO, cq_rtcp_ntp_from_us(5000000), 2000);
    cq_lipsync_played(&l, CQ_LIPSYNC_AUDIO, 1000 + 4800, 5000000 + 100000 + 60000);
    cq_lipsync_played(&l, CQ_LIPSYNC_VIDEO, 2000 + 9000, 5000000 + 100000 + 90000);
    int64_t a_hold, v_hold;
    cq_lipsync_hold(&l, &a_hold, &v_hold);
    assert_true(a_hold == 0 && v_hold == 0); /* 30 ms early: nobody notices */
    cq_lipsync_init(&l);
    cq_lipsync_sr(&l, CQ_LIPSYNC_AUDIO, cq_rtcp_ntp_from_us(5000000), 1000);
    cq_lipsync_sr(&l, CQ_LIPSYNC_VIDEO, cq_rtcp_ntp_from_us(5000000), 2000);
    cq_lipsync_played(&l, CQ_LIPSYNC_AUDIO, 1000 + 4800, 5000000 + 100000 + 60000);
    cq_lipsync_played(&l, CQ_LIPSYNC_VIDEO, 2000 + 9000, 5000000 + 100000 + 135000);
    cq_lipsync_hold(&l, &a_hold, &v_hold);
    assert_int_equal(v_hold, 0);
    assert_true(llabs(a_hold - 30000) < 100); /* 75 ms early: held the 30 past 45 */
    cq_lipsync_played(&l, CQ_LIPSYNC_VIDEO, 2000 + 9000, 5000000 + 100000 + 2000000);
    for (int k = 0; k < 50; k++)
        cq_lipsync_played(&l, CQ_LIPSYNC_VIDEO, 2000 + 9000, 5000000 + 100000 + 2000000);
    cq_lipsync_hold(&l, &a_hold, &v_hold);
    assert_int_equal(a_hold, CQ_LIPSYNC_MAX_AUDIO_HOLD_US);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lipsync_holds_the_faster_stream),
        cmocka_unit_test(test_lipsync_audio_hold_is_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
