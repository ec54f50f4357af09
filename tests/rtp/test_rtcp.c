#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "support/test_rand.h"

/* Every expected byte sequence below is written out from the packet diagrams of the RFCs,
 * field by field, with the arithmetic in the comments: never produced by the writer. */

/* Walks buf and returns its only packet, failing the test if it is not exactly one. */
static cq_rtcp_header_t only_packet(const uint8_t *buf, size_t len) {
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, buf, len);
    assert_int_equal(cq_rtcp_iter_next(&it, &h), (int)len);
    cq_rtcp_header_t end;
    assert_int_equal(cq_rtcp_iter_next(&it, &end), 0);
    return h;
}

/* Fails with the seed and iteration of a property test, so the case can be replayed. */
#define PROP_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s failed at seed %llu iteration %zu", #cond, (unsigned long long)seed,      \
                     iter);                                                                        \
    } while (0)

/* ------------------------------------------------------------------------------------ */
/* SR and RR                                                                             */

/* An SR with one report block. */
static const uint8_t sr_one_block[] = {
    0x81, 0xc8, 0x00, 0x0c, /* V=2 P=0 RC=1, PT=200, length (28 + 24) / 4 - 1 = 12 */
    0x11, 0x22, 0x33, 0x44, /* SSRC of sender */
    0xb4, 0x4d, 0xb7, 0x05, /* NTP seconds: RFC 3550 Figure 2's 0xb44db705 */
    0x20, 0x00, 0x00, 0x00, /* NTP fraction 0x20000000 = 0.125 s */
    0x00, 0x01, 0x5f, 0x90, /* RTP timestamp 90000 */
    0x00, 0x00, 0x00, 0x64, /* packet count 100 */
    0x00, 0x00, 0x27, 0x10, /* octet count 10000 */
    0xaa, 0xbb, 0xcc, 0xdd, /* SSRC_1 */
    0x40,                   /* fraction lost 64/256 = 25 % */
    0xff, 0xff, 0xfe,       /* cumulative lost -2 (24-bit two's complement) */
    0x00, 0x01, 0x00, 0x05, /* extended highest seq: 1 cycle, seq 5 = 65541 */
    0x00, 0x00, 0x00, 0x20, /* jitter 32 */
    0xb7, 0x05, 0x20, 0x00, /* LSR 0xb7052000: middle 32 bits of the NTP time above */
    0x00, 0x01, 0x80, 0x00, /* DLSR 1.5 s = 0x18000 / 65536 */
};

static const cq_rtcp_report_t sr_one_block_report = {
    .ssrc = 0xaabbccdd,
    .fraction_lost = 64,
    .cumulative_lost = -2,
    .highest_seq = 65541,
    .jitter = 32,
    .lsr = 0xb7052000,
    .dlsr = 0x18000,
};

static void assert_report_equal(const cq_rtcp_report_t *a, const cq_rtcp_report_t *b) {
    assert_int_equal(a->ssrc, b->ssrc);
    assert_int_equal(a->fraction_lost, b->fraction_lost);
    assert_int_equal(a->cumulative_lost, b->cumulative_lost);
    assert_int_equal(a->highest_seq, b->highest_seq);
    assert_int_equal(a->jitter, b->jitter);
    assert_int_equal(a->lsr, b->lsr);
    assert_int_equal(a->dlsr, b->dlsr);
}

static void test_rtcp_sr_parse_hand_checked(void **state) {
    (void)state;
    cq_rtcp_header_t h = only_packet(sr_one_block, sizeof sr_one_block);
    assert_int_equal(h.pt, CQ_RTCP_PT_SR);
    assert_int_equal(h.count, 1);
    cq_rtcp_sr_t sr;
    assert_int_equal(cq_rtcp_sr_parse(&h, &sr), 0);
    assert_int_equal(sr.ssrc, 0x11223344);
    assert_true(sr.info.ntp == 0xb44db70520000000ull);
    assert_int_equal(sr.info.rtp_ts, 90000);
    assert_int_equal(sr.info.packet_count, 100);
    assert_int_equal(sr.info.octet_count, 10000);
    assert_int_equal(sr.reports.count, 1);
    cq_rtcp_report_t r = cq_rtcp_report_at(&sr.reports, 0);
    assert_report_equal(&r, &sr_one_block_report);
    assert_int_equal(cq_rtcp_ntp_short(sr.info.ntp), r.lsr);

    /* Past the end reads zeros rather than memory. */
    r = cq_rtcp_report_at(&sr.reports, 1);
    assert_int_equal(r.ssrc, 0);
    cq_rtcp_report_t found;
    assert_int_equal(cq_rtcp_report_find(&sr.reports, 0xaabbccdd, &found), 0);
    assert_int_equal(found.jitter, 32);
    assert_int_equal(cq_rtcp_report_find(&sr.reports, 0x11223344, &found), CQ_ENOENT);
}

static void test_rtcp_sr_write_hand_checked(void **state) {
    (void)state;
    cq_rtcp_sender_info_t info = {0xb44db70520000000ull, 90000, 100, 10000};
    uint8_t buf[64];
    assert_int_equal(cq_rtcp_sr_size(1), sizeof sr_one_block);
    assert_int_equal(cq_rtcp_sr_write(0x11223344, &info, &sr_one_block_report, 1, buf, sizeof buf),
                     sizeof sr_one_block);
    assert_memory_equal(buf, sr_one_block, sizeof sr_one_block);
    assert_int_equal(
        cq_rtcp_sr_write(0x11223344, &info, &sr_one_block_report, 1, buf, sizeof sr_one_block - 1),
        CQ_ENOBUFS);
    assert_int_equal(cq_rtcp_sr_write(0x11223344, &info, NULL, 32, buf, sizeof buf), CQ_EINVAL);
}

/* An RR with two report blocks; the second carries the extremes of the signed count. */
static const uint8_t rr_two_blocks[] = {
    0x82, 0xc9, 0x00, 0x0d, /* V=2 RC=2, PT=201, length (8 + 48) / 4 - 1 = 13 */
    0x01, 0x02, 0x03, 0x04, /* SSRC of packet sender */
    0x0a, 0x0b, 0x0c, 0x0d, /* block 1: SSRC */
    0x00, 0x00, 0x00, 0x07, /* fraction 0, cumulative +7 */
    0x00, 0x00, 0xff, 0xff, /* highest seq 65535 */
    0x00, 0x00, 0x01, 0x00, /* jitter 256 */
    0x00, 0x00, 0x00, 0x00, /* LSR 0: no SR seen yet */
    0x00, 0x00, 0x00, 0x00, /* DLSR 0 */
    0x0e, 0x0f, 0x10, 0x11, /* block 2: SSRC */
    0xff, 0x80, 0x00, 0x00, /* fraction 255, cumulative 0x800000 = -8388608 */
    0x00, 0x02, 0x00, 0x00, /* highest seq 131072 */
    0x00, 0x00, 0x00, 0x00, /* jitter 0 */
    0x12, 0x34, 0x56, 0x78, /* LSR */
    0x00, 0x00, 0x00, 0x01, /* DLSR 1/65536 s */
};

static void test_rtcp_rr_parse_two_blocks(void **state) {
    (void)state;
    cq_rtcp_header_t h = only_packet(rr_two_blocks, sizeof rr_two_blocks);
    cq_rtcp_rr_t rr;
    assert_int_equal(cq_rtcp_rr_parse(&h, &rr), 0);
    assert_int_equal(rr.ssrc, 0x01020304);
    assert_int_equal(rr.reports.count, 2);
    cq_rtcp_report_t a = cq_rtcp_report_at(&rr.reports, 0);
    cq_rtcp_report_t b = cq_rtcp_report_at(&rr.reports, 1);
    assert_int_equal(a.ssrc, 0x0a0b0c0d);
    assert_int_equal(a.cumulative_lost, 7);
    assert_int_equal(a.highest_seq, 65535);
    assert_int_equal(a.jitter, 256);
    assert_int_equal(b.ssrc, 0x0e0f1011);
    assert_int_equal(b.fraction_lost, 255);
    assert_int_equal(b.cumulative_lost, -8388608);
    assert_int_equal(b.highest_seq, 131072);
    assert_int_equal(b.lsr, 0x12345678);
    assert_int_equal(b.dlsr, 1);

    cq_rtcp_report_t blocks[2] = {a, b};
    uint8_t buf[64];
    assert_int_equal(cq_rtcp_rr_write(0x01020304, blocks, 2, buf, sizeof buf),
                     sizeof rr_two_blocks);
    assert_memory_equal(buf, rr_two_blocks, sizeof rr_two_blocks);
}

