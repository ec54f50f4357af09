#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/test_bytes.h"

#include "rtp/error.h"
#include "rtp/rtp.h"
#include "support/test_rand.h"

/* ---- Hand-assembled packets, with the fields they must parse to ------------------------ */

/* Opus, no CSRC, no extension: V=2, M=1, PT=111, seq 1, ts 960, SSRC 0x11223344. */
static const uint8_t pkt_minimal[] = {
    0x80, 0xef, 0x00, 0x01, 0x00, 0x00, 0x03, 0xc0,
    0x11, 0x22, 0x33, 0x44, 0xf8, 0xff, 0xfe, /* payload: an Opus DTX frame */
};

/* An audio mixer's output: CC=2, M=1, PT=96, seq 0xabcd, ts 0x10000, two CSRCs. */
static const uint8_t pkt_csrc[] = {
    0x82, 0xe0, 0xab, 0xcd, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02,
    0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, /* CSRCs */
    0xde, 0xad,                                                 /* payload */
};

/* P=1: 5 payload bytes and 3 bytes of padding (count 3 in the last byte). */
static const uint8_t pkt_padded[] = {
    0xa0, 0x60, 0x00, 0x07, 0x00, 0x00, 0x00, 0x64, 0x00,
    0x00, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, /* payload */
    0x00, 0x00, 0x03,                               /* padding */
};

/* A bandwidth probe: P=1 and nothing but 4 bytes of padding. */
static const uint8_t pkt_padding_only[] = {
    0xa0, 0x61, 0x00, 0x08, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04,
};

/* RFC 8285 §4.2's example layout: id 1 (1 byte), id 2 (2 bytes), two padding bytes,
 * id 3 (4 bytes), in a 3-word 0xBEDE block. */
static const uint8_t pkt_one_byte[] = {
    0x90, 0x60, 0x00, 0x2a, 0x00, 0x00, 0x10, 0x00,
    0xca, 0xfe, 0xba, 0xbe, 0xbe, 0xde, 0x00, 0x03, /* profile, 3 words */
    0x10, 0xaa, 0x21, 0xbb, 0xcc, 0x00, 0x00, 0x33, /* id1 L=0 | id2 L=1 | pad pad | id3 L=3 */
    0xdd, 0xee, 0xff, 0x11,                         /* id3 data */
    0x9d, 0x01, 0x2a,                               /* payload: VP8 descriptor start */
};

/* RFC 8285 §4.3's example layout with appbits 5: id 1 (0 bytes), id 2 (1 byte), one
 * padding byte, id 15 (4 bytes: 15 is an ordinary id in the two-byte form). */
static const uint8_t pkt_two_byte[] = {
    0x90, 0x60, 0x00, 0x2b, 0x00, 0x00, 0x10, 0x00,
    0xca, 0xfe, 0xba, 0xbe, 0x10, 0x05, 0x00, 0x03, /* profile 0x1005, 3 words */
    0x01, 0x00, 0x02, 0x01, 0x42, 0x00, 0x0f, 0x04, /* id1 len0 | id2 len1 42 | pad | id15 */
    0xd1, 0xd2, 0xd3, 0xd4,                         /* id15 data */
    0x55,                                           /* payload */
};

/* What Chrome sends for Opus: ssrc-audio-level (id 1), abs-send-time (id 2) and
 * transport-wide-cc (id 3) in the one-byte form, written in the order 2, 3, 1. */
static const uint8_t pkt_chrome_audio[] = {
    0x90, 0x6f, 0x5b, 0x2c,             /* V=2 X=1, PT=111, seq 23340 */
    0x8f, 0x3a, 0x10, 0xc0,             /* ts */
    0x4f, 0x12, 0x9e, 0x05,             /* SSRC */
    0xbe, 0xde, 0x00, 0x03,             /* one-byte form, 3 words */
    0x22, 0x4c, 0x2b, 0x1d,             /* id 2 L=2: abs-send-time 0x4c2b1d */
    0x31, 0x01, 0x57,                   /* id 3 L=1: transport-wide seq 343 */
    0x10, 0x9e,                         /* id 1 L=0: voice, -30 dBov */
    0x00, 0x00, 0x00,                   /* padding to the word */
    0x78, 0x0b, 0xe4, 0xc1, 0x36, 0xec, /* Opus payload (hybrid FB 20 ms TOC) */
};

/* Parses a copy of bytes[0..len) held in an exact-size heap block, so that AddressSanitizer
 * catches any read past the end; returns the parser's result. */
static int parse_exact(const uint8_t *bytes, size_t len, cq_rtp_view_t *v) {
    uint8_t *copy = cq_test_exact_copy(bytes, len);
    int rc = cq_rtp_parse(copy, len, v);
    free(copy);
    return rc;
}

static void assert_element(const cq_rtp_ext_t *e, uint8_t id, const uint8_t *data, uint8_t len) {
    assert_int_equal(e->id, id);
    assert_int_equal(e->len, len);
    if (len)
        assert_memory_equal(e->data, data, len);
}

/* ---- Parsing --------------------------------------------------------------------------------- */

