#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/rtx.h"
#include "rtp/error.h"
#include "support/test_rand.h"

#define PROPERTY_SEED       0x7274780000000001ull
#define PROPERTY_ITERATIONS 10000

/* A VP8 packet with two CSRCs and a one-byte header extension (RFC 8285), marker set:
 *   92        V=2 P=0 X=1 CC=2
 *   e0        M=1 PT=96
 *   12 34     seq
 *   de ad be ef  timestamp
 *   11 22 33 44  SSRC
 *   aa aa aa aa / bb bb bb bb  CSRCs
 *   be de 00 01  extension profile, 1 word
 *   10 07 00 00  id 1, len 1, value 7, padding
 * header 28 bytes, then 5 bytes of payload. */
static const uint8_t original[] = {
    0x92, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33,
    0x44, 0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb, 0xbe, 0xde,
    0x00, 0x01, 0x10, 0x07, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
};
#define ORIG_HEADER  28
#define ORIG_PAYLOAD 5

/* Its RTX form on PT 97, seq 1, SSRC 55667788: marker kept (e1), OSN 12 34 in front of the
 * payload, everything else the same. */
static const uint8_t wrapped[] = {
    0x92, 0xe1, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x55, 0x66, 0x77, 0x88,
    0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb, 0xbe, 0xde, 0x00, 0x01,
    0x10, 0x07, 0x00, 0x00, 0x12, 0x34, 0x01, 0x02, 0x03, 0x04, 0x05,
};

static void test_rtx_wrap_csrc_and_extension(void **state) {
    (void)state;
    uint8_t out[64];
    assert_int_equal(cq_rtx_size(ORIG_HEADER, ORIG_PAYLOAD), sizeof wrapped);
    int n =
        cq_rtx_wrap(original, ORIG_HEADER, ORIG_PAYLOAD, 97, 0x0001, 0x55667788, out, sizeof out);
    assert_int_equal(n, (int)sizeof wrapped);
    assert_memory_equal(out, wrapped, sizeof wrapped);
}

static void test_rtx_unwrap_csrc_and_extension(void **state) {
    (void)state;
    uint8_t pkt[sizeof wrapped];
    memcpy(pkt, wrapped, sizeof pkt);
    int n = cq_rtx_unwrap(pkt, ORIG_HEADER, ORIG_PAYLOAD + 2, 96, 0x11223344);
    assert_int_equal(n, (int)sizeof original);
    assert_memory_equal(pkt, original, sizeof original);
}

/* Marker clear stays clear; the PT is replaced whole. */
static void test_rtx_wrap_marker_kept(void **state) {
    (void)state;
    uint8_t pkt[sizeof original];
    memcpy(pkt, original, sizeof pkt);
    pkt[1] = 0x7f; /* M = 0, PT = 127 */
    uint8_t out[64];
    assert_int_equal(cq_rtx_wrap(pkt, ORIG_HEADER, ORIG_PAYLOAD, 0, 0, 0, out, sizeof out),
                     (int)sizeof wrapped);
    assert_int_equal(out[1], 0x00);
    pkt[1] = 0x80; /* M = 1, PT = 0 */
    assert_int_equal(cq_rtx_wrap(pkt, ORIG_HEADER, ORIG_PAYLOAD, 127, 0, 0, out, sizeof out),
                     (int)sizeof wrapped);
    assert_int_equal(out[1], 0xff);

    /* And back. */
    assert_int_equal(cq_rtx_unwrap(out, ORIG_HEADER, ORIG_PAYLOAD + 2, 0, 0x11223344),
                     (int)sizeof original);
    assert_int_equal(out[1], 0x80);
}

/* An original with 3 bytes of padding (P = 1, last byte 3): the RTX packet carries neither
 * the padding nor the P bit. */
