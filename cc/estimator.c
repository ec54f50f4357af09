#include "cc/estimator.h"

#include <math.h>
#include <string.h>

#include "rtp/error.h"

/* Groups: packets sent this close together are one burst, judged together (GCC §5.2). */
#define GROUP_US 5000
/* Trendline (libwebrtc's TrendlineEstimator): smoothing of the accumulated delay, and the
 * gain that turns a slope into something comparable with the threshold. */
#define SMOOTHING          0.9
#define TREND_GAIN         4.0
#define MAX_DELTAS_GAIN    60
#define TREND_SPAN_MS      500.0 /* the fit reaches this far back when groups are dense */
#define SMOOTHING_GROUP_MS 20.0
/* Overuse detector: the adaptive threshold (GCC §5.4) and its speeds, in ms. */
#define THRESHOLD_START_MS 12.5
#define THRESHOLD_MIN_MS   6.0
#define THRESHOLD_MAX_MS   600.0
#define K_UP               0.0087
#define K_DOWN             0.039
#define OVERUSE_MIN_MS     10.0
/* A trend over the threshold is overuse only while the smoothed delay stands above its
 * least of the last seconds by more than the link's own jitter makes it: a queue is
 * there. A 3G link that jitters by +-40 ms packet to packet tilts the fitted trend past
 * any threshold that still sees a real queue build, and each false overuse cut an
 * application-limited rate to 85 % of what arrived (the relay's estimate of a 256 kbit/s
 * link fell to 90 and paused the video). The gate is twice how far the delay usually
 * stands above its floor (an average over about QUEUE_TYPICAL_US, taken while there is no
 * overuse), within [QUEUE_GATE_MIN_MS, QUEUE_GATE_MAX_MS]: on a steady link a queue is seen
 * as soon as before, and one that builds crosses even the largest in a few packets. */
#define QUEUE_GATE_MIN_MS   8.0
#define QUEUE_GATE_MAX_MS   30.0
#define QUEUE_TYPICAL_US    5000000.0
#define THRESHOLD_IGNORE_MS 15.0 /* a trend this far past the threshold is a spike */
/* Rate control. */
#define BETA               0.85  /* overuse: this fraction of what arrived */
#define INCREASE_PER_S     1.08  /* multiplicative, far from the last congestion */
#define PACKET_BITS        9600. /* a typical video packet, for the additive increase */
#define THROUGHPUT_GAIN    1.5   /* the target grows to at most 1.5x what arrived ... */
#define THROUGHPUT_PLUS    10000 /* ... plus 10 kbit/s */
#define ACKED_WINDOW_US    500000
#define ACKED_MIN_US       100000
#define ACKED_EDGE_PACKETS 8
/* Loss bound. */
#define LOSS_HIGH 0.10
#define LOSS_LOW  0.02
/* A window is judged after half a second and 10 packets; heavy loss must show in it and
 * in it together with the windows before it of the last LOSS_JUDGE_US (the one before at
 * least, CQ_CC_LOSS_WINDOWS at most), so that unlucky windows at a link's random loss do
 * not cut the rate. On a 512 kbit/s link losing 5 % at random a window holds about 27
 * packets, and 3 lost (11 %) comes in one window of seven; with only the window before,
 * about one in twenty still read as heavy, each cut the rate by 5 %, two or three in a
 * row now and then (test_cc_steady_with_random_loss: 1-s means down to 0.75 of the
 * mean). Over three windows (80 packets) 10 % is more than twice the spread of 5 %, and
 * 20 % of loss is still seen within a second. A slow sender's windows last longer (10
 * packets at 64 kbit/s take 2 s): two of them are judged, as before; three held a loss
 * from 6 s back against it. */
#define LOSS_JUDGE_US  1500000
#define LOSS_MIN_COUNT 10
#define LOSS_WINDOW_US 500000
/* Heavy loss is the link's own, not congestion, and does not cut the loss bound, where it
 * came in runs (LOSS_LINK_RUN packets or more on average over the last seconds), some
 * packet of the window came through with no queue ahead of it (its delay within
 * LOSS_QUEUE_JITTERS times the link's jitter of the least of the last minute: a queue that
 * overflows holds every packet that gets through, and the minute's least was seen before
 * a sender that starts over a slow link filled it) and the seconds before lost under
 * LOSS_LINK_MAX. A queue's overflow, a policer and random loss heavy enough to answer (20 %)
 * lose a packet or two at a time, and a sender far over a link loses heavily all along.
 * weak-3g-3's links lose 5 % in bursts of 3.3 packets: a half second's 13 packets of a
 * sender near the link lost 5-9 of them now and then, two such in 1.5 s read as 15-20 %,
 * and each cut the bound by a quarter to a third while what the link carried had not
 * moved (ten draws of a sender at 200 kbit/s: the bound set on every one, its estimate
 * under what it sent on four, down to 127). The delay signal still cuts for a queue, and
 * the sender's RED and keyframe repair answer the burst. */
#define LOSS_LINK_RUN      2.0
#define LOSS_QUEUE_JITTERS 2.0
#define LOSS_LINK_MAX      0.2
/* How long loss runs are averaged over: long enough that a few random losses next to each
 * other do not make a radio link look bursty, short enough to follow a link that changes. */
#define LOSS_BURST_US 5000000.0
/* ... and how many runs must have gone into that average before it says anything: at its
 * start one pair of random losses next to each other is the only run there is, and it
 * made a rural radio sender repeat its sound two packets deep (a receiver's jitter buffer
 * waits for the deepest copy: 60 ms more mouth to ear for five seconds, radio-3's p95
 * past its limit). Three runs of which one is a pair average 1.33: random. */
#define LOSS_BURST_MIN_RUNS 3
/* Packets reported over that time (LOSS_BURST_US) before their loss is taken as the
 * link's own: two seconds of a 300 kbit/s sender, enough that one lost packet is 2 %. */
#define BACKGROUND_MIN_PACKETS 50.0
/* Probes. cq_cc_want: a probe that brought the target to 80 % of its rate found room. */
#define WANT_FOUND    0.8
#define WANT_CLIMB_US 250000 /* after one that found room */
#define WANT_AGAIN_US 1000000
#define WANT_FIRST_US 2000000
#define WANT_MAX_US   4000000
/* A cluster lasts this long at its rate, or (PROBE_JITTER_SPANS + 1) times the link's
 * jitter, at most PROBE_MAX_US. The relay's clusters at VSAT's start rates (0.9 and 1.8
 * Mbit/s) lasted 25 and 13 ms, under three times its jitter: a third of broadcast-20's
 * VSAT viewers had both start probes void and stayed on the start's guess. */
#define PROBE_US         30000
#define PROBE_MAX_US     100000
#define PROBE_TIMEOUT_US 1500000
/* The start's probes, times the start rate. The second goes only once the first was
 * judged, and not where it found the link under its rate: sent together, the two stood
 * 105-125 ms deep in a 512 kbit/s radio link's queue (both together are 2.5 times what it
 * carries in their 60 ms), and the receivers' jitter buffers, deepened by it, held the
 * sound 30 ms later for the next three seconds of every run (radio-3's mouth to ear p95,
 * limit 230 ms, missed at 235). */
