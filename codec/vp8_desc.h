/*
 * VP8 RTP payload descriptor and payload header (RFC 7741 §4.2, §4.3; RFC 6386 §9.1).
 *
 * The relay forwards VP8 simulcast without decoding it. Everything it needs to choose and
 * splice layers sits in the first few bytes of each RTP payload: the descriptor says which
 * temporal layer a packet belongs to, whether it starts a frame and where the PictureID and
 * TL0PICIDX live (so they can be rewritten in place when the relay switches between
 * simulcast streams); the payload header of a frame's first packet says whether the frame
 * is a keyframe and, for keyframes, its resolution.
 *
 * Payload descriptor (RFC 7741 §4.2), 1 to 6 octets, 7-bit PictureID (M = 0) on the left,
 * 15-bit PictureID (M = 1) on the right:
 *
 *         0 1 2 3 4 5 6 7                      0 1 2 3 4 5 6 7
 *        +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
 *        |X|R|N|S|R| PID | (REQUIRED)        |X|R|N|S|R| PID | (REQUIRED)
 *        +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
 *   X:   |I|L|T|K| RSV   | (OPTIONAL)   X:   |I|L|T|K| RSV   | (OPTIONAL)
 *        +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
 *   I:   |M| PictureID   | (OPTIONAL)   I:   |M| PictureID   | (OPTIONAL)
 *        +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
 *   L:   |   TL0PICIDX   | (OPTIONAL)        |   PictureID   |
 *        +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
 *   T/K: |TID|Y| KEYIDX  | (OPTIONAL)   L:   |   TL0PICIDX   | (OPTIONAL)
 *        +-+-+-+-+-+-+-+-+                   +-+-+-+-+-+-+-+-+
 *                                       T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *                                            +-+-+-+-+-+-+-+-+
 *
 * Payload header (RFC 7741 §4.3), present only in the first packet of a frame (S = 1 and
 * PID = 0); it is the start of the VP8 frame itself, the 3-byte frame tag of RFC 6386 §9.1
 * read as little-endian bits, followed on keyframes by a start code and the dimensions:
 *
 *         0 1 2 3 4 5 6 7
 *        +-+-+-+-+-+-+-+-+
 *        |Size0|H| VER |P|      P: inverse keyframe flag (0 = keyframe)
 *        +-+-+-+-+-+-+-+-+      H: show_frame, VER: version (RFC 6386 §9.1)
 *        |     Size1     |      first partition size = Size0 + 8 Size1 + 2048 Size2
 *        +-+-+-+-+-+-+-+-+
 *        |     Size2     |
 *        +-+-+-+-+-+-+-+-+
 *        |  0x9d 0x01 0x2a   |  keyframes only: start code,
 *        | width  (14) | hs(2) |  then two little-endian 16-bit words:
 *        | height (14) | vs(2) |  dimension in the low 14 bits, scale in the high 2
 */
#ifndef CQ_CODEC_VP8_DESC_H
#define CQ_CODEC_VP8_DESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest descriptor: mandatory octet, extension octet, 2-octet PictureID, TL0PICIDX and
 * the TID/Y/KEYIDX octet. */
#define CQ_VP8_DESC_MAX_SIZE 6

/* Bytes of the payload header read for an interframe and for a keyframe. */
#define CQ_VP8_FRAME_TAG_SIZE       3
#define CQ_VP8_KEYFRAME_HEADER_SIZE 10

/* A PictureID counts modulo 2^7 or 2^15, according to the width of its field (M bit). */
#define CQ_VP8_PICTURE_ID_7BIT_MOD  128u
#define CQ_VP8_PICTURE_ID_15BIT_MOD 32768u

/*
 * One payload descriptor as a value. cq_vp8_desc_parse fills every field; cq_vp8_desc_write
 * reads the fields marked (in) and ignores the outputs marked (out).
 *
 * The TID/Y/KEYIDX octet is present when T or K is set. Its three fields hold the raw bits
 * of that octet whenever it is present, even the part the RFC tells receivers to ignore
 * (TID and Y when T = 0, KEYIDX when K = 0): a relay must read tid only if has_tid and
 * keyidx only if has_keyidx, and keeping the raw bits lets a parsed descriptor be written
 * back byte for byte. All three are 0 when the octet is absent.
 */
typedef struct {
    bool extended;             /* (in) X: the extension octet is present */
    bool non_reference;        /* (in) N: no other frame references this one */
    bool start;                /* (in) S: the payload starts a VP8 partition */
    uint8_t partition;         /* (in) PID: partition index, 0..7 */
    bool has_picture_id;       /* (in) I */
    bool has_tl0picidx;        /* (in) L: requires T (RFC 7741 §4.2) */
    bool has_tid;              /* (in) T */
    bool has_keyidx;           /* (in) K */
    bool picture_id_15bit;     /* (in) M: PictureID is 15 bits wide (else 7) */
    uint16_t picture_id;       /* (in) 0..127 or 0..32767; 0 when absent */
    uint8_t tl0picidx;         /* (in) 0 when absent */
    uint8_t tid;               /* (in) 0..3, raw bits (see above) */
    bool y;                    /* (in) layer sync, raw bit (see above) */
    uint8_t keyidx;            /* (in) 0..31, raw bits (see above) */
    uint8_t size;              /* (out) descriptor length: the VP8 payload starts here */
    uint8_t picture_id_offset; /* (out) offset of the PictureID's first octet, 0 if absent */
    uint8_t tl0picidx_offset;  /* (out) offset of TL0PICIDX, 0 if absent */
} cq_vp8_desc_t;

