#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_bytes.h"

#include "codec/red.h"
#include "rtp/error.h"
#include "support/test_rand.h"

#define PROPERTY_SEED       0x7265640000000001ull
#define PROPERTY_ITERATIONS 5000

/* RFC 2198 §3's example: one redundant block of LPC (PT 7, 14 bytes) and a primary block
 * of DVI4 (PT 5, 84 bytes). The figure leaves the timestamp offset unstated; 160 is one
 * 20 ms packet at 8 kHz, the usual choice. Headers: 87 | 02 80 0e (offset 160 << 10 |
 * length 14 in the low 24 bits) | 05. */
static void test_red_parse_rfc2198_example(void **state) {
    (void)state;
    uint8_t pkt[5 + 14 + 84];
    const uint8_t headers[] = {0x87, 0x02, 0x80, 0x0e, 0x05};
    memcpy(pkt, headers, sizeof headers);
    memset(pkt + 5, 0x11, 14);      /* LPC */
    memset(pkt + 5 + 14, 0x22, 84); /* DVI4 */

    cq_red_block_t b[2];
    assert_int_equal(cq_red_parse(pkt, sizeof pkt, b, 2), 2);
    assert_int_equal(b[0].pt, 7);
    assert_int_equal(b[0].ts_offset, 160);
    assert_int_equal(b[0].len, 14);
    assert_ptr_equal(b[0].data, pkt + 5);
    assert_int_equal(b[1].pt, 5);
    assert_int_equal(b[1].ts_offset, 0);
    assert_int_equal(b[1].len, 84);
    assert_ptr_equal(b[1].data, pkt + 5 + 14);

    /* And the writer gives back the same bytes. */
    uint8_t out[sizeof pkt];
    assert_int_equal(cq_red_size(b, 2), sizeof pkt);
    assert_int_equal(cq_red_write(b, 2, out, sizeof out), (int)sizeof pkt);
    assert_memory_equal(out, pkt, sizeof pkt);
}

/* What libwebrtc sends for Opus (PT 111) with RED (PT 63): two redundant 20 ms frames at
 * 48 kHz (offsets 1920 and 960), then the primary. Hand-assembled: ef 1e 00 03 | ef 0f 00
 * 02 | 6f, then 3 + 2 + 4 data bytes. */
static void test_red_parse_opus_two_redundant(void **state) {
    (void)state;
    const uint8_t pkt[] = {0xef, 0x1e, 0x00, 0x03, 0xef, 0x0f, 0x00, 0x02, 0x6f,
                           0xa1, 0xa2, 0xa3, 0xb1, 0xb2, 0xc1, 0xc2, 0xc3, 0xc4};
    cq_red_block_t b[4];
    assert_int_equal(cq_red_parse(pkt, sizeof pkt, b, 4), 3);
    assert_int_equal(b[0].pt, 111);
    assert_int_equal(b[0].ts_offset, 1920);
    assert_int_equal(b[0].len, 3);
    assert_int_equal(b[0].data[0], 0xa1);
    assert_int_equal(b[1].pt, 111);
    assert_int_equal(b[1].ts_offset, 960);
    assert_int_equal(b[1].len, 2);
    assert_int_equal(b[1].data[0], 0xb1);
    assert_int_equal(b[2].pt, 111);
    assert_int_equal(b[2].len, 4);
    assert_int_equal(b[2].data[0], 0xc1);
}

/* A primary block alone (what a RED sender emits before it has history), and an empty
 * primary. */
