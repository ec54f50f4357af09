/*
 * How a telecentre spends its uplink (issue 7, "Adaptation at the client"): given the
 * uplink estimate (cc/estimator.h, from the relay's transport-wide feedback), the loss it
 * measured and the layers the relay says anyone uses (rtp/cqlu.h), it decides the Opus
 * bitrate, frame size and loss hint, which simulcast layers are encoded, at what bitrate
 * and at what share of the frame rate.
 *
 * Audio first: the voice is what keeps a session together, so its whole cost (Opus at 16
 * to 32 kbit/s by budget, the RED copies, the RTP/SRTP headers of every packet) is taken
 * off the top; on a very thin uplink its packets grow to 40 or 60 ms, which halves or
 * thirds the header cost, and so they do while loss calls for two RED copies. On an
 * uplink that thin the packet before is not repeated either (CQ_RATEALLOC_RED_MIN_BPS),
 * unless the loss calls for deep copies. While feedback has
 * stopped keeping up (the congestion window is full: a link that collapsed, which the
 * estimate learns of only a second or more later) sound is planned as for the thinnest
 * link (CQ_RATEALLOC_STALLED_BPS). Video gets
 * CQ_RATEALLOC_VIDEO_SHARE of what is left (repairs, RTCP and the encoder's own overshoot need the
 * rest), split across the layers lowest first in proportions 1:3:9 (1:3 for two) of the configured
 * maximum.
 *
 * The relay may also set a ceiling on the lowest layer (CQLU's, rtp/cqlu.h): what its
 * weakest receiver's downlink leaves each stream. Layer 0 is encoded within it (never
 * below CQ_RATEALLOC_FLOOR_KBPS), so that the receivers who can take only the lowest
 * layer get all of its frames, not its base temporal layer or a paused picture.
 *
 * Which layers: those the relay says are used (layer 0 always, so a subscriber that
 * arrives finds a picture at once and the relay always has a layer to fall back on; a
 * publisher nobody watches sends only it), the lowest first, while their minimums fit.
 * Frame rate goes before resolution: before the top layer is dropped it runs at 2/3 of
 * the frame rate, then 1/2; layer 0 alone goes down the same way.
 *
 * Hysteresis: a step down happens at once (the link is full now); a step up only when
 * the better choice fits with CQ_RATEALLOC_UP_HEADROOM to spare for CQ_RATEALLOC_UP_HOLD_US
 * without a break, so an estimate that saws around a layer's need does not switch it on
 * and off. The same holds for the audio frame size. A change of the layers used (a CQLU)
 * takes effect at once: the relay does not flap.
 *
 * Proof: an estimate can run ahead of the link while the sender is held below it (the
 * estimator lets the target grow to 1.5 times what arrived), so no step up of the video,
 * held or at once, is taken on the estimate alone: it waits for a probe cluster judged
 * since the better choice began to fit that carried what that choice needs, and asks for
 * one meanwhile (plan.probe_bps). A probe that carried less sends the step back to its
 * hold. On the
 * collapse profile, a 64 kbit/s uplink whose estimate wandered to 80-90 kbit/s turned the
 * second layer on 14 s into the collapse, and the link's queue held its frames.
 *
 * Pure: no I/O, no allocation, no clock (the caller passes the time).
 */
#ifndef CQ_CLIENT_RATEALLOC_H
#define CQ_CLIENT_RATEALLOC_H

#include <stdbool.h>
#include <stdint.h>

#include "cc/minwin.h"

#define CQ_RATEALLOC_MAX_LAYERS  3
#define CQ_RATEALLOC_VIDEO_SHARE 0.85
#define CQ_RATEALLOC_UP_HEADROOM 1.2
#define CQ_RATEALLOC_UP_HOLD_US  2000000
/* A probe proves a step up when it carried this times what the step needs (the uplink
 * rate at which the better choice fits, sound included); it is asked at
 * CQ_RATEALLOC_PROOF_ASK times that, since it cannot carry more than it was sent at. */