#define INITIAL_PROBE_FIRST  3u
#define INITIAL_PROBE_SECOND 6u
#define PROBE_SATURATED      0.9 /* arrived under this fraction of the send rate: the link's */
/* Arrived faster than this times the send rate: the cluster came bunched (jitter that
 * holds packets back and lets them go together, a receiver that read them late) and its
 * rate says nothing (libwebrtc's ProbeBitrateEstimator judges such a cluster void at 2x).
 * On weak-3g-3's +-40 ms links clusters sent over 25-40 ms arrived within 2-18 ms, at
 * 1.4 to 10 times their send rate, and taken at their send rate they lifted 256 kbit/s
 * receivers' estimates to 400-860 kbit/s. */
#define PROBE_BUNCHED     1.5
#define PROBE_UTILISATION 0.95 /* of a saturated link, what the target takes */
/* A cluster that arrived over less than this many times the link's jitter (the mean
 * difference in delay between one group and the next, over about JITTER_GAIN_GROUPS)
 * is void too: the jitter alone may have squeezed it. On weak-3g-3's +-40 ms links (a
 * jitter of about 27 ms) clusters that arrived over 36-66 ms read a 256 kbit/s link at
 * 320-700 kbit/s: the relay sent at that for 2-4 s into a queue that stood full. Longer
 * ones read 120-280. Rural radio's +-10 ms (about 7) leaves its clusters judged. */
#define PROBE_JITTER_SPANS 3.0
#define JITTER_GAIN_GROUPS 16
/* A cluster is judged only once the jitter is the mean of this many groups (or the
 * cluster times out): a start's clusters went out with the first packets, were judged
 * with the jitter of none, and a 3G link squeezed by +-40 ms read 370 kbit/s for 256
 * (weak-3g-3), sending its receiver two top layers into a standing queue. Media's groups
 * come every 10-20 ms: the judgment waits a tenth of a second or so. */
#define JITTER_MIN_GROUPS 8
#define JITTER_CLIP_MS    100.0
/* An overuse this soon after a cluster filled the link, while the sender was sending
 * under LINK_APP_LIMITED of what the link was measured to carry, backs off from the link's
 * rate rather than from what happened to arrive. A probe for room fills the link's queue,
 * the queue reads as overuse, and 85 % of an application-limited rate (on radio-3, 300 of
 * 512 kbit/s) threw away what the probe had just found. A sender that fills the link gets
 * about the link's rate acknowledged anyway. */
#define LINK_RECENT_US   2000000
#define LINK_APP_LIMITED 0.8
/* ... and only while what the sender sent arrived as it was sent (DELIVERED_ALL): a
 * cluster squeezed by a 3G link's jitter read its 256 kbit/s as 392, and every overuse
 * of the next 2 s backed off to 333 from it, while the relay's packets arrived at 78-87 %
 * of their send rate and the link's queue stood at 450-497 ms, overflowing (weak-3g-3:
 * the relay over a downlink's capacity for 2.5 s at the start). Arrivals that lag the
 * sends are the link's own answer, and the cut follows them. */
/* An overuse while the sender was application-limited (under LINK_APP_LIMITED of the
 * estimate) and what arrived kept up with what was sent (at least DELIVERED_ALL of its
 * send rate) found no bottleneck: the delay rose with nothing held back (jitter, a host
 * that stalled, cross traffic that came and went). Backing off from what arrived then
 * follows the sender, not the link: a relay whose allocation follows the estimate sends
 * less after each cut, and 85 % of that, cut after cut, took a 3g-weak receiver from 174
 * to 66 kbit/s with no queue at its link. Such an overuse cuts the estimate itself, once
 * per response time. A sender near the link keeps backing off from what arrived: there a
 * queue that builds slowly passes nearly all that is sent; and so does one held under the
 * estimate by the loss bound, which has judged the link already. A send rate not measured
 * (what arrived over the last half second went out within a tenth: a link that collapsed
 * under a burst sent at the old rate) proves nothing was held back: the cut is from what
 * arrived, at once. Taken as "all arrived", it cut 15 % per response time, and a 1 Mbit/s
 * estimate took 3 s to reach a 64 kbit/s link while the buffer overflowed. */
#define DELIVERED_ALL 0.9
/* An overuse while an application-limited sender's packets arrived at DELIVERED_MOST to
 * DELIVERED_ALL of their send rate backs off from the most that arrived over the last
 * CQ_CC_MOST_SECONDS, not from what arrived in the last half second. Such a sender fills
 * the link only with its bursts: a keyframe paced at an estimate above the link queues
 * there, arrivals lag sends, and the half second's arrivals are its own rate with gaps,
 * not the link's. On weak-3g-3's 256 kbit/s links arrivals at 65-90 % of the send rate cut
 * estimates from 215-330 to 85-128 kbit/s, under the sound and the lowest layers, and the
 * climb back from so far under the link (8 % a second; probes read +-40 ms of jitter
 * poorly) paused receivers' pictures for 3.4-5 s. What arrived over whole half seconds is
 * what the link carried, so the estimate still goes under it at once; a link that lets
 * through under half of what is sent is a bottleneck (a collapse) and is backed off from
 * at what arrived. A cut from the sender's own rate with everything arriving (above) is
 * left as it is. */
#define DELIVERED_MOST 0.5

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}

int cq_cc_init(cq_cc_t *cc, const cq_cc_config_t *cfg) {
    if (cfg->min_bps == 0 || cfg->min_bps > cfg->start_bps || cfg->start_bps > cfg->max_bps)
        return CQ_EINVAL;
    memset(cc, 0, sizeof *cc);
    cc->cfg = *cfg;
    cq_sendhist_init(&cc->sent);
    cc->threshold_ms = THRESHOLD_START_MS;
    cc->overuse_ms = -1;
    cq_minwin_init(&cc->floor, CQ_CC_FLOOR_SECONDS);
    cq_minwin_init_slots(&cc->base, CQ_CC_BASE_SLOTS, CQ_CC_BASE_SLOT_US);
    cc->least_held_ms = HUGE_VAL;
    cq_minwin_init(&cc->late, CQ_CC_LATE_SECONDS);
    cq_minwin_init(&cc->acked_most, CQ_CC_MOST_SECONDS);
    cc->delay_bps = cfg->start_bps;
    cc->target_bps = cfg->start_bps;
    for (int i = 0; i < CQ_CC_PROBES; i++)
        cc->probe[i].id = -1;
    cc->initial_probe_id = -1;
    return 0;
}

void cq_cc_set_rtt(cq_cc_t *cc, uint32_t rtt_us) {
    cc->rtt_us = rtt_us;
    if (rtt_us != 0 && (cc->rtt_min_us == 0 || rtt_us < cc->rtt_min_us))
        cc->rtt_min_us = rtt_us;
}

