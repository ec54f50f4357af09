/*
 * The bandwidth estimator shared by the relay (one per receiver: its downlink) and the
 * client (its uplink), in the spirit of Google Congestion Control
 * (draft-ietf-rmcat-gcc-02) as libwebrtc runs it today: send-side, from transport-wide
 * feedback.
 *
 *   feedback ─► delays of packet groups ─► trendline ─► overuse detector ─► AIMD ─┐
 *            └► throughput of what arrived ─────────────────────────────────────┤
 *            └► loss ─► loss bound ──────────────────────────────────────► min ─┴─► target
 *            └► probe clusters ─► measured headroom ─► the target jumps up to it
 *
 * Delay: packets sent within 5 ms of each other form a group; the growth of one-way delay
 * between successive groups is accumulated, smoothed, and its slope over the last 20
 * groups (a least-squares trend) says whether a queue is building. The trend is compared
 * with a threshold that adapts to it (slowly up, faster down), so a link whose delay
 * jitters does not look congested all the time and a competing flow cannot starve us.
 * Overuse cuts the rate to 85 % of what the link carried (what arrived, and the share the
 * link's own random loss took; for a sender under its estimate most of whose packets
 * arrived, the most that arrived over the last seconds, since its own bursts queue at a link
 * it does not fill); normal use lets it grow, 8 % a second while far from the
 * last congestion point, by about a packet per round trip near it and a third of that
 * past it; underuse holds it (the queue is draining).
 *
 * Loss: random loss is what rural radio does all day, and is not a sign of a full queue;
 * only heavy loss (over 10 %, in the last half second and over the last 1.5 s) lowers
 * the bound, by half the loss, at most once per round trip. Under 2 % the bound climbs
 * back at 8 % a second, between the two at 2 %. The light loss of the last seconds is
 * taken as the link's own when an overuse cuts (above): cut from what arrived alone, a
 * link losing 5 % sawed 5 % deeper.
 *
 * Probing: the target cannot grow faster than the media actually sent (at most 1.5 times
 * the throughput that arrived, plus a packet a round trip), so a sender held below the
 * link by its encoders cannot learn there is room. A probe cluster (a short burst at a
 * chosen rate, padding or RTX) measures it: the rate at which the cluster arrived, if
 * the link delivered it slower than it was sent, is the link's; otherwise the probe rate
 * fits. At the start, clusters at 3x and 6x the start rate find the link within seconds.
 *
 * A plain value the caller owns (about 100 KiB with its send history); no allocation, no
 * I/O, no clock: every call takes the caller's monotonic time in microseconds.
 */
#ifndef CQ_CC_ESTIMATOR_H
#define CQ_CC_ESTIMATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc/minwin.h"
#include "cc/sendhist.h"
#include "rtp/twcc.h"

#define CQ_CC_TREND_WINDOW  20      /* groups the delay trend is fitted over, at least ... */
#define CQ_CC_TREND_MAX     128     /* ... and at most, when they are dense (estimator.c) */
#define CQ_CC_ACKED_MAX     256     /* arrivals the throughput is measured over */
#define CQ_CC_PROBES        4       /* probe clusters in flight at once */
#define CQ_CC_FLOOR_SECONDS 10      /* seconds the delay with no queue is the least over */
#define CQ_CC_BASE_SLOTS    10      /* ... and for the loss judgment, over slots of ... */
#define CQ_CC_BASE_SLOT_US  6000000 /* ... 6 s: a minute */
#define CQ_CC_LOSS_WINDOWS  3       /* loss windows heavy loss is judged over (estimator.c) */
#define CQ_CC_MOST_SECONDS  2       /* seconds what arrived at most is kept (estimator.c) */

typedef enum {
    CQ_CC_NORMAL = 0,
    CQ_CC_OVERUSE,  /* delay growing: a queue is building */
    CQ_CC_UNDERUSE, /* delay falling: a queue is draining */
} cq_cc_usage_t;

typedef struct {
    uint32_t start_bps, min_bps, max_bps;
} cq_cc_config_t;

/* A packet group: sent within 5 ms of its first. */
typedef struct {
    bool open;
    int64_t first_send_us, last_send_us, last_arrival_us;
    uint32_t bytes;
} cq_cc_group_t;

typedef struct {
    int64_t send_us, arrival_us;
    uint32_t bytes;
} cq_cc_acked_t;