#define CQ_RATEALLOC_PROOF_MARGIN 1.1
#define CQ_RATEALLOC_PROOF_ASK    1.25
/* The least a layer gets at its full frame rate: a share of its maximum, and never below
 * what libvpx is configured with at all. */
#define CQ_RATEALLOC_MIN_SHARE  0.35
#define CQ_RATEALLOC_FLOOR_KBPS 20
/* Opus by budget: this share of the estimate, within [16, 32] kbit/s. */
#define CQ_RATEALLOC_AUDIO_SHARE   0.06
#define CQ_RATEALLOC_AUDIO_MIN_BPS 16000
#define CQ_RATEALLOC_AUDIO_MAX_BPS 32000
/* The loss sound is protected against (Opus FEC, RED copies): the measured loss averaged
 * over about this long. Loss in bursts (a 3G link) leaves many windows of the estimator
 * with none at all and a few with a lot; protection that followed each window would be
 * off when the next burst comes, and one that jumped with each would protect a radio
 * link's random 2 % as if it were a 3G link's bursts. */
#define CQ_RATEALLOC_LOSS_US 5000000
/* Estimates under these send 40 ms and 60 ms audio packets. */
#define CQ_RATEALLOC_AUDIO_40MS_BPS 100000
#define CQ_RATEALLOC_AUDIO_60MS_BPS 50000
/* Deep RED (two copies of every packet, on a link losing 4 % or more in bursts) triples
 * Opus's bytes and adds a RED header per copy, 50 times a second: one voice cost 57-67
 * kbit/s on a 256 kbit/s 3G link, and two voices left the receivers no room for a
 * picture (docs/E2E.md). While it is on, packets are at least 40 ms (half the headers)
 * and Opus may go down to this instead of CQ_RATEALLOC_AUDIO_MIN_BPS: a voice at 12
 * kbit/s with its copies is better heard than one at 16 kbit/s whose picture stops. */
#define CQ_RATEALLOC_DEEP_FRAME_MS 40
#define CQ_RATEALLOC_DEEP_MIN_BPS  12000
/* Deep RED only where the loss comes in bursts: at least this many packets lost in a row
 * on average (cq_cc_stats_t.loss_burst). Random loss (rural radio's 2 %, which a few
 * seconds' average puts over 3 % now and then) loses one packet at a time, and the copy
 * of the packet just before rebuilds it; deep copies there only add their span, 80-160 ms,
 * to every receiver's jitter buffer (radio-3's mouth to ear went from 180 to 340 ms while
 * they were on). */
#define CQ_RATEALLOC_DEEP_BURST 1.5
/* ... and the loss averaged to this (per cent) or more: client/sender.c says why. */
#define CQ_RATEALLOC_DEEP_LOSS_PCT 4
/* Under this estimate the packet before is not repeated (lean RED: the primary alone):
 * the copy costs as much as the voice, and on a link this thin the sound's own bytes are
 * most of what it carries; Opus's in-band FEC still covers a lost packet, at a fraction
 * of the cost. Deep RED, where the loss calls for it, is kept. The copy comes back once
 * the estimate reaches this times CQ_RATEALLOC_UP_HEADROOM. On the collapse profile (1
 * Mbit/s to 64) the voice with its copy took 45 of the 64 kbit/s: the modem's queue,
 * filled before feedback showed the collapse, drained at 19 kbit/s and held the sound
 * back 1.5 s for ten seconds. */
#define CQ_RATEALLOC_RED_MIN_BPS 100000
/* A room the relay tells for our sound (CQLU) is a receiver's budget for this one voice,
 * not an uplink that video shares too: under this it also drops RED's copy, as a thin
 * uplink does; above it the copy the loss calls for still fits the room, and only Opus's
 * bitrate and the packet size follow it. On weak-3g-3 rooms of 70-115 kbit/s came with
 * 5 % loss in bursts, where a voice without its copy is heard broken. */
