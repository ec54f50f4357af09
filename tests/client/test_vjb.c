/*
 * The video jitter buffer with a stream in the 0-2-1-2 pattern, two packets a frame:
 * frames come out in order and whole; a repair within the budget loses nothing; a lost
 * TL2 frame costs that frame alone, a lost TL0 frame stops the picture until a keyframe;
 * a stream joined mid-way waits for its first keyframe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/vjb.h"
#include "codec/vp8_packetizer.h"
#include "rtp/error.h"

static cq_vjb_t vjb;

typedef struct {
    uint16_t seq;
    uint32_t ts;
    bool marker;
    size_t len;
    uint8_t data[200];
    unsigned frame;
} pkt_t;

static pkt_t pkts[400];
static size_t npkts;

/* Frames 0..n-1, keyframes where key(k) says, pattern restarting at each keyframe. */
static void make_stream(unsigned n, unsigned key_every) {
    static const uint8_t pattern[4] = {0, 2, 1, 2};
    npkts = 0;
    uint16_t seq = 65500; /* across the wrap */
    uint8_t tl0 = 250;
    unsigned since_key = 0;
    for (unsigned k = 0; k < n; k++) {
        bool key = k % key_every == 0;
        since_key = key ? 0 : since_key + 1;
        uint8_t tid = pattern[since_key % 4];
        if (tid == 0)
            tl0++;
        uint8_t frame[120];
        memset(frame, (int)k, sizeof frame);
        if (key) {
            static const uint8_t hdr[10] = {0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 160, 0, 90, 0};
            memcpy(frame, hdr, 10);
        } else {
            frame[0] = 0x11; /* P set: an interframe */
        }
        memcpy(frame + 20, &k, sizeof k);
        cq_vp8_desc_t d = {.extended = true,
                           .has_picture_id = true,
                           .picture_id_15bit = true,
                           .picture_id = (uint16_t)k,
                           .has_tl0picidx = true,
                           .tl0picidx = tl0,
                           .has_tid = true,
                           .tid = tid,
                           .y = !key && (since_key % 4 == 1 || since_key % 4 == 2)};
        cq_vp8_packetizer_t p;
        assert_int_equal(cq_vp8_packetizer_init(&p, frame, sizeof frame, &d, 80), 2);
        bool last = false;
        while (!last) {
            pkt_t *q = &pkts[npkts++];
            int len = cq_vp8_packetizer_next(&p, q->data, sizeof q->data, &last);
            assert_true(len > 0);
            q->len = (size_t)len;
            q->seq = seq++;
            q->ts = k * 3000u;
            q->marker = last;
            q->frame = k;
        }
    }
}

/* Feeds packets (skipping frames in `lost`, and packet index lost_pkt unless it is
 * SIZE_MAX), popping after each with a wait budget, and records which frames came out.
 * Time advances 10 ms per packet. */
static int run_losing(const int *lost, size_t nlost, size_t lost_pkt, unsigned *out_frames,
                      size_t max) {
    cq_vjb_init(&vjb);
    int n = 0;
    for (size_t i = 0; i < npkts; i++) {
        bool skip = i == lost_pkt;
        for (size_t l = 0; l < nlost; l++)
            skip |= pkts[i].frame == (unsigned)lost[l];
        if (!skip)
            assert_int_equal(cq_vjb_put(&vjb, pkts[i].seq, pkts[i].ts, pkts[i].marker, pkts[i].data,
                                        pkts[i].len),
                             0);
        static uint8_t frame[4096];
        cq_vp8_frame_info_t info;
        int len;
        while ((len = cq_vjb_pop(&vjb, (int64_t)i * 10000, 50000, frame, sizeof frame, &info)) >
               0) {
            unsigned k;
            memcpy(&k, frame + 20, sizeof k);
            assert_int_equal(len, 120);
            if ((size_t)n < max)
                out_frames[n] = k;
            n++;
        }
    }
    return n;
}

static int run(const int *lost, size_t nlost, unsigned *out_frames, size_t max) {
    return run_losing(lost, nlost, SIZE_MAX, out_frames, max);
}