/* How late feedback may come before the window is full (CQ_CC_WINDOW_LATE_MIN_US). */
static int64_t window_late_us(const cq_cc_t *cc, int64_t now_us) {
    if (cc->late_at_us == 0 || now_us - cc->late_at_us >= CQ_CC_LATE_SECONDS * 1000000ll)
        return CQ_CC_WINDOW_LATE_US; /* none lately (an outage): nothing learned holds */
    /* The window's most, read without adding to it (a copy takes the update; a lateness of
     * 0 is never the most unless it is all there is). */
    cq_minwin_t w = cc->late;
    double most = -cq_minwin_update(&w, 0, now_us);
    double late = 1.25 * most + 50000;
    if (late < CQ_CC_WINDOW_LATE_MIN_US)
        late = CQ_CC_WINDOW_LATE_MIN_US;
    return late > CQ_CC_WINDOW_LATE_US ? CQ_CC_WINDOW_LATE_US : (int64_t)late;
}

/* The oldest packet sent and not yet reported by feedback, or NULL. */
static const cq_sendhist_entry_t *oldest_in_flight(const cq_cc_t *cc) {
    const cq_sendhist_entry_t *e = cq_sendhist_get(&cc->sent, (uint16_t)(cc->reported_tseq + 1));
    return e != NULL && e->total > cc->reported_bytes ? e : NULL;
}

bool cq_cc_window_full(const cq_cc_t *cc, int64_t now_us) {
    if (cc->reported_bytes == 0 || cc->rtt_min_us == 0)
        return false;
    uint64_t window =
        (uint64_t)cc->target_bps * (cc->rtt_min_us + CQ_CC_WINDOW_QUEUE_US) / 8u / 1000000u;
    if (window < CQ_CC_WINDOW_MIN)
        window = CQ_CC_WINDOW_MIN;
    if (cc->sent_bytes - cc->reported_bytes > window)
        return true;
    const cq_sendhist_entry_t *oldest = oldest_in_flight(cc);
    return oldest != NULL &&
           now_us - oldest->send_us > (int64_t)cc->rtt_min_us + window_late_us(cc, now_us);
}

uint32_t cq_cc_target_bps(const cq_cc_t *cc) {
    return cc->target_bps;
}

static cq_cc_probe_t *probe_of(cq_cc_t *cc, int id) {
    for (int i = 0; i < CQ_CC_PROBES; i++)
        if (cc->probe[i].id == id)
            return &cc->probe[i];
    return NULL;
}

void cq_cc_on_sent(cq_cc_t *cc, uint16_t tseq, size_t bytes, int64_t now_us, int probe) {
    cq_sendhist_add(&cc->sent, tseq, bytes, now_us, probe);
    cc->sent_bytes += bytes;
    cq_sendhist_find(&cc->sent, tseq)->total = cc->sent_bytes;
    cq_cc_probe_t *p = probe >= 0 ? probe_of(cc, probe) : NULL;
    if (p == NULL)
        return;
    if (p->packets_sent == 0)
        p->first_send_us = now_us;
    p->packets_sent++;
    p->last_send_us = now_us;
    p->bytes_sent += (uint32_t)bytes;
    p->last_sent_bytes = (uint32_t)bytes;
}

/* ---- delay ----------------------------------------------------------------------------- */

static void update_threshold(cq_cc_t *cc, double trend, int64_t now_us) {
    if (cc->last_threshold_update_us == 0)
        cc->last_threshold_update_us = now_us;
    double a = fabs(trend);
    if (a > cc->threshold_ms + THRESHOLD_IGNORE_MS) {
        /* A spike (a route change, a burst of cross traffic): not what the threshold
         * should learn from. */
        cc->last_threshold_update_us = now_us;
        return;
    }
    double k = a < cc->threshold_ms ? K_DOWN : K_UP;
    double dt_ms = now_us > cc->last_threshold_update_us
                       ? (double)(now_us - cc->last_threshold_update_us) / 1000.0
                       : 0; /* reordered: an earlier arrival than the last group's */
    if (dt_ms > 100)
        dt_ms = 100;
    cc->threshold_ms += k * (a - cc->threshold_ms) * dt_ms;
    if (cc->threshold_ms < THRESHOLD_MIN_MS)
        cc->threshold_ms = THRESHOLD_MIN_MS;
    if (cc->threshold_ms > THRESHOLD_MAX_MS)
        cc->threshold_ms = THRESHOLD_MAX_MS;
    cc->last_threshold_update_us = now_us;
}

/* Judges the modified trend against the threshold; send_delta_ms is the time the groups
 * compared were sent apart, how long the trend has been seen. Returns true on overuse. */
static bool detect(cq_cc_t *cc, double trend, double send_delta_ms, int64_t now_us) {
    bool over = false;
    if (trend > cc->threshold_ms) {
        cc->overuse_ms = cc->overuse_ms < 0 ? send_delta_ms / 2 : cc->overuse_ms + send_delta_ms;
        cc->overuse_count++;
        /* Over for long enough, more than once, and not already falling back. */
        if (cc->overuse_ms > OVERUSE_MIN_MS && cc->overuse_count > 1 && trend >= cc->prev_trend) {
            cc->overuse_ms = 0;
            cc->overuse_count = 0;
            cc->usage = CQ_CC_OVERUSE;
            over = true;
        }
    } else if (trend < -cc->threshold_ms) {
        cc->overuse_ms = -1;
        cc->overuse_count = 0;
        cc->usage = CQ_CC_UNDERUSE;
    } else {
        cc->overuse_ms = -1;
        cc->overuse_count = 0;
        cc->usage = CQ_CC_NORMAL;
    }
    cc->prev_trend = trend;
    update_threshold(cc, trend, now_us);
    return over;
}

/* The least-squares slope of the smoothed delay over the window: the last
 * CQ_CC_TREND_WINDOW groups, or as many more (up to CQ_CC_TREND_MAX) as arrived within
 * TREND_SPAN_MS. When groups come every few milliseconds (sound at 50 packets a second
 * from each of several publishers, video paced out in 5 ms slices) twenty of them span a
 * tenth of a second, and a link that jitters by milliseconds packet to packet gives so
 * short a fit a steep slope by chance alone: a congestion signal that is not there. */
static double slope(const cq_cc_t *cc) {
    unsigned newest = (cc->trend_next + CQ_CC_TREND_MAX - 1) % CQ_CC_TREND_MAX;
    unsigned k = 0;
    while (k < cc->trend_n) {
        unsigned i = (newest + CQ_CC_TREND_MAX - k) % CQ_CC_TREND_MAX;
        if (k >= CQ_CC_TREND_WINDOW && cc->trend_x[newest] - cc->trend_x[i] > TREND_SPAN_MS)
            break;
        k++;
    }
    double sx = 0, sy = 0;
    for (unsigned j = 0; j < k; j++) {
        unsigned i = (newest + CQ_CC_TREND_MAX - j) % CQ_CC_TREND_MAX;
        sx += cc->trend_x[i];
        sy += cc->trend_y[i];
    }
    double mx = sx / k, my = sy / k, num = 0, den = 0;
    for (unsigned j = 0; j < k; j++) {
        unsigned i = (newest + CQ_CC_TREND_MAX - j) % CQ_CC_TREND_MAX;
        num += (cc->trend_x[i] - mx) * (cc->trend_y[i] - my);
        den += (cc->trend_x[i] - mx) * (cc->trend_x[i] - mx);
    }
    return den > 0 ? num / den : 0;
}

