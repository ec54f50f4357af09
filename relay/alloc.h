/*
 * The allocator: how one receiver's downlink is shared among the publishers it receives.
 *
 * The relay's estimate of the downlink (cc/estimator.h) is split audio first: every
 * publisher's sound is taken off the top, whatever it costs, because a session that keeps
 * talking is a session that works. What is left goes to video in two passes: first every
 * stream gets its lowest option (layer 0 at its lowest frame rate), the active speaker's
 * or presenter's first, so that as many faces as fit stay on screen; then every stream
 * climbs layer 0's frame rates together up to CQ_ALLOC_FLOOR_TEMPORAL, so that they move;
 * then the priority streams climb as far as they fit, then the others climb together one
 * step at a time.
 * An option is a (spatial, temporal) pair; its cost is what the publisher's packets of
 * that layer up to that temporal layer measured over the last second.
 *
 * Hysteresis keeps it from flapping on an estimate that saws (GCC does by design):
 * - a step up needs CQ_ALLOC_UP_HEADROOM of room beyond the option's cost, and none
 *   happens within CQ_ALLOC_UP_HOLD_US of a step down of the same stream;
 * - a step to a larger picture must also fit the least budget of the last
 *   CQ_ALLOC_STEADY_SECONDS (the troughs of the saw): each spatial switch waits for a
 *   keyframe, which freezes the picture and costs the publisher more than a frame rate
 *   step, so it is taken only where it will hold;
 * - one stream at a time steps to a larger picture, and the next not before
 *   CQ_ALLOC_LARGER_GAP_US: each step brings a keyframe, and two at once on a 512 kbit/s
 *   rural radio link stood 116-126 ms in its queue ahead of every voice it carried;
 * - a stream whose lowest option does not fit (in what the streams that fit leave) is
 *   kept at it for CQ_ALLOC_PAUSE_AFTER_US, over the budget, and then paused (audio
 *   only); it resumes only when the lowest option fits with CQ_ALLOC_RESUME_HEADROOM, and
 *   not before CQ_ALLOC_PAUSE_MIN_US have passed.
 *
 * A layer the publisher stopped sending (nobody used it, so its encoder was switched off)
 * has no measured cost: it is priced from the layer below (CQ_ALLOC_LAYER_FACTOR times),
 * so a receiver can climb back to it and the publisher is asked to start it again.
 *
 * Pure: no I/O, no allocation, no clock (the caller passes the time), so it is tested
 * with numbers alone.
 */
#ifndef CQ_RELAY_ALLOC_H
#define CQ_RELAY_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc/minwin.h"

#define CQ_ALLOC_SPATIAL  3 /* simulcast layers (CQ_RELAY_MAX_LAYERS) */
#define CQ_ALLOC_TEMPORAL 3 /* VP8 temporal layers chasqui's encoders make */

/* Streams one receiver gets; more are left as they were (a session that large is a
 * broadcast, whose viewers receive one presenter). */
#define CQ_ALLOC_MAX_STREAMS     64

#define CQ_ALLOC_UP_HEADROOM     1.15
#define CQ_ALLOC_RESUME_HEADROOM 1.3
#define CQ_ALLOC_UP_HOLD_US      2000000u
#define CQ_ALLOC_PAUSE_MIN_US    3000000u
/* A larger picture that did not last CQ_ALLOC_LASTED_US before its stream stepped down to
 * a smaller one doubles how long the next larger picture waits after that step down
 * (CQ_ALLOC_UP_HOLD_US at first), up to CQ_ALLOC_LARGER_HOLD_MAX_US; one that lasted
 * brings the wait back to CQ_ALLOC_UP_HOLD_US, and so does a pause (a link that
 * collapsed, not an estimate that saws). Each larger picture is judged once, at the
 * first step down after it however many steps that descent takes, and the wait runs
 * from that step: steps within the smaller picture's own layer hold only their own 2 s.
 * An estimate that saws wider than the headroom (a 3G link's, 130-270 kbit/s on 256)
 * took each receiver's pictures up at every peak and down at the next cut: 22-37
 * spatial switches a minute over six streams on weak-3g-3, each a keyframe asked of a
 * publisher on a thin uplink, its 2-4 kB held up in that uplink's queue with the frames
 * behind it. */
