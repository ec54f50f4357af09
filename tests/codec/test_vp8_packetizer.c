/*
 * VP8 into RTP payloads and back: even splitting with the descriptor on every piece, and
 * frames reassembled whatever order the packets come in, incomplete while one is missing,
 * across the 16-bit sequence wrap; then real encoder output through both and the decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "codec/vp8_codec.h"
#include "codec/vp8_packetizer.h"
#include "rtp/error.h"
#include "support/test_rand.h"

static const cq_vp8_desc_t template = {.extended = true,
                                       .has_picture_id = true,
                                       .picture_id_15bit = true,
                                       .picture_id = 1234,
                                       .has_tl0picidx = true,
                                       .tl0picidx = 7,
                                       .has_tid = true,
                                       .tid = 2,
                                       .y = true};

static void test_vp8_packetizer_even_pieces(void **state) {
    (void)state;
    static uint8_t frame[2500];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)(i * 7);
    cq_vp8_packetizer_t p;
    assert_int_equal(cq_vp8_packetizer_init(&p, frame, sizeof frame, &template, 1200), 3);
    uint8_t out[1200], joined[sizeof frame];
    size_t at = 0, sizes[3];
    for (int k = 0; k < 3; k++) {
        bool last;
        int n = cq_vp8_packetizer_next(&p, out, sizeof out, &last);
        assert_true(n > 0 && n <= 1200);
        cq_vp8_desc_t d;
        int ds = cq_vp8_desc_parse(out, (size_t)n, &d);
        assert_int_equal(ds, 6);
        assert_int_equal(d.start, k == 0);
        assert_int_equal(d.partition, 0);
        assert_int_equal(d.picture_id, 1234);
        assert_int_equal(d.tl0picidx, 7);
        assert_int_equal(d.tid, 2);
        assert_true(d.y);
        assert_int_equal(last, k == 2);
        sizes[k] = (size_t)n - 6;
        memcpy(joined + at, out + 6, sizes[k]);
        at += sizes[k];
    }
    assert_int_equal(at, sizeof frame);
    assert_memory_equal(joined, frame, sizeof frame);
    assert_true(sizes[0] - sizes[2] <= 1); /* 834, 833, 833: no runt */
    bool last;
    assert_int_equal(cq_vp8_packetizer_next(&p, out, sizeof out, &last), 0);
    assert_int_equal(cq_vp8_packetizer_init(&p, frame, 0, &template, 1200), CQ_EINVAL);
    assert_int_equal(cq_vp8_packetizer_init(&p, frame, 10, &template, 32), CQ_EINVAL);
    assert_int_equal(cq_vp8_packetizer_init(&p, frame, 10, &template, 1200), 1);
    assert_int_equal(cq_vp8_packetizer_next(&p, out, 8, &last), CQ_ENOBUFS);
}

typedef struct {
    uint16_t seq;
    uint32_t ts;
    bool marker;
    size_t len;
    uint8_t data[1200];
} pkt_t;

static cq_vp8_assembler_t asm_;

/* Frames of varied sizes (one byte to several packets), shuffled within a window of 8,
 * some duplicated, one lost and repaired late, over the sequence wrap: every frame comes
 * out whole, and the one with a hole only once it is filled. */
