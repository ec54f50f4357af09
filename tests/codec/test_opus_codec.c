/*
 * The Opus wrapper: round trips at the rates chasqui uses, the three frame sizes, DTX in
 * silence, and a lost packet rebuilt from the next one's FEC better than concealment.
 * Quality is measured by how closely the loudness contour follows the source's, aligned
 * by the encoder's look-ahead; the bounds sit well outside what this libopus gives
 * (printed), so a real regression, not a rounding change, fails them.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/opus_codec.h"
#include "codec/opus_toc.h"
#include "rtp/error.h"

#define SECONDS 2
#define PI      3.14159265358979323846
#define TOTAL   (CQ_OPUS_RATE * SECONDS)

/* A voice-like test signal: a 140 Hz fundamental with falling harmonics, its loudness
 * swinging at 4 Hz like syllables. */
static void make_voice(int16_t *pcm, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / CQ_OPUS_RATE, v = 0;
        for (int h = 1; h <= 12; h++)
            v += sin(2 * PI * 140 * h * t) / h;
        v *= 0.5 + 0.5 * sin(2 * PI * 4 * t);
        pcm[i] = (int16_t)(v * 4000);
    }
}

/*
 * How far out's loudness contour strays from in's (delayed by delay samples) over
 * [from, to): the mean absolute difference of the energy of 5 ms windows, in dB. A speech
 * codec like SILK does not keep the waveform's phase, so a sample-by-sample SNR says
 * little; what a listener follows (syllables, loudness, silence) is this contour.
 */
static double contour_error(const int16_t *in, const int16_t *out, size_t delay, size_t from,
                            size_t to) {
    const size_t w = CQ_OPUS_SAMPLES(5);
    double sum = 0;
    int n = 0;
    for (size_t at = from; at + w <= to; at += w, n++) {
        double ei = 1, eo = 1;
        for (size_t i = at; i < at + w; i++) {
            ei += (double)in[i - delay] * in[i - delay];
            eo += (double)out[i] * out[i];
        }
        sum += fabs(10 * log10(eo / ei));
    }
    return n ? sum / n : 0;
}

/* Encodes and decodes the whole signal with frames of ms; returns the contour error of
 * the middle (the start is the encoder settling). */
static double round_trip(unsigned bps, unsigned ms, int16_t *in, int16_t *out) {
    struct cq_opus_enc *e;
    struct cq_opus_dec *d;
    cq_opus_enc_config_t cfg = {.bitrate_bps = bps, .frame_ms = ms, .fec = true};
    assert_int_equal(cq_opus_enc_create(&e, &cfg), 0);
    assert_int_equal(cq_opus_dec_create(&d), 0);
    size_t frame = CQ_OPUS_SAMPLES(ms);
    size_t bytes = 0;
    for (size_t at = 0; at + frame <= TOTAL; at += frame) {
        uint8_t pkt[CQ_OPUS_MAX_PACKET];
        int n = cq_opus_enc_encode(e, in + at, frame, pkt, sizeof pkt);
        assert_true(n > 0);
        bytes += (size_t)n;
        cq_opus_toc_t toc;
        assert_int_equal(cq_opus_toc_parse(pkt, (size_t)n, &toc), 0);
        assert_int_equal(toc.packet_samples, frame); /* one packet per frame of ms */
        assert_int_equal(cq_opus_dec_decode(d, pkt, (size_t)n, out + at, frame), (int)frame);
    }
    /* The bitrate asked for is the bitrate spent, within a fifth. */
    double kbps = (double)bytes * 8 / SECONDS / 1000;
    assert_true(kbps < bps / 1000.0 * 1.2);
    double err =
        contour_error(in, out, cq_opus_enc_delay(e), CQ_OPUS_RATE / 2, TOTAL - CQ_OPUS_RATE / 4);
    cq_opus_enc_destroy(e);
    cq_opus_dec_destroy(d);
    return err;
}

static int16_t in[TOTAL], out[TOTAL];

static void test_opus_codec_round_trips(void **state) {
    (void)state;
    make_voice(in, TOTAL);
    static const unsigned frames[] = {20, 40, 60};
    for (size_t i = 0; i < 3; i++) {
        double hi = round_trip(24000, frames[i], in, out);
        double lo = round_trip(8000, frames[i], in, out);
        print_message("opus %u ms: loudness contour off by %.2f dB at 24 kbit/s, %.2f dB at "
                      "8 kbit/s\n",
                      frames[i], hi, lo);
        assert_true(hi < 2.0);
        assert_true(lo < 3.0);
    }
}

