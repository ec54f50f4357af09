/*
 * A small, seeded pseudo-random generator for property tests (splitmix64). Deterministic
 * across platforms, so a failing seed printed by a test reproduces everywhere.
 */
#ifndef CQ_TEST_RAND_H
#define CQ_TEST_RAND_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t state;
} cq_test_rand_t;

static inline uint64_t cq_test_rand_u64(cq_test_rand_t *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint32_t cq_test_rand_u32(cq_test_rand_t *r) {
    return (uint32_t)(cq_test_rand_u64(r) >> 32);
}

/* Uniform in [0, bound); bound > 0. The slight modulo bias is irrelevant for tests. */
static inline uint32_t cq_test_rand_below(cq_test_rand_t *r, uint32_t bound) {
    return (uint32_t)(cq_test_rand_u64(r) % bound);
}

static inline void cq_test_rand_fill(cq_test_rand_t *r, uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)cq_test_rand_u64(r);
}

#endif
