#include "codec/vp8_packetizer.h"

#include <string.h>

#include "rtp/error.h"
#include "rtp/seq.h"

int cq_vp8_packetizer_init(cq_vp8_packetizer_t *p, const uint8_t *frame, size_t len,
                           const cq_vp8_desc_t *desc, size_t max_payload) {
    cq_vp8_desc_t d = *desc;
    d.start = true;
    d.partition = 0;
    size_t dsize = cq_vp8_desc_size(&d);
    if (len == 0 || max_payload < 64 || dsize + 1 > max_payload)
        return CQ_EINVAL;
    size_t room = max_payload - dsize;
    *p = (cq_vp8_packetizer_t){.frame = frame,
                               .len = len,
                               .desc = d,
                               .pieces = (len + room - 1) / room,
                               .max_payload = max_payload};
    return (int)p->pieces;
}

int cq_vp8_packetizer_next(cq_vp8_packetizer_t *p, uint8_t *out, size_t cap, bool *last) {
    if (p->next >= p->pieces)
        return 0;
    /* Even pieces: the first (len % pieces) get one byte more. */
    size_t base = p->len / p->pieces, extra = p->len % p->pieces;
    size_t piece = base + (p->next < extra ? 1 : 0);
    cq_vp8_desc_t d = p->desc;
    d.start = p->next == 0;
    int n = cq_vp8_desc_write(&d, out, cap);
    if (n < 0)
        return n;
    if ((size_t)n + piece > cap)
        return CQ_ENOBUFS;
    memcpy(out + n, p->frame + p->offset, piece);
    p->offset += piece;
    p->next++;
    *last = p->next == p->pieces;
    return n + (int)piece;
}

void cq_vp8_asm_init(cq_vp8_assembler_t *a) {
    for (size_t i = 0; i < CQ_VP8_ASM_SLOTS; i++)
        a->slot[i].used = false;
}

bool cq_vp8_asm_has(const cq_vp8_assembler_t *a, uint16_t seq) {
    const cq_vp8_asm_slot_t *s = &a->slot[seq % CQ_VP8_ASM_SLOTS];
    return s->used && s->seq == seq;
}

int cq_vp8_asm_insert(cq_vp8_assembler_t *a, uint16_t seq, uint32_t ts, bool marker,
                      const uint8_t *payload, size_t len) {
    cq_vp8_desc_t d;
    if (cq_vp8_desc_parse(payload, len, &d) < 0)
        return CQ_EMALFORMED;
    if (len > CQ_VP8_ASM_SLOT)
        return CQ_ENOBUFS;
    cq_vp8_asm_slot_t *s = &a->slot[seq % CQ_VP8_ASM_SLOTS];
    if (s->used && s->seq == seq)
        return 0; /* a duplicate (a repair that crossed the original) */
    s->used = true;
    s->seq = seq;
    s->ts = ts;
    s->marker = marker;
    s->len = (uint16_t)len;
    memcpy(s->data, payload, len);
    return 0;
}

static cq_vp8_asm_slot_t *held(cq_vp8_assembler_t *a, uint16_t seq) {
    cq_vp8_asm_slot_t *s = &a->slot[seq % CQ_VP8_ASM_SLOTS];
    return s->used && s->seq == seq ? s : NULL;
}

/* Walks back from last_seq, same timestamp all the way, to the packet that starts the
 * frame. Returns whether every packet is there; *first and *d describe the first. */
static bool span(cq_vp8_assembler_t *a, uint16_t last_seq, uint16_t *first, cq_vp8_desc_t *d) {
    cq_vp8_asm_slot_t *last = held(a, last_seq);
    if (last == NULL || !last->marker)
        return false;
    uint16_t q = last_seq;
    for (unsigned n = 0; n < CQ_VP8_ASM_SLOTS; n++) {
        cq_vp8_asm_slot_t *s = held(a, q);
        if (s == NULL || s->ts != last->ts || cq_vp8_desc_parse(s->data, s->len, d) < 0)
            return false; /* a packet is missing: not complete (yet) */
        if (cq_vp8_desc_starts_frame(d)) {
            *first = q;
            return true;
        }
        q = (uint16_t)(q - 1);
    }
    return false;
}

bool cq_vp8_asm_complete(cq_vp8_assembler_t *a, uint16_t last_seq, uint16_t *first_seq) {
    cq_vp8_desc_t d;
    return span(a, last_seq, first_seq, &d);
}

bool cq_vp8_asm_peek(cq_vp8_assembler_t *a, uint16_t last_seq, uint16_t *first_seq,
                     cq_vp8_desc_t *desc, bool *keyframe) {
    if (!span(a, last_seq, first_seq, desc))
        return false;
    /* A keyframe's header (RFC 6386 §9.1) comes whole in its first packet: 10 bytes. */
    const cq_vp8_asm_slot_t *s = held(a, *first_seq);
    cq_vp8_frame_header_t fh;
    *keyframe = cq_vp8_frame_header_parse(s->data + desc->size, s->len - desc->size, &fh) > 0 &&
                fh.keyframe;
    return true;
}

int cq_vp8_asm_take(cq_vp8_assembler_t *a, uint16_t last_seq, uint8_t *out, size_t cap,
                    cq_vp8_frame_info_t *info) {
    uint16_t first;
    cq_vp8_desc_t d;
    if (!span(a, last_seq, &first, &d))
        return 0;
    cq_vp8_asm_slot_t *last = held(a, last_seq);
    cq_vp8_desc_t first_desc = d;
    size_t total = 0;
    for (uint16_t q = first;; q = (uint16_t)(q + 1)) {
        cq_vp8_asm_slot_t *s = held(a, q);
        cq_vp8_desc_parse(s->data, s->len, &d);
        size_t n = s->len - d.size;
        if (total + n > cap)
            return CQ_ENOBUFS;
        memcpy(out + total, s->data + d.size, n);
        total += n;
        if (q == last_seq)
            break;
    }
    for (uint16_t q = first;; q = (uint16_t)(q + 1)) {
        held(a, q)->used = false;
        if (q == last_seq)
            break;
    }
    cq_vp8_frame_header_t fh;
    *info = (cq_vp8_frame_info_t){.ts = last->ts,
                                  .first_seq = first,
                                  .last_seq = last_seq,
                                  .desc = first_desc,
                                  .keyframe = cq_vp8_frame_header_parse(out, total, &fh) > 0 &&
                                              fh.keyframe};
    return (int)total;
}

void cq_vp8_asm_drop_before(cq_vp8_assembler_t *a, uint16_t seq) {
    for (size_t i = 0; i < CQ_VP8_ASM_SLOTS; i++)
        if (a->slot[i].used && cq_seq_newer(seq, a->slot[i].seq))
            a->slot[i].used = false;
}
