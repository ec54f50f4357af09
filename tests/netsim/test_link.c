#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <math.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "support/test_rand.h"
#include "tools/netsim/link.h"

#define MS 1000u /* microseconds */

#define assert_near(a, b, eps)                                                                     \
    do {                                                                                           \
        double a_ = (double)(a), b_ = (double)(b), e_ = (double)(eps);                             \
        if (!(fabs(a_ - b_) <= e_))                                                                \
            fail_msg("%s = %.6f, expected %.6f +- %.6f", #a, a_, b_, e_);                          \
    } while (0)

/* Each packet carries its send sequence number in its first four bytes, and a filler that
 * depends on it, so a delivery says which packet it is and that its bytes are intact. */
static void make_packet(uint8_t *buf, uint32_t seq, size_t len) {
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seq * 31u + i);
    if (len >= 4) {
        buf[0] = (uint8_t)(seq >> 24);
        buf[1] = (uint8_t)(seq >> 16);
        buf[2] = (uint8_t)(seq >> 8);
        buf[3] = (uint8_t)seq;
    }
}

static uint32_t packet_seq(const uint8_t *buf) {
    return (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
}

static int send_seq(cq_netsim_link_t *l, uint32_t seq, size_t len, uint64_t now_us) {
    uint8_t buf[CQ_NETSIM_MAX_PACKET];
    make_packet(buf, seq, len);
    return cq_netsim_link_send(l, buf, len, now_us);
}

typedef struct {
    uint64_t due_us;
    uint32_t seq, len;
} delivery_t;

/* The next delivery due at or before now, checked byte for byte; false when none is due. */
static bool take_one(cq_netsim_link_t *l, uint64_t now_us, delivery_t *d) {
    uint8_t buf[CQ_NETSIM_MAX_PACKET], want[CQ_NETSIM_MAX_PACKET];
    uint64_t due;
    if (!cq_netsim_link_next(l, &due) || due > now_us) {
        assert_int_equal(cq_netsim_link_take(l, now_us, buf, sizeof buf), 0);
        return false;
    }
    int n = cq_netsim_link_take(l, now_us, buf, sizeof buf);
    assert_true(n >= 4);
    d->due_us = due;
    d->len = (uint32_t)n;
    d->seq = packet_seq(buf);
    make_packet(want, d->seq, (size_t)n);
    assert_memory_equal(buf, want, (size_t)n);
    return true;
}

/* ---- parameters -------------------------------------------------------------------------- */

static void test_link_init_rejects_bad_params(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t ok = {.loss = 1.0, .ge_p = 0.0, .duplicate = 0.0};
    assert_int_equal(cq_netsim_link_init(&l, &ok, 1, 8), 0);
    cq_netsim_link_free(&l);
    assert_int_equal(cq_netsim_link_init(&l, &ok, 1, 0), CQ_EINVAL);
    cq_netsim_link_free(&l); /* harmless after a failed init */
    assert_int_equal(cq_netsim_link_init(&l, NULL, 1, 8), CQ_EINVAL);

    double bad[] = {-0.01, 1.01, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int field = 0; field < 6; field++) {
            cq_netsim_params_t p = {0};
            double *f[] = {&p.loss,         &p.ge_p,        &p.ge_r,
                           &p.ge_loss_good, &p.ge_loss_bad, &p.duplicate};
            *f[field] = bad[i];
            if (cq_netsim_link_init(&l, &p, 1, 8) != CQ_EINVAL)
                fail_msg("field %d = %g accepted", field, bad[i]);
        }
    }
}

/* set() refuses what init refuses and then leaves the link as it was. */
static void test_link_set_rejects_bad_params(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {.delay_ms = 7};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 8), 0);
    cq_netsim_params_t bad = {.loss = 2.0};
    assert_int_equal(cq_netsim_link_set(&l, &bad), CQ_EINVAL);
    bad = (cq_netsim_params_t){.ge_loss_bad = -1.0};
    assert_int_equal(cq_netsim_link_set(&l, &bad), CQ_EINVAL);
    assert_int_equal(cq_netsim_link_set(&l, NULL), CQ_EINVAL);
    assert_int_equal(l.p.delay_ms, 7);
    assert_int_equal(send_seq(&l, 0, 100, 0), CQ_NETSIM_SENT);
    uint64_t due;
    assert_true(cq_netsim_link_next(&l, &due));
    assert_int_equal(due, 7 * MS);
    cq_netsim_link_free(&l);
}

static void test_link_send_rejects_bad_length(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {0};
    uint8_t buf[CQ_NETSIM_MAX_PACKET + 1] = {0};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 8), 0);
    assert_int_equal(cq_netsim_link_send(&l, buf, CQ_NETSIM_MAX_PACKET + 1, 0), CQ_EINVAL);
    assert_int_equal(cq_netsim_link_send(&l, buf, 0, 0), CQ_EINVAL);
    assert_int_equal(cq_netsim_link_send(&l, NULL, 10, 0), CQ_EINVAL);
    assert_int_equal(cq_netsim_link_send(&l, buf, CQ_NETSIM_MAX_PACKET, 0), CQ_NETSIM_SENT);
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(s.sent, 1); /* refused calls are not sends */
    assert_int_equal(s.bytes_sent, CQ_NETSIM_MAX_PACKET);
    uint8_t out[CQ_NETSIM_MAX_PACKET];
    assert_int_equal(cq_netsim_link_take(&l, 0, out, sizeof out), CQ_NETSIM_MAX_PACKET);
    cq_netsim_link_free(&l);
}

