#include "codec/vp8_desc.h"

#include "rtp/error.h"

/* Bits of the mandatory octet. R (0x40, 0x08) is reserved: written 0, ignored on read. */
#define D_X   0x80u
#define D_N   0x20u
#define D_S   0x10u
#define D_PID 0x07u

/* Bits of the extension octet. RSV (0x0f) is reserved: written 0, ignored on read. */
#define E_I 0x80u
#define E_L 0x40u
#define E_T 0x20u
#define E_K 0x10u

/* The M bit heads the PictureID field and says whether it takes one octet or two. */
#define PICID_M 0x80u

/* The keyframe start code of RFC 6386 §9.1. */
static const uint8_t vp8_start_code[3] = {0x9d, 0x01, 0x2a};

_Static_assert(CQ_VP8_DESC_MAX_SIZE == 1 + 1 + 2 + 1 + 1,
               "mandatory + extension + 15-bit PictureID + TL0PICIDX + TID/Y/KEYIDX");
_Static_assert(CQ_VP8_FRAME_TAG_SIZE == 3, "RFC 6386 §9.1: the frame tag is 3 bytes");
_Static_assert(CQ_VP8_KEYFRAME_HEADER_SIZE == CQ_VP8_FRAME_TAG_SIZE + sizeof vp8_start_code + 4,
               "frame tag + start code + two 16-bit dimension words");

int cq_vp8_desc_parse(const uint8_t *payload, size_t len, cq_vp8_desc_t *desc) {
    /* Checked before any pointer arithmetic: an empty payload may come as NULL. */
    if (len == 0)
        return CQ_ETRUNCATED;
    const uint8_t *p = payload;
    const uint8_t *end = payload + len;
    cq_vp8_desc_t d = {0};

    uint8_t b0 = *p++;
    d.extended = (b0 & D_X) != 0;
    d.non_reference = (b0 & D_N) != 0;
    d.start = (b0 & D_S) != 0;
    d.partition = (uint8_t)(b0 & D_PID);

    if (d.extended) {
        if (p >= end)
            return CQ_ETRUNCATED;
        uint8_t ext = *p++;
        d.has_picture_id = (ext & E_I) != 0;
        d.has_tl0picidx = (ext & E_L) != 0;
        d.has_tid = (ext & E_T) != 0;
        d.has_keyidx = (ext & E_K) != 0;
        /* RFC 7741 §4.2: "L: ... When set to 1, ... the T bit MUST be set to 1". A
         * TL0PICIDX without a TID cannot say which base-layer frame it counts. */
        if (d.has_tl0picidx && !d.has_tid)
            return CQ_EMALFORMED;

        if (d.has_picture_id) {
            if (p >= end)
                return CQ_ETRUNCATED;
            d.picture_id_offset = (uint8_t)(p - payload);
            d.picture_id_15bit = (*p & PICID_M) != 0;
            if (d.picture_id_15bit) {
                if (end - p < 2)
                    return CQ_ETRUNCATED;
                d.picture_id = (uint16_t)(((p[0] & 0x7fu) << 8) | p[1]);
                p += 2;
            } else {
                d.picture_id = (uint16_t)(p[0] & 0x7fu);
                p += 1;
            }
        }
        if (d.has_tl0picidx) {
            if (p >= end)
                return CQ_ETRUNCATED;
            d.tl0picidx_offset = (uint8_t)(p - payload);
            d.tl0picidx = *p++;
        }
        /* One octet serves both T and K; the part whose flag is clear is still there. */
        if (d.has_tid || d.has_keyidx) {
            if (p >= end)
                return CQ_ETRUNCATED;
            uint8_t tk = *p++;
            d.tid = (uint8_t)(tk >> 6);
            d.y = (tk & 0x20u) != 0;
            d.keyidx = (uint8_t)(tk & 0x1fu);
        }
    }

    /* A VP8 packet carries VP8 data: a descriptor alone is a packet cut at the wrong place
     * or a forged one, and the payload header a frame start promises is not there. */
    if (p >= end)
        return CQ_EMALFORMED;

    d.size = (uint8_t)(p - payload);
    *desc = d;
    return d.size;
}

int cq_vp8_desc_set_picture_id(uint8_t *payload, size_t len, const cq_vp8_desc_t *desc,
                               uint16_t picture_id) {
    if (!desc->has_picture_id)
        return CQ_ENOENT;
    size_t off = desc->picture_id_offset;
    size_t width = desc->picture_id_15bit ? 2 : 1;
    if (off == 0 || off + width > len)
        return CQ_EINVAL;
    if (desc->picture_id_15bit) {
        payload[off] = (uint8_t)(PICID_M | ((picture_id >> 8) & 0x7fu));
        payload[off + 1] = (uint8_t)picture_id;
    } else {
        payload[off] = (uint8_t)(picture_id & 0x7fu);
    }
    return 0;
}