static void test_vp8_packetizer_assembler_under_reorder(void **state) {
    (void)state;
    static uint8_t frames[12][4000];
    static size_t flen[12];
    static pkt_t pkts[100];
    size_t npkts = 0;
    uint16_t seq = 65520;
    cq_test_rand_t r = {7};
    for (int f = 0; f < 12; f++) {
        flen[f] = f == 0 ? 1 : 1 + cq_test_rand_below(&r, 3999);
        cq_test_rand_fill(&r, frames[f], flen[f]);
        cq_vp8_desc_t d = template;
        d.picture_id = (uint16_t)f;
        cq_vp8_packetizer_t p;
        assert_true(cq_vp8_packetizer_init(&p, frames[f], flen[f], &d, 1100) > 0);
        bool last = false;
        while (!last) {
            pkt_t *k = &pkts[npkts++];
            int n = cq_vp8_packetizer_next(&p, k->data, sizeof k->data, &last);
            assert_true(n > 0);
            k->len = (size_t)n;
            k->seq = seq++;
            k->ts = (uint32_t)f * 3000u;
            k->marker = last;
        }
    }
    /* Shuffle within windows of 8. */
    for (size_t i = 0; i + 1 < npkts; i++) {
        size_t j = i + cq_test_rand_below(&r, (uint32_t)(npkts - i < 8 ? npkts - i : 8));
        pkt_t t = pkts[i];
        pkts[i] = pkts[j];
        pkts[j] = t;
    }
    cq_vp8_asm_init(&asm_);
    size_t lost = npkts / 2; /* held back until the end */
    static uint8_t out[8000];
    int done = 0;
    bool seen[12] = {false};
    for (size_t i = 0; i <= npkts; i++) {
        const pkt_t *k = i < npkts ? &pkts[i] : &pkts[lost];
        if (i == lost)
            continue;
        assert_int_equal(cq_vp8_asm_insert(&asm_, k->seq, k->ts, k->marker, k->data, k->len), 0);
        if (i % 5 == 0) /* a duplicate now and then */
            assert_int_equal(cq_vp8_asm_insert(&asm_, k->seq, k->ts, k->marker, k->data, k->len),
                             0);
        /* Try every frame end seen so far. */
        for (size_t m = 0; m < npkts; m++) {
            if (!pkts[m].marker)
                continue;
            cq_vp8_frame_info_t info;
            int n = cq_vp8_asm_take(&asm_, pkts[m].seq, out, sizeof out, &info);
            if (n <= 0)
                continue;
            int f = (int)info.desc.picture_id;
            assert_false(seen[f]);
            seen[f] = true;
            assert_int_equal((size_t)n, flen[f]);
            assert_memory_equal(out, frames[f], flen[f]);
            assert_int_equal(info.ts, (uint32_t)f * 3000u);
            done++;
        }
        if (i == npkts - 1)
            assert_int_equal(done, 11); /* all but the frame with the hole */
    }
    assert_int_equal(done, 12);
}

/* Encoder output through the packetizer and the assembler into the decoder. */
static void test_vp8_packetizer_with_real_frames(void **state) {
    (void)state;
    struct cq_vp8_enc *e;
    struct cq_vp8_dec *d;
    cq_vp8_enc_config_t cfg = {
        .width = 320, .height = 180, .bitrate_kbps = 800, .fps = 30, .temporal_layers = 3};
    assert_int_equal(cq_vp8_enc_create(&e, &cfg), 0);
    assert_int_equal(cq_vp8_dec_create(&d), 0);
    static uint8_t yp[320 * 180], up[160 * 90], vp[160 * 90];
    cq_vp8_asm_init(&asm_);
    uint16_t seq = 100;
    int decoded = 0;
    for (unsigned n = 0; n < 20; n++) {
        memset(yp, (int)(n * 9), sizeof yp);
        for (size_t i = 0; i < sizeof yp; i++)
            yp[i] = (uint8_t)(yp[i] + i % 320);
        memset(up, 100, sizeof up);
        memset(vp, 150, sizeof vp);
        cq_i420_t img = {
            .width = 320, .height = 180, .plane = {yp, up, vp}, .stride = {320, 160, 160}};
        cq_vp8_frame_t f;
        if (cq_vp8_enc_encode(e, &img, n * 3000u, &f) != 0)
            continue;
        cq_vp8_desc_t desc = {.extended = true,
                              .has_picture_id = true,
                              .picture_id_15bit = true,
                              .picture_id = f.picture_id,
                              .has_tl0picidx = true,
                              .tl0picidx = f.tl0picidx,
                              .has_tid = true,
                              .tid = f.tid,
                              .y = f.layer_sync};
        cq_vp8_packetizer_t p;
        assert_true(cq_vp8_packetizer_init(&p, f.data, f.len, &desc, 1200) > 0);
        bool last = false;
        uint16_t last_seq = 0;
        while (!last) {
            uint8_t payload[1200];
            int len = cq_vp8_packetizer_next(&p, payload, sizeof payload, &last);
            assert_true(len > 0);
            last_seq = seq;
            assert_int_equal(cq_vp8_asm_insert(&asm_, seq++, n * 3000u, last, payload, (size_t)len),
                             0);
        }
        static uint8_t frame[65536];
        cq_vp8_frame_info_t info;
        int flen = cq_vp8_asm_take(&asm_, last_seq, frame, sizeof frame, &info);
        assert_int_equal((size_t)flen, f.len);
        assert_int_equal(info.keyframe, f.keyframe);
        assert_int_equal(info.desc.picture_id, f.picture_id);
        cq_i420_t out;
        assert_int_equal(cq_vp8_dec_decode(d, frame, (size_t)flen, &out), 0);
        decoded++;
    }
    assert_true(decoded >= 18);
    cq_vp8_enc_destroy(e);
    cq_vp8_dec_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vp8_packetizer_even_pieces),
        cmocka_unit_test(test_vp8_packetizer_assembler_under_reorder),
        cmocka_unit_test(test_vp8_packetizer_with_real_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