/* ---- loss -------------------------------------------------------------------------------- */

/* Sends n packets 1 ms apart through a link without delay, verdicts into v (n entries). */
static void run_verdicts(const cq_netsim_params_t *p, uint64_t seed, uint32_t n, int *v) {
    cq_netsim_link_t l;
    assert_int_equal(cq_netsim_link_init(&l, p, seed, 4), 0);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t now = (uint64_t)i * MS;
        v[i] = send_seq(&l, i, 100, now);
        delivery_t d;
        while (take_one(&l, now, &d))
            assert_int_equal(d.seq, i);
    }
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    uint64_t count[CQ_NETSIM_DROP_POOL + 1] = {0};
    for (uint32_t i = 0; i < n; i++)
        count[v[i]]++;
    assert_int_equal(s.sent, n);
    assert_int_equal(s.delivered, count[CQ_NETSIM_SENT]);
    assert_int_equal(s.drop_outage, count[CQ_NETSIM_DROP_OUTAGE]);
    assert_int_equal(s.drop_loss, count[CQ_NETSIM_DROP_LOSS]);
    assert_int_equal(s.drop_burst, count[CQ_NETSIM_DROP_BURST]);
    assert_int_equal(s.drop_queue, 0);
    assert_int_equal(s.drop_pool, 0);
    assert_int_equal(s.bytes_delivered, 100 * s.delivered);
    cq_netsim_link_free(&l);
}

static double fraction(const int *v, uint32_t n, int verdict) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        k += v[i] == verdict;
    return (double)k / n;
}

/* The mean length of runs of consecutive `verdict`. */
static double mean_run(const int *v, uint32_t n, int verdict) {
    uint32_t runs = 0, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (v[i] != verdict)
            continue;
        total++;
        if (i == 0 || v[i - 1] != verdict)
            runs++;
    }
    return runs ? (double)total / runs : 0.0;
}

#define N_LOSS 100000u
static int verdicts[2][200000];

/* 100k packets at 10 % loss: the binomial's standard deviation is 0.095 %, so 0.5 % is
 * five of them. Losses are independent: runs average 1 / (1 - 0.1) = 1.11 packets. */
static void test_link_send_random_loss_rate(void **state) {
    (void)state;
    cq_netsim_params_t p = {.loss = 0.1};
    run_verdicts(&p, 42, N_LOSS, verdicts[0]);
    assert_near(fraction(verdicts[0], N_LOSS, CQ_NETSIM_DROP_LOSS), 0.1, 0.005);
    assert_near(mean_run(verdicts[0], N_LOSS, CQ_NETSIM_DROP_LOSS), 1.0 / 0.9, 0.03);

    p.loss = 0.0;
    run_verdicts(&p, 42, 1000, verdicts[0]);
    assert_near(fraction(verdicts[0], 1000, CQ_NETSIM_SENT), 1.0, 0.0);
    p.loss = 1.0;
    run_verdicts(&p, 42, 1000, verdicts[0]);
    assert_near(fraction(verdicts[0], 1000, CQ_NETSIM_DROP_LOSS), 1.0, 0.0);
}

/* The 3g-weak channel: p = 0.3 / 19, r = 0.3, all lost in bad. Long-run loss p / (p + r) =
 * 5 %, bursts of mean 1 / r = 3.33 packets. Over 200k packets the loss's standard deviation
 * (a Markov chain: 0.0475 * (1 + 0.684) / (1 - 0.684) / 200000) is 0.11 %; the mean burst's,
 * over ~3000 bursts of standard deviation 2.8, is 0.05. */
static void test_link_send_gilbert_elliott_loss_and_bursts(void **state) {
    (void)state;
    const uint32_t n = 200000;
    cq_netsim_params_t p = {.ge_p = 0.3 / 19.0, .ge_r = 0.3, .ge_loss_bad = 1.0};
    run_verdicts(&p, 7, n, verdicts[0]);
    assert_near(fraction(verdicts[0], n, CQ_NETSIM_DROP_BURST), 0.05, 0.005);
    assert_near(mean_run(verdicts[0], n, CQ_NETSIM_DROP_BURST), 1.0 / 0.3, 0.25);
    assert_near(fraction(verdicts[0], n, CQ_NETSIM_DROP_LOSS), 0.0, 0.0);

    /* The same 5 % as independent loss comes in runs of 1.05: what makes bursts bursts. */
    cq_netsim_params_t b = {.loss = 0.05};
    run_verdicts(&b, 7, n, verdicts[1]);
    assert_near(mean_run(verdicts[1], n, CQ_NETSIM_DROP_LOSS), 1.0 / 0.95, 0.03);

    /* Lossy states both ways: P(bad) = 0.05 / 0.25 = 0.2, loss 0.8 * 0.01 + 0.2 * 0.5 =
     * 10.8 %. Random loss on top, independent: 1 - 0.98 * 0.892 = 12.58 % in all. */
    p = (cq_netsim_params_t){
        .ge_p = 0.05, .ge_r = 0.2, .ge_loss_good = 0.01, .ge_loss_bad = 0.5, .loss = 0.02};
    run_verdicts(&p, 8, n, verdicts[0]);
    assert_near(fraction(verdicts[0], n, CQ_NETSIM_DROP_LOSS), 0.02, 0.002);
    assert_near(fraction(verdicts[0], n, CQ_NETSIM_DROP_BURST), 0.98 * 0.108, 0.004);
}

