/*
 * Fuzz target for the VP8 frame assembler (codec/vp8_packetizer.h): packets with any
 * sequence numbers, timestamps, markers and payloads, in any order, must never make it
 * read or write out of bounds or hand back more than the payloads it was given.
 *
 * Input: records of seq (2 bytes), ts (1 byte), marker (1 byte), length (1 byte), then
 * that many payload bytes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "codec/vp8_packetizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cq_vp8_assembler_t a;
static uint8_t out[CQ_VP8_ASM_SLOTS * CQ_VP8_ASM_SLOT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_vp8_asm_init(&a);
    size_t given = 0;
    for (size_t at = 0; at + 5 <= size;) {
        uint16_t seq = (uint16_t)(data[at] << 8 | data[at + 1]);
        uint32_t ts = data[at + 2];
        bool marker = data[at + 3] & 1;
        size_t len = data[at + 4];
        at += 5;
        if (len > size - at)
            len = size - at;
        if (cq_vp8_asm_insert(&a, seq, ts, marker, data + at, len) == 0)
            given += len;
        at += len;
        cq_vp8_frame_info_t info;
        int n = cq_vp8_asm_take(&a, seq, out, sizeof out, &info);
        if (n > 0 && (size_t)n > given)
            abort(); /* more out than ever went in */
        if (data[at - 1] == 0xff)
            cq_vp8_asm_drop_before(&a, seq);
    }
    return 0;
}
