#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/twcc.h"
#include "support/test_rand.h"

/* Expected bytes are written out by hand from draft-holmer-rmcat-transport-wide-cc-
 * extensions-01 §3.1, field by field; the chunk figures of §3.1.3 and §3.1.4 are used as
 * published. */

#define PROP_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fail_msg("%s failed at seed %llu iteration %zu", #cond, (unsigned long long)seed,      \
                     iter);                                                                        \
    } while (0)

/* A header view over one whole TWCC packet, with body_len chosen by the test. */
static cq_rtcp_header_t view(const uint8_t *pkt, size_t body_len) {
    cq_rtcp_header_t h = {
        .data = pkt,
        .size = body_len + 4,
        .body = pkt + 4,
        .body_len = body_len,
        .count = CQ_RTCP_FMT_TWCC,
        .pt = CQ_RTCP_PT_RTPFB,
    };
    return h;
}

/* Walks a written packet and parses it, checking the framing on the way. */
static int walk_and_parse(const uint8_t *buf, size_t len, cq_twcc_fb_t *fb, cq_twcc_packet_t *pkts,
                          size_t cap) {
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, buf, len);
    if (cq_rtcp_iter_next(&it, &h) != (int)len)
        return CQ_EMALFORMED;
    return cq_twcc_parse(&h, fb, pkts, cap);
}

static const cq_twcc_fb_t fb_1_2 = {.sender_ssrc = 1, .media_ssrc = 2};

/* ------------------------------------------------------------------------------------ */
/* The draft's figures                                                                   */

/* §3.1.3 Example 1: |0|0 0|0 0 0 0 0 1 1 0 1 1 1 0 1| = 0x00dd, a run of 221 "packet not
 * received". */
static const uint8_t draft_run_221[] = {
    0x8f, 0xcd, 0x00, 0x05, /* FMT=15, PT=205, length (20 + 2 + 2 padding) / 4 - 1 = 5 */
    0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
    0x00, 0x00, 0x00, 0x02, /* SSRC of media source */
    0x00, 0x0a, 0x00, 0xdd, /* base sequence number 10, status count 221 */
    0x00, 0x00, 0x00, 0x00, /* reference time 0, fb pkt. count 0 */
    0x00, 0xdd, 0x00, 0x00, /* the figure's chunk, zero padding */
};

static void test_twcc_parse_draft_run_length_example1(void **state) {
    (void)state;
    static cq_twcc_packet_t pkts[221];
    cq_twcc_fb_t fb;
    assert_int_equal(walk_and_parse(draft_run_221, sizeof draft_run_221, &fb, pkts, 221), 221);
    assert_int_equal(fb.base_seq, 10);
    assert_int_equal(fb.status_count, 221);
    for (size_t i = 0; i < 221; i++) {
        assert_int_equal(pkts[i].seq, 10 + i);
        assert_int_equal(pkts[i].received, 0);
    }
    assert_int_equal(walk_and_parse(draft_run_221, sizeof draft_run_221, &fb, pkts, 220),
                     CQ_ENOBUFS);
}

static void test_twcc_write_draft_run_length_example1(void **state) {
    (void)state;
    static cq_twcc_packet_t lost[221];
    for (size_t i = 0; i < 221; i++)
        lost[i] = (cq_twcc_packet_t){.seq = (uint16_t)(10 + i)};
    uint8_t buf[64];
    size_t consumed = 0;
    assert_int_equal(cq_twcc_write(&fb_1_2, lost, 221, buf, sizeof buf, &consumed),
                     sizeof draft_run_221);
    assert_int_equal(consumed, 221);
    assert_memory_equal(buf, draft_run_221, sizeof draft_run_221);

    /* The same from two entries: the 219 numbers between them are not received. */
    cq_twcc_packet_t ends[2] = {{.seq = 10}, {.seq = 230}};
    assert_int_equal(cq_twcc_write(&fb_1_2, ends, 2, buf, sizeof buf, &consumed),
                     sizeof draft_run_221);
    assert_int_equal(consumed, 2);
    assert_memory_equal(buf, draft_run_221, sizeof draft_run_221);
}

/* §3.1.3 Example 2: |0|1 1|0 0 0 0 0 0 0 0 1 1 0 0 0| = 0x6018, a run of 24 of symbol 11.
 * §3.1.1 calls 11 reserved, and the figure's "packet received, w/o recv delta" is in no
 * implementation: a feedback that uses it for a reported packet is rejected. */
