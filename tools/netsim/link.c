/*
 * One direction of an emulated link (link.h). The model, in the order a packet meets it:
 *
 *   send ─► outage? ─► random loss? ─► Gilbert–Elliott loss? ─► drop-tail queue full?
 *        ─► pool empty? ─► due = end of serialisation + delay + jitter ─► heap ─► take
 *
 * The queue is not a list of packets: with a single serialiser of fixed rate, everything
 * about it follows from one number, busy_until_us, the time the serialiser finishes the
 * last byte it has accepted. A packet sent at now waits busy_until - now (the backlog ahead
 * of it, in time) and then takes len * 8 / rate to go out. So a queue costs nothing per
 * packet and the only per-packet state is the slot holding the bytes until they are due.
 *
 * Packets in flight sit in a binary min-heap of pool indices ordered by (due, order): the
 * order breaks ties, so packets due at the same microsecond come out in the order they were
 * sent, and a duplicate (same due, same order) comes out right after its original.
 */
#include "tools/netsim/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/error.h"

/* ---- PRNG: xoroshiro128++ (Blackman & Vigna, 2019), seeded by splitmix64 -------------- */

/* splitmix64 turns any 64-bit seed, 0 and 1 included, into well-mixed state words; feeding
 * a xoroshiro generator two nearly equal words would give correlated first outputs. */
static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, unsigned k) {
    return (x << k) | (x >> (64u - k));
}

static uint64_t rng_next(uint64_t s[2]) {
    uint64_t s0 = s[0], s1 = s[1];
    uint64_t result = rotl(s0 + s1, 17) + s0;
    s1 ^= s0;
    s[0] = rotl(s0, 49) ^ s1 ^ (s1 << 21);
    s[1] = rotl(s1, 28);
    return result;
}

/* Uniform in [0, 1) with 53 random bits, so u < prob is true with probability prob exactly
 * for prob 0 (never) and 1 (always). */
static double rng_unit(uint64_t s[2]) {
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* ---- parameters -------------------------------------------------------------------------- */

static bool is_probability(double x) {
    return x >= 0.0 && x <= 1.0; /* false for NaN too */
}

static bool params_valid(const cq_netsim_params_t *p) {
    return p && is_probability(p->loss) && is_probability(p->ge_p) && is_probability(p->ge_r) &&
           is_probability(p->ge_loss_good) && is_probability(p->ge_loss_bad) &&
           is_probability(p->duplicate);
}

/* Time to clock len bytes out at rate_bps (> 0), rounded up: a cap is a cap, the link never
 * goes faster than asked. len * 8e6 is at most 1.7e10, far from overflow. */
static uint64_t serialisation_us(size_t len, uint64_t rate_bps) {
    uint64_t bits_us = (uint64_t)len * 8u * 1000000u;
    uint64_t t = bits_us / rate_bps;
    return bits_us % rate_bps ? t + 1 : t;
}

/* The drop-tail limit as time at the rate (rate_bps > 0): the queue in bytes when given,
 * else in milliseconds, else 100 ms. A byte limit of 4 GB at 1 bit/s is 3.4e16 us: no
 * overflow. */
static uint64_t queue_limit_us(const cq_netsim_params_t *p) {
    if (p->queue_bytes)
        return (uint64_t)p->queue_bytes * 8u * 1000000u / p->rate_bps;
    return (uint64_t)(p->queue_ms ? p->queue_ms : 100u) * 1000u;
}

/* ---- the heap of packets in flight ------------------------------------------------------- */

static bool earlier(const cq_netsim_link_t *l, uint32_t a, uint32_t b) {
    const cq_netsim_packet_t *pa = &l->pool[a], *pb = &l->pool[b];
    return pa->due_us < pb->due_us || (pa->due_us == pb->due_us && pa->order < pb->order);
}

static void heap_push(cq_netsim_link_t *l, uint32_t slot) {
    uint32_t i = l->nheap++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!earlier(l, slot, l->heap[parent]))
            break;
        l->heap[i] = l->heap[parent];
        i = parent;
    }
    l->heap[i] = slot;
}

static void heap_pop(cq_netsim_link_t *l) {
    uint32_t last = l->heap[--l->nheap];
    uint32_t n = l->nheap, i = 0;
    if (n == 0)
        return;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && earlier(l, l->heap[child + 1], l->heap[child]))
            child++;
        if (!earlier(l, l->heap[child], last))
            break;
        l->heap[i] = l->heap[child];
        i = child;
    }
    l->heap[i] = last;
}