typedef struct {
    int id;                 /* cluster id, as given to cq_cc_on_sent; -1: slot free */
    uint32_t rate_bps;      /* asked for */
    uint32_t bytes_planned; /* its rate for as long as it should last */
    unsigned packets_sent;  /* as the caller sent them */
    unsigned packets_acked;
    int64_t first_send_us, last_send_us, first_arrival_us, last_arrival_us;
    uint32_t bytes_sent, bytes_acked, first_acked_bytes, last_sent_bytes;
    int64_t started_us;
} cq_cc_probe_t;

typedef struct {
    cq_cc_config_t cfg;
    cq_sendhist_t sent;

    /* Delay: the group being filled and the one before it. */
    cq_cc_group_t group, prev_group;
    double accumulated_ms, smoothed_ms;
    double trend_x[CQ_CC_TREND_MAX], trend_y[CQ_CC_TREND_MAX];
    unsigned trend_n, trend_next, num_deltas;
    int64_t first_arrival_us;
    /* The least smoothed delay of the last CQ_CC_FLOOR_SECONDS seconds of arrivals: the
     * link's delay with no queue. */
    cq_minwin_t floor;
    /* The least accumulated delay over CQ_CC_BASE_SLOTS slots of CQ_CC_BASE_SLOT_US (a
     * minute): what the loss judgment measures a queue from, one that a queue standing
     * longer than the floor's seconds does not raise. */
    cq_minwin_t base;
    cq_minwin_t late;        /* feedback's lateness, negated: its minimum is the most (window) */
    int64_t late_at_us;      /* the last lateness taken; 0: none */
    double queue_typical_ms; /* how far above it the delay usually stands */
    /* Overuse detector. */
    double threshold_ms, prev_trend;
    double overuse_ms;
    unsigned overuse_count;
    int64_t last_threshold_update_us;
    cq_cc_usage_t usage;

    /* Throughput of what arrived, over the last 500 ms of arrivals. */
    cq_cc_acked_t acked[CQ_CC_ACKED_MAX];
    unsigned acked_n, acked_next;
    int64_t acked_first_us, acked_last_us; /* the first arrival since a gap, the latest */
    uint32_t acked_bps;
    uint32_t acked_sent_bps; /* the same packets' rate as they were sent */
    cq_minwin_t acked_most;  /* acked_bps, negated: its minimum is the most lately (window) */

    /* AIMD on the delay signal. */
    double delay_bps;
    int64_t last_increase_us;
    double capacity_kbps, capacity_var; /* where the last decreases happened; 0: unknown */
    int64_t last_decrease_us;

    /* Loss bound. */
    double loss_bps;
    uint32_t lost_window, reported_window; /* since window_start_us */
    int64_t loss_window_start_us, last_loss_decrease_us, last_loss_update_us;
    double loss_fraction; /* of the last window judged */
    uint32_t judged_lost[CQ_CC_LOSS_WINDOWS], judged_reported[CQ_CC_LOSS_WINDOWS];
    int64_t judged_at_us[CQ_CC_LOSS_WINDOWS];
    unsigned judged_next;
    /* Loss runs: packets lost in a row (by transport-wide number) count as one. Their
     * lengths, averaged like the loss (over about LOSS_BURST_US), tell a link that loses
     * in bursts from one that loses at random. */
    uint32_t runs_window;
    double least_held_ms; /* the least an arrival of the window stood above the base */
    uint64_t loss_bursts_passed;
    uint16_t last_lost_tseq;
    bool have_last_lost;
    double burst_lost, burst_runs, burst_reported;
    uint64_t burst_seen; /* runs that went into the average (loss_runs counts sooner) */

    /* Probes. */
    cq_cc_probe_t probe[CQ_CC_PROBES];
    int next_probe_id;
    bool initial_probes_sent;
    int initial_probe_id;         /* the first initial cluster, until judged; -1: none */
    uint32_t probe_requested_bps; /* asked for, not handed out yet; 0: none */
    uint32_t probe_result_bps;    /* the last one measured; 0: none */
    int64_t probe_result_us;      /* when it was judged; 0: never */
    uint32_t link_bps;            /* what the last cluster that filled the link got through */
    int64_t link_us;              /* when it was judged */
    int64_t last_loss_us;         /* when feedback last reported a packet lost; 0: never */
    uint32_t carried_bps;         /* what the link carried when last seen full (stats) */
    int64_t carried_us;           /* when; 0: never */
    int64_t probe_void_us;        /* when the last came in whole and said nothing; 0: never */

    /* cq_cc_want: when to probe again for what the sender could use, and what was asked. */
    int64_t next_want_us, want_interval_us, want_at_us;
    uint32_t want_asked_bps;
    bool want_reasked; /* the last ask repeated one whose cluster said nothing */

    uint32_t rtt_us;
    uint32_t rtt_min_us; /* the least seen: the path's own round trip, without queues */
    /* Bytes in flight: sent, minus sent up to the last packet feedback reported. */
    uint64_t sent_bytes, reported_bytes;
    uint16_t reported_tseq; /* that packet: the one after it is the oldest in flight */
    uint32_t target_bps;
    uint64_t feedbacks, packets_reported, packets_lost, loss_runs, overuses;
    uint64_t probes_bunched, probes_jittered;
    double jitter_ms;       /* the mean delay difference between consecutive groups */
    unsigned jitter_groups; /* groups it is the mean of, up to its gain's */
} cq_cc_t;

