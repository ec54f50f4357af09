/*
 * The audio jitter buffer: Opus packets in, as the network delivers them; one frame out
 * each time the sound card wants one, with what to do about it: decode it, rebuild it from
 * the next packet's FEC, or conceal it. Its delay follows the measured jitter: as little
 * as a steady link allows (a conversation between valleys already carries VSAT delay),
 * as much as a jittery radio link needs, adjusted by one frame at a time. A backlog (a
 * modem's queue draining, sound held up by an outage) is caught up by dropping frames, at
 * most one in four (one in two when far behind), so that the delay comes back down rather
 * than stay seconds long after the link is well again.
 *
 * Frames are 20 ms (960 samples at 48 kHz) on the playout side; a packet of 40 or 60 ms
 * counts for two or three frames. A plain value the caller owns; no allocation, no I/O.
 */
#ifndef CQ_CLIENT_AJB_H
#define CQ_CLIENT_AJB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CQ_AJB_SLOTS   64   /* 1.28 s of 20 ms packets */
#define CQ_AJB_PAYLOAD 1275 /* the largest Opus frame */
#define CQ_AJB_FRAME   960  /* playout step: 20 ms at 48 kHz */
#define CQ_AJB_MIN_MS  40   /* never less delay than this */
#define CQ_AJB_MAX_MS  800  /* nor more */

typedef struct {
    bool used;
    uint32_t ts;
    uint16_t samples; /* what it decodes to: 960, 1920 or 2880 */
    uint16_t len;
    bool redundant; /* a RED copy: its own packet was lost (or is late) */
    uint8_t data[CQ_AJB_PAYLOAD];
} cq_ajb_slot_t;

#define CQ_AJB_HISTORY 128 /* transit times the delay is judged on: ~2.5 s */

typedef struct {
    cq_ajb_slot_t slot[CQ_AJB_SLOTS]; /* indexed by (ts / 960) % CQ_AJB_SLOTS */
    bool started;
    uint32_t play_ts;      /* RTP time of what plays next */
    uint16_t last_samples; /* duration of the last packet played, for a lost one's */
    int64_t first_arrival_us;
    uint32_t first_ts; /* of the first packet put: copies of earlier ones were never lost */
    int64_t transit[CQ_AJB_HISTORY];   /* arrival - ts of recent packets, in 48 kHz units */
    uint32_t red_span[CQ_AJB_HISTORY]; /* how far back their RED copies went, 48 kHz units */
    uint32_t pending_span;             /* of the copies put for the packet coming next */
    unsigned ntransit, next_transit;
    unsigned target_ms;
    unsigned hold_ms;      /* added for lip sync (cq_ajb_set_hold_ms) */
    unsigned since_shrink; /* frames played since one was dropped to catch up */
    /* The least delay over the frames of this look (LOOK_FRAMES), and what the last look
     * found to drop: how many frames, one in how many. */
    int64_t low_delay_ms;
    unsigned look_frames, drop_budget, drop_every;
    /* shrunk: frames dropped unplayed to bring the delay down (a backlog drained). */
    uint64_t played, red, fec, concealed, late, stretched, shrunk;
} cq_ajb_t;

typedef enum {
    CQ_AJB_WAIT = 0, /* nothing to play yet: play silence */
    CQ_AJB_PLAY,     /* decode *pkt */
    CQ_AJB_RED,      /* the packet was lost: decode *pkt, its copy from a later one's RED */
    CQ_AJB_FEC,      /* the frame was lost: decode *pkt (the next packet) for its FEC */
    CQ_AJB_CONCEAL,  /* lost with nothing after it yet: conceal */
    CQ_AJB_STRETCH,  /* nothing lost: a frame made up on purpose, to deepen the buffer */
    CQ_AJB_GAP,      /* nothing queued: silence (DTX), a sender gone, or packets late; a
                      * late one is counted in `late` when it comes */
} cq_ajb_action_t;

void cq_ajb_init(cq_ajb_t *j);

/* A packet arrived at arrival_us (any monotonic clock). Returns 0, CQ_EREPLAY (too late:
 * its time was played already; counted), CQ_ENOBUFS (larger than a slot), CQ_EMALFORMED
 * (not an Opus packet). */
int cq_ajb_put(cq_ajb_t *j, uint16_t seq, uint32_t ts, const uint8_t *payload, size_t len,
               int64_t arrival_us);

/* A redundant copy of an earlier packet (a RED block, RFC 2198) that came inside a later one,
 * of RTP time primary_ts (which the caller puts after its copies). It waits in the packet's
 * place if that has not played yet and nothing holds it: its own packet arriving later
 * replaces it. It says nothing of the link's delay, but how far back the copies go does
 * say how long the buffer must wait for one: the delay aimed at covers that span. A copy
 * of a packet from before the first one put is not wanted either (sent before this
 * receiver was listening: not a loss). Returns 1 (kept), 0 (not needed), CQ_ENOBUFS,
 * CQ_EMALFORMED. */
int cq_ajb_put_redundant(cq_ajb_t *j, uint32_t ts, uint32_t primary_ts, const uint8_t *payload,
                         size_t len);

/* What to do next, at now_us: for PLAY, RED and FEC, *pkt and *len point at the packet to
 * decode (valid until the next put), and *samples says how many samples it stands for
 * (for CONCEAL, how many to conceal). The caller calls again when those have played. */
cq_ajb_action_t cq_ajb_get(cq_ajb_t *j, int64_t now_us, const uint8_t **pkt, size_t *len,
                           unsigned *samples);

/* The delay aimed at now, in ms. */
unsigned cq_ajb_target_ms(const cq_ajb_t *j);

/* Plays ms later than the link's jitter alone asks (lip sync: the video is behind). The
 * buffer reaches the new delay a frame at a time, as it does for jitter. */
void cq_ajb_set_hold_ms(cq_ajb_t *j, unsigned ms);

#endif