/* The state moves first, then the packet meets its loss: with p = r = 1 the channel
 * alternates, and the first packet (good -> bad) is lost. Lose-then-move would keep it. */
static void test_link_send_gilbert_elliott_transition_first(void **state) {
    (void)state;
    cq_netsim_params_t p = {.ge_p = 1.0, .ge_r = 1.0, .ge_loss_bad = 1.0};
    run_verdicts(&p, 3, 6, verdicts[0]);
    int want[] = {CQ_NETSIM_DROP_BURST, CQ_NETSIM_SENT,       CQ_NETSIM_DROP_BURST,
                  CQ_NETSIM_SENT,       CQ_NETSIM_DROP_BURST, CQ_NETSIM_SENT};
    for (int i = 0; i < 6; i++)
        assert_int_equal(verdicts[0][i], want[i]);
}

/* ge_p 0 is "no burst model": the states' losses are ignored, and a set() to ge_p 0 from
 * the bad state leaves it. */
static void test_link_send_burst_model_off_when_p_zero(void **state) {
    (void)state;
    cq_netsim_params_t p = {.ge_p = 0.0, .ge_r = 0.1, .ge_loss_good = 0.5, .ge_loss_bad = 1.0};
    run_verdicts(&p, 5, 1000, verdicts[0]);
    assert_near(fraction(verdicts[0], 1000, CQ_NETSIM_SENT), 1.0, 0.0);

    cq_netsim_link_t l;
    p = (cq_netsim_params_t){.ge_p = 1.0, .ge_r = 0.0, .ge_loss_bad = 1.0}; /* bad for good */
    assert_int_equal(cq_netsim_link_init(&l, &p, 5, 8), 0);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(send_seq(&l, i, 50, 0), CQ_NETSIM_DROP_BURST);
    assert_true(l.ge_bad);
    p.ge_p = 0.0;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_false(l.ge_bad);
    for (uint32_t i = 3; i < 6; i++)
        assert_int_equal(send_seq(&l, i, 50, 0), CQ_NETSIM_SENT);
    cq_netsim_link_free(&l);
}

/* ---- the rate cap and its queue ---------------------------------------------------------- */

/* 8000 bit/s is one byte per millisecond: a 1000-byte packet takes exactly 1 s. A 3000-byte
 * queue holds three of them (the one being clocked out included); the fourth is dropped. */
static void test_link_send_rate_cap_queue_bytes(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {.rate_bps = 8000, .queue_bytes = 3000, .delay_ms = 10};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 16), 0);
    assert_int_equal(send_seq(&l, 0, 1000, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 1, 1000, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 2, 1000, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 3, 1000, 0), CQ_NETSIM_DROP_QUEUE);
    assert_int_equal(l.busy_until_us, 3000 * MS);
    /* At 2.5 s half of packet 2 is left: 500 + 1000 bytes fit, and then 1500 + 2000 do
     * not. */
    assert_int_equal(send_seq(&l, 4, 1000, 2500 * MS), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 5, 2000, 2500 * MS), CQ_NETSIM_DROP_QUEUE);
    delivery_t d;
    uint32_t want[] = {0, 1, 2, 4};
    for (uint32_t i = 0; i < 4; i++) {
        uint64_t due = (i + 1) * 1000 * MS + 10 * MS; /* end of serialisation + delay */
        assert_false(take_one(&l, due - 1, &d));
        assert_true(take_one(&l, due, &d));
        assert_int_equal(d.seq, want[i]);
        assert_int_equal(d.due_us, due);
    }
    /* Idle at 10 s: a packet bigger than the whole queue still goes (it would otherwise
     * cut the link), but nothing may queue behind it. */
    p.queue_bytes = 500;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 6, 1000, 10000 * MS), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 7, 4, 10000 * MS), CQ_NETSIM_DROP_QUEUE);
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(s.drop_queue, 3);
    cq_netsim_link_free(&l);
}

static void test_link_send_rate_cap_queue_ms_and_default(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {.rate_bps = 8000, .queue_ms = 2000};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 16), 0);
    assert_int_equal(send_seq(&l, 0, 1000, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 1, 1000, 0), CQ_NETSIM_SENT); /* 1 s ahead + 1 s = 2 s */
    assert_int_equal(send_seq(&l, 2, 1000, 0), CQ_NETSIM_DROP_QUEUE);
    /* At 1 s: 1 s ahead, so 1000 bytes (1 s) fit exactly and 1001 do not. */
    assert_int_equal(send_seq(&l, 3, 1001, 1000 * MS), CQ_NETSIM_DROP_QUEUE);
    assert_int_equal(send_seq(&l, 4, 1000, 1000 * MS), CQ_NETSIM_SENT);
    cq_netsim_link_free(&l);

    /* Neither limit given: 100 ms at the rate. 80 kbit/s = 10 bytes/ms, 500 B = 50 ms. */
    p = (cq_netsim_params_t){.rate_bps = 80000};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 16), 0);
    assert_int_equal(send_seq(&l, 0, 500, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 1, 500, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 2, 500, 0), CQ_NETSIM_DROP_QUEUE);
    assert_int_equal(send_seq(&l, 3, 500, 50 * MS), CQ_NETSIM_SENT); /* the first is out */
    assert_int_equal(send_seq(&l, 4, 500, 50 * MS), CQ_NETSIM_DROP_QUEUE);
    delivery_t d;
    uint64_t want[] = {50 * MS, 100 * MS, 150 * MS};
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(take_one(&l, 1000 * MS, &d));
        assert_int_equal(d.due_us, want[i]);
    }
    cq_netsim_link_free(&l);

    /* Serialisation rounds up to the microsecond: one byte at 3 Mbit/s is 2.67 us, 3. */
    p = (cq_netsim_params_t){.rate_bps = 3000000};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 16), 0);
    assert_int_equal(send_seq(&l, 0, 1, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 1, 1, 0), CQ_NETSIM_SENT);
    assert_int_equal(l.busy_until_us, 6);
    cq_netsim_link_free(&l);
}