/* One more delay variation between two groups: d = arrival delta - send delta. */
static bool add_delta(cq_cc_t *cc, double d_ms, double send_delta_ms, int64_t arrival_us,
                      int64_t now_us) {
    if (cc->num_deltas < 1000)
        cc->num_deltas++;
    cc->accumulated_ms += d_ms;
    /* A plain mean over the first groups, so that a start's probes are judged with it. */
    cc->jitter_groups += cc->jitter_groups < JITTER_GAIN_GROUPS;
    /* Clipped: one difference across a queue let go (hundreds of milliseconds) is not the
     * link's jitter, and unclipped it voided every probe for the next half second. */
    double jd = fabs(d_ms) < JITTER_CLIP_MS ? fabs(d_ms) : JITTER_CLIP_MS;
    cc->jitter_ms += (jd - cc->jitter_ms) / cc->jitter_groups;
    /* Smoothing per group, as libwebrtc's, for groups SMOOTHING_GROUP_MS apart or more;
     * denser groups are smoothed as much per unit of time, or sound at 100 packets a
     * second would follow the link's jitter packet by packet. */
    double a = SMOOTHING;
    if (send_delta_ms > 0 && send_delta_ms < SMOOTHING_GROUP_MS)
        a = pow(SMOOTHING, send_delta_ms / SMOOTHING_GROUP_MS);
    cc->smoothed_ms = a * cc->smoothed_ms + (1 - a) * cc->accumulated_ms;
    if (cc->first_arrival_us == 0)
        cc->first_arrival_us = arrival_us;
    cc->trend_x[cc->trend_next] = (double)(arrival_us - cc->first_arrival_us) / 1000.0;
    cc->trend_y[cc->trend_next] = cc->smoothed_ms;
    cc->trend_next = (cc->trend_next + 1) % CQ_CC_TREND_MAX;
    if (cc->trend_n < CQ_CC_TREND_MAX)
        cc->trend_n++;
    double trend = cc->trend_n >= CQ_CC_TREND_WINDOW ? slope(cc) : 0;
    unsigned n = cc->num_deltas < MAX_DELTAS_GAIN ? cc->num_deltas : MAX_DELTAS_GAIN;
    (void)now_us;
    /* The threshold adapts on the receiver's clock, group by group, as GCC's does: on the
     * feedback's arrival every group of one report would share a time, and the first
     * would take the whole interval's step (with K_DOWN at 100 ms, past zero). */
    double queue = cc->smoothed_ms - cq_minwin_update(&cc->floor, cc->smoothed_ms, arrival_us);
    bool over = detect(cc, n * trend * TREND_GAIN, send_delta_ms, arrival_us);
    double gate = 2 * cc->queue_typical_ms;
    gate = gate < QUEUE_GATE_MIN_MS   ? QUEUE_GATE_MIN_MS
           : gate > QUEUE_GATE_MAX_MS ? QUEUE_GATE_MAX_MS
                                      : gate;
    /* This group's own delay over the base, unsmoothed: the least of a loss window's says
     * whether a queue held every packet of it (LOSS_LINK_RUN). */
    double held = cc->accumulated_ms - cq_minwin_update(&cc->base, cc->accumulated_ms, arrival_us);
    if (held < cc->least_held_ms)
        cc->least_held_ms = held;
    if (cc->usage != CQ_CC_OVERUSE && send_delta_ms > 0) {
        double k = send_delta_ms * 1000.0 / QUEUE_TYPICAL_US;
        k = k > 1 ? 1 : k;
        cc->queue_typical_ms += k * (queue - cc->queue_typical_ms);
    }
    if (over && queue < gate) {
        cc->usage = CQ_CC_NORMAL;
        return false;
    }
    return over;
}

/* A packet that arrived, in send order: closes the group before it when it starts a new
 * one. Returns true when the detector saw overuse. */
static bool group_packet(cq_cc_t *cc, int64_t send_us, int64_t arrival_us, uint32_t bytes,
                         int64_t now_us) {
    cq_cc_group_t *g = &cc->group;
    if (!g->open) {
        *g = (cq_cc_group_t){true, send_us, send_us, arrival_us, bytes};
        return false;
    }
    if (send_us < g->first_send_us)
        return false; /* older than the group: reordered, its delay says nothing new */
    if (send_us - g->first_send_us <= GROUP_US) {
        g->last_send_us = max64(g->last_send_us, send_us);
        g->last_arrival_us = max64(g->last_arrival_us, arrival_us);
        g->bytes += bytes;
        return false;
    }
    bool over = false;
    if (cc->prev_group.open) {
        double send_delta = (double)(g->last_send_us - cc->prev_group.last_send_us) / 1000.0;
        double arrival_delta =
            (double)(g->last_arrival_us - cc->prev_group.last_arrival_us) / 1000.0;
        over = add_delta(cc, arrival_delta - send_delta, send_delta, g->last_arrival_us, now_us);
    }
    cc->prev_group = *g;
    *g = (cq_cc_group_t){true, send_us, send_us, arrival_us, bytes};
    return over;
}

/* ---- throughput ------------------------------------------------------------------------ */

static void acked_add(cq_cc_t *cc, int64_t send_us, int64_t arrival_us, uint32_t bytes) {
    cc->acked[cc->acked_next] = (cq_cc_acked_t){send_us, arrival_us, bytes};
    /* A gap of a window or more (an outage, a long silence), or an arrival clock that went
     * back, starts the measure over: what arrives next spans less than a window again. */
    if (cc->acked_first_us == 0 || arrival_us - cc->acked_last_us > ACKED_WINDOW_US ||
        cc->acked_last_us - arrival_us > ACKED_WINDOW_US) {
        cc->acked_first_us = arrival_us;
        cc->acked_last_us = arrival_us;
    }
    cc->acked_last_us = max64(cc->acked_last_us, arrival_us);
    cc->acked_next = (cc->acked_next + 1) % CQ_CC_ACKED_MAX;
    if (cc->acked_n < CQ_CC_ACKED_MAX)
        cc->acked_n++;
}

/* What arrived over the last half second of arrivals, and the same packets' rate as they
 * were sent (each 0 when it took under a tenth of a second). The arrival rate is measured
 * between the mean arrival times of the first and the last few packets in send order
 * (ACKED_EDGE_PACKETS), not between the earliest and the latest arrival: a link that
 * delays each packet by its own +-40 ms (3G) puts those two about 80 ms further apart
 * than the link's rate does, and over half a second a full 256 kbit/s link read 200-210
 * kbit/s. Every overuse backed off from that, and the estimate sat at 150-170 kbit/s
 * while 230-260 arrived. The ring is in feedback order, which is send order but for a
 * packet first reported lost and then as arrived: a few such move an edge by a packet. */
