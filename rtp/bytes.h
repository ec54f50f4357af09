/*
 * Explicit big-endian (network order) loads and stores.
 *
 * Wire formats in chasqui are read byte by byte through these helpers, never by laying a
 * struct or a bitfield over packet bytes: alignment, padding and bit order of such structs
 * are the compiler's choice, network order is not. The compiler turns these into single
 * loads plus a byte swap where the target allows it.
 *
 * The caller guarantees the bytes exist; bounds are checked by the parser's cursor.
 */
#ifndef CQ_RTP_BYTES_H
#define CQ_RTP_BYTES_H

#include <stdint.h>

static inline uint16_t cq_load_be16(const uint8_t *p) {
    return (uint16_t)((uint16_t)p[0] << 8 | (uint16_t)p[1]);
}

static inline uint32_t cq_load_be24(const uint8_t *p) {
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | (uint32_t)p[2];
}

static inline uint32_t cq_load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t cq_load_be64(const uint8_t *p) {
    return (uint64_t)cq_load_be32(p) << 32 | (uint64_t)cq_load_be32(p + 4);
}

static inline void cq_store_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void cq_store_be24(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static inline void cq_store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void cq_store_be64(uint8_t *p, uint64_t v) {
    cq_store_be32(p, (uint32_t)(v >> 32));
    cq_store_be32(p + 4, (uint32_t)v);
}

#endif
