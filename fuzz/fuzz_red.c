/*
 * Fuzz target for RED (RFC 2198). Any bytes must parse to blocks or a negative error
 * without reading past the input. When they parse, the blocks must tile the payload, and
 * writing them back must give the input byte for byte: RED has no reserved bits, so parse
 * and write are exact inverses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/red.h"
#include "rtp/error.h"

#define MAX_BLOCKS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_red_block_t blocks[MAX_BLOCKS];
    int n = cq_red_parse(data, size, blocks, MAX_BLOCKS);
    if (n < 0)
        return 0;
    if (n < 1 || n > MAX_BLOCKS)
        abort();

    /* The data blocks follow the headers back to back and end at the payload's end. */
    size_t headers = (size_t)(n - 1) * CQ_RED_HEADER_SIZE + CQ_RED_PRIMARY_HEADER_SIZE;
    const uint8_t *expect = data + headers;
    for (int i = 0; i < n; i++) {
        if (blocks[i].data != expect || blocks[i].pt > 127)
            abort();
        if (i + 1 < n &&
            (blocks[i].ts_offset > CQ_RED_MAX_TS_OFFSET || blocks[i].len > CQ_RED_MAX_BLOCK_LEN))
            abort();
        expect += blocks[i].len;
    }
    if (expect != data + size || blocks[n - 1].ts_offset != 0)
        abort();

    /* A smaller block array must be refused whole. */
    if (n > 1 && cq_red_parse(data, size, blocks + 1, (size_t)n - 1) != CQ_ENOBUFS)
        abort();

    if (cq_red_size(blocks, (size_t)n) != size)
        abort();
    uint8_t *out = malloc(size);
    if (!out)
        return 0;
    if (cq_red_write(blocks, (size_t)n, out, size) != (int)size || memcmp(out, data, size) != 0)
        abort();
    if (cq_red_write(blocks, (size_t)n, out, size - 1) != CQ_ENOBUFS)
        abort();
    free(out);
    return 0;
}