/* With a wait budget (VSAT's: 1.2 round trips and 50 ms; radio's: two round trips and
 * 50 ms): frame k of the stream comes out at out_us[k] (-1: never), its last packet having
 * come at in_us[k]; a keyframe is wanted from wanted_from_us to wanted_until_us (-1:
 * never). Frames in `lost` never come; packet `late` (unless SIZE_MAX) comes late_us after
 * its place. 10 ms a packet; the feed goes on for a second after the last packet, popping
 * every 10 ms. */
#define VSAT_WAIT_US  830000
#define RADIO_WAIT_US 300000
static int64_t out_us[200], in_us[200], wanted_from_us, wanted_until_us;
static void run_timed_with(int64_t wait_us, const int *lost, size_t nlost, size_t late,
                           int64_t late_us) {
    cq_vjb_init(&vjb);
    for (size_t k = 0; k < 200; k++)
        out_us[k] = in_us[k] = -1;
    wanted_from_us = wanted_until_us = -1;
    int64_t end = (int64_t)npkts * 10000 + 1000000;
    for (int64_t now = 0; now <= end; now += 10000) {
        for (size_t i = 0; i < npkts; i++) {
            int64_t at = (int64_t)i * 10000 + (i == late ? late_us : 0);
            bool skip = false;
            for (size_t l = 0; l < nlost; l++)
                skip |= pkts[i].frame == (unsigned)lost[l];
            if (skip || at != now)
                continue;
            assert_int_equal(cq_vjb_put(&vjb, pkts[i].seq, pkts[i].ts, pkts[i].marker, pkts[i].data,
                                        pkts[i].len),
                             0);
            if (pkts[i].marker)
                in_us[pkts[i].frame] = now;
        }
        static uint8_t frame[4096];
        cq_vp8_frame_info_t info;
        while (cq_vjb_pop(&vjb, now, wait_us, frame, sizeof frame, &info) > 0) {
            unsigned k;
            memcpy(&k, frame + 20, sizeof k);
            assert_true(k < 200);
            out_us[k] = now;
        }
        /* Only after the first keyframe: the buffer wants one until then. */
        if (out_us[0] >= 0 && cq_vjb_wants_keyframe(&vjb)) {
            if (wanted_from_us < 0)
                wanted_from_us = now;
            wanted_until_us = now;
        }
    }
}

static void run_timed(const int *lost, size_t nlost, size_t late, int64_t late_us) {
    run_timed_with(VSAT_WAIT_US, lost, nlost, late, late_us);
}

/* On a long round trip a lost TL2 frame (5) is not waited for: the TL1 sync frame after it
 * (6) needs nothing of it, and comes out once the gap is older than reordering, not after
 * the 830 ms budget. Everything else comes out, nothing waits for a keyframe. */
static void test_vjb_lost_tl2_not_waited_for(void **state) {
    (void)state;
    make_stream(40, 1000);
    int lost[] = {5};
    run_timed(lost, 1, SIZE_MAX, 0);
    for (unsigned k = 0; k < 40; k++)
        if (k == 5)
            assert_int_equal(out_us[k], -1);
        else
            assert_true(out_us[k] >= 0);
    assert_true(out_us[6] - in_us[6] <= 120000); /* 100 ms of reordering, and a pop */
    assert_int_equal(vjb.passed, 1);
    assert_int_equal(vjb.keyframes_asked, 0);
}

/* A lost TL1 frame (6): the TL2 frame after it (7) may need it, the next TL0 (8) does not.
 * 6 and 7 go, 8 comes out within reordering's allowance of its arrival. */
static void test_vjb_lost_tl1_not_waited_for(void **state) {
    (void)state;
    make_stream(40, 1000);
    int lost[] = {6};
    run_timed(lost, 1, SIZE_MAX, 0);
    assert_int_equal(out_us[6], -1);
    assert_int_equal(out_us[7], -1);
    for (unsigned k = 8; k < 40; k++)
        assert_true(out_us[k] >= 0);
    assert_true(out_us[8] - in_us[8] <= 120000);
    assert_int_equal(vjb.keyframes_asked, 0);
}

/* A lost TL0 frame (8) is needed by everything after it: the buffer waits its whole budget
 * for the repair, then asks for a keyframe. Nothing is passed over early. */