/* The count is signed 24 bits: values past either end are clamped, not wrapped. */
static void test_rtcp_rr_write_clamps_cumulative_lost(void **state) {
    (void)state;
    cq_rtcp_report_t r = {.ssrc = 1, .cumulative_lost = 9000000};
    uint8_t buf[32];
    assert_int_equal(cq_rtcp_rr_write(7, &r, 1, buf, sizeof buf), 32);
    assert_int_equal(buf[13], 0x7f);
    assert_int_equal(buf[14], 0xff);
    assert_int_equal(buf[15], 0xff);
    r.cumulative_lost = -9000000;
    assert_int_equal(cq_rtcp_rr_write(7, &r, 1, buf, sizeof buf), 32);
    assert_int_equal(buf[13], 0x80);
    assert_int_equal(buf[14], 0x00);
    assert_int_equal(buf[15], 0x00);
    r.cumulative_lost = -1;
    assert_int_equal(cq_rtcp_rr_write(7, &r, 1, buf, sizeof buf), 32);
    assert_int_equal(buf[13], 0xff);
    assert_int_equal(buf[14], 0xff);
    assert_int_equal(buf[15], 0xff);
}

/* An RR with no block is 8 bytes; profile-specific extensions after the blocks are kept
 * out of the view but allowed. */
static void test_rtcp_rr_parse_empty_and_extension(void **state) {
    (void)state;
    const uint8_t empty[] = {0x80, 0xc9, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef};
    cq_rtcp_header_t h = only_packet(empty, sizeof empty);
    cq_rtcp_rr_t rr;
    assert_int_equal(cq_rtcp_rr_parse(&h, &rr), 0);
    assert_int_equal(rr.ssrc, 0xdeadbeef);
    assert_int_equal(rr.reports.count, 0);

    const uint8_t ext[] = {0x80, 0xc9, 0x00, 0x02, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4};
    h = only_packet(ext, sizeof ext);
    assert_int_equal(cq_rtcp_rr_parse(&h, &rr), 0);
    assert_int_equal(rr.reports.count, 0);
}

static void test_rtcp_sr_rr_parse_count_does_not_fit(void **state) {
    (void)state;
    /* RR claiming 2 blocks with room for 1. */
    uint8_t rr[sizeof rr_two_blocks - 24];
    memcpy(rr, rr_two_blocks, sizeof rr);
    rr[3] = 0x07; /* length (8 + 24) / 4 - 1 */
    cq_rtcp_header_t h = only_packet(rr, sizeof rr);
    cq_rtcp_rr_t out = {.ssrc = 99};
    assert_int_equal(cq_rtcp_rr_parse(&h, &out), CQ_EMALFORMED);
    assert_int_equal(out.ssrc, 99);

    /* SR with RC=1 and no block. */
    uint8_t sr[28];
    memcpy(sr, sr_one_block, 28);
    sr[3] = 0x06;
    h = only_packet(sr, sizeof sr);
    cq_rtcp_sr_t s = {.ssrc = 99};
    assert_int_equal(cq_rtcp_sr_parse(&h, &s), CQ_EMALFORMED);
    assert_int_equal(s.ssrc, 99);

    /* A zero-length (header-only) SR or RR has no room for its SSRC. */
    const uint8_t zero_rr[] = {0x80, 0xc9, 0x00, 0x00};
    h = only_packet(zero_rr, sizeof zero_rr);
    assert_int_equal(h.body_len, 0);
    assert_int_equal(cq_rtcp_rr_parse(&h, &out), CQ_EMALFORMED);
    const uint8_t zero_sr[] = {0x80, 0xc8, 0x00, 0x00};
    h = only_packet(zero_sr, sizeof zero_sr);
    assert_int_equal(cq_rtcp_sr_parse(&h, &s), CQ_EMALFORMED);

    /* The wrong parser for the type is a caller error. */
    h = only_packet(rr_two_blocks, sizeof rr_two_blocks);
    assert_int_equal(cq_rtcp_sr_parse(&h, &s), CQ_EINVAL);
}