static void test_rtp_parse_minimal(void **state) {
    (void)state;
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt_minimal, sizeof pkt_minimal, &v), 12);
    assert_ptr_equal(v.pkt, pkt_minimal);
    assert_int_equal(v.pkt_len, sizeof pkt_minimal);
    assert_int_equal(v.version, 2);
    assert_false(v.padding);
    assert_false(v.extension);
    assert_true(v.marker);
    assert_int_equal(v.payload_type, 111);
    assert_int_equal(v.seq, 1);
    assert_int_equal(v.timestamp, 960);
    assert_int_equal(v.ssrc, 0x11223344);
    assert_int_equal(v.csrc_count, 0);
    assert_int_equal(v.ext_form, CQ_RTP_EXT_NONE);
    assert_int_equal(v.ext_profile, 0);
    assert_null(v.ext_data);
    assert_int_equal(v.ext_len, 0);
    assert_int_equal(v.header_len, 12);
    assert_ptr_equal(v.payload, pkt_minimal + 12);
    assert_int_equal(v.payload_len, 3);
    assert_int_equal(v.padding_len, 0);

    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &v);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);
    const uint8_t *data = NULL;
    size_t len = 99;
    assert_int_equal(cq_rtp_ext_find(&v, 1, &data, &len), CQ_ENOENT);
    assert_null(data);
    assert_int_equal(len, 99);
}

static void test_rtp_parse_csrcs(void **state) {
    (void)state;
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt_csrc, sizeof pkt_csrc, &v), 20);
    assert_true(v.marker);
    assert_int_equal(v.payload_type, 96);
    assert_int_equal(v.seq, 0xabcd);
    assert_int_equal(v.timestamp, 0x10000);
    assert_int_equal(v.ssrc, 0x01020304);
    assert_int_equal(v.csrc_count, 2);
    assert_ptr_equal(v.csrc, pkt_csrc + 12);
    assert_int_equal(cq_rtp_view_csrc(&v, 0), 0x0a0b0c0d);
    assert_int_equal(cq_rtp_view_csrc(&v, 1), 0x0e0f1011);
    assert_ptr_equal(v.payload, pkt_csrc + 20);
    assert_int_equal(v.payload_len, 2);
}

static void test_rtp_parse_padding(void **state) {
    (void)state;
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt_padded, sizeof pkt_padded, &v), 12);
    assert_true(v.padding);
    assert_false(v.marker);
    assert_int_equal(v.seq, 7);
    assert_int_equal(v.padding_len, 3);
    assert_int_equal(v.payload_len, 5);
    assert_memory_equal(v.payload, "\x01\x02\x03\x04\x05", 5);

    assert_int_equal(cq_rtp_parse(pkt_padding_only, sizeof pkt_padding_only, &v), 12);
    assert_int_equal(v.payload_type, 97);
    assert_int_equal(v.padding_len, 4);
    assert_int_equal(v.payload_len, 0);
    assert_ptr_equal(v.payload, pkt_padding_only + 12);
}

static void test_rtp_parse_one_byte_extensions(void **state) {
    (void)state;
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt_one_byte, sizeof pkt_one_byte, &v), 28);
    assert_true(v.extension);
    assert_int_equal(v.ext_form, CQ_RTP_EXT_ONE_BYTE);
    assert_int_equal(v.ext_profile, 0xbede);
    assert_int_equal(v.ext_appbits, 0);
    assert_ptr_equal(v.ext_data, pkt_one_byte + 16);
    assert_int_equal(v.ext_len, 12);
    assert_int_equal(v.payload_len, 3);
    assert_int_equal(v.payload[0], 0x9d);

    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &v);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1);
    assert_element(&e, 1, (const uint8_t *)"\xaa", 1);
    assert_ptr_equal(e.data, pkt_one_byte + 17);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1);
    assert_element(&e, 2, (const uint8_t *)"\xbb\xcc", 2);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1); /* the two padding bytes skipped */
    assert_element(&e, 3, (const uint8_t *)"\xdd\xee\xff\x11", 4);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);

    const uint8_t *data;
    size_t len;
    assert_int_equal(cq_rtp_ext_find(&v, 3, &data, &len), 0);
    assert_ptr_equal(data, pkt_one_byte + 24);
    assert_int_equal(len, 4);
    assert_int_equal(cq_rtp_ext_find(&v, 2, &data, &len), 0);
    assert_int_equal(len, 2);
    assert_int_equal(cq_rtp_ext_find(&v, 4, &data, &len), CQ_ENOENT);
    assert_int_equal(cq_rtp_ext_find(&v, 0, &data, &len), CQ_ENOENT);
    assert_int_equal(cq_rtp_ext_find(&v, 15, &data, &len), CQ_ENOENT);
}

