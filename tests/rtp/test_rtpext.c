#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "support/test_rand.h"

/* ---- ssrc-audio-level ----------------------------------------------------------------------- */

static void test_rtpext_audio_level_parse(void **state) {
    (void)state;
    cq_rtpext_audio_level_t al = {0};
    assert_int_equal(cq_rtpext_audio_level_parse((const uint8_t *)"\x9e", 1, &al), 0);
    assert_true(al.voice);
    assert_int_equal(al.level, 30);
    assert_int_equal(cq_rtpext_audio_level_parse((const uint8_t *)"\x7f", 1, &al), 0);
    assert_false(al.voice);
    assert_int_equal(al.level, 127); /* silence */
    assert_int_equal(cq_rtpext_audio_level_parse((const uint8_t *)"\x80", 1, &al), 0);
    assert_true(al.voice);
    assert_int_equal(al.level, 0); /* loudest */

    /* Only one byte is valid; the output stays as it was. */
    al = (cq_rtpext_audio_level_t){.voice = false, .level = 99};
    assert_int_equal(cq_rtpext_audio_level_parse((const uint8_t *)"", 0, &al), CQ_EMALFORMED);
    assert_int_equal(cq_rtpext_audio_level_parse((const uint8_t *)"\x9e\x00", 2, &al),
                     CQ_EMALFORMED);
    assert_false(al.voice);
    assert_int_equal(al.level, 99);
}