static void test_twcc_parse_draft_run_length_example2_reserved(void **state) {
    (void)state;
    uint8_t pkt[sizeof draft_run_221];
    memcpy(pkt, draft_run_221, sizeof pkt);
    pkt[15] = 24;   /* status count 24 */
    pkt[20] = 0x60; /* the figure's chunk */
    pkt[21] = 0x18;
    cq_twcc_packet_t pkts[24];
    cq_twcc_fb_t fb = {.fb_count = 77};
    cq_rtcp_header_t h = view(pkt, sizeof pkt - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 24), CQ_EMALFORMED);
    assert_int_equal(fb.fb_count, 77);
}

/* §3.1.4 Example 1: |1|0|0 1 1 1 1 1 0 0 0 1 1 1 0 0| = 0x9f1c: 1 not received,
 * 5 received, 3 not received, 3 received, 2 not received. Deltas 1..8 ticks. */
static const uint8_t draft_vector_1bit[] = {
    0x8f, 0xcd, 0x00, 0x07, /* length (20 + 2 + 8 + 2 padding) / 4 - 1 = 7 */
    0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
    0x00, 0x00, 0x00, 0x02, /* SSRC of media source */
    0x00, 0x64, 0x00, 0x0e, /* base sequence number 100, status count 14 */
    0x00, 0x00, 0x01, 0x03, /* reference time 1 (64 ms), fb pkt. count 3 */
    0x9f, 0x1c, 0x01, 0x02, /* the figure's chunk; deltas 1, 2 */
    0x03, 0x04, 0x05, 0x06, /* deltas 3 .. 6 */
    0x07, 0x08, 0x00, 0x00, /* deltas 7, 8; zero padding */
};

/* Seq 100 + i: received, and when (64 ms + the running sum of the deltas, 250 us each). */
static const struct {
    uint8_t received;
    int64_t arrival_us;
} draft_vector_1bit_pkts[14] = {
    {0, 0}, {1, 64250}, {1, 64750}, {1, 65500}, {1, 66500}, {1, 67750}, {0, 0},
    {0, 0}, {0, 0},     {1, 69250}, {1, 71000}, {1, 73000}, {0, 0},     {0, 0},
};

static void test_twcc_parse_draft_vector_example1(void **state) {
    (void)state;
    cq_twcc_packet_t pkts[14];
    cq_twcc_fb_t fb;
    assert_int_equal(walk_and_parse(draft_vector_1bit, sizeof draft_vector_1bit, &fb, pkts, 14),
                     14);
    assert_int_equal(fb.sender_ssrc, 1);
    assert_int_equal(fb.media_ssrc, 2);
    assert_int_equal(fb.base_seq, 100);
    assert_int_equal(fb.reference_time, 1);
    assert_int_equal(fb.fb_count, 3);
    for (size_t i = 0; i < 14; i++) {
        assert_int_equal(pkts[i].seq, 100 + i);
        assert_int_equal(pkts[i].received, draft_vector_1bit_pkts[i].received);
        if (pkts[i].received)
            assert_true(pkts[i].arrival_us == draft_vector_1bit_pkts[i].arrival_us);
    }
}

static void test_twcc_write_draft_vector_example1(void **state) {
    (void)state;
    cq_twcc_packet_t pkts[14];
    for (size_t i = 0; i < 14; i++) {
        pkts[i] = (cq_twcc_packet_t){.seq = (uint16_t)(100 + i),
                                     .received = draft_vector_1bit_pkts[i].received,
                                     .arrival_us = draft_vector_1bit_pkts[i].arrival_us};
    }
    cq_twcc_fb_t fb = {.sender_ssrc = 1, .media_ssrc = 2, .reference_time = 1, .fb_count = 3};
    uint8_t buf[64];
    size_t consumed;
    assert_int_equal(cq_twcc_write(&fb, pkts, 14, buf, sizeof buf, &consumed),
                     sizeof draft_vector_1bit);
    assert_int_equal(consumed, 14);
    assert_memory_equal(buf, draft_vector_1bit, sizeof draft_vector_1bit);
}

/* §3.1.4 Example 2: |1|1|0 0 1 1 0 1 0 1 0 1 0 0 0 0| = 0xcd50: not received, symbol 11,
 * 3 received, 2 not received. */