static void test_vjb_lost_tl0_waited_for(void **state) {
    (void)state;
    make_stream(120, 1000);
    int lost[] = {8};
    run_timed(lost, 1, SIZE_MAX, 0);
    assert_int_equal(out_us[7], in_us[7]);
    for (unsigned k = 8; k < 120; k++)
        assert_int_equal(out_us[k], -1);
    assert_int_equal(vjb.passed, 0);
    assert_int_equal(vjb.keyframes_asked, 1);
}

/* On a short round trip a TL0 packet (frame 8's first) whose repair comes 450 ms late,
 * past the 300 ms budget: a keyframe is asked for when the budget is spent (the gap was
 * seen when frame 8's second packet came, at 170 ms), but the gap is still waited for, and
 * when the repair comes first, frame 8 and all behind it come out: nothing is lost, and
 * the keyframe is wanted no longer. */
static void test_vjb_tl0_repair_past_budget_taken(void **state) {
    (void)state;
    make_stream(80, 1000);
    assert_int_equal(pkts[16].frame, 8);
    run_timed_with(RADIO_WAIT_US, NULL, 0, 16, 450000);
    for (unsigned k = 0; k < 80; k++)
        assert_true(out_us[k] >= 0);
    assert_int_equal(out_us[8], 160000 + 450000);
    assert_int_equal(in_us[8], 170000);
    assert_int_equal(wanted_from_us, in_us[8] + RADIO_WAIT_US);
    assert_int_equal(wanted_until_us, out_us[8] - 10000);
    assert_int_equal(vjb.skipped, 0);
    assert_int_equal(vjb.keyframes_asked, 1);
    assert_false(cq_vjb_wants_keyframe(&vjb));
}

/* Frame 8 (TL0) lost for good, past the budget: the keyframe asked for then (frame 40, at
 * 810 ms) ends the wait; frames 9-39 never come out, 40 on do as they come. */
static void test_vjb_tl0_gap_ended_by_keyframe(void **state) {
    (void)state;
    make_stream(80, 40);
    int lost[] = {8};
    run_timed_with(RADIO_WAIT_US, lost, 1, SIZE_MAX, 0);
    for (unsigned k = 8; k < 40; k++)
        assert_int_equal(out_us[k], -1);
    for (unsigned k = 40; k < 80; k++)
        assert_int_equal(out_us[k], in_us[k]);
    assert_int_equal(wanted_from_us, in_us[9] + RADIO_WAIT_US);
    assert_int_equal(wanted_until_us, in_us[40] - 10000);
    assert_int_equal(vjb.keyframes_asked, 1);
    assert_false(cq_vjb_wants_keyframe(&vjb));
}

/* The wait past the budget is bounded: frame 8's first packet 1.2 s late, and no keyframe.
 * The gap is given up CQ_VJB_HOLD_US after it was seen; the repair then is too late, the
 * keyframe stays wanted, and it was counted once. */
static void test_vjb_tl0_hold_bounded(void **state) {
    (void)state;
    make_stream(160, 1000);
    run_timed_with(RADIO_WAIT_US, NULL, 0, 16, 1200000);
    for (unsigned k = 8; k < 160; k++)
        assert_int_equal(out_us[k], -1);
    assert_int_equal(wanted_from_us, in_us[8] + RADIO_WAIT_US);
    assert_true(cq_vjb_wants_keyframe(&vjb));
    assert_int_equal(vjb.keyframes_asked, 1);
    assert_true(vjb.skipped >= 1);
}

/* The repair of a TL0 packet (frame 12's first) 600 ms late, within the budget: frame 12
 * and all after it wait for it and come out; nothing is lost. A TL2 packet (frame 13's
 * first) 60 ms late, with the sync frame after it already whole: reordering, waited for. */
static void test_vjb_late_packets_waited_for(void **state) {
    (void)state;
    make_stream(80, 1000);
    assert_int_equal(pkts[24].frame, 12);
    run_timed(NULL, 0, 24, 600000);
    for (unsigned k = 0; k < 80; k++)
        assert_true(out_us[k] >= 0);
    assert_int_equal(out_us[12], in_us[12] + 600000 - 10000);
    assert_int_equal(vjb.skipped, 0);
    assert_int_equal(pkts[26].frame, 13);
    run_timed(NULL, 0, 26, 60000);
    for (unsigned k = 0; k < 80; k++)
        assert_true(out_us[k] >= 0);
    assert_int_equal(vjb.skipped, 0);
}