/* 400 kbit/s offered to a 200 kbit/s link with a 200 ms queue, for 10 s: what comes out
 * is 200 kbit/s, one packet every 40 ms, and the rest is dropped at the queue. */
static void test_link_send_rate_cap_overloaded(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {.rate_bps = 200000, .queue_ms = 200};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 64), 0);
    uint64_t first = 0, last = 0, bytes = 0, max_sojourn = 0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < 500; i++) {
        uint64_t now = (uint64_t)i * 20 * MS;
        int v = send_seq(&l, i, 1000, now);
        assert_true(v == CQ_NETSIM_SENT || v == CQ_NETSIM_DROP_QUEUE);
        delivery_t d;
        while (take_one(&l, now, &d)) {
            uint64_t sojourn = d.due_us - (uint64_t)d.seq * 20 * MS;
            max_sojourn = sojourn > max_sojourn ? sojourn : max_sojourn;
            if (n > 0 && d.due_us - last != 40 * MS)
                fail_msg("delivery %u: %llu us after the one before", n,
                         (unsigned long long)(d.due_us - last));
            if (n == 0)
                first = d.due_us;
            else
                bytes += d.len; /* the bytes that came out between first and last */
            last = d.due_us;
            n++;
        }
    }
    assert_near((double)bytes * 8 * 1e6 / (double)(last - first), 200000.0, 2000.0);
    assert_true(max_sojourn <= 200 * MS);
    assert_true(max_sojourn >= 160 * MS); /* the queue did fill */
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    assert_in_range(s.drop_queue, 240, 255);
    assert_int_equal(s.drop_queue + s.delivered + l.nheap, 500);

    /* Below the rate nothing waits: every packet takes its 40 ms and no more. */
    cq_netsim_link_free(&l);
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 64), 0);
    for (uint32_t i = 0; i < 200; i++) {
        uint64_t now = (uint64_t)i * 50 * MS;
        assert_int_equal(send_seq(&l, i, 1000, now), CQ_NETSIM_SENT);
        uint64_t due;
        assert_true(cq_netsim_link_next(&l, &due));
        assert_int_equal(due, now + 40 * MS);
        delivery_t d;
        assert_true(take_one(&l, due, &d));
    }
    cq_netsim_link_free(&l);
}

/* ---- delay, jitter, reordering ----------------------------------------------------------- */

typedef struct {
    uint64_t min_us, max_us, sum_us;
    uint32_t n, reordered, zero;
    bool in_order;
} delay_stats_t;

/* n packets 1 ms apart; delays of the deliveries (due - send). */
static delay_stats_t run_delays(const cq_netsim_params_t *p, uint32_t n) {
    cq_netsim_link_t l;
    delay_stats_t r = {.min_us = UINT64_MAX, .in_order = true};
    assert_int_equal(cq_netsim_link_init(&l, p, 11, 256), 0);
    uint32_t max_seq = 0;
    uint64_t last_due = 0;
    bool any = false;
    for (uint32_t i = 0; i < n + 200; i++) {
        uint64_t now = (uint64_t)i * MS;
        if (i < n)
            assert_int_equal(send_seq(&l, i, 200, now), CQ_NETSIM_SENT);
        delivery_t d;
        while (take_one(&l, now, &d)) {
            uint64_t delay = d.due_us - (uint64_t)d.seq * MS;
            r.min_us = delay < r.min_us ? delay : r.min_us;
            r.max_us = delay > r.max_us ? delay : r.max_us;
            r.sum_us += delay;
            r.zero += delay == 0;
            assert_true(d.due_us >= last_due); /* the heap gives them in due order */
            last_due = d.due_us;
            if (any && d.seq < max_seq) {
                r.reordered++;
                r.in_order = false;
            } else {
                max_seq = d.seq;
            }
            any = true;
            r.n++;
        }
    }
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(r.n, n);
    assert_int_equal(s.reordered, r.reordered);
    cq_netsim_link_free(&l);
    return r;
}

static void test_link_send_delay_exact_without_jitter(void **state) {
    (void)state;
    cq_netsim_params_t p = {.delay_ms = 37};
    delay_stats_t r = run_delays(&p, 1000);
    assert_int_equal(r.min_us, 37 * MS);
    assert_int_equal(r.max_us, 37 * MS);
    assert_true(r.in_order);
}

/* 50 ms +- 20 ms with packets 1 ms apart, reordering allowed: delays cover [30, 70] ms,
 * average 50, and many packets overtake. */
static void test_link_send_jitter_with_reorder(void **state) {
    (void)state;
    cq_netsim_params_t p = {.delay_ms = 50, .jitter_ms = 20, .reorder = true};
    delay_stats_t r = run_delays(&p, 20000);
    assert_true(r.min_us >= 30 * MS && r.min_us < 30 * MS + 100);
    assert_true(r.max_us <= 70 * MS && r.max_us > 70 * MS - 100);
    assert_near((double)r.sum_us / r.n, 50.0 * MS, 0.5 * MS);
    assert_true(r.reordered > 5000);
}