static void test_twcc_parse_draft_vector_example2(void **state) {
    (void)state;
    uint8_t pkt[] = {
        0x8f, 0xcd, 0x00, 0x05, /* FMT=15, PT=205, length 24 / 4 - 1 = 5 */
        0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
        0x00, 0x00, 0x00, 0x02, /* SSRC of media source */
        0x00, 0x00, 0x00, 0x07, /* base 0, status count 7 */
        0x00, 0x00, 0x00, 0x00, /* reference time 0, fb count 0 */
        0xcd, 0x50, 0x00, 0x00, /* the figure's chunk; no room for deltas */
    };
    cq_twcc_packet_t pkts[7];
    cq_twcc_fb_t fb;
    cq_rtcp_header_t h = view(pkt, sizeof pkt - 4);
    /* Slot 2 holds the reserved symbol and is reported: rejected. */
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 7), CQ_EMALFORMED);
    /* With a status count of 1 only slot 1 (not received) is reported; the rest of the
     * chunk is padding and may hold anything. */
    pkt[15] = 1;
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 7), 1);
    assert_int_equal(pkts[0].seq, 0);
    assert_int_equal(pkts[0].received, 0);

    /* The same figure with slot 2 made "received, small delta": 1 1 00 01 01 01 01 00 00 =
     * 0xc550, four received packets, so four one-byte deltas must follow. */
    uint8_t fixed[] = {
        0x8f, 0xcd, 0x00, 0x06, /* length 28 / 4 - 1 = 6 */
        0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
        0x00, 0x00, 0x00, 0x02, /* SSRC of media source */
        0x00, 0x00, 0x00, 0x07, /* base 0, status count 7 */
        0x00, 0x00, 0x00, 0x00, /* reference time 0, fb count 0 */
        0xc5, 0x50, 0x04, 0x04, /* chunk; deltas 1 ms, 1 ms */
        0x04, 0x04, 0x00, 0x00, /* deltas 1 ms, 1 ms; padding */
    };
    h = view(fixed, sizeof fixed - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 7), 7);
    const uint8_t want_received[7] = {0, 1, 1, 1, 1, 0, 0};
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(pkts[i].received, want_received[i]);
    assert_true(pkts[4].arrival_us == 4000);
}

/* ------------------------------------------------------------------------------------ */
/* A hand-built feedback with every kind of chunk and delta                              */

/*
 * Base sequence 65533, reference time -1 (-64 ms = -256 ticks), fb count 7:
 *
 *   seq    status         arrival (ticks)   delta
 *   65533  received       -252              +4      small
 *   65534  lost
 *   65535  received       -250              +2      small
 *   0      received       -254              -4      large: negative
 *   1      received        146              +400    large: past 255
 *   2      received        147              +1      small
 *   3..22  lost (20)
 *   23     received        187              +40     small
 *
 * 27 statuses, symbols 1 0 1 2 2 1 0 | 0 x 19 | 1, which the encoder closes as
 *   a two-bit vector 11 01 00 01 10 10 01 00  = 0xd1a4 (a large delta among 7 symbols)
 *   a run of 19 "not received"  0 00 0000000010011 = 0x0013
 *   a run of 1 "small delta"    0 01 0000000000001 = 0x2001 (the last chunk)
 */
static const uint8_t mixed[] = {
    0x8f, 0xcd, 0x00, 0x08, /* length (20 + 6 + 8 + 2 padding) / 4 - 1 = 8 */
    0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
    0x00, 0x00, 0x00, 0x02, /* SSRC of media source */
    0xff, 0xfd, 0x00, 0x1b, /* base sequence number 65533, status count 27 */
    0xff, 0xff, 0xff, 0x07, /* reference time -1 (24-bit two's complement), fb count 7 */
    0xd1, 0xa4, 0x00, 0x13, /* chunks */
    0x20, 0x01, 0x04, 0x02, /* chunk; deltas +4, +2 */
    0xff, 0xfc, 0x01, 0x90, /* deltas -4, +400 (two bytes each) */
    0x01, 0x28, 0x00, 0x00, /* deltas +1, +40; zero padding */
};

static const cq_twcc_packet_t mixed_received[] = {
    {.seq = 65533, .received = 1, .arrival_us = -63000},
    {.seq = 65535, .received = 1, .arrival_us = -62500},
    {.seq = 0, .received = 1, .arrival_us = -63500},
    {.seq = 1, .received = 1, .arrival_us = 36500},
    {.seq = 2, .received = 1, .arrival_us = 36750},
    {.seq = 23, .received = 1, .arrival_us = 46750},
};

static const cq_twcc_fb_t mixed_fb = {
    .sender_ssrc = 1, .media_ssrc = 2, .reference_time = -1, .fb_count = 7};

