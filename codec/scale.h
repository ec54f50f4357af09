/*
 * Scaling camera frames down for the lower simulcast layers (640x360 -> 320x180 and
 * 160x90), with libyuv's box filter: what every simulcast sender uses, fast enough to
 * scale each frame twice on a 2-core PC.
 */
#ifndef CQ_CODEC_SCALE_H
#define CQ_CODEC_SCALE_H

#include <stdint.h>

#include "codec/vp8_codec.h"

/* Scales src into the I420 planes dst (dst->width x dst->height, its strides; the planes
 * are the caller's, cast from writable memory). Returns 0 or CQ_EINVAL (a size of 0, or
 * larger than 4096). */
int cq_scale_i420(const cq_i420_t *src, uint8_t *dst_y, uint8_t *dst_u, uint8_t *dst_v,
                  const cq_i420_t *dst);

#endif