static void test_red_parse_primary_only(void **state) {
    (void)state;
    const uint8_t pkt[] = {0x6f, 0x01, 0x02};
    cq_red_block_t b[1];
    assert_int_equal(cq_red_parse(pkt, sizeof pkt, b, 1), 1);
    assert_int_equal(b[0].pt, 111);
    assert_int_equal(b[0].len, 2);
    assert_ptr_equal(b[0].data, pkt + 1);

    assert_int_equal(cq_red_parse(pkt, 1, b, 1), 1);
    assert_int_equal(b[0].len, 0);

    /* A redundant block that takes all the data, leaving the primary empty. */
    const uint8_t all_red[] = {0x80, 0x00, 0x00, 0x01, 0x00, 0x99};
    cq_red_block_t c[2];
    assert_int_equal(cq_red_parse(all_red, sizeof all_red, c, 2), 2);
    assert_int_equal(c[0].len, 1);
    assert_int_equal(c[1].len, 0);
}

/* The largest field values: offset 16383, length 1023, PT 127. */
static void test_red_limits(void **state) {
    (void)state;
    static uint8_t red_data[1023];
    static uint8_t pkt[4 + 1 + 1023 + 1];
    memset(red_data, 0x5a, sizeof red_data);
    const uint8_t primary = 0x33;
    cq_red_block_t in[2] = {
        {.pt = 127, .ts_offset = 16383, .len = 1023, .data = red_data},
        {.pt = 127, .ts_offset = 0, .len = 1, .data = &primary},
    };
    assert_int_equal(cq_red_write(in, 2, pkt, sizeof pkt), (int)sizeof pkt);
    const uint8_t want_headers[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_memory_equal(pkt, want_headers, sizeof want_headers);

    cq_red_block_t out[2];
    assert_int_equal(cq_red_parse(pkt, sizeof pkt, out, 2), 2);
    assert_int_equal(out[0].ts_offset, 16383);
    assert_int_equal(out[0].len, 1023);
    assert_int_equal(out[0].pt, 127);
    assert_int_equal(out[1].len, 1);
    assert_int_equal(out[1].data[0], 0x33);

    /* One past each limit is refused. */
    static uint8_t buf[4096];
    in[0].ts_offset = 16384;
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), CQ_EINVAL);
    in[0].ts_offset = 16383;
    in[0].len = 1024;
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), CQ_EINVAL);
    in[0].len = 1023;
    in[0].pt = 128;
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), CQ_EINVAL);
    in[0].pt = 127;
    in[1].pt = 128;
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), CQ_EINVAL);
    in[1].pt = 127;
    in[1].ts_offset = 1; /* the primary has no offset field */
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), CQ_EINVAL);
    in[1].ts_offset = 0;
    /* The primary may exceed 1023 bytes: its length is implicit. */
    static uint8_t big[1400];
    in[1].len = sizeof big;
    in[1].data = big;
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), 4 + 1 + 1023 + 1400);
}

/* A heap copy of exactly n bytes, so that the sanitizer build catches a read past the end
 * of a truncated input (a prefix of a larger array would hide it). */

static void test_red_parse_truncated_at_every_length(void **state) {
    (void)state;
    const uint8_t pkt[] = {0xef, 0x1e, 0x00, 0x03, 0xef, 0x0f, 0x00, 0x02, 0x6f,
                           0xa1, 0xa2, 0xa3, 0xb1, 0xb2, 0xc1, 0xc2, 0xc3, 0xc4};
    cq_red_block_t b[4] = {{.pt = 99}};
    for (size_t cut = 0; cut < sizeof pkt; cut++) {
        uint8_t *in = cq_test_exact_copy(pkt, cut);
        int rc = cq_red_parse(in, cut, b, 4);
        free(in);
        int want;
        if (cut < 9)
            want = CQ_ETRUNCATED; /* inside the headers */
        else if (cut < 9 + 3 + 2)
            want = CQ_EMALFORMED; /* redundant lengths overrun */
        else
            want = 3; /* a shorter primary */
        assert_int_equal(rc, want);
        if (rc < 0)
            assert_int_equal(b[0].pt, 99); /* untouched */
    }
}

