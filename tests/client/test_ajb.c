/*
 * The audio jitter buffer against simulated links: steady, jittery (with the reordering
 * jitter brings), lossy, and a sender that goes silent (DTX). Packets are real Opus
 * packets of 20 ms; the playout asks for a frame every 20 ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/ajb.h"
#include "rtp/error.h"
#include "support/test_rand.h"

static cq_ajb_t jb;

typedef struct {
    int64_t at_us;
    uint16_t seq;
    uint32_t ts;
} arrival_t;

/* A 20 ms Opus packet (TOC config 9: SILK wideband 20 ms, one frame) tagged with k. */
static size_t opus_packet(uint8_t *p, uint32_t k) {
    p[0] = 9 << 3;
    memcpy(p + 1, &k, sizeof k);
    return 1 + sizeof k;
}

typedef struct {
    int played, red, fec, concealed, stretched, gaps, late, wait, wrong_order;
    uint32_t last_k;
    int64_t last_behind_ms; /* the most the playout ran behind the newest arrival, at the end */
} tally_t;

/* The link and the sender of a simulation. */
typedef struct {
    uint32_t n;                       /* packets sent, one each 20 ms */
    unsigned base_ms, jitter_ms;      /* delay: base plus up to jitter */
    int loss_every;                   /* every loss_every-th packet lost (0: none) ... */
    int burst;                        /* ... with the burst - 1 after it (0 or 1: alone) */
    uint32_t silent_from, silent_to;  /* no packets sent in [from, to): DTX */
    unsigned red;                     /* earlier packets each one repeats (RED) ... */
    unsigned red_at[2];               /* ... these far back (0: 1 and 2 back) */
    unsigned (*queue_ms)(uint32_t k); /* a queue's delay on top of the rest (NULL: none) */
} link_t;

static bool lost(const link_t *l, uint32_t k) {
    if (k >= l->silent_from && k < l->silent_to)
        return true;
    int burst = l->burst > 1 ? l->burst : 1;
    return l->loss_every && k % (uint32_t)l->loss_every >= 7 &&
           k % (uint32_t)l->loss_every < 7u + (uint32_t)burst;
}

static void played_in_order(tally_t *t, const uint8_t *pkt, unsigned samples) {
    uint32_t k;
    memcpy(&k, pkt + 1, sizeof k);
    if (t->played + t->red > 0 && k <= t->last_k)
        t->wrong_order++;
    t->last_k = k;
    assert_int_equal(samples, 960);
}

/*
 * Sends packets every 20 ms over the link, losing those lost() says, and plays for n + 50
 * frames, checking that what plays is in order.
 */
