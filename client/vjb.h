/*
 * The video jitter buffer: VP8 packets in, as the network delivers them; whole frames out,
 * in order, only when they can be decoded. A missing packet is waited for (its NACK is
 * the caller's, through rtp/nack_tracker.h) for the caller's budget (client/receiver.c:
 * two round trips and 50 ms); then the frames that needed it are given up. It is not waited for
 * once a later frame that cannot need it has come whole (the next TL0 frame, a layer-sync frame of
 * the same group) and the gap is older than reordering makes one (CQ_VJB_REORDER_US): a lost TL1 or
 * TL2 frame then costs its own frame time, not a round trip of frozen picture (800 ms on a VSAT
 * path).
 *
 * Which frames survive a loss follows the temporal layers of the 0-2-1-2 pattern: a TL0
 * frame needs only the TL0 before it; a TL1 or TL2 frame needs its TL0, and, unless it is
 * a layer-sync frame, nothing lost since that TL0 or since the group's TL1 sync frame
 * (which refreshes GOLDEN from TL0 alone). So a lost TL2 frame costs one frame, a lost
 * TL1 frame a few, and only a lost TL0 frame stops the picture until a keyframe
 * (cq_vjb_wants_keyframe: the caller sends PLI).
 *
 * A gap that holds a TL0 frame is asked a keyframe for once the budget is spent, but still
 * waited for, up to CQ_VJB_HOLD_US: its repair may yet come (a lost request or repair is
 * asked for again 1.5 round trips later), and on a short round trip that is sooner than
 * the keyframe, which has its request, the encoder and a burst of packets through both
 * links to wait for. Whichever comes first moves the picture on: the frames behind the
 * gap, or the keyframe (a complete keyframe needs nothing missing).
 *
 * A plain value the caller owns (about 300 KB: keep it off the stack); no allocation.
 */
#ifndef CQ_CLIENT_VJB_H
#define CQ_CLIENT_VJB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/vp8_packetizer.h"
#include "rtp/nack_tracker.h"

#define CQ_VJB_FRAMES 128 /* frame ends remembered */
/* Packets a 3G link's +-40 ms jitter reorders come within this of their place. */
#define CQ_VJB_REORDER_US 100000
/* The longest a gap the picture needs is waited for (when the caller's budget is shorter):
 * its repair is asked for no longer. */
#define CQ_VJB_HOLD_US CQ_NACK_MAX_AGE_US

typedef struct {
    cq_vp8_assembler_t asm_;
    uint16_t ends[CQ_VJB_FRAMES]; /* sequence numbers of marker packets not yet taken */
    unsigned nends;
    bool started;
    uint16_t next_seq;    /* first packet of the next frame in order */
    int64_t gap_since_us; /* when next_seq was first found missing; 0: no gap */
    bool have_tl0;
    uint8_t last_tl0;      /* TL0PICIDX of the last TL0 frame given out */
    bool broken_since_tl0; /* a frame was given up since that TL0 */
    bool need_keyframe;
    bool holding; /* past the budget, a gap the chain needs still waited for; keyframe asked */
    /* skipped: gaps moved past; passed: of them, those not waited out (a later frame did
     * not need them). */
    uint64_t frames, skipped, passed, undecodable, keyframes_asked;
} cq_vjb_t;

void cq_vjb_init(cq_vjb_t *j);

/* A packet (its RTP sequence number, timestamp, marker and payload). Returns 0 or what
 * the assembler refused (CQ_EMALFORMED, CQ_ENOBUFS). */
int cq_vjb_put(cq_vjb_t *j, uint16_t seq, uint32_t ts, bool marker, const uint8_t *payload,
               size_t len);

/* Whether packet seq would be new to the buffer: not held, and its frame neither given
 * out nor given up. A repair that is not (its original came after all, or a copy sent
 * ahead of loss) changes nothing. */
bool cq_vjb_wants(const cq_vjb_t *j, uint16_t seq);

/*
 * The next frame to decode, at now_us, waiting wait_us for a missing packet before giving
 * it up (or, when the frames after it need it, asking for a keyframe and waiting on up to
 * CQ_VJB_HOLD_US). Returns its length (written to out, with *info) or 0 when none is
 * ready, or CQ_ENOBUFS. Frames that cannot be decoded are dropped here, counted, never
 * returned.
 */
int cq_vjb_pop(cq_vjb_t *j, int64_t now_us, int64_t wait_us, uint8_t *out, size_t cap,
               cq_vp8_frame_info_t *info);

/* Whether the picture is stopped for want of a keyframe (send PLI; repeat per the RTT). */
bool cq_vjb_wants_keyframe(const cq_vjb_t *j);

#endif