static void test_twcc_parse_mixed_chunks_wrap_negative(void **state) {
    (void)state;
    cq_twcc_packet_t pkts[27];
    cq_twcc_fb_t fb;
    assert_int_equal(walk_and_parse(mixed, sizeof mixed, &fb, pkts, 27), 27);
    assert_int_equal(fb.base_seq, 65533);
    assert_int_equal(fb.status_count, 27);
    assert_int_equal(fb.reference_time, -1);
    assert_int_equal(fb.fb_count, 7);
    size_t r = 0;
    for (size_t i = 0; i < 27; i++) {
        assert_int_equal(pkts[i].seq, (uint16_t)(65533 + i));
        int want = r < 6 && mixed_received[r].seq == pkts[i].seq;
        assert_int_equal(pkts[i].received, want);
        if (want) {
            assert_true(pkts[i].arrival_us == mixed_received[r].arrival_us);
            r++;
        }
    }
    assert_int_equal(r, 6);
}

static void test_twcc_write_mixed_chunks_wrap_negative(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t consumed = 0;
    /* Only the received packets listed: the gaps become "not received". */
    assert_int_equal(cq_twcc_write(&mixed_fb, mixed_received, 6, buf, sizeof buf, &consumed),
                     sizeof mixed);
    assert_int_equal(consumed, 6);
    assert_memory_equal(buf, mixed, sizeof mixed);

    /* Every number listed, the lost ones explicitly: the same bytes. */
    cq_twcc_packet_t all[27];
    size_t r = 0;
    for (size_t i = 0; i < 27; i++) {
        uint16_t seq = (uint16_t)(65533 + i);
        if (r < 6 && mixed_received[r].seq == seq)
            all[i] = mixed_received[r++];
        else
            all[i] = (cq_twcc_packet_t){.seq = seq};
    }
    assert_int_equal(cq_twcc_write(&mixed_fb, all, 27, buf, sizeof buf, &consumed), sizeof mixed);
    assert_int_equal(consumed, 27);
    assert_memory_equal(buf, mixed, sizeof mixed);

    /* Times off the 250 us grid by up to 125 us round to the same ticks (half-way up). */
    cq_twcc_packet_t off[6];
    memcpy(off, mixed_received, sizeof off);
    off[0].arrival_us -= 125; /* -63125 -> -63000 */
    off[1].arrival_us += 124; /* -62376 -> -62500 */
    off[2].arrival_us += 100;
    off[3].arrival_us -= 120;
    off[5].arrival_us -= 1;
    assert_int_equal(cq_twcc_write(&mixed_fb, off, 6, buf, sizeof buf, &consumed), sizeof mixed);
    assert_memory_equal(buf, mixed, sizeof mixed);
    off[0].arrival_us = -63000 + 125; /* half-way up: the next tick, -251 */
    assert_int_equal(cq_twcc_write(&mixed_fb, off, 6, buf, sizeof buf, &consumed), sizeof mixed);
    assert_int_equal(buf[26], 0x05);
    assert_int_equal(buf[27], 0x01);
}

/* Cut the mixed feedback's body at every length: only the padding may go. */
static void test_twcc_parse_truncated_at_every_length(void **state) {
    (void)state;
    cq_twcc_packet_t pkts[27];
    cq_twcc_fb_t fb;
    for (size_t body = 0; body <= sizeof mixed - 4; body++) {
        cq_rtcp_header_t h = view(mixed, body);
        int want = body >= sizeof mixed - 4 - 2 ? 27 : CQ_EMALFORMED;
        assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 27), want);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Malformed feedback                                                                    */

static void test_twcc_parse_malformed(void **state) {
    (void)state;
    uint8_t p[sizeof mixed + 8];
    cq_twcc_packet_t pkts[64];
    cq_twcc_fb_t fb = {.fb_count = 99};
    cq_rtcp_header_t h;

    /* Status count 0. */
    memcpy(p, mixed, sizeof mixed);
    p[14] = p[15] = 0;
    h = view(p, sizeof mixed - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EMALFORMED);
    /* Status count 60: the three chunks cover 27, and the two bytes after them, made a
     * run of 33 small deltas (0x2021), promise 33 deltas the packet does not hold. */
    memcpy(p, mixed, sizeof mixed);
    p[15] = 60;
    p[26] = 0x20;
    p[27] = 0x21;
    h = view(p, sizeof mixed - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EMALFORMED);
    /* A run-length chunk of length 0. */
    memcpy(p, mixed, sizeof mixed);
    p[22] = 0x00;
    p[23] = 0x00;
    h = view(p, sizeof mixed - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EMALFORMED);
    /* The run of 19 lost made a run of 19 received: 19 more deltas than the packet has. */
    memcpy(p, mixed, sizeof mixed);
    p[22] = 0x20;
    h = view(p, sizeof mixed - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EMALFORMED);
    /* A whole word after the padding. */
    memcpy(p, mixed, sizeof mixed);
    memset(p + sizeof mixed, 0, 4);
    h = view(p, sizeof mixed - 4 + 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EMALFORMED);
    /* Shorter than the fixed header. */
    h = view(mixed, 15);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EMALFORMED);
    /* A caller array too small. */
    h = view(mixed, sizeof mixed - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 26), CQ_ENOBUFS);
    /* Not transport-wide feedback. */
    h.count = CQ_RTCP_FMT_NACK;
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EINVAL);
    h.count = CQ_RTCP_FMT_TWCC;
    h.pt = CQ_RTCP_PT_PSFB;
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 64), CQ_EINVAL);
    assert_int_equal(fb.fb_count, 99);
}