static void test_opus_codec_config_checked(void **state) {
    (void)state;
    struct cq_opus_enc *e;
    cq_opus_enc_config_t cfg = {.bitrate_bps = 5000, .frame_ms = 20};
    assert_int_equal(cq_opus_enc_create(&e, &cfg), CQ_EINVAL);
    cfg.bitrate_bps = 16000;
    cfg.frame_ms = 30;
    assert_int_equal(cq_opus_enc_create(&e, &cfg), CQ_EINVAL);
    cfg.frame_ms = 20;
    assert_int_equal(cq_opus_enc_create(&e, &cfg), 0);
    assert_int_equal(cq_opus_enc_set_bitrate(e, 40000), CQ_EINVAL);
    assert_int_equal(cq_opus_enc_set_loss(e, 101), CQ_EINVAL);
    assert_int_equal(cq_opus_enc_set_frame_ms(e, 60), 0);
    assert_int_equal(cq_opus_enc_frame_ms(e), 60);
    uint8_t pkt[CQ_OPUS_MAX_PACKET];
    int16_t pcm[CQ_OPUS_SAMPLES(60)] = {0};
    assert_int_equal(cq_opus_enc_encode(e, pcm, CQ_OPUS_SAMPLES(20), pkt, sizeof pkt), CQ_EINVAL);
    assert_true(cq_opus_enc_encode(e, pcm, CQ_OPUS_SAMPLES(60), pkt, sizeof pkt) > 0);
    cq_opus_enc_destroy(e);
    struct cq_opus_dec *d;
    assert_int_equal(cq_opus_dec_create(&d), 0);
    static const uint8_t bad[] = {0x03}; /* code 3 without its count byte */
    assert_int_equal(cq_opus_dec_decode(d, bad, sizeof bad, pcm, CQ_OPUS_SAMPLES(60)),
                     CQ_EMALFORMED);
    assert_int_equal(cq_opus_dec_decode(d, pkt, 0, pcm, CQ_OPUS_SAMPLES(60)), CQ_EMALFORMED);
    cq_opus_dec_destroy(d);
}

/* Silence with DTX: after a moment the encoder sends packets of a byte or two. */
static void test_opus_codec_dtx(void **state) {
    (void)state;
    struct cq_opus_enc *e;
    cq_opus_enc_config_t cfg = {.bitrate_bps = 16000, .frame_ms = 20, .dtx = true};
    assert_int_equal(cq_opus_enc_create(&e, &cfg), 0);
    int16_t silence[CQ_OPUS_SAMPLES(20)] = {0};
    int tiny = 0;
    for (int k = 0; k < 50; k++) {
        uint8_t pkt[CQ_OPUS_MAX_PACKET];
        int n = cq_opus_enc_encode(e, silence, CQ_OPUS_SAMPLES(20), pkt, sizeof pkt);
        assert_true(n > 0);
        tiny += n <= 2;
    }
    assert_true(tiny >= 30);
    cq_opus_enc_destroy(e);
}

/* One packet lost in the middle of speech: rebuilt from the next packet's FEC it is much
 * closer to the source than concealment is. */
static void test_opus_codec_fec_beats_plc(void **state) {
    (void)state;
    make_voice(in, TOTAL);
    double result[2];
    for (int use_fec = 0; use_fec < 2; use_fec++) {
        struct cq_opus_enc *e;
        struct cq_opus_dec *d;
        cq_opus_enc_config_t cfg = {
            .bitrate_bps = 24000, .frame_ms = 20, .fec = true, .loss_percent = 20};
        assert_int_equal(cq_opus_enc_create(&e, &cfg), 0);
        assert_int_equal(cq_opus_dec_create(&d), 0);
        size_t frame = CQ_OPUS_SAMPLES(20), lost = 50; /* the frame at one second */
        uint8_t pkts[100][CQ_OPUS_MAX_PACKET];
        int lens[100];
        for (size_t k = 0; k < 100; k++)
            lens[k] = cq_opus_enc_encode(e, in + k * frame, frame, pkts[k], sizeof pkts[k]);
        for (size_t k = 0; k < 100; k++) {
            if (k == lost) {
                bool from_fec = false;
                assert_int_equal(cq_opus_dec_recover(d, use_fec ? pkts[k + 1] : NULL,
                                                     use_fec ? (size_t)lens[k + 1] : 0, frame,
                                                     out + k * frame, &from_fec),
                                 (int)frame);
                assert_int_equal(from_fec, use_fec);
                continue;
            }
            assert_int_equal(
                cq_opus_dec_decode(d, pkts[k], (size_t)lens[k], out + k * frame, frame),
                (int)frame);
        }
        size_t delay = cq_opus_enc_delay(e);
        result[use_fec] =
            contour_error(in, out, delay, lost * frame + delay, (lost + 1) * frame + delay);
        cq_opus_enc_destroy(e);
        cq_opus_dec_destroy(d);
    }
    print_message("lost frame's contour off by %.2f dB concealed, %.2f dB from FEC\n", result[0],
                  result[1]);
    assert_true(result[1] < result[0] / 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opus_codec_round_trips),
        cmocka_unit_test(test_opus_codec_config_checked),
        cmocka_unit_test(test_opus_codec_dtx),
        cmocka_unit_test(test_opus_codec_fec_beats_plc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
