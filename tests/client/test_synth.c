/*
 * The synthetic camera: what it paints reads back exactly, through VP8 too at the
 * smallest simulcast size and a thin bitrate; a damaged code is refused, not misread;
 * and a receiver can paint the source frame again from the number to measure PSNR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/synth.h"
#include "codec/opus_codec.h"
#include "codec/scale.h"
#include "codec/vp8_codec.h"
#include "rtp/error.h"

#define W 160
#define H 90

static uint8_t y[W * H], u[(W / 2) * (H / 2)], v[(W / 2) * (H / 2)];
static uint8_t ref_y[W * H], ref_u[(W / 2) * (H / 2)], ref_v[(W / 2) * (H / 2)];

static void test_synth_paint_and_read(void **state) {
    (void)state;
    static const uint32_t cases[][2] = {
        {0, 0}, {1, 33}, {0xffffffffu, 0x12345678u}, {86400 * 30, 86400000u}};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(
            cq_synth_video_paint(cases[i][0], cases[i][1], W, H, y, W, u, W / 2, v, W / 2), 0);
        uint32_t n, ms;
        assert_int_equal(cq_synth_video_read(y, W, W, H, &n, &ms), 0);
        assert_int_equal(n, cases[i][0]);
        assert_int_equal(ms, cases[i][1]);
    }
    /* One block flipped: the check refuses it. */
    for (unsigned r = 0; r < H / 12; r++)
        for (unsigned c = 0; c < W / 32; c++)
            y[r * W + c] = (uint8_t)(255 - y[r * W + c]);
    uint32_t n, ms;
    assert_int_equal(cq_synth_video_read(y, W, W, H, &n, &ms), CQ_EMALFORMED);
    memset(y, 128, sizeof y);
    assert_int_equal(cq_synth_video_read(y, W, W, H, &n, &ms), CQ_EMALFORMED);
    assert_int_equal(cq_synth_video_paint(1, 1, 100, 90, y, W, u, W / 2, v, W / 2), CQ_EINVAL);
    assert_int_equal(cq_synth_video_paint(1, 1, W, 91, y, W, u, W / 2, v, W / 2), CQ_EINVAL);
}

/* 150 frames at 160x90 and 60 kbit/s with three temporal layers: every decoded frame
 * tells its number and time, in order, and repainting that number gives the reference
 * the decoded frame is measured against. */
static void test_synth_survives_vp8(void **state) {
    (void)state;
    struct cq_vp8_enc *e;
    struct cq_vp8_dec *d;
    cq_vp8_enc_config_t cfg = {
        .width = W, .height = H, .bitrate_kbps = 60, .fps = 15, .temporal_layers = 3};
    assert_int_equal(cq_vp8_enc_create(&e, &cfg), 0);
    assert_int_equal(cq_vp8_dec_create(&d), 0);
    int read = 0, decoded = 0;
    uint32_t last = 0;
    double worst = 99;
    for (uint32_t k = 0; k < 150; k++) {
        uint32_t ms = 1000 + k * 66;
        assert_int_equal(cq_synth_video_paint(k, ms, W, H, y, W, u, W / 2, v, W / 2), 0);
        cq_i420_t img = {.width = W, .height = H, .plane = {y, u, v}, .stride = {W, W / 2, W / 2}};
        cq_vp8_frame_t f;
        if (cq_vp8_enc_encode(e, &img, k * 6000u, &f) != 0)
            continue;
        cq_i420_t out;
        assert_int_equal(cq_vp8_dec_decode(d, f.data, f.len, &out), 0);
        decoded++;
        uint32_t n, t;
        if (cq_synth_video_read(out.plane[0], out.stride[0], W, H, &n, &t) != 0)
            continue;
        assert_int_equal(n, k); /* never a wrong number */
        assert_int_equal(t, ms);
        assert_true(read == 0 || n > last);
        last = n;
        read++;
        cq_synth_video_paint(n, t, W, H, ref_y, W, ref_u, W / 2, ref_v, W / 2);
        double p = cq_synth_psnr(out.plane[0], out.stride[0], ref_y, W, W, H);
        worst = p < worst ? p : worst;
    }
    print_message("synth 160x90 at 60 kbit/s: %d of %d decoded frames read, worst PSNR %.1f dB\n",
                  read, decoded, worst);
    assert_true(read >= decoded * 95 / 100);
    assert_true(worst > 25.0);
    cq_vp8_enc_destroy(e);
    cq_vp8_dec_destroy(d);
}