static void test_vjb_in_order_and_whole(void **state) {
    (void)state;
    make_stream(40, 1000);
    unsigned out[64];
    assert_int_equal(run(NULL, 0, out, 64), 40);
    for (unsigned k = 0; k < 40; k++)
        assert_int_equal(out[k], k);
    assert_false(cq_vjb_wants_keyframe(&vjb));
}

/* Packets swapped in pairs across frames: nothing waits out its budget, all come out. */
static void test_vjb_reorder(void **state) {
    (void)state;
    make_stream(40, 1000);
    for (size_t i = 1; i + 1 < npkts; i += 3) {
        pkt_t t = pkts[i];
        pkts[i] = pkts[i + 1];
        pkts[i + 1] = t;
    }
    unsigned out[64];
    assert_int_equal(run(NULL, 0, out, 64), 40);
    for (unsigned k = 0; k < 40; k++)
        assert_int_equal(out[k], k);
    assert_int_equal(vjb.skipped, 0);
}

/* Frame 5 (the pattern after the keyframe at 0: 1 TL2, 2 TL1, 3 TL2, 4 TL0, 5 TL2 sync,
 * 6 TL1 sync, 7 TL2): lost. Only it is missing: frame 7 is decodable again after the TL1
 * sync frame 6, and no keyframe is asked for. */
static void test_vjb_lost_tl2_costs_one_frame(void **state) {
    (void)state;
    make_stream(40, 1000);
    int lost[] = {5};
    unsigned out[64];
    assert_int_equal(run(lost, 1, out, 64), 39);
    for (unsigned i = 0, k = 0; k < 40; k++) {
        if (k == 5)
            continue;
        assert_int_equal(out[i++], k);
    }
    assert_int_equal(vjb.keyframes_asked, 0);
    assert_false(cq_vjb_wants_keyframe(&vjb));
}

/* Frame 8 is TL0: its group (8-11) and every later frame wait for a keyframe, which comes
 * at 20; from it on, all frames. */
static void test_vjb_lost_tl0_waits_for_keyframe(void **state) {
    (void)state;
    make_stream(40, 20);
    int lost[] = {8};
    unsigned out[64];
    int n = run(lost, 1, out, 64);
    assert_int_equal(n, 8 + 20); /* 0-7, then 20-39 */
    assert_int_equal(out[7], 7);
    assert_int_equal(out[8], 20);
    assert_int_equal(vjb.keyframes_asked, 1);
    assert_false(cq_vjb_wants_keyframe(&vjb));
}

/* Joined after the keyframe: nothing until the next one. */
static void test_vjb_join_mid_stream(void **state) {
    (void)state;
    make_stream(40, 20);
    int lost[] = {0, 1, 2, 3, 4, 5}; /* as if the first frames were before the join */
    unsigned out[64];
    int n = run(lost, 6, out, 64);
    assert_int_equal(n, 20);
    assert_int_equal(out[0], 20);
}

/* The very first packet seen is the second of a keyframe (its first was lost, and nothing
 * can NACK what came before the first packet seen): after the wait budget the buffer
 * starts over at the next keyframe instead of waiting for the lost start forever. */
static void test_vjb_first_frame_without_its_start(void **state) {
    (void)state;
    make_stream(40, 20);
    unsigned out[64];
    int n = run_losing(NULL, 0, 0, out, 64); /* packet 0, frame 0's start, never comes */
    assert_int_equal(n, 20);
    assert_int_equal(out[0], 20);
    assert_false(cq_vjb_wants_keyframe(&vjb));
}

/* Frame 6 (TL1) lost: the TL2 frame after it (7, not a sync frame) needed it and is
 * dropped; the next TL0 (8) carries on without a keyframe. */
static void test_vjb_lost_tl1_costs_its_dependents(void **state) {
    (void)state;
    make_stream(40, 1000);
    int lost[] = {6};
    unsigned out[64];
    assert_int_equal(run(lost, 1, out, 64), 38);
    assert_int_equal(out[5], 5);
    assert_int_equal(out[6], 8);
    assert_int_equal(vjb.keyframes_asked, 0);
}

/* A packet of frame 10 arrives 40 ms late (a repair within the 50 ms budget): frame 10
 * and the ones behind it wait for it, and nothing is lost. */