/* Copies a packet into a free slot (the caller checked there is one) and schedules it. */
static void enqueue(cq_netsim_link_t *l, const uint8_t *pkt, size_t len, uint64_t due_us,
                    uint64_t order, uint64_t end_us) {
    uint32_t slot = l->free_list[--l->nfree];
    cq_netsim_packet_t *p = &l->pool[slot];
    memcpy(p->data, pkt, len);
    p->len = (uint32_t)len;
    p->due_us = due_us;
    p->order = order;
    p->end_us = end_us;
    heap_push(l, slot);
}

/* ---- the link ---------------------------------------------------------------------------- */

int cq_netsim_link_init(cq_netsim_link_t *l, const cq_netsim_params_t *p, uint64_t seed,
                        size_t max_packets) {
    memset(l, 0, sizeof *l);
    if (!params_valid(p) || max_packets == 0 || max_packets > UINT32_MAX)
        return CQ_EINVAL;
    l->pool = calloc(max_packets, sizeof *l->pool);
    l->free_list = calloc(max_packets, sizeof *l->free_list);
    l->heap = calloc(max_packets, sizeof *l->heap);
    if (!l->pool || !l->free_list || !l->heap) {
        cq_netsim_link_free(l);
        return CQ_ENOMEM;
    }
    l->max_packets = max_packets;
    /* Slot 0 on top of the stack: the first packets use the first slots (any order would
     * do; this one is just easier to read in a debugger). */
    for (size_t i = 0; i < max_packets; i++)
        l->free_list[i] = (uint32_t)(max_packets - 1 - i);
    l->nfree = (uint32_t)max_packets;
    l->p = *p;
    uint64_t s = seed;
    l->rng[0] = splitmix64(&s);
    l->rng[1] = splitmix64(&s);
    if (l->rng[0] == 0 && l->rng[1] == 0) /* the one state xoroshiro cannot leave */
        l->rng[1] = 1;
    l->next_order = 1; /* last_delivered_order 0 reads "none delivered yet" */
    return 0;
}

void cq_netsim_link_free(cq_netsim_link_t *l) {
    free(l->pool);
    free(l->free_list);
    free(l->heap);
    memset(l, 0, sizeof *l);
}

/* The time the link was last given; times only move forward for the series' sake (a
 * caller's clock may give an earlier time to take than it gave to send). */
static void seen(cq_netsim_link_t *l, uint64_t now_us) {
    if (now_us > l->now_us)
        l->now_us = now_us;
}

/* Adds the capacity of the rate in force from when it took effect to now_us. */
static void account_capacity(cq_netsim_link_t *l, uint64_t now_us) {
    cq_netsim_series_state_t *s = &l->series;
    if (now_us <= s->rate_since_us)
        return;
    if (l->p.rate_bps == 0)
        s->uncapped = true;
    else
        s->capacity_bits += (double)l->p.rate_bps * (double)(now_us - s->rate_since_us) / 1e6;
    s->rate_since_us = now_us;
}

int cq_netsim_link_set(cq_netsim_link_t *l, const cq_netsim_params_t *p) {
    return cq_netsim_link_set_at(l, p, l->now_us);
}

int cq_netsim_link_set_at(cq_netsim_link_t *l, const cq_netsim_params_t *p, uint64_t now_us) {
    if (!params_valid(p))
        return CQ_EINVAL;
    seen(l, now_us);
    account_capacity(l, l->now_us);
    l->p = *p;
    if (p->ge_p == 0.0)
        l->ge_bad = false; /* the burst model is off: it starts again from good */
    return 0;
}

/* Steps 1 and 2: outage, then random and bursty loss. The Gilbert–Elliott channel moves
 * on with every packet offered, outages included: its state is the radio's, not the
 * traffic's. Returns the verdict, SENT when the packet survives. */
static int lose(cq_netsim_link_t *l, double u_state, double u_burst, double u_loss) {
    const cq_netsim_params_t *p = &l->p;
    if (p->ge_p > 0.0) {
        if (l->ge_bad)
            l->ge_bad = !(u_state < p->ge_r);
        else
            l->ge_bad = u_state < p->ge_p;
    }
    if (p->down) {
        l->stats.drop_outage++;
        return CQ_NETSIM_DROP_OUTAGE;
    }
    if (u_loss < p->loss) {
        l->stats.drop_loss++;
        return CQ_NETSIM_DROP_LOSS;
    }
    if (p->ge_p > 0.0 && u_burst < (l->ge_bad ? p->ge_loss_bad : p->ge_loss_good)) {
        l->stats.drop_burst++;
        return CQ_NETSIM_DROP_BURST;
    }
    return CQ_NETSIM_SENT;
}