/* Sets up an estimator at cfg->start_bps, to stay within [min_bps, max_bps]. Returns 0 or
 * CQ_EINVAL (min > start, start > max, or min 0). */
int cq_cc_init(cq_cc_t *cc, const cq_cc_config_t *cfg);

/* A packet left: its transport-wide sequence number, its size on the wire and the probe
 * cluster it went out during (CQ_SENDHIST_NO_PROBE outside any). Media sent while a
 * cluster goes out belongs to the cluster too: the link carried both, and the cluster's
 * arrival rate is only the link's when every packet between its first and last counts. */
void cq_cc_on_sent(cq_cc_t *cc, uint16_t tseq, size_t bytes, int64_t now_us, int probe);

/* Transport-wide feedback arrived (pkts as cq_twcc_parse gives them; arrival times on the
 * receiver's clock, only their differences matter). Packets not in the send history are
 * ignored; a packet reported twice counts once. */
void cq_cc_on_feedback(cq_cc_t *cc, const cq_twcc_packet_t *pkts, size_t n, int64_t now_us);

/* The round trip, as RTCP measured it (it paces decreases and additive increases). */
void cq_cc_set_rtt(cq_cc_t *cc, uint32_t rtt_us);

/* What may be sent now, in bits per second. */
uint32_t cq_cc_target_bps(const cq_cc_t *cc);

/*
 * The congestion window (libwebrtc's congestion-window pushback, in spirit): whether more
 * bytes are in flight (sent, and not yet reported by feedback, received or lost) than the
 * target carries in the path's least round trip plus CQ_CC_WINDOW_QUEUE_US; or whether
 * the oldest packet in flight went out more than that round trip plus CQ_CC_WINDOW_LATE_US
 * ago (feedback comes every 100 ms: it is late). When a link collapses, delay-based
 * detection needs the delay to show in feedback first, and at twenty times the link's rate
 * a few hundred milliseconds fill a modem's queue with seconds of media; the window stops
 * what can wait (video) as soon as feedback stops keeping up. The bytes alone are sized
 * on the target, which is still the healthy link's when it collapses; the time is not:
 * it holds video within half a second of feedback stopping at any rate, and for as long
 * as what is reported is that late (the path still holds a queue, or the receiver's own
 * uplink does, which the feedback crosses). Before any feedback, and before the round
 * trip is known, never.
 */
#define CQ_CC_WINDOW_QUEUE_US 250000u
#define CQ_CC_WINDOW_LATE_US  350000u
/* ... at most: how late feedback may come is learned. Each feedback's lateness (how long
 * the oldest packet in flight had been out when it came, past the least round trip) is
 * kept as the most of the last CQ_CC_LATE_SECONDS, and the window's time is 1.25 times
 * that plus 50 ms, within [CQ_CC_WINDOW_LATE_MIN_US, CQ_CC_WINDOW_LATE_US]. On a link
 * without queues feedback is 100-150 ms late (it comes every 100 ms), and a collapse is
 * noticed 0.2 s sooner; a radio link, whose feedback crosses a downlink queue, keeps the
 * most, as does a slow link whose packets take long to cross it, and any link for
 * CQ_CC_LATE_SECONDS after a stall. */
