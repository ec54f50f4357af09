/*
 * VP8 for telecentre cameras (DESIGN.md "Adaptivity"): a realtime, error-resilient
 * encoder per simulcast layer with three temporal layers in the pattern 0-2-1-2 (TID in
 * the payload descriptor, so the relay can thin them), keyframes on request, bitrate and
 * frame-rate changes without a keyframe; and a decoder that says when it needs a keyframe.
 *
 * Images are I420: three planes, Y at width x height, U and V at half each way (rounded
 * up). Objects own their libvpx state; one thread uses each.
 */
#ifndef CQ_CODEC_VP8_CODEC_H
#define CQ_CODEC_VP8_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cq_vp8_enc;
struct cq_vp8_dec;

/* The share of the bitrate the base temporal layer (TL0) gets with three layers, in per
 * cent: what sending TL0 twice costs (client/ratealloc.h). */
#define CQ_VP8_TL0_SHARE_PCT 40

/* Rate control skips a frame rather than overshoot a thin link, but the picture never
 * stands longer than this (90 kHz ticks, 0.4 s): the frame after is encoded whatever the
 * encoder's buffer says, at the coarsest quantizer it needs. A keyframe on a layer of
 * 20-25 kbit/s costs most of a second of its bits, and libvpx then kept 2 of the next 21
 * frames while its buffer refilled (2.1 s: the picture stood 0.9, 0.7, 0.6 s) and every
 * receiver of that layer froze (weak-3g-3's base layers). What it costs, with a keyframe every
 * second at 20 kbit/s (the worst case; tests/codec/test_vp8_codec.c): a moving scene 24 kbit/s
 * instead of 20.5, with its longest gap 0.4 s instead of 0.73; one whose every frame changes
 * everywhere 38 instead of 21. */
#define CQ_VP8_MAX_GAP_TICKS 36000u

/* An I420 image, borrowed: planes and strides. */
typedef struct {
    unsigned width, height;
    const uint8_t *plane[3];
    int stride[3];
} cq_i420_t;

typedef struct {
    unsigned width, height;   /* even, 16..1920 x 16..1088 */
    unsigned bitrate_kbps;    /* all temporal layers together, 20..4000 */
    unsigned fps;             /* the frame rate the bitrate is planned for, 1..60 */
    unsigned temporal_layers; /* 1, or 3 (0-2-1-2) */
    int cpu_used;             /* libvpx speed: 0 picks 8, light enough for a 2-core PC */
} cq_vp8_enc_config_t;

/* One encoded frame and what its payload descriptor must say (RFC 7741). */
typedef struct {
    const uint8_t *data; /* the encoder's buffer, valid until the next encode */
    size_t len;
    bool keyframe;
    uint8_t tid;         /* temporal layer, 0..2 */
    bool layer_sync;     /* Y: depends only on TL0 frames */
    uint16_t picture_id; /* 15 bits, one per frame */
    uint8_t tl0picidx;   /* counts TL0 frames */
} cq_vp8_frame_t;

/* Returns 0, CQ_EINVAL or CQ_EIO (libvpx refused the configuration). */
int cq_vp8_enc_create(struct cq_vp8_enc **out, const cq_vp8_enc_config_t *cfg);
void cq_vp8_enc_destroy(struct cq_vp8_enc *e);

/* New bitrate and frame rate, from the next frame, without a keyframe. */
int cq_vp8_enc_set_rate(struct cq_vp8_enc *e, unsigned bitrate_kbps, unsigned fps);

/* The next frame will be a keyframe (a receiver sent PLI). */
void cq_vp8_enc_request_keyframe(struct cq_vp8_enc *e);

/*
 * Encodes img (its size must be the encoder's) captured at pts (90 kHz). Returns 0 and
 * *out, CQ_EAGAIN when rate control skipped the frame (nothing to send; never
 * for CQ_VP8_MAX_GAP_TICKS after the last frame out), CQ_EINVAL for an image of the wrong size,
 * CQ_EIO when libvpx fails.
 */
int cq_vp8_enc_encode(struct cq_vp8_enc *e, const cq_i420_t *img, uint32_t pts,
                      cq_vp8_frame_t *out);

/* Returns 0, CQ_ENOMEM or CQ_EIO. */
int cq_vp8_dec_create(struct cq_vp8_dec **out);
void cq_vp8_dec_destroy(struct cq_vp8_dec *d);

/*
 * Decodes one whole frame (a VP8 frame as the encoder made it). Returns 0 and the image in
 * *img (the decoder's, valid until the next call), or CQ_EMALFORMED for data it cannot
 * decode, or CQ_EBADSTATE while it waits for a keyframe. After a failure, or a frame the
 * decoder marks corrupt (decoded over a lost reference), it needs a keyframe: every frame
 * until then is refused, since showing one would show garbage.
 */
int cq_vp8_dec_decode(struct cq_vp8_dec *d, const uint8_t *data, size_t len, cq_i420_t *img);

/* Whether the caller should ask the sender for a keyframe (PLI). Also true before the
 * first one. */
bool cq_vp8_dec_needs_keyframe(const struct cq_vp8_dec *d);

/* Tells the decoder that a frame it needed never came (a gap the caller saw in PictureIDs
 * of the layers it receives): it will wait for a keyframe. */
void cq_vp8_dec_frame_lost(struct cq_vp8_dec *d);

#endif