static void simulate(const link_t *l, tally_t *t) {
    static arrival_t arr[4096];
    cq_test_rand_t r = {99};
    size_t na = 0;
    uint32_t n = l->n;
    unsigned base_ms = l->base_ms, jitter_ms = l->jitter_ms;
    for (uint32_t k = 0; k < n; k++) {
        if (lost(l, k))
            continue;
        int64_t sent = (int64_t)k * 20000;
        unsigned queued = l->queue_ms ? l->queue_ms(k) : 0;
        arr[na++] = (arrival_t){sent + (base_ms + queued) * 1000 +
                                    cq_test_rand_below(&r, jitter_ms + 1) * 1000,
                                (uint16_t)k, k * 960u};
    }
    /* Deliver in arrival order. */
    for (size_t i = 1; i < na; i++)
        for (size_t q = i; q > 0 && arr[q - 1].at_us > arr[q].at_us; q--) {
            arrival_t x = arr[q];
            arr[q] = arr[q - 1];
            arr[q - 1] = x;
        }
    cq_ajb_init(&jb);
    memset(t, 0, sizeof *t);
    size_t next = 0;
    for (int64_t now = 0; now < (int64_t)(n + 50) * 20000; now += 20000) {
        for (; next < na && arr[next].at_us <= now; next++) {
            uint8_t p[16];
            size_t len = opus_packet(p, arr[next].seq);
            /* As the receiver does: the copies first, then the packet itself. */
            for (unsigned i = l->red; i > 0; i--) {
                uint32_t k = arr[next].seq, d = l->red_at[0] ? l->red_at[i - 1] : i;
                if (k < d)
                    continue;
                uint8_t c[16];
                size_t clen = opus_packet(c, k - d);
                assert_true(cq_ajb_put_redundant(&jb, (k - d) * 960u, k * 960u, c, clen) >= 0);
            }
            if (cq_ajb_put(&jb, arr[next].seq, arr[next].ts, p, len, arr[next].at_us) == CQ_EREPLAY)
                t->late++;
        }
        const uint8_t *pkt;
        size_t len;
        unsigned samples;
        if (l->queue_ms && next > 0 && next < na) {
            /* How far behind the newest arrival the playout runs. */
            int64_t behind = (int64_t)(arr[next - 1].ts - jb.play_ts) / 48;
            if (now >= (int64_t)(n - 100) * 20000 && behind > t->last_behind_ms)
                t->last_behind_ms = behind;
        }
        switch (cq_ajb_get(&jb, now, &pkt, &len, &samples)) {
        case CQ_AJB_WAIT:
            t->wait++;
            break;
        case CQ_AJB_PLAY:
            played_in_order(t, pkt, samples);
            t->played++;
            break;
        case CQ_AJB_RED:
            played_in_order(t, pkt, samples);
            t->red++;
            break;
        case CQ_AJB_FEC:
            t->fec++;
            break;
        case CQ_AJB_CONCEAL:
            t->concealed++;
            break;
        case CQ_AJB_STRETCH:
            t->stretched++;
            break;
        case CQ_AJB_GAP:
            t->gaps++;
            break;
        }
    }
}

static void test_ajb_steady_link_keeps_the_minimum(void **state) {
    (void)state;
    tally_t t;
    simulate(&(link_t){.n = 500, .base_ms = 300}, &t); /* VSAT-like: long but steady */
    assert_int_equal(cq_ajb_target_ms(&jb), CQ_AJB_MIN_MS);
    assert_int_equal(t.played, 500);
    assert_int_equal(t.late, 0);
    assert_int_equal(t.wrong_order, 0);
}

/* Jitter of 0-80 ms (which also reorders): the delay grows to cover it, and almost
 * nothing arrives too late. */
static void test_ajb_jittery_link(void **state) {
    (void)state;
    tally_t t;
    simulate(&(link_t){.n = 1000, .base_ms = 40, .jitter_ms = 80}, &t);
    assert_true(cq_ajb_target_ms(&jb) >= 80 && cq_ajb_target_ms(&jb) <= 120);
    /* The delay grew by frames made up on purpose, told apart from losses concealed. */
    assert_true(t.stretched >= 2);
    assert_true(t.late <= 20); /* 2 %: the first second, before the delay has grown */
    assert_true(t.played >= 970);
    assert_int_equal(t.wrong_order, 0);
}

/* One packet in ten lost: each loss is rebuilt from the next packet's FEC, which is there
 * in time on a steady link. */
static void test_ajb_losses_use_fec(void **state) {
    (void)state;
    tally_t t;
    simulate(&(link_t){.n = 500, .base_ms = 100, .loss_every = 10}, &t);
    assert_int_equal(t.played, 450);
    assert_int_equal(t.fec, 50);
    assert_int_equal(t.wrong_order, 0);
}

/* With RED each loss plays its copy from the next packet, in its turn: nothing is rebuilt
 * or concealed, and the copies of packets that came are neither played nor late. */
