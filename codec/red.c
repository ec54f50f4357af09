#include "codec/red.h"

#include <limits.h>
#include <string.h>

#include "rtp/bytes.h"
#include "rtp/error.h"

#define RED_F 0x80u

_Static_assert(CQ_RED_HEADER_SIZE == 4, "RFC 2198 §3: F + PT (8) + offset (14) + length (10)");
_Static_assert(CQ_RED_PRIMARY_HEADER_SIZE == 1, "RFC 2198 §3: F + PT (8)");
_Static_assert(CQ_RED_MAX_TS_OFFSET == (1u << 14) - 1, "14-bit timestamp offset");
_Static_assert(CQ_RED_MAX_BLOCK_LEN == (1u << 10) - 1, "10-bit block length");

int cq_red_parse(const uint8_t *payload, size_t len, cq_red_block_t *blocks, size_t cap) {
    /* Checked before any pointer arithmetic: an empty payload may come as NULL. */
    if (len == 0)
        return CQ_ETRUNCATED;
    const uint8_t *p = payload;
    const uint8_t *end = payload + len;

    /* First pass: walk the headers only, so that every error (and the block count the
     * caller needs) is known before blocks is touched. */
    size_t n = 1;
    size_t redundant_bytes = 0;
    for (;;) {
        if (p >= end)
            return CQ_ETRUNCATED;
        if ((*p & RED_F) == 0)
            break;
        if ((size_t)(end - p) < CQ_RED_HEADER_SIZE)
            return CQ_ETRUNCATED;
        redundant_bytes += cq_load_be16(p + 2) & CQ_RED_MAX_BLOCK_LEN;
        p += CQ_RED_HEADER_SIZE;
        n++;
    }
    p += CQ_RED_PRIMARY_HEADER_SIZE;
    /* Each redundant length is at most 1023 and there are at most len / 4 of them, so the
     * sum cannot overflow size_t. */
    if (redundant_bytes > (size_t)(end - p))
        return CQ_EMALFORMED;
    if (n > cap)
        return CQ_ENOBUFS;
    /* The count is returned as an int; only a payload of gigabytes could exceed it. */
    if (n > INT_MAX)
        return CQ_EINVAL;

    /* Second pass: fill the blocks, data following the headers in header order. */
    const uint8_t *h = payload;
    const uint8_t *data = p;
    for (size_t i = 0; i + 1 < n; i++, h += CQ_RED_HEADER_SIZE) {
        uint32_t word = cq_load_be32(h);
        blocks[i].pt = (uint8_t)((word >> 24) & 0x7fu);
        blocks[i].ts_offset = (uint16_t)((word >> 10) & CQ_RED_MAX_TS_OFFSET);
        blocks[i].len = word & CQ_RED_MAX_BLOCK_LEN;
        blocks[i].data = data;
        data += blocks[i].len;
    }
    blocks[n - 1].pt = (uint8_t)(*h & 0x7fu);
    blocks[n - 1].ts_offset = 0;
    blocks[n - 1].len = (size_t)(end - data);
    blocks[n - 1].data = data;
    return (int)n;
}

size_t cq_red_size(const cq_red_block_t *blocks, size_t n) {
    if (n == 0)
        return 0;
    size_t size = (n - 1) * CQ_RED_HEADER_SIZE + CQ_RED_PRIMARY_HEADER_SIZE;
    for (size_t i = 0; i < n; i++)
        size += blocks[i].len;
    return size;
}

int cq_red_write(const cq_red_block_t *blocks, size_t n, uint8_t *buf, size_t cap) {
    if (n == 0)
        return CQ_EINVAL;
    /* Check every field first (and the total against overflow) so that a bad block late in
     * the list does not leave a half-written payload behind a success-looking prefix. */
    size_t size = (n - 1) * CQ_RED_HEADER_SIZE + CQ_RED_PRIMARY_HEADER_SIZE;
    if (n - 1 > (size_t)INT_MAX / CQ_RED_HEADER_SIZE)
        return CQ_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const cq_red_block_t *b = &blocks[i];
        if (b->pt > 0x7f || (b->len > 0 && b->data == NULL))
            return CQ_EINVAL;
        if (i + 1 < n) {
            if (b->ts_offset > CQ_RED_MAX_TS_OFFSET || b->len > CQ_RED_MAX_BLOCK_LEN)
                return CQ_EINVAL;
        } else if (b->ts_offset != 0) {
            return CQ_EINVAL;
        }
        if (b->len > (size_t)INT_MAX - size)
            return CQ_EINVAL;
        size += b->len;
    }
    if (cap < size)
        return CQ_ENOBUFS;

    uint8_t *p = buf;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t word = RED_F << 24 | (uint32_t)blocks[i].pt << 24 |
                        (uint32_t)blocks[i].ts_offset << 10 | (uint32_t)blocks[i].len;
        cq_store_be32(p, word);
        p += CQ_RED_HEADER_SIZE;
    }
    *p++ = blocks[n - 1].pt; /* F = 0: the primary's header */
    for (size_t i = 0; i < n; i++) {
        if (blocks[i].len > 0)
            memcpy(p, blocks[i].data, blocks[i].len);
        p += blocks[i].len;
    }
    return (int)size;
}

int cq_red_primary_packet(const uint8_t *pkt, size_t header_len, const cq_red_block_t *primary,
                          uint8_t *out, size_t cap) {
    if (header_len < 12 || primary->pt > 127 || (primary->len > 0 && primary->data == NULL) ||
        header_len + primary->len > INT_MAX)
        return CQ_EINVAL;
    if (header_len + primary->len > cap)
        return CQ_ENOBUFS;
    memcpy(out, pkt, header_len);
    if (primary->len > 0)
        memcpy(out + header_len, primary->data, primary->len);
    out[0] &= (uint8_t)~0x20; /* the RED packet's padding is not copied */
    out[1] = (uint8_t)((out[1] & 0x80) | primary->pt);
    return (int)(header_len + primary->len);
}
