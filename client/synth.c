#include "client/synth.h"

#include <math.h>
#include <stdbool.h>

#include "rtp/error.h"

#define BITS  32
#define ROWS  3
#define CHECK 0xa5c3e17bu
#define BLACK 16
#define WHITE 235

static bool size_ok(unsigned w, unsigned h) {
    return w >= CQ_SYNTH_MIN_WIDTH && h >= CQ_SYNTH_MIN_HEIGHT && w <= 4096 && h <= 4096 &&
           !(w & 1) && !(h & 1);
}

int cq_synth_video_paint(uint32_t n, uint32_t capture_ms, unsigned width, unsigned height,
                         uint8_t *y, int y_stride, uint8_t *u, int u_stride, uint8_t *v,
                         int v_stride) {
    if (!size_ok(width, height))
        return CQ_EINVAL;
    unsigned bw = width / BITS, bh = height / 12, code_h = bh * ROWS;
    /* The scene: a diagonal gradient drifting one pixel per frame, and a bright square
     * crossing it, so the encoder has motion to code. */
    unsigned sq = height / 3, sx = (n * 2) % (width - sq), sy = code_h + (height - code_h - sq) / 2;
    for (unsigned r = 0; r < height; r++) {
        uint8_t *row = y + (size_t)r * (size_t)y_stride;
        for (unsigned c = 0; c < width; c++) {
            bool in_square = c >= sx && c < sx + sq && r >= sy && r < sy + sq;
            row[c] = in_square ? 220 : (uint8_t)(32 + ((c + r + n) % 160));
        }
    }
    const uint32_t words[ROWS] = {n, capture_ms, n ^ capture_ms ^ CHECK};
    for (unsigned w = 0; w < ROWS; w++)
        for (unsigned b = 0; b < BITS; b++) {
            uint8_t val = (words[w] >> (BITS - 1 - b)) & 1 ? WHITE : BLACK;
            for (unsigned r = w * bh; r < (w + 1) * bh; r++)
                for (unsigned c = b * bw; c < (b + 1) * bw; c++)
                    y[(size_t)r * (size_t)y_stride + c] = val;
        }
    for (unsigned r = 0; r < (height + 1) / 2; r++)
        for (unsigned c = 0; c < (width + 1) / 2; c++) {
            u[(size_t)r * (size_t)u_stride + c] = (uint8_t)(96 + (c + n) % 64);
            v[(size_t)r * (size_t)v_stride + c] = (uint8_t)(160 - (r + n) % 64);
        }
    return 0;
}

int cq_synth_video_read(const uint8_t *y, int y_stride, unsigned width, unsigned height,
                        uint32_t *n, uint32_t *capture_ms) {
    if (!size_ok(width, height))
        return CQ_EMALFORMED;
    unsigned bw = width / BITS, bh = height / 12;
    uint32_t words[ROWS] = {0, 0, 0};
    for (unsigned w = 0; w < ROWS; w++)
        for (unsigned b = 0; b < BITS; b++) {
            /* The middle of each block: its edges are where coding blurs. */
            unsigned sum = 0, count = 0;
            for (unsigned r = w * bh + bh / 4; r < (w + 1) * bh - bh / 4; r++)
                for (unsigned c = b * bw + bw / 4; c < (b + 1) * bw - bw / 4; c++, count++)
                    sum += y[(size_t)r * (size_t)y_stride + c];
            bool one = count && sum / count > (BLACK + WHITE) / 2;
            words[w] = words[w] << 1 | (one ? 1u : 0u);
        }
    if ((words[0] ^ words[1] ^ CHECK) != words[2])
        return CQ_EMALFORMED;
    *n = words[0];
    *capture_ms = words[1];
    return 0;
}

double cq_synth_psnr(const uint8_t *a, int a_stride, const uint8_t *b, int b_stride, unsigned width,
                     unsigned height) {
    double err = 0;
    for (unsigned r = 0; r < height; r++)
        for (unsigned c = 0; c < width; c++) {
            double d =
                (double)a[(size_t)r * (size_t)a_stride + c] - b[(size_t)r * (size_t)b_stride + c];
            err += d * d;
        }
    double mse = err / ((double)width * height);
    return mse < 1e-10 ? 99.0 : 10 * log10(255.0 * 255.0 / mse);
}

#define AUDIO_RATE 48000.0
#define PI         3.14159265358979323846

static double pitch_of(uint32_t k) {
    return 100.0 + 15.0 * (double)(k % CQ_SYNTH_AUDIO_CLASSES);
}

void cq_synth_audio_frame(uint32_t k, int16_t *pcm) {
    /* Each frame restarts its phase at zero and fades in and out over 2 ms, so frames of
     * different pitch meet at silence rather than at a click. */
    double f0 = pitch_of(k);
    const unsigned fade = 96;
    for (unsigned i = 0; i < CQ_SYNTH_AUDIO_FRAME; i++) {
        double t = i / AUDIO_RATE, v = 0;
        for (int h = 1; h <= 6; h++)
            v += sin(2 * PI * f0 * h * t) / h;
        double g = 1;
        if (i < fade)
            g = (double)i / fade;
        else if (i >= CQ_SYNTH_AUDIO_FRAME - fade)
            g = (double)(CQ_SYNTH_AUDIO_FRAME - 1 - i) / fade;
        pcm[i] = (int16_t)(v * g * 6000);
    }
}

int cq_synth_audio_class(const int16_t *pcm, size_t samples) {
    if (samples < 480)
        return -1;
    /* Autocorrelation over the lags of the 16 pitches: the best normalised peak wins. */
    double energy = 0;
    for (size_t i = 0; i < samples; i++)
        energy += (double)pcm[i] * pcm[i];
    if (energy < (double)samples * 100 * 100)
        return -1; /* too quiet to have a pitch */
    int best = -1;
    double best_r = 0.5; /* a clear pitch or none */
    for (int c = 0; c < CQ_SYNTH_AUDIO_CLASSES; c++) {
        size_t lag = (size_t)(AUDIO_RATE / pitch_of((uint32_t)c) + 0.5);
        double r = 0, e1 = 0, e2 = 0;
        for (size_t i = lag; i < samples; i++) {
            r += (double)pcm[i] * pcm[i - lag];
            e1 += (double)pcm[i] * pcm[i];
            e2 += (double)pcm[i - lag] * pcm[i - lag];
        }
        double norm = r / sqrt(e1 * e2 + 1);
        /* A pitch also correlates at twice its period: prefer the shortest lag that is
         * nearly as good as the best. */
        if (norm > best_r + 0.02 || (best >= 0 && norm > best_r - 0.02 && c > best)) {
            best_r = norm > best_r ? norm : best_r;
            best = c;
        }
    }
    return best;
}