static void test_rtcp_sr_rr_roundtrip_random(void **state) {
    (void)state;
    const uint64_t seed = 0x5e4d3c2b1a;
    cq_test_rand_t rng = {seed};
    for (size_t iter = 0; iter < 3000; iter++) {
        cq_rtcp_report_t blocks[31];
        size_t n = cq_test_rand_below(&rng, 32);
        for (size_t i = 0; i < n; i++) {
            blocks[i].ssrc = cq_test_rand_u32(&rng);
            blocks[i].fraction_lost = (uint8_t)cq_test_rand_u32(&rng);
            blocks[i].cumulative_lost = (int32_t)cq_test_rand_below(&rng, 1u << 24) - (1 << 23);
            blocks[i].highest_seq = cq_test_rand_u32(&rng);
            blocks[i].jitter = cq_test_rand_u32(&rng);
            blocks[i].lsr = cq_test_rand_u32(&rng);
            blocks[i].dlsr = cq_test_rand_u32(&rng);
        }
        uint32_t ssrc = cq_test_rand_u32(&rng);
        uint8_t buf[CQ_RTCP_SR_SIZE + 31 * CQ_RTCP_REPORT_SIZE];
        int is_sr = (int)(iter & 1);
        cq_rtcp_sender_info_t info = {cq_test_rand_u64(&rng), cq_test_rand_u32(&rng),
                                      cq_test_rand_u32(&rng), cq_test_rand_u32(&rng)};
        int len = is_sr ? cq_rtcp_sr_write(ssrc, &info, blocks, n, buf, sizeof buf)
                        : cq_rtcp_rr_write(ssrc, blocks, n, buf, sizeof buf);
        PROP_CHECK(len == (int)(is_sr ? cq_rtcp_sr_size(n) : cq_rtcp_rr_size(n)));
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_iter_init(&it, buf, (size_t)len);
        PROP_CHECK(cq_rtcp_iter_next(&it, &h) == len);
        cq_rtcp_reports_t reports;
        if (is_sr) {
            cq_rtcp_sr_t sr;
            PROP_CHECK(cq_rtcp_sr_parse(&h, &sr) == 0);
            PROP_CHECK(sr.ssrc == ssrc && sr.info.ntp == info.ntp &&
                       sr.info.rtp_ts == info.rtp_ts && sr.info.packet_count == info.packet_count &&
                       sr.info.octet_count == info.octet_count);
            reports = sr.reports;
        } else {
            cq_rtcp_rr_t rr;
            PROP_CHECK(cq_rtcp_rr_parse(&h, &rr) == 0);
            PROP_CHECK(rr.ssrc == ssrc);
            reports = rr.reports;
        }
        PROP_CHECK(reports.count == n);
        for (size_t i = 0; i < n; i++) {
            cq_rtcp_report_t r = cq_rtcp_report_at(&reports, i);
            const cq_rtcp_report_t *b = &blocks[i];
            PROP_CHECK(r.ssrc == b->ssrc && r.fraction_lost == b->fraction_lost &&
                       r.cumulative_lost == b->cumulative_lost && r.highest_seq == b->highest_seq &&
                       r.jitter == b->jitter && r.lsr == b->lsr && r.dlsr == b->dlsr);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* NTP                                                                                   */

/* RFC 3550 §6.4.1, Figure 2: A = 0xb710:8000, LSR = 0xb705:2000, DLSR = 0x0005:4000 give a
 * delay of 0x0006:2000 = 6.125 s; the SR was sent at ntp_sec 0xb44db705, ntp_frac
 * 0x20000000, whose middle 32 bits are that LSR. */
static void test_rtcp_rtt_us_rfc3550_figure2(void **state) {
    (void)state;
    assert_int_equal(cq_rtcp_ntp_short(0xb44db70520000000ull), 0xb7052000);
    uint32_t rtt = 0;
    assert_int_equal(cq_rtcp_rtt_us(0xb7108000, 0xb7052000, 0x00054000, &rtt), 0);
    assert_int_equal(rtt, 6125000);
    assert_int_equal(cq_rtcp_dlsr_from_us(5250000), 0x00054000);
}

static void test_rtcp_rtt_us_edges(void **state) {
    (void)state;
    uint32_t rtt = 77;
    /* LSR 0 means "no SR received yet": no RTT. */
    assert_int_equal(cq_rtcp_rtt_us(0x10000, 0, 0, &rtt), CQ_ENOENT);
    assert_int_equal(rtt, 77);
    /* A unit below zero (rounding on a near-zero RTT) reads as 0. */
    assert_int_equal(cq_rtcp_rtt_us(0x10000, 0x10000, 1, &rtt), 0);
    assert_int_equal(rtt, 0);
    /* Across the 2^32 wrap of the 16.16 clock: now 0x00000100, LSR 0xffffff00. */
    assert_int_equal(cq_rtcp_rtt_us(0x00000100, 0xffffff00, 0, &rtt), 0);
    assert_int_equal(rtt, (uint32_t)((0x200ull * 1000000u) >> 16)); /* 512/65536 s = 7812 us */
}

static void test_rtcp_ntp_conversions(void **state) {
    (void)state;
    /* 1.5 s: seconds 1, fraction 0x80000000. */
    assert_true(cq_rtcp_ntp_from_us(1500000) == 0x0000000180000000ull);
    assert_true(cq_rtcp_ntp_to_us(0x0000000180000000ull) == 1500000);
    /* 0.125 s = 0x20000000 / 2^32. */
    assert_true(cq_rtcp_ntp_from_us(125000) == 0x20000000ull);
    assert_int_equal(cq_rtcp_dlsr_from_us(1500000), 0x18000);
    assert_int_equal(cq_rtcp_dlsr_from_us(0), 0);
    assert_int_equal(cq_rtcp_dlsr_from_us(UINT64_MAX), UINT32_MAX);
    assert_int_equal(cq_rtcp_dlsr_from_us(100000000000ull), UINT32_MAX);

    const uint64_t seed = 77;
    cq_test_rand_t rng = {seed};
    for (size_t iter = 0; iter < 10000; iter++) {
        /* Within one NTP era: 2^32 seconds. */
        uint64_t us = cq_test_rand_u64(&rng) % (4294967296ull * 1000000u);
        PROP_CHECK(cq_rtcp_ntp_to_us(cq_rtcp_ntp_from_us(us)) == us);
    }
}

/* ------------------------------------------------------------------------------------ */
/* SDES                                                                                  */

static void test_rtcp_sdes_cname_write_hand_checked(void **state) {
    (void)state;
    uint8_t buf[32];
    /* "ab": items 01 02 'a' 'b' end on a boundary, so four nulls end the chunk. */
    const uint8_t ab[] = {
        0x81, 0xca, 0x00, 0x03, /* V=2 SC=1, PT=202, length 16 / 4 - 1 = 3 */
        0x11, 0x22, 0x33, 0x44, /* SSRC */
        0x01, 0x02, 0x61, 0x62, /* CNAME, length 2, "ab" */
        0x00, 0x00, 0x00, 0x00, /* END item + 3 bytes of padding */
    };
    assert_int_equal(cq_rtcp_sdes_cname_size(2), sizeof ab);
    assert_int_equal(cq_rtcp_sdes_cname_write(0x11223344, "ab", 2, buf, sizeof buf), sizeof ab);
    assert_memory_equal(buf, ab, sizeof ab);

    /* "x": items 01 01 'x' leave one byte for the END item, no padding. */
    const uint8_t x[] = {
        0x81, 0xca, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x01, 0x01, 0x78, 0x00,
    };
    assert_int_equal(cq_rtcp_sdes_cname_write(0x11223344, "x", 1, buf, sizeof buf), sizeof x);
    assert_memory_equal(buf, x, sizeof x);

    /* "abcde": 01 05 a b c d e = 7 bytes, END, no padding: chunk 4 + 8. */
    assert_int_equal(cq_rtcp_sdes_cname_write(0x11223344, "abcde", 5, buf, sizeof buf), 16);
    assert_int_equal(buf[15], 0x00);
    assert_int_equal(buf[3], 0x03);

    assert_int_equal(cq_rtcp_sdes_cname_write(1, "ab", 2, buf, sizeof ab - 1), CQ_ENOBUFS);
    assert_int_equal(cq_rtcp_sdes_cname_write(1, "", 0, buf, sizeof buf), CQ_EINVAL);
    char long_name[256];
    memset(long_name, 'a', sizeof long_name);
    assert_int_equal(cq_rtcp_sdes_cname_write(1, long_name, 256, buf, sizeof buf), CQ_EINVAL);
    uint8_t big[300];
    assert_int_equal(cq_rtcp_sdes_cname_write(1, long_name, 255, big, sizeof big), 4 + 4 + 260);
}

/* Two chunks: one with CNAME and NAME, one with a NOTE only. */
static const uint8_t sdes_two_chunks[] = {
    0x82, 0xca, 0x00, 0x07,           /* SC=2, PT=202, length 32 / 4 - 1 = 7 */
    0x00, 0x00, 0x00, 0x01,           /* chunk 1 (body 0..15): SSRC 1 */
    0x01, 0x03, 'c',  'a',  't',      /* body 4..8: CNAME "cat" */
    0x02, 0x04, 'P',  'u',  'n', 'o', /* body 9..14: NAME "Puno" */
    0x00,                             /* body 15: END, already on a boundary: no padding */
    0x00, 0x00, 0x00, 0x02,           /* chunk 2 (body 16..27): SSRC 2 */
    0x07, 0x03, 'h',  'o',  'y',      /* body 20..24: NOTE "hoy" */
    0x00, 0x00, 0x00,                 /* body 25: END, 26..27: padding */
};

static void test_rtcp_sdes_parse_chunks_and_find(void **state) {
    (void)state;
    cq_rtcp_header_t h = only_packet(sdes_two_chunks, sizeof sdes_two_chunks);
    cq_rtcp_sdes_t sdes;
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), 0);
    assert_int_equal(sdes.chunk_count, 2);

    cq_rtcp_sdes_item_t item;
    assert_int_equal(cq_rtcp_sdes_find(&sdes, 1, CQ_RTCP_SDES_CNAME, &item), 0);
    assert_int_equal(item.len, 3);
    assert_memory_equal(item.text, "cat", 3);
    assert_int_equal(cq_rtcp_sdes_find(&sdes, 1, 2, &item), 0);
    assert_memory_equal(item.text, "Puno", 4);
    assert_int_equal(cq_rtcp_sdes_find(&sdes, 2, 7, &item), 0);
    assert_memory_equal(item.text, "hoy", 3);
    assert_int_equal(cq_rtcp_sdes_find(&sdes, 2, CQ_RTCP_SDES_CNAME, &item), CQ_ENOENT);
    assert_int_equal(cq_rtcp_sdes_find(&sdes, 3, CQ_RTCP_SDES_CNAME, &item), CQ_ENOENT);

    size_t pos = 0;
    cq_rtcp_sdes_chunk_t chunks[2];
    assert_int_equal(cq_rtcp_sdes_next_chunk(&sdes, &pos, &chunks[0]), 1);
    assert_int_equal(cq_rtcp_sdes_next_chunk(&sdes, &pos, &chunks[1]), 1);
    assert_int_equal(cq_rtcp_sdes_next_chunk(&sdes, &pos, &chunks[1]), 0);
    assert_int_equal(chunks[0].items_len, 11);
    assert_int_equal(chunks[1].items_len, 5);

    /* Written again from its chunks, it is the same packet byte for byte. */
    uint8_t buf[64];
    assert_int_equal(cq_rtcp_sdes_size(chunks, 2), sizeof sdes_two_chunks);
    assert_int_equal(cq_rtcp_sdes_write(chunks, 2, buf, sizeof buf), sizeof sdes_two_chunks);
    assert_memory_equal(buf, sdes_two_chunks, sizeof sdes_two_chunks);
}

static void test_rtcp_sdes_parse_malformed(void **state) {
    (void)state;
    uint8_t p[sizeof sdes_two_chunks];
    cq_rtcp_sdes_t sdes = {.chunk_count = 99};
    cq_rtcp_header_t h;

    /* SC says 3 chunks, there are 2. */
    memcpy(p, sdes_two_chunks, sizeof p);
    p[0] = 0x83;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), CQ_EMALFORMED);
    /* SC says 1 chunk, a second one follows. */
    p[0] = 0x81;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), CQ_EMALFORMED);
    /* NOTE length 3 -> 200 (the byte at body 21, packet 25): past the end of the packet. */
    memcpy(p, sdes_two_chunks, sizeof p);
    p[25] = 200;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), CQ_EMALFORMED);
    /* NOTE length 3 -> 6: the item eats the END byte, nothing terminates the list. */
    p[25] = 6;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), CQ_EMALFORMED);
    assert_int_equal(sdes.chunk_count, 99);

    /* A chunk with no room for its SSRC. */
    const uint8_t short_chunk[] = {0x81, 0xca, 0x00, 0x00};
    h = only_packet(short_chunk, sizeof short_chunk);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), CQ_EMALFORMED);
    /* SC=0 and nothing else is valid, if useless. */
    const uint8_t empty[] = {0x80, 0xca, 0x00, 0x00};
    h = only_packet(empty, sizeof empty);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), 0);
    assert_int_equal(sdes.chunk_count, 0);
    /* A chunk of an SSRC and four nulls: no items. */
    const uint8_t no_items[] = {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 9, 0, 0, 0, 0};
    h = only_packet(no_items, sizeof no_items);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), 0);
    cq_rtcp_sdes_item_t item;
    assert_int_equal(cq_rtcp_sdes_find(&sdes, 9, CQ_RTCP_SDES_CNAME, &item), CQ_ENOENT);
}

static void test_rtcp_sdes_write_rejects_bad_items(void **state) {
    (void)state;
    uint8_t buf[64];
    const uint8_t null_type[] = {0x00, 0x01, 'a'};
    const uint8_t short_item[] = {0x01, 0x05, 'a'};
    cq_rtcp_sdes_chunk_t c = {1, null_type, sizeof null_type};
    assert_int_equal(cq_rtcp_sdes_write(&c, 1, buf, sizeof buf), CQ_EINVAL);
    c.items = short_item;
    c.items_len = sizeof short_item;
    assert_int_equal(cq_rtcp_sdes_write(&c, 1, buf, sizeof buf), CQ_EINVAL);
}