/* The last chunk may describe more slots than remain: they are ignored. */
static void test_twcc_parse_last_chunk_longer_than_count(void **state) {
    (void)state;
    uint8_t p[] = {
        0x8f, 0xcd, 0x00, 0x06, /* FMT=15, PT=205, length 28 / 4 - 1 = 6 */
        0x00, 0x00, 0x00, 0x01, /* SSRC of packet sender */
        0x00, 0x00, 0x00, 0x02, /* SSRC of media source */
        0x00, 0x00, 0x00, 0x05, /* base 0, status count 5 */
        0x00, 0x00, 0x00, 0x00, /* reference time 0, fb count 0 */
        0x3f, 0xff, 0x01, 0x01, /* a run of 8191 small deltas, 5 of which count; 2 deltas */
        0x01, 0x01, 0x01, 0x00, /* three deltas, one byte of padding */
    };
    cq_twcc_packet_t pkts[5];
    cq_twcc_fb_t fb;
    cq_rtcp_header_t h = view(p, sizeof p - 4);
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 5), 5);
    assert_true(pkts[4].arrival_us == 5 * 250);
    /* A one-bit vector of 14 slots for a count of 5: the same. */
    p[20] = 0xbe; /* 1 0 11111 000000 0 */
    p[21] = 0x00;
    assert_int_equal(cq_twcc_parse(&h, &fb, pkts, 5), 5);
    assert_true(pkts[4].arrival_us == 5 * 250);
}

/* ------------------------------------------------------------------------------------ */
/* Writing: where a feedback stops                                                       */

static void test_twcc_write_stops_at_delta_overflow(void **state) {
    (void)state;
    /* 32767 ticks is 8191.75 ms: 9 s does not fit, and starts a new feedback. */
    cq_twcc_packet_t pkts[3] = {
        {.seq = 1, .received = 1, .arrival_us = 0},
        {.seq = 2, .received = 1, .arrival_us = 9000000},
        {.seq = 3, .received = 1, .arrival_us = 9000250},
    };
    uint8_t buf[64];
    size_t consumed = 0;
    cq_twcc_fb_t fb = fb_1_2;
    int len = cq_twcc_write(&fb, pkts, 3, buf, sizeof buf, &consumed);
    assert_int_equal(len, 24);
    assert_int_equal(consumed, 1);

    fb.reference_time = cq_twcc_reference_time(pkts[1].arrival_us);
    fb.fb_count = 1;
    assert_int_equal(fb.reference_time, 140); /* 9 000 000 / 64 000 = 140.6 */
    len = cq_twcc_write(&fb, pkts + 1, 2, buf, sizeof buf, &consumed);
    assert_true(len > 0);
    assert_int_equal(consumed, 2);
    cq_twcc_packet_t out[2];
    cq_twcc_fb_t got;
    assert_int_equal(walk_and_parse(buf, (size_t)len, &got, out, 2), 2);
    assert_int_equal(got.base_seq, 2);
    assert_true(out[0].arrival_us == 9000000);
    assert_true(out[1].arrival_us == 9000250);

    /* 8191.75 ms exactly still fits, as a large delta; 8192 ms does not. */
    pkts[1].arrival_us = 8191750;
    assert_true(cq_twcc_write(&fb_1_2, pkts, 2, buf, sizeof buf, &consumed) > 0);
    assert_int_equal(consumed, 2);
    pkts[1].arrival_us = 8192000;
    assert_true(cq_twcc_write(&fb_1_2, pkts, 2, buf, sizeof buf, &consumed) > 0);
    assert_int_equal(consumed, 1);
    /* Backwards: -8192 ms fits, a tick more does not. */
    pkts[1].arrival_us = -8192000;
    assert_true(cq_twcc_write(&fb_1_2, pkts, 2, buf, sizeof buf, &consumed) > 0);
    assert_int_equal(consumed, 2);
    pkts[1].arrival_us = -8192250;
    assert_true(cq_twcc_write(&fb_1_2, pkts, 2, buf, sizeof buf, &consumed) > 0);
    assert_int_equal(consumed, 1);
}