#define CQ_ALLOC_LASTED_US          10000000u
#define CQ_ALLOC_LARGER_HOLD_MAX_US 16000000u
/* A stream is paused only once its lowest option has not fit for this long (counted once
 * its receiver's estimate has settled: cq_alloc_stream_t.settling): meanwhile it
 * keeps that option, over the budget. A pause lasts CQ_ALLOC_PAUSE_MIN_US and its picture
 * comes back at a keyframe, so a dip of the estimate shorter than this (the estimator's
 * cut and climb on a 3G link's jitter, or its start, whose probes fill the queue: 113
 * kbit/s a second into a 256 kbit/s link) froze a picture for 3.3-3.6 s in half of
 * weak-3g-3's runs. A link that collapses mid-session is still audio-only (or at its
 * lowest option, which collapse's target allows) within a second of its estimate
 * knowing it; in a receiver's first 4 s, not before 5. */
#define CQ_ALLOC_PAUSE_AFTER_US 1000000u
#define CQ_ALLOC_LAYER_FACTOR   3u
/* Longer than the estimate's saw on a link the relay fills: on radio-3's 512 kbit/s
 * links a cut came every 5-12 s, and a window of 3 s, missing the trough, let a receiver
 * step to a larger picture at each peak and back at the next cut: 14-43 spatial switches
 * in a minute's run (six streams), each a keyframe. With 8 s, 12-27 (three runs each), a
 * third fewer keyframes, and as many seconds at the larger picture. */
#define CQ_ALLOC_STEADY_SECONDS 8
#define CQ_ALLOC_LARGER_GAP_US  1000000u
/* Layer 0's temporal layers every stream takes, where they fit, before any takes a larger
 * picture: the base temporal layer alone is a quarter of the frame rate (2.5-4 pictures a
 * second), under the 5 issue 7 asks of the lowest layer, and one frame lost at it holds the
 * picture a second or more. On weak-3g-3's 256 kbit/s links a speaker's larger picture
 * beside another publisher's base temporal layer froze that one 1.6-2.0 s, two misses in
 * twelve minute runs; its next temporal layer costs a fraction of layer 0, itself a tenth
 * of the budget there. */
#define CQ_ALLOC_FLOOR_TEMPORAL 1
/* A larger picture that moves under CQ_ALLOC_MIN_FPS where layer 0 moves faster is not
 * offered (cq_alloc_stream_t.slow), for CQ_ALLOC_SLOW_HOLD_US since it was last seen so:
 * issue 7 asks 5 pictures a second of the lowest layer, and a publisher whose uplink
 * estimate could not prove a step up ran its upper layer at half its frame rate, libvpx
 * skipping most of the rest: on weak-3g-3 both its receivers took that layer at 4.2
 * pictures a second for 50 s while its layer 0 made 10.8. Stopped (nobody takes it), the
 * layer is not measured; the hold keeps it from being offered, started and found slow
 * again every few seconds, a keyframe each way. */
#define CQ_ALLOC_MIN_FPS      5u
#define CQ_ALLOC_SLOW_HOLD_US 20000000u

/* What a stream gets: a spatial layer and the highest temporal layer, or paused. */
typedef struct {
    int8_t spatial; /* -1: paused (audio only) */
    uint8_t temporal;
} cq_alloc_choice_t;

typedef struct {
    /* In: set by the caller before each run. */
    uint32_t audio_bps; /* what its sound costs (0: none) */
    unsigned layers;    /* spatial layers it publishes (0: no video) */
    /* rate_bps[s][t]: forwarding layer s up to temporal layer t, bit/s; 0: not measured
     * (the layer is not arriving). Cumulative in t. */
    uint32_t rate_bps[CQ_ALLOC_SPATIAL][CQ_ALLOC_TEMPORAL];
    int max_spatial;       /* the subscriber's own limit; -1: it wants no video of this one */
    unsigned max_temporal; /* its limit on the temporal layer */
    bool priority;         /* the active speaker or the presenter */
    /* Bit s: layer s is too slow to offer (CQ_ALLOC_MIN_FPS), and so is every layer above
     * it; the caller measures and holds it. */
    uint8_t slow;
    /* The receiver's estimate is still finding its link (its first seconds): a lowest
     * option that does not fit is kept, not paused. A start's probes fill the link's queue
     * and its first cuts overshoot (a 256 kbit/s 3G link estimated at 110-140 kbit/s 1-2
     * s in, 180-200 a few seconds later): every pause weak-3g-3 still had came 1.4-3.7 s
     * after the start. */
    bool settling;

    /* Kept between runs (start with cq_alloc_stream_init). */
    cq_alloc_choice_t choice;
    uint64_t paused_us;  /* when it was paused; 0 while not */
    uint64_t short_us;   /* since when its lowest option has not fit; 0: it fits */
    uint64_t down_us;    /* its last step down; 0: none */
    uint64_t larger_us;  /* its last step to a larger picture (a resume too); 0: none */
    uint64_t smaller_us; /* its last step down to a smaller picture, or pause; 0: none */
    /* How long after smaller_us a larger picture waits (0: CQ_ALLOC_UP_HOLD_US; it grows
     * as CQ_ALLOC_LASTED_US says). */
    uint32_t larger_hold_us;
    uint32_t cost_bps; /* what its choice costs, as priced in the last run */
    /* The last run had a measured price for it, so its choice is what is forwarded (the
     * caller forwards the top layer until then): a first price places it where it fits,
     * not one larger picture at a time. */
    bool priced;
} cq_alloc_stream_t;

