/*
 * The VP8 wrapper: round trips above a PSNR floor, the 0-2-1-2 temporal pattern and its
 * descriptor fields, a receiver of only the lower temporal layers still decoding every
 * frame it gets, keyframes on request, a rate change without one, and a decoder that
 * waits for a keyframe rather than show garbage. Floors sit under what this libvpx gives
 * (printed).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/vp8_codec.h"
#include "rtp/error.h"

#define W 320
#define H 180

static uint8_t y[W * H], u[(W / 2) * (H / 2)], v[(W / 2) * (H / 2)];

/* Frame n of a test scene: a gradient that drifts and a bright square that moves. */
static cq_i420_t scene(unsigned n) {
    for (unsigned r = 0; r < H; r++)
        for (unsigned c = 0; c < W; c++) {
            unsigned val = (c + r + 2 * n) & 0xff;
            bool square =
                c >= (n * 3) % (W - 40) && c < (n * 3) % (W - 40) + 40 && r >= 60 && r < 100;
            y[r * W + c] = (uint8_t)(square ? 235 : 16 + val * 200 / 255);
        }
    for (unsigned i = 0; i < sizeof u; i++) {
        u[i] = (uint8_t)(128 + (int)((i + n) % 32) - 16);
        v[i] = (uint8_t)(128 - (int)((i / 7 + n) % 32) + 16);
    }
    return (cq_i420_t){.width = W, .height = H, .plane = {y, u, v}, .stride = {W, W / 2, W / 2}};
}

/* PSNR of the luma of out against the scene's current luma (in y). */
static double psnr(const cq_i420_t *out) {
    double err = 0;
    for (unsigned r = 0; r < H; r++)
        for (unsigned c = 0; c < W; c++) {
            double d = (double)out->plane[0][r * (unsigned)out->stride[0] + c] - y[r * W + c];
            err += d * d;
        }
    double mse = err / (W * H);
    return mse < 1e-9 ? 99 : 10 * log10(255.0 * 255.0 / mse);
}

static struct cq_vp8_enc *encoder_at(unsigned kbps, unsigned layers, unsigned fps) {
    struct cq_vp8_enc *e;
    cq_vp8_enc_config_t cfg = {
        .width = W, .height = H, .bitrate_kbps = kbps, .fps = fps, .temporal_layers = layers};
    assert_int_equal(cq_vp8_enc_create(&e, &cfg), 0);
    return e;
}

static struct cq_vp8_enc *encoder(unsigned kbps, unsigned layers) {
    return encoder_at(kbps, layers, 30);
}

/* Encodes 60 frames; a receiver keeping temporal layers up to max_tid decodes what it
 * gets. Returns the mean PSNR of what it decoded, and counts frames in *decoded. */
static double run(unsigned kbps, unsigned max_tid, int *decoded) {
    struct cq_vp8_enc *e = encoder(kbps, 3);
    struct cq_vp8_dec *d;
    assert_int_equal(cq_vp8_dec_create(&d), 0);
    double sum = 0;
    *decoded = 0;
    static const uint8_t pattern[4] = {0, 2, 1, 2};
    unsigned since_key = 0;
    for (unsigned n = 0; n < 60; n++) {
        cq_i420_t img = scene(n);
        cq_vp8_frame_t f;
        int rc = cq_vp8_enc_encode(e, &img, n * 3000u, &f);
        if (rc == CQ_EAGAIN)
            continue;
        assert_int_equal(rc, 0);
        if (n == 0)
            assert_true(f.keyframe);
        since_key = f.keyframe ? 0 : since_key + 1;
        assert_int_equal(f.tid, pattern[since_key % 4]);
        assert_int_equal(f.layer_sync, since_key % 4 == 1 || since_key % 4 == 2);
        if (f.tid > max_tid)
            continue;
        cq_i420_t out;
        assert_int_equal(cq_vp8_dec_decode(d, f.data, f.len, &out), 0);
        assert_int_equal(out.width, W);
        assert_int_equal(out.height, H);
        sum += psnr(&out);
        (*decoded)++;
    }
    cq_vp8_enc_destroy(e);
    cq_vp8_dec_destroy(d);
    return *decoded ? sum / *decoded : 0;
}

static void test_vp8_codec_round_trip_and_temporal_layers(void **state) {
    (void)state;
    int all, base, mid;
    double p_all = run(500, 2, &all);
    double p_mid = run(500, 1, &mid);
    double p_base = run(500, 0, &base);
    print_message("vp8 320x180 500 kbit/s: %.1f dB over %d frames (all layers), %.1f dB over %d "
                  "(TL0-1), %.1f dB over %d (TL0)\n",
                  p_all, all, p_mid, mid, p_base, base);
    assert_true(all >= 55); /* rate control may skip a few */
    assert_true(p_all > 38.0);
    /* Thinned receivers decode every frame they get, about half and a quarter of them. */
    assert_true(mid >= all / 2 - 2 && mid <= all / 2 + 2);
    assert_true(base >= all / 4 - 2 && base <= all / 4 + 2);
    assert_true(p_mid > 36.0 && p_base > 36.0);
}