int cq_vp8_desc_set_tl0picidx(uint8_t *payload, size_t len, const cq_vp8_desc_t *desc,
                              uint8_t tl0picidx) {
    if (!desc->has_tl0picidx)
        return CQ_ENOENT;
    size_t off = desc->tl0picidx_offset;
    if (off == 0 || off >= len)
        return CQ_EINVAL;
    payload[off] = tl0picidx;
    return 0;
}

static bool desc_has_extension(const cq_vp8_desc_t *desc) {
    return desc->extended || desc->has_picture_id || desc->has_tl0picidx || desc->has_tid ||
           desc->has_keyidx;
}

size_t cq_vp8_desc_size(const cq_vp8_desc_t *desc) {
    size_t n = 1;
    if (desc_has_extension(desc)) {
        n += 1;
        if (desc->has_picture_id)
            n += desc->picture_id_15bit ? 2 : 1;
        if (desc->has_tl0picidx)
            n += 1;
        if (desc->has_tid || desc->has_keyidx)
            n += 1;
    }
    return n;
}

int cq_vp8_desc_write(const cq_vp8_desc_t *desc, uint8_t *buf, size_t cap) {
    if (desc->partition > 7 || desc->tid > 3 || desc->keyidx > 31)
        return CQ_EINVAL;
    if (desc->has_picture_id &&
        desc->picture_id >=
            (desc->picture_id_15bit ? CQ_VP8_PICTURE_ID_15BIT_MOD : CQ_VP8_PICTURE_ID_7BIT_MOD))
        return CQ_EINVAL;
    if (desc->has_tl0picidx && !desc->has_tid)
        return CQ_EINVAL;
    size_t n = cq_vp8_desc_size(desc);
    if (cap < n)
        return CQ_ENOBUFS;

    uint8_t *p = buf;
    bool ext = desc_has_extension(desc);
    *p++ = (uint8_t)((ext ? D_X : 0u) | (desc->non_reference ? D_N : 0u) |
                     (desc->start ? D_S : 0u) | desc->partition);
    if (ext) {
        *p++ = (uint8_t)((desc->has_picture_id ? E_I : 0u) | (desc->has_tl0picidx ? E_L : 0u) |
                         (desc->has_tid ? E_T : 0u) | (desc->has_keyidx ? E_K : 0u));
        if (desc->has_picture_id) {
            if (desc->picture_id_15bit) {
                *p++ = (uint8_t)(PICID_M | (desc->picture_id >> 8));
                *p++ = (uint8_t)desc->picture_id;
            } else {
                *p++ = (uint8_t)desc->picture_id;
            }
        }
        if (desc->has_tl0picidx)
            *p++ = desc->tl0picidx;
        if (desc->has_tid || desc->has_keyidx)
            *p++ = (uint8_t)((unsigned)desc->tid << 6 | (desc->y ? 0x20u : 0u) | desc->keyidx);
    }
    return (int)(p - buf);
}

int cq_vp8_frame_header_parse(const uint8_t *vp8, size_t len, cq_vp8_frame_header_t *hdr) {
    if (len < CQ_VP8_FRAME_TAG_SIZE)
        return CQ_ETRUNCATED;

    cq_vp8_frame_header_t h = {0};
    /* RFC 6386 §9.1 reads the frame tag as a 24-bit little-endian number: bit 0 is the
     * frame type, bits 1-3 the version, bit 4 show_frame, bits 5-23 the size of the first
     * partition. RFC 7741 §4.3 draws the same bits as P, VER, H, Size0..Size2. */
    uint32_t tag = (uint32_t)vp8[0] | (uint32_t)vp8[1] << 8 | (uint32_t)vp8[2] << 16;
    h.keyframe = (tag & 1u) == 0;
    h.version = (uint8_t)((tag >> 1) & 7u);
    h.show_frame = ((tag >> 4) & 1u) != 0;
    h.first_partition_size = tag >> 5;

    if (!h.keyframe) {
        *hdr = h;
        return CQ_VP8_FRAME_TAG_SIZE;
    }

    if (len < CQ_VP8_KEYFRAME_HEADER_SIZE)
        return CQ_ETRUNCATED;
    const uint8_t *p = vp8 + CQ_VP8_FRAME_TAG_SIZE;
    if (p[0] != vp8_start_code[0] || p[1] != vp8_start_code[1] || p[2] != vp8_start_code[2])
        return CQ_EMALFORMED;
    p += sizeof vp8_start_code;
    /* Each dimension is a little-endian 16-bit word: 14 bits of size, 2 bits of upscaling. */
    uint16_t w = (uint16_t)(p[0] | p[1] << 8);
    uint16_t hgt = (uint16_t)(p[2] | p[3] << 8);
    h.width = (uint16_t)(w & 0x3fffu);
    h.horizontal_scale = (uint8_t)(w >> 14);
    h.height = (uint16_t)(hgt & 0x3fffu);
    h.vertical_scale = (uint8_t)(hgt >> 14);
    if (h.width == 0 || h.height == 0)
        return CQ_EMALFORMED;

    *hdr = h;
    return CQ_VP8_KEYFRAME_HEADER_SIZE;
}