static void acked_rates(const cq_cc_t *cc, uint32_t *arrived_bps, uint32_t *sent_bps) {
    int64_t latest = 0;
    for (unsigned i = 0; i < cc->acked_n; i++)
        latest = max64(latest, cc->acked[i].arrival_us);
    unsigned oldest = (cc->acked_next + CQ_CC_ACKED_MAX - cc->acked_n) % CQ_CC_ACKED_MAX;
    unsigned n = 0;
    int64_t first_send = INT64_MAX, last_send = INT64_MIN;
    uint64_t bytes = 0, first_sent_bytes = 0;
    for (unsigned k = 0; k < cc->acked_n; k++) {
        const cq_cc_acked_t *a = &cc->acked[(oldest + k) % CQ_CC_ACKED_MAX];
        if (a->arrival_us < latest - ACKED_WINDOW_US)
            continue;
        n++;
        bytes += a->bytes;
        if (a->send_us < first_send) {
            first_send = a->send_us;
            first_sent_bytes = a->bytes;
        }
        last_send = max64(last_send, a->send_us);
    }
    int64_t send_span = n ? last_send - first_send : 0;
    *sent_bps = send_span < ACKED_MIN_US
                    ? 0
                    : (uint32_t)((double)(bytes - first_sent_bytes) * 8e6 / (double)send_span);
    /* The first and the last edge packets' mean arrival, and their bytes. */
    unsigned edge = n / 4 < ACKED_EDGE_PACKETS ? n / 4 : ACKED_EDGE_PACKETS;
    edge = edge ? edge : 1;
    double t_first = 0, t_last = 0;
    uint64_t b_first = 0, b_last = 0;
    unsigned j = 0;
    for (unsigned k = 0; k < cc->acked_n; k++) {
        const cq_cc_acked_t *a = &cc->acked[(oldest + k) % CQ_CC_ACKED_MAX];
        if (a->arrival_us < latest - ACKED_WINDOW_US)
            continue;
        if (j < edge) {
            t_first += (double)a->arrival_us;
            b_first += a->bytes;
        }
        if (j >= n - edge) {
            t_last += (double)a->arrival_us;
            b_last += a->bytes;
        }
        j++;
    }
    double span = n >= 2 ? (t_last - t_first) / edge : 0;
    double between = (double)bytes - (double)(b_first + b_last) / 2;
    *arrived_bps = span < ACKED_MIN_US ? 0 : (uint32_t)(between * 8e6 / span);
}

/* ---- rate control ---------------------------------------------------------------------- */

static uint32_t response_time_us(const cq_cc_t *cc) {
    return (cc->rtt_us ? cc->rtt_us : 200000u) + 100000u;
}

/* Where the last decreases happened: their average and variance, in kbit/s, normalised
 * by the average as libwebrtc's LinkCapacityEstimator does. */
static void capacity_update(cq_cc_t *cc, double kbps) {
    if (cc->capacity_kbps <= 0) {
        cc->capacity_kbps = kbps;
        cc->capacity_var = 0.4;
        return;
    }
    cc->capacity_kbps = 0.95 * cc->capacity_kbps + 0.05 * kbps;
    double norm = cc->capacity_kbps > 1 ? cc->capacity_kbps : 1;
    double e = cc->capacity_kbps - kbps;
    cc->capacity_var = 0.95 * cc->capacity_var + 0.05 * e * e / norm;
    if (cc->capacity_var < 0.4)
        cc->capacity_var = 0.4;
    if (cc->capacity_var > 2.5)
        cc->capacity_var = 2.5;
}

static double capacity_dev_kbps(const cq_cc_t *cc) {
    return sqrt(cc->capacity_var * cc->capacity_kbps);
}

/* The share of packets the link loses on its own, over the last seconds (LOSS_BURST_US):
 * 0 until BACKGROUND_MIN_PACKETS were reported, and 0 when it is heavy (the loss bound's
 * to judge). It cannot tell a link's loss from a queue's overflow: a few packets a
 * keyframe's burst lost at a full queue count as the link's for those seconds, and the
 * next cut is that much shallower (the loss bound answers heavy overflow; light overflow
 * comes with the overuse that cuts again). Telling them apart by whether a queue stood
 * when the loss happened is not done. */
static double background_loss(const cq_cc_t *cc) {
    if (cc->burst_reported < BACKGROUND_MIN_PACKETS)
        return 0;
    double p = cc->burst_lost / cc->burst_reported;
    return p < LOSS_HIGH ? p : 0;
}