static void test_vjb_repair_within_budget(void **state) {
    (void)state;
    make_stream(40, 1000);
    size_t i = 20; /* frame 10's first packet */
    assert_int_equal(pkts[i].frame, 10);
    pkt_t late = pkts[i];
    memmove(&pkts[i], &pkts[i + 1], 4 * sizeof pkts[0]);
    pkts[i + 4] = late;
    unsigned out[64];
    assert_int_equal(run(NULL, 0, out, 64), 40);
    for (unsigned k = 0; k < 40; k++)
        assert_int_equal(out[k], k);
    assert_int_equal(vjb.skipped, 0);
}

/* What a repair would bring: a packet the buffer holds, or whose frame went out, is not
 * wanted; one never seen, or seen and lost, is (a copy of it then repairs the frame). */
static void test_vjb_wants_only_what_is_missing(void **state) {
    (void)state;
    make_stream(8, 1000);
    cq_vjb_init(&vjb);
    assert_true(cq_vjb_wants(&vjb, pkts[0].seq)); /* nothing yet */
    static uint8_t frame[4096];
    cq_vp8_frame_info_t info;
    for (size_t i = 0; i < 4; i++) /* frames 0 and 1 */
        assert_int_equal(
            cq_vjb_put(&vjb, pkts[i].seq, pkts[i].ts, pkts[i].marker, pkts[i].data, pkts[i].len),
            0);
    assert_int_equal(cq_vjb_pop(&vjb, 0, 50000, frame, sizeof frame, &info), 120);
    assert_false(cq_vjb_wants(&vjb, pkts[0].seq)); /* given out */
    assert_false(cq_vjb_wants(&vjb, pkts[1].seq));
    assert_false(cq_vjb_wants(&vjb, pkts[2].seq)); /* held, not taken yet */
    assert_false(cq_vjb_wants(&vjb, pkts[3].seq));
    assert_true(cq_vjb_wants(&vjb, pkts[4].seq)); /* frame 2: not come */
    /* Frame 2's second packet comes, its first is lost: only the first is wanted, and a
     * copy of it completes the frame. */
    assert_int_equal(
        cq_vjb_put(&vjb, pkts[5].seq, pkts[5].ts, pkts[5].marker, pkts[5].data, pkts[5].len), 0);
    assert_true(cq_vjb_wants(&vjb, pkts[4].seq));
    assert_false(cq_vjb_wants(&vjb, pkts[5].seq));
    assert_int_equal(
        cq_vjb_put(&vjb, pkts[4].seq, pkts[4].ts, pkts[4].marker, pkts[4].data, pkts[4].len), 0);
    assert_false(cq_vjb_wants(&vjb, pkts[4].seq));
    assert_int_equal(cq_vjb_pop(&vjb, 0, 50000, frame, sizeof frame, &info), 120);
    assert_int_equal(cq_vjb_pop(&vjb, 0, 50000, frame, sizeof frame, &info), 120);
    unsigned k;
    memcpy(&k, frame + 20, sizeof k);
    assert_int_equal(k, 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vjb_in_order_and_whole),
        cmocka_unit_test(test_vjb_reorder),
        cmocka_unit_test(test_vjb_repair_within_budget),
        cmocka_unit_test(test_vjb_lost_tl2_costs_one_frame),
        cmocka_unit_test(test_vjb_lost_tl1_costs_its_dependents),
        cmocka_unit_test(test_vjb_lost_tl0_waits_for_keyframe),
        cmocka_unit_test(test_vjb_join_mid_stream),
        cmocka_unit_test(test_vjb_first_frame_without_its_start),
        cmocka_unit_test(test_vjb_lost_tl2_not_waited_for),
        cmocka_unit_test(test_vjb_lost_tl1_not_waited_for),
        cmocka_unit_test(test_vjb_lost_tl0_waited_for),
        cmocka_unit_test(test_vjb_late_packets_waited_for),
        cmocka_unit_test(test_vjb_tl0_repair_past_budget_taken),
        cmocka_unit_test(test_vjb_tl0_gap_ended_by_keyframe),
        cmocka_unit_test(test_vjb_tl0_hold_bounded),
        cmocka_unit_test(test_vjb_wants_only_what_is_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
