/*
 * The receive side of transport-wide CC: what cq_arrivals_write puts out is walked with
 * cq_rtcp_iter_* and parsed with cq_twcc_parse, and every status and arrival time is
 * compared with what the test recorded. Time is the explicit arrival_us / now_us values.
 *
 * No fuzz target of its own: the module parses nothing from the network (its input is a
 * 16-bit number and a time, any value of which is valid), and the bytes it writes come
 * from cq_twcc_write, whose parse -> write -> parse round trip fuzz/fuzz_twcc.c checks
 * with arbitrary statuses, gaps, times and caps. What is left, the bookkeeping of numbers
 * arriving lost, reordered, duplicated and late, is what the seeded property test at the
 * end drives with random networks and random buffer sizes, checked against a model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cc/arrivals.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/twcc.h"
#include "support/test_rand.h"

#define SENDER 0x5e4d0001u
#define MEDIA  0x3ed10000u

/* Arrival times are never on the 250 us grid, so rounding is exercised everywhere. */
#define T0 1000037

/* The wire keeps times modulo the 24-bit reference time's span. */
#define REF_WRAP_US (((int64_t)1 << 24) * CQ_TWCC_REF_UNIT_US)

/* ---- reading back what was written ---------------------------------------------------- */

#define MAX_MSGS    64
#define MAX_REPORTS 8192

typedef struct {
    cq_twcc_fb_t fb[MAX_MSGS];
    size_t first[MAX_MSGS], count[MAX_MSGS]; /* each message's packets in pkt[] */
    size_t nmsg;
    cq_twcc_packet_t pkt[MAX_REPORTS];
    size_t npkt;
} readback_t;

static readback_t rb;

/* Parses every message of [buf, buf + len) and appends them to rb. */
static void read_back(const uint8_t *buf, int len) {
    assert_true(len > 0);
    assert_int_equal(len % 4, 0);
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, buf, (size_t)len);
    int total = 0, n;
    while ((n = cq_rtcp_iter_next(&it, &h)) > 0) {
        assert_true(rb.nmsg < MAX_MSGS);
        size_t m = rb.nmsg++;
        int k = cq_twcc_parse(&h, &rb.fb[m], rb.pkt + rb.npkt, MAX_REPORTS - rb.npkt);
        assert_true(k > 0);
        assert_int_equal(rb.fb[m].sender_ssrc, SENDER);
        assert_int_equal(rb.fb[m].media_ssrc, MEDIA);
        rb.first[m] = rb.npkt;
        rb.count[m] = (size_t)k;
        rb.npkt += (size_t)k;
        total += n;
    }
    assert_int_equal(n, 0);
    assert_int_equal(total, len);
}

static void write_and_read(cq_arrivals_t *a, int64_t now_us) {
    static uint8_t buf[CQ_RTCP_MAX_SIZE];
    memset(&rb, 0, sizeof rb);
    int len = cq_arrivals_write(a, now_us, buf, sizeof buf);
    read_back(buf, len);
}

/* The report of seq in message m, which must hold it. */
static const cq_twcc_packet_t *report_of(size_t m, uint16_t seq) {
    uint16_t off = (uint16_t)(seq - rb.fb[m].base_seq);
    assert_true(off < rb.count[m]);
    const cq_twcc_packet_t *p = &rb.pkt[rb.first[m] + off];
    assert_int_equal(p->seq, seq);
    return p;
}

static void expect_received(size_t m, uint16_t seq, int64_t arrival_us) {
    const cq_twcc_packet_t *p = report_of(m, seq);
    assert_int_equal(p->received, 1);
    int64_t err = p->arrival_us - arrival_us;
    if (err < -CQ_TWCC_TICK_US / 2 || err > CQ_TWCC_TICK_US / 2)
        fail_msg("seq %u arrived at %lld, reported %lld", seq, (long long)arrival_us,
                 (long long)p->arrival_us);
}

static void expect_lost(size_t m, uint16_t seq) {
    assert_int_equal(report_of(m, seq)->received, 0);
}

static cq_arrivals_t *fresh(void) {
    static cq_arrivals_t a;
    memset(&a, 0x5a, sizeof a); /* init must not rely on zeroed storage */
    cq_arrivals_init(&a, SENDER, MEDIA);
    return &a;
}