static void test_rtcp_sdes_roundtrip_random(void **state) {
    (void)state;
    const uint64_t seed = 0xcafe;
    cq_test_rand_t rng = {seed};
    for (size_t iter = 0; iter < 2000; iter++) {
        uint8_t items[8][64];
        cq_rtcp_sdes_chunk_t chunks[8];
        size_t n = cq_test_rand_below(&rng, 9);
        for (size_t i = 0; i < n; i++) {
            size_t len = 0, k = cq_test_rand_below(&rng, 4);
            for (size_t j = 0; j < k; j++) {
                uint8_t tlen = (uint8_t)cq_test_rand_below(&rng, 12);
                items[i][len] = (uint8_t)(1 + cq_test_rand_below(&rng, 8));
                items[i][len + 1] = tlen;
                cq_test_rand_fill(&rng, &items[i][len + 2], tlen);
                len += 2u + tlen;
            }
            chunks[i] = (cq_rtcp_sdes_chunk_t){cq_test_rand_u32(&rng), items[i], len};
        }
        uint8_t buf[1024];
        int len = cq_rtcp_sdes_write(chunks, n, buf, sizeof buf);
        PROP_CHECK(len == (int)cq_rtcp_sdes_size(chunks, n) && len % 4 == 0);
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_iter_init(&it, buf, (size_t)len);
        PROP_CHECK(cq_rtcp_iter_next(&it, &h) == len);
        cq_rtcp_sdes_t sdes;
        PROP_CHECK(cq_rtcp_sdes_parse(&h, &sdes) == 0);
        size_t pos = 0;
        for (size_t i = 0; i < n; i++) {
            cq_rtcp_sdes_chunk_t c;
            PROP_CHECK(cq_rtcp_sdes_next_chunk(&sdes, &pos, &c) == 1);
            PROP_CHECK(c.ssrc == chunks[i].ssrc && c.items_len == chunks[i].items_len);
            PROP_CHECK(c.items_len == 0 || memcmp(c.items, chunks[i].items, c.items_len) == 0);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* BYE                                                                                   */

static void test_rtcp_bye_hand_checked(void **state) {
    (void)state;
    const uint8_t bye[] = {
        0x82, 0xcb, 0x00, 0x04, /* SC=2, PT=203, length 20 / 4 - 1 = 4 */
        0x00, 0x00, 0x00, 0x0a, /* SSRC 10 */
        0x00, 0x00, 0x00, 0x0b, /* SSRC 11 */
        0x04, 'g',  'o',  'n',  /* reason length 4, "gone" */
        'e',  0x00, 0x00, 0x00, /* 1 + 4 = 5 bytes, padded to 8 */
    };
    cq_rtcp_header_t h = only_packet(bye, sizeof bye);
    cq_rtcp_bye_t b;
    assert_int_equal(cq_rtcp_bye_parse(&h, &b), 0);
    assert_int_equal(b.count, 2);
    assert_int_equal(cq_rtcp_bye_ssrc(&b, 0), 10);
    assert_int_equal(cq_rtcp_bye_ssrc(&b, 1), 11);
    assert_int_equal(cq_rtcp_bye_ssrc(&b, 2), 0);
    assert_int_equal(b.reason_len, 4);
    assert_memory_equal(b.reason, "gone", 4);

    uint8_t buf[32];
    const uint32_t ssrcs[] = {10, 11};
    assert_int_equal(cq_rtcp_bye_size(2, 4), sizeof bye);
    assert_int_equal(cq_rtcp_bye_write(ssrcs, 2, "gone", 4, buf, sizeof buf), sizeof bye);
    assert_memory_equal(buf, bye, sizeof bye);

    /* No reason: header and SSRC only. */
    const uint8_t plain[] = {0x81, 0xcb, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0a};
    assert_int_equal(cq_rtcp_bye_write(ssrcs, 1, NULL, 0, buf, sizeof buf), sizeof plain);
    assert_memory_equal(buf, plain, sizeof plain);
    h = only_packet(plain, sizeof plain);
    assert_int_equal(cq_rtcp_bye_parse(&h, &b), 0);
    assert_int_equal(b.reason_len, 0);
    assert_null(b.reason);

    /* "bye": 1 + 3 = 4 bytes, no padding. */
    assert_int_equal(cq_rtcp_bye_write(ssrcs, 1, "bye", 3, buf, sizeof buf), 12);
    assert_int_equal(buf[8], 3);
    assert_memory_equal(buf + 9, "bye", 3);
    assert_int_equal(cq_rtcp_bye_write(ssrcs, 1, "bye", 3, buf, 11), CQ_ENOBUFS);
}

static void test_rtcp_bye_parse_malformed(void **state) {
    (void)state;
    cq_rtcp_bye_t b = {.count = 99};
    /* SC=2, room for one SSRC. */
    const uint8_t short_list[] = {0x82, 0xcb, 0x00, 0x01, 0, 0, 0, 1};
    cq_rtcp_header_t h = only_packet(short_list, sizeof short_list);
    assert_int_equal(cq_rtcp_bye_parse(&h, &b), CQ_EMALFORMED);
    /* A reason of 9 bytes announced in a 4-byte tail. */
    const uint8_t long_reason[] = {0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 9, 'a', 'b', 'c'};
    h = only_packet(long_reason, sizeof long_reason);
    assert_int_equal(cq_rtcp_bye_parse(&h, &b), CQ_EMALFORMED);
    /* A reason of 1 byte followed by a whole extra word. */
    const uint8_t extra[] = {0x81, 0xcb, 0x00, 0x03, 0, 0, 0, 1, 1, 'a', 0, 0, 0, 0, 0, 0};
    h = only_packet(extra, sizeof extra);
    assert_int_equal(cq_rtcp_bye_parse(&h, &b), CQ_EMALFORMED);
    assert_int_equal(b.count, 99);
}

static void test_rtcp_bye_roundtrip_random(void **state) {
    (void)state;
    const uint64_t seed = 0xb7e;
    cq_test_rand_t rng = {seed};
    for (size_t iter = 0; iter < 2000; iter++) {
        uint32_t ssrcs[31];
        char reason[255];
        size_t n = cq_test_rand_below(&rng, 32);
        size_t rlen = cq_test_rand_below(&rng, 4) == 0 ? 0 : cq_test_rand_below(&rng, 256);
        for (size_t i = 0; i < n; i++)
            ssrcs[i] = cq_test_rand_u32(&rng);
        cq_test_rand_fill(&rng, (uint8_t *)reason, rlen);
        uint8_t buf[512];
        int len = cq_rtcp_bye_write(ssrcs, n, reason, rlen, buf, sizeof buf);
        PROP_CHECK(len == (int)cq_rtcp_bye_size(n, rlen));
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_iter_init(&it, buf, (size_t)len);
        PROP_CHECK(cq_rtcp_iter_next(&it, &h) == len);
        cq_rtcp_bye_t b;
        PROP_CHECK(cq_rtcp_bye_parse(&h, &b) == 0);
        PROP_CHECK(b.count == n && b.reason_len == rlen);
        for (size_t i = 0; i < n; i++)
            PROP_CHECK(cq_rtcp_bye_ssrc(&b, i) == ssrcs[i]);
        PROP_CHECK(rlen == 0 || memcmp(b.reason, reason, rlen) == 0);
    }
}

/* ------------------------------------------------------------------------------------ */
/* NACK                                                                                  */

static const uint8_t nack_two_pairs[] = {
    0x81, 0xcd, 0x00, 0x04, /* FMT=1, PT=205, length 20 / 4 - 1 = 4 */
    0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
    0x00, 0x00, 0x00, 0x02, /* SSRC of media source */
    0x00, 0x64, 0x00, 0x05, /* PID 100, BLP bits 0 and 2: 101, 103 */
    0xff, 0xff, 0x80, 0x01, /* PID 65535, BLP bits 0 and 15: 0, 15 (wrapped) */
};

static void test_rtcp_nack_parse_and_expand(void **state) {
    (void)state;
    cq_rtcp_header_t h = only_packet(nack_two_pairs, sizeof nack_two_pairs);
    cq_rtcp_nack_t nack;
    assert_int_equal(cq_rtcp_nack_parse(&h, &nack), 0);
    assert_int_equal(nack.sender_ssrc, 1);
    assert_int_equal(nack.media_ssrc, 2);
    assert_int_equal(nack.count, 2);
    cq_rtcp_nack_pair_t p = cq_rtcp_nack_pair_at(&nack, 1);
    assert_int_equal(p.pid, 65535);
    assert_int_equal(p.blp, 0x8001);

    uint16_t seqs[34];
    assert_int_equal(cq_rtcp_nack_expand(&nack, seqs, 34), 6);
    const uint16_t want[] = {100, 101, 103, 65535, 0, 15};
    assert_memory_equal(seqs, want, sizeof want);
    assert_int_equal(cq_rtcp_nack_expand(&nack, seqs, 5), CQ_ENOBUFS);
    assert_int_equal(cq_rtcp_nack_expand(&nack, seqs, 2), CQ_ENOBUFS);

    cq_rtcp_nack_pair_t pairs[2] = {{100, 5}, {65535, 0x8001}};
    uint8_t buf[32];
    assert_int_equal(cq_rtcp_nack_size(2), sizeof nack_two_pairs);
    assert_int_equal(cq_rtcp_nack_write(1, 2, pairs, 2, buf, sizeof buf), sizeof nack_two_pairs);
    assert_memory_equal(buf, nack_two_pairs, sizeof nack_two_pairs);
    assert_int_equal(cq_rtcp_nack_write(1, 2, pairs, 0, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtcp_nack_write(1, 2, pairs, 2, buf, 19), CQ_ENOBUFS);
}

static void test_rtcp_nack_parse_malformed(void **state) {
    (void)state;
    cq_rtcp_nack_t nack = {.count = 99};
    /* Zero pairs: the feedback header alone asks for nothing. */
    const uint8_t no_pairs[] = {0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    cq_rtcp_header_t h = only_packet(no_pairs, sizeof no_pairs);
    assert_int_equal(cq_rtcp_nack_parse(&h, &nack), CQ_EMALFORMED);
    /* Shorter than the two SSRCs. */
    const uint8_t tiny[] = {0x81, 0xcd, 0x00, 0x01, 0, 0, 0, 1};
    h = only_packet(tiny, sizeof tiny);
    assert_int_equal(cq_rtcp_nack_parse(&h, &nack), CQ_EMALFORMED);
    /* A half pair left by an odd padding count. */
    const uint8_t half[] = {0xa1, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0, 2};
    h = only_packet(half, sizeof half);
    assert_int_equal(h.body_len, 10);
    assert_int_equal(cq_rtcp_nack_parse(&h, &nack), CQ_EMALFORMED);
    assert_int_equal(nack.count, 99);
    /* FMT 15 on RTPFB is not a NACK. */
    const uint8_t fmt15[] = {0x8f, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 100, 0, 0};
    h = only_packet(fmt15, sizeof fmt15);
    assert_int_equal(cq_rtcp_nack_parse(&h, &nack), CQ_EINVAL);
}

static void test_rtcp_nack_compact_hand_checked(void **state) {
    (void)state;
    cq_rtcp_nack_pair_t pairs[8];
    /* 65534 starts a pair; 65535, 0 and 5 are 1, 2 and 7 after it: bits 0, 1, 6 = 0x0043.
     * 40 is 42 after 65534: a new pair. */
    const uint16_t lost[] = {65534, 65535, 0, 5, 40};
    assert_int_equal(cq_rtcp_nack_compact(lost, 5, pairs, 8), 2);
    assert_int_equal(pairs[0].pid, 65534);
    assert_int_equal(pairs[0].blp, 0x0043);
    assert_int_equal(pairs[1].pid, 40);
    assert_int_equal(pairs[1].blp, 0);
    /* Exactly 16 after the PID still fits (bit 15); 17 after does not. */
    const uint16_t edge[] = {10, 26, 27};
    assert_int_equal(cq_rtcp_nack_compact(edge, 3, pairs, 8), 2);
    assert_int_equal(pairs[0].blp, 0x8000);
    assert_int_equal(pairs[1].pid, 27);

    assert_int_equal(cq_rtcp_nack_compact(lost, 5, pairs, 1), CQ_ENOBUFS);
    assert_int_equal(cq_rtcp_nack_compact(lost, 0, pairs, 8), CQ_EINVAL);
    const uint16_t dup[] = {5, 5};
    assert_int_equal(cq_rtcp_nack_compact(dup, 2, pairs, 8), CQ_EINVAL);
    const uint16_t backwards[] = {5, 4};
    assert_int_equal(cq_rtcp_nack_compact(backwards, 2, pairs, 8), CQ_EINVAL);
}

/* The fewest pairs that cover lost[0 .. n), by dynamic programming over prefixes: an
 * oracle independent of the greedy scan. */
static size_t nack_min_pairs(const uint16_t *lost, size_t n) {
    size_t best[512];
    best[0] = 0;
    for (size_t k = 1; k <= n; k++) {
        best[k] = SIZE_MAX;
        /* The last pair starts at lost[j] and must reach lost[k - 1]. */
        for (size_t j = 0; j < k; j++) {
            if ((uint16_t)(lost[k - 1] - lost[j]) <= 16 && best[j] + 1 < best[k])
                best[k] = best[j] + 1;
        }
    }
    return best[n];
}

static void test_rtcp_nack_compact_expand_property(void **state) {
    (void)state;
    const uint64_t seed = 0x4e41434b;
    cq_test_rand_t rng = {seed};
    for (size_t iter = 0; iter < 5000; iter++) {
        uint16_t lost[500];
        size_t n = 1 + cq_test_rand_below(&rng, 500);
        /* Start anywhere, often just before the wrap, with steps from dense to sparse. */
        uint16_t s = (iter % 3 == 0) ? (uint16_t)(65535 - cq_test_rand_below(&rng, 200))
                                     : (uint16_t)cq_test_rand_u32(&rng);
        uint32_t max_step = 1 + cq_test_rand_below(&rng, 40);
        for (size_t i = 0; i < n; i++) {
            lost[i] = s;
            s = (uint16_t)(s + 1 + cq_test_rand_below(&rng, max_step));
        }
        cq_rtcp_nack_pair_t pairs[500];
        int np = cq_rtcp_nack_compact(lost, n, pairs, 500);
        PROP_CHECK(np > 0);
        PROP_CHECK((size_t)np == nack_min_pairs(lost, n));

        uint8_t buf[CQ_RTCP_FB_SIZE + 500 * 4];
        int len = cq_rtcp_nack_write(1, 2, pairs, (size_t)np, buf, sizeof buf);
        PROP_CHECK(len == (int)cq_rtcp_nack_size((size_t)np));
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_iter_init(&it, buf, (size_t)len);
        PROP_CHECK(cq_rtcp_iter_next(&it, &h) == len);
        cq_rtcp_nack_t nack;
        PROP_CHECK(cq_rtcp_nack_parse(&h, &nack) == 0);
        uint16_t back[500];
        PROP_CHECK(cq_rtcp_nack_expand(&nack, back, 500) == (int)n);
        PROP_CHECK(memcmp(back, lost, n * sizeof lost[0]) == 0);
    }
}

/* ------------------------------------------------------------------------------------ */
/* PLI, FIR, REMB                                                                        */

static void test_rtcp_pli_hand_checked(void **state) {
    (void)state;
    const uint8_t pli[] = {
        0x81, 0xce, 0x00, 0x02, /* FMT=1, PT=206, length 12 / 4 - 1 = 2 */
        0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
        0x12, 0x34, 0x56, 0x78, /* SSRC of media source */
    };
    uint8_t buf[16];
    assert_int_equal(cq_rtcp_pli_write(1, 0x12345678, buf, sizeof buf), CQ_RTCP_PLI_SIZE);
    assert_memory_equal(buf, pli, sizeof pli);
    assert_int_equal(cq_rtcp_pli_write(1, 2, buf, 11), CQ_ENOBUFS);
    cq_rtcp_header_t h = only_packet(pli, sizeof pli);
    cq_rtcp_fb_t fb;
    assert_int_equal(cq_rtcp_pli_parse(&h, &fb), 0);
    assert_int_equal(fb.sender_ssrc, 1);
    assert_int_equal(fb.media_ssrc, 0x12345678);
    assert_int_equal(fb.fci_len, 0);

    /* A PLI has no FCI. */
    const uint8_t fat[] = {0x81, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0};
    h = only_packet(fat, sizeof fat);
    assert_int_equal(cq_rtcp_pli_parse(&h, &fb), CQ_EMALFORMED);
    /* PSFB FMT 4 is a FIR, not a PLI; RTPFB FMT 1 is a NACK. */
    const uint8_t fir_hdr[] = {0x84, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    h = only_packet(fir_hdr, sizeof fir_hdr);
    assert_int_equal(cq_rtcp_pli_parse(&h, &fb), CQ_EINVAL);
    const uint8_t nack_hdr[] = {0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
    h = only_packet(nack_hdr, sizeof nack_hdr);
    assert_int_equal(cq_rtcp_pli_parse(&h, &fb), CQ_EINVAL);
}

static void test_rtcp_fir_hand_checked(void **state) {
    (void)state;
    const uint8_t fir[] = {
        0x84, 0xce, 0x00, 0x06, /* FMT=4, PT=206, length 28 / 4 - 1 = 6 */
        0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
        0x00, 0x00, 0x00, 0x00, /* SSRC of media source: unused, 0 */
        0xaa, 0xaa, 0xaa, 0xaa, /* entry 1: SSRC */
        0x07, 0x00, 0x00, 0x00, /* seq nr 7, reserved */
        0xbb, 0xbb, 0xbb, 0xbb, /* entry 2: SSRC */
        0xff, 0x00, 0x00, 0x00, /* seq nr 255, reserved */
    };
    const cq_rtcp_fir_entry_t entries[] = {{0xaaaaaaaa, 7}, {0xbbbbbbbb, 255}};
    uint8_t buf[32];
    assert_int_equal(cq_rtcp_fir_size(2), sizeof fir);
    assert_int_equal(cq_rtcp_fir_write(1, entries, 2, buf, sizeof buf), sizeof fir);
    assert_memory_equal(buf, fir, sizeof fir);
    assert_int_equal(cq_rtcp_fir_write(1, entries, 0, buf, sizeof buf), CQ_EINVAL);
    assert_int_equal(cq_rtcp_fir_write(1, entries, 2, buf, sizeof fir - 1), CQ_ENOBUFS);

    cq_rtcp_header_t h = only_packet(fir, sizeof fir);
    cq_rtcp_fir_t f;
    assert_int_equal(cq_rtcp_fir_parse(&h, &f), 0);
    assert_int_equal(f.sender_ssrc, 1);
    assert_int_equal(f.count, 2);
    cq_rtcp_fir_entry_t e = cq_rtcp_fir_entry_at(&f, 1);
    assert_int_equal(e.ssrc, 0xbbbbbbbb);
    assert_int_equal(e.seq_nr, 255);
    e = cq_rtcp_fir_entry_at(&f, 2);
    assert_int_equal(e.ssrc, 0);
}

static void test_rtcp_fir_parse_bad_length(void **state) {
    (void)state;
    cq_rtcp_fir_t f = {.count = 99};
    /* No entry. */
    const uint8_t none[] = {0x84, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};
    cq_rtcp_header_t h = only_packet(none, sizeof none);
    assert_int_equal(cq_rtcp_fir_parse(&h, &f), CQ_EMALFORMED);
    /* Half an entry (4 bytes). */
    const uint8_t half[] = {0x84, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0xaa, 0xaa, 0xaa, 0xaa};
    h = only_packet(half, sizeof half);
    assert_int_equal(cq_rtcp_fir_parse(&h, &f), CQ_EMALFORMED);
    /* One and a half entries (12 bytes). */
    uint8_t one_half[24] = {0x84, 0xce, 0x00, 0x05};
    h = only_packet(one_half, sizeof one_half);
    assert_int_equal(cq_rtcp_fir_parse(&h, &f), CQ_EMALFORMED);
    assert_int_equal(f.count, 99);
}

static const uint8_t remb_one_mbps[] = {
    0x8f, 0xce, 0x00, 0x05, /* FMT=15, PT=206, length 24 / 4 - 1 = 5 */
    0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
    0x00, 0x00, 0x00, 0x00, /* SSRC of media source: 0 */
    'R',  'E',  'M',  'B',  /* unique identifier */
    0x01,                   /* num SSRC 1 */
    0x0b, 0xd0, 0x90,       /* exp 2, mantissa 250000 = 0x3d090: 000010|11 1101 0000 1001 0000 */
    0x00, 0x00, 0x00, 0x09, /* SSRC feedback */
};

static void test_rtcp_remb_hand_checked(void **state) {
    (void)state;
    /* 1 000 000 bps: 1e6 >> 1 = 500000 is still above 2^18 - 1, 1e6 >> 2 = 250000 fits. */
    const uint32_t ssrc = 9;
    uint8_t buf[32];
    assert_int_equal(cq_rtcp_remb_size(1), sizeof remb_one_mbps);
    assert_int_equal(cq_rtcp_remb_write(1, 1000000, &ssrc, 1, buf, sizeof buf),
                     sizeof remb_one_mbps);
    assert_memory_equal(buf, remb_one_mbps, sizeof remb_one_mbps);
    /* 1 000 003 bps cannot be said exactly with exponent 2: it rounds down to 1 000 000. */
    assert_int_equal(cq_rtcp_remb_write(1, 1000003, &ssrc, 1, buf, sizeof buf),
                     sizeof remb_one_mbps);
    assert_memory_equal(buf, remb_one_mbps, sizeof remb_one_mbps);
    assert_int_equal(cq_rtcp_remb_write(1, 1, &ssrc, 1, buf, 23), CQ_ENOBUFS);

    cq_rtcp_header_t h = only_packet(remb_one_mbps, sizeof remb_one_mbps);
    cq_rtcp_remb_t r;
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), 0);
    assert_true(r.bitrate_bps == 1000000);
    assert_int_equal(r.count, 1);
    assert_int_equal(cq_rtcp_remb_ssrc(&r, 0), 9);
    assert_int_equal(cq_rtcp_remb_ssrc(&r, 1), 0);
}

static uint64_t remb_written_bitrate(uint64_t bps) {
    uint8_t buf[CQ_RTCP_REMB_SIZE];
    assert_int_equal(cq_rtcp_remb_write(1, bps, NULL, 0, buf, sizeof buf), CQ_RTCP_REMB_SIZE);
    cq_rtcp_header_t h = only_packet(buf, sizeof buf);
    cq_rtcp_remb_t r;
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), 0);
    return r.bitrate_bps;
}

static void test_rtcp_remb_write_exponent_choice(void **state) {
    (void)state;
    uint8_t buf[CQ_RTCP_REMB_SIZE];
    /* 2^18 - 1 is the largest exact value with exponent 0: bytes 00 | 03 ff ff. */
    assert_int_equal(cq_rtcp_remb_write(1, 262143, NULL, 0, buf, sizeof buf), 20);
    assert_int_equal(buf[17], 0x03);
    assert_int_equal(buf[18], 0xff);
    assert_int_equal(buf[19], 0xff);
    /* 2^18 needs exponent 1, mantissa 2^17: 000001|10 0000 0000 0000 0000 = 06 00 00. */
    assert_int_equal(cq_rtcp_remb_write(1, 262144, NULL, 0, buf, sizeof buf), 20);
    assert_int_equal(buf[17], 0x06);
    assert_int_equal(buf[18], 0x00);
    assert_int_equal(buf[19], 0x00);
    /* The largest value: exponent 46, mantissa 2^18 - 1: 101110|11 ff ff = bb ff ff. */
    assert_int_equal(cq_rtcp_remb_write(1, UINT64_MAX, NULL, 0, buf, sizeof buf), 20);
    assert_int_equal(buf[17], 0xbb);
    assert_int_equal(buf[18], 0xff);
    assert_int_equal(buf[19], 0xff);

    assert_true(remb_written_bitrate(0) == 0);
    assert_true(remb_written_bitrate(262143) == 262143);
    const uint64_t seed = 0x7e3b;
    cq_test_rand_t rng = {seed};
    for (size_t iter = 0; iter < 5000; iter++) {
        uint64_t bps = cq_test_rand_u64(&rng) >> cq_test_rand_below(&rng, 64);
        uint64_t got = remb_written_bitrate(bps);
        /* Never more than asked, and within one unit of the 18-bit mantissa. */
        PROP_CHECK(got <= bps);
        PROP_CHECK(bps - got <= (bps >> 17));
    }
}

static void test_rtcp_remb_parse_malformed(void **state) {
    (void)state;
    uint8_t p[sizeof remb_one_mbps];
    cq_rtcp_remb_t r = {.count = 99};
    cq_rtcp_header_t h;

    /* Another application's AFB message. */
    memcpy(p, remb_one_mbps, sizeof p);
    memcpy(p + 12, "REMX", 4);
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), CQ_EUNSUPPORTED);
    /* Num SSRC 2 with one SSRC present; num SSRC 0 with one present. */
    memcpy(p, remb_one_mbps, sizeof p);
    p[16] = 2;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), CQ_EMALFORMED);
    p[16] = 0;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), CQ_EMALFORMED);
    /* Exponent 63 with a mantissa of 2: 2^64, past uint64_t. */
    memcpy(p, remb_one_mbps, sizeof p);
    p[17] = 0xfc;
    p[18] = 0x00;
    p[19] = 0x02;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), CQ_EMALFORMED);
    /* ... while exponent 63 and mantissa 1 is exactly 2^63. */
    p[19] = 0x01;
    h = only_packet(p, sizeof p);
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), 0);
    assert_true(r.bitrate_bps == 1ull << 63);
    r.count = 99;
    /* Identifier only, no count/bitrate word. */
    const uint8_t id_only[] = {0x8f, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B'};
    h = only_packet(id_only, sizeof id_only);
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), CQ_EMALFORMED);
    /* No room even for the identifier. */
    const uint8_t bare[] = {0x8f, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};
    h = only_packet(bare, sizeof bare);
    assert_int_equal(cq_rtcp_remb_parse(&h, &r), CQ_EMALFORMED);
    assert_int_equal(r.count, 99);
}

