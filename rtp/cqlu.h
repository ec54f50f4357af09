/*
 * CQLU, "chasqui layer use": an RTCP APP packet (RFC 3550 §6.7) from the relay to a
 * publisher saying which of its simulcast spatial layers any subscriber receives, waits
 * for, or would be moved to, so that its encoders stop spending a weak uplink on layers
 * nobody takes (issue 7, docs/PROTOCOL.md "Uplink adaptation").
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P| subtype |   PT=APP=204  |          length = 3           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       SSRC of the relay                       |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                    name = 'C' 'Q' 'L' 'U'                     |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  | sound's room  |     lowest layer's ceiling    |  layer mask   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Subtype 0. Bit i of the layer mask (the word's low byte) set: spatial layer i (0 the
 * lowest) is in use. The ceiling (bits 8..23, kbit/s; 0: none) is the most the lowest
 * layer should cost: what the weakest receiver's downlink leaves each stream it receives,
 * so that a lowest layer made for it reaches it whole rather than at a fraction of its
 * frame rate or paused. The sound's room (bits 24..31, kbit/s; 0: none) is what the
 * thinnest receiver's downlink leaves each voice it receives, told only when that is thin:
 * the publisher plans its sound as for an uplink of that much (Opus, packet size, RED),
 * since the relay forwards sound as it comes. A longer payload is accepted with its tail
 * ignored, so a later version can add fields. Senders of earlier versions wrote the
 * ceiling's and the room's bits as 0: none.
 *
 * Pure: no allocation, no I/O. Parse reads a header view from cq_rtcp_iter_next().
 */
#ifndef CQ_RTP_CQLU_H
#define CQ_RTP_CQLU_H

#include <stddef.h>
#include <stdint.h>

#include "rtp/rtcp.h"

#define CQ_CQLU_SIZE    16 /* header, SSRC, name, the one payload word */
#define CQ_CQLU_SUBTYPE 0

typedef struct {
    uint32_t sender_ssrc;
    uint8_t layers;     /* bit i: spatial layer i is in use */
    uint16_t low_kbps;  /* the lowest layer's ceiling; 0: none */
    uint8_t sound_kbps; /* the room for its sound; 0: none */
} cq_cqlu_t;

/* Parses a CQLU packet. Returns 0; CQ_EINVAL (not an APP packet); CQ_EUNSUPPORTED (an
 * APP packet of another name or subtype: valid, another application's, to be skipped);
 * CQ_EMALFORMED (named CQLU but without room for the SSRC, name and payload word). *out
 * is untouched on failure. */
int cq_cqlu_parse(const cq_rtcp_header_t *h, cq_cqlu_t *out);

/* Writes the CQLU packet m. Returns CQ_CQLU_SIZE or CQ_ENOBUFS. */
int cq_cqlu_write(const cq_cqlu_t *m, uint8_t *buf, size_t cap);

#endif