static void test_rtp_parse_two_byte_extensions(void **state) {
    (void)state;
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt_two_byte, sizeof pkt_two_byte, &v), 28);
    assert_int_equal(v.ext_form, CQ_RTP_EXT_TWO_BYTE);
    assert_int_equal(v.ext_profile, 0x1005);
    assert_int_equal(v.ext_appbits, 5);
    assert_int_equal(v.ext_len, 12);
    assert_int_equal(v.payload_len, 1);

    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &v);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1);
    assert_element(&e, 1, NULL, 0);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1);
    assert_element(&e, 2, (const uint8_t *)"\x42", 1);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1);
    assert_element(&e, 15, (const uint8_t *)"\xd1\xd2\xd3\xd4", 4);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);

    const uint8_t *data;
    size_t len;
    assert_int_equal(cq_rtp_ext_find(&v, 15, &data, &len), 0);
    assert_int_equal(len, 4);
    assert_ptr_equal(data, pkt_two_byte + 24);
    assert_int_equal(cq_rtp_ext_find(&v, 1, &data, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(cq_rtp_ext_find(&v, 200, &data, &len), CQ_ENOENT);
}

static void test_rtp_parse_chrome_audio(void **state) {
    (void)state;
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt_chrome_audio, sizeof pkt_chrome_audio, &v), 28);
    assert_false(v.marker);
    assert_int_equal(v.payload_type, 111);
    assert_int_equal(v.seq, 23340);
    assert_int_equal(v.timestamp, 0x8f3a10c0);
    assert_int_equal(v.ssrc, 0x4f129e05);
    assert_int_equal(v.ext_form, CQ_RTP_EXT_ONE_BYTE);
    assert_int_equal(v.payload_len, 6);
    assert_int_equal(v.payload[0], 0x78);

    const uint8_t *data;
    size_t len;
    assert_int_equal(cq_rtp_ext_find(&v, 1, &data, &len), 0);
    assert_int_equal(len, 1);
    assert_int_equal(data[0], 0x9e);
    assert_int_equal(cq_rtp_ext_find(&v, 2, &data, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "\x4c\x2b\x1d", 3);
    assert_int_equal(cq_rtp_ext_find(&v, 3, &data, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(data, "\x01\x57", 2);
}

/* Every prefix shorter than the header is CQ_ETRUNCATED and leaves the view alone; every
 * longer prefix of a packet without padding parses, with the payload cut short. */
static void check_truncations(const uint8_t *pkt, size_t len, size_t header_len) {
    for (size_t n = 0; n < header_len; n++) {
        cq_rtp_view_t v;
        memset(&v, 0x5a, sizeof v);
        if (parse_exact(pkt, n, &v) != CQ_ETRUNCATED)
            fail_msg("prefix of %zu bytes (header %zu) not CQ_ETRUNCATED", n, header_len);
        const uint8_t *raw = (const uint8_t *)&v;
        for (size_t i = 0; i < sizeof v; i++) {
            if (raw[i] != 0x5a)
                fail_msg("prefix of %zu bytes changed the view", n);
        }
    }
    for (size_t n = header_len; n <= len; n++) {
        cq_rtp_view_t v;
        if (parse_exact(pkt, n, &v) != (int)header_len)
            fail_msg("prefix of %zu bytes did not parse", n);
        assert_int_equal(v.payload_len, n - header_len);
    }
}

static void test_rtp_parse_truncated_at_every_length(void **state) {
    (void)state;
    check_truncations(pkt_minimal, sizeof pkt_minimal, 12);
    check_truncations(pkt_csrc, sizeof pkt_csrc, 20);
    check_truncations(pkt_one_byte, sizeof pkt_one_byte, 28);
    check_truncations(pkt_two_byte, sizeof pkt_two_byte, 28);
    check_truncations(pkt_chrome_audio, sizeof pkt_chrome_audio, 28);

    /* With padding, cutting the end changes which byte is the count: whatever the
     * result, a successful parse must account for every byte. */
    for (size_t n = 0; n <= sizeof pkt_padded; n++) {
        cq_rtp_view_t v;
        int rc = parse_exact(pkt_padded, n, &v);
        if (n < 12)
            assert_int_equal(rc, CQ_ETRUNCATED);
        else if (n == 12)
            assert_int_equal(rc, CQ_ETRUNCATED); /* P set, no count byte */
        else if (rc > 0)
            assert_int_equal(v.header_len + v.payload_len + v.padding_len, n);
        else
            assert_int_equal(rc, CQ_EMALFORMED);
    }
}

static void test_rtp_parse_bad_version(void **state) {
    (void)state;
    uint8_t pkt[sizeof pkt_minimal];
    cq_rtp_view_t v = {.seq = 4242};
    for (uint8_t version = 0; version < 4; version++) {
        if (version == 2)
            continue;
        memcpy(pkt, pkt_minimal, sizeof pkt);
        pkt[0] = (uint8_t)((pkt[0] & 0x3f) | version << 6);
        assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), CQ_EVERSION);
        /* The first byte alone decides, before any length check. */
        assert_int_equal(cq_rtp_parse(pkt, 1, &v), CQ_EVERSION);
    }
    assert_int_equal(v.seq, 4242);
    assert_int_equal(cq_rtp_parse(pkt, 0, &v), CQ_ETRUNCATED);
    assert_int_equal(cq_rtp_parse(NULL, 0, &v), CQ_ETRUNCATED);
}

static void test_rtp_parse_bad_padding(void **state) {
    (void)state;
    uint8_t pkt[sizeof pkt_padded];
    cq_rtp_view_t v = {.seq = 4242};

    memcpy(pkt, pkt_padded, sizeof pkt);
    pkt[sizeof pkt - 1] = 0; /* a count must include itself */
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), CQ_EMALFORMED);
    pkt[sizeof pkt - 1] = 9; /* 8 bytes follow the header: 9 is one too many */
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), CQ_EMALFORMED);
    pkt[sizeof pkt - 1] = 255;
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), CQ_EMALFORMED);
    pkt[sizeof pkt - 1] = 8; /* everything after the header: a padding-only packet */
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), 12);
    assert_int_equal(v.payload_len, 0);
    assert_int_equal(v.padding_len, 8);

    /* The count may not reach back into the extension block. */
    uint8_t ext[sizeof pkt_one_byte];
    memcpy(ext, pkt_one_byte, sizeof ext);
    ext[0] |= 0x20;
    ext[sizeof ext - 1] = 4; /* 3 payload bytes */
    v.seq = 4242;
    assert_int_equal(cq_rtp_parse(ext, sizeof ext, &v), CQ_EMALFORMED);
    assert_int_equal(v.seq, 4242);
    ext[sizeof ext - 1] = 3;
    assert_int_equal(cq_rtp_parse(ext, sizeof ext, &v), 28);
    assert_int_equal(v.payload_len, 0);
}