/* The same jitter without reorder: nothing overtakes, yet the delays still reach the top
 * of the range (a packet waits for the one ahead, never longer than that one's delay). */
static void test_link_send_jitter_without_reorder_keeps_order(void **state) {
    (void)state;
    cq_netsim_params_t p = {.delay_ms = 50, .jitter_ms = 20};
    delay_stats_t r = run_delays(&p, 20000);
    assert_true(r.in_order);
    assert_int_equal(r.reordered, 0);
    assert_true(r.min_us >= 30 * MS);
    assert_true(r.max_us <= 70 * MS && r.max_us > 69 * MS);
}

/* 5 ms +- 20 ms: never below zero. 15 ms of the 40 ms range clamp to 0: 37.5 %. */
static void test_link_send_jitter_clamped_at_zero(void **state) {
    (void)state;
    cq_netsim_params_t p = {.delay_ms = 5, .jitter_ms = 20, .reorder = true};
    delay_stats_t r = run_delays(&p, 20000);
    assert_int_equal(r.min_us, 0);
    assert_true(r.max_us <= 25 * MS && r.max_us > 25 * MS - 100);
    assert_near((double)r.zero / r.n, 0.375, 0.02);
}

/* ---- duplication, outage ----------------------------------------------------------------- */

static void test_link_send_duplicate_rate(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {.delay_ms = 10, .jitter_ms = 5, .duplicate = 0.2};
    assert_int_equal(cq_netsim_link_init(&l, &p, 9, 64), 0);
    const uint32_t n = 50000;
    uint32_t copies = 0, got = 0;
    delivery_t prev = {0};
    for (uint32_t i = 0; i < n + 100; i++) {
        uint64_t now = (uint64_t)i * MS;
        if (i < n)
            assert_int_equal(send_seq(&l, i, 80, now), CQ_NETSIM_SENT);
        delivery_t d;
        while (take_one(&l, now, &d)) {
            if (got > 0 && d.seq == prev.seq) {
                assert_int_equal(d.due_us, prev.due_us); /* right after, same time */
                copies++;
            } else if (got > 0) {
                assert_true(d.seq == prev.seq + 1); /* a copy is never elsewhere */
            }
            prev = d;
            got++;
        }
    }
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    assert_near((double)s.duplicated / n, 0.2, 0.01);
    assert_int_equal(copies, s.duplicated);
    assert_int_equal(s.delivered, n + s.duplicated);
    assert_int_equal(got, s.delivered);
    assert_int_equal(s.reordered, 0); /* a copy after its original is not a reordering */
    cq_netsim_link_free(&l);
}

static void test_link_send_outage_drops_all(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {.down = true, .duplicate = 1.0};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 8), 0);
    for (uint32_t i = 0; i < 1000; i++)
        assert_int_equal(send_seq(&l, i, 100, i * MS), CQ_NETSIM_DROP_OUTAGE);
    uint64_t due;
    assert_false(cq_netsim_link_next(&l, &due));
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(s.drop_outage, 1000);
    assert_int_equal(s.delivered + s.duplicated, 0);
    p.down = false;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 1000, 100, 1000 * MS), CQ_NETSIM_SENT);
    cq_netsim_link_free(&l);
}

/* ---- determinism ------------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    return h;
}

typedef struct {
    uint64_t verdicts, losses, deliveries;
    cq_netsim_stats_t stats;
} trace_t;

/* 20000 packets of random lengths at random gaps through everything at once; the trace
 * hashes every verdict, every loss verdict alone, and every delivery (time, packet,
 * length). */
static trace_t run_trace(const cq_netsim_params_t *p, uint64_t seed) {
    cq_netsim_link_t l;
    trace_t t = {0xcbf29ce484222325ull, 0xcbf29ce484222325ull, 0xcbf29ce484222325ull, {0}};
    cq_test_rand_t r = {.state = 0xd1ce};
    assert_int_equal(cq_netsim_link_init(&l, p, seed, 128), 0);
    uint64_t now = 0;
    for (uint32_t i = 0; i < 20000; i++) {
        now += cq_test_rand_below(&r, 10 * MS);
        int v = send_seq(&l, i, 4 + cq_test_rand_below(&r, 1200), now);
        t.verdicts = fnv(t.verdicts, (uint64_t)v);
        t.losses = fnv(t.losses, (uint64_t)(v == CQ_NETSIM_DROP_LOSS || v == CQ_NETSIM_DROP_BURST));
        delivery_t d;
        while (take_one(&l, now, &d))
            t.deliveries = fnv(fnv(fnv(t.deliveries, d.due_us), d.seq), d.len);
    }
    cq_netsim_link_stats(&l, &t.stats);
    cq_netsim_link_free(&l);
    return t;
}

