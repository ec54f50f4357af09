/*
 * Opus packet TOC (RFC 6716 §3.1, RTP payload format RFC 7587).
 *
 * The relay never decodes Opus, but it must know how long a packet lasts (to pace audio,
 * compute audio-only bitrates and tell FEC-bearing SILK/hybrid packets from CELT ones).
 * All of that is in the first one or two bytes:
 *
 *    0 1 2 3 4 5 6 7
 *   +-+-+-+-+-+-+-+-+
 *   | config  |s| c |
 *   +-+-+-+-+-+-+-+-+
 *
 * config selects mode, audio bandwidth and frame size; s is stereo; c is the frame-count
 * code: 0 one frame, 1 two equal frames, 2 two frames of different sizes, 3 an arbitrary
 * number of frames given in the next byte:
 *
 *    0 1 2 3 4 5 6 7
 *   +-+-+-+-+-+-+-+-+
 *   |v|p|     M     |   v: VBR, p: padding present, M: frame count (1..48)
 *   +-+-+-+-+-+-+-+-+
 */
#ifndef CQ_CODEC_OPUS_TOC_H
#define CQ_CODEC_OPUS_TOC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CQ_OPUS_MODE_SILK,
    CQ_OPUS_MODE_HYBRID,
    CQ_OPUS_MODE_CELT,
} cq_opus_mode_t;

typedef enum {
    CQ_OPUS_BW_NARROW,    /* 4 kHz */
    CQ_OPUS_BW_MEDIUM,    /* 6 kHz */
    CQ_OPUS_BW_WIDE,      /* 8 kHz */
    CQ_OPUS_BW_SUPERWIDE, /* 12 kHz */
    CQ_OPUS_BW_FULL,      /* 20 kHz */
} cq_opus_bandwidth_t;

/* What the TOC says about one Opus packet. Durations are in 48 kHz samples, the RTP clock
 * rate of Opus whatever the real sampling rate (RFC 7587 §4.1). */
typedef struct {
    cq_opus_mode_t mode;
    cq_opus_bandwidth_t bandwidth;
    uint8_t config;          /* 0..31 */
    uint8_t stereo;          /* 0 or 1 */
    uint8_t code;            /* frame-count code c, 0..3 */
    uint8_t frame_count;     /* 1..48 */
    uint16_t frame_samples;  /* 120 (2.5 ms) .. 2880 (60 ms) */
    uint16_t packet_samples; /* frame_count * frame_samples, at most 5760 (120 ms) */
} cq_opus_toc_t;

/* Longest packet Opus allows: 120 ms at 48 kHz (RFC 6716 §3.2.5, R5). */
#define CQ_OPUS_MAX_PACKET_SAMPLES 5760

/*
 * Parses the TOC (and, for code 3, the frame-count byte) of the Opus packet in
 * [payload, payload + len). Checks the framing rules of RFC 6716 §3.4 that these bytes
 * decide: a code 1 packet splits into two equal halves (R3), a code 2 packet holds its
 * first frame's length (R4), a code 3 packet has 1..48 frames of at most 120 ms in all
 * (R5). Frame contents are not examined.
 *
 * Returns 0 and fills *toc, or CQ_ETRUNCATED (empty, or a code 2/3 header cut short),
 * CQ_EMALFORMED (a rule above broken). *toc is untouched on failure.
 */
int cq_opus_toc_parse(const uint8_t *payload, size_t len, cq_opus_toc_t *toc);

/* Frame duration in 48 kHz samples for a TOC config value (0..31). */
uint16_t cq_opus_config_frame_samples(uint8_t config);

#endif
