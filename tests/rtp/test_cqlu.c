/* The CQLU APP packet (rtp/cqlu.h): bytes written field by field from the diagram, and
 * parsed back; other applications' APP packets and short ones refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/cqlu.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"

/* RTCP V=2 subtype 0, PT 204, length 3; SSRC 0x11223344; "CQLU"; no ceiling, mask 0b101. */
static const uint8_t fixture[CQ_CQLU_SIZE] = {0x80, 204, 0x00, 0x03, 0x11, 0x22, 0x33, 0x44,
                                              'C',  'Q', 'L',  'U',  0x00, 0x00, 0x00, 0x05};
/* The same with the lowest layer's ceiling at 0x0123 = 291 kbit/s, mask 0b1. */
static const uint8_t fixture_ceiling[CQ_CQLU_SIZE] = {
    0x80, 204, 0x00, 0x03, 0x11, 0x22, 0x33, 0x44, 'C', 'Q', 'L', 'U', 0x00, 0x01, 0x23, 0x01};

static cq_rtcp_header_t walk(const uint8_t *buf, size_t len) {
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, buf, len);
    assert_int_equal(cq_rtcp_iter_next(&it, &h), (int)len);
    return h;
}

static void test_cqlu_write_bytes(void **state) {
    (void)state;
    uint8_t buf[32];
    cq_cqlu_t m = {.sender_ssrc = 0x11223344u, .layers = 0x05};
    assert_int_equal(cq_cqlu_write(&m, buf, sizeof buf), CQ_CQLU_SIZE);
    assert_memory_equal(buf, fixture, CQ_CQLU_SIZE);
    m = (cq_cqlu_t){.sender_ssrc = 0x11223344u, .layers = 0x01, .low_kbps = 291};
    assert_int_equal(cq_cqlu_write(&m, buf, sizeof buf), CQ_CQLU_SIZE);
    assert_memory_equal(buf, fixture_ceiling, CQ_CQLU_SIZE);
}

static void test_cqlu_write_short_buffer(void **state) {
    (void)state;
    uint8_t buf[CQ_CQLU_SIZE - 1];
    cq_cqlu_t m = {.sender_ssrc = 1, .layers = 1};
    assert_int_equal(cq_cqlu_write(&m, buf, sizeof buf), CQ_ENOBUFS);
}

static void test_cqlu_parse_fixture(void **state) {
    (void)state;
    cq_rtcp_header_t h = walk(fixture, sizeof fixture);
    cq_cqlu_t m = {0};
    assert_int_equal(cq_cqlu_parse(&h, &m), 0);
    assert_int_equal(m.sender_ssrc, 0x11223344u);
    assert_int_equal(m.layers, 0x05);
    assert_int_equal(m.low_kbps, 0);
    assert_int_equal(m.sound_kbps, 0);
    h = walk(fixture_ceiling, sizeof fixture_ceiling);
    assert_int_equal(cq_cqlu_parse(&h, &m), 0);
    assert_int_equal(m.layers, 0x01);
    assert_int_equal(m.low_kbps, 291);
}

/* Every mask with ceilings and rooms from none to the largest: no field spills into
 * another. */
static void test_cqlu_parse_round_trip_every_mask(void **state) {
    (void)state;
    static const uint16_t ceilings[] = {0, 1, 20, 255, 256, 0x8001, 0xffff};
    static const uint8_t rooms[] = {0, 1, 36, 0x80, 0xff};
    for (unsigned mask = 0; mask < 256; mask++) {
        for (size_t k = 0; k < sizeof ceilings / sizeof ceilings[0]; k++) {
            uint8_t buf[CQ_CQLU_SIZE];
            uint8_t room = rooms[(mask + k) % sizeof rooms];
            cq_cqlu_t w = {.sender_ssrc = 0xdeadbeefu,
                           .layers = (uint8_t)mask,
                           .low_kbps = ceilings[k],
                           .sound_kbps = room};
            assert_int_equal(cq_cqlu_write(&w, buf, sizeof buf), CQ_CQLU_SIZE);
            assert_int_equal(buf[12], room);
            cq_rtcp_header_t h = walk(buf, sizeof buf);
            cq_cqlu_t m;
            assert_int_equal(cq_cqlu_parse(&h, &m), 0);
            assert_int_equal(m.layers, mask);
            assert_int_equal(m.low_kbps, ceilings[k]);
            assert_int_equal(m.sound_kbps, room);
            assert_int_equal(m.sender_ssrc, 0xdeadbeefu);
        }
    }
}