/* Step 4: the delivery time of a packet that leaves the serialiser at end_us. Delay plus a
 * jitter uniform over the 2J + 1 whole microseconds of [-J, +J], the sum clamped at zero. */
static uint64_t delivery_time(cq_netsim_link_t *l, uint64_t end_us, double u_jitter) {
    const cq_netsim_params_t *p = &l->p;
    uint64_t jitter_us = (uint64_t)p->jitter_ms * 1000u;
    uint64_t k = (uint64_t)(u_jitter * (double)(2 * jitter_us + 1));
    if (k > 2 * jitter_us) /* rounding of the product, in theory */
        k = 2 * jitter_us;
    uint64_t extra_us = (uint64_t)p->delay_ms * 1000u + k;
    extra_us = extra_us > jitter_us ? extra_us - jitter_us : 0;
    uint64_t due_us = end_us + extra_us;
    if (!p->reorder && due_us < l->last_due_us)
        due_us = l->last_due_us; /* waits behind the one sent before, as on a serial path */
    if (due_us > l->last_due_us)
        l->last_due_us = due_us;
    return due_us;
}

int cq_netsim_link_send(cq_netsim_link_t *l, const uint8_t *pkt, size_t len, uint64_t now_us) {
    /* A zero-length datagram is refused: take() returns 0 for "nothing due", so it could
     * not be told apart from one. */
    if (!pkt || len == 0 || len > CQ_NETSIM_MAX_PACKET)
        return CQ_EINVAL;
    const cq_netsim_params_t *p = &l->p;

    /* Every packet draws the same five numbers in the same order, whatever the parameters
     * and whatever happens to it: packet n meets the same dice in every run with the same
     * seed, so turning one impairment on or off (or a script change) does not reshuffle the
     * decisions of the others. */
    double u_state = rng_unit(l->rng);
    double u_burst = rng_unit(l->rng);
    double u_loss = rng_unit(l->rng);
    double u_jitter = rng_unit(l->rng);
    double u_dup = rng_unit(l->rng);

    seen(l, now_us);
    l->stats.sent++;
    l->stats.bytes_sent += len;
    int verdict = lose(l, u_state, u_burst, u_loss);
    if (verdict != CQ_NETSIM_SENT)
        return verdict;

    /* Step 3, the rate cap. The backlog ahead counts the packet being clocked out as well,
     * so a burst into an idle link of limit Q keeps floor(Q / len) packets. A packet that
     * finds the serialiser idle always goes, even when it alone is bigger than the limit:
     * otherwise a limit below one packet would cut the link. */
    uint64_t end_us = now_us, ahead_us = 0;
    if (p->rate_bps) {
        uint64_t ser_us = serialisation_us(len, p->rate_bps);
        ahead_us = l->busy_until_us > now_us ? l->busy_until_us - now_us : 0;
        if (ahead_us > 0 && ahead_us + ser_us > queue_limit_us(p)) {
            l->stats.drop_queue++;
            return CQ_NETSIM_DROP_QUEUE;
        }
        end_us = now_us + ahead_us + ser_us;
    }

    /* Checked last, so that running out of slots (the emulator's limit, not the link's)
     * leaves the queue as it was. */
    if (l->nfree == 0) {
        l->stats.drop_pool++;
        return CQ_NETSIM_DROP_POOL;
    }
    if (p->rate_bps)
        l->busy_until_us = end_us;
    if (ahead_us > l->series.wait_max_us)
        l->series.wait_max_us = ahead_us;

    uint64_t due_us = delivery_time(l, end_us, u_jitter);
    uint64_t order = l->next_order++;
    enqueue(l, pkt, len, due_us, order, end_us);
    /* Step 5. The copy needs a slot of its own; without one it is simply not made (the
     * original went through, so the verdict stays SENT). */
    if (u_dup < p->duplicate && l->nfree > 0) {
        enqueue(l, pkt, len, due_us, order, 0);
        l->stats.duplicated++;
    }
    return CQ_NETSIM_SENT;
}

bool cq_netsim_link_next(const cq_netsim_link_t *l, uint64_t *due_us) {
    if (l->nheap == 0)
        return false;
    *due_us = l->pool[l->heap[0]].due_us;
    return true;
}