/* A keyframe when asked; a lower rate without one, and smaller frames after it. */
static void test_vp8_codec_keyframe_and_rate(void **state) {
    (void)state;
    struct cq_vp8_enc *e = encoder(800, 1);
    size_t before = 0, after = 0;
    unsigned n = 0;
    for (; n < 30; n++) {
        cq_i420_t img = scene(n);
        cq_vp8_frame_t f;
        if (cq_vp8_enc_encode(e, &img, n * 3000u, &f) == 0 && n >= 10)
            before += f.len;
    }
    assert_int_equal(cq_vp8_enc_set_rate(e, 150, 30), 0);
    assert_int_equal(cq_vp8_enc_set_rate(e, 5, 30), CQ_EINVAL);
    for (; n < 60; n++) {
        cq_i420_t img = scene(n);
        cq_vp8_frame_t f;
        if (cq_vp8_enc_encode(e, &img, n * 3000u, &f) != 0)
            continue;
        assert_false(f.keyframe);
        if (n >= 40)
            after += f.len;
    }
    print_message("bytes per 20 frames: %zu at 800 kbit/s, %zu at 150 kbit/s\n", before, after);
    assert_true(after * 2 < before);
    cq_vp8_enc_request_keyframe(e);
    cq_i420_t img = scene(n);
    cq_vp8_frame_t f;
    assert_int_equal(cq_vp8_enc_encode(e, &img, n * 3000u, &f), 0);
    assert_true(f.keyframe);
    assert_int_equal(f.tid, 0);
    cq_i420_t wrong = img;
    wrong.width = 160;
    assert_int_equal(cq_vp8_enc_encode(e, &wrong, (n + 1) * 3000u, &f), CQ_EINVAL);
    cq_vp8_enc_destroy(e);
    cq_vp8_enc_config_t bad = {
        .width = 321, .height = 180, .bitrate_kbps = 300, .fps = 30, .temporal_layers = 1};
    assert_int_equal(cq_vp8_enc_create(&e, &bad), CQ_EINVAL);
    bad.width = 320;
    bad.temporal_layers = 2;
    assert_int_equal(cq_vp8_enc_create(&e, &bad), CQ_EINVAL);
}

/* The scene with a band of black and white blocks across its top quarter that changes
 * every frame, as a frame counter's bar code does: sharp edges whose keyframes move VP8's
 * coefficient probabilities far from their defaults. */
static cq_i420_t busy_scene(unsigned n) {
    cq_i420_t img = scene(n);
    uint32_t h = n * 2654435761u;
    for (unsigned r = 0; r < H / 4; r++)
        for (unsigned c = 0; c < W; c++) {
            unsigned b = (r / (H / 12)) * 32 + c / (W / 32);
            y[r * W + c] = ((h ^ (b * 40503u)) >> (b % 29)) & 1 ? 235 : 16;
        }
    return img;
}

/* Frame n of a stream at 15 a second (90 kHz), a keyframe asked for every second. */
static int encode_keyed(struct cq_vp8_enc *e, cq_i420_t img, unsigned n, cq_vp8_frame_t *f) {
    if (n % 15 == 0)
        cq_vp8_enc_request_keyframe(e);
    return cq_vp8_enc_encode(e, &img, n * 6000u, f);
}

/* A thin layer: at 20-80 kbit/s each keyframe (asked for every second) costs more than the
 * rate allows, so rate control skips the frames after it. Every frame that comes out must
 * still decode and show the scene, for a receiver of all temporal layers and one of TL0
 * alone. It did not while TL1 and TL2 frames carried VP8_EFLAG_NO_UPD_ENTROPY: a skipped
 * one left libvpx coding against probabilities the decoder never had, and the decoder
 * found the next frame corrupt. The picture never stands longer than CQ_VP8_MAX_GAP_TICKS
 * (left to itself, libvpx skipped 6-14 frames in a row here: up to a second frozen), and
 * what comes out stays near the rate asked for. */