static void test_rtx_wrap_drops_padding(void **state) {
    (void)state;
    uint8_t padded[sizeof original + 3];
    memcpy(padded, original, sizeof original);
    padded[0] |= 0x20;
    padded[sizeof original] = 0;
    padded[sizeof original + 1] = 0;
    padded[sizeof original + 2] = 3;
    uint8_t out[64];
    memset(out, 0xee, sizeof out);
    int n = cq_rtx_wrap(padded, ORIG_HEADER, ORIG_PAYLOAD, 97, 0x0001, 0x55667788, out, sizeof out);
    assert_int_equal(n, (int)sizeof wrapped);
    assert_memory_equal(out, wrapped, sizeof wrapped);
    assert_int_equal(out[sizeof wrapped], 0xee); /* nothing written past the end */

    /* An RTX packet that is itself padded (P = 1, 4 padding bytes the caller has already
     * excluded from payload_len) unwraps to an unpadded original. */
    uint8_t rtx[sizeof wrapped + 4];
    memcpy(rtx, wrapped, sizeof wrapped);
    rtx[0] |= 0x20;
    memset(rtx + sizeof wrapped, 0, 3);
    rtx[sizeof wrapped + 3] = 4;
    assert_int_equal(cq_rtx_unwrap(rtx, ORIG_HEADER, ORIG_PAYLOAD + 2, 96, 0x11223344),
                     (int)sizeof original);
    assert_memory_equal(rtx, original, sizeof original);
}

/* An original with an empty payload still needs its OSN; its RTX packet unwraps to the bare
 * header. */
static void test_rtx_empty_payload(void **state) {
    (void)state;
    uint8_t out[64];
    assert_int_equal(cq_rtx_wrap(original, ORIG_HEADER, 0, 97, 9, 9, out, sizeof out),
                     ORIG_HEADER + 2);
    assert_int_equal(out[ORIG_HEADER], 0x12);
    assert_int_equal(out[ORIG_HEADER + 1], 0x34);
    assert_int_equal(cq_rtx_unwrap(out, ORIG_HEADER, 2, 96, 0x11223344), ORIG_HEADER);
    assert_memory_equal(out, original, ORIG_HEADER);
}

static void test_rtx_wrap_errors(void **state) {
    (void)state;
    uint8_t out[64];
    for (size_t cap = 0; cap < sizeof wrapped; cap++)
        assert_int_equal(cq_rtx_wrap(original, ORIG_HEADER, ORIG_PAYLOAD, 97, 1, 2, out, cap),
                         CQ_ENOBUFS);
    assert_int_equal(cq_rtx_wrap(original, 11, ORIG_PAYLOAD, 97, 1, 2, out, sizeof out), CQ_EINVAL);
    assert_int_equal(cq_rtx_wrap(original, ORIG_HEADER, ORIG_PAYLOAD, 128, 1, 2, out, sizeof out),
                     CQ_EINVAL);
}

static void test_rtx_unwrap_errors(void **state) {
    (void)state;
    uint8_t pkt[sizeof wrapped];
    memcpy(pkt, wrapped, sizeof pkt);
    /* No room for an OSN: a padding-only probe. */
    assert_int_equal(cq_rtx_unwrap(pkt, ORIG_HEADER, 0, 96, 1), CQ_ETRUNCATED);
    assert_int_equal(cq_rtx_unwrap(pkt, ORIG_HEADER, 1, 96, 1), CQ_ETRUNCATED);
    assert_int_equal(cq_rtx_unwrap(pkt, 11, 7, 96, 1), CQ_EINVAL);
    assert_int_equal(cq_rtx_unwrap(pkt, ORIG_HEADER, 7, 128, 1), CQ_EINVAL);
    assert_memory_equal(pkt, wrapped, sizeof wrapped); /* untouched */
}

