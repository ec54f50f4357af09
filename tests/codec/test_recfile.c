#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/recfile.h"
#include "rtp/error.h"

static void test_recfile_header_round_trip(void **state) {
    (void)state;
    cq_recfile_header_t h = {.kind = CQ_RECFILE_VIDEO,
                             .layer = 2,
                             .ssrc = 0xdeadbeef,
                             .session = 7,
                             .participant = 42,
                             .wallclock_us = 1764000000123456ull};
    uint8_t buf[CQ_RECFILE_HEADER_SIZE];
    assert_int_equal(cq_recfile_header_write(&h, buf, sizeof buf), CQ_RECFILE_HEADER_SIZE);
    assert_memory_equal(buf, "CQREC\r\n\x1a\x00\x01\x01\x02\xde\xad\xbe\xef", 16);
    cq_recfile_header_t g;
    assert_int_equal(cq_recfile_header_parse(buf, sizeof buf, &g), CQ_RECFILE_HEADER_SIZE);
    assert_int_equal(g.kind, h.kind);
    assert_int_equal(g.layer, 2);
    assert_int_equal(g.ssrc, h.ssrc);
    assert_int_equal(g.session, 7);
    assert_int_equal(g.participant, 42);
    assert_true(g.wallclock_us == h.wallclock_us);
}

static void test_recfile_header_parse_refuses(void **state) {
    (void)state;
    cq_recfile_header_t h = {.kind = CQ_RECFILE_AUDIO}, g;
    uint8_t buf[CQ_RECFILE_HEADER_SIZE];
    assert_int_equal(cq_recfile_header_write(&h, buf, sizeof buf - 1), CQ_ENOBUFS);
    h.kind = 9;
    assert_int_equal(cq_recfile_header_write(&h, buf, sizeof buf), CQ_EINVAL);
    h.kind = CQ_RECFILE_AUDIO;
    cq_recfile_header_write(&h, buf, sizeof buf);
    assert_int_equal(cq_recfile_header_parse(buf, sizeof buf - 1, &g), CQ_ETRUNCATED);
    buf[9] = 2; /* version 2 */
    assert_int_equal(cq_recfile_header_parse(buf, sizeof buf, &g), CQ_EVERSION);
    buf[9] = 1;
    buf[10] = 5; /* unknown kind */
    assert_int_equal(cq_recfile_header_parse(buf, sizeof buf, &g), CQ_EMALFORMED);
    buf[10] = 0;
    buf[7] = 'x'; /* mangled magic */
    assert_int_equal(cq_recfile_header_parse(buf, sizeof buf, &g), CQ_EMALFORMED);
}

/* Records written back to back read back in order, each a view into the buffer; a cut
 * record is truncated, not misread. */
static void test_recfile_records_round_trip(void **state) {
    (void)state;
    uint8_t file[4096];
    size_t off = 0;
    for (unsigned i = 1; i <= 20; i++) {
        int n = cq_recfile_record_head_write(1000u * i, 10 + i, file + off, sizeof file - off);
        assert_int_equal(n, CQ_RECFILE_RECORD_HEAD);
        off += (size_t)n;
        memset(file + off, (int)i, 10 + i);
        off += 10 + i;
    }
    size_t at = 0;
    for (unsigned i = 1; i <= 20; i++) {
        uint64_t t;
        const uint8_t *pkt;
        size_t len;
        int n = cq_recfile_record_parse(file + at, off - at, &t, &pkt, &len);
        assert_int_equal(n, CQ_RECFILE_RECORD_HEAD + 10 + i);
        assert_true(t == 1000u * i);
        assert_int_equal(len, 10 + i);
        assert_int_equal(pkt[0], i);
        assert_int_equal(pkt[len - 1], i);
        at += (size_t)n;
    }
    assert_int_equal(at, off);
    uint64_t t;
    const uint8_t *pkt;
    size_t len;
    assert_int_equal(cq_recfile_record_parse(file, 9, &t, &pkt, &len), CQ_ETRUNCATED);
    assert_int_equal(cq_recfile_record_parse(file, CQ_RECFILE_RECORD_HEAD + 10, &t, &pkt, &len),
                     CQ_ETRUNCATED);
    uint8_t zero[CQ_RECFILE_RECORD_HEAD] = {0};
    assert_int_equal(cq_recfile_record_parse(zero, sizeof zero, &t, &pkt, &len), CQ_EMALFORMED);
    assert_int_equal(cq_recfile_record_head_write(0, 0, file, sizeof file), CQ_EINVAL);
    assert_int_equal(cq_recfile_record_head_write(0, 70000, file, sizeof file), CQ_EINVAL);
    assert_int_equal(cq_recfile_record_head_write(0, 10, file, 9), CQ_ENOBUFS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recfile_header_round_trip),
        cmocka_unit_test(test_recfile_header_parse_refuses),
        cmocka_unit_test(test_recfile_records_round_trip),
    };
    return cmocka_run_group_tests_name("recfile", tests, NULL, NULL);
}
