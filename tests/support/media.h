/*
 * Media packets for relay tests that carry their own truth: after the codec's own header,
 * each payload names its sender, the SSRC and sequence number it was sent under, then a
 * body derived from that sequence number. A receiver checks what it got without trusting
 * the header the relay rewrote.
 *
 * Video packets are real VP8 as the relay must parse it (RFC 7741): one packet per frame,
 * a descriptor with a 15-bit PictureID, TL0PICIDX and TID, then a VP8 payload header that
 * says keyframe or not (keyframes with a 160x90 start code).
 */
#ifndef CQ_TEST_MEDIA_H
#define CQ_TEST_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/vp8_desc.h"
#include "rtp/rtp.h"

/* Descriptor (6 bytes) and payload header room (10 bytes) before the tag in video. */
#define CQ_TEST_VP8_PREFIX 16
/* The tag: sender (1), SSRC (4), sequence number (2). */
#define CQ_TEST_TAG_SIZE 7

typedef struct {
    uint16_t seq;
    uint32_t ts;
    uint16_t picture_id; /* 0..32767 */
    uint8_t tl0picidx;
    uint8_t tid;
    bool layer_sync;
    bool keyframe;
} cq_test_vp8_frame_t;

/* An Opus-like audio packet (PT 111) of 60 body bytes; returns its length. */
size_t cq_test_audio_packet(uint8_t *buf, int sender, uint32_t ssrc, uint16_t seq, uint32_t ts);

/* A VP8 packet (PT 96) holding one whole frame with a 900-byte body; returns its length. */
size_t cq_test_video_packet(uint8_t *buf, int sender, uint32_t ssrc, const cq_test_vp8_frame_t *f);

/* What a received packet says about itself. */
typedef struct {
    int sender;
    uint32_t ssrc;
    uint16_t seq;
    bool video;
    cq_vp8_desc_t desc; /* video only */
    bool keyframe;      /* video only */
    bool body_intact;
} cq_test_media_info_t;

/* Reads the tag (and for PT 96 the VP8 descriptor) of a parsed packet and checks its
 * body. Returns 0, or -1 when the packet is too short or the descriptor does not parse. */
int cq_test_media_read(const cq_rtp_view_t *v, cq_test_media_info_t *out);

#endif