static void delay_control(cq_cc_t *cc, bool overuse, int64_t now_us) {
    if (cc->last_increase_us == 0)
        cc->last_increase_us = now_us;
    if (overuse) {
        /* What the link carried of what was sent: what arrived, and the share of it that
         * the link's own loss took on the way. Whether that loss struck before the
         * bottleneck (the queue carried the rest, and the sender may send that much more)
         * or after it (the queue carried it all), the rate the link takes without a queue
         * is what arrived over (1 - loss). Backing off from what arrived alone cut 5 %
         * deeper on a link losing 5 %, and the saw went 0.85 x 0.95 of the link to past it:
         * wider than +-15 % (test_cc_steady_with_random_loss, on most seeds).
         *
         * What arrived is a measure only once arrivals have spanned a whole window: over
         * the first half second it is mostly what the sender had not sent yet (sound
         * alone, then the first frames), and a start's first overuse (its probes filling
         * the queue) cut a 256 kbit/s 3G link's estimate from 300 to 110 kbit/s, where
         * the overuses that followed held it for seconds while 180-250 arrived, and the
         * relay's receivers lost their pictures. Until then the estimate itself is backed
         * off from, once per response time, as libwebrtc does before it has a throughput. */
        bool whole = cc->acked_last_us - cc->acked_first_us >= ACKED_WINDOW_US;
        if (!whole) {
            if (cc->last_decrease_us != 0 &&
                now_us - cc->last_decrease_us < (int64_t)response_time_us(cc))
                return;
            cc->delay_bps *= BETA;
            cc->last_decrease_us = now_us;
            cc->last_increase_us = now_us;
            cc->overuses++;
            return;
        }
        double base =
            cc->acked_bps ? (double)cc->acked_bps / (1 - background_loss(cc)) : cc->delay_bps;
        double from = base;
        bool as_sent =
            cc->acked_sent_bps != 0 && cc->acked_bps >= DELIVERED_ALL * cc->acked_sent_bps;
        if (cc->link_us != 0 && now_us - cc->link_us <= LINK_RECENT_US &&
            base < LINK_APP_LIMITED * cc->link_bps && as_sent)
            from = cc->link_bps;
        bool loss_bound = cc->loss_bps > 0 && cc->loss_bps < cc->delay_bps;
        if (!loss_bound && as_sent && from < LINK_APP_LIMITED * cc->delay_bps) {
            if (cc->last_decrease_us != 0 &&
                now_us - cc->last_decrease_us < (int64_t)response_time_us(cc))
                return; /* one cut per response time: the spike is already answered */
            from = cc->delay_bps;
        } else if (cc->acked_bps != 0) {
            if (!loss_bound && cc->acked_sent_bps != 0 &&
                cc->acked_bps >= DELIVERED_MOST * cc->acked_sent_bps &&
                base < LINK_APP_LIMITED * cc->delay_bps) {
                cq_minwin_t w = cc->acked_most; /* read without adding: a copy takes it */
                double most = -cq_minwin_update(&w, 0, now_us) / (1 - background_loss(cc));
                if (most > from)
                    from = most;
            }
            cc->carried_bps = (uint32_t)from; /* a bottleneck: this is what it let through */
            cc->carried_us = now_us;
        }
        double next = BETA * from;
        if (next > cc->delay_bps)
            next = cc->delay_bps; /* a decrease never raises the rate */
        capacity_update(cc, base / 1000.0);
        cc->delay_bps = next;
        cc->last_decrease_us = now_us;
        cc->last_increase_us = now_us;
        cc->overuses++;
        return;
    }
    if (cc->usage == CQ_CC_UNDERUSE) {
        /* A queue is draining: hold until it has, or the rate would chase it. */
        cc->last_increase_us = now_us;
        return;
    }
    double dt_s = (double)(now_us - cc->last_increase_us) / 1e6;
    if (dt_s > 1)
        dt_s = 1;
    cc->last_increase_us = now_us;
    double kbps = cc->delay_bps / 1000.0;
    if (cc->capacity_kbps > 0 && kbps > cc->capacity_kbps + 3 * capacity_dev_kbps(cc))
        cc->capacity_kbps = 0; /* far past the old congestion point: it moved */
    double next;
    if (cc->capacity_kbps > 0 && kbps > cc->capacity_kbps - 3 * capacity_dev_kbps(cc)) {
        /* Near where congestion was: a packet per response time. */
        double per_s = PACKET_BITS * 1e6 / response_time_us(cc);
        /* Past it, a third of that: the climb goes on until the queue it builds shows in
         * the trend, 0.5-1 s later on a link whose loss makes the delay jitter, and at a
         * packet per response time (53 kbit/s a second at 80 ms) that overshot a 512
         * kbit/s link by 10-15 %; each overshoot is cut back from, and the saw spanned
         * more than +-15 % (test_cc_steady_with_random_loss: held on 24 of 40 seeds at
         * the full rate, 34 at half, 37 at a third). Well past it (3 deviations), the
         * link has moved and the climb is multiplicative again. */
        if (kbps > cc->capacity_kbps)
            per_s /= 3;
        next = cc->delay_bps + (per_s > 4000 ? per_s : 4000) * dt_s;
    } else {
        next = cc->delay_bps * pow(INCREASE_PER_S, dt_s);
    }
    /* Not much past what the sender actually gets through: an encoder held below the
     * link would otherwise let the estimate grow without proof. */
    if (cc->acked_bps > 0) {
        double limit = THROUGHPUT_GAIN * cc->acked_bps + THROUGHPUT_PLUS;
        if (next > limit)
            next = cc->delay_bps > limit ? cc->delay_bps : limit;
    }
    cc->delay_bps = next;
}

static void loss_control(cq_cc_t *cc, int64_t now_us) {
    if (cc->loss_window_start_us == 0)
        cc->loss_window_start_us = now_us;
    if (cc->reported_window < LOSS_MIN_COUNT || now_us - cc->loss_window_start_us < LOSS_WINDOW_US)
        return;
    if (cc->reported_window == 0)
        return;
    double window = (double)cc->lost_window / cc->reported_window;
    cc->loss_fraction = window;
    cc->judged_lost[cc->judged_next] = cc->lost_window;
    cc->judged_reported[cc->judged_next] = cc->reported_window;
    cc->judged_at_us[cc->judged_next] = now_us;
    cc->judged_next = (cc->judged_next + 1) % CQ_CC_LOSS_WINDOWS;
    uint32_t lost = 0, reported = 0;
    for (unsigned k = 0; k < CQ_CC_LOSS_WINDOWS; k++) {
        unsigned i = (cc->judged_next + CQ_CC_LOSS_WINDOWS - 1 - k) % CQ_CC_LOSS_WINDOWS;
        if (k >= 2 && now_us - cc->judged_at_us[i] >= LOSS_JUDGE_US)
            break;
        lost += cc->judged_lost[i];
        reported += cc->judged_reported[i];
    }
    double p = (double)lost / reported;
    /* The link's own loss (LOSS_LINK_RUN): some packet of the window came through with
     * no queue ahead of it, and the seconds before lost little. */
    double queued_ms = LOSS_QUEUE_JITTERS * cc->jitter_ms;
    if (queued_ms < QUEUE_GATE_MIN_MS)
        queued_ms = QUEUE_GATE_MIN_MS;
    bool unqueued = cc->least_held_ms < queued_ms && cc->burst_reported > 0 &&
                    cc->burst_lost <= LOSS_LINK_MAX * cc->burst_reported;
    cc->least_held_ms = HUGE_VAL;
    double keep = exp(-(double)(now_us - cc->loss_window_start_us) / LOSS_BURST_US);
    cc->burst_lost = cc->burst_lost * keep + cc->lost_window;
    cc->burst_runs = cc->burst_runs * keep + cc->runs_window;
    cc->burst_reported = cc->burst_reported * keep + cc->reported_window;
    cc->burst_seen += cc->runs_window;
    cc->lost_window = cc->reported_window = cc->runs_window = 0;
    cc->loss_window_start_us = now_us;
    double dt_s = cc->last_loss_update_us ? (double)(now_us - cc->last_loss_update_us) / 1e6 : 0;
    if (dt_s > 2)
        dt_s = 2; /* a slow sender's windows are long: its bound climbs per second all the same */
    cc->last_loss_update_us = now_us;
    bool in_runs = cc->burst_runs > 0 && cc->burst_lost >= LOSS_LINK_RUN * cc->burst_runs;
    if (window > LOSS_HIGH && p > LOSS_HIGH && unqueued && in_runs) {
        cc->loss_bursts_passed++;
        return;
    }
    /* Heavy loss now and on average: a queue that overflowed once and has drained (the
     * delay signal already cut the rate) does not cut it again. */
    if (window > LOSS_HIGH && p > LOSS_HIGH) {
        if (now_us - cc->last_loss_decrease_us >= (int64_t)response_time_us(cc)) {
            double base = cc->loss_bps > 0 ? cc->loss_bps : (double)cc->target_bps;
            cc->loss_bps = base * (1 - 0.5 * window);
            cc->last_loss_decrease_us = now_us;
        }
        return;
    }
    if (cc->loss_bps > 0) {
        /* Light loss: the bound creeps up; none to speak of: it lets go, and the delay
         * signal (which has its own cut from the same congestion) leads again. A policer
         * that drops without queueing brings it back at its next heavy window. */
        cc->loss_bps *= pow(1.02, dt_s);
        if (window < LOSS_LOW || cc->loss_bps >= cc->delay_bps) {
            /* The delay signal grew on its own meanwhile, unproven: it starts from here. */
            if (cc->delay_bps > cc->loss_bps)
                cc->delay_bps = cc->loss_bps;
            cc->loss_bps = 0;
        }
    }
}