static void test_twcc_write_bad_reference_and_order(void **state) {
    (void)state;
    uint8_t buf[64];
    size_t consumed = 1234;
    /* The first received packet 10 s after the reference time cannot be coded. */
    cq_twcc_packet_t far[3] = {
        {.seq = 5}, {.seq = 6}, {.seq = 7, .received = 1, .arrival_us = 10000000}};
    assert_int_equal(cq_twcc_write(&fb_1_2, far, 3, buf, sizeof buf, &consumed), CQ_EINVAL);
    assert_int_equal(cq_twcc_write(&fb_1_2, far + 2, 1, buf, sizeof buf, &consumed), CQ_EINVAL);
    far[2].arrival_us = INT64_MAX;
    assert_int_equal(cq_twcc_write(&fb_1_2, far, 3, buf, sizeof buf, &consumed), CQ_EINVAL);
    /* Out of order, repeated, or too far ahead. */
    cq_twcc_packet_t bad[2] = {{.seq = 5}, {.seq = 4}};
    assert_int_equal(cq_twcc_write(&fb_1_2, bad, 2, buf, sizeof buf, &consumed), CQ_EINVAL);
    bad[1].seq = 5;
    assert_int_equal(cq_twcc_write(&fb_1_2, bad, 2, buf, sizeof buf, &consumed), CQ_EINVAL);
    bad[1].seq = 5 + 0x8000;
    assert_int_equal(cq_twcc_write(&fb_1_2, bad, 2, buf, sizeof buf, &consumed), CQ_EINVAL);
    assert_int_equal(cq_twcc_write(&fb_1_2, bad, 0, buf, sizeof buf, &consumed), CQ_EINVAL);
    assert_int_equal(consumed, 1234);
}

static void test_twcc_write_respects_cap(void **state) {
    (void)state;
    cq_twcc_packet_t pkts[100];
    for (size_t i = 0; i < 100; i++) {
        /* 300 ms apart: every delta is large (1200 ticks). */
        pkts[i] = (cq_twcc_packet_t){
            .seq = (uint16_t)(65500 + i), .received = 1, .arrival_us = (int64_t)i * 300000};
    }
    uint8_t buf[256];
    size_t consumed = 0;
    /* One packet with a two-byte delta needs 20 + 2 + 2 = 24 bytes. */
    assert_int_equal(cq_twcc_write(&fb_1_2, pkts + 1, 1, buf, 23, &consumed), CQ_ENOBUFS);
    cq_twcc_fb_t fb = fb_1_2;
    fb.reference_time = cq_twcc_reference_time(pkts[1].arrival_us);
    assert_int_equal(cq_twcc_write(&fb, pkts + 1, 99, buf, 24, &consumed), 24);
    assert_int_equal(consumed, 1);
    /* From packet 0 with reference 0: the first delta is 0 (small), every later one 1200
     * ticks (large). The first 7 symbols 1 2 2 2 2 2 2 leave as a two-bit vector, the
     * large ones after them make a run, so k >= 8 packets take 20 + 2 * 2 chunks + 1 +
     * 2 * (k - 1) = 23 + 2k bytes: 20 packets fit in 64, 21 would need 65 -> 68. */
    fb.reference_time = cq_twcc_reference_time(0);
    int len = cq_twcc_write(&fb, pkts, 100, buf, 64, &consumed);
    assert_int_equal(len, 64);
    assert_int_equal(consumed, 20);
    assert_int_equal(buf[20], 0xda); /* 11 01 10 10 10 10 10 10 = 0xdaaa */
    assert_int_equal(buf[21], 0xaa);
    assert_int_equal(buf[22], 0x40); /* run of 13 large: 0 10 0000000001101 = 0x400d */
    assert_int_equal(buf[23], 0x0d);
    cq_twcc_packet_t out[20];
    cq_twcc_fb_t got;
    assert_int_equal(walk_and_parse(buf, 64, &got, out, 20), 20);
    assert_true(out[19].arrival_us == 19 * 300000);
}