static void test_rtpext_audio_level_write(void **state) {
    (void)state;
    uint8_t buf[2] = {0xee, 0xee};
    cq_rtpext_audio_level_t al = {.voice = true, .level = 30};
    assert_int_equal(cq_rtpext_audio_level_write(&al, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 0x9e);
    assert_int_equal(buf[1], 0xee);
    al = (cq_rtpext_audio_level_t){.voice = false, .level = 127};
    assert_int_equal(cq_rtpext_audio_level_write(&al, buf, 1), 1);
    assert_int_equal(buf[0], 0x7f);

    buf[0] = 0xee;
    al.level = 128; /* would spill into the V bit */
    assert_int_equal(cq_rtpext_audio_level_write(&al, buf, sizeof buf), CQ_EINVAL);
    al.level = 255;
    assert_int_equal(cq_rtpext_audio_level_write(&al, buf, sizeof buf), CQ_EINVAL);
    al.level = 0;
    assert_int_equal(cq_rtpext_audio_level_write(&al, buf, 0), CQ_ENOBUFS);
    assert_int_equal(buf[0], 0xee);

    /* Every value round-trips. */
    for (int v = 0; v < 2; v++) {
        for (uint8_t level = 0; level <= 127; level++) {
            cq_rtpext_audio_level_t in = {.voice = v, .level = level}, out;
            assert_int_equal(cq_rtpext_audio_level_write(&in, buf, 1), 1);
            assert_int_equal(cq_rtpext_audio_level_parse(buf, 1, &out), 0);
            assert_int_equal(out.voice, in.voice);
            assert_int_equal(out.level, in.level);
        }
    }
}

/* ---- transport-wide sequence number ---------------------------------------------------------- */

static void test_rtpext_transport_cc_parse_and_write(void **state) {
    (void)state;
    uint16_t seq = 7;
    assert_int_equal(cq_rtpext_transport_cc_parse((const uint8_t *)"\x01\x57", 2, &seq), 0);
    assert_int_equal(seq, 343);
    assert_int_equal(cq_rtpext_transport_cc_parse((const uint8_t *)"\xff\xff", 2, &seq), 0);
    assert_int_equal(seq, 65535);

    seq = 7;
    assert_int_equal(cq_rtpext_transport_cc_parse((const uint8_t *)"\x01", 1, &seq), CQ_EMALFORMED);
    /* The 4-byte -02 variant (with a feedback request) is not the -01 chasqui announces. */
    assert_int_equal(cq_rtpext_transport_cc_parse((const uint8_t *)"\x01\x57\x80\x05", 4, &seq),
                     CQ_EMALFORMED);
    assert_int_equal(cq_rtpext_transport_cc_parse((const uint8_t *)"", 0, &seq), CQ_EMALFORMED);
    assert_int_equal(seq, 7);

    uint8_t buf[3] = {0xee, 0xee, 0xee};
    assert_int_equal(cq_rtpext_transport_cc_write(0xfffe, buf, sizeof buf), 2);
    assert_memory_equal(buf, "\xff\xfe\xee", 3);
    assert_int_equal(cq_rtpext_transport_cc_write(1, buf, 1), CQ_ENOBUFS);
    assert_memory_equal(buf, "\xff\xfe\xee", 3);
}

/* ---- abs-send-time -----------------------------------------------------------------------------
 */

static void test_rtpext_abs_send_time_parse_and_write(void **state) {
    (void)state;
    uint32_t ast = 7;
    assert_int_equal(cq_rtpext_abs_send_time_parse((const uint8_t *)"\x4c\x2b\x1d", 3, &ast), 0);
    assert_int_equal(ast, 0x4c2b1d);
    /* 0x4c2b1d = 19 s (0x4c >> 2) and 0x02b1d / 2^18 s. */
    assert_int_equal(cq_rtpext_abs_send_time_to_us(ast) / 1000000, 19);

    ast = 7;
    assert_int_equal(cq_rtpext_abs_send_time_parse((const uint8_t *)"\x4c\x2b", 2, &ast),
                     CQ_EMALFORMED);
    assert_int_equal(cq_rtpext_abs_send_time_parse((const uint8_t *)"\x00\x4c\x2b\x1d", 4, &ast),
                     CQ_EMALFORMED);
    assert_int_equal(ast, 7);

    uint8_t buf[4] = {0xee, 0xee, 0xee, 0xee};
    assert_int_equal(cq_rtpext_abs_send_time_write(0xfedcba, buf, sizeof buf), 3);
    assert_memory_equal(buf, "\xfe\xdc\xba\xee", 4);
    assert_int_equal(cq_rtpext_abs_send_time_write(0x1000000, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtpext_abs_send_time_write(1, buf, 2), CQ_ENOBUFS);
    assert_memory_equal(buf, "\xfe\xdc\xba\xee", 4);
}

static void test_rtpext_abs_send_time_us_conversion(void **state) {
    (void)state;
    /* One second is 2^18 ticks; a tick is 3.814697265625 µs. */
    assert_int_equal(cq_rtpext_abs_send_time_from_us(0), 0);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(1000000), 0x040000);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(500000), 0x020000);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(63000000), 63u << 18);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(1), 0); /* 0.26 tick */
    assert_int_equal(cq_rtpext_abs_send_time_from_us(2), 1); /* 0.52 tick */
    assert_int_equal(cq_rtpext_abs_send_time_from_us(4), 1);
    /* The wrap: 64 s is 0 again, and the last µs before it rounds up onto it. */
    assert_int_equal(cq_rtpext_abs_send_time_from_us(64000000), 0);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(63999999), 0);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(63999996), 0xffffff);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(65000000), 0x040000);
    assert_int_equal(cq_rtpext_abs_send_time_from_us(UINT64_C(1700000000123456)),
                     cq_rtpext_abs_send_time_from_us(UINT64_C(1700000000123456) % 64000000));

    assert_int_equal(cq_rtpext_abs_send_time_to_us(0), 0);
    assert_int_equal(cq_rtpext_abs_send_time_to_us(0x040000), 1000000);
    assert_int_equal(cq_rtpext_abs_send_time_to_us(1), 4);
    assert_int_equal(cq_rtpext_abs_send_time_to_us(0xffffff), 63999996);
    assert_int_equal(cq_rtpext_abs_send_time_to_us(0x1040000), 1000000); /* high bits ignored */

    /* Every tick survives ticks -> µs -> ticks (a tick is longer than a µs). */
    for (uint32_t t = 0; t <= 0xffffff; t++) {
        if (cq_rtpext_abs_send_time_from_us(cq_rtpext_abs_send_time_to_us(t)) != t)
            fail_msg("tick %u does not round-trip", t);
    }
    /* And µs -> ticks -> µs is off by at most half a tick plus rounding. */
    cq_test_rand_t r = {.state = 0xab5ULL};
    for (int i = 0; i < 100000; i++) {
        uint64_t us = cq_test_rand_u64(&r) >> 8;
        int64_t back = cq_rtpext_abs_send_time_to_us(cq_rtpext_abs_send_time_from_us(us));
        int64_t err = back - (int64_t)(us % 64000000);
        if (err > 32000000)
            err -= 64000000;
        if (err < -32000000)
            err += 64000000;
        if (err < -2 || err > 2)
            fail_msg("iteration %d: %llu us came back as %lld", i, (unsigned long long)us,
                     (long long)back);
    }
}

