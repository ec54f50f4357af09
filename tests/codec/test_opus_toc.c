#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "codec/opus_toc.h"
#include "rtp/error.h"

static uint8_t toc_byte(uint8_t config, uint8_t stereo, uint8_t code) {
    return (uint8_t)(config << 3 | stereo << 2 | code);
}

/* The configs libopus emits for VoIP on weak links: SILK WB 20 ms (config 9), and the
 * 40/60 ms frames chasqui selects to save header overhead (configs 10, 11). */
static void test_opus_toc_parse_silk_voip_frames(void **state) {
    (void)state;
    cq_opus_toc_t t;
    uint8_t pkt[40] = {toc_byte(9, 0, 0)};
    assert_int_equal(cq_opus_toc_parse(pkt, sizeof pkt, &t), 0);
    assert_int_equal(t.mode, CQ_OPUS_MODE_SILK);
    assert_int_equal(t.bandwidth, CQ_OPUS_BW_WIDE);
    assert_int_equal(t.frame_count, 1);
    assert_int_equal(t.packet_samples, 960);

    pkt[0] = toc_byte(11, 1, 0);
    assert_int_equal(cq_opus_toc_parse(pkt, sizeof pkt, &t), 0);
    assert_int_equal(t.stereo, 1);
    assert_int_equal(t.packet_samples, 2880);
}

/* Table 2 of RFC 6716, walked config by config. */
static void test_opus_toc_config_table(void **state) {
    (void)state;
    static const struct {
        uint8_t config;
        cq_opus_mode_t mode;
        cq_opus_bandwidth_t bw;
        uint16_t samples;
    } rows[] = {
        {0, CQ_OPUS_MODE_SILK, CQ_OPUS_BW_NARROW, 480},
        {3, CQ_OPUS_MODE_SILK, CQ_OPUS_BW_NARROW, 2880},
        {5, CQ_OPUS_MODE_SILK, CQ_OPUS_BW_MEDIUM, 960},
        {8, CQ_OPUS_MODE_SILK, CQ_OPUS_BW_WIDE, 480},
        {12, CQ_OPUS_MODE_HYBRID, CQ_OPUS_BW_SUPERWIDE, 480},
        {15, CQ_OPUS_MODE_HYBRID, CQ_OPUS_BW_FULL, 960},
        {16, CQ_OPUS_MODE_CELT, CQ_OPUS_BW_NARROW, 120},
        {21, CQ_OPUS_MODE_CELT, CQ_OPUS_BW_WIDE, 240},
        {26, CQ_OPUS_MODE_CELT, CQ_OPUS_BW_SUPERWIDE, 480},
        {31, CQ_OPUS_MODE_CELT, CQ_OPUS_BW_FULL, 960},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cq_opus_toc_t t;
        uint8_t pkt[2] = {toc_byte(rows[i].config, 0, 0), 0};
        assert_int_equal(cq_opus_toc_parse(pkt, sizeof pkt, &t), 0);
        assert_int_equal(t.config, rows[i].config);
        assert_int_equal(t.mode, rows[i].mode);
        assert_int_equal(t.bandwidth, rows[i].bw);
        assert_int_equal(t.frame_samples, rows[i].samples);
        assert_int_equal(cq_opus_config_frame_samples(rows[i].config), rows[i].samples);
    }
}

static void test_opus_toc_parse_code1_needs_equal_halves(void **state) {
    (void)state;
    cq_opus_toc_t t;
    uint8_t pkt[5] = {toc_byte(9, 0, 1)};
    assert_int_equal(cq_opus_toc_parse(pkt, 5, &t), 0); /* 4 bytes: 2 + 2 */
    assert_int_equal(t.frame_count, 2);
    assert_int_equal(t.packet_samples, 1920);
    assert_int_equal(cq_opus_toc_parse(pkt, 4, &t), CQ_EMALFORMED); /* 3 bytes */
}

static void test_opus_toc_parse_code2_length_bytes(void **state) {
    (void)state;
    cq_opus_toc_t t;
    uint8_t pkt[3] = {toc_byte(1, 0, 2), 253, 1};
    assert_int_equal(cq_opus_toc_parse(pkt, 1, &t), CQ_ETRUNCATED);
    /* A first byte of 252..255 announces a second length byte. */
    assert_int_equal(cq_opus_toc_parse(pkt, 2, &t), CQ_ETRUNCATED);
    assert_int_equal(cq_opus_toc_parse(pkt, 3, &t), 0);
    assert_int_equal(t.frame_count, 2);
}

static void test_opus_toc_parse_code3_frame_count_limits(void **state) {
    (void)state;
    cq_opus_toc_t t;
    uint8_t pkt[2] = {toc_byte(16, 0, 3), 48}; /* 48 x 2.5 ms = 120 ms: the maximum */
    assert_int_equal(cq_opus_toc_parse(pkt, 2, &t), 0);
    assert_int_equal(t.frame_count, 48);
    assert_int_equal(t.packet_samples, CQ_OPUS_MAX_PACKET_SAMPLES);

    pkt[1] = 49; /* 122.5 ms */
    assert_int_equal(cq_opus_toc_parse(pkt, 2, &t), CQ_EMALFORMED);
    pkt[0] = toc_byte(11, 0, 3); /* 60 ms frames */
    pkt[1] = 0x80 | 3;           /* VBR, 3 frames = 180 ms */
    assert_int_equal(cq_opus_toc_parse(pkt, 2, &t), CQ_EMALFORMED);
    pkt[1] = 0x40 | 2; /* padding flag, 2 frames = 120 ms */
    assert_int_equal(cq_opus_toc_parse(pkt, 2, &t), 0);
    pkt[1] = 0; /* zero frames */
    assert_int_equal(cq_opus_toc_parse(pkt, 2, &t), CQ_EMALFORMED);
    assert_int_equal(cq_opus_toc_parse(pkt, 1, &t), CQ_ETRUNCATED);
}

static void test_opus_toc_parse_empty_leaves_output_alone(void **state) {
    (void)state;
    cq_opus_toc_t t = {.frame_count = 77};
    assert_int_equal(cq_opus_toc_parse(NULL, 0, &t), CQ_ETRUNCATED);
    assert_int_equal(t.frame_count, 77);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opus_toc_parse_silk_voip_frames),
        cmocka_unit_test(test_opus_toc_config_table),
        cmocka_unit_test(test_opus_toc_parse_code1_needs_equal_halves),
        cmocka_unit_test(test_opus_toc_parse_code2_length_bytes),
        cmocka_unit_test(test_opus_toc_parse_code3_frame_count_limits),
        cmocka_unit_test(test_opus_toc_parse_empty_leaves_output_alone),
    };
    return cmocka_run_group_tests_name("codec/opus_toc", tests, NULL, NULL);
}
