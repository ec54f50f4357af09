#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtp/demux.h"

/* RFC 7983 §7, written out as ranges independently of the code under test. */
static cq_demux_kind_t expected_first_byte(unsigned b) {
    static const struct {
        unsigned lo, hi;
        cq_demux_kind_t kind;
    } ranges[] = {
        {0, 3, CQ_DEMUX_STUN},           {16, 19, CQ_DEMUX_ZRTP},  {20, 63, CQ_DEMUX_DTLS},
        {64, 79, CQ_DEMUX_TURN_CHANNEL}, {128, 191, CQ_DEMUX_RTP},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (b >= ranges[i].lo && b <= ranges[i].hi)
            return ranges[i].kind;
    return CQ_DEMUX_UNKNOWN;
}

/* All 256 first bytes, which covers both sides of every boundary. */
static void test_demux_first_byte_every_value(void **state) {
    (void)state;
    for (unsigned b = 0; b < 256; b++) {
        if (cq_demux_first_byte((uint8_t)b) != expected_first_byte(b))
            fail_msg("first byte %u: %d", b, cq_demux_first_byte((uint8_t)b));
    }
}

/* The boundaries named one by one, so a failure reads as the RFC's table. */
static void test_demux_classify_range_boundaries(void **state) {
    (void)state;
    static const struct {
        uint8_t first;
        cq_demux_kind_t kind;
    } rows[] = {
        {0, CQ_DEMUX_STUN},          {3, CQ_DEMUX_STUN},     {4, CQ_DEMUX_UNKNOWN},
        {15, CQ_DEMUX_UNKNOWN},      {16, CQ_DEMUX_ZRTP},    {19, CQ_DEMUX_ZRTP},
        {20, CQ_DEMUX_DTLS},         {63, CQ_DEMUX_DTLS},    {64, CQ_DEMUX_TURN_CHANNEL},
        {79, CQ_DEMUX_TURN_CHANNEL}, {80, CQ_DEMUX_UNKNOWN}, {127, CQ_DEMUX_UNKNOWN},
        {128, CQ_DEMUX_RTP},         {191, CQ_DEMUX_RTP},    {192, CQ_DEMUX_UNKNOWN},
        {255, CQ_DEMUX_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        /* Second byte 111 (Opus, marker clear): RTP whenever the first byte says media. */
        uint8_t pkt[2] = {rows[i].first, 111};
        if (cq_demux_classify(pkt, sizeof pkt) != rows[i].kind)
            fail_msg("first byte %u", rows[i].first);
    }
}

/* RFC 5761 §4: second byte 192..223 is RTCP; with the marker bit masked, payload types
 * 64..95 are the same values and count as RTCP; everything else is RTP. */
static void test_demux_classify_rtcp_second_byte(void **state) {
    (void)state;
    for (unsigned second = 0; second < 256; second++) {
        uint8_t pkt[2] = {0x80, (uint8_t)second};
        unsigned pt = second & 0x7f;
        cq_demux_kind_t want = (pt >= 64 && pt <= 95) ? CQ_DEMUX_RTCP : CQ_DEMUX_RTP;
        if (cq_demux_classify(pkt, 2) != want)
            fail_msg("second byte %u", second);
        assert_int_equal(cq_demux_is_rtcp_byte((uint8_t)second), want == CQ_DEMUX_RTCP);
    }
    /* The RTCP packet types chasqui handles, as the second byte of real packets. */
    static const uint8_t rtcp_types[] = {200, 201, 202,
                                         203, 205, 206}; /* SR RR SDES BYE RTPFB PSFB */
    for (size_t i = 0; i < sizeof rtcp_types; i++) {
        uint8_t pkt[2] = {0x81, rtcp_types[i]};
        assert_int_equal(cq_demux_classify(pkt, 2), CQ_DEMUX_RTCP);
    }
    /* Boundaries: 191/224 (outside RTCP's range) and 192/223 (inside). */
    uint8_t pkt[2] = {0x80, 191};
    assert_int_equal(cq_demux_classify(pkt, 2), CQ_DEMUX_RTP); /* PT 63 with marker: RED */
    pkt[1] = 192;
    assert_int_equal(cq_demux_classify(pkt, 2), CQ_DEMUX_RTCP);
    pkt[1] = 223;
    assert_int_equal(cq_demux_classify(pkt, 2), CQ_DEMUX_RTCP);
    pkt[1] = 224; /* PT 96 with marker: VP8 end of frame */
    assert_int_equal(cq_demux_classify(pkt, 2), CQ_DEMUX_RTP);
    pkt[1] = 96; /* PT 96, marker clear */
    assert_int_equal(cq_demux_classify(pkt, 2), CQ_DEMUX_RTP);
}

/* Short datagrams: nothing is read past len. */
static void test_demux_classify_short_datagrams(void **state) {
    (void)state;
    assert_int_equal(cq_demux_classify(NULL, 0), CQ_DEMUX_UNKNOWN);
    uint8_t *one = test_malloc(1); /* exact size: ASan flags a read of a second byte */
    one[0] = 0x80;
    assert_int_equal(cq_demux_classify(one, 1), CQ_DEMUX_UNKNOWN); /* no RTP is 1 byte */
    one[0] = 0x00;
    assert_int_equal(cq_demux_classify(one, 1), CQ_DEMUX_STUN); /* the parser rejects it */
    one[0] = 22;
    assert_int_equal(cq_demux_classify(one, 1), CQ_DEMUX_DTLS);
    test_free(one);
}

/* Real first bytes: a STUN binding request, a DTLS handshake record, a TURN ChannelData
 * message on channel 0x4001, an RTP packet and an RTCP receiver report. */
static void test_demux_classify_real_packets(void **state) {
    (void)state;
    static const uint8_t stun[] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    static const uint8_t dtls[] = {0x16, 0xfe, 0xfd, 0x00};
    static const uint8_t turn[] = {0x40, 0x01, 0x00, 0x04};
    static const uint8_t rtp[] = {0x90, 0xe0, 0x12, 0x34};  /* X set, M set, PT 96 */
    static const uint8_t rtcp[] = {0x81, 0xc9, 0x00, 0x07}; /* RR, one report block */
    assert_int_equal(cq_demux_classify(stun, sizeof stun), CQ_DEMUX_STUN);
    assert_int_equal(cq_demux_classify(dtls, sizeof dtls), CQ_DEMUX_DTLS);
    assert_int_equal(cq_demux_classify(turn, sizeof turn), CQ_DEMUX_TURN_CHANNEL);
    assert_int_equal(cq_demux_classify(rtp, sizeof rtp), CQ_DEMUX_RTP);
    assert_int_equal(cq_demux_classify(rtcp, sizeof rtcp), CQ_DEMUX_RTCP);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demux_first_byte_every_value),
        cmocka_unit_test(test_demux_classify_range_boundaries),
        cmocka_unit_test(test_demux_classify_rtcp_second_byte),
        cmocka_unit_test(test_demux_classify_short_datagrams),
        cmocka_unit_test(test_demux_classify_real_packets),
    };
    return cmocka_run_group_tests_name("rtp/demux", tests, NULL, NULL);
}
