/*
 * One direction of an emulated weak link, for chasqui-netsim: packets go in with the time
 * they were sent and come out when the link would deliver them, or never. In the order a
 * real link applies them:
 *
 *   1. an outage drops everything;
 *   2. loss: random (Bernoulli) and/or bursty (Gilbert–Elliott: a good and a bad state,
 *      each with its own loss, p = P(good -> bad), r = P(bad -> good) per packet);
 *   3. the rate cap: a drop-tail queue in front of a serialiser of rate_bps; a packet that
 *      would make the queue hold more than its limit (bytes, or milliseconds at the rate)
 *      is dropped;
 *   4. one-way delay plus jitter (uniform in [-jitter, +jitter], never below zero); without
 *      reorder a packet is never delivered before the one sent ahead of it (it waits, as
 *      on a real serial path), with reorder it may be;
 *   5. duplication: a copy delivered right after the original.
 *
 * Deterministic: the same seed, parameters and sequence of sends give the same deliveries
 * (its own PRNG; no clock is read). Times are the caller's microseconds.
 *
 * A plain value the caller owns; packets are copied into a pool allocated at init, so
 * nothing is allocated per packet. Not thread-safe.
 */
#ifndef CQ_NETSIM_LINK_H
#define CQ_NETSIM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CQ_NETSIM_MAX_PACKET 2048

typedef struct {
    uint64_t rate_bps;    /* 0: no cap (and no queue) */
    uint32_t queue_bytes; /* drop-tail limit in bytes; 0: use queue_ms */
    uint32_t queue_ms;    /* limit as time at the rate (0 with queue_bytes 0: 100 ms) */
    uint32_t delay_ms;    /* one-way propagation delay */
    uint32_t jitter_ms;   /* uniform +- around the delay */
    bool reorder;         /* jitter may deliver packets out of order */
    double loss;          /* random loss, 0..1 */
    double ge_p, ge_r;    /* Gilbert–Elliott transitions per packet; ge_p 0: no bursts */
    double ge_loss_good, ge_loss_bad; /* loss in each state */
    double duplicate;                 /* probability of a copy, 0..1 */
    bool down;                        /* an outage: everything is dropped */
} cq_netsim_params_t;

/* Why a packet went nowhere (or 0: it will be delivered). */
typedef enum {
    CQ_NETSIM_SENT = 0,
    CQ_NETSIM_DROP_OUTAGE,
    CQ_NETSIM_DROP_LOSS,  /* random loss */
    CQ_NETSIM_DROP_BURST, /* Gilbert–Elliott */
    CQ_NETSIM_DROP_QUEUE, /* the queue was full */
    CQ_NETSIM_DROP_POOL,  /* more packets in flight than the pool holds */
} cq_netsim_verdict_t;

typedef struct {
    uint64_t sent, delivered, bytes_sent, bytes_delivered;
    uint64_t drop_outage, drop_loss, drop_burst, drop_queue, drop_pool;
    uint64_t duplicated, reordered; /* delivered after a packet sent later */
} cq_netsim_stats_t;

typedef struct {
    uint32_t len;
    uint64_t due_us;
    uint64_t order;  /* send order, for the no-reorder rule and stable ties */
    uint64_t end_us; /* when the serialiser has clocked it out (0 for a duplicate, which
                      * takes no time of its own): the queue's bytes at a sample */
    uint8_t data[CQ_NETSIM_MAX_PACKET];
} cq_netsim_packet_t;

/* What the time series (cq_netsim_link_sample) keeps between two samples. Per packet the link only
 * raises wait_max_us; the rest is kept by changes and samples. */
typedef struct {
    uint64_t at_us;           /* the last sample (0 before the first) */
    cq_netsim_stats_t counts; /* the counts then */
    uint64_t rate_since_us;   /* when the rate in force took effect, or at_us if later */
    double capacity_bits;     /* bits the cap allowed from at_us to rate_since_us */
    bool uncapped;            /* the link had no cap for some of that time */
    uint64_t wait_max_us;     /* the longest a packet accepted since at_us waited */
} cq_netsim_series_state_t;

typedef struct {
    cq_netsim_params_t p;
    uint64_t rng[2];
    bool ge_bad;
    uint64_t busy_until_us; /* when the serialiser finishes what it holds */
    uint64_t last_due_us;   /* the latest delivery time given (no-reorder rule) */
    uint64_t next_order, last_delivered_order;
    cq_netsim_packet_t *pool; /* max_packets entries */
    uint32_t *free_list, nfree;
    uint32_t *heap, nheap; /* in flight, ordered by due time (then order) */
    size_t max_packets;
    cq_netsim_stats_t stats;
    uint64_t now_us; /* the latest time the caller gave (send, take, set_at, sample) */
    cq_netsim_series_state_t series;
} cq_netsim_link_t;

/* Returns 0, CQ_EINVAL (parameters out of range: probabilities outside 0..1, max_packets
 * 0) or CQ_ENOMEM. */
int cq_netsim_link_init(cq_netsim_link_t *l, const cq_netsim_params_t *p, uint64_t seed,
                        size_t max_packets);
void cq_netsim_link_free(cq_netsim_link_t *l);