static void test_red_parse_errors(void **state) {
    (void)state;
    cq_red_block_t b[2] = {{.pt = 99}, {.pt = 99}};
    assert_int_equal(cq_red_parse(NULL, 0, b, 2), CQ_ETRUNCATED);

    /* F = 1 on every header: the primary's header never comes. */
    const uint8_t no_primary[] = {0x80, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00};
    assert_int_equal(cq_red_parse(no_primary, sizeof no_primary, b, 2), CQ_ETRUNCATED);

    /* Length 5 with 4 bytes of data after the headers. */
    const uint8_t overrun[] = {0x80, 0x00, 0x00, 0x05, 0x00, 1, 2, 3, 4};
    assert_int_equal(cq_red_parse(overrun, sizeof overrun, b, 2), CQ_EMALFORMED);

    /* Three blocks into room for two; room for zero. */
    const uint8_t three[] = {0x80, 0, 0, 0, 0x80, 0, 0, 0, 0x00};
    assert_int_equal(cq_red_parse(three, sizeof three, b, 2), CQ_ENOBUFS);
    const uint8_t one[] = {0x00};
    assert_int_equal(cq_red_parse(one, sizeof one, b, 0), CQ_ENOBUFS);
    assert_int_equal(b[0].pt, 99);
    assert_int_equal(b[1].pt, 99);
}

static void test_red_write_errors(void **state) {
    (void)state;
    uint8_t buf[32];
    const uint8_t data[4] = {1, 2, 3, 4};
    cq_red_block_t in[2] = {
        {.pt = 111, .ts_offset = 960, .len = 4, .data = data},
        {.pt = 111, .len = 4, .data = data},
    };
    assert_int_equal(cq_red_write(in, 0, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_red_size(in, 0), 0);
    assert_int_equal(cq_red_size(in, 2), 4 + 1 + 8);
    for (size_t cap = 0; cap < 13; cap++)
        assert_int_equal(cq_red_write(in, 2, buf, cap), CQ_ENOBUFS);
    assert_int_equal(cq_red_write(in, 2, buf, 13), 13);
    const uint8_t want[] = {0xef, 0x0f, 0x00, 0x04, 0x6f, 1, 2, 3, 4, 1, 2, 3, 4};
    assert_memory_equal(buf, want, sizeof want);

    in[0].data = NULL;
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), CQ_EINVAL);
    in[0].len = 0; /* NULL is fine for an empty block */
    assert_int_equal(cq_red_write(in, 2, buf, sizeof buf), 9);
}

/* blocks -> write -> parse -> same blocks, and parse -> write -> same bytes. */
static void test_red_round_trip_property(void **state) {
    (void)state;
    cq_test_rand_t r = {PROPERTY_SEED};
    static uint8_t pool[8 * 1023 + 1500];
    cq_test_rand_fill(&r, pool, sizeof pool);
    for (int it = 0; it < PROPERTY_ITERATIONS; it++) {
        cq_red_block_t in[8];
        size_t n = 1 + cq_test_rand_below(&r, 8);
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
            bool primary = i + 1 == n;
            in[i].pt = (uint8_t)cq_test_rand_below(&r, 128);
            in[i].ts_offset = primary ? 0 : (uint16_t)cq_test_rand_below(&r, 16384);
            /* Mostly short blocks, now and then the limit. */
            uint32_t max = primary ? 1500 : (cq_test_rand_below(&r, 8) == 0 ? 1024 : 64);
            in[i].len = cq_test_rand_below(&r, max);
            in[i].data = pool + used;
            used += in[i].len;
        }
        static uint8_t buf[sizeof pool + 8 * 4];
        int w = cq_red_write(in, n, buf, sizeof buf);
        if (w < 0 || (size_t)w != cq_red_size(in, n))
            fail_msg("seed %#llx iteration %d: write returned %d", PROPERTY_SEED, it, w);

        cq_red_block_t out[8];
        int got = cq_red_parse(buf, (size_t)w, out, 8);
        if (got != (int)n)
            fail_msg("seed %#llx iteration %d: parse gave %d of %zu", PROPERTY_SEED, it, got, n);
        for (size_t i = 0; i < n; i++) {
            if (out[i].pt != in[i].pt || out[i].ts_offset != in[i].ts_offset ||
                out[i].len != in[i].len ||
                (in[i].len && memcmp(out[i].data, in[i].data, in[i].len) != 0))
                fail_msg("seed %#llx iteration %d: block %zu differs", PROPERTY_SEED, it, i);
        }
        static uint8_t again[sizeof buf];
        if (cq_red_write(out, n, again, sizeof again) != w || memcmp(again, buf, (size_t)w) != 0)
            fail_msg("seed %#llx iteration %d: rewrite differs", PROPERTY_SEED, it);
    }
}

