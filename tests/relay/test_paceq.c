/*
 * The pacing queue is pure: a pool, queues over it and a leaky bucket, driven with a
 * simulated clock. Times are microseconds from T0 (never 0: the queue takes a first look
 * at the clock as its start). At 800 kbit/s the bucket fills at 100 bytes a millisecond
 * and holds at most BURST_MIN (2,400 bytes, more than 10 ms at that pace); at 4 Mbit/s
 * it fills at 500 bytes a millisecond and holds 10 ms of that, 5,000 bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/paceq.h"
#include "rtp/error.h"

#define T0         1000000u
#define MS         1000u
#define SLOW_BPS   800000u  /* 100 bytes/ms, burst 2,400 bytes */
#define FAST_BPS   4000000u /* 500 bytes/ms, burst 5,000 bytes (10 ms) */
#define SLOW_BURST 2400.0
#define FAST_BURST 5000.0
#define POOL       64
#define PKT        1200
#define PLENTY     1000000u

static cq_paceq_entry_t entries[POOL];
static uint8_t data[POOL][CQ_PACEQ_MTU];
static cq_paceq_pool_t pool;

static int setup(void **state) {
    (void)state;
    memset(entries, 0xa5, sizeof entries); /* the pool must not rely on zeroed storage */
    cq_paceq_pool_init(&pool, entries, data, POOL);
    return 0;
}

/* A packet of len bytes whose first four bytes say which it is, the rest derived from it. */
static const uint8_t *packet(uint32_t id, size_t len) {
    static uint8_t buf[CQ_PACEQ_MTU + 1];
    for (size_t k = 0; k < len; k++)
        buf[k] = (uint8_t)(k * 7 + id);
    if (len >= 4) {
        buf[0] = (uint8_t)(id >> 24);
        buf[1] = (uint8_t)(id >> 16);
        buf[2] = (uint8_t)(id >> 8);
        buf[3] = (uint8_t)id;
    }
    return buf;
}

static uint32_t id_of(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Whether p is exactly what packet(id, len) made. */
static bool intact(const uint8_t *p, uint32_t id, size_t len) {
    return memcmp(p, packet(id, len), len) == 0;
}

static void push_ok(cq_paceq_t *q, uint32_t id, size_t len, uint64_t now) {
    assert_int_equal(cq_paceq_push(&pool, q, packet(id, len), len, 12, now), 0);
}

/* Pops the head, which must be packet id of len bytes, ignoring credit (the test gives
 * plenty): checks FIFO order and contents. */
static void pop_expect(cq_paceq_t *q, uint32_t id, size_t len, uint64_t now) {
    const uint8_t *pkt = NULL;
    const cq_paceq_entry_t *e = cq_paceq_due(&pool, q, now, &pkt);
    assert_non_null(e);
    assert_int_equal(e->len, len);
    assert_int_equal(id_of(pkt), id);
    assert_true(intact(pkt, id, len));
    cq_paceq_pop(&pool, q, now);
}

/* Open means nothing queued and credit above zero: a full bucket lets two 1,200-byte
 * packets through at once, and the third waits for the first microsecond of refill. */
static void test_paceq_open_while_credit_positive(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, SLOW_BPS, PLENTY);
    assert_true(cq_paceq_open(&q, T0));
    assert_true(q.credit == SLOW_BURST); /* starts with a full bucket */
    cq_paceq_spend(&q, PKT);
    assert_true(cq_paceq_open(&q, T0));
    cq_paceq_spend(&q, PKT);
    assert_false(cq_paceq_open(&q, T0));    /* exactly 0 left: not positive */
    assert_true(cq_paceq_open(&q, T0 + 1)); /* 0.1 byte of refill */
    /* Credit positive but something queued: not open, the queue goes first. */
    push_ok(&q, 1, PKT, T0 + 1);
    assert_false(cq_paceq_open(&q, T0 + 100 * MS));
    cq_paceq_clear(&pool, &q);
    assert_true(cq_paceq_open(&q, T0 + 100 * MS));
}