static void test_ajb_losses_play_red_copies(void **state) {
    (void)state;
    tally_t t;
    simulate(&(link_t){.n = 500, .base_ms = 100, .jitter_ms = 30, .loss_every = 10, .red = 1}, &t);
    assert_int_equal(t.played, 450);
    assert_int_equal(t.red, 50);
    assert_int_equal(t.fec + t.concealed + t.late, 0);
    assert_int_equal(t.wrong_order, 0);
    /* Losses two in a row: two copies cover both; one copy covers the second, and the
     * first is rebuilt from that copy's FEC. */
    simulate(&(link_t){.n = 500, .base_ms = 100, .loss_every = 10, .burst = 2, .red = 2}, &t);
    assert_int_equal(t.played, 400);
    assert_int_equal(t.red, 100);
    assert_int_equal(t.fec + t.concealed, 0);
    simulate(&(link_t){.n = 500, .base_ms = 100, .loss_every = 10, .burst = 2, .red = 1}, &t);
    assert_int_equal(t.red, 50);
    assert_int_equal(t.fec, 50);
    assert_int_equal(t.concealed, 0);
}

/* Loss in bursts of three on a jittery link (a 3G link): copies of the packets one and two
 * back are lost with them, and the first of each burst is rebuilt or concealed; copies two
 * and four back leave one of each, and the buffer waits the 80 ms they span (its delay
 * grows by that much, and nothing is concealed). */
static void test_ajb_bursts_spread_copies(void **state) {
    (void)state;
    tally_t t;
    link_t l = {.n = 1000, .base_ms = 80, .jitter_ms = 30, .loss_every = 25, .burst = 3, .red = 2};
    simulate(&l, &t);
    assert_int_equal(t.fec + t.concealed, 40); /* the first of each burst */
    unsigned near_target = cq_ajb_target_ms(&jb);
    l.red_at[0] = 2, l.red_at[1] = 4;
    simulate(&l, &t);
    assert_int_equal(t.fec + t.concealed, 0);
    assert_int_equal(t.red, 120);
    assert_true(t.late <= 10);
    assert_true(cq_ajb_target_ms(&jb) >= near_target + 40);
    assert_int_equal(t.wrong_order, 0);
}

/* A copy never displaces its packet, and the packet coming after its copy takes its place. */
static void test_ajb_copy_and_packet(void **state) {
    (void)state;
    uint8_t p[16], c[16];
    cq_ajb_init(&jb);
    size_t len = opus_packet(p, 1), clen = opus_packet(c, 1);
    c[1] = 0xee; /* tell the copy from the packet */
    /* Nothing put yet, then a copy of what came before the first packet: never lost. */
    assert_int_equal(cq_ajb_put_redundant(&jb, 960, 1920, c, clen), 0);
    assert_int_equal(cq_ajb_put(&jb, 1, 960, p, len, 1000), 0);
    assert_int_equal(cq_ajb_put_redundant(&jb, 0, 1920, c, clen), 0);
    assert_int_equal(cq_ajb_put_redundant(&jb, 960, 1920, c, clen), 0);
    assert_int_equal(cq_ajb_put_redundant(&jb, 1920, 2880, c, clen), 1);
    assert_int_equal(cq_ajb_put(&jb, 2, 1920, p, len, 2000), 0);
    const uint8_t *pkt;
    unsigned samples;
    assert_int_equal(cq_ajb_get(&jb, 100000, &pkt, &len, &samples), CQ_AJB_PLAY);
    assert_int_equal(pkt[1], 1);
    assert_int_equal(cq_ajb_get(&jb, 120000, &pkt, &len, &samples), CQ_AJB_PLAY);
    assert_int_equal(pkt[1], 1);
    /* Played already: a copy of it is not needed, and not a late packet. */
    assert_int_equal(cq_ajb_put_redundant(&jb, 960, 1920, c, clen), 0);
    assert_int_equal(jb.late, 0);
    assert_int_equal(cq_ajb_put_redundant(&jb, 2880, 3840, c, 0), CQ_EMALFORMED);
}

