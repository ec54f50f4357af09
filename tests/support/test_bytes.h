/*
 * Exact-size heap copies for truncation tests: a parser handed such a copy of the first n
 * bytes of a packet cannot read byte n without AddressSanitizer noticing, whereas a cut
 * inside a larger stack array would read valid memory and pass unnoticed.
 */
#ifndef CQ_TEST_BYTES_H
#define CQ_TEST_BYTES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A malloc'd copy of [src, src + n) (one byte when n is 0, so the pointer is valid); the
 * caller frees it. Aborts the test binary on allocation failure. */
static inline uint8_t *cq_test_exact_copy(const uint8_t *src, size_t n) {
    /* calloc: the zero-length case hands the parser a byte it must not read, and GCC's
     * -Wmaybe-uninitialized rightly objects to passing malloc'd bytes to a const pointer. */
    uint8_t *p = calloc(n ? n : 1, 1);
    if (p == NULL)
        abort();
    if (n)
        memcpy(p, src, n);
    return p;
}

#endif