static void test_link_determinism_same_seed_same_run(void **state) {
    (void)state;
    cq_netsim_params_t p = {.rate_bps = 300000,
                            .queue_ms = 150,
                            .delay_ms = 40,
                            .jitter_ms = 30,
                            .reorder = true,
                            .loss = 0.03,
                            .ge_p = 0.01,
                            .ge_r = 0.3,
                            .ge_loss_bad = 0.8,
                            .duplicate = 0.02};
    trace_t a = run_trace(&p, 1234), b = run_trace(&p, 1234), c = run_trace(&p, 1235);
    assert_true(a.verdicts == b.verdicts);
    assert_true(a.deliveries == b.deliveries);
    assert_memory_equal(&a.stats, &b.stats, sizeof a.stats);
    /* Everything happened: a trace of nothing would match trivially. */
    assert_true(a.stats.drop_loss > 0 && a.stats.drop_burst > 0 && a.stats.drop_queue > 0 &&
                a.stats.duplicated > 0 && a.stats.reordered > 0);
    assert_true(a.verdicts != c.verdicts);
    assert_true(a.deliveries != c.deliveries);

    /* Each packet draws the same dice whatever else is on: without duplication and the
     * queue, the same packets are lost. */
    cq_netsim_params_t q = p;
    q.duplicate = 0.0;
    q.rate_bps = 0;
    trace_t d = run_trace(&q, 1234);
    assert_true(d.losses == a.losses);
    assert_true(d.deliveries != a.deliveries);
}

/* ---- changes, the pool, take ------------------------------------------------------------- */

static void test_link_set_mid_stream(void **state) {
    (void)state;
    cq_netsim_link_t l;
    delivery_t d;
    cq_netsim_params_t p = {.delay_ms = 100};
    cq_netsim_stats_t s;

    /* Without reorder a faster path does not let B overtake A: B waits. */
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 8), 0);
    assert_int_equal(send_seq(&l, 0, 100, 0), CQ_NETSIM_SENT);
    p.delay_ms = 10;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 1, 100, 1 * MS), CQ_NETSIM_SENT);
    assert_false(take_one(&l, 99 * MS, &d));
    assert_true(take_one(&l, 100 * MS, &d));
    assert_int_equal(d.seq, 0);
    assert_true(take_one(&l, 100 * MS, &d));
    assert_int_equal(d.seq, 1);
    assert_int_equal(d.due_us, 100 * MS);
    cq_netsim_link_free(&l);

    /* With reorder it does, and the stats say so; A keeps its time. */
    p = (cq_netsim_params_t){.delay_ms = 100, .reorder = true};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 8), 0);
    assert_int_equal(send_seq(&l, 0, 100, 0), CQ_NETSIM_SENT);
    p.delay_ms = 10;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 1, 100, 1 * MS), CQ_NETSIM_SENT);
    assert_true(take_one(&l, 11 * MS, &d));
    assert_int_equal(d.seq, 1);
    assert_false(take_one(&l, 99 * MS, &d));
    assert_true(take_one(&l, 100 * MS, &d));
    assert_int_equal(d.seq, 0);
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(s.reordered, 1);

    /* Total loss from now on: what is in flight still arrives. */
    assert_int_equal(send_seq(&l, 2, 100, 200 * MS), CQ_NETSIM_SENT);
    p.loss = 1.0;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 3, 100, 201 * MS), CQ_NETSIM_DROP_LOSS);
    assert_true(take_one(&l, 210 * MS, &d));
    assert_int_equal(d.seq, 2);
    cq_netsim_link_free(&l);

    /* A new rate applies to packets sent after it, behind the backlog of the old one. */
    p = (cq_netsim_params_t){.rate_bps = 8000, .queue_ms = 5000};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 8), 0);
    assert_int_equal(send_seq(&l, 0, 1000, 0), CQ_NETSIM_SENT);
    p.rate_bps = 16000;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 1, 1000, 0), CQ_NETSIM_SENT);
    assert_true(take_one(&l, 10000 * MS, &d));
    assert_int_equal(d.due_us, 1000 * MS);
    assert_true(take_one(&l, 10000 * MS, &d));
    assert_int_equal(d.due_us, 1500 * MS);
    cq_netsim_link_free(&l);
}

static void test_link_send_pool_exhaustion(void **state) {
    (void)state;
    cq_netsim_link_t l;
    delivery_t d;
    cq_netsim_stats_t s;
    cq_netsim_params_t p = {.delay_ms = 100};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 4), 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(send_seq(&l, i, 100, i * MS), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 4, 100, 4 * MS), CQ_NETSIM_DROP_POOL);
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(s.drop_pool, 1);
    assert_true(take_one(&l, 100 * MS, &d));
    assert_int_equal(d.seq, 0);
    assert_int_equal(send_seq(&l, 5, 100, 100 * MS), CQ_NETSIM_SENT);
    cq_netsim_link_free(&l);

    /* A packet the pool refuses does not hold the serialiser. */
    p = (cq_netsim_params_t){.rate_bps = 8000, .queue_ms = 10000};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 1), 0);
    assert_int_equal(send_seq(&l, 0, 1000, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 1, 1000, 0), CQ_NETSIM_DROP_POOL);
    assert_int_equal(l.busy_until_us, 1000 * MS);
    cq_netsim_link_free(&l);

    /* No slot for the copy: the original goes alone, still SENT. */
    p = (cq_netsim_params_t){.duplicate = 1.0};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 1), 0);
    assert_int_equal(send_seq(&l, 0, 100, 0), CQ_NETSIM_SENT);
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(s.duplicated, 0);
    assert_true(take_one(&l, 0, &d));
    assert_false(take_one(&l, 0, &d));
    cq_netsim_link_free(&l);
}