/* Every frame's pitch tells its index modulo 16, straight from the source. */
static void test_synth_audio_classes(void **state) {
    (void)state;
    int16_t pcm[CQ_SYNTH_AUDIO_FRAME];
    for (uint32_t k = 0; k < 48; k++) {
        cq_synth_audio_frame(k, pcm);
        assert_int_equal(cq_synth_audio_class(pcm + 300, 600), (int)(k % 16));
    }
    int16_t silence[960] = {0};
    assert_int_equal(cq_synth_audio_class(silence, 960), -1);
    assert_int_equal(cq_synth_audio_class(pcm, 100), -1);
}

/* Through Opus at 16 kbit/s the frames still tell their index; a frame lost and concealed
 * does not pass for the one that was sent. */
static void test_synth_audio_through_opus(void **state) {
    (void)state;
    struct cq_opus_enc *e;
    struct cq_opus_dec *d;
    cq_opus_enc_config_t cfg = {.bitrate_bps = 16000, .frame_ms = 20, .fec = true};
    assert_int_equal(cq_opus_enc_create(&e, &cfg), 0);
    assert_int_equal(cq_opus_dec_create(&d), 0);
    size_t delay = cq_opus_enc_delay(e);
    static int16_t played[100 * CQ_SYNTH_AUDIO_FRAME];
    for (uint32_t k = 0; k < 100; k++) {
        int16_t pcm[CQ_SYNTH_AUDIO_FRAME];
        uint8_t pkt[CQ_OPUS_MAX_PACKET];
        cq_synth_audio_frame(k, pcm);
        int n = cq_opus_enc_encode(e, pcm, CQ_SYNTH_AUDIO_FRAME, pkt, sizeof pkt);
        assert_true(n > 0);
        int16_t *out = played + k * CQ_SYNTH_AUDIO_FRAME;
        if (k == 60) /* lost, nothing to recover it from: concealed */
            assert_int_equal(cq_opus_dec_recover(d, NULL, 0, CQ_SYNTH_AUDIO_FRAME, out, NULL),
                             CQ_SYNTH_AUDIO_FRAME);
        else
            assert_int_equal(cq_opus_dec_decode(d, pkt, (size_t)n, out, CQ_SYNTH_AUDIO_FRAME),
                             CQ_SYNTH_AUDIO_FRAME);
    }
    /* Source frame k sits at [k * 960 + delay, (k + 1) * 960 + delay) of what plays. */
    int right = 0, frames = 0;
    for (uint32_t k = 5; k < 98; k++) {
        if (k == 60)
            continue;
        frames++;
        right += cq_synth_audio_class(played + k * CQ_SYNTH_AUDIO_FRAME + delay + 200, 600) ==
                 (int)(k % 16);
    }
    print_message("synth audio through Opus 16 kbit/s: %d of %d frames tell their index\n", right,
                  frames);
    assert_true(right >= frames * 90 / 100); /* 96 % here; SIMD paths differ a little */
    assert_int_not_equal(
        cq_synth_audio_class(played + 60 * CQ_SYNTH_AUDIO_FRAME + delay + 200, 600), 60 % 16);
    cq_opus_enc_destroy(e);
    cq_opus_dec_destroy(d);
}

/* A frame painted at the top simulcast size and scaled down still tells its number at
 * every lower size: the code is proportional to the frame. */
static void test_synth_survives_scaling(void **state) {
    (void)state;
    static uint8_t by[640 * 360], bu[320 * 180], bv[320 * 180];
    assert_int_equal(cq_synth_video_paint(4242, 99000, 640, 360, by, 640, bu, 320, bv, 320), 0);
    cq_i420_t big = {.width = 640, .height = 360, .plane = {by, bu, bv}, .stride = {640, 320, 320}};
    cq_i420_t small = {.width = W, .height = H, .stride = {W, W / 2, W / 2}};
    assert_int_equal(cq_scale_i420(&big, y, u, v, &small), 0);
    uint32_t n, ms;
    assert_int_equal(cq_synth_video_read(y, W, W, H, &n, &ms), 0);
    assert_int_equal(n, 4242);
    assert_int_equal(ms, 99000);
}

/* What a receiver of a lower simulcast layer paints as the reference is what the sender
 * scaled down (codec/scale.h's box filter, client/sender.c) to within rounding, at half
 * and at a quarter of the size and wherever the square is: painted by each size's own
 * pixel rules, a 160x90 reference was 11 dB away from the scaled frame. */
