/*
 * A short delay line of decoded pictures, for lip sync: when a telecentre's sound plays
 * later than its pictures (a deep audio jitter buffer on a jittery link), its pictures
 * wait here until their sound catches up. Each picture is copied in (the decoder reuses its
 * buffer) and comes out when due, in order; when the line is full or the size changes the
 * caller lets pictures out early rather than drop them.
 *
 * Owned by one thread. Buffers are allocated when the picture size changes, not per picture.
 */
#ifndef CQ_CLIENT_VHOLD_H
#define CQ_CLIENT_VHOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/vp8_codec.h"

#define CQ_VHOLD_PICTURES 8 /* half a second at 15 fps: more than lip sync ever holds */

typedef struct {
    unsigned width, height;
    uint8_t *planes; /* CQ_VHOLD_PICTURES pictures of width x height, I420, packed */
    uint64_t due_us[CQ_VHOLD_PICTURES];
    uint32_t ts[CQ_VHOLD_PICTURES];
    unsigned head, count;
} cq_vhold_t;

void cq_vhold_init(cq_vhold_t *h);
void cq_vhold_free(cq_vhold_t *h);

/* Copies img in, due at due_us. Returns 0, CQ_EAGAIN when pictures are held and img has
 * another size, or CQ_ENOBUFS when the line is full: let them out first (pop with force),
 * then push again. CQ_ENOMEM when the buffers for a new size cannot be had. */
int cq_vhold_push(cq_vhold_t *h, const cq_i420_t *img, uint32_t ts, uint64_t due_us);

/* The oldest picture, if it is due at now_us or force is set, into *img (valid until the
 * next push) with its RTP time. Returns whether there was one. */
bool cq_vhold_pop(cq_vhold_t *h, uint64_t now_us, bool force, cq_i420_t *img, uint32_t *ts);

/* Pictures held now. */
unsigned cq_vhold_count(const cq_vhold_t *h);

#endif