/* A stream never allocated yet: it starts at its lowest option, not paused. */
void cq_alloc_stream_init(cq_alloc_stream_t *s);

typedef struct {
    uint32_t audio_bps; /* taken off the top */
    uint32_t video_bps; /* what the choices cost */
    /* The budget a step up of the first stream that could not take one would need (so
     * the caller can probe the downlink for it before it switches); 0: none wanted. */
    uint32_t probe_bps;
    /* What every stream at its top option (within its limits) and all the sound would
     * cost: the most this receiver could use. */
    uint32_t want_bps;
    unsigned paused; /* streams with video that got none */
    /* Kept between runs (zero it before the first): when a stream last stepped to a
     * larger picture; 0: never. */
    uint64_t larger_us;
} cq_alloc_result_t;

/* What a receiver could use, in the allocator's terms: every stream at its top with the
 * headroom a step up needs (CQ_ALLOC_UP_HEADROOM), and never under the blocked step's
 * own need (probe_bps); what its estimator is asked to probe for (cq_cc_want, over the
 * share of the estimate the caller allocates). Without the headroom an estimate that met
 * the bare cost asked for no more probes while a step, which needs the headroom, still
 * did not fit, and the estimate cannot grow on its own past 1.5 times what arrives: on
 * collapse a receiver's estimate sat at 241 kbit/s for the last 5 s of a run, on the
 * lowest layer. */
uint32_t cq_alloc_demand_bps(const cq_alloc_result_t *r);

/*
 * How fast a receiver's video leaves the relay's pacer: CQ_ALLOC_PACE_FACTOR times the
 * target, so that a keyframe clears the queue within a few frame times while the link's
 * own queue stays short; but no faster than the link carried when last seen full
 * (carried_bps, cq_cc_stats_t's; 0: unknown, or too long ago), unless the target itself
 * is higher. The target may stand above the link while the relay does not fill it (it
 * grows to 1.5 times what arrives): on radio-3's 512 kbit/s link a step up's keyframe
 * paced at 1.25 times a target of 572 stood 93-111 ms in the modem's queue, and the
 * sound's buffers held 140 ms for three seconds. Paced at the target, a keyframe leaves a
 * fifth slower; a link that has grown since is found by the target, which then paces.
 */
#define CQ_ALLOC_PACE_FACTOR 1.25
uint32_t cq_alloc_pace_bps(uint32_t target_bps, uint32_t carried_bps);

/* The steady budget: the least budget of the last CQ_ALLOC_STEADY_SECONDS, forgotten when
 * the budget jumps by more than CQ_ALLOC_PROBED_JUMP between two runs (only a probe moves
 * the estimate that fast: the link was just measured, and the troughs before it are no
 * longer what a larger picture must fit). A plain value. */
#define CQ_ALLOC_PROBED_JUMP 1.25
typedef struct {
    cq_minwin_t least;
    uint32_t last_bps;
} cq_alloc_steady_t;

void cq_alloc_steady_init(cq_alloc_steady_t *st);

/* Takes the budget of this run at now_us and returns the steady budget, this one included. */
uint32_t cq_alloc_steady_update(cq_alloc_steady_t *st, uint32_t budget_bps, uint64_t now_us);

/*
 * Shares budget_bps among streams s[0..n) (n <= CQ_ALLOC_MAX_STREAMS) at now_us: sets each one's
 * choice (a choice with video stays within the stream's limits and the layers it has) and fills
 * *out. steady_bps is the least budget of the last few seconds (the caller's window,
 * CQ_ALLOC_STEADY_SECONDS): a step to a larger picture must fit it as well.
 */
void cq_alloc_run(uint32_t budget_bps, uint32_t steady_bps, cq_alloc_stream_t *s, size_t n,
                  uint64_t now_us, cq_alloc_result_t *out);

#endif