/*
 * Parses the payload descriptor at the start of the RTP payload [payload, payload + len).
 * The payload stays the caller's; nothing is kept.
 *
 * Returns the descriptor length (1..6, also stored in desc->size), after which the VP8
 * payload starts, or:
 *   CQ_ETRUNCATED  the payload ends inside the descriptor (including len == 0);
 *   CQ_EMALFORMED  L is set without T, which RFC 7741 §4.2 forbids ("the T bit MUST be
 *                  set to 1"), or the descriptor takes the whole payload and no VP8 data
 *                  follows it.
 * The reserved bits (R, RSV) are ignored as the RFC asks receivers to. *desc is untouched
 * on failure.
 */
int cq_vp8_desc_parse(const uint8_t *payload, size_t len, cq_vp8_desc_t *desc);

/* True when this packet carries the first bytes of a frame (S = 1 and PID = 0), so that the
 * VP8 payload after the descriptor starts with the payload header. RFC 7741 §4.2 lets S be
 * set only on the first packet of each partition, and partition 0 starts every frame. */
static inline bool cq_vp8_desc_starts_frame(const cq_vp8_desc_t *desc) {
    return desc->start && desc->partition == 0;
}

/*
 * Rewrites in place the PictureID of the descriptor at the start of [payload, payload + len),
 * which desc must come from parsing (the same bytes, or a copy of them: the relay parses a
 * packet once and rewrites each consumer's copy). The field keeps its width and M bit:
 * picture_id is taken modulo 128 or 32768, so a relay's running counter wraps exactly as
 * the RFC's PictureID does. No other bit and not the length change.
 *
 * Returns 0, CQ_ENOENT if the descriptor has no PictureID (nothing is written), or
 * CQ_EINVAL if desc does not fit in len (it was not parsed from this payload).
 */
int cq_vp8_desc_set_picture_id(uint8_t *payload, size_t len, const cq_vp8_desc_t *desc,
                               uint16_t picture_id);

/* Rewrites TL0PICIDX in place, as cq_vp8_desc_set_picture_id does the PictureID (8 bits, so
 * it wraps at 256 by its type). Returns 0, CQ_ENOENT if absent, CQ_EINVAL if desc does not
 * fit in len. */
int cq_vp8_desc_set_tl0picidx(uint8_t *payload, size_t len, const cq_vp8_desc_t *desc,
                              uint8_t tl0picidx);

/*
 * Size in bytes of the descriptor cq_vp8_desc_write would produce for desc. The extension
 * octet is counted when desc->extended or any of I, L, T, K is set.
 */
size_t cq_vp8_desc_size(const cq_vp8_desc_t *desc);

/*
 * Writes the descriptor for desc into [buf, buf + cap), for the client's packetizer. The
 * PictureID takes one octet or two according to desc->picture_id_15bit. X is written when
 * desc->extended or any optional field is present; the reserved bits are written as 0.
 * The TID/Y/KEYIDX octet is written when T or K is set, from the raw fields.
 *
 * Returns the number of bytes written (cq_vp8_desc_size(desc)), or:
 *   CQ_EINVAL   partition > 7, tid > 3, keyidx > 31, a PictureID too large for its width,
 *               or L without T (a descriptor the parser would refuse);
 *   CQ_ENOBUFS  cap is smaller than the descriptor (nothing useful is written).
 */
int cq_vp8_desc_write(const cq_vp8_desc_t *desc, uint8_t *buf, size_t cap);

/* What the payload header of a frame's first packet says. */
typedef struct {
    bool keyframe;                 /* P bit clear */
    uint8_t version;               /* VER, 0..7 (RFC 6386 defines 0..3) */
    bool show_frame;               /* H */
    uint32_t first_partition_size; /* 19 bits */
    uint16_t width;                /* keyframes: 1..16383 pixels; 0 on interframes */
    uint8_t horizontal_scale;      /* keyframes: 0..3 (RFC 6386 §9.1); 0 on interframes */
    uint16_t height;               /* keyframes: 1..16383 pixels; 0 on interframes */
    uint8_t vertical_scale;        /* keyframes: 0..3; 0 on interframes */
} cq_vp8_frame_header_t;

/*
 * Reads the VP8 payload header from [vp8, vp8 + len): the bytes right after the descriptor
 * of a packet for which cq_vp8_desc_starts_frame is true (on other packets these bytes are
 * the middle of a partition and mean nothing). The bytes stay the caller's.
 *
 * Returns the number of header bytes read (3 for an interframe, 10 for a keyframe) and
 * fills *hdr, or:
 *   CQ_ETRUNCATED  fewer than 3 bytes, or a keyframe with fewer than 10;
 *   CQ_EMALFORMED  a keyframe whose start code is not 9d 01 2a, or whose width or height
 *                  is 0 (libvpx refuses such a frame as corrupt, so no decoder shows it).
 * *hdr is untouched on failure.
 */
int cq_vp8_frame_header_parse(const uint8_t *vp8, size_t len, cq_vp8_frame_header_t *hdr);

#endif
