/*
 * VP8 frames into RTP payloads and back (RFC 7741 §4): the sender splits a frame into
 * payloads of at most max bytes, each led by a payload descriptor (S set on the first,
 * partition index 0: chasqui's encoder makes one token partition); the receiver puts
 * packets back into frames: a frame is the run of packets from one with S set to one
 * with the RTP marker bit, with no sequence number missing in between.
 *
 * Part of codec/'s payload half: no allocation, no I/O; the assembler's storage is a
 * plain value the caller owns.
 */
#ifndef CQ_CODEC_VP8_PACKETIZER_H
#define CQ_CODEC_VP8_PACKETIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/vp8_desc.h"

/* ---- sender ----------------------------------------------------------------------- */

typedef struct {
    const uint8_t *frame; /* borrowed until the last payload is taken */
    size_t len, offset;
    cq_vp8_desc_t desc;  /* written before each piece (S on the first only) */
    size_t pieces, next; /* how many payloads, and which comes next */
    size_t max_payload;
} cq_vp8_packetizer_t;

/*
 * Prepares to split frame [frame, frame + len) into payloads of at most max_payload bytes
 * (descriptor included), as evenly as possible: a frame of 2,500 bytes at 1,200 goes as
 * three of about 840, not 1,200 + 1,200 + 100, so no packet is a runt for the link to
 * lose alone. desc gives the descriptor's fields (PictureID, TL0PICIDX, TID, Y, N); S and
 * the partition index are set here. Returns the number of payloads, or CQ_EINVAL (empty
 * frame, a descriptor that does not fit, max_payload under 64 bytes).
 */
int cq_vp8_packetizer_init(cq_vp8_packetizer_t *p, const uint8_t *frame, size_t len,
                           const cq_vp8_desc_t *desc, size_t max_payload);

/* Writes the next payload into out (cap bytes); *last says whether it ends the frame (the
 * RTP marker). Returns its length, 0 when every payload was taken, or CQ_ENOBUFS. */
int cq_vp8_packetizer_next(cq_vp8_packetizer_t *p, uint8_t *out, size_t cap, bool *last);

/* ---- receiver --------------------------------------------------------------------- */

#define CQ_VP8_ASM_SLOTS 256  /* packets held: a keyframe of 640x360 needs some 40 */
#define CQ_VP8_ASM_SLOT  1200 /* largest payload kept */

typedef struct {
    bool used;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint16_t len;
    uint8_t data[CQ_VP8_ASM_SLOT];
} cq_vp8_asm_slot_t;

typedef struct {
    cq_vp8_asm_slot_t slot[CQ_VP8_ASM_SLOTS]; /* indexed by seq % CQ_VP8_ASM_SLOTS */
} cq_vp8_assembler_t;

/* What cq_vp8_asm_take found. */
typedef struct {
    uint32_t ts;
    uint16_t first_seq, last_seq;
    cq_vp8_desc_t desc; /* of the first packet: PictureID, TID, ... */
    bool keyframe;
} cq_vp8_frame_info_t;

void cq_vp8_asm_init(cq_vp8_assembler_t *a);

/* Keeps one packet's payload (descriptor included). A duplicate is ignored; a packet that
 * lands on a slot held by a packet 256 or more numbers away replaces it. Returns 0, or
 * CQ_EMALFORMED (no valid descriptor), CQ_ENOBUFS (payload larger than a slot). */
int cq_vp8_asm_insert(cq_vp8_assembler_t *a, uint16_t seq, uint32_t ts, bool marker,
                      const uint8_t *payload, size_t len);

/* Whether the packet seq is held (inserted and its frame not taken yet). */
bool cq_vp8_asm_has(const cq_vp8_assembler_t *a, uint16_t seq);

/*
 * Looks for a complete frame whose last packet is last_seq (the packet with the marker):
 * walks back to the packet with S set, and if every packet is there, writes the frame's
 * VP8 data (descriptors removed) into out, frees the slots and returns its length.
 * Returns 0 when the frame is not complete yet, CQ_ENOBUFS when out is too small.
 */
int cq_vp8_asm_take(cq_vp8_assembler_t *a, uint16_t last_seq, uint8_t *out, size_t cap,
                    cq_vp8_frame_info_t *info);

/* Whether the frame whose last packet is last_seq is complete; if so, *first_seq is its
 * first packet's number. Changes nothing. */
bool cq_vp8_asm_complete(cq_vp8_assembler_t *a, uint16_t last_seq, uint16_t *first_seq);

/* Like cq_vp8_asm_complete, and when complete also the first packet's descriptor and
 * whether the frame is a keyframe, without taking it. */
bool cq_vp8_asm_peek(cq_vp8_assembler_t *a, uint16_t last_seq, uint16_t *first_seq,
                     cq_vp8_desc_t *desc, bool *keyframe);

/* Forgets every packet older than seq (a frame given up on: the caller asks for a
 * keyframe or moves on). */
void cq_vp8_asm_drop_before(cq_vp8_assembler_t *a, uint16_t seq);

#endif