int cq_netsim_link_take(cq_netsim_link_t *l, uint64_t now_us, uint8_t *out, size_t cap) {
    seen(l, now_us);
    if (l->nheap == 0)
        return 0;
    uint32_t slot = l->heap[0];
    const cq_netsim_packet_t *p = &l->pool[slot];
    if (p->due_us > now_us)
        return 0;
    if (p->len > cap)
        return CQ_ENOBUFS;
    uint32_t len = p->len;
    memcpy(out, p->data, len);
    /* A duplicate shares its original's order, so "less than" (not "at most") the latest
     * order delivered: a copy right after its original is not a reordering. */
    if (p->order < l->last_delivered_order)
        l->stats.reordered++;
    else
        l->last_delivered_order = p->order;
    heap_pop(l);
    l->free_list[l->nfree++] = slot;
    l->stats.delivered++;
    l->stats.bytes_delivered += len;
    return (int)len;
}

void cq_netsim_link_stats(const cq_netsim_link_t *l, cq_netsim_stats_t *out) {
    *out = l->stats;
}

/* ---- the time series ------------------------------------------------------------------- */

/* Everything here runs once per interval (chasqui-netsim: every 250 ms), not per packet:
 * the per-packet cost of the series is the wait_max_us comparison in send and the end time
 * kept in each slot. Rates are the interval's bytes over its length, so a timer that fires
 * a little late gives a longer interval, not a wrong rate. */

static uint64_t per_second(uint64_t bits, uint64_t interval_us) {
    return interval_us ? (uint64_t)((double)bits * 1e6 / (double)interval_us + 0.5) : 0;
}

static uint32_t ms_of(uint64_t us) {
    uint64_t ms = (us + 500) / 1000;
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

void cq_netsim_link_sample(cq_netsim_link_t *l, uint64_t now_us, cq_netsim_sample_t *out) {
    cq_netsim_series_state_t *s = &l->series;
    const cq_netsim_stats_t *c = &l->stats, *was = &s->counts;
    seen(l, now_us);
    now_us = l->now_us;
    account_capacity(l, now_us);
    uint64_t interval_us = now_us - s->at_us;
    memset(out, 0, sizeof *out);
    out->at_us = now_us;
    out->interval_us = interval_us;
    if (!s->uncapped && interval_us > 0)
        out->capacity_bps = (uint64_t)(s->capacity_bits * 1e6 / (double)interval_us + 0.5);
    out->offered_bps = per_second((c->bytes_sent - was->bytes_sent) * 8u, interval_us);
    out->delivered_bps = per_second((c->bytes_delivered - was->bytes_delivered) * 8u, interval_us);
    /* The queue is the packets accepted and not yet clocked out: the serialiser is a FIFO,
     * so they are the ones whose end time is still ahead. */
    for (uint32_t i = 0; i < l->nheap; i++) {
        const cq_netsim_packet_t *p = &l->pool[l->heap[i]];
        if (p->end_us > now_us)
            out->queue_bytes += p->len;
    }
    out->queue_ms =
        l->p.rate_bps ? ms_of(l->busy_until_us > now_us ? l->busy_until_us - now_us : 0) : 0;
    out->queue_ms_max = ms_of(s->wait_max_us);
    out->queue_limit_ms = l->p.rate_bps ? ms_of(queue_limit_us(&l->p)) : 0;
    out->drop_queue = c->drop_queue - was->drop_queue;
    out->drop_loss = c->drop_loss - was->drop_loss;
    out->drop_burst = c->drop_burst - was->drop_burst;
    out->drop_outage = c->drop_outage - was->drop_outage;
    out->drop_pool = c->drop_pool - was->drop_pool;

    s->at_us = s->rate_since_us = now_us;
    s->counts = *c;
    s->capacity_bits = 0;
    s->uncapped = false;
    s->wait_max_us = 0;
}

int cq_netsim_sample_write(const cq_netsim_sample_t *s, uint64_t start_us, const char *dir,
                           char *buf, size_t cap) {
    uint64_t t_us = s->at_us > start_us ? s->at_us - start_us : 0;
    int n = snprintf(buf, cap, "%.3f,%s,%llu,%llu,%llu,%llu,%u,%u,%u,%llu,%llu,%llu,%llu,%llu\n",
                     (double)t_us / 1e6, dir, (unsigned long long)s->capacity_bps,
                     (unsigned long long)s->offered_bps, (unsigned long long)s->delivered_bps,
                     (unsigned long long)s->queue_bytes, s->queue_ms, s->queue_ms_max,
                     s->queue_limit_ms, (unsigned long long)s->drop_queue,
                     (unsigned long long)s->drop_loss, (unsigned long long)s->drop_burst,
                     (unsigned long long)s->drop_outage, (unsigned long long)s->drop_pool);
    return n < 0 || (size_t)n >= cap ? CQ_ENOBUFS : n;
}