static void test_rtcp_feedback_roundtrip_random(void **state) {
    (void)state;
    const uint64_t seed = 0xfeedbac;
    cq_test_rand_t rng = {seed};
    for (size_t iter = 0; iter < 3000; iter++) {
        uint32_t sender = cq_test_rand_u32(&rng), media = cq_test_rand_u32(&rng);
        uint8_t buf[2048];
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        int len;
        switch (iter % 3) {
        case 0: {
            cq_rtcp_fir_entry_t e[20];
            size_t n = 1 + cq_test_rand_below(&rng, 20);
            for (size_t i = 0; i < n; i++)
                e[i] = (cq_rtcp_fir_entry_t){cq_test_rand_u32(&rng), (uint8_t)iter};
            len = cq_rtcp_fir_write(sender, e, n, buf, sizeof buf);
            cq_rtcp_iter_init(&it, buf, (size_t)len);
            PROP_CHECK(cq_rtcp_iter_next(&it, &h) == len);
            cq_rtcp_fir_t f;
            PROP_CHECK(cq_rtcp_fir_parse(&h, &f) == 0);
            PROP_CHECK(f.sender_ssrc == sender && f.media_ssrc == 0 && f.count == n);
            for (size_t i = 0; i < n; i++) {
                cq_rtcp_fir_entry_t got = cq_rtcp_fir_entry_at(&f, i);
                PROP_CHECK(got.ssrc == e[i].ssrc && got.seq_nr == e[i].seq_nr);
            }
            break;
        }
        case 1: {
            uint32_t ssrcs[255];
            size_t n = cq_test_rand_below(&rng, 256);
            for (size_t i = 0; i < n; i++)
                ssrcs[i] = cq_test_rand_u32(&rng);
            uint64_t bps = (uint64_t)cq_test_rand_below(&rng, 1u << 18)
                           << cq_test_rand_below(&rng, 47);
            len = cq_rtcp_remb_write(sender, bps, ssrcs, n, buf, sizeof buf);
            cq_rtcp_iter_init(&it, buf, (size_t)len);
            PROP_CHECK(cq_rtcp_iter_next(&it, &h) == len);
            cq_rtcp_remb_t r;
            PROP_CHECK(cq_rtcp_remb_parse(&h, &r) == 0);
            PROP_CHECK(r.sender_ssrc == sender && r.bitrate_bps == bps && r.count == n);
            for (size_t i = 0; i < n; i++)
                PROP_CHECK(cq_rtcp_remb_ssrc(&r, i) == ssrcs[i]);
            break;
        }
        default: {
            len = cq_rtcp_pli_write(sender, media, buf, sizeof buf);
            cq_rtcp_iter_init(&it, buf, (size_t)len);
            PROP_CHECK(cq_rtcp_iter_next(&it, &h) == len);
            cq_rtcp_fb_t fb;
            PROP_CHECK(cq_rtcp_pli_parse(&h, &fb) == 0);
            PROP_CHECK(fb.sender_ssrc == sender && fb.media_ssrc == media);
            break;
        }
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* Walking compounds                                                                     */

/* SR (RC=0) + SDES CNAME "ab" + NACK + PLI + REMB, the REMB padded by 4 bytes. */
static const uint8_t compound[] = {
    0x80, 0xc8, 0x00, 0x06, /* SR: RC=0, length 28 / 4 - 1 = 6 */
    0x00, 0x00, 0x00, 0x01, /* SSRC 1 */
    0x00, 0x00, 0x00, 0x02, /* NTP seconds 2 */
    0x00, 0x00, 0x00, 0x03, /* NTP fraction 3 */
    0x00, 0x00, 0x00, 0x04, /* RTP timestamp 4 */
    0x00, 0x00, 0x00, 0x05, /* packet count 5 */
    0x00, 0x00, 0x00, 0x06, /* octet count 6 */
    0x81, 0xca, 0x00, 0x03, /* offset 28, SDES: SC=1, length 16 / 4 - 1 = 3 */
    0x00, 0x00, 0x00, 0x01, /* SSRC 1 */
    0x01, 0x02, 'a',  'b',  /* CNAME "ab" */
    0x00, 0x00, 0x00, 0x00, /* END, padding */
    0x81, 0xcd, 0x00, 0x03, /* offset 44, NACK: length 16 / 4 - 1 = 3 */
    0x00, 0x00, 0x00, 0x01, /* sender SSRC 1 */
    0x00, 0x00, 0x00, 0x09, /* media SSRC 9 */
    0x00, 0x07, 0x00, 0x00, /* PID 7, BLP 0 */
    0x81, 0xce, 0x00, 0x02, /* offset 60, PLI: length 12 / 4 - 1 = 2 */
    0x00, 0x00, 0x00, 0x01, /* sender SSRC 1 */
    0x00, 0x00, 0x00, 0x09, /* media SSRC 9 */
    0xaf, 0xce, 0x00, 0x06, /* offset 72, REMB with P set: (24 + 4) / 4 - 1 = 6 */
    0x00, 0x00, 0x00, 0x01, /* sender SSRC 1 */
    0x00, 0x00, 0x00, 0x00, /* media SSRC 0 */
    'R',  'E',  'M',  'B',  /* identifier */
    0x01, 0x00, 0x10, 0x00, /* num SSRC 1, exp 0, mantissa 0x1000 */
    0x00, 0x00, 0x00, 0x09, /* SSRC 9 */
    0x00, 0x00, 0x00, 0x04, /* 4 bytes of padding, the last one counting them */
};

static void test_rtcp_iter_next_full_compound(void **state) {
    (void)state;
    assert_int_equal(cq_rtcp_validate(compound, sizeof compound), 5);
    static const struct {
        uint8_t pt, count;
        int size;
        size_t body_len;
    } want[] = {
        {CQ_RTCP_PT_SR, 0, 28, 24},  {CQ_RTCP_PT_SDES, 1, 16, 12},  {CQ_RTCP_PT_RTPFB, 1, 16, 12},
        {CQ_RTCP_PT_PSFB, 1, 12, 8}, {CQ_RTCP_PT_PSFB, 15, 28, 20},
    };
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, compound, sizeof compound);
    size_t offset = 0;
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(cq_rtcp_iter_next(&it, &h), want[i].size);
        assert_int_equal(h.pt, want[i].pt);
        assert_int_equal(h.count, want[i].count);
        assert_int_equal(h.body_len, want[i].body_len);
        assert_ptr_equal(h.data, compound + offset);
        assert_ptr_equal(h.body, compound + offset + 4);
        assert_int_equal(h.padded, i == 4);
        offset += h.size;
    }
    assert_int_equal(cq_rtcp_iter_next(&it, &h), 0);
    assert_int_equal(cq_rtcp_iter_next(&it, &h), 0);

    /* And every packet parses as its type. */
    cq_rtcp_iter_init(&it, compound, sizeof compound);
    cq_rtcp_sr_t sr;
    cq_rtcp_sdes_t sdes;
    cq_rtcp_nack_t nack;
    cq_rtcp_fb_t pli;
    cq_rtcp_remb_t remb;
    cq_rtcp_iter_next(&it, &h);
    assert_int_equal(cq_rtcp_sr_parse(&h, &sr), 0);
    assert_true(sr.info.ntp == 0x0000000200000003ull);
    cq_rtcp_iter_next(&it, &h);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), 0);
    cq_rtcp_iter_next(&it, &h);
    assert_int_equal(cq_rtcp_nack_parse(&h, &nack), 0);
    assert_int_equal(cq_rtcp_nack_pair_at(&nack, 0).pid, 7);
    cq_rtcp_iter_next(&it, &h);
    assert_int_equal(cq_rtcp_pli_parse(&h, &pli), 0);
    cq_rtcp_iter_next(&it, &h);
    assert_int_equal(cq_rtcp_remb_parse(&h, &remb), 0);
    assert_true(remb.bitrate_bps == 0x1000);
}

