#include "client/synth.h"

#include <math.h>
#include <stdbool.h>

#include "rtp/error.h"

#define BITS  32
#define ROWS  3
#define CHECK 0xa5c3e17bu
#define BLACK 16
#define WHITE 235

/*
 * The scene is drawn in scene units, SCENE_W x SCENE_H of them across the picture whatever
 * its size, and each pixel gets the mean of the scene over its own area. A frame painted at
 * half or a quarter of a size is then what a box filter makes of the full-size frame (the
 * lower simulcast layers: client/sender.c scales with codec/scale.h), to within rounding,
 * so a receiver repaints the reference at the size it decoded, whichever layer that was.
 * Painting each size by its own pixel rules instead put 160x90 references 11 dB away from
 * what the sender had scaled down, before any coding.
 *
 * So hard edges (the code's blocks, the square) count by the share of the pixel they
 * cover, and the background is a folded gradient rather than a sawtooth: a linear ramp's
 * mean over a pixel is its value at the pixel's centre, a sawtooth's jump is not.
 */
#define SCENE_W    320.0
#define SCENE_H    180.0
#define BLOCK_W    (SCENE_W / BITS) /* the code: 32 blocks across, rows of 1/12 the height */
#define BLOCK_H    (SCENE_H / 12)
#define CODE_H     (BLOCK_H * ROWS)
#define SQUARE     60.0 /* a bright square crossing the gradient, 2 units a frame */
#define SQUARE_Y   82.0
#define SQUARE_RUN 260u /* SCENE_W - SQUARE: where its left edge may be */

static bool size_ok(unsigned w, unsigned h) {
    return w >= CQ_SYNTH_MIN_WIDTH && h >= CQ_SYNTH_MIN_HEIGHT && w <= 4096 && h <= 4096 &&
           !(w & 1) && !(h & 1);
}

/* Length of [a0, a1) inside [b0, b1). */
static double overlap(double a0, double a1, double b0, double b1) {
    double lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0;
}

/* A ramp up from 0 to half the period and back down, at t. */
static double fold(double t, double period) {
    double p = fmod(t, period);
    return p < period / 2 ? p : period - p;
}

static uint8_t level(double v) {
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* Mean of the code's blocks over the pixel [x0, x1) x [y0, y1) (scene units), weighted by
 * what they cover of it; *covered gets that share. */
static double code_over(const uint32_t words[ROWS], double x0, double x1, double y0, double y1,
                        double *covered) {
    double area = (x1 - x0) * (y1 - y0), sum = 0, cov = 0;
    for (unsigned w = (unsigned)(y0 / BLOCK_H); w < ROWS && w * BLOCK_H < y1; w++) {
        double oy = overlap(y0, y1, w * BLOCK_H, (w + 1) * BLOCK_H);
        for (unsigned b = (unsigned)(x0 / BLOCK_W); b < BITS && b * BLOCK_W < x1; b++) {
            double c = oy * overlap(x0, x1, b * BLOCK_W, (b + 1) * BLOCK_W) / area;
            sum += c * ((words[w] >> (BITS - 1 - b)) & 1 ? WHITE : BLACK);
            cov += c;
        }
    }
    *covered = cov;
    return sum;
}

int cq_synth_video_paint(uint32_t n, uint32_t capture_ms, unsigned width, unsigned height,
                         uint8_t *y, int y_stride, uint8_t *u, int u_stride, uint8_t *v,
                         int v_stride) {
    if (!size_ok(width, height))
        return CQ_EINVAL;
    const uint32_t words[ROWS] = {n, capture_ms, n ^ capture_ms ^ CHECK};
    double ux = SCENE_W / width, uy = SCENE_H / height; /* scene units per pixel */
    double sq_x = (double)((n * 2u) % SQUARE_RUN);
    for (unsigned r = 0; r < height; r++) {
        uint8_t *row = y + (size_t)r * (size_t)y_stride;
        double y0 = r * uy, y1 = y0 + uy;
        double in_y = overlap(y0, y1, SQUARE_Y, SQUARE_Y + SQUARE) / uy;
        for (unsigned c = 0; c < width; c++) {
            double x0 = c * ux, x1 = x0 + ux;
            double sq = in_y > 0 ? in_y * overlap(x0, x1, sq_x, sq_x + SQUARE) / ux : 0;
            double val = sq * 220 + (1 - sq) * (32 + fold((x0 + x1 + y0 + y1) / 2 + n, 320));
            if (y0 < CODE_H) {
                double covered;
                double code = code_over(words, x0, x1, y0, y1, &covered);
                val = code + (1 - covered) * val;
            }
            row[c] = level(val);
        }
    }
    /* Chroma (not measured) follows the same rule: a chroma pixel spans two luma pixels. */
    for (unsigned r = 0; r < (height + 1) / 2; r++)
        for (unsigned c = 0; c < (width + 1) / 2; c++) {
            double cx = (2 * c + 1) * ux, cy = (2 * r + 1) * uy;
            u[(size_t)r * (size_t)u_stride + c] = level(96 + fold(cx + n, 128));
            v[(size_t)r * (size_t)v_stride + c] = level(160 - fold(cy + n, 128));
        }
    return 0;
}

/* The first pixel whose centre lies at or after a (pixels). */
static unsigned centre_at(double a) {
    return a <= 0.5 ? 0 : (unsigned)ceil(a - 0.5);
}

int cq_synth_video_read(const uint8_t *y, int y_stride, unsigned width, unsigned height,
                        uint32_t *n, uint32_t *capture_ms) {
    if (!size_ok(width, height))
        return CQ_EMALFORMED;
    double bw = width / (double)BITS, bh = height / 12.0;
    uint32_t words[ROWS] = {0, 0, 0};
    for (unsigned w = 0; w < ROWS; w++)
        for (unsigned b = 0; b < BITS; b++) {
            /* The middle half of each block: its edges are where coding blurs, and where a
             * block's edge falls inside a pixel (160x90) that pixel is a mix. */
            unsigned sum = 0, count = 0;
            unsigned r_end = centre_at((w + 1) * bh - bh / 4);
            unsigned c_end = centre_at((b + 1) * bw - bw / 4);
            for (unsigned r = centre_at(w * bh + bh / 4); r < r_end; r++)
                for (unsigned c = centre_at(b * bw + bw / 4); c < c_end; c++, count++)
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