static void test_rtpext_abs_send_time_diff_across_wrap(void **state) {
    (void)state;
    assert_int_equal(cq_rtpext_abs_send_time_diff(0x000010, 0xfffff0), 0x20);
    assert_int_equal(cq_rtpext_abs_send_time_diff(0xfffff0, 0x000010), -0x20);
    assert_int_equal(cq_rtpext_abs_send_time_diff(0x7fffff, 0), 0x7fffff);
    assert_int_equal(cq_rtpext_abs_send_time_diff(0x800000, 0), -0x800000);
    assert_int_equal(cq_rtpext_abs_send_time_diff(5, 5), 0);
    /* Packets sent 20 ms apart either side of the 64 s wrap. */
    uint32_t a = cq_rtpext_abs_send_time_from_us(63990000);
    uint32_t b = cq_rtpext_abs_send_time_from_us(64010000);
    int32_t d = cq_rtpext_abs_send_time_diff(b, a);
    assert_in_range(d, 5242, 5243); /* 20 ms = 5242.88 ticks */
}

/* ---- mid and rid ----------------------------------------------------------------------------- */

static void test_rtpext_mid_parse(void **state) {
    (void)state;
    char out[CQ_RTPEXT_SDES_MAX + 1];
    assert_int_equal(cq_rtpext_mid_parse((const uint8_t *)"0", 1, out, sizeof out), 1);
    assert_string_equal(out, "0");
    assert_int_equal(cq_rtpext_mid_parse((const uint8_t *)"audio", 5, out, sizeof out), 5);
    assert_string_equal(out, "audio");
    /* Token characters beyond alphanumerics are fine in a mid. */
    assert_int_equal(cq_rtpext_mid_parse((const uint8_t *)"m.1-_~!", 7, out, sizeof out), 7);
    assert_string_equal(out, "m.1-_~!");
    /* Trailing NUL padding is dropped. */
    assert_int_equal(cq_rtpext_mid_parse((const uint8_t *)"v1\0\0", 4, out, sizeof out), 2);
    assert_string_equal(out, "v1");

    /* An exact-size output buffer, and one byte short of it. */
    char small[3] = {'x', 'x', 'x'};
    assert_int_equal(cq_rtpext_mid_parse((const uint8_t *)"ab", 2, small, 3), 2);
    assert_string_equal(small, "ab");
    memcpy(small, "xxx", 3);
    assert_int_equal(cq_rtpext_mid_parse((const uint8_t *)"abc", 3, small, 3), CQ_ENOBUFS);
    assert_memory_equal(small, "xxx", 3);

    /* Empty, separators, spaces, control and non-ASCII bytes, junk after a NUL. */
    strcpy(out, "untouched");
    static const struct {
        const char *data;
        size_t len;
    } bad[] = {
        {"", 0},         {"\0", 1},    {"\0\0\0", 3}, {"a b", 3},  {"a:b", 3},
        {"a\"b", 3},     {"a/b", 3},   {"(a)", 3},    {"\x7f", 1}, {"\x80", 1},
        {"\xc3\xa9", 2}, {"ab\0c", 4}, {"\t", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cq_rtpext_mid_parse((const uint8_t *)bad[i].data, bad[i].len, out, sizeof out) !=
            CQ_EMALFORMED)
            fail_msg("bad mid %zu accepted", i);
    }
    assert_string_equal(out, "untouched");

    /* 255 bytes is the SDES limit; 256 is over it. */
    uint8_t longest[256];
    memset(longest, 'm', sizeof longest);
    assert_int_equal(cq_rtpext_mid_parse(longest, 255, out, sizeof out), 255);
    assert_int_equal(strlen(out), 255);
    assert_int_equal(cq_rtpext_mid_parse(longest, 255, out, 255), CQ_ENOBUFS);
    assert_int_equal(cq_rtpext_mid_parse(longest, 256, out, sizeof out), CQ_EMALFORMED);
}