/* RFC 5506: feedback alone, with no SR or RR in front, is a valid datagram. */
static void test_rtcp_iter_next_reduced_size(void **state) {
    (void)state;
    assert_int_equal(cq_rtcp_validate(compound + 60, sizeof compound - 60), 2);
    assert_int_equal(cq_rtcp_validate(nack_two_pairs, sizeof nack_two_pairs), 1);
}

static void test_rtcp_iter_next_malformed(void **state) {
    (void)state;
    uint8_t p[sizeof compound];
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h = {.pt = 1};

    /* Empty datagram. */
    assert_int_equal(cq_rtcp_validate(compound, 0), CQ_ETRUNCATED);
    cq_rtcp_iter_init(&it, compound, 0);
    assert_int_equal(cq_rtcp_iter_next(&it, &h), 0);

    /* Version 1 in the first packet, then in the third. */
    memcpy(p, compound, sizeof p);
    p[0] = 0x40;
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_EVERSION);
    memcpy(p, compound, sizeof p);
    p[44] = 0xc1; /* version 3 */
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_EVERSION);
    cq_rtcp_iter_init(&it, p, sizeof p);
    assert_int_equal(cq_rtcp_iter_next(&it, &h), 28);
    assert_int_equal(cq_rtcp_iter_next(&it, &h), 16);
    h.pt = 1;
    assert_int_equal(cq_rtcp_iter_next(&it, &h), CQ_EVERSION);
    assert_int_equal(h.pt, 1);                                 /* untouched */
    assert_int_equal(cq_rtcp_iter_next(&it, &h), CQ_EVERSION); /* sticky */

    /* A length past the end of the datagram. */
    memcpy(p, compound, sizeof p);
    p[3] = 0x07; /* SR claims 32 bytes: then SDES is misread, and so on to the end */
    assert_true(cq_rtcp_validate(p, sizeof p) < 0);
    p[3] = 0xff;
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_ETRUNCATED);

    /* Padding on a packet that is not the last. */
    memcpy(p, compound, sizeof p);
    p[44] |= 0x20;
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_EMALFORMED);
    /* Padding count 0, or larger than the packet body. */
    memcpy(p, compound, sizeof p);
    p[sizeof p - 1] = 0;
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_EMALFORMED);
    p[sizeof p - 1] = 25;
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_EMALFORMED);
    p[sizeof p - 1] = 24; /* the whole body is padding: legal framing */
    assert_int_equal(cq_rtcp_validate(p, sizeof p), 5);

    /* A packet type of the RTP range (RFC 5761 §4). */
    memcpy(p, compound, sizeof p);
    p[1] = 96;
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_EMALFORMED);
    p[1] = 224;
    assert_int_equal(cq_rtcp_validate(p, sizeof p), CQ_EMALFORMED);

    /* Trailing bytes too few for a header. */
    uint8_t tail[sizeof nack_two_pairs + 3];
    memcpy(tail, nack_two_pairs, sizeof nack_two_pairs);
    memset(tail + sizeof nack_two_pairs, 0x80, 3);
    assert_int_equal(cq_rtcp_validate(tail, sizeof tail), CQ_ETRUNCATED);
}