#define CQ_RATEALLOC_ROOM_LEAN_BPS 64000
/* While the congestion window is full (cc/estimator.h: feedback stopped keeping up with
 * what is sent, as when a link collapses, and the estimate does not know it yet) sound is
 * planned as for an estimate of this at most: Opus at its least, 60 ms packets, lean RED.
 * The estimate itself learns of a collapse only when feedback that crossed the collapsed
 * queue arrives, a second or more later. */
#define CQ_RATEALLOC_STALLED_BPS 40000
/* ... once the window has been full this long. One feedback lost on the way (a rural
 * radio link loses 2 % of them) fills it until the next comes, 100 ms later; planned
 * lean at once, a healthy radio link's sound went to 60 ms packets for seconds, and every
 * receiver's jitter buffer waited 60 ms more for the copies that span (radio-3's mouth to
 * ear p95 at 255 ms against its 230). A collapsed link keeps it full for seconds. */
#define CQ_RATEALLOC_STALL_US 150000
/* The base layer protected (each TL0 packet of video but keyframes sent twice, the copy
 * as RTX right behind it: client/sender.h) on an uplink whose round trip is this long and
 * that lost a packet in the last CQ_RATEALLOC_PROTECT_HOLD_US, as the relay decides for
 * its downlinks. (It followed the loss averaged over 5 s, on from 0.2 %: VSAT's 1 % comes
 * a packet in a half-second window of fifty, and that average took seconds to reach 0.2 %
 * and sank under it now and then; a TL0 packet sent bare then and lost froze every
 * receiver's picture for a round trip, 630-810 ms, in most `vsat-3` runs.) A loss the
 * start's probes cause counts too: on a long round trip the first 10 s may go protected,
 * which costs picture, not the link. A lost TL0 packet
 * stops every receiver's picture until its repair has crossed the uplink and back: on
 * VSAT 650-870 ms, and past a second when the repair is lost too. The copies cost TL0's
 * share of the video (CQ_VP8_TL0_SHARE_PCT), which the video's budget gives up as if
 * every layer's went twice, and a protected layer's maximum gives up too: with them it
 * costs no more than the telecentre was set to send. */
#define CQ_RATEALLOC_PROTECT_RTT_US  400000
#define CQ_RATEALLOC_PROTECT_HOLD_US 10000000
/* The round trip judged is the least of the last this many seconds: the path's. The one
 * the relay reports crosses this telecentre's downlink too, and a 3G link (160 ms there
 * and back) whose downlink queue stood 300-460 ms read over 400 and sent its base layer
 * twice, into the queue that made it long. */
#define CQ_RATEALLOC_PROTECT_RTT_SECONDS 10

typedef struct {
    unsigned layers;         /* simulcast layers configured, 0..3 (0: no video) */
    unsigned max_video_kbps; /* every layer at its best */
    bool audio;              /* audio is sent */
    unsigned audio_red;      /* RED copies configured (client/sender.h), 0..2 */
    unsigned audio_frame_ms; /* the configured size (20, 40, 60): never shorter */
    bool fec;                /* Opus in-band FEC allowed */
} cq_ratealloc_config_t;

typedef struct {
    uint32_t target_bps; /* the uplink estimate */
    double loss;         /* fraction of the uplink's packets lost, 0..1 */
    double loss_burst;   /* packets lost in a row, on average (0: too few runs yet) */
    uint8_t used;        /* CQLU: bit i, layer i is used */
    bool used_known;     /* false until a CQLU came: every layer counts as used */
    unsigned low_kbps;   /* CQLU: the most layer 0 may cost, kbit/s; 0: no ceiling */
    /* How long the congestion window has been full, 0: it is not (CQ_RATEALLOC_STALLED_BPS,
     * from CQ_RATEALLOC_STALL_US). */
    int64_t stalled_us;
    /* CQLU: the room the thinnest receiver has for our sound, kbit/s (0: none): sound is
     * planned as for an uplink of that much at most, since the relay cannot thin it.
     * Every receiver gets that sound meanwhile: Opus at its least, 40 or 60 ms packets and,
     * under CQ_RATEALLOC_ROOM_LEAN_BPS, no RED copy (Opus's in-band FEC still covers a
     * lost packet), while one telecentre's link is thin;
     * the relay could strip the copy for that receiver alone, but a voice with its copy
     * and 20 ms headers would still fill most of a collapsed link. */
    unsigned sound_kbps;
    /* The last probe cluster's result and when it was judged (cc/estimator.h's stats, on
     * the caller's clock); 0: none yet. */
    uint32_t probe_bps;
    int64_t probe_us;
    uint32_t rtt_us;      /* the uplink's round trip (the relay's receiver reports); 0: unknown */
    int64_t last_loss_us; /* when the uplink's feedback last reported a loss; 0: never */
} cq_ratealloc_input_t;