/* ---- probes ---------------------------------------------------------------------------- */

static void probe_arrived(cq_cc_t *cc, const cq_sendhist_entry_t *e, int64_t arrival_us) {
    cq_cc_probe_t *p = probe_of(cc, e->probe);
    if (p == NULL)
        return;
    if (p->packets_acked == 0 || arrival_us < p->first_arrival_us) {
        p->first_arrival_us = arrival_us;
        p->first_acked_bytes = e->bytes;
    }
    if (p->packets_acked == 0 || arrival_us > p->last_arrival_us)
        p->last_arrival_us = arrival_us;
    p->packets_acked++;
    p->bytes_acked += e->bytes;
}

/* What a cluster at rate_bps carries to last long enough to be read (PROBE_US). */
static uint32_t cluster_bytes(const cq_cc_t *cc, uint32_t rate_bps) {
    double read_us = (PROBE_JITTER_SPANS + 1) * cc->jitter_ms * 1000.0;
    double us = cc->jitter_groups >= JITTER_MIN_GROUPS && read_us > PROBE_US ? read_us : PROBE_US;
    if (us > PROBE_MAX_US)
        us = PROBE_MAX_US;
    return (uint32_t)((double)rate_bps * us / 8e6);
}

/* What a cluster that came in full says: whether the link carries its rate, and if not,
 * what it does carry. Nothing where its arrivals were bunched or squeezed by jitter.
 * Returns whether it found the link under its rate. */
static bool probe_read(cq_cc_t *cc, const cq_cc_probe_t *p, int64_t now_us) {
    int64_t send_span = p->last_send_us - p->first_send_us;
    int64_t recv_span = p->last_arrival_us - p->first_arrival_us;
    if (send_span <= 0 || recv_span <= 0 || p->packets_acked < 2)
        return false;
    double send_bps = (double)(p->bytes_sent - p->last_sent_bytes) * 8e6 / (double)send_span;
    double recv_bps = (double)(p->bytes_acked - p->first_acked_bytes) * 8e6 / (double)recv_span;
    double result = send_bps < recv_bps ? send_bps : recv_bps;
    if (recv_bps > PROBE_BUNCHED * send_bps) {
        cc->probes_bunched++;
        cc->probe_void_us = now_us;
        return false;
    }
    if ((double)recv_span < PROBE_JITTER_SPANS * cc->jitter_ms * 1000.0) {
        cc->probes_jittered++;
        cc->probe_void_us = now_us;
        return false;
    }
    bool under = recv_bps < PROBE_SATURATED * send_bps;
    if (under) {
        result = PROBE_UTILISATION * recv_bps; /* the link's, not the probe's */
        cc->link_bps = (uint32_t)recv_bps;
        cc->link_us = now_us;
        cc->carried_bps = cc->link_bps;
        cc->carried_us = now_us;
    }
    cc->probe_result_bps = (uint32_t)result;
    cc->probe_result_us = now_us;
    if (result > cc->delay_bps) {
        cc->delay_bps = result;
        cc->last_increase_us = now_us;
        if (cc->loss_bps > 0 && cc->loss_bps < result && cc->loss_fraction <= LOSS_HIGH)
            cc->loss_bps = 0;
    }
    return under;
}

/* A cluster enough of which has arrived (or that waited too long): the rate it went out
 * at and the rate it came in at say whether the link carries that much. */
static void probe_judge(cq_cc_t *cc, cq_cc_probe_t *p, int64_t now_us) {
    /* Sent whole, and most of what was planned reported arrived. */
    bool complete = p->packets_sent >= CQ_CC_PROBE_MIN_PACKETS &&
                    (uint64_t)p->bytes_sent * 10 >= (uint64_t)p->bytes_planned * 9 &&
                    p->packets_acked * 5 >= CQ_CC_PROBE_MIN_PACKETS * 4 &&
                    (uint64_t)p->bytes_acked * 5 >= (uint64_t)p->bytes_planned * 4;
    bool timed_out = now_us - p->started_us >= PROBE_TIMEOUT_US;
    if ((!complete || cc->jitter_groups < JITTER_MIN_GROUPS) && !timed_out)
        return;
    bool under = complete && probe_read(cc, p, now_us);
    /* The second goes unless the first showed the link under it. One void (bunched or
     * squeezed by a VSAT link's jitter) or cut short said nothing, and a VSAT viewer left
     * on the start's guess crept up from it for 8 s, then was cut to the lowest layer. */
    bool initial = p->id == cc->initial_probe_id;
    p->id = -1; /* judged, or lost for good */
    if (initial) {
        cc->initial_probe_id = -1;
        if (!under)
            cq_cc_request_probe(cc, cc->cfg.start_bps * INITIAL_PROBE_SECOND, now_us);
    }
}

bool cq_cc_probe_next(cq_cc_t *cc, int64_t now_us, cq_cc_cluster_t *out) {
    cq_cc_probe_t *slot = probe_of(cc, -1);
    if (slot == NULL)
        return false;
    uint32_t rate = 0;
    if (!cc->initial_probes_sent) {
        /* 3x the start, then 6x unless the first found the link under it (probe_judge): a link
         * several times the guess is found in two round trips rather than in the tens of
         * seconds that 8 % a second would take. */
        rate = cc->cfg.start_bps * INITIAL_PROBE_FIRST;
        cc->initial_probes_sent = true;
        cc->initial_probe_id = cc->next_probe_id;
    }
    if (rate == 0) {
        rate = cc->probe_requested_bps;
        cc->probe_requested_bps = 0;
    }
    if (rate == 0)
        return false;
    if (rate > cc->cfg.max_bps)
        rate = cc->cfg.max_bps;
    *slot = (cq_cc_probe_t){.id = cc->next_probe_id,
                            .rate_bps = rate,
                            .bytes_planned = cluster_bytes(cc, rate),
                            .started_us = now_us};
    cc->next_probe_id = (cc->next_probe_id + 1) % 32768;
    *out = (cq_cc_cluster_t){.rate_bps = rate, .bytes = slot->bytes_planned, .id = slot->id};
    return true;
}

unsigned cq_cc_cluster_packets(const cq_cc_cluster_t *cl, unsigned packet_bytes) {
    unsigned n = packet_bytes ? (unsigned)((cl->bytes + packet_bytes - 1) / packet_bytes) : 0;
    return n > CQ_CC_PROBE_MIN_PACKETS ? n : CQ_CC_PROBE_MIN_PACKETS;
}

void cq_cc_request_probe(cq_cc_t *cc, uint32_t rate_bps, int64_t now_us) {
    (void)now_us;
    if (rate_bps <= cc->target_bps)
        return;
    for (int i = 0; i < CQ_CC_PROBES; i++)
        if (cc->probe[i].id != -1)
            return;                     /* one at a time: two would measure each other */
    cc->probe_requested_bps = rate_bps; /* until cq_cc_probe_next hands it out */
}