/* Cut the compound at every length: a cut on a packet boundary leaves fewer whole
 * packets, any other cut is truncation. */
static void test_rtcp_validate_truncated_at_every_length(void **state) {
    (void)state;
    const size_t bounds[] = {28, 44, 60, 72};
    for (size_t len = 1; len < sizeof compound; len++) {
        int want = CQ_ETRUNCATED;
        for (size_t b = 0; b < 4; b++) {
            if (bounds[b] == len)
                want = (int)b + 1;
        }
        assert_int_equal(cq_rtcp_validate(compound, len), want);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Compound builder                                                                      */

static void test_rtcp_compound_commit_builds_walkable_datagram(void **state) {
    (void)state;
    uint8_t buf[256];
    cq_rtcp_compound_t c;
    cq_rtcp_compound_init(&c, buf, sizeof buf);
    cq_rtcp_report_t rb = sr_one_block_report;
    cq_rtcp_sender_info_t info = {1, 2, 3, 4};
    const cq_rtcp_nack_pair_t pair = {500, 0x0101};
    const uint32_t bye = 0x11223344;
    assert_int_equal(cq_rtcp_compound_commit(&c, cq_rtcp_sr_write(0x11223344, &info, &rb, 1,
                                                                  cq_rtcp_compound_tail(&c),
                                                                  cq_rtcp_compound_room(&c))),
                     0);
    assert_int_equal(
        cq_rtcp_compound_commit(&c, cq_rtcp_sdes_cname_write(0x11223344, "telecentro-1", 12,
                                                             cq_rtcp_compound_tail(&c),
                                                             cq_rtcp_compound_room(&c))),
        0);
    assert_int_equal(cq_rtcp_compound_commit(&c, cq_rtcp_nack_write(0x11223344, 7, &pair, 1,
                                                                    cq_rtcp_compound_tail(&c),
                                                                    cq_rtcp_compound_room(&c))),
                     0);
    assert_int_equal(
        cq_rtcp_compound_commit(&c, cq_rtcp_bye_write(&bye, 1, NULL, 0, cq_rtcp_compound_tail(&c),
                                                      cq_rtcp_compound_room(&c))),
        0);
    /* 52 + (4 + 4 + 16) + 16 + 8 */
    assert_int_equal(cq_rtcp_compound_finish(&c), 100);
    assert_int_equal(cq_rtcp_validate(buf, 100), 4);

    cq_rtcp_sdes_t sdes;
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, buf, 100);
    cq_rtcp_iter_next(&it, &h);
    cq_rtcp_iter_next(&it, &h);
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), 0);
    cq_rtcp_sdes_item_t cname;
    assert_int_equal(cq_rtcp_sdes_find(&sdes, 0x11223344, CQ_RTCP_SDES_CNAME, &cname), 0);
    assert_memory_equal(cname.text, "telecentro-1", 12);
}