static void test_twcc_write_status_count_limit(void **state) {
    (void)state;
    static cq_twcc_packet_t out[65535];
    /* Lost packets 32000 apart: 0, 32000, 64000 make 64001 statuses; 30464 (= 96000 mod
     * 65536) would make 96001. */
    cq_twcc_packet_t pkts[4] = {{.seq = 0}, {.seq = 32000}, {.seq = 64000}, {.seq = 30464}};
    uint8_t buf[64];
    size_t consumed = 0;
    int len = cq_twcc_write(&fb_1_2, pkts, 4, buf, sizeof buf, &consumed);
    assert_true(len > 0);
    assert_int_equal(consumed, 3);
    cq_twcc_fb_t got;
    assert_int_equal(walk_and_parse(buf, (size_t)len, &got, out, 65535), 64001);
    assert_int_equal(out[64000].seq, 64000);
}

/* Chunk choice: a long run is one run-length chunk; mixed lost/received, one-bit vectors. */
static void test_twcc_write_chunk_choice(void **state) {
    (void)state;
    static cq_twcc_packet_t pkts[1000];
    for (size_t i = 0; i < 1000; i++) {
        pkts[i] =
            (cq_twcc_packet_t){.seq = (uint16_t)i, .received = 1, .arrival_us = (int64_t)i * 1000};
    }
    static uint8_t buf[2048];
    size_t consumed;
    /* 20 + one chunk (0x23e8: a run of 1000 small) + 1000 one-byte deltas = 1022 -> 1024. */
    assert_int_equal(cq_twcc_write(&fb_1_2, pkts, 1000, buf, sizeof buf, &consumed), 1024);
    assert_int_equal(buf[20], 0x23);
    assert_int_equal(buf[21], 0xe8);

    /* Received, lost, received, lost ... 28 times: two one-bit vectors 1 0 10101010101010
     * = 0xaaaa, then 14 deltas: 20 + 4 + 14 = 38 -> 40. */
    cq_twcc_packet_t alt[28];
    for (size_t i = 0; i < 28; i++) {
        alt[i] = (cq_twcc_packet_t){
            .seq = (uint16_t)i, .received = (uint8_t)(i % 2 == 0), .arrival_us = (int64_t)i * 1000};
    }
    assert_int_equal(cq_twcc_write(&fb_1_2, alt, 28, buf, sizeof buf, &consumed), 40);
    const uint8_t chunks[4] = {0xaa, 0xaa, 0xaa, 0xaa};
    assert_memory_equal(buf + 20, chunks, 4);
}

static void test_twcc_reference_time_rounds_down(void **state) {
    (void)state;
    assert_int_equal(cq_twcc_reference_time(0), 0);
    assert_int_equal(cq_twcc_reference_time(63999), 0);
    assert_int_equal(cq_twcc_reference_time(64000), 1);
    assert_int_equal(cq_twcc_reference_time(-1), -1);
    assert_int_equal(cq_twcc_reference_time(-64000), -1);
    assert_int_equal(cq_twcc_reference_time(-64001), -2);
    assert_int_equal(cq_twcc_reference_time(INT64_MAX), INT32_MAX);
    assert_int_equal(cq_twcc_reference_time(INT64_MIN), INT32_MIN);
}

/* ------------------------------------------------------------------------------------ */
/* Property: random arrival patterns survive write -> parse                              */

/* The reference time is 24 bits on the wire, so times come back modulo 2^24 * 64 ms. */
#define REF_WRAP_US ((int64_t)(1 << 24) * CQ_TWCC_REF_UNIT_US)

static int64_t wrap_diff(int64_t a, int64_t b) {
    int64_t d = (a - b) % REF_WRAP_US;
    if (d > REF_WRAP_US / 2)
        d -= REF_WRAP_US;
    if (d < -REF_WRAP_US / 2)
        d += REF_WRAP_US;
    return d;
}