/* The test reads fields with its own loads rather than the code under test's helpers. */
static uint16_t load16(const uint8_t *p) {
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Builds a random RTP packet into buf: CSRCs, maybe an extension, maybe padding. Returns
 * the total length and sets the header and payload (without padding) lengths. */
static size_t random_packet(cq_test_rand_t *r, uint8_t *buf, size_t *hlen, size_t *plen) {
    unsigned cc = cq_test_rand_below(r, 16);
    bool ext = cq_test_rand_below(r, 2);
    bool pad = cq_test_rand_below(r, 4) == 0;
    cq_test_rand_fill(r, buf, 12);
    buf[0] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc);
    size_t n = 12;
    cq_test_rand_fill(r, buf + n, 4 * cc);
    n += 4 * cc;
    if (ext) {
        uint16_t words = (uint16_t)cq_test_rand_below(r, 5);
        buf[n] = 0xbe;
        buf[n + 1] = 0xde;
        buf[n + 2] = (uint8_t)(words >> 8);
        buf[n + 3] = (uint8_t)words;
        cq_test_rand_fill(r, buf + n + 4, 4u * words);
        n += 4 + 4u * words;
    }
    *hlen = n;
    *plen = cq_test_rand_below(r, 300);
    cq_test_rand_fill(r, buf + n, *plen);
    n += *plen;
    if (pad) {
        uint8_t count = (uint8_t)(1 + cq_test_rand_below(r, 16));
        memset(buf + n, 0, count);
        buf[n + count - 1] = count;
        n += count;
    }
    return n;
}

/* unwrap(wrap(x)) == x with padding dropped, over random packets; the RTX packet carries
 * the RTX stream's fields and the OSN. */
static void test_rtx_round_trip_property(void **state) {
    (void)state;
    cq_test_rand_t r = {PROPERTY_SEED};
    for (int it = 0; it < PROPERTY_ITERATIONS; it++) {
        uint8_t orig[12 + 60 + 20 + 300 + 16];
        size_t hlen, plen;
        random_packet(&r, orig, &hlen, &plen);
        uint8_t rtx_pt = (uint8_t)cq_test_rand_below(&r, 128);
        uint16_t rtx_seq = (uint16_t)cq_test_rand_u32(&r);
        uint32_t rtx_ssrc = cq_test_rand_u32(&r);

        uint8_t out[sizeof orig + 2];
        int n = cq_rtx_wrap(orig, hlen, plen, rtx_pt, rtx_seq, rtx_ssrc, out, sizeof out);
        if (n != (int)(hlen + plen + 2))
            fail_msg("seed %#llx iteration %d: wrap returned %d", PROPERTY_SEED, it, n);
        uint32_t got_ssrc = load32(out + 8);
        if ((out[0] & 0x20) || (out[1] & 0x7f) != rtx_pt || (out[1] & 0x80) != (orig[1] & 0x80) ||
            load16(out + 2) != rtx_seq || got_ssrc != rtx_ssrc ||
            load16(out + hlen) != load16(orig + 2))
            fail_msg("seed %#llx iteration %d: RTX header wrong", PROPERTY_SEED, it);

        uint8_t pt = orig[1] & 0x7f;
        uint32_t ssrc = load32(orig + 8);
        int back = cq_rtx_unwrap(out, hlen, (size_t)n - hlen, pt, ssrc);
        if (back != (int)(hlen + plen))
            fail_msg("seed %#llx iteration %d: unwrap returned %d", PROPERTY_SEED, it, back);
        orig[0] &= (uint8_t)~0x20; /* padding is not carried */
        if (memcmp(out, orig, hlen + plen) != 0)
            fail_msg("seed %#llx iteration %d: unwrap(wrap(x)) != x", PROPERTY_SEED, it);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtx_wrap_csrc_and_extension),
        cmocka_unit_test(test_rtx_unwrap_csrc_and_extension),
        cmocka_unit_test(test_rtx_wrap_marker_kept),
        cmocka_unit_test(test_rtx_wrap_drops_padding),
        cmocka_unit_test(test_rtx_empty_payload),
        cmocka_unit_test(test_rtx_wrap_errors),
        cmocka_unit_test(test_rtx_unwrap_errors),
        cmocka_unit_test(test_rtx_round_trip_property),
    };
    return cmocka_run_group_tests_name("codec/rtx", tests, NULL, NULL);
}