/* Credit grows at the rate and stops at the burst: max(2,400 bytes, 10 ms at the rate). */
static void test_paceq_refill_rate_and_cap(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, SLOW_BPS, PLENTY);
    assert_true(cq_paceq_open(&q, T0));
    cq_paceq_spend(&q, 2400);
    assert_true(q.credit == 0.0);
    assert_true(cq_paceq_open(&q, T0 + 5 * MS));
    assert_true(q.credit > 499.99 && q.credit < 500.01); /* 5 ms at 100 bytes/ms */
    assert_true(cq_paceq_open(&q, T0 + 20 * MS));
    assert_true(q.credit > 1999.99 && q.credit < 2000.01);
    assert_true(cq_paceq_open(&q, T0 + 10000 * MS)); /* idle for 10 s */
    assert_true(q.credit == SLOW_BURST);

    /* At 4 Mbit/s 10 ms are 5,000 bytes: more than the 2,400 floor. */
    cq_paceq_t f;
    cq_paceq_init(&f, FAST_BPS, PLENTY);
    assert_true(cq_paceq_open(&f, T0));
    assert_true(f.credit == FAST_BURST);
    cq_paceq_spend(&f, 5000);
    assert_true(cq_paceq_open(&f, T0 + 4 * MS));
    assert_true(f.credit > 1999.99 && f.credit < 2000.01);
    assert_true(cq_paceq_open(&f, T0 + 60 * MS));
    assert_true(f.credit == FAST_BURST);

    /* A new rate moves the cap with it: down to 800 kbit/s, the bucket holds 2,400. */
    cq_paceq_set_rate(&f, SLOW_BPS);
    assert_true(cq_paceq_open(&f, T0 + 61 * MS));
    assert_true(f.credit == SLOW_BURST);
}

/* FIFO over interleaved pushes and pops, with every byte as it was pushed. */
static void test_paceq_fifo_order(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, FAST_BPS, PLENTY);
    uint32_t next_in = 0, next_out = 0;
    uint64_t now = T0;
    for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 3; k++, next_in++)
            push_ok(&q, next_in, 100 + next_in * 13 % 1400, now);
        for (int k = 0; k < 2; k++, next_out++) {
            now += 10 * MS; /* a full bucket each time */
            pop_expect(&q, next_out, 100 + next_out * 13 % 1400, now);
        }
    }
    assert_int_equal(q.count, next_in - next_out);
    while (next_out < next_in) {
        now += 10 * MS;
        pop_expect(&q, next_out, 100 + next_out * 13 % 1400, now);
        next_out++;
    }
    assert_int_equal(q.count, 0);
    assert_int_equal(q.bytes, 0);
    assert_int_equal(q.queued, 60);
    assert_int_equal(q.sent, 60);
    assert_int_equal(pool.free_count, POOL);
    const uint8_t *pkt;
    assert_null(cq_paceq_due(&pool, &q, now + 10 * MS, &pkt));
}

/* Over the byte limit: refused, counted, and what was queued is untouched. */
static void test_paceq_push_over_max_bytes(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, FAST_BPS, 3000);
    push_ok(&q, 1, PKT, T0);
    push_ok(&q, 2, PKT, T0);
    assert_int_equal(cq_paceq_push(&pool, &q, packet(3, PKT), PKT, 12, T0), CQ_ENOBUFS);
    assert_int_equal(q.dropped, 1);
    assert_int_equal(q.count, 2);
    assert_int_equal(q.bytes, 2 * PKT);
    assert_int_equal(q.queued, 2);
    assert_int_equal(pool.free_count, POOL - 2);
    /* Exactly up to the limit fits. */
    push_ok(&q, 4, 600, T0);
    assert_int_equal(q.bytes, 3000);
    assert_int_equal(cq_paceq_push(&pool, &q, packet(5, 1), 1, -1, T0), CQ_ENOBUFS);
    assert_int_equal(q.dropped, 2);
    pop_expect(&q, 1, PKT, T0 + 10 * MS);
    pop_expect(&q, 2, PKT, T0 + 20 * MS);
    pop_expect(&q, 4, 600, T0 + 30 * MS);
    assert_int_equal(pool.free_count, POOL);
}