/* The sound's room in the word's high byte; a longer payload (a later version) still
 * parses, its tail ignored. */
static void test_cqlu_parse_sound_and_longer(void **state) {
    (void)state;
    uint8_t buf[CQ_CQLU_SIZE + 4];
    memcpy(buf, fixture, sizeof fixture);
    buf[3] = 4; /* length: one more word */
    buf[12] = 36;
    memset(buf + CQ_CQLU_SIZE, 0xaa, 4);
    cq_rtcp_header_t h = walk(buf, sizeof buf);
    cq_cqlu_t m;
    assert_int_equal(cq_cqlu_parse(&h, &m), 0);
    assert_int_equal(m.layers, 0x05);
    assert_int_equal(m.low_kbps, 0);
    assert_int_equal(m.sound_kbps, 36);
}

static void test_cqlu_parse_other_app(void **state) {
    (void)state;
    uint8_t buf[CQ_CQLU_SIZE];
    memcpy(buf, fixture, sizeof buf);
    buf[11] = 'X'; /* another name */
    cq_rtcp_header_t h = walk(buf, sizeof buf);
    cq_cqlu_t m = {.layers = 0x77};
    assert_int_equal(cq_cqlu_parse(&h, &m), CQ_EUNSUPPORTED);
    memcpy(buf, fixture, sizeof buf);
    buf[0] = 0x81; /* subtype 1 */
    h = walk(buf, sizeof buf);
    assert_int_equal(cq_cqlu_parse(&h, &m), CQ_EUNSUPPORTED);
    assert_int_equal(m.layers, 0x77); /* untouched */
}

static void test_cqlu_parse_not_app(void **state) {
    (void)state;
    uint8_t rr[8];
    assert_int_equal(cq_rtcp_rr_write(1, NULL, 0, rr, sizeof rr), 8);
    cq_rtcp_header_t h = walk(rr, sizeof rr);
    cq_cqlu_t m;
    assert_int_equal(cq_cqlu_parse(&h, &m), CQ_EINVAL);
}

/* Named CQLU, but the payload word is missing; or not even the name fits. */
static void test_cqlu_parse_short(void **state) {
    (void)state;
    uint8_t buf[CQ_CQLU_SIZE];
    memcpy(buf, fixture, sizeof buf);
    buf[3] = 2;
    cq_rtcp_header_t h = walk(buf, 12);
    cq_cqlu_t m = {.layers = 0x77};
    assert_int_equal(cq_cqlu_parse(&h, &m), CQ_EMALFORMED);
    buf[3] = 1;
    h = walk(buf, 8);
    assert_int_equal(cq_cqlu_parse(&h, &m), CQ_EMALFORMED);
    assert_int_equal(m.layers, 0x77);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cqlu_write_bytes),
        cmocka_unit_test(test_cqlu_write_short_buffer),
        cmocka_unit_test(test_cqlu_parse_fixture),
        cmocka_unit_test(test_cqlu_parse_round_trip_every_mask),
        cmocka_unit_test(test_cqlu_parse_sound_and_longer),
        cmocka_unit_test(test_cqlu_parse_other_app),
        cmocka_unit_test(test_cqlu_parse_not_app),
        cmocka_unit_test(test_cqlu_parse_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