static void test_rtp_parse_extension_overruns(void **state) {
    (void)state;
    cq_rtp_view_t v;
    uint8_t pkt[64];

    /* The block says 4 words, 3 are there: the header runs past the datagram. */
    memcpy(pkt, pkt_one_byte, 28);
    pkt[15] = 4;
    assert_int_equal(cq_rtp_parse(pkt, 28, &v), CQ_ETRUNCATED);
    /* 0xFFFF words. */
    pkt[14] = 0xff;
    pkt[15] = 0xff;
    assert_int_equal(cq_rtp_parse(pkt, 28, &v), CQ_ETRUNCATED);

    /* One-byte element whose data runs past its block (id 3 L=5 in a 1-word block). */
    static const uint8_t one_over[] = {0x90, 0x60, 0,    1,    0,    0,    0,    1,
                                       0,    0,    0,    1,    0xbe, 0xde, 0,    1,
                                       0x35, 0xaa, 0xbb, 0xcc, 0x01, 0x02, 0x03, 0x04};
    assert_int_equal(parse_exact(one_over, sizeof one_over, &v), CQ_EMALFORMED);

    /* Two-byte element with a length past its block. */
    static const uint8_t two_over[] = {0x90, 0x60, 0,    1, 0, 0, 0, 1,    0,    0,    0,
                                       1,    0x10, 0x00, 0, 1, 1, 5, 0xaa, 0xbb, 0x01, 0x02};
    assert_int_equal(parse_exact(two_over, sizeof two_over, &v), CQ_EMALFORMED);

    /* Two-byte element whose id is the block's last byte: no length byte. */
    static const uint8_t two_cut[] = {0x90, 0x60, 0,    1, 0, 0, 0, 1, 0, 0,   0,
                                      1,    0x10, 0x00, 0, 1, 0, 0, 0, 7, 0xff};
    assert_int_equal(parse_exact(two_cut, sizeof two_cut, &v), CQ_EMALFORMED);

    /* The same bytes under a profile chasqui does not read are opaque and fine. */
    uint8_t opaque[sizeof two_cut];
    memcpy(opaque, two_cut, sizeof opaque);
    opaque[12] = 0x12;
    opaque[13] = 0x34;
    assert_int_equal(parse_exact(opaque, sizeof opaque, &v), 20);
    assert_int_equal(v.ext_form, CQ_RTP_EXT_OPAQUE);
    assert_int_equal(v.ext_profile, 0x1234);
    assert_int_equal(v.ext_len, 4);
}

static void test_rtp_parse_one_byte_id15_ends_block(void **state) {
    (void)state;
    /* id 1, then id 15 (whose length would overrun: ignored), then an id 2 never read. */
    static const uint8_t pkt[] = {0x90, 0x60, 0,    1,    0,    0, 0,   1,    0,
                                  0,    0,    1,    0xbe, 0xde, 0, 2,   0x10, 0xaa,
                                  0xff, 0x21, 0xbb, 0xcc, 0,    0, 0x99};
    cq_rtp_view_t v;
    assert_int_equal(parse_exact(pkt, sizeof pkt, &v), 24);
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), 24);
    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &v);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1);
    assert_element(&e, 1, (const uint8_t *)"\xaa", 1);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cq_rtp_ext_find(&v, 2, &data, &len), CQ_ENOENT);
    assert_int_equal(cq_rtp_ext_find(&v, 1, &data, &len), 0);
}

static void test_rtp_parse_padding_bytes_and_id0(void **state) {
    (void)state;
    /* Leading padding, a byte with id 0 and a non-zero length (skipped as padding), then
     * id 4; and an empty 0xBEDE block. */
    static const uint8_t pkt[] = {0x90, 0x60, 0,    1,    0, 0, 0,    1,    0,    0,
                                  0,    1,    0xbe, 0xde, 0, 1, 0x00, 0x05, 0x40, 0x7f};
    cq_rtp_view_t v;
    assert_int_equal(parse_exact(pkt, sizeof pkt, &v), 20);
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), 20);
    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &v);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 1);
    assert_element(&e, 4, (const uint8_t *)"\x7f", 1);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);

    static const uint8_t empty[] = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0, 0};
    assert_int_equal(parse_exact(empty, sizeof empty, &v), 16);
    assert_int_equal(cq_rtp_parse(empty, sizeof empty, &v), 16);
    assert_int_equal(v.ext_form, CQ_RTP_EXT_ONE_BYTE);
    assert_int_equal(v.ext_len, 0);
    assert_int_equal(v.payload_len, 0);
    cq_rtp_ext_iter_init(&it, &v);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);
}

/* A view made by hand (not by the parser) can hold a malformed block: the iterator must
 * stop at it without reading past the block, and stay stopped. */
static void test_rtp_ext_iter_malformed_hand_view(void **state) {
    (void)state;
    uint8_t *block = malloc(2);
    assert_non_null(block);
    block[0] = 0x13; /* id 1, 4 bytes, only 1 there */
    block[1] = 0xaa;
    cq_rtp_view_t v = {.ext_form = CQ_RTP_EXT_ONE_BYTE, .ext_data = block, .ext_len = 2};
    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &v);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), CQ_EMALFORMED);
    assert_int_equal(cq_rtp_ext_iter_next(&it, &e), 0);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cq_rtp_ext_find(&v, 1, &data, &len), CQ_ENOENT);
    free(block);
}