static void test_link_take_small_buffer_keeps_packet(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_params_t p = {.delay_ms = 5};
    uint8_t want[100], out[100];
    uint64_t due;
    make_packet(want, 77, sizeof want);
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 4), 0);
    assert_int_equal(cq_netsim_link_send(&l, want, sizeof want, 0), CQ_NETSIM_SENT);
    assert_int_equal(cq_netsim_link_take(&l, 5 * MS - 1, out, sizeof out), 0); /* not yet */
    assert_int_equal(cq_netsim_link_take(&l, 5 * MS, out, 99), CQ_ENOBUFS);
    assert_true(cq_netsim_link_next(&l, &due));
    assert_int_equal(due, 5 * MS);
    assert_int_equal(cq_netsim_link_take(&l, 5 * MS, out, sizeof out), 100);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(cq_netsim_link_take(&l, 5 * MS, out, sizeof out), 0);
    assert_false(cq_netsim_link_next(&l, &due));
    cq_netsim_stats_t s;
    cq_netsim_link_stats(&l, &s);
    assert_int_equal(s.delivered, 1);
    assert_int_equal(s.bytes_delivered, 100);
    cq_netsim_link_free(&l);
}

/* ---- the time series --------------------------------------------------------------------- */

/* 8000 bit/s is a byte per millisecond: 1000-byte packets take 1 s each. Three of four sent
 * at 0 fit a 3000-byte queue; the sample at 0.5 s sees them all queued. */
static void test_link_sample_counts_queue_and_rates(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_sample_t s;
    delivery_t d;
    cq_netsim_params_t p = {.rate_bps = 8000, .queue_bytes = 3000, .delay_ms = 10};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 16), 0);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(send_seq(&l, i, 1000, 0), CQ_NETSIM_SENT);
    assert_int_equal(send_seq(&l, 3, 1000, 0), CQ_NETSIM_DROP_QUEUE);
    cq_netsim_link_sample(&l, 500 * MS, &s);
    assert_int_equal(s.at_us, 500 * MS);
    assert_int_equal(s.interval_us, 500 * MS); /* the first interval starts at 0 */
    assert_int_equal(s.capacity_bps, 8000);
    assert_int_equal(s.offered_bps, 64000); /* 4000 bytes in 0.5 s, the dropped one too */
    assert_int_equal(s.delivered_bps, 0);
    assert_int_equal(s.queue_bytes, 3000);
    assert_int_equal(s.queue_ms, 2500);     /* the serialiser is busy until 3 s */
    assert_int_equal(s.queue_ms_max, 2000); /* the third packet waited for two */
    assert_int_equal(s.queue_limit_ms, 3000);
    assert_int_equal(s.drop_queue, 1);
    assert_int_equal(s.drop_loss + s.drop_burst + s.drop_outage + s.drop_pool, 0);

    /* The next interval counts only its own: one packet delivered, one clocked out. */
    assert_true(take_one(&l, 1010 * MS, &d));
    cq_netsim_link_sample(&l, 1500 * MS, &s);
    assert_int_equal(s.interval_us, 1000 * MS);
    assert_int_equal(s.offered_bps, 0);
    assert_int_equal(s.delivered_bps, 8000);
    assert_int_equal(s.queue_bytes, 2000);
    assert_int_equal(s.queue_ms, 1500);
    assert_int_equal(s.queue_ms_max, 0); /* nothing arrived */
    assert_int_equal(s.drop_queue, 0);

    /* Past the backlog the queue is empty; packets in propagation are not in it. */
    cq_netsim_link_sample(&l, 3000 * MS, &s);
    assert_int_equal(s.queue_bytes, 0);
    assert_int_equal(s.queue_ms, 0);
    assert_int_equal(l.nheap, 2);
    cq_netsim_link_free(&l);
}

/* The capacity is the cap's mean over the interval: a change halfway counts half. */
static void test_link_sample_capacity_follows_changes(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_sample_t s;
    cq_netsim_params_t p = {.rate_bps = 8000, .queue_ms = 200};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 16), 0);
    cq_netsim_link_sample(&l, 1000 * MS, &s); /* starts the series at 1 s */
    assert_int_equal(s.capacity_bps, 8000);
    p.rate_bps = 16000;
    assert_int_equal(cq_netsim_link_set_at(&l, &p, 1250 * MS), 0);
    cq_netsim_link_sample(&l, 1500 * MS, &s);
    assert_int_equal(s.interval_us, 500 * MS);
    assert_int_equal(s.capacity_bps, 12000);
    assert_int_equal(s.queue_limit_ms, 200);

    /* Uncapped for part of an interval: no capacity to speak of, and no queue. */
    p.rate_bps = 0;
    assert_int_equal(cq_netsim_link_set_at(&l, &p, 1600 * MS), 0);
    cq_netsim_link_sample(&l, 2000 * MS, &s);
    assert_int_equal(s.capacity_bps, 0);
    assert_int_equal(s.queue_limit_ms, 0);
    /* Capped again exactly at the sample: the next interval is capped throughout. */
    p.rate_bps = 64000;
    p.queue_bytes = 8000; /* 1 s at 64 kbit/s */
    assert_int_equal(cq_netsim_link_set_at(&l, &p, 2000 * MS), 0);
    cq_netsim_link_sample(&l, 2250 * MS, &s);
    assert_int_equal(s.capacity_bps, 64000);
    assert_int_equal(s.queue_limit_ms, 1000);

    /* cq_netsim_link_set takes effect at the latest time the link was given. */
    assert_int_equal(send_seq(&l, 0, 100, 2400 * MS), CQ_NETSIM_SENT);
    p.rate_bps = 32000;
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    cq_netsim_link_sample(&l, 2500 * MS, &s);
    assert_int_equal(s.capacity_bps, 51200); /* 150 ms at 64k, 100 ms at 32k */
    cq_netsim_link_free(&l);
}