typedef struct {
    unsigned audio_bps;      /* Opus bitrate */
    unsigned audio_frame_ms; /* 20, 40 or 60 */
    unsigned audio_loss_pct; /* the loss protected against, rounded up (see below) */
    bool audio_bursty;       /* that loss comes in bursts: deep RED may be used */
    bool audio_red_lean;     /* no copy of the packet before (CQ_RATEALLOC_RED_MIN_BPS) */
    bool audio_fec;
    unsigned audio_cost_bps; /* what audio takes of the uplink, headers and RED included */
    uint8_t layers_on;       /* bit i: layer i is encoded (bit 0 whenever there is video) */
    unsigned layer_kbps[CQ_RATEALLOC_MAX_LAYERS]; /* of each layer on, 0 for the others */
    unsigned fps_pct[CQ_RATEALLOC_MAX_LAYERS];    /* share of the frame rate: 100, 67, 50 */
    unsigned video_kbps;                          /* the sum */
    /* A step up waits for proof: ask the estimator for a probe at this rate (0: none). */
    uint32_t probe_bps;
    /* Bit i: layer i's TL0 goes twice (CQ_RATEALLOC_PROTECT_RTT_US), for the layers on
     * that someone uses (a copy of one nobody takes only fills the uplink); video_kbps is
     * without the copies. */
    uint8_t protect_tl0;
} cq_ratealloc_plan_t;

/* All fields private. A plain value the caller owns. */
typedef struct {
    cq_ratealloc_config_t cfg;
    bool started;
    uint8_t used;            /* the layers used when the choice was made */
    unsigned low_kbps;       /* the ceiling on layer 0 of this update; 0: none */
    uint8_t on, top_step;    /* the choice in force: layers, frame-rate step of the top one */
    int64_t up_since_us;     /* a better choice fits with headroom since then */
    unsigned frame_ms;       /* audio frame size in force */
    int64_t frame_since_us;  /* a shorter frame fits with headroom since then; -1: none */
    bool red_lean;           /* in force: CQ_RATEALLOC_RED_MIN_BPS */
    unsigned open_audio_bps; /* what sound cost in the last plan not stalled */
    double protect_loss;     /* the loss protected against, 0..1 */
    int64_t protect_us;      /* when it was last brought up to date; 0: never */
    cq_minwin_t rtt_least;   /* the round trips given, over CQ_RATEALLOC_PROTECT_RTT_SECONDS */
    uint32_t rtt_base_us;    /* their least; 0: none yet */
} cq_ratealloc_t;

void cq_ratealloc_init(cq_ratealloc_t *a, const cq_ratealloc_config_t *cfg);

/* The plan for now_us (monotonic, microseconds): call every few hundred ms with the
 * latest estimate. Cannot fail. */
void cq_ratealloc_update(cq_ratealloc_t *a, const cq_ratealloc_input_t *in, int64_t now_us,
                         cq_ratealloc_plan_t *out);

/* The most a layer gets and the least it needs at its full frame rate, in kbit/s. */
unsigned cq_ratealloc_layer_max_kbps(const cq_ratealloc_config_t *cfg, unsigned layer);
unsigned cq_ratealloc_layer_min_kbps(const cq_ratealloc_config_t *cfg, unsigned layer);

#endif