/* An arrival time for the k-th packet of a test: 1.3 ms apart, off the grid. */
static int64_t at(unsigned k) {
    return T0 + (int64_t)k * 1300 + (k * 37) % 250;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_arrivals_write_gaps_reported_not_received(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    assert_int_equal(cq_arrivals_write(a, T0, NULL, 0), 0);
    for (unsigned k = 0; k < 20; k++)
        if (k != 5 && (k < 10 || k > 12))
            cq_arrivals_record(a, (uint16_t)(100 + k), at(k));
    write_and_read(a, at(20));
    assert_int_equal(rb.nmsg, 1);
    assert_int_equal(rb.fb[0].base_seq, 100);
    assert_int_equal(rb.fb[0].status_count, 20);
    assert_int_equal(rb.fb[0].fb_count, 0);
    for (unsigned k = 0; k < 20; k++) {
        if (k == 5 || (k >= 10 && k <= 12))
            expect_lost(0, (uint16_t)(100 + k));
        else
            expect_received(0, (uint16_t)(100 + k), at(k));
    }
    /* All reported: nothing more to write, nothing due. */
    uint8_t buf[64];
    assert_int_equal(cq_arrivals_write(a, at(21), buf, sizeof buf), 0);
    assert_false(cq_arrivals_due(a, at(21) + 10 * CQ_ARRIVALS_INTERVAL_US));
    assert_int_equal(a->stats.recorded, 16);
    assert_int_equal(a->stats.messages, 1);
}

/* A gap that falls between two feedbacks is still reported: the second starts where the
 * first stopped, at the missing number. */
static void test_arrivals_write_gap_between_feedbacks(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    for (unsigned k = 0; k < 5; k++)
        cq_arrivals_record(a, (uint16_t)(7 + k), at(k));
    write_and_read(a, at(5));
    assert_int_equal(rb.fb[0].base_seq, 7);
    assert_int_equal(rb.fb[0].status_count, 5);
    cq_arrivals_record(a, 14, at(7)); /* 12 and 13 lost */
    write_and_read(a, at(8));
    assert_int_equal(rb.nmsg, 1);
    assert_int_equal(rb.fb[0].base_seq, 12);
    assert_int_equal(rb.fb[0].status_count, 3);
    assert_int_equal(rb.fb[0].fb_count, 1);
    expect_lost(0, 12);
    expect_lost(0, 13);
    expect_received(0, 14, at(7));
}

static void test_arrivals_write_wrap_65535_to_0(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    for (unsigned k = 0; k < 12; k++) {
        uint16_t seq = (uint16_t)(65530 + k);
        if (seq != 65534 && seq != 2)
            cq_arrivals_record(a, seq, at(k));
    }
    write_and_read(a, at(12));
    assert_int_equal(rb.nmsg, 1);
    assert_int_equal(rb.fb[0].base_seq, 65530);
    assert_int_equal(rb.fb[0].status_count, 12);
    for (unsigned k = 0; k < 12; k++) {
        uint16_t seq = (uint16_t)(65530 + k);
        if (seq == 65534 || seq == 2)
            expect_lost(0, seq);
        else
            expect_received(0, seq, at(k));
    }
    /* And on across the wrap into the next feedback. */
    cq_arrivals_record(a, 6, at(13));
    write_and_read(a, at(14));
    assert_int_equal(rb.fb[0].base_seq, 6);
    assert_int_equal(rb.fb[0].status_count, 1);
    expect_received(0, 6, at(13));
}

static void test_arrivals_record_reordering(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    /* Arrival order 12, 10, 11, 15, 13, 14: each number keeps its own time, and 10, which
     * came after the first packet, still opens the feedback. */
    const uint16_t order[] = {12, 10, 11, 15, 13, 14};
    for (unsigned k = 0; k < 6; k++)
        cq_arrivals_record(a, order[k], at(k));
    write_and_read(a, at(6));
    assert_int_equal(rb.nmsg, 1);
    assert_int_equal(rb.fb[0].base_seq, 10);
    assert_int_equal(rb.fb[0].status_count, 6);
    for (unsigned k = 0; k < 6; k++)
        expect_received(0, order[k], at(k));
    assert_int_equal(a->stats.late, 0);
}

static void test_arrivals_record_duplicates_keep_first(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    cq_arrivals_record(a, 10, at(0));
    cq_arrivals_record(a, 11, at(1));
    cq_arrivals_record(a, 11, at(5));
    cq_arrivals_record(a, 12, at(2));
    assert_int_equal(a->stats.duplicates, 1);
    write_and_read(a, at(6));
    assert_int_equal(rb.fb[0].status_count, 3);
    expect_received(0, 11, at(1));
    /* A duplicate of something already reported brings no new feedback. */
    cq_arrivals_record(a, 12, at(7));
    assert_int_equal(a->stats.duplicates, 2);
    assert_false(cq_arrivals_due(a, at(7) + 10 * CQ_ARRIVALS_INTERVAL_US));
    uint8_t buf[64];
    assert_int_equal(cq_arrivals_write(a, at(8), buf, sizeof buf), 0);
}

/* A packet reported missing that then arrives: the next feedback starts again from it, and
 * reports the ones after it again with the same times. */
static void test_arrivals_late_arrival_after_not_received(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    for (unsigned k = 1; k <= 5; k++)
        if (k != 3)
            cq_arrivals_record(a, (uint16_t)k, at(k));
    write_and_read(a, at(6));
    expect_lost(0, 3);
    cq_arrivals_record(a, 3, at(7));
    cq_arrivals_record(a, 6, at(8));
    assert_int_equal(a->stats.late, 1);
    write_and_read(a, at(9));
    assert_int_equal(rb.nmsg, 1);
    assert_int_equal(rb.fb[0].base_seq, 3);
    assert_int_equal(rb.fb[0].status_count, 4);
    assert_int_equal(rb.fb[0].fb_count, 1);
    expect_received(0, 3, at(7));
    expect_received(0, 4, at(4));
    expect_received(0, 5, at(5));
    expect_received(0, 6, at(8));
}

/* Too far behind to be worth re-reporting: it stays "not received" for the sender. */
static void test_arrivals_late_arrival_beyond_reach(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    const unsigned n = CQ_ARRIVALS_LATE_REACH + 40;
    for (unsigned k = 0; k < n; k++)
        if (k != 20)
            cq_arrivals_record(a, (uint16_t)k, at(k));
    write_and_read(a, at(n));
    expect_lost(0, 20);
    cq_arrivals_record(a, 20, at(n + 1));
    assert_false(cq_arrivals_due(a, at(n + 1) + 10 * CQ_ARRIVALS_INTERVAL_US));
    uint8_t buf[64];
    assert_int_equal(cq_arrivals_write(a, at(n + 2), buf, sizeof buf), 0);
    /* It is remembered all the same: coming again it is a duplicate. */
    cq_arrivals_record(a, 20, at(n + 3));
    assert_int_equal(a->stats.duplicates, 1);
    /* Within reach, the restart happens: n reported missing, then it comes. */
    cq_arrivals_record(a, (uint16_t)(n + 1), at(n + 4));
    write_and_read(a, at(n + 5));
    expect_lost(0, (uint16_t)n);
    cq_arrivals_record(a, (uint16_t)n, at(n + 6));
    write_and_read(a, at(n + 7));
    assert_int_equal(rb.fb[0].base_seq, n);
    assert_int_equal(rb.fb[0].status_count, 2);
    expect_received(0, (uint16_t)n, at(n + 6));
    expect_received(0, (uint16_t)(n + 1), at(n + 4));
}

/* A jump of more than the ring: what the ring still covers is reported, and slots the old
 * numbers used hold nothing stale. */
static void test_arrivals_long_gap_beyond_ring(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    for (unsigned k = 0; k < 10; k++)
        cq_arrivals_record(a, (uint16_t)k, at(k));
    write_and_read(a, at(10));
    assert_int_equal(rb.fb[0].status_count, 10);
    const uint16_t far = 5000;
    cq_arrivals_record(a, far, at(11));
    write_and_read(a, at(12));
    size_t covered = 0;
    for (size_t m = 0; m < rb.nmsg; m++)
        covered += rb.count[m];
    assert_int_equal(rb.fb[0].base_seq, far - CQ_ARRIVALS_RING + 1);
    assert_int_equal(covered, CQ_ARRIVALS_RING);
    for (size_t i = 0; i + 1 < rb.npkt; i++)
        assert_int_equal(rb.pkt[i].received, 0);
    /* 4096..4105 share slots with 0..9. */
    expect_lost(rb.nmsg - 1, 4096);
    expect_received(rb.nmsg - 1, far, at(11));
    assert_int_equal(a->stats.evicted, 0);
    /* Unreported arrivals pushed out by a jump are counted. */
    for (unsigned k = 1; k <= 3; k++)
        cq_arrivals_record(a, (uint16_t)(far + k), at(12 + k));
    cq_arrivals_record(a, (uint16_t)(far + 3 + 3 * CQ_ARRIVALS_RING), at(20));
    assert_int_equal(a->stats.evicted, 3);
}

/* A small buffer takes what fits, whole messages only; the rest follows, nothing lost. */
static void test_arrivals_write_small_buffer_loses_nothing(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    const unsigned n = 300;
    bool arrived[300];
    for (unsigned k = 0; k < n; k++) {
        arrived[k] = k % 7 != 3 && k % 11 != 5;
        if (arrived[k])
            cq_arrivals_record(a, (uint16_t)(60000 + k), at(k));
    }
    uint8_t buf[CQ_TWCC_HEADER_SIZE];
    assert_int_equal(cq_arrivals_write(a, at(n), buf, sizeof buf - 1), CQ_ENOBUFS);
    assert_int_equal(a->stats.messages, 0);
    assert_true(cq_arrivals_due(a, at(n)));

    static uint8_t all[8192];
    size_t total = 0;
    unsigned calls = 0;
    memset(&rb, 0, sizeof rb);
    /* Whenever something was left, due said so at once (the rest goes at the next tick). */
    bool more_due = true;
    for (;;) {
        uint8_t small[64];
        int len = cq_arrivals_write(a, at(n) + calls, small, sizeof small);
        if (len == 0)
            break;
        assert_true(more_due);
        assert_true(len > 0 && len <= (int)sizeof small);
        more_due = cq_arrivals_due(a, at(n) + calls);
        memcpy(all + total, small, (size_t)len);
        total += (size_t)len;
        calls++;
        assert_true(calls < 200);
    }
    assert_true(calls > 5);
    read_back(all, (int)total);
    /* The messages follow each other without overlap or hole. */
    assert_int_equal(rb.npkt, n);
    for (size_t m = 0; m < rb.nmsg; m++)
        assert_int_equal(rb.fb[m].fb_count, m);
    for (unsigned k = 0; k < n; k++) {
        const cq_twcc_packet_t *p = &rb.pkt[k];
        assert_int_equal(p->seq, (uint16_t)(60000 + k));
        assert_int_equal(p->received, arrived[k]);
        if (arrived[k])
            assert_true(llabs(p->arrival_us - at(k)) <= CQ_TWCC_TICK_US / 2);
    }
    assert_false(cq_arrivals_due(a, at(n) + 10 * CQ_ARRIVALS_INTERVAL_US));
}

/* More than one message's worth: several messages, contiguous, counts in order. */
static void test_arrivals_write_splits_long_backlog(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    for (unsigned k = 0; k < 600; k++)
        cq_arrivals_record(a, (uint16_t)k, at(k));
    write_and_read(a, at(600));
    assert_true(rb.nmsg >= 3);
    assert_int_equal(rb.npkt, 600);
    for (size_t m = 0; m < rb.nmsg; m++)
        assert_int_equal(rb.fb[m].fb_count, m);
    for (unsigned k = 0; k < 600; k++) {
        assert_int_equal(rb.pkt[k].seq, k);
        assert_true(llabs(rb.pkt[k].arrival_us - at(k)) <= CQ_TWCC_TICK_US / 2);
    }
}

/* Two arrivals further apart than a 16-bit delta reaches (8.19 s) go in two messages. */
static void test_arrivals_write_long_silence_two_messages(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    cq_arrivals_record(a, 40, T0);
    cq_arrivals_record(a, 41, T0 + 20000000);
    write_and_read(a, T0 + 20000001);
    assert_int_equal(rb.nmsg, 2);
    expect_received(0, 40, T0);
    expect_received(1, 41, T0 + 20000000);
}

static int64_t floor_mod(int64_t t) {
    int64_t m = t % REF_WRAP_US;
    return m < 0 ? m + REF_WRAP_US : m;
}

/* Any clock works: times far from 0 come back modulo the reference time's span. */
static void test_arrivals_write_extreme_clocks(void **state) {
    (void)state;
    const int64_t times[] = {-7000000123, INT64_MAX - 5000000, INT64_MIN + 3, (int64_t)1 << 50};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        cq_arrivals_t *a = fresh();
        cq_arrivals_record(a, 1, times[i]);
        cq_arrivals_record(a, 2, times[i] + 1999);
        write_and_read(a, 0);
        assert_int_equal(rb.npkt, 2);
        for (unsigned k = 0; k < 2; k++) {
            int64_t want = times[i] + (k ? 1999 : 0);
            if (want == CQ_ARRIVALS_NONE)
                want++;
            /* The difference modulo the span, taken to (-span/2, span/2]. */
            int64_t d = floor_mod(rb.pkt[k].arrival_us) - floor_mod(want);
            if (d < -REF_WRAP_US / 2)
                d += REF_WRAP_US;
            if (d > REF_WRAP_US / 2)
                d -= REF_WRAP_US;
            assert_int_equal(rb.pkt[k].received, 1);
            assert_true(d >= -CQ_TWCC_TICK_US / 2 && d <= CQ_TWCC_TICK_US / 2);
        }
    }
}