static void test_rtcp_compound_commit_errors(void **state) {
    (void)state;
    uint8_t buf[30];
    cq_rtcp_compound_t c;
    cq_rtcp_compound_init(&c, buf, sizeof buf);
    assert_int_equal(cq_rtcp_compound_finish(&c), CQ_EINVAL); /* nothing in it */
    assert_int_equal(cq_rtcp_compound_commit(&c, cq_rtcp_pli_write(1, 2, cq_rtcp_compound_tail(&c),
                                                                   cq_rtcp_compound_room(&c))),
                     0);
    assert_int_equal(cq_rtcp_compound_commit(&c, cq_rtcp_pli_write(1, 2, cq_rtcp_compound_tail(&c),
                                                                   cq_rtcp_compound_room(&c))),
                     0);
    /* A third PLI does not fit: the first two stay, and finish reports the failure. */
    assert_int_equal(cq_rtcp_compound_commit(&c, cq_rtcp_pli_write(1, 2, cq_rtcp_compound_tail(&c),
                                                                   cq_rtcp_compound_room(&c))),
                     CQ_ENOBUFS);
    assert_int_equal(c.len, 24);
    assert_int_equal(cq_rtcp_compound_finish(&c), CQ_ENOBUFS);
    assert_int_equal(cq_rtcp_validate(buf, c.len), 2);

    /* Bytes whose length field disagrees with what the caller says it wrote. */
    cq_rtcp_compound_init(&c, buf, sizeof buf);
    cq_rtcp_pli_write(1, 2, buf, sizeof buf);
    assert_int_equal(cq_rtcp_compound_commit(&c, 16), CQ_EINVAL);
    assert_int_equal(cq_rtcp_compound_commit(&c, 2), CQ_EINVAL);
    assert_int_equal(cq_rtcp_compound_commit(&c, 64), CQ_EINVAL);
    assert_int_equal(c.len, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtcp_sr_parse_hand_checked),
        cmocka_unit_test(test_rtcp_sr_write_hand_checked),
        cmocka_unit_test(test_rtcp_rr_parse_two_blocks),
        cmocka_unit_test(test_rtcp_rr_write_clamps_cumulative_lost),
        cmocka_unit_test(test_rtcp_rr_parse_empty_and_extension),
        cmocka_unit_test(test_rtcp_sr_rr_parse_count_does_not_fit),
        cmocka_unit_test(test_rtcp_sr_rr_roundtrip_random),
        cmocka_unit_test(test_rtcp_rtt_us_rfc3550_figure2),
        cmocka_unit_test(test_rtcp_rtt_us_edges),
        cmocka_unit_test(test_rtcp_ntp_conversions),
        cmocka_unit_test(test_rtcp_sdes_cname_write_hand_checked),
        cmocka_unit_test(test_rtcp_sdes_parse_chunks_and_find),
        cmocka_unit_test(test_rtcp_sdes_parse_malformed),
        cmocka_unit_test(test_rtcp_sdes_write_rejects_bad_items),
        cmocka_unit_test(test_rtcp_sdes_roundtrip_random),
        cmocka_unit_test(test_rtcp_bye_hand_checked),
        cmocka_unit_test(test_rtcp_bye_parse_malformed),
        cmocka_unit_test(test_rtcp_bye_roundtrip_random),
        cmocka_unit_test(test_rtcp_nack_parse_and_expand),
        cmocka_unit_test(test_rtcp_nack_parse_malformed),
        cmocka_unit_test(test_rtcp_nack_compact_hand_checked),
        cmocka_unit_test(test_rtcp_nack_compact_expand_property),
        cmocka_unit_test(test_rtcp_pli_hand_checked),
        cmocka_unit_test(test_rtcp_fir_hand_checked),
        cmocka_unit_test(test_rtcp_fir_parse_bad_length),
        cmocka_unit_test(test_rtcp_remb_hand_checked),
        cmocka_unit_test(test_rtcp_remb_write_exponent_choice),
        cmocka_unit_test(test_rtcp_remb_parse_malformed),
        cmocka_unit_test(test_rtcp_feedback_roundtrip_random),
        cmocka_unit_test(test_rtcp_iter_next_full_compound),
        cmocka_unit_test(test_rtcp_iter_next_reduced_size),
        cmocka_unit_test(test_rtcp_iter_next_malformed),
        cmocka_unit_test(test_rtcp_validate_truncated_at_every_length),
        cmocka_unit_test(test_rtcp_compound_commit_builds_walkable_datagram),
        cmocka_unit_test(test_rtcp_compound_commit_errors),
    };
    return cmocka_run_group_tests_name("rtp/rtcp", tests, NULL, NULL);
}
