/*
 * The synthetic camera (DESIGN.md "How quality is measured"): a moving test scene whose
 * every frame carries its own frame number and capture time, painted as a bar code in its
 * top rows. A receiver reads them back from what it decoded, so it knows which source
 * frame it shows and how late, and can compare it (PSNR) with the original, which it can
 * paint again from the number alone.
 *
 * The code is three rows of 32 blocks, each block black or white: the frame number, the
 * capture time in milliseconds, and both XORed with a constant, which tells a frame read
 * right from one VP8 smeared. Blocks are width/32 wide and height/12 tall, large and
 * contrasted enough to survive 160x90 at a low bitrate.
 *
 * The scene is the same at every size: a frame painted at half or a quarter of the size is
 * the full-size one box-filtered down (codec/scale.h, as the sender makes its lower
 * simulcast layers) to within rounding, so a receiver of any layer repaints its reference
 * at the size it decoded.
 */
#ifndef CQ_CLIENT_SYNTH_H
#define CQ_CLIENT_SYNTH_H

#include <stddef.h>
#include <stdint.h>

/* Smallest frame the code fits in: blocks of 4 pixels at least. */
#define CQ_SYNTH_MIN_WIDTH  128
#define CQ_SYNTH_MIN_HEIGHT 48

/* Paints frame n, captured at capture_ms, into I420 planes of width x height (even sizes,
 * at least the minimum). Returns 0 or CQ_EINVAL. */
int cq_synth_video_paint(uint32_t n, uint32_t capture_ms, unsigned width, unsigned height,
                         uint8_t *y, int y_stride, uint8_t *u, int u_stride, uint8_t *v,
                         int v_stride);

/* Reads the frame number and capture time painted in a (decoded) luma plane. Returns 0,
 * or CQ_EMALFORMED when the code does not check (not a synthetic frame, or damaged). */
int cq_synth_video_read(const uint8_t *y, int y_stride, unsigned width, unsigned height,
                        uint32_t *n, uint32_t *capture_ms);

/*
 * The synthetic microphone: 20 ms frames of a voiced sound whose pitch tells the frame's
 * index modulo 16 (100 Hz + 15 Hz per step). Pitch is what a speech codec keeps most
 * faithfully (SILK codes it as a parameter), so a receiver can tell, frame by frame,
 * whether what it plays is the frame that was sent or something concealment made up.
 */
#define CQ_SYNTH_AUDIO_FRAME   960 /* 20 ms at 48 kHz */
#define CQ_SYNTH_AUDIO_CLASSES 16

/* Writes frame k (CQ_SYNTH_AUDIO_FRAME samples at 48 kHz) into pcm. Consecutive frames
 * join without clicks. */
void cq_synth_audio_frame(uint32_t k, int16_t *pcm);

/* The index modulo 16 that the pitch of [pcm, pcm + samples) tells (at least 480 samples:
 * two periods of the lowest pitch), or -1 when there is no clear pitch (silence, noise). */
int cq_synth_audio_class(const int16_t *pcm, size_t samples);

/* PSNR in dB of luma plane a against b (same size); 99 for identical planes. */
double cq_synth_psnr(const uint8_t *a, int a_stride, const uint8_t *b, int b_stride, unsigned width,
                     unsigned height);

#endif