static void test_rtpext_rid_parse(void **state) {
    (void)state;
    char out[CQ_RTPEXT_SDES_MAX + 1];
    assert_int_equal(cq_rtpext_rid_parse((const uint8_t *)"q", 1, out, sizeof out), 1);
    assert_string_equal(out, "q");
    assert_int_equal(cq_rtpext_rid_parse((const uint8_t *)"Hi2", 3, out, sizeof out), 3);
    assert_string_equal(out, "Hi2");
    /* RFC 8851 rid-id also allows '-' and '_'. */
    assert_int_equal(cq_rtpext_rid_parse((const uint8_t *)"hi-res_2", 8, out, sizeof out), 8);
    assert_string_equal(out, "hi-res_2");
    assert_int_equal(cq_rtpext_rid_parse((const uint8_t *)"lo\0", 3, out, sizeof out), 2);
    assert_string_equal(out, "lo");

    strcpy(out, "untouched");
    static const struct {
        const char *data;
        size_t len;
    } bad[] = {
        {"", 0},   {"\0", 1},       {"a.b", 3},  {"a b", 3}, {"a~", 2},
        {"a!", 2}, {"\xc3\xa9", 2}, {"h\0x", 3}, {"#", 1},   {"a+b", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cq_rtpext_rid_parse((const uint8_t *)bad[i].data, bad[i].len, out, sizeof out) !=
            CQ_EMALFORMED)
            fail_msg("bad rid %zu accepted", i);
    }
    assert_string_equal(out, "untouched");

    /* Every byte value on its own: accepted exactly when it is a rid character. */
    for (int c = 1; c < 256; c++) {
        uint8_t b = (uint8_t)c;
        bool want = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    c == '-' || c == '_';
        int rc = cq_rtpext_rid_parse(&b, 1, out, sizeof out);
        if ((rc == 1) != want)
            fail_msg("byte 0x%02x: rc %d", c, rc);
    }
}