/* New parameters from now on (a script's change); packets in flight keep their times.
 * Returns 0 or CQ_EINVAL. _set_at says when, for the capacity in the time series; _set
 * takes the latest time the link was given (a send, a take, a sample). */
int cq_netsim_link_set(cq_netsim_link_t *l, const cq_netsim_params_t *p);
int cq_netsim_link_set_at(cq_netsim_link_t *l, const cq_netsim_params_t *p, uint64_t now_us);

/* A packet sent at now_us. len over CQ_NETSIM_MAX_PACKET is CQ_EINVAL; otherwise the
 * verdict. */
int cq_netsim_link_send(cq_netsim_link_t *l, const uint8_t *pkt, size_t len, uint64_t now_us);

/* When the next packet is due; false when none is in flight. */
bool cq_netsim_link_next(const cq_netsim_link_t *l, uint64_t *due_us);

/* The next packet due at or before now_us, copied into out (cap bytes). Returns its length,
 * 0 when none is due, or CQ_ENOBUFS (it stays). */
int cq_netsim_link_take(cq_netsim_link_t *l, uint64_t now_us, uint8_t *out, size_t cap);

void cq_netsim_link_stats(const cq_netsim_link_t *l, cq_netsim_stats_t *out);

/* ---- the time series -------------------------------------------------------------- */

/* One direction over one interval, from the sample before (or time 0) to at_us: what the
 * link could carry, what was offered and delivered, the queue, and the drops by cause. */
typedef struct {
    uint64_t at_us, interval_us;
    uint64_t capacity_bps;   /* the cap's mean over the interval; 0: uncapped at some point */
    uint64_t offered_bps;    /* bytes sent into the link (before any drop), as bit/s */
    uint64_t delivered_bps;  /* bytes taken out at the far end, as bit/s */
    uint64_t queue_bytes;    /* at at_us: accepted and not yet clocked out (the one being
                              * clocked out included) */
    uint32_t queue_ms;       /* at at_us: how long a packet arriving then would wait */
    uint32_t queue_ms_max;   /* the longest wait of a packet accepted in the interval */
    uint32_t queue_limit_ms; /* the drop-tail limit at the rate in force (0: uncapped) */
    uint64_t drop_queue, drop_loss, drop_burst, drop_outage, drop_pool; /* packets */
} cq_netsim_sample_t;

/* Closes the interval at now_us (at or after the sample before) and starts the next one.
 * The first interval runs from time 0: call it once at the start to begin there. Reads the
 * packets in flight for queue_bytes (no allocation); not for the per-packet path. */
void cq_netsim_link_sample(cq_netsim_link_t *l, uint64_t now_us, cq_netsim_sample_t *out);

/* The CSV header, and one sample as a row ("t_s,dir,..."), written into buf (cap bytes)
 * with t_s = (at_us - start_us) seconds. Return the length, or CQ_ENOBUFS. */
#define CQ_NETSIM_SERIES_HEADER                                                                    \
    "t_s,dir,capacity_bps,offered_bps,delivered_bps,queue_bytes,queue_ms,queue_ms_max,"            \
    "queue_limit_ms,drop_queue,drop_loss,drop_burst,drop_outage,drop_pool\n"
int cq_netsim_sample_write(const cq_netsim_sample_t *s, uint64_t start_us, const char *dir,
                           char *buf, size_t cap);

/* ---- profiles and scripts ------------------------------------------------------------ */

/* A timed change: at at_ms after the start, direction up (client to server) or down takes
 * params. */
typedef struct {
    uint32_t at_ms;
    bool up;
    cq_netsim_params_t params;
} cq_netsim_change_t;

#define CQ_NETSIM_MAX_CHANGES 64

typedef struct {
    cq_netsim_params_t up, down; /* at the start */
    cq_netsim_change_t changes[CQ_NETSIM_MAX_CHANGES];
    size_t nchanges;
    /* Repeats the changes every period_ms (0: once); the outage profile uses it. */
    uint32_t period_ms;
} cq_netsim_plan_t;

/* The named profile (lan, rural-radio, vsat, 3g-weak, collapse, outage: docs/NETSIM.md).
 * Returns 0 or CQ_ENOENT. */
int cq_netsim_profile(const char *name, cq_netsim_plan_t *out);

/*
 * Applies a script's lines to plan (after a profile, or on an empty one), e.g.:
 *
 *   # comments and blank lines are ignored
 *   at 0s up rate 256kbit delay 80ms jitter 40ms loss 5%
 *   at 10s down burst 1% 30% 0% 50%     (Gilbert–Elliott p r loss-good loss-bad)
 *   at 20s down rate 64kbit queue 200ms
 *   at 40s both outage on
 *   at 42s both outage off
 *
 * Each line changes only the fields it names, on top of the parameters in force at that
 * time; lines come in time order. Directions: up, down, both. Keywords: rate, queue, delay,
 * jitter, reorder on|off, loss, burst P R LG LB, duplicate, outage on|off. Units: bit,
 * kbit, mbit (rates); ms, s (times); % or a fraction (probabilities); B, KB (a queue in
 * bytes; a queue in ms is a time). Returns 0, or CQ_EMALFORMED with the 1-based line
 * number in *bad_line.
 */
int cq_netsim_script_parse(const char *text, size_t len, cq_netsim_plan_t *plan,
                           unsigned *bad_line);

#endif