/* The relay's lean copy: the header with the primary's PT (marker kept, padding bit
 * cleared, extensions and all else untouched) and the primary's data, nothing else. */
static void test_red_primary_packet(void **state) {
    (void)state;
    /* V=2 P=1 X=1, M=1 PT 63, seq, ts, ssrc, a one-byte-header extension of one word. */
    const uint8_t hdr[] = {0xb0, 0x80 | 63, 0x12, 0x34, 0,    0,    0x03, 0xc0, 0xde, 0xad,
                           0xbe, 0xef,      0xbe, 0xde, 0x00, 0x01, 0x32, 0xab, 0xcd, 0x00};
    uint8_t payload[1 + 4 + 3 + 5];
    const cq_red_block_t in[2] = {
        {.pt = 111, .ts_offset = 960, .len = 3, .data = (const uint8_t *)"old"},
        {.pt = 111, .len = 5, .data = (const uint8_t *)"fresh"}};
    assert_int_equal(cq_red_write(in, 2, payload, sizeof payload), (int)sizeof payload);
    uint8_t pkt[sizeof hdr + sizeof payload];
    memcpy(pkt, hdr, sizeof hdr);
    memcpy(pkt + sizeof hdr, payload, sizeof payload);
    cq_red_block_t b[2];
    assert_int_equal(cq_red_parse(pkt + sizeof hdr, sizeof payload, b, 2), 2);

    uint8_t out[64];
    memset(out, 0x55, sizeof out);
    int n = cq_red_primary_packet(pkt, sizeof hdr, &b[1], out, sizeof out);
    assert_int_equal(n, (int)sizeof hdr + 5);
    assert_int_equal(out[0], 0x90);       /* padding bit gone, V and X kept */
    assert_int_equal(out[1], 0x80 | 111); /* marker kept, the primary's PT */
    assert_memory_equal(out + 2, hdr + 2, sizeof hdr - 2);
    assert_memory_equal(out + sizeof hdr, "fresh", 5);
    assert_int_equal(out[n], 0x55); /* nothing past it */

    assert_int_equal(cq_red_primary_packet(pkt, sizeof hdr, &b[1], out, sizeof hdr + 4),
                     CQ_ENOBUFS);
    assert_int_equal(cq_red_primary_packet(pkt, 11, &b[1], out, sizeof out), CQ_EINVAL);
    cq_red_block_t bad = b[1];
    bad.pt = 128;
    assert_int_equal(cq_red_primary_packet(pkt, sizeof hdr, &bad, out, sizeof out), CQ_EINVAL);
    cq_red_block_t empty = {.pt = 111, .len = 0, .data = NULL};
    assert_int_equal(cq_red_primary_packet(pkt, sizeof hdr, &empty, out, sizeof out),
                     (int)sizeof hdr);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_red_parse_rfc2198_example),
        cmocka_unit_test(test_red_parse_opus_two_redundant),
        cmocka_unit_test(test_red_parse_primary_only),
        cmocka_unit_test(test_red_limits),
        cmocka_unit_test(test_red_parse_truncated_at_every_length),
        cmocka_unit_test(test_red_parse_errors),
        cmocka_unit_test(test_red_write_errors),
        cmocka_unit_test(test_red_round_trip_property),
        cmocka_unit_test(test_red_primary_packet),
    };
    return cmocka_run_group_tests_name("codec/red", tests, NULL, NULL);
}
