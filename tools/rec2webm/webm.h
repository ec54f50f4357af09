/*
 * A WebM file written with libavformat's Matroska muxer: VP8 frames and Opus packets as
 * they were encoded, never decoded or re-encoded. libavformat rather than container code
 * of our own: it is what ffmpeg, VLC and browsers are tested against every day, and the
 * file is the part of a recording that must outlive chasqui (docs/ARCHITECTURE.md,
 * "Recording"). Only chasqui-rec2webm links it; the relay never does.
 */
#ifndef CQ_TOOLS_REC2WEBM_WEBM_H
#define CQ_TOOLS_REC2WEBM_WEBM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cq_webm;

typedef struct {
    bool video;             /* a VP8 track */
    unsigned width, height; /* of the video, from its first keyframe */
    bool audio;             /* an Opus track, 48 kHz */
    unsigned channels;      /* 1 or 2 */
} cq_webm_config_t;

/* Creates path and writes the header. Returns 0 and *out, CQ_EINVAL (no track, a video
 * without a size), CQ_ENOMEM or CQ_EIO (libavformat refused: the message is logged). */
int cq_webm_open(struct cq_webm **out, const char *path, const cq_webm_config_t *cfg);

/* One frame of the video (video true) or one packet of the sound, at pts_us from the
 * file's start, lasting duration_us. Within a track, pts must grow. The bytes are copied.
 * Returns 0 or CQ_EIO. */
int cq_webm_write(struct cq_webm *w, bool video, int64_t pts_us, int64_t duration_us, bool key,
                  const uint8_t *data, size_t len);

/* Writes the trailer (cues, duration) and frees. Returns 0 or CQ_EIO; w is freed either
 * way. NULL is fine. */
int cq_webm_close(struct cq_webm *w);

#endif