static void test_vp8_codec_skipped_frames_keep_the_stream_decodable(void **state) {
    (void)state;
    static const unsigned rates[] = {20, 30, 80};
    for (unsigned i = 0; i < 3; i++)
        for (unsigned max_tid = 0; max_tid <= 2; max_tid += 2) {
            struct cq_vp8_enc *e = encoder_at(rates[i], 3, 15);
            struct cq_vp8_dec *d;
            assert_int_equal(cq_vp8_dec_create(&d), 0);
            unsigned skipped = 0, decoded = 0, keys = 0, in_row = 0, most_in_row = 0;
            size_t bytes = 0;
            double worst = 99;
            for (unsigned n = 0; n < 150; n++) {
                cq_vp8_frame_t f;
                int rc = encode_keyed(e, busy_scene(n), n, &f);
                if (rc == CQ_EAGAIN) {
                    skipped++;
                    in_row++;
                    most_in_row = in_row > most_in_row ? in_row : most_in_row;
                    continue;
                }
                assert_int_equal(rc, 0);
                in_row = 0;
                bytes += f.len;
                keys += f.keyframe;
                if (f.tid > max_tid)
                    continue;
                cq_i420_t out;
                assert_int_equal(cq_vp8_dec_decode(d, f.data, f.len, &out), 0);
                decoded++;
                double p = psnr(&out);
                worst = p < worst ? p : worst;
            }
            double kbps = (double)bytes * 8 / 10 / 1000; /* 150 frames at 15 a second */
            print_message("vp8 320x180 %u kbit/s, keyframe every second, TL0-%u: %u frames "
                          "decoded (%u keyframes), %u skipped (%u in a row at most), worst "
                          "%.1f dB, %.1f kbit/s\n",
                          rates[i], max_tid, decoded, keys, skipped, most_in_row, worst, kbps);
            assert_true(keys >= 9);
            assert_true(skipped >= 30); /* the case this is about */
            assert_true((most_in_row + 1) * 6000u <= CQ_VP8_MAX_GAP_TICKS);
            /* Its keyframes alone are about the rate, and each frame kept against the
             * buffer is a busy one: 38 kbit/s for 20 (21 with skips left to libvpx). */
            assert_true(kbps <= 2.0 * rates[i]);
            assert_true(decoded >= keys);
            assert_true(worst > 20.0);
            cq_vp8_enc_destroy(e);
            cq_vp8_dec_destroy(d);
        }
}

/* A thin layer's keyframe does not stop its picture: at 20 kbit/s a keyframe of the moving
 * scene costs about a second of the layer's bits, and libvpx, left to itself, skipped the
 * frames after it for up to 0.73 s. With a keyframe every second (the worst case) the
 * picture never stands longer than CQ_VP8_MAX_GAP_TICKS, for 24 kbit/s instead of 20.5:
 * within a quarter of what was asked. */
static void test_vp8_codec_thin_layer_keyframes_keep_moving(void **state) {
    (void)state;
    struct cq_vp8_enc *e = encoder_at(20, 3, 15);
    uint32_t last_out = 0, longest = 0;
    size_t bytes = 0;
    for (unsigned n = 0; n < 150; n++) {
        cq_vp8_frame_t f;
        int rc = encode_keyed(e, scene(n), n, &f);
        assert_true(rc == 0 || rc == CQ_EAGAIN);
        if (rc == CQ_EAGAIN)
            continue;
        longest = n * 6000u - last_out > longest ? n * 6000u - last_out : longest;
        last_out = n * 6000u;
        bytes += f.len;
    }
    double kbps = (double)bytes * 8 / 10 / 1000;
    print_message("vp8 320x180 20 kbit/s, keyframe every second: longest gap %.2f s, "
                  "%.1f kbit/s\n",
                  longest / 90000.0, kbps);
    assert_true(longest <= CQ_VP8_MAX_GAP_TICKS);
    assert_true(kbps <= 1.25 * 20);
    cq_vp8_enc_destroy(e);
}

/* A thin layer keeps its frame rate: 320x180 at 30 kbit/s, with only its first keyframe,
 * loses under a third of its frames to rate control. Frame rate matters more than
 * sharpness to a farmer watching a demonstration, so the quantizer may go to VP8's
 * coarsest (63): held at 56, rate control skipped 73 frames of these 150 (at 63: 33). */
static void test_vp8_codec_thin_layer_keeps_frame_rate(void **state) {
    (void)state;
    enum { THIN_KBPS = 30 };
    struct cq_vp8_enc *e = encoder_at(THIN_KBPS, 3, 15);
    unsigned skipped = 0;
    cq_vp8_frame_t f;
    for (unsigned n = 0; n < 150; n++) {
        cq_i420_t img = scene(n);
        int rc = cq_vp8_enc_encode(e, &img, n * 6000u, &f);
        assert_true(rc == 0 || rc == CQ_EAGAIN);
        skipped += rc == CQ_EAGAIN;
    }
    print_message("vp8 320x180 %u kbit/s: %u of 150 frames skipped\n", THIN_KBPS, skipped);
    assert_true(skipped <= 50);
    cq_vp8_enc_destroy(e);
}

/* Bytes of the interframes of one second (15 frames from frame n, pts in 1/15 s steps
 * from pts0). */