/* Each cause in its own column; a duplicate takes no room in the queue. */
static void test_link_sample_drops_by_cause(void **state) {
    (void)state;
    cq_netsim_link_t l;
    cq_netsim_sample_t s;
    cq_netsim_params_t p = {.loss = 1.0};
    assert_int_equal(cq_netsim_link_init(&l, &p, 1, 2), 0);
    assert_int_equal(send_seq(&l, 0, 100, 0), CQ_NETSIM_DROP_LOSS);
    p = (cq_netsim_params_t){.ge_p = 1.0, .ge_r = 0.0, .ge_loss_bad = 1.0};
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 1, 100, 0), CQ_NETSIM_DROP_BURST);
    p = (cq_netsim_params_t){.down = true};
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 2, 100, 0), CQ_NETSIM_DROP_OUTAGE);
    p = (cq_netsim_params_t){.rate_bps = 8000, .queue_ms = 10000, .duplicate = 1.0};
    assert_int_equal(cq_netsim_link_set(&l, &p), 0);
    assert_int_equal(send_seq(&l, 3, 1000, 0), CQ_NETSIM_SENT); /* and its copy: the pool */
    assert_int_equal(send_seq(&l, 4, 1000, 0), CQ_NETSIM_DROP_POOL);
    cq_netsim_link_sample(&l, 100 * MS, &s);
    assert_int_equal(s.drop_loss, 1);
    assert_int_equal(s.drop_burst, 1);
    assert_int_equal(s.drop_outage, 1);
    assert_int_equal(s.drop_pool, 1);
    assert_int_equal(s.drop_queue, 0);
    assert_int_equal(s.queue_bytes, 1000); /* the original only */
    assert_int_equal(l.nheap, 2);
    assert_int_equal(s.offered_bps, (3 * 100 + 2 * 1000) * 8 * 10);
    cq_netsim_link_sample(&l, 200 * MS, &s);
    assert_int_equal(s.drop_loss + s.drop_burst + s.drop_outage + s.drop_pool, 0);
    cq_netsim_link_free(&l);
}

static void test_link_sample_write_row(void **state) {
    (void)state;
    cq_netsim_sample_t s = {.at_us = 21250 * MS,
                            .interval_us = 250 * MS,
                            .capacity_bps = 64000,
                            .offered_bps = 180000,
                            .delivered_bps = 64000,
                            .queue_bytes = 25000,
                            .queue_ms = 3125,
                            .queue_ms_max = 3120,
                            .queue_limit_ms = 3125,
                            .drop_queue = 7,
                            .drop_loss = 1,
                            .drop_burst = 2,
                            .drop_outage = 3,
                            .drop_pool = 4};
    char buf[256];
    const char *want = "20.250,down,64000,180000,64000,25000,3125,3120,3125,7,1,2,3,4\n";
    assert_int_equal(cq_netsim_sample_write(&s, 1000 * MS, "down", buf, sizeof buf),
                     (int)strlen(want));
    assert_string_equal(buf, want);
    assert_int_equal(cq_netsim_sample_write(&s, 1000 * MS, "down", buf, strlen(want)), CQ_ENOBUFS);
    /* As many fields as the header names. */
    size_t commas = 0, header_commas = 0;
    for (const char *c = want; *c; c++)
        commas += *c == ',';
    for (const char *c = CQ_NETSIM_SERIES_HEADER; *c; c++)
        header_commas += *c == ',';
    assert_int_equal(commas, header_commas);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_init_rejects_bad_params),
        cmocka_unit_test(test_link_set_rejects_bad_params),
        cmocka_unit_test(test_link_send_rejects_bad_length),
        cmocka_unit_test(test_link_send_random_loss_rate),
        cmocka_unit_test(test_link_send_gilbert_elliott_loss_and_bursts),
        cmocka_unit_test(test_link_send_gilbert_elliott_transition_first),
        cmocka_unit_test(test_link_send_burst_model_off_when_p_zero),
        cmocka_unit_test(test_link_send_rate_cap_queue_bytes),
        cmocka_unit_test(test_link_send_rate_cap_queue_ms_and_default),
        cmocka_unit_test(test_link_send_rate_cap_overloaded),
        cmocka_unit_test(test_link_send_delay_exact_without_jitter),
        cmocka_unit_test(test_link_send_jitter_with_reorder),
        cmocka_unit_test(test_link_send_jitter_without_reorder_keeps_order),
        cmocka_unit_test(test_link_send_jitter_clamped_at_zero),
        cmocka_unit_test(test_link_send_duplicate_rate),
        cmocka_unit_test(test_link_send_outage_drops_all),
        cmocka_unit_test(test_link_determinism_same_seed_same_run),
        cmocka_unit_test(test_link_set_mid_stream),
        cmocka_unit_test(test_link_send_pool_exhaustion),
        cmocka_unit_test(test_link_take_small_buffer_keeps_packet),
        cmocka_unit_test(test_link_sample_counts_queue_and_rates),
        cmocka_unit_test(test_link_sample_capacity_follows_changes),
        cmocka_unit_test(test_link_sample_drops_by_cause),
        cmocka_unit_test(test_link_sample_write_row),
    };
    return cmocka_run_group_tests_name("netsim/link", tests, NULL, NULL);
}