static void test_twcc_write_parse_property(void **state) {
    (void)state;
    const uint64_t seed = 0x7cc0fb;
    cq_test_rand_t rng = {seed};
    static cq_twcc_packet_t in[600], out[20000];
    static uint8_t buf[1600];
    size_t feedbacks = 0;
    for (size_t iter = 0; iter < 3000; iter++) {
        size_t n = 1 + cq_test_rand_below(&rng, 600);
        uint16_t seq = (iter % 4 == 0) ? (uint16_t)(65535 - cq_test_rand_below(&rng, 300))
                                       : (uint16_t)cq_test_rand_u32(&rng);
        uint32_t loss = cq_test_rand_below(&rng, 60); /* percent */
        int omit_lost = (int)(iter & 1);              /* leave lost ones out of the list */
        int64_t send = (int64_t)(cq_test_rand_u64(&rng) % (1ull << 42)) - (1ll << 41);
        size_t m = 0;
        for (size_t i = 0; i < n; i++, seq++) {
            send += cq_test_rand_below(&rng, 20000);
            if (cq_test_rand_below(&rng, 300) == 0) /* an outage or clock jump: +-5..12 s */
                send += (cq_test_rand_below(&rng, 2) ? 1 : -1) *
                        (int64_t)(5000000 + cq_test_rand_below(&rng, 7000000));
            int received = cq_test_rand_below(&rng, 100) >= loss;
            if (!received && omit_lost)
                continue;
            /* Queueing jitter of up to 40 ms reorders arrivals: negative deltas. */
            int64_t arrival = send + cq_test_rand_below(&rng, 40000);
            in[m++] = (cq_twcc_packet_t){
                .seq = seq, .received = (uint8_t)received, .arrival_us = arrival};
        }
        if (m == 0)
            continue;

        size_t idx = 0;
        uint8_t fb_count = 0;
        while (idx < m) {
            cq_twcc_fb_t fb = {.sender_ssrc = 7, .media_ssrc = 9, .fb_count = fb_count};
            for (size_t j = idx; j < m; j++) {
                if (in[j].received) {
                    fb.reference_time = cq_twcc_reference_time(in[j].arrival_us);
                    break;
                }
            }
            /* Half the time a small cap, to split lists at the cap as often as at gaps. */
            size_t cap = 24 + cq_test_rand_below(&rng, (iter & 2) ? 200 : sizeof buf - 24);
            size_t consumed = 0;
            int len = cq_twcc_write(&fb, in + idx, m - idx, buf, cap, &consumed);
            PROP_CHECK(len > 0 && (size_t)len <= cap && len % 4 == 0);
            PROP_CHECK(consumed >= 1 && consumed <= m - idx);

            cq_twcc_fb_t got;
            int count = walk_and_parse(buf, (size_t)len, &got, out, 20000);
            uint16_t span = (uint16_t)(in[idx + consumed - 1].seq - in[idx].seq);
            PROP_CHECK(count == span + 1);
            PROP_CHECK(got.base_seq == in[idx].seq && got.fb_count == fb_count &&
                       got.sender_ssrc == 7 && got.media_ssrc == 9);
            PROP_CHECK(((uint32_t)got.reference_time & 0xffffff) ==
                       ((uint32_t)fb.reference_time & 0xffffff));

            /* Walk the parsed statuses against the list: listed entries as listed, the
             * numbers between them not received. */
            size_t j = idx;
            for (size_t k = 0; k < (size_t)count; k++) {
                PROP_CHECK(out[k].seq == (uint16_t)(in[idx].seq + k));
                if (j < idx + consumed && in[j].seq == out[k].seq) {
                    PROP_CHECK(out[k].received == in[j].received);
                    if (in[j].received) {
                        int64_t d = wrap_diff(out[k].arrival_us, in[j].arrival_us);
                        PROP_CHECK(d > -125 && d <= 125); /* half-way rounds up */
                    }
                    j++;
                } else {
                    PROP_CHECK(out[k].received == 0);
                }
            }
            PROP_CHECK(j == idx + consumed);
            idx += consumed;
            fb_count++;
            feedbacks++;
        }
    }
    /* The caps and jumps above must have split lists often, or the test proves little. */
    assert_true(feedbacks > 8000); /* 9359 with this seed */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twcc_parse_draft_run_length_example1),
        cmocka_unit_test(test_twcc_write_draft_run_length_example1),
        cmocka_unit_test(test_twcc_parse_draft_run_length_example2_reserved),
        cmocka_unit_test(test_twcc_parse_draft_vector_example1),
        cmocka_unit_test(test_twcc_write_draft_vector_example1),
        cmocka_unit_test(test_twcc_parse_draft_vector_example2),
        cmocka_unit_test(test_twcc_parse_mixed_chunks_wrap_negative),
        cmocka_unit_test(test_twcc_write_mixed_chunks_wrap_negative),
        cmocka_unit_test(test_twcc_parse_truncated_at_every_length),
        cmocka_unit_test(test_twcc_parse_malformed),
        cmocka_unit_test(test_twcc_parse_last_chunk_longer_than_count),
        cmocka_unit_test(test_twcc_write_stops_at_delta_overflow),
        cmocka_unit_test(test_twcc_write_bad_reference_and_order),
        cmocka_unit_test(test_twcc_write_respects_cap),
        cmocka_unit_test(test_twcc_write_status_count_limit),
        cmocka_unit_test(test_twcc_write_chunk_choice),
        cmocka_unit_test(test_twcc_reference_time_rounds_down),
        cmocka_unit_test(test_twcc_write_parse_property),
    };
    return cmocka_run_group_tests_name("rtp/twcc", tests, NULL, NULL);
}
