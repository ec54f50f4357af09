/*
 * Fuzz target for the VP8 payload descriptor and payload header.
 *
 * Any bytes must parse to a descriptor or a negative error without reading past the input.
 * When they parse, three properties are checked:
 *   1. Rewriting PictureID and TL0PICIDX on a copy changes those fields only (to the values
 *      written, wrapped to the field's width) and not the descriptor's length.
 *   2. Writing the parsed value gives back the input's descriptor bytes exactly, except for
 *      the bits RFC 7741 §4.2 reserves: R (0x40 and 0x08 of the first octet) and RSV (0x0f
 *      of the extension octet) "MUST be set to 0 and MUST be ignored by the receiver", so
 *      the parser drops them and the writer writes 0. Every other bit, including the TID/Y
 *      and KEYIDX bits the RFC says to ignore when T or K is clear, is kept.
 *   3. The payload header reader, on packets that start a frame, gives a consistent header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/vp8_desc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_except_rewritten(const cq_vp8_desc_t *a, const cq_vp8_desc_t *b) {
    return a->extended == b->extended && a->non_reference == b->non_reference &&
           a->start == b->start && a->partition == b->partition &&
           a->has_picture_id == b->has_picture_id && a->has_tl0picidx == b->has_tl0picidx &&
           a->has_tid == b->has_tid && a->has_keyidx == b->has_keyidx &&
           a->picture_id_15bit == b->picture_id_15bit && a->tid == b->tid && a->y == b->y &&
           a->keyidx == b->keyidx && a->size == b->size &&
           a->picture_id_offset == b->picture_id_offset &&
           a->tl0picidx_offset == b->tl0picidx_offset;
}

static void check_rewrite(const uint8_t *data, size_t size, const cq_vp8_desc_t *d) {
    uint8_t copy[CQ_VP8_DESC_MAX_SIZE + 1];
    size_t n = (size_t)d->size + 1; /* the descriptor and one byte of VP8 data */
    memcpy(copy, data, n);

    /* New values derived from the input, so the fuzzer explores them too. */
    uint16_t pid = (uint16_t)(data[size - 1] << 8 | data[size / 2]);
    uint8_t tl0 = (uint8_t)~data[0];
    int rp = cq_vp8_desc_set_picture_id(copy, n, d, pid);
    int rt = cq_vp8_desc_set_tl0picidx(copy, n, d, tl0);
    if ((rp == 0) != d->has_picture_id || (rt == 0) != d->has_tl0picidx)
        abort();

    cq_vp8_desc_t e;
    if (cq_vp8_desc_parse(copy, n, &e) != d->size)
        abort();
    if (!same_except_rewritten(d, &e))
        abort();
    uint16_t mod = d->picture_id_15bit ? CQ_VP8_PICTURE_ID_15BIT_MOD : CQ_VP8_PICTURE_ID_7BIT_MOD;
    if (e.picture_id != (d->has_picture_id ? pid % mod : d->picture_id))
        abort();
    if (e.tl0picidx != (d->has_tl0picidx ? tl0 : d->tl0picidx))
        abort();
    if (copy[d->size] != data[d->size])
        abort();
}

static void check_write(const uint8_t *data, const cq_vp8_desc_t *d) {
    uint8_t out[CQ_VP8_DESC_MAX_SIZE];
    if (cq_vp8_desc_size(d) != d->size)
        abort();
    if (cq_vp8_desc_write(d, out, (size_t)d->size - 1) >= 0)
        abort();
    if (cq_vp8_desc_write(d, out, sizeof out) != d->size)
        abort();
    for (size_t i = 0; i < d->size; i++) {
        uint8_t reserved = i == 0 ? 0x48 : i == 1 ? 0x0f : 0x00;
        if ((out[i] & reserved) != 0 || (out[i] & ~reserved) != (data[i] & ~reserved))
            abort();
    }
}

static void check_frame_header(const uint8_t *vp8, size_t len) {
    cq_vp8_frame_header_t h;
    int n = cq_vp8_frame_header_parse(vp8, len, &h);
    if (n < 0)
        return;
    if ((size_t)n > len || h.first_partition_size >= (1u << 19) || h.version > 7)
        abort();
    if (h.keyframe) {
        if (n != CQ_VP8_KEYFRAME_HEADER_SIZE || h.width == 0 || h.width > 16383 || h.height == 0 ||
            h.height > 16383 || h.horizontal_scale > 3 || h.vertical_scale > 3)
            abort();
    } else if (n != CQ_VP8_FRAME_TAG_SIZE || h.width != 0 || h.height != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_vp8_desc_t d;
    int n = cq_vp8_desc_parse(data, size, &d);
    if (n < 0)
        return 0;
    if (n != d.size || n < 1 || n > CQ_VP8_DESC_MAX_SIZE || (size_t)n >= size)
        abort();
    check_rewrite(data, size, &d);
    check_write(data, &d);
    if (cq_vp8_desc_starts_frame(&d))
        check_frame_header(data + n, size - (size_t)n);
    /* The header reader must also survive whatever follows any descriptor. */
    check_frame_header(data + n, size - (size_t)n);
    return 0;
}