/* An empty pool refuses whatever the queue's own limit, and counts it on that queue. */
static void test_paceq_push_empty_pool(void **state) {
    (void)state;
    cq_paceq_entry_t few[2];
    static uint8_t few_data[2][CQ_PACEQ_MTU];
    cq_paceq_pool_t small;
    cq_paceq_pool_init(&small, few, few_data, 2);
    cq_paceq_t q;
    cq_paceq_init(&q, FAST_BPS, PLENTY);
    assert_int_equal(cq_paceq_push(&small, &q, packet(1, 500), 500, 12, T0), 0);
    assert_int_equal(cq_paceq_push(&small, &q, packet(2, 500), 500, 12, T0), 0);
    assert_int_equal(small.free_count, 0);
    assert_int_equal(cq_paceq_push(&small, &q, packet(3, 500), 500, 12, T0), CQ_ENOBUFS);
    assert_int_equal(q.dropped, 1);
    assert_int_equal(q.count, 2);
    assert_int_equal(q.bytes, 1000);
    const uint8_t *pkt;
    const cq_paceq_entry_t *e = cq_paceq_due(&small, &q, T0, &pkt);
    assert_non_null(e);
    assert_true(intact(pkt, 1, 500));
    cq_paceq_pop(&small, &q, T0);
    /* The entry went back: the next push takes it. */
    assert_int_equal(cq_paceq_push(&small, &q, packet(4, 700), 700, 12, T0), 0);
    e = cq_paceq_due(&small, &q, T0 + 10 * MS, &pkt);
    assert_non_null(e);
    assert_true(intact(pkt, 2, 500));
    cq_paceq_pop(&small, &q, T0 + 10 * MS);
    e = cq_paceq_due(&small, &q, T0 + 20 * MS, &pkt);
    assert_non_null(e);
    assert_int_equal(e->len, 700);
    assert_true(intact(pkt, 4, 700));

    /* A pool of no entries refuses the first push. */
    cq_paceq_pool_t none;
    cq_paceq_pool_init(&none, few, few_data, 0);
    cq_paceq_t z;
    cq_paceq_init(&z, FAST_BPS, PLENTY);
    assert_int_equal(cq_paceq_push(&none, &z, packet(1, 10), 10, -1, T0), CQ_ENOBUFS);
    assert_int_equal(z.dropped, 1);
}

/* Two queues over one pool: entries interleave in the pool but each queue keeps its own
 * order; a pop or a clear gives entries back to the other. */
static void test_paceq_pool_shared(void **state) {
    (void)state;
    cq_paceq_t a, b;
    cq_paceq_init(&a, FAST_BPS, PLENTY);
    cq_paceq_init(&b, FAST_BPS, PLENTY);
    for (uint32_t k = 0; k < POOL / 2; k++) {
        push_ok(&a, 1000 + k, 200 + k, T0);
        push_ok(&b, 2000 + k, 300 + k, T0);
    }
    assert_int_equal(pool.free_count, 0);
    assert_int_equal(cq_paceq_push(&pool, &a, packet(9, 100), 100, 12, T0), CQ_ENOBUFS);
    assert_int_equal(cq_paceq_push(&pool, &b, packet(9, 100), 100, 12, T0), CQ_ENOBUFS);
    assert_int_equal(a.dropped, 1);
    assert_int_equal(b.dropped, 1);
    /* A pop from a lets b push again. */
    pop_expect(&a, 1000, 200, T0 + 10 * MS);
    assert_int_equal(pool.free_count, 1);
    push_ok(&b, 2000 + POOL / 2, 300 + POOL / 2, T0 + 10 * MS);
    /* Clearing b gives all its entries back; a is untouched. */
    cq_paceq_clear(&pool, &b);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.bytes, 0);
    assert_int_equal(pool.free_count, POOL / 2 + 1);
    assert_int_equal(a.count, POOL / 2 - 1);
    /* b works again, and its new packets sit among a's in the pool. */
    push_ok(&b, 3000, 50, T0 + 10 * MS);
    push_ok(&b, 3001, 60, T0 + 10 * MS);
    uint64_t now = T0 + 10 * MS;
    for (uint32_t k = 1; k < POOL / 2; k++) {
        now += 10 * MS;
        pop_expect(&a, 1000 + k, 200 + k, now);
    }
    pop_expect(&b, 3000, 50, now + 10 * MS);
    pop_expect(&b, 3001, 60, now + 20 * MS);
    assert_int_equal(pool.free_count, POOL);
    /* Every entry can be taken again: the free list is whole. */
    cq_paceq_t c;
    cq_paceq_init(&c, FAST_BPS, PLENTY);
    for (uint32_t k = 0; k < POOL; k++)
        push_ok(&c, k, 40, now);
    assert_int_equal(pool.free_count, 0);
    cq_paceq_clear(&pool, &c);
    assert_int_equal(pool.free_count, POOL);
}