/* Two seconds of DTX silence: concealed while nothing comes, then the talk resumes at once
 * rather than after two seconds of catching up. */
static void test_ajb_silence_then_talk(void **state) {
    (void)state;
    tally_t t;
    simulate(
        &(link_t){.n = 400, .base_ms = 100, .jitter_ms = 10, .silent_from = 100, .silent_to = 200},
        &t);
    /* Every packet plays, but for a frame the buffer may drop to keep its delay. */
    assert_int_equal(t.played + (int)jb.shrunk, 300);
    assert_true(jb.shrunk <= 2);
    assert_true(t.gaps >= 90); /* the silence is gaps, not losses concealed */
    assert_int_equal(t.concealed, 0);
    assert_int_equal(t.late, 0);
    assert_int_equal(t.wrong_order, 0);
    uint8_t junk[2] = {0xff, 0xff};
    cq_ajb_init(&jb);
    assert_int_equal(cq_ajb_put(&jb, 1, 960, junk, 0, 0), CQ_EMALFORMED);
}

/*
 * A modem's queue (the collapse scenario): 1.5 s of it builds in 0.5 s, then drains over
 * 15 s. While it fills, sound comes too slowly and the playout waits (gaps, not losses);
 * while it drains, sound comes 10 % faster than it plays, and the buffer drops frames to
 * keep its delay rather than fall further and further behind (before: never dropped, so
 * the delay stayed seconds long and, past the ring's 1.28 s, packets overwrote each other
 * and everything was concealed, long after the link was well again).
 */
static unsigned collapse_queue_ms(uint32_t k) {
    if (k < 500 || k >= 1275)
        return 0;
    if (k < 525)
        return (k - 500) * 60; /* 25 packets: up to 1.5 s */
    return 1500 - (k - 525) * 2;
}

static void test_ajb_backlog_drains_without_loss(void **state) {
    (void)state;
    tally_t t;
    simulate(&(link_t){.n = 2000, .base_ms = 40, .jitter_ms = 10, .queue_ms = collapse_queue_ms},
             &t);
    assert_int_equal(t.concealed, 0);
    assert_int_equal(t.late, 0);
    assert_int_equal(t.wrong_order, 0);
    assert_true(jb.shrunk >= 60); /* the 1.5 s of backlog, less what the target keeps */
    assert_int_equal(t.played + (int)jb.shrunk, 2000);
    /* Well after the queue is gone, the delay is the link's again. */
    assert_true(t.last_behind_ms <= 100);
}

/* Seconds of sound at once (a link back from an outage that buffered): more than the ring
 * holds. The oldest go unplayed; what plays is in order and nothing is concealed. */
static unsigned burst_queue_ms(uint32_t k) {
    return k >= 200 && k < 300 ? (300 - k) * 20 : 0; /* 200..299 arrive together */
}

static void test_ajb_burst_longer_than_the_ring(void **state) {
    (void)state;
    tally_t t;
    simulate(&(link_t){.n = 600, .base_ms = 40, .queue_ms = burst_queue_ms}, &t);
    assert_int_equal(t.concealed, 0);
    assert_int_equal(t.wrong_order, 0);
    assert_int_equal(t.played + (int)jb.shrunk + t.late, 600);
    assert_true(t.played >= 500);
    assert_true(t.last_behind_ms <= 100);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ajb_steady_link_keeps_the_minimum),
        cmocka_unit_test(test_ajb_jittery_link),
        cmocka_unit_test(test_ajb_losses_use_fec),
        cmocka_unit_test(test_ajb_losses_play_red_copies),
        cmocka_unit_test(test_ajb_copy_and_packet),
        cmocka_unit_test(test_ajb_bursts_spread_copies),
        cmocka_unit_test(test_ajb_silence_then_talk),
        cmocka_unit_test(test_ajb_backlog_drains_without_loss),
        cmocka_unit_test(test_ajb_burst_longer_than_the_ring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