static void test_arrivals_fb_count_per_message_wraps(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    for (unsigned k = 0; k < 260; k++) {
        cq_arrivals_record(a, (uint16_t)k, at(k));
        write_and_read(a, at(k));
        assert_int_equal(rb.nmsg, 1);
        assert_int_equal(rb.fb[0].fb_count, (uint8_t)k);
        assert_int_equal(rb.fb[0].base_seq, k);
    }
    assert_int_equal(a->stats.messages, 260);
}

static void test_arrivals_due_timing(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    assert_false(cq_arrivals_due(a, 0));
    assert_false(cq_arrivals_due(a, INT64_MAX));
    /* The first feedback: an interval after the first packet. */
    cq_arrivals_record(a, 1, T0);
    assert_false(cq_arrivals_due(a, T0));
    assert_false(cq_arrivals_due(a, T0 + CQ_ARRIVALS_INTERVAL_US - 1));
    assert_true(cq_arrivals_due(a, T0 + CQ_ARRIVALS_INTERVAL_US));
    assert_false(cq_arrivals_due(a, T0 - 5)); /* a clock that went back: wait */
    uint8_t buf[256];
    const int64_t sent = T0 + CQ_ARRIVALS_INTERVAL_US + 3000;
    assert_true(cq_arrivals_write(a, sent, buf, sizeof buf) > 0);
    assert_false(cq_arrivals_due(a, sent + 10 * CQ_ARRIVALS_INTERVAL_US)); /* nothing new */
    /* Then every interval counted from the last feedback, while packets come. */
    cq_arrivals_record(a, 2, sent + 50000);
    assert_false(cq_arrivals_due(a, sent + CQ_ARRIVALS_INTERVAL_US - 1));
    assert_true(cq_arrivals_due(a, sent + CQ_ARRIVALS_INTERVAL_US));
    assert_true(cq_arrivals_write(a, sent + CQ_ARRIVALS_INTERVAL_US, buf, sizeof buf) > 0);
    /* Or as soon as enough are waiting. */
    const int64_t t = sent + CQ_ARRIVALS_INTERVAL_US + 10;
    for (unsigned k = 0; k < CQ_ARRIVALS_DUE_PACKETS - 1; k++)
        cq_arrivals_record(a, (uint16_t)(3 + k), t);
    assert_false(cq_arrivals_due(a, t));
    cq_arrivals_record(a, (uint16_t)(3 + CQ_ARRIVALS_DUE_PACKETS - 1), t);
    assert_true(cq_arrivals_due(a, t));
}