/* Arguments that cannot be queued: CQ_EINVAL, not counted as a drop, nothing taken. */
static void test_paceq_push_invalid(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, FAST_BPS, PLENTY);
    assert_int_equal(
        cq_paceq_push(&pool, &q, packet(1, CQ_PACEQ_MTU + 1), CQ_PACEQ_MTU + 1, 12, T0), CQ_EINVAL);
    assert_int_equal(cq_paceq_push(&pool, &q, packet(1, 0), 0, -1, T0), CQ_EINVAL);
    assert_int_equal(cq_paceq_push(&pool, &q, packet(1, 100), 100, 100, T0), CQ_EINVAL);
    /* The two-byte number must fit: its last byte may not fall past the packet. */
    assert_int_equal(cq_paceq_push(&pool, &q, packet(1, 100), 100, 99, T0), CQ_EINVAL);
    assert_int_equal(cq_paceq_push(&pool, &q, packet(1, 100), 100, 5000, T0), CQ_EINVAL);
    assert_int_equal(q.dropped, 0);
    assert_int_equal(q.count, 0);
    assert_int_equal(pool.free_count, POOL);
    /* The largest packet fits, with its number anywhere inside it. */
    assert_int_equal(
        cq_paceq_push(&pool, &q, packet(2, CQ_PACEQ_MTU), CQ_PACEQ_MTU, CQ_PACEQ_MTU - 2, T0), 0);
    pop_expect(&q, 2, CQ_PACEQ_MTU, T0);
}

/* Each entry keeps where its own transport-wide number goes; a negative offset is
 * "nowhere" (-1) whatever its value. */
static void test_paceq_tseq_at_per_entry(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, FAST_BPS, PLENTY);
    const ptrdiff_t at[5] = {12, -1, 20, -7, 0};
    const int16_t want[5] = {12, -1, 20, -1, 0};
    for (uint32_t k = 0; k < 5; k++)
        assert_int_equal(cq_paceq_push(&pool, &q, packet(k, 100), 100, at[k], T0), 0);
    for (uint32_t k = 0; k < 5; k++) {
        const uint8_t *pkt;
        const cq_paceq_entry_t *e = cq_paceq_due(&pool, &q, T0 + (k + 1) * 10 * MS, &pkt);
        assert_non_null(e);
        assert_int_equal(id_of(pkt), k);
        assert_int_equal(e->tseq_at, want[k]);
        cq_paceq_pop(&pool, &q, T0 + (k + 1) * 10 * MS);
    }
}

/* The longest wait of any packet popped, from its push to its pop. */
static void test_paceq_max_wait(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, FAST_BPS, PLENTY);
    push_ok(&q, 1, 100, T0);
    push_ok(&q, 2, 100, T0 + 25 * MS);
    assert_int_equal(q.max_wait_us, 0);
    pop_expect(&q, 1, 100, T0 + 30 * MS);
    assert_int_equal(q.max_wait_us, 30 * MS);
    pop_expect(&q, 2, 100, T0 + 31 * MS); /* waited 6 ms: the maximum stays */
    assert_int_equal(q.max_wait_us, 30 * MS);
    push_ok(&q, 3, 100, T0 + 40 * MS);
    pop_expect(&q, 3, 100, T0 + 90 * MS);
    assert_int_equal(q.max_wait_us, 50 * MS);
    /* Cleared packets never left: they do not count. */
    push_ok(&q, 4, 100, T0);
    cq_paceq_clear(&pool, &q);
    assert_int_equal(q.max_wait_us, 50 * MS);
}