static void test_rtpext_mid_rid_write(void **state) {
    (void)state;
    uint8_t buf[300];
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(cq_rtpext_mid_write("0", buf, sizeof buf), 1);
    assert_memory_equal(buf, "0\xee", 2); /* no terminator written */
    assert_int_equal(cq_rtpext_rid_write("low", buf, sizeof buf), 3);
    assert_memory_equal(buf, "low\xee", 4);
    assert_int_equal(cq_rtpext_rid_write("hi-res_2", buf, sizeof buf), 8);

    memset(buf, 0xee, sizeof buf);
    assert_int_equal(cq_rtpext_mid_write("", buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtpext_mid_write(NULL, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtpext_mid_write("a b", buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtpext_rid_write("", buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtpext_rid_write("a.b", buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtpext_rid_write("low", buf, 2), CQ_ENOBUFS);
    assert_int_equal(buf[0], 0xee);

    char longest[257];
    memset(longest, 'r', 256);
    longest[256] = '\0';
    assert_int_equal(cq_rtpext_rid_write(longest, buf, sizeof buf), CQ_EINVAL);
    longest[255] = '\0';
    assert_int_equal(cq_rtpext_rid_write(longest, buf, sizeof buf), 255);
    assert_int_equal(cq_rtpext_rid_write(longest, buf, 254), CQ_ENOBUFS);

    /* What a writer accepts, the parser gives back. */
    char out[CQ_RTPEXT_SDES_MAX + 1];
    int n = cq_rtpext_mid_write("m.1-_~!", buf, sizeof buf);
    assert_int_equal(cq_rtpext_mid_parse(buf, (size_t)n, out, sizeof out), n);
    assert_string_equal(out, "m.1-_~!");
}

/* ---- Names and ids -----------------------------------------------------------------------------
 */

static void test_rtpext_uris_and_default_ids(void **state) {
    (void)state;
    /* The spellings browsers use (a typo here silently disables an extension). */
    assert_string_equal(CQ_RTPEXT_URI_AUDIO_LEVEL, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
    assert_string_equal(CQ_RTPEXT_URI_ABS_SEND_TIME,
                        "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time");
    assert_string_equal(CQ_RTPEXT_URI_TRANSPORT_CC,
                        "http://www.ietf.org/id/"
                        "draft-holmer-rmcat-transport-wide-cc-extensions-01");
    assert_string_equal(CQ_RTPEXT_URI_MID, "urn:ietf:params:rtp-hdrext:sdes:mid");
    assert_string_equal(CQ_RTPEXT_URI_RID, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id");
    assert_string_equal(CQ_RTPEXT_URI_REPAIRED_RID,
                        "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id");

    /* The announced ids are distinct and all fit the one-byte form. */
    const int ids[] = {CQ_RTPEXT_ID_MID,          CQ_RTPEXT_ID_ABS_SEND_TIME,
                       CQ_RTPEXT_ID_TRANSPORT_CC, CQ_RTPEXT_ID_AUDIO_LEVEL,
                       CQ_RTPEXT_ID_RID,          CQ_RTPEXT_ID_REPAIRED_RID};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_in_range(ids[i], 1, CQ_RTP_EXT_ONE_BYTE_MAX_ID);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal(ids[i], ids[j]);
    }
}

/* A packet as a chasqui client sends it: every value written with the writers above under
 * the default ids, built, parsed, found and read back. */
static void test_rtpext_in_a_packet(void **state) {
    (void)state;
    uint8_t level[1], twcc[2], ast[3], mid[16], rid[16];
    cq_rtpext_audio_level_t al = {.voice = true, .level = 42};
    int n_mid = cq_rtpext_mid_write("1", mid, sizeof mid);
    int n_rid = cq_rtpext_rid_write("f", rid, sizeof rid);
    assert_int_equal(cq_rtpext_audio_level_write(&al, level, sizeof level), 1);
    assert_int_equal(cq_rtpext_transport_cc_write(65535, twcc, sizeof twcc), 2);
    assert_int_equal(
        cq_rtpext_abs_send_time_write(cq_rtpext_abs_send_time_from_us(1500000), ast, sizeof ast),
        3);
    const cq_rtp_ext_t exts[] = {
        {CQ_RTPEXT_ID_MID, (uint8_t)n_mid, mid}, {CQ_RTPEXT_ID_ABS_SEND_TIME, 3, ast},
        {CQ_RTPEXT_ID_TRANSPORT_CC, 2, twcc},    {CQ_RTPEXT_ID_AUDIO_LEVEL, 1, level},
        {CQ_RTPEXT_ID_RID, (uint8_t)n_rid, rid},
    };
    cq_rtp_header_t h = {.payload_type = 96, .seq = 1, .timestamp = 2, .ssrc = 3};
    uint8_t pkt[64];
    int hl = cq_rtp_header_write(&h, exts, 5, pkt, sizeof pkt);
    assert_int_equal(hl, 12 + 4 + 16); /* 2+4+3+2+2 = 13 bytes in 4 words */

    cq_rtp_view_t v;
    assert_int_equal(cq_rtp_parse(pkt, (size_t)hl, &v), hl);
    assert_int_equal(v.ext_form, CQ_RTP_EXT_ONE_BYTE);
    const uint8_t *data;
    size_t len;
    char s[CQ_RTPEXT_SDES_MAX + 1];

    assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_MID, &data, &len), 0);
    assert_int_equal(cq_rtpext_mid_parse(data, len, s, sizeof s), 1);
    assert_string_equal(s, "1");
    assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_RID, &data, &len), 0);
    assert_int_equal(cq_rtpext_rid_parse(data, len, s, sizeof s), 1);
    assert_string_equal(s, "f");

    cq_rtpext_audio_level_t al2;
    assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_AUDIO_LEVEL, &data, &len), 0);
    assert_int_equal(cq_rtpext_audio_level_parse(data, len, &al2), 0);
    assert_true(al2.voice);
    assert_int_equal(al2.level, 42);

    uint16_t seq;
    assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_TRANSPORT_CC, &data, &len), 0);
    assert_int_equal(cq_rtpext_transport_cc_parse(data, len, &seq), 0);
    assert_int_equal(seq, 65535);

    /* The relay restamps the transport-wide number in place. */
    uint8_t restamp[2];
    assert_int_equal(cq_rtpext_transport_cc_write(0, restamp, sizeof restamp), 2);
    assert_int_equal(cq_rtp_ext_rewrite(pkt, &v, CQ_RTPEXT_ID_TRANSPORT_CC, restamp, 2), 0);
    assert_int_equal(cq_rtpext_transport_cc_parse(data, len, &seq), 0);
    assert_int_equal(seq, 0);

    uint32_t t;
    assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_ABS_SEND_TIME, &data, &len), 0);
    assert_int_equal(cq_rtpext_abs_send_time_parse(data, len, &t), 0);
    assert_int_equal(cq_rtpext_abs_send_time_to_us(t), 1500000);
}