/* ---- In-place rewrites ------------------------------------------------------------------- */

static void test_rtp_set_fields_in_place(void **state) {
    (void)state;
    uint8_t pkt[sizeof pkt_chrome_audio];
    memcpy(pkt, pkt_chrome_audio, sizeof pkt);
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), 28);

    cq_rtp_set_seq(pkt, 0xfffe);
    cq_rtp_set_timestamp(pkt, 0xdeadbeef);
    cq_rtp_set_ssrc(pkt, 0xc0ffee00);
    cq_rtp_set_marker(pkt, true);
    cq_rtp_set_payload_type(pkt, 63);
    assert_memory_equal(pkt, "\x90\xbf\xff\xfe\xde\xad\xbe\xef\xc0\xff\xee\x00", 12);
    /* Nothing after the fixed header moved. */
    assert_memory_equal(pkt + 12, pkt_chrome_audio + 12, sizeof pkt - 12);

    cq_rtp_view_t w;
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &w), 28);
    assert_int_equal(w.seq, 0xfffe);
    assert_int_equal(w.timestamp, 0xdeadbeef);
    assert_int_equal(w.ssrc, 0xc0ffee00);
    assert_true(w.marker);
    assert_int_equal(w.payload_type, 63);
    assert_true(w.extension);

    /* PT and marker share a byte: each setter keeps the other's bit. */
    cq_rtp_set_payload_type(pkt, 0xff); /* out of range: masked to 127 */
    assert_int_equal(pkt[1], 0xff);
    cq_rtp_set_marker(pkt, false);
    assert_int_equal(pkt[1], 0x7f);
    cq_rtp_set_payload_type(pkt, 0);
    assert_int_equal(pkt[1], 0x00);
    cq_rtp_set_marker(pkt, true);
    assert_int_equal(pkt[1], 0x80);
    assert_int_equal(pkt[0], 0x90);
}

static void test_rtp_ext_rewrite_restamps_transport_seq(void **state) {
    (void)state;
    uint8_t pkt[sizeof pkt_chrome_audio];
    memcpy(pkt, pkt_chrome_audio, sizeof pkt);
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt, sizeof pkt, &v), 28);

    /* In place. */
    assert_int_equal(cq_rtp_ext_rewrite(pkt, &v, 3, (const uint8_t *)"\xbe\xef", 2), 0);
    assert_memory_equal(pkt + 21, "\xbe\xef", 2);
    assert_memory_equal(pkt, pkt_chrome_audio, 21);
    assert_memory_equal(pkt + 23, pkt_chrome_audio + 23, sizeof pkt - 23);

    /* Wrong length or absent id: nothing written. */
    assert_int_equal(cq_rtp_ext_rewrite(pkt, &v, 3, (const uint8_t *)"\x01\x02\x03", 3), CQ_EINVAL);
    assert_int_equal(cq_rtp_ext_rewrite(pkt, &v, 3, (const uint8_t *)"\x01", 1), CQ_EINVAL);
    assert_int_equal(cq_rtp_ext_rewrite(pkt, &v, 5, (const uint8_t *)"\x01", 1), CQ_ENOENT);
    assert_int_equal(cq_rtp_ext_rewrite(pkt, &v, 0, (const uint8_t *)"\x01", 1), CQ_ENOENT);
    assert_memory_equal(pkt + 21, "\xbe\xef", 2);

    /* Into a copy of the header (the relay's scratch buffer), using the received packet's
     * view: the copy changes at the same offset, the received packet does not. */
    uint8_t scratch[64];
    memcpy(scratch, pkt, sizeof pkt);
    assert_int_equal(cq_rtp_ext_rewrite(scratch, &v, 1, (const uint8_t *)"\x05", 1), 0);
    assert_int_equal(scratch[24], 0x05);
    assert_int_equal(pkt[24], 0x9e);
    cq_rtp_view_t w;
    assert_int_equal(cq_rtp_parse(scratch, sizeof pkt, &w), 28);
    const uint8_t *data;
    size_t len;
    assert_int_equal(cq_rtp_ext_find(&w, 1, &data, &len), 0);
    assert_int_equal(data[0], 0x05);
    assert_int_equal(cq_rtp_ext_find(&w, 3, &data, &len), 0);
    assert_memory_equal(data, "\xbe\xef", 2);
}

/* ---- Builder ------------------------------------------------------------------------------ */

static void test_rtp_header_write_chrome_audio_bytes(void **state) {
    (void)state;
    cq_rtp_header_t h = {
        .payload_type = 111, .seq = 23340, .timestamp = 0x8f3a10c0, .ssrc = 0x4f129e05};
    const cq_rtp_ext_t exts[] = {
        {.id = 2, .len = 3, .data = (const uint8_t *)"\x4c\x2b\x1d"},
        {.id = 3, .len = 2, .data = (const uint8_t *)"\x01\x57"},
        {.id = 1, .len = 1, .data = (const uint8_t *)"\x9e"},
    };
    assert_int_equal(cq_rtp_header_size(&h, exts, 3), 28);
    uint8_t buf[28];
    assert_int_equal(cq_rtp_header_write(&h, exts, 3, buf, sizeof buf), 28);
    assert_memory_equal(buf, pkt_chrome_audio, 28);

    /* Every smaller buffer is refused. */
    for (size_t cap = 0; cap < 28; cap++)
        assert_int_equal(cq_rtp_header_write(&h, exts, 3, buf, cap), CQ_ENOBUFS);
}