/* What is queued over the pace: 2,400 bytes at 800 kbit/s take 24 ms. */
static void test_paceq_backlog(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, SLOW_BPS, PLENTY);
    assert_int_equal(cq_paceq_backlog_us(&q), 0);
    push_ok(&q, 1, PKT, T0);
    push_ok(&q, 2, PKT, T0);
    assert_int_equal(cq_paceq_backlog_us(&q), 24 * MS);
    cq_paceq_set_rate(&q, FAST_BPS);
    assert_int_equal(cq_paceq_backlog_us(&q), 4800);
    cq_paceq_set_rate(&q, 0);
    assert_int_equal(cq_paceq_backlog_us(&q), 0); /* no pace: no division by zero */
    cq_paceq_clear(&pool, &q);
}

/* Sound past the queue takes credit, but never more than four bursts' worth: 100 KB at
 * 800 kbit/s leaves the queue owing 9,600 bytes (96 ms), not a second. */
static void test_paceq_spend_floor(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, SLOW_BPS, PLENTY);
    assert_true(cq_paceq_open(&q, T0));
    cq_paceq_spend(&q, 100000);
    assert_true(q.credit == -4 * SLOW_BURST);
    cq_paceq_spend(&q, 1);
    assert_true(q.credit == -4 * SLOW_BURST);
    assert_false(cq_paceq_open(&q, T0 + 95 * MS));
    assert_false(cq_paceq_open(&q, T0 + 96 * MS)); /* back to exactly 0 */
    assert_true(cq_paceq_open(&q, T0 + 97 * MS));
    /* At 4 Mbit/s the floor is 4 x 5,000. */
    cq_paceq_t f;
    cq_paceq_init(&f, FAST_BPS, PLENTY);
    assert_true(cq_paceq_open(&f, T0));
    cq_paceq_spend(&f, 1000000);
    assert_true(f.credit == -4 * FAST_BURST);
    /* A pop takes credit the same way, under the same floor. */
    push_ok(&f, 1, PKT, T0);
    const uint8_t *pkt;
    assert_null(cq_paceq_due(&pool, &f, T0 + 40 * MS, &pkt)); /* exactly 0 again */
    assert_non_null(cq_paceq_due(&pool, &f, T0 + 41 * MS, &pkt));
    cq_paceq_pop(&pool, &f, T0 + 41 * MS);
    assert_true(f.credit > 500 - PKT - 0.01 && f.credit < 500 - PKT + 0.01);
}

/*
 * A drain loop in simulated time, as the worker runs it (a look every millisecond, every
 * packet that is due leaves): bursts of 1,200-byte packets pushed faster than the pace
 * leave at the pace. With S(k) the bytes of the packets before packet k and t(k) when k
 * leaves, the bucket says S(k) < burst + rate * (t(k) - start) (never early) and, since
 * the look a millisecond before found no credit, S(k) >= burst + rate * (t(k) - 1 ms -
 * start) (never late by more than a look): within one packet of the ideal line.
 */