#define CQ_CC_WINDOW_LATE_MIN_US 150000u
#define CQ_CC_LATE_SECONDS       10
#define CQ_CC_WINDOW_MIN         4000u /* bytes: a few packets always fit */
bool cq_cc_window_full(const cq_cc_t *cc, int64_t now_us);

/* A probe cluster to send: bytes at rate_bps, in at least CQ_CC_PROBE_MIN_PACKETS packets
 * (of whatever size the caller sends; each passed to cq_cc_on_sent with id). The bytes make
 * it last long enough to be read: 30 ms, or four times the link's jitter once that is known
 * (a cluster that arrives over less than three times the jitter is void). */
#define CQ_CC_PROBE_MIN_PACKETS 6
typedef struct {
    uint32_t rate_bps;
    uint32_t bytes;
    int id;
} cq_cc_cluster_t;

/* The cluster the caller should send now, if any. The initial probes come first (three
 * times the start rate, then six times unless the first found the link under its rate);
 * later ones when cq_cc_request_probe asked. Returns false when there is nothing to
 * probe. */
bool cq_cc_probe_next(cq_cc_t *cc, int64_t now_us, cq_cc_cluster_t *out);

/* How many packets of packet_bytes cluster cl takes: its bytes, and never fewer than
 * CQ_CC_PROBE_MIN_PACKETS. */
unsigned cq_cc_cluster_packets(const cq_cc_cluster_t *cl, unsigned packet_bytes);

/* Asks for a probe at rate_bps (the allocator wants to switch a layer up and needs to
 * know the link carries it). Ignored while one is in flight or at or below the target. */
void cq_cc_request_probe(cq_cc_t *cc, uint32_t rate_bps, int64_t now_us);

/*
 * The sender could use demand_bps (its encoders or its allocator hold media below that for
 * the estimate's sake). Called now and then (each allocation); while the target is below
 * the demand it asks for a probe at twice the target (at most 1.2x the demand): after a
 * collapse or an outage the estimate would otherwise creep back at 8 % a second, and
 * media held low never shows the room. A probe that found room is followed by the next
 * as soon as it is judged (a quarter of a second), one that came in whole but said nothing
 * (bunched, or squeezed by jitter) once by another a second later; while they find none
 * they back off from 2 s to 4 s (a recovered link is found within seconds; the caller
 * keeps clusters small on a slow link).
 */
void cq_cc_want(cq_cc_t *cc, uint32_t demand_bps, int64_t now_us);

typedef struct {
    uint32_t target_bps, delay_bps, loss_bps, acked_bps, probe_bps;
    int64_t probe_us; /* when probe_bps was judged, on the caller's clock; 0: never */
    double trend, threshold_ms;
    cq_cc_usage_t usage;
    double loss_fraction;
    /* Packets per loss run, averaged over the last seconds: about 1 where loss is random
     * (rural radio), more where it comes in bursts (a 3G link: 3 or 4); 0 until a few
     * runs were seen (too few to tell). */
    double loss_burst;
    uint64_t feedbacks, packets_reported, packets_lost, loss_runs, overuses;
    uint64_t probes_bunched; /* clusters that arrived much faster than sent: void */
    /* ... and clusters that arrived over a span the link's jitter could squeeze: void */
    uint64_t probes_jittered;
    /* Windows of heavy loss that did not cut the loss bound: the link's own bursts, lost
     * in runs with no queue standing (estimator.c, LOSS_LINK_RUN). */
    uint64_t loss_bursts_passed;
    /* When the link last cut the estimate (overuse, or heavy loss), on the caller's clock;
     * 0: never. Long ago, the estimate is what the sender sent, not what the link carries. */
    int64_t last_cut_us;
    /* What the link carried when it was last seen full: what arrived when a queue last
     * built at it (an overuse with a bottleneck behind it; the recent probe's figure when
     * the sender sent under it), or what the last probe cluster that filled it got
     * through, whichever came later; carried_us is when (0: never).
     * The target may grow past it (to 1.5 times what arrives, while the sender does not
     * fill the link): it is the one figure that is the link's, not the sender's. */
    uint32_t carried_bps;
    int64_t carried_us;
    /* When feedback last reported a packet lost, on the caller's clock; 0: never. The base
     * layer's copies (relay and client) are sent for a while after it. */
    int64_t last_loss_us;
} cq_cc_stats_t;

void cq_cc_stats(const cq_cc_t *cc, cq_cc_stats_t *out);

#endif