static void test_rtp_header_write_csrcs_and_padding_bit(void **state) {
    (void)state;
    cq_rtp_header_t h = {.payload_type = 96,
                         .marker = true,
                         .seq = 0xabcd,
                         .timestamp = 0x10000,
                         .ssrc = 0x01020304,
                         .csrc_count = 2,
                         .csrc = {0x0a0b0c0d, 0x0e0f1011}};
    uint8_t buf[32];
    assert_int_equal(cq_rtp_header_size(&h, NULL, 0), 20);
    assert_int_equal(cq_rtp_header_write(&h, NULL, 0, buf, sizeof buf), 20);
    assert_memory_equal(buf, pkt_csrc, 20);

    cq_rtp_header_t p = {
        .payload_type = 96, .seq = 7, .timestamp = 100, .ssrc = 1, .padding_len = 3};
    assert_int_equal(cq_rtp_header_write(&p, NULL, 0, buf, sizeof buf), 12);
    assert_memory_equal(buf, pkt_padded, 12);
}

static void test_rtp_header_write_two_byte_form(void **state) {
    (void)state;
    cq_rtp_header_t h = {.payload_type = 96, .seq = 0x2b, .timestamp = 0x1000, .ssrc = 0xcafebabe};
    /* A zero-length element forces the two-byte form for the whole block. */
    const cq_rtp_ext_t exts[] = {
        {.id = 1, .len = 0, .data = NULL},
        {.id = 2, .len = 1, .data = (const uint8_t *)"\x42"},
        {.id = 15, .len = 4, .data = (const uint8_t *)"\xd1\xd2\xd3\xd4"},
    };
    static const uint8_t want[] = {
        0x90, 0x60, 0x00, 0x2b, 0x00, 0x00, 0x10, 0x00, 0xca, 0xfe, 0xba, 0xbe,
        0x10, 0x00, 0x00, 0x03, /* profile 0x1000, 11 bytes -> 3 words */
        0x01, 0x00, 0x02, 0x01, 0x42, 0x0f, 0x04, 0xd1, 0xd2, 0xd3, 0xd4, 0x00,
    };
    uint8_t buf[64];
    assert_int_equal(cq_rtp_header_size(&h, exts, 3), (int)sizeof want);
    assert_int_equal(cq_rtp_header_write(&h, exts, 3, buf, sizeof buf), (int)sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    /* An id above 14 alone forces it too. */
    const cq_rtp_ext_t high_id[] = {{.id = 20, .len = 1, .data = (const uint8_t *)"\x07"}};
    assert_int_equal(cq_rtp_header_write(&h, high_id, 1, buf, sizeof buf), 20);
    assert_memory_equal(buf + 12, "\x10\x00\x00\x01\x14\x01\x07\x00", 8);

    /* So does a value longer than 16 bytes (a long rid). */
    uint8_t long_value[17];
    memset(long_value, 'a', sizeof long_value);
    const cq_rtp_ext_t long_ext[] = {{.id = 10, .len = 17, .data = long_value}};
    assert_int_equal(cq_rtp_header_write(&h, long_ext, 1, buf, sizeof buf), 12 + 4 + 20);
    assert_memory_equal(buf + 12, "\x10\x00\x00\x05\x0a\x11", 6);

    /* 16 bytes still fit the one-byte form: L = 15. */
    const cq_rtp_ext_t max_one[] = {{.id = 14, .len = 16, .data = long_value}};
    assert_int_equal(cq_rtp_header_write(&h, max_one, 1, buf, sizeof buf), 12 + 4 + 20);
    assert_memory_equal(buf + 12, "\xbe\xde\x00\x05\xef", 5);
    assert_memory_equal(buf + 33, "\x00\x00\x00", 3);
}

static void test_rtp_header_write_invalid(void **state) {
    (void)state;
    uint8_t buf[128];
    cq_rtp_header_t h = {.payload_type = 128};
    assert_int_equal(cq_rtp_header_size(&h, NULL, 0), CQ_EINVAL);
    assert_int_equal(cq_rtp_header_write(&h, NULL, 0, buf, sizeof buf), CQ_EINVAL);
    h.payload_type = 127;
    h.csrc_count = 16;
    assert_int_equal(cq_rtp_header_size(&h, NULL, 0), CQ_EINVAL);
    assert_int_equal(cq_rtp_header_write(&h, NULL, 0, buf, sizeof buf), CQ_EINVAL);
    h.csrc_count = 15;
    assert_int_equal(cq_rtp_header_size(&h, NULL, 0), 72);

    const cq_rtp_ext_t id0[] = {{.id = 0, .len = 1, .data = (const uint8_t *)"x"}};
    assert_int_equal(cq_rtp_header_size(&h, id0, 1), CQ_EINVAL);
    assert_int_equal(cq_rtp_header_write(&h, id0, 1, buf, sizeof buf), CQ_EINVAL);
    const cq_rtp_ext_t no_data[] = {{.id = 1, .len = 1, .data = NULL}};
    assert_int_equal(cq_rtp_header_write(&h, no_data, 1, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtp_header_write(&h, NULL, 1, buf, sizeof buf), CQ_EINVAL);
}

/* The largest block the 16-bit word count allows: 1020 elements of 255 bytes in the
 * two-byte form are exactly 65535 words; one more byte is too many. */
static void test_rtp_header_write_largest_extension_block(void **state) {
    (void)state;
    static uint8_t value[255];
    memset(value, 0x77, sizeof value);
    cq_rtp_ext_t *exts = calloc(1021, sizeof *exts);
    assert_non_null(exts);
    for (size_t i = 0; i < 1021; i++)
        exts[i] = (cq_rtp_ext_t){.id = (uint8_t)(1 + i % 255), .len = 255, .data = value};
    cq_rtp_header_t h = {.payload_type = 96, .seq = 1};
    int size = cq_rtp_header_size(&h, exts, 1020);
    assert_int_equal(size, 12 + 4 + 4 * 65535);
    uint8_t *buf = malloc((size_t)size);
    assert_non_null(buf);
    assert_int_equal(cq_rtp_header_write(&h, exts, 1020, buf, (size_t)size), size);
    assert_memory_equal(buf + 12, "\x10\x00\xff\xff", 4);

    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(buf, (size_t)size, &v), size);
    cq_rtp_ext_iter_t it;
    cq_rtp_ext_t e;
    cq_rtp_ext_iter_init(&it, &v);
    size_t count = 0;
    while (cq_rtp_ext_iter_next(&it, &e) > 0) {
        assert_int_equal(e.len, 255);
        count++;
    }
    assert_int_equal(count, 1020);

    exts[1020].len = 1;
    assert_int_equal(cq_rtp_header_size(&h, exts, 1021), CQ_EINVAL);
    exts[1020].len = 255;
    assert_int_equal(cq_rtp_header_size(&h, exts, 1021), CQ_EINVAL);
    free(buf);
    free(exts);
}

static void test_rtp_padding_append(void **state) {
    (void)state;
    uint8_t pkt[32];
    memcpy(pkt, pkt_padded, 17); /* header + payload */
    pkt[0] &= (uint8_t)~0x20;    /* as built without padding */
    assert_int_equal(cq_rtp_padding_append(pkt, 17, sizeof pkt, 3), 20);
    assert_memory_equal(pkt, pkt_padded, sizeof pkt_padded);

    /* Too small: nothing written. */
    uint8_t small[19];
    memcpy(small, pkt_padded, 17);
    small[0] = 0x80;
    small[17] = 0xee;
    small[18] = 0xee;
    assert_int_equal(cq_rtp_padding_append(small, 17, sizeof small, 3), CQ_ENOBUFS);
    assert_int_equal(small[0], 0x80);
    assert_int_equal(small[17], 0xee);
    assert_int_equal(cq_rtp_padding_append(small, 17, 16, 1), CQ_ENOBUFS);
    assert_int_equal(cq_rtp_padding_append(small, 17, sizeof small, 0), CQ_EINVAL);
    assert_int_equal(cq_rtp_padding_append(small, 11, sizeof small, 1), CQ_EINVAL);

    /* A 255-byte probe on a bare header parses back as padding only. */
    uint8_t probe[12 + 255];
    cq_rtp_header_t h = {.payload_type = 97, .seq = 9, .ssrc = 2, .padding_len = 255};
    assert_int_equal(cq_rtp_header_write(&h, NULL, 0, probe, sizeof probe), 12);
    assert_int_equal(cq_rtp_padding_append(probe, 12, sizeof probe, 255), 267);
    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(probe, sizeof probe, &v), 12);
    assert_int_equal(v.padding_len, 255);
    assert_int_equal(v.payload_len, 0);
}