/* Stamping in place: only the two value bytes change, and a packet without the element,
 * with one of the wrong size, or that does not parse is left as it was. */
static void test_rtpext_transport_cc_stamp(void **state) {
    (void)state;
    uint8_t level[1] = {0x85}, zero[2] = {0, 0}, three[3] = {1, 2, 3};
    const cq_rtp_ext_t exts[] = {{CQ_RTPEXT_ID_AUDIO_LEVEL, 1, level},
                                 {CQ_RTPEXT_ID_TRANSPORT_CC, 2, zero}};
    cq_rtp_header_t h = {.payload_type = 111, .seq = 9, .timestamp = 10, .ssrc = 11};
    uint8_t pkt[64], before[64];
    int hl = cq_rtp_header_write(&h, exts, 2, pkt, sizeof pkt);
    assert_true(hl > 0);
    memset(pkt + hl, 0xee, 8); /* a payload */
    size_t len = (size_t)hl + 8;
    memcpy(before, pkt, len);
    assert_int_equal(cq_rtpext_transport_cc_stamp(pkt, len, CQ_RTPEXT_ID_TRANSPORT_CC, 0xbeef), 0);
    size_t changed = 0;
    for (size_t i = 0; i < len; i++)
        changed += pkt[i] != before[i];
    assert_int_equal(changed, 2);
    cq_rtp_view_t v;
    const uint8_t *data;
    size_t dlen;
    uint16_t seq;
    assert_int_equal(cq_rtp_parse(pkt, len, &v), hl);
    assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_TRANSPORT_CC, &data, &dlen), 0);
    assert_int_equal(cq_rtpext_transport_cc_parse(data, dlen, &seq), 0);
    assert_int_equal(seq, 0xbeef);
    assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_AUDIO_LEVEL, &data, &dlen), 0);
    assert_int_equal(data[0], 0x85);

    memcpy(before, pkt, len);
    assert_int_equal(cq_rtpext_transport_cc_stamp(pkt, len, CQ_RTPEXT_ID_MID, 1), CQ_ENOENT);
    assert_int_equal(cq_rtpext_transport_cc_stamp(pkt, len, CQ_RTPEXT_ID_AUDIO_LEVEL, 1),
                     CQ_EMALFORMED);
    assert_int_equal(cq_rtpext_transport_cc_stamp(pkt, 11, CQ_RTPEXT_ID_TRANSPORT_CC, 1),
                     CQ_ETRUNCATED);
    assert_memory_equal(pkt, before, len);

    const cq_rtp_ext_t wrong = {CQ_RTPEXT_ID_TRANSPORT_CC, 3, three};
    hl = cq_rtp_header_write(&h, &wrong, 1, pkt, sizeof pkt);
    assert_int_equal(cq_rtpext_transport_cc_stamp(pkt, (size_t)hl, CQ_RTPEXT_ID_TRANSPORT_CC, 1),
                     CQ_EMALFORMED);
    hl = cq_rtp_header_write(&h, NULL, 0, pkt, sizeof pkt);
    assert_int_equal(cq_rtpext_transport_cc_stamp(pkt, (size_t)hl, CQ_RTPEXT_ID_TRANSPORT_CC, 1),
                     CQ_ENOENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtpext_audio_level_parse),
        cmocka_unit_test(test_rtpext_audio_level_write),
        cmocka_unit_test(test_rtpext_transport_cc_parse_and_write),
        cmocka_unit_test(test_rtpext_transport_cc_stamp),
        cmocka_unit_test(test_rtpext_abs_send_time_parse_and_write),
        cmocka_unit_test(test_rtpext_abs_send_time_us_conversion),
        cmocka_unit_test(test_rtpext_abs_send_time_diff_across_wrap),
        cmocka_unit_test(test_rtpext_mid_parse),
        cmocka_unit_test(test_rtpext_rid_parse),
        cmocka_unit_test(test_rtpext_mid_rid_write),
        cmocka_unit_test(test_rtpext_uris_and_default_ids),
        cmocka_unit_test(test_rtpext_in_a_packet),
    };
    return cmocka_run_group_tests_name("rtp/rtpext", tests, NULL, NULL);
}