static void test_paceq_drain_at_rate(void **state) {
    (void)state;
    const double bytes_per_us = SLOW_BPS / 8.0 / 1e6;
    cq_paceq_t q;
    cq_paceq_init(&q, SLOW_BPS, PLENTY);
    /* Four bursts of 12 packets, 50 ms apart: 57,600 bytes, 576 ms at the pace, so the
     * queue never empties after the first burst and the line is one line. */
    enum { BURSTS = 4, PER_BURST = 12, TOTAL = BURSTS * PER_BURST };
    uint64_t left_at[TOTAL];
    uint32_t pushed = 0, popped = 0;
    const uint64_t start = T0;
    uint64_t now = start;
    assert_true(cq_paceq_open(&q, start)); /* the bucket starts full at the first look */
    for (int step = 0; step < 2000 && popped < TOTAL; step++, now += MS) {
        if (pushed < TOTAL && now >= start + (pushed / PER_BURST) * 50 * MS)
            for (int k = 0; k < PER_BURST; k++, pushed++)
                push_ok(&q, pushed, PKT, now);
        const uint8_t *pkt;
        while (cq_paceq_due(&pool, &q, now, &pkt) != NULL) {
            assert_int_equal(id_of(pkt), popped);
            left_at[popped++] = now;
            cq_paceq_pop(&pool, &q, now);
        }
    }
    assert_int_equal(popped, TOTAL);
    /* The full bucket lets two packets out at the first look, and only two. */
    assert_true(left_at[0] == start && left_at[1] == start && left_at[2] > start);
    for (uint32_t k = 0; k < TOTAL; k++) {
        double before = (double)k * PKT; /* S(k) */
        double ideal = SLOW_BURST + bytes_per_us * (double)(left_at[k] - start);
        assert_true(before < ideal);
        if (left_at[k] == start)
            continue; /* what the full bucket let out at once */
        assert_true(before >= ideal - bytes_per_us * MS);
        assert_true(ideal - before <= PKT); /* within a packet of the line */
    }
    /* Measured over the whole drain: once the full bucket's two packets are out, each of
     * the other 46 needs 12 ms of refill, so packets 2 to 47 span 45 x 12 ms, within a look
     * on either side (a pacer leaking credit, or one not capping it, would be far off). */
    uint64_t span = left_at[TOTAL - 1] - left_at[2];
    assert_true(span >= 45 * 12 * MS - MS && span <= 45 * 12 * MS + MS);
    /* The last packet, pushed at 150 ms, left at about 12 x 45 ms: it waited ~390 ms. */
    assert_true(q.max_wait_us >= 389 * MS && q.max_wait_us <= 392 * MS);

    /* Idle long enough to fill the bucket, then one more burst: only the burst (two
     * packets) leaves at once, not the credit of the idle second. */
    now += 1000 * MS;
    for (uint32_t k = 0; k < 5; k++)
        push_ok(&q, 100 + k, PKT, now);
    const uint8_t *pkt;
    unsigned at_once = 0;
    while (cq_paceq_due(&pool, &q, now, &pkt) != NULL) {
        cq_paceq_pop(&pool, &q, now);
        at_once++;
    }
    assert_int_equal(at_once, 2);
    cq_paceq_clear(&pool, &q);
}

/* Held too long (the window stopped video): the packets queued more than the age ago go,
 * counted as dropped, and the younger ones stay in order. */
static void test_paceq_drop_stale(void **state) {
    (void)state;
    cq_paceq_t q;
    cq_paceq_init(&q, SLOW_BPS, PLENTY);
    assert_int_equal(cq_paceq_drop_stale(&pool, &q, T0, 1000 * MS), 0); /* empty */
    for (uint32_t id = 1; id <= 5; id++)
        push_ok(&q, id, PKT, T0 + id * 100 * MS);
    assert_int_equal(cq_paceq_drop_stale(&pool, &q, T0 + 1200 * MS, 1000 * MS), 1);
    assert_int_equal(cq_paceq_drop_stale(&pool, &q, T0 + 1200 * MS, 1000 * MS), 0);
    assert_int_equal(cq_paceq_drop_stale(&pool, &q, T0 + 1401 * MS, 1000 * MS), 3);
    assert_int_equal(q.count, 1);
    assert_int_equal(q.bytes, PKT);
    assert_int_equal(q.dropped, 4);
    assert_int_equal(pool.free_count, POOL - 1);
    pop_expect(&q, 5, PKT, T0 + 1401 * MS);
    assert_int_equal(q.count, 0);
}

int main(void) {
#define T(name) cmocka_unit_test_setup(name, setup)
    const struct CMUnitTest tests[] = {
        T(test_paceq_open_while_credit_positive),
        T(test_paceq_refill_rate_and_cap),
        T(test_paceq_fifo_order),
        T(test_paceq_push_over_max_bytes),
        T(test_paceq_push_empty_pool),
        T(test_paceq_pool_shared),
        T(test_paceq_push_invalid),
        T(test_paceq_tseq_at_per_entry),
        T(test_paceq_max_wait),
        T(test_paceq_backlog),
        T(test_paceq_spend_floor),
        T(test_paceq_drain_at_rate),
        T(test_paceq_drop_stale),
    };
#undef T
    return cmocka_run_group_tests_name("relay/paceq", tests, NULL, NULL);
}