static void test_rtp_header_from_view_rebuilds_same_bytes(void **state) {
    (void)state;
    cq_rtp_view_t v;
    cq_rtp_header_t h;
    uint8_t buf[64];

    assert_int_equal(cq_rtp_parse(pkt_csrc, sizeof pkt_csrc, &v), 20);
    cq_rtp_header_from_view(&v, &h);
    assert_int_equal(h.csrc_count, 2);
    assert_int_equal(h.csrc[1], 0x0e0f1011);
    assert_int_equal(cq_rtp_header_write(&h, NULL, 0, buf, sizeof buf), 20);
    assert_memory_equal(buf, pkt_csrc, 20);

    assert_int_equal(cq_rtp_parse(pkt_padded, sizeof pkt_padded, &v), 12);
    cq_rtp_header_from_view(&v, &h);
    assert_int_equal(h.padding_len, 3);
    assert_int_equal(cq_rtp_header_write(&h, NULL, 0, buf, sizeof buf), 12);
    assert_memory_equal(buf, pkt_padded, 12);
}

/*
 * Property test: random headers (CSRCs, both extension forms, padding, payload) are
 * built, parsed back and must give the same fields and the same elements in order.
 */
static void test_rtp_build_parse_roundtrip_random(void **state) {
    (void)state;
    const uint64_t seed = 0xc4a5901ULL;
    cq_test_rand_t r = {.state = seed};
    static uint8_t values[8][255];
    for (int i = 0; i < 8; i++)
        cq_test_rand_fill(&r, values[i], sizeof values[i]);

    for (int iter = 0; iter < 5000; iter++) {
        cq_rtp_header_t h = {0};
        h.payload_type = (uint8_t)cq_test_rand_below(&r, 128);
        h.marker = cq_test_rand_below(&r, 2);
        h.seq = (uint16_t)cq_test_rand_u32(&r);
        h.timestamp = cq_test_rand_u32(&r);
        h.ssrc = cq_test_rand_u32(&r);
        h.csrc_count = (uint8_t)(cq_test_rand_below(&r, 4) == 0 ? cq_test_rand_below(&r, 16) : 0);
        for (unsigned i = 0; i < h.csrc_count; i++)
            h.csrc[i] = cq_test_rand_u32(&r);
        h.padding_len =
            (uint8_t)(cq_test_rand_below(&r, 3) == 0 ? 1 + cq_test_rand_below(&r, 255) : 0);

        cq_rtp_ext_t exts[8];
        size_t n = cq_test_rand_below(&r, 9);
        bool one_byte_only = cq_test_rand_below(&r, 2);
        bool expect_one = true;
        for (size_t i = 0; i < n; i++) {
            if (one_byte_only) {
                exts[i].id = (uint8_t)(1 + cq_test_rand_below(&r, 14));
                exts[i].len = (uint8_t)(1 + cq_test_rand_below(&r, 16));
            } else {
                exts[i].id = (uint8_t)(1 + cq_test_rand_below(&r, 255));
                exts[i].len = (uint8_t)cq_test_rand_below(&r, cq_test_rand_below(&r, 4) ? 20 : 256);
            }
            exts[i].data = exts[i].len ? values[i] : NULL;
            if (exts[i].id > 14 || exts[i].len == 0 || exts[i].len > 16)
                expect_one = false;
        }

        uint8_t pkt[4096];
        int hl = cq_rtp_header_write(&h, exts, n, pkt, sizeof pkt);
        if (hl <= 0 || hl != cq_rtp_header_size(&h, exts, n))
            fail_msg("seed %llx iteration %d: write %d", (unsigned long long)seed, iter, hl);
        size_t payload_len = cq_test_rand_below(&r, 200);
        cq_test_rand_fill(&r, pkt + hl, payload_len);
        size_t len = (size_t)hl + payload_len;
        if (h.padding_len) {
            int total = cq_rtp_padding_append(pkt, len, sizeof pkt, h.padding_len);
            assert_int_equal(total, len + h.padding_len);
            len = (size_t)total;
        }

        cq_rtp_view_t v;
        int rc = cq_rtp_parse(pkt, len, &v);
        bool ok = rc == hl && v.header_len == (size_t)hl && v.payload_type == h.payload_type &&
                  v.marker == h.marker && v.seq == h.seq && v.timestamp == h.timestamp &&
                  v.ssrc == h.ssrc && v.csrc_count == h.csrc_count &&
                  v.padding == (h.padding_len != 0) && v.padding_len == h.padding_len &&
                  v.payload_len == payload_len && v.payload == pkt + hl && v.extension == (n > 0);
        for (unsigned i = 0; ok && i < h.csrc_count; i++)
            ok = cq_rtp_view_csrc(&v, i) == h.csrc[i];
        if (ok && n > 0)
            ok = v.ext_form == (expect_one ? CQ_RTP_EXT_ONE_BYTE : CQ_RTP_EXT_TWO_BYTE);
        if (!ok)
            fail_msg("seed %llx iteration %d: fields differ (rc %d)", (unsigned long long)seed,
                     iter, rc);

        cq_rtp_ext_iter_t it;
        cq_rtp_ext_t e;
        cq_rtp_ext_iter_init(&it, &v);
        for (size_t i = 0; i < n; i++) {
            if (cq_rtp_ext_iter_next(&it, &e) != 1 || e.id != exts[i].id || e.len != exts[i].len ||
                (e.len && memcmp(e.data, exts[i].data, e.len) != 0))
                fail_msg("seed %llx iteration %d: element %zu differs", (unsigned long long)seed,
                         iter, i);
            /* find returns the first element with that id. */
            size_t first = 0;
            while (exts[first].id != exts[i].id)
                first++;
            const uint8_t *data;
            size_t flen;
            if (cq_rtp_ext_find(&v, exts[i].id, &data, &flen) != 0 || flen != exts[first].len)
                fail_msg("seed %llx iteration %d: find(%u) failed", (unsigned long long)seed, iter,
                         exts[i].id);
        }
        if (cq_rtp_ext_iter_next(&it, &e) != 0)
            fail_msg("seed %llx iteration %d: extra element", (unsigned long long)seed, iter);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtp_parse_minimal),
        cmocka_unit_test(test_rtp_parse_csrcs),
        cmocka_unit_test(test_rtp_parse_padding),
        cmocka_unit_test(test_rtp_parse_one_byte_extensions),
        cmocka_unit_test(test_rtp_parse_two_byte_extensions),
        cmocka_unit_test(test_rtp_parse_chrome_audio),
        cmocka_unit_test(test_rtp_parse_truncated_at_every_length),
        cmocka_unit_test(test_rtp_parse_bad_version),
        cmocka_unit_test(test_rtp_parse_bad_padding),
        cmocka_unit_test(test_rtp_parse_extension_overruns),
        cmocka_unit_test(test_rtp_parse_one_byte_id15_ends_block),
        cmocka_unit_test(test_rtp_parse_padding_bytes_and_id0),
        cmocka_unit_test(test_rtp_ext_iter_malformed_hand_view),
        cmocka_unit_test(test_rtp_set_fields_in_place),
        cmocka_unit_test(test_rtp_ext_rewrite_restamps_transport_seq),
        cmocka_unit_test(test_rtp_header_write_chrome_audio_bytes),
        cmocka_unit_test(test_rtp_header_write_csrcs_and_padding_bit),
        cmocka_unit_test(test_rtp_header_write_two_byte_form),
        cmocka_unit_test(test_rtp_header_write_invalid),
        cmocka_unit_test(test_rtp_header_write_largest_extension_block),
        cmocka_unit_test(test_rtp_padding_append),
        cmocka_unit_test(test_rtp_header_from_view_rebuilds_same_bytes),
        cmocka_unit_test(test_rtp_build_parse_roundtrip_random),
    };
    return cmocka_run_group_tests_name("rtp/rtp", tests, NULL, NULL);
}