static void test_synth_repaint_is_the_scaled_down_frame(void **state) {
    (void)state;
    static uint8_t by[640 * 360], bu[320 * 180], bv[320 * 180];
    static uint8_t sy[320 * 180], su[160 * 90], sv[160 * 90];
    static uint8_t py[320 * 180], pu[160 * 90], pv[160 * 90];
    static const unsigned sizes[][4] = {
        {640, 360, 320, 180}, {640, 360, 160, 90}, {320, 180, 160, 90}};
    static const uint32_t frames[] = {0, 7, 65, 129, 4242, 0xfffffff0u};
    double worst = 99;
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 6; k++) {
            unsigned bw = sizes[i][0], bh = sizes[i][1], w = sizes[i][2], h = sizes[i][3];
            uint32_t ms = 1000 + frames[k] * 66u;
            assert_int_equal(cq_synth_video_paint(frames[k], ms, bw, bh, by, (int)bw, bu,
                                                  (int)bw / 2, bv, (int)bw / 2),
                             0);
            cq_i420_t big = {.width = bw,
                             .height = bh,
                             .plane = {by, bu, bv},
                             .stride = {(int)bw, (int)bw / 2, (int)bw / 2}};
            cq_i420_t small = {.width = w, .height = h, .stride = {(int)w, (int)w / 2, (int)w / 2}};
            assert_int_equal(cq_scale_i420(&big, sy, su, sv, &small), 0);
            assert_int_equal(cq_synth_video_paint(frames[k], ms, w, h, py, (int)w, pu, (int)w / 2,
                                                  pv, (int)w / 2),
                             0);
            double p = cq_synth_psnr(sy, (int)w, py, (int)w, w, h);
            worst = p < worst ? p : worst;
            uint32_t n, t;
            assert_int_equal(cq_synth_video_read(sy, (int)w, w, h, &n, &t), 0);
            assert_int_equal(n, frames[k]);
            assert_int_equal(t, ms);
        }
    print_message("synth repainted small against scaled down: worst %.1f dB\n", worst);
    assert_true(worst > 50.0);
}

/* Layer 0 as the sender makes it (320x180 painted, scaled to 160x90, VP8 at 45 kbit/s with
 * three temporal layers) measured as the receiver measures it (the number read back, the
 * frame repainted at 160x90): what is left is the codec's loss, over 30 dB, not 11. */
static void test_synth_lower_layer_measures_the_codec(void **state) {
    (void)state;
    static uint8_t by[320 * 180], bu[160 * 90], bv[160 * 90];
    struct cq_vp8_enc *e;
    struct cq_vp8_dec *d;
    cq_vp8_enc_config_t cfg = {
        .width = W, .height = H, .bitrate_kbps = 45, .fps = 15, .temporal_layers = 3};
    assert_int_equal(cq_vp8_enc_create(&e, &cfg), 0);
    assert_int_equal(cq_vp8_dec_create(&d), 0);
    double sum = 0, worst = 99;
    int measured = 0;
    for (uint32_t k = 0; k < 90; k++) {
        uint32_t ms = 5000 + k * 66;
        assert_int_equal(cq_synth_video_paint(k, ms, 320, 180, by, 320, bu, 160, bv, 160), 0);
        cq_i420_t big = {
            .width = 320, .height = 180, .plane = {by, bu, bv}, .stride = {320, 160, 160}};
        cq_i420_t img = {.width = W, .height = H, .plane = {y, u, v}, .stride = {W, W / 2, W / 2}};
        assert_int_equal(cq_scale_i420(&big, y, u, v, &img), 0);
        cq_vp8_frame_t f;
        if (cq_vp8_enc_encode(e, &img, k * 6000u, &f) != 0)
            continue;
        cq_i420_t out;
        assert_int_equal(cq_vp8_dec_decode(d, f.data, f.len, &out), 0);
        uint32_t n, t;
        if (cq_synth_video_read(out.plane[0], out.stride[0], W, H, &n, &t) != 0)
            continue;
        assert_int_equal(n, k);
        cq_synth_video_paint(n, t, W, H, ref_y, W, ref_u, W / 2, ref_v, W / 2);
        double p = cq_synth_psnr(out.plane[0], out.stride[0], ref_y, W, W, H);
        sum += p;
        worst = p < worst ? p : worst;
        measured++;
    }
    print_message("synth 320x180 scaled to 160x90, 45 kbit/s: %d frames, PSNR %.1f dB, worst "
                  "%.1f dB\n",
                  measured, sum / measured, worst);
    assert_true(measured >= 60);
    assert_true(sum / measured > 30.0);
    assert_true(worst > 25.0);
    cq_vp8_enc_destroy(e);
    cq_vp8_dec_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synth_paint_and_read),
        cmocka_unit_test(test_synth_survives_vp8),
        cmocka_unit_test(test_synth_survives_scaling),
        cmocka_unit_test(test_synth_audio_classes),
        cmocka_unit_test(test_synth_audio_through_opus),
        cmocka_unit_test(test_synth_repaint_is_the_scaled_down_frame),
        cmocka_unit_test(test_synth_lower_layer_measures_the_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