void cq_cc_want(cq_cc_t *cc, uint32_t demand_bps, int64_t now_us) {
    bool asked = cc->want_asked_bps != 0;
    bool found = asked && cc->target_bps >= cc->want_asked_bps * WANT_FOUND;
    /* The wait after asking was set before the probe was judged, from the one before: once
     * this one found room, the next follows as soon as it is judged, not 4 s later, nor a
     * second (a collapse's return found 6.2 s after it at worst, 4.9 with this). One that
     * came in bunched or squeezed said nothing of the link, and a cluster sent as a
     * collapse ends comes in bunched (the slow link's queue let out at the fast rate); the
     * next 4 s later cost a receiver 4 s on its lowest layer. It is asked again a second
     * later, once: a link that bunches every cluster (VSAT) is not probed every second. */
    bool unread = asked && !found && !cc->want_reasked && cc->probe_void_us >= cc->want_at_us;
    if (found && cc->next_want_us > cc->want_at_us + WANT_CLIMB_US)
        cc->next_want_us = cc->want_at_us + WANT_CLIMB_US;
    if (unread && cc->next_want_us > cc->probe_void_us + WANT_AGAIN_US)
        cc->next_want_us = cc->probe_void_us + WANT_AGAIN_US;
    if (cc->target_bps >= demand_bps || now_us < cc->next_want_us)
        return;
    if (found)
        cc->want_interval_us = WANT_AGAIN_US;
    else if (unread)
        ; /* the same wait after it as after the one that said nothing */
    else if (asked)
        cc->want_interval_us =
            cc->want_interval_us * 2 > WANT_MAX_US ? WANT_MAX_US : cc->want_interval_us * 2;
    else
        cc->want_interval_us = WANT_FIRST_US;
    cc->want_reasked = unread;
    uint64_t rate = 2ull * cc->target_bps, cap = (uint64_t)demand_bps * 6 / 5;
    if (rate > cap)
        rate = cap;
    cc->want_asked_bps = (uint32_t)rate;
    cc->next_want_us = now_us + cc->want_interval_us;
    cc->want_at_us = now_us;
    cq_cc_request_probe(cc, (uint32_t)rate, now_us);
}

/* ---- feedback -------------------------------------------------------------------------- */

static void set_target(cq_cc_t *cc) {
    double t = cc->delay_bps;
    if (cc->loss_bps > 0 && cc->loss_bps < t)
        t = cc->loss_bps;
    if (t < cc->cfg.min_bps)
        t = cc->cfg.min_bps;
    if (t > cc->cfg.max_bps)
        t = cc->cfg.max_bps;
    if (cc->delay_bps > cc->cfg.max_bps)
        cc->delay_bps = cc->cfg.max_bps;
    if (cc->delay_bps < cc->cfg.min_bps)
        cc->delay_bps = cc->cfg.min_bps;
    cc->target_bps = (uint32_t)t;
}

/* A feedback came at now_us: how late, for the oldest packet it found in flight. */
static void note_lateness(cq_cc_t *cc, int64_t now_us) {
    const cq_sendhist_entry_t *oldest = oldest_in_flight(cc);
    if (cc->rtt_min_us == 0 || oldest == NULL)
        return;
    int64_t late = now_us - oldest->send_us - (int64_t)cc->rtt_min_us;
    if (late < 0)
        late = 0;
    if (late > (int64_t)CQ_CC_WINDOW_LATE_US)
        late = CQ_CC_WINDOW_LATE_US;
    cq_minwin_update(&cc->late, -(double)late, now_us);
    cc->late_at_us = now_us;
}

void cq_cc_on_feedback(cq_cc_t *cc, const cq_twcc_packet_t *pkts, size_t n, int64_t now_us) {
    cc->feedbacks++;
    note_lateness(cc, now_us);
    bool overuse = false;
    for (size_t i = 0; i < n; i++) {
        cq_sendhist_entry_t *e = cq_sendhist_find(&cc->sent, pkts[i].seq);
        if (e != NULL && e->total > cc->reported_bytes) {
            cc->reported_bytes = e->total; /* everything sent up to it is reported or gone */
            cc->reported_tseq = e->tseq;
        }
        if (e == NULL || e->acked)
            continue;
        if (!pkts[i].received) {
            /* Counted lost when first reported so; a later report of its arrival (it was
             * only late) still feeds delay and throughput below. */
            cc->reported_window++;
            cc->lost_window++;
            cc->packets_reported++;
            cc->packets_lost++;
            cc->last_loss_us = now_us;
            if (!cc->have_last_lost || pkts[i].seq != (uint16_t)(cc->last_lost_tseq + 1)) {
                cc->runs_window++;
                cc->loss_runs++;
            }
            cc->last_lost_tseq = pkts[i].seq;
            cc->have_last_lost = true;
            continue;
        }
        e->acked = true;
        cc->reported_window++;
        cc->packets_reported++;
        acked_add(cc, e->send_us, pkts[i].arrival_us, e->bytes);
        overuse |= group_packet(cc, e->send_us, pkts[i].arrival_us, e->bytes, now_us);
        if (e->probe >= 0)
            probe_arrived(cc, e, pkts[i].arrival_us);
    }
    acked_rates(cc, &cc->acked_bps, &cc->acked_sent_bps);
    if (cc->acked_bps != 0 && cc->acked_last_us - cc->acked_first_us >= ACKED_WINDOW_US)
        cq_minwin_update(&cc->acked_most, -(double)cc->acked_bps, now_us);
    delay_control(cc, overuse, now_us);
    loss_control(cc, now_us);
    for (int i = 0; i < CQ_CC_PROBES; i++)
        if (cc->probe[i].id >= 0)
            probe_judge(cc, &cc->probe[i], now_us);
    set_target(cc);
}

void cq_cc_stats(const cq_cc_t *cc, cq_cc_stats_t *out) {
    *out = (cq_cc_stats_t){.target_bps = cc->target_bps,
                           .delay_bps = (uint32_t)cc->delay_bps,
                           .loss_bps = (uint32_t)cc->loss_bps,
                           .acked_bps = cc->acked_bps,
                           .probe_bps = cc->probe_result_bps,
                           .probe_us = cc->probe_result_us,
                           .trend = cc->prev_trend,
                           .threshold_ms = cc->threshold_ms,
                           .usage = cc->usage,
                           .loss_fraction = cc->loss_fraction,
                           .loss_burst = cc->burst_seen >= LOSS_BURST_MIN_RUNS && cc->burst_runs > 0
                                             ? cc->burst_lost / cc->burst_runs
                                             : 0,
                           .feedbacks = cc->feedbacks,
                           .packets_reported = cc->packets_reported,
                           .packets_lost = cc->packets_lost,
                           .loss_runs = cc->loss_runs,
                           .overuses = cc->overuses,
                           .probes_bunched = cc->probes_bunched,
                           .probes_jittered = cc->probes_jittered,
                           .loss_bursts_passed = cc->loss_bursts_passed,
                           .last_cut_us = cc->last_decrease_us > cc->last_loss_decrease_us
                                              ? cc->last_decrease_us
                                              : cc->last_loss_decrease_us,
                           .carried_bps = cc->carried_bps,
                           .carried_us = cc->carried_us,
                           .last_loss_us = cc->last_loss_us};
}