/* The sender's numbers jump by more than half the space: after a run of "too old" packets
 * the recorder starts again, and the feedback follows the new numbers. */
static void test_arrivals_resync_after_jump(void **state) {
    (void)state;
    cq_arrivals_t *a = fresh();
    for (unsigned k = 0; k < 10; k++)
        cq_arrivals_record(a, (uint16_t)(1000 + k), at(k));
    write_and_read(a, at(10));
    uint8_t fb_next = (uint8_t)(rb.fb[0].fb_count + 1);
    for (unsigned k = 0; k < CQ_ARRIVALS_RESYNC + 5; k++)
        cq_arrivals_record(a, (uint16_t)(40000 + k), at(20 + k));
    assert_int_equal(a->stats.resyncs, 1);
    assert_int_equal(a->stats.too_old, CQ_ARRIVALS_RESYNC);
    write_and_read(a, at(100));
    assert_int_equal(rb.fb[0].base_seq, 40000 + CQ_ARRIVALS_RESYNC - 1);
    assert_int_equal(rb.fb[0].status_count, 6);
    assert_int_equal(rb.fb[0].fb_count, fb_next);
    expect_received(0, 40000 + CQ_ARRIVALS_RESYNC + 4, at(20 + CQ_ARRIVALS_RESYNC + 4));
}