static size_t second_of_interframes(struct cq_vp8_enc *e, unsigned n, uint32_t pts0) {
    size_t bytes = 0;
    for (unsigned k = 0; k < 15; k++) {
        cq_i420_t img = scene(n + k);
        cq_vp8_frame_t f;
        int rc = cq_vp8_enc_encode(e, &img, pts0 + k * 6000u, &f);
        assert_true(rc == 0 || rc == CQ_EAGAIN);
        if (rc == 0 && !f.keyframe)
            bytes += f.len;
    }
    return bytes;
}

/*
 * A layer turned off and on again (cq_sender_set_layers) spends what it is given from its
 * first second back. libvpx counts the pause as time its buffer filled: fed the capture
 * clock across a 20 s pause, the layer's first second back carried 1.3-1.4 times its
 * rate beside its keyframe (the relay priced it at 170-198 kbit/s, the next second at
 * 123-155, docs/E2E.md), and a receiver given the layer on that price was moved off it
 * again.
 */
static void test_vp8_codec_pause_does_not_fill_the_buffer(void **state) {
    (void)state;
    struct cq_vp8_enc *e = encoder_at(150, 3, 15);
    second_of_interframes(e, 0, 0);
    second_of_interframes(e, 15, 15 * 6000u);
    size_t steady = second_of_interframes(e, 30, 30 * 6000u);
    /* 20 s without frames, then a keyframe, as a layer back on asks. */
    uint32_t back = 45 * 6000u + 20 * 90000u;
    cq_vp8_enc_request_keyframe(e);
    size_t first = second_of_interframes(e, 45, back);
    size_t second = second_of_interframes(e, 60, back + 15 * 6000u);
    print_message("vp8 150 kbit/s: interframes %.1f kbit/s steady, %.1f the first second "
                  "after a 20 s pause, %.1f the next\n",
                  (double)steady * 8 / 1000, (double)first * 8 / 1000, (double)second * 8 / 1000);
    assert_true((double)first <= (double)steady * 1.15);
    cq_vp8_enc_destroy(e);
}

/* The decoder refuses to show anything between a break and the next keyframe. */
static void test_vp8_codec_decoder_waits_for_keyframe(void **state) {
    (void)state;
    struct cq_vp8_enc *e = encoder(400, 1);
    struct cq_vp8_dec *d;
    assert_int_equal(cq_vp8_dec_create(&d), 0);
    assert_true(cq_vp8_dec_needs_keyframe(d));
    static uint8_t frames[6][65536];
    size_t lens[6];
    for (unsigned n = 0; n < 6; n++) {
        cq_i420_t img = scene(n);
        cq_vp8_frame_t f;
        assert_int_equal(cq_vp8_enc_encode(e, &img, n * 3000u, &f), 0);
        memcpy(frames[n], f.data, f.len);
        lens[n] = f.len;
    }
    cq_i420_t out;
    assert_int_equal(cq_vp8_dec_decode(d, frames[1], lens[1], &out), CQ_EBADSTATE);
    assert_int_equal(cq_vp8_dec_decode(d, frames[0], lens[0], &out), 0);
    assert_false(cq_vp8_dec_needs_keyframe(d));
    assert_int_equal(cq_vp8_dec_decode(d, frames[1], lens[1], &out), 0);
    uint8_t garbage[200];
    memset(garbage, 0x5a, sizeof garbage);
    garbage[0] = 0x01; /* an interframe tag over nonsense */
    assert_int_equal(cq_vp8_dec_decode(d, garbage, sizeof garbage, &out), CQ_EMALFORMED);
    assert_true(cq_vp8_dec_needs_keyframe(d));
    assert_int_equal(cq_vp8_dec_decode(d, frames[2], lens[2], &out), CQ_EBADSTATE);
    cq_vp8_enc_request_keyframe(e);
    cq_i420_t img = scene(6);
    cq_vp8_frame_t key;
    assert_int_equal(cq_vp8_enc_encode(e, &img, 6 * 3000u, &key), 0);
    assert_int_equal(cq_vp8_dec_decode(d, key.data, key.len, &out), 0);
    assert_false(cq_vp8_dec_needs_keyframe(d));
    cq_vp8_dec_frame_lost(d);
    assert_true(cq_vp8_dec_needs_keyframe(d));
    cq_vp8_enc_destroy(e);
    cq_vp8_dec_destroy(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vp8_codec_round_trip_and_temporal_layers),
        cmocka_unit_test(test_vp8_codec_keyframe_and_rate),
        cmocka_unit_test(test_vp8_codec_pause_does_not_fill_the_buffer),
        cmocka_unit_test(test_vp8_codec_decoder_waits_for_keyframe),
        cmocka_unit_test(test_vp8_codec_skipped_frames_keep_the_stream_decodable),
        cmocka_unit_test(test_vp8_codec_thin_layer_keeps_frame_rate),
        cmocka_unit_test(test_vp8_codec_thin_layer_keyframes_keep_moving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
