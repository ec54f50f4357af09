/*
 * From recorded RTP packets back to codec frames, for chasqui-rec2webm: packets put in
 * sequence order, VP8 frames rebuilt from their packets (RFC 7741 §4), Opus packets taken
 * out of plain (PT 111) or redundant (RED, PT 63, RFC 2198) payloads, and a clock that
 * maps each stream's RTP time onto the relay's arrival clock, which every stream of a
 * recording shares: that is what puts sound and picture side by side.
 *
 * No I/O, no allocation (cq_depack_order sorts in place): callers own every buffer.
 */
#ifndef CQ_TOOLS_REC2WEBM_DEPACK_H
#define CQ_TOOLS_REC2WEBM_DEPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtp.h"

/* Payload types a recording holds (DESIGN.md "Media transport"). */
#define CQ_DEPACK_PT_OPUS 111
#define CQ_DEPACK_PT_RED  63
#define CQ_DEPACK_PT_VP8  96

/* One recorded packet: a view into the recording's bytes, and what ordering adds. */
typedef struct {
    uint64_t arrival_us;
    const uint8_t *pkt;
    size_t len;
    cq_rtp_view_t v; /* parsed by cq_depack_order */
    int64_t ext_seq; /* the sequence number unwrapped, in arrival order */
    int64_t ext_ts;  /* the RTP timestamp unwrapped, in arrival order */
} cq_depack_packet_t;

/*
 * Parses every packet, unwraps its sequence number and timestamp (in arrival order, as a
 * receiver would have seen them), then sorts by sequence number and keeps one copy of
 * each (a repair that arrived twice). Packets that do not parse as RTP are left out and
 * counted in *malformed (if not NULL). Returns how many remain, at the front of pkts.
 */
size_t cq_depack_order(cq_depack_packet_t *pkts, size_t n, uint64_t *malformed);

/* ---- VP8 -------------------------------------------------------------------------- */

/* A whole frame, as a decoder takes it (descriptors removed). */
typedef struct {
    const uint8_t *data; /* the depacketizer's buffer: valid until the next push */
    size_t len;
    int64_t ext_ts;      /* RTP timestamp, unwrapped */
    uint64_t arrival_us; /* of its first packet */
    bool keyframe;
    uint16_t width, height; /* keyframes only; 0 otherwise */
} cq_depack_frame_t;

typedef struct {
    uint8_t *buf; /* the caller's, where frames are put together */
    size_t cap, len;
    bool in_frame; /* a frame's first packet was seen and none is missing since */
    bool need_key; /* a frame was lost: what follows waits for a keyframe */
    bool started;  /* a packet was seen */
    int64_t next_seq, frame_ts;
    uint64_t frame_arrival;
    uint64_t frames;          /* frames given out */
    uint64_t lost_frames;     /* frames with a packet missing, or too large: dropped */
    uint64_t waiting_dropped; /* whole frames dropped while a keyframe was awaited */
} cq_depack_vp8_t;

/* Starts a depacketizer that puts frames together in [buf, buf + cap) (a frame larger
 * than cap is dropped as lost). The first frame it gives out is a keyframe. */
void cq_depack_vp8_init(cq_depack_vp8_t *d, uint8_t *buf, size_t cap);

/*
 * The next packet, in sequence order (cq_depack_order). Returns 1 and *out when this
 * packet completed a frame that can be decoded; 0 otherwise. A gap in the sequence drops
 * the frame it falls in, and since the lost packets may have carried a frame that later
 * ones refer to, every frame until the next keyframe (RFC 7741 §4.4: a receiver cannot
 * tell a lost non-reference frame from a lost reference without the descriptor it lost).
 */
int cq_depack_vp8_push(cq_depack_vp8_t *d, const cq_depack_packet_t *p, cq_depack_frame_t *out);

/* ---- Opus ------------------------------------------------------------------------- */

/*
 * The Opus packet a recorded sound packet carries: the payload of PT 111, or the primary
 * block of a RED packet (PT 63) whose primary is Opus. Returns 1 and [*data, *data +
 * *len) (a view into p's bytes), 0 when there is nothing to play (an empty primary, DTX),
 * or CQ_EMALFORMED / CQ_ETRUNCATED (a RED payload that does not parse) or
 * CQ_EUNSUPPORTED (another payload type).
 */
int cq_depack_opus(const cq_depack_packet_t *p, const uint8_t **data, size_t *len);

/* One earlier packet's sound that a RED packet repeats (RFC 2198: a redundant block). */
typedef struct {
    int64_t ext_ts; /* its timestamp: the packet's less the block's offset */
    const uint8_t *data;
    size_t len;
} cq_depack_redundant_t;

/*
 * The redundant Opus blocks of RED packet p, oldest first, into out[0 .. cap): what a lost
 * packet before p may be restored from. Returns how many (0 for a packet that is not RED
 * or repeats nothing), or CQ_EMALFORMED / CQ_ETRUNCATED. Views into p's bytes.
 */
int cq_depack_red_redundant(const cq_depack_packet_t *p, cq_depack_redundant_t *out, size_t cap);

/* ---- time -------------------------------------------------------------------------- */

/*
 * One stream's RTP clock on the relay's arrival clock. The offset is the least of
 * arrival - RTP time over the stream's first seconds: the packet that waited least on the
 * way, whose arrival is closest to when it was made. Each stream has its own, and as all
 * streams of a participant crossed the same link, their least delays match: aligned this
 * way, sound and picture keep the sync they were captured with, to within a few ms of
 * link jitter. Only the first seconds count, so that a sender's clock drifting against
 * the relay's cannot pull one stream's offset more than another's.
 */
#define CQ_DEPACK_CLOCK_WINDOW_US 5000000u

typedef struct {
    uint32_t rate; /* RTP clock rate, Hz */
    bool started;
    int64_t offset_us;
    uint64_t first_arrival_us;
} cq_depack_clock_t;

void cq_depack_clock_init(cq_depack_clock_t *c, uint32_t rate);
/* One packet: its unwrapped RTP timestamp and arrival. */
void cq_depack_clock_add(cq_depack_clock_t *c, int64_t ext_ts, uint64_t arrival_us);
/* When a timestamp of the stream was made, on the arrival clock (µs). */
int64_t cq_depack_clock_us(const cq_depack_clock_t *c, int64_t ext_ts);

#endif