/*
 * Property: a sender's numbers reach the receiver lost, reordered (by up to 20 places) and
 * duplicated, and feedback goes at random moments into random buffer sizes. Every report
 * of "received" carries the first arrival time; every "not received" was true when it was
 * written; and every packet that arrived is reported received at least once.
 */
static void test_arrivals_property_random_network(void **state) {
    (void)state;
    static uint8_t buf[2048];
    static int64_t first_at[4096];
    static bool reported[4096];
    for (uint64_t seed = 1; seed <= 40; seed++) {
        cq_test_rand_t r = {seed};
        cq_arrivals_t *a = fresh();
        const unsigned n = 3000;
        const uint16_t start = (uint16_t)cq_test_rand_u32(&r);
        for (unsigned k = 0; k < n; k++) {
            first_at[k] = CQ_ARRIVALS_NONE;
            reported[k] = false;
        }
        /* The order packets leave the network: swap near neighbours. */
        static unsigned order[3000];
        for (unsigned k = 0; k < n; k++)
            order[k] = k;
        for (unsigned k = 0; k + 1 < n; k++) {
            unsigned j = k + cq_test_rand_below(&r, 20);
            if (j < n && cq_test_rand_below(&r, 8) == 0) {
                unsigned t = order[k];
                order[k] = order[j];
                order[j] = t;
            }
        }
        int64_t now = T0;
        for (unsigned i = 0; i < n; i++) {
            now += 100 + cq_test_rand_below(&r, 2000);
            unsigned k = order[i];
            unsigned copies = cq_test_rand_below(&r, 10) == 0 ? 0 : 1;
            copies += cq_test_rand_below(&r, 30) == 0;
            for (unsigned c = 0; c < copies; c++) {
                cq_arrivals_record(a, (uint16_t)(start + k), now + c);
                if (first_at[k] == CQ_ARRIVALS_NONE)
                    first_at[k] = now + c;
            }
            bool last = i + 1 == n;
            if (!last && !cq_arrivals_due(a, now) && cq_test_rand_below(&r, 50) != 0)
                continue;
            for (;;) {
                size_t cap = last ? sizeof buf : 24 + 4 * cq_test_rand_below(&r, 200);
                memset(&rb, 0, sizeof rb);
                int len = cq_arrivals_write(a, now, buf, cap);
                if (len == 0 || len == CQ_ENOBUFS)
                    break;
                assert_true(len > 0 && (size_t)len <= cap);
                read_back(buf, len);
                for (size_t p = 0; p < rb.npkt; p++) {
                    unsigned kk = (uint16_t)(rb.pkt[p].seq - start);
                    assert_true(kk < n);
                    if (!rb.pkt[p].received) {
                        assert_true(first_at[kk] == CQ_ARRIVALS_NONE);
                        continue;
                    }
                    assert_true(llabs(rb.pkt[p].arrival_us - first_at[kk]) <= CQ_TWCC_TICK_US / 2);
                    reported[kk] = true;
                }
                if (!last)
                    break;
            }
        }
        for (unsigned k = 0; k < n; k++)
            if (first_at[k] != CQ_ARRIVALS_NONE && !reported[k])
                fail_msg("seed %llu: packet %u arrived, never reported", (unsigned long long)seed,
                         k);
        assert_int_equal(a->stats.evicted, 0);
        assert_int_equal(a->stats.too_old, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrivals_write_gaps_reported_not_received),
        cmocka_unit_test(test_arrivals_write_gap_between_feedbacks),
        cmocka_unit_test(test_arrivals_write_wrap_65535_to_0),
        cmocka_unit_test(test_arrivals_record_reordering),
        cmocka_unit_test(test_arrivals_record_duplicates_keep_first),
        cmocka_unit_test(test_arrivals_late_arrival_after_not_received),
        cmocka_unit_test(test_arrivals_late_arrival_beyond_reach),
        cmocka_unit_test(test_arrivals_long_gap_beyond_ring),
        cmocka_unit_test(test_arrivals_write_small_buffer_loses_nothing),
        cmocka_unit_test(test_arrivals_write_splits_long_backlog),
        cmocka_unit_test(test_arrivals_write_long_silence_two_messages),
        cmocka_unit_test(test_arrivals_write_extreme_clocks),
        cmocka_unit_test(test_arrivals_fb_count_per_message_wraps),
        cmocka_unit_test(test_arrivals_due_timing),
        cmocka_unit_test(test_arrivals_resync_after_jump),
        cmocka_unit_test(test_arrivals_property_random_network),
    };
    return cmocka_run_group_tests_name("cc_arrivals", tests, NULL, NULL);
}
