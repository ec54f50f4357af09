/*
 * The files a telecentre client reads and writes for tests and records: Y4M (raw I420
 * video: a source and a sink), WAV (16-bit PCM: a source and a sink) and IVF (VP8 frames
 * as received, for tools that replay them). Formats as their usual writers make them;
 * readers refuse what they do not understand with CQ_EMALFORMED or CQ_EUNSUPPORTED.
 *
 * Each object owns its FILE; one thread uses it.
 */
#ifndef CQ_CLIENT_MEDIAFILE_H
#define CQ_CLIENT_MEDIAFILE_H

#include <stddef.h>
#include <stdint.h>

struct cq_y4m;
struct cq_wav;
struct cq_ivf;

/* Y4M: "YUV4MPEG2 W<w> H<h> F<num>:<den> ..." then "FRAME\n" and the three planes. */
int cq_y4m_create(struct cq_y4m **out, const char *path, unsigned width, unsigned height,
                  unsigned fps);
int cq_y4m_open(struct cq_y4m **out, const char *path); /* for reading */
void cq_y4m_close(struct cq_y4m *f);
void cq_y4m_size(const struct cq_y4m *f, unsigned *width, unsigned *height, unsigned *fps);
/* Planes are tightly packed: Y w*h, U and V ((w+1)/2)*((h+1)/2). */
int cq_y4m_write(struct cq_y4m *f, const uint8_t *y, int y_stride, const uint8_t *u, int u_stride,
                 const uint8_t *v, int v_stride);
/* Returns 0, CQ_ENOENT at the end, CQ_EMALFORMED for a cut or damaged frame. */
int cq_y4m_read(struct cq_y4m *f, uint8_t *y, uint8_t *u, uint8_t *v);

/* WAV: RIFF/WAVE, PCM 16-bit, the given rate, mono. */
int cq_wav_create(struct cq_wav **out, const char *path, unsigned rate);
int cq_wav_open(struct cq_wav **out, const char *path); /* mono or stereo (mixed down) */
/* Closing a written file fills in its sizes. */
void cq_wav_close(struct cq_wav *f);
unsigned cq_wav_rate(const struct cq_wav *f);
int cq_wav_write(struct cq_wav *f, const int16_t *pcm, size_t samples);
/* Returns samples read (fewer at the end, 0 after it). */
int cq_wav_read(struct cq_wav *f, int16_t *pcm, size_t samples);

/* IVF: the 32-byte header ("DKIF", VP80), then per frame a 12-byte header and the data. */
int cq_ivf_create(struct cq_ivf **out, const char *path, unsigned width, unsigned height,
                  unsigned fps);
int cq_ivf_write(struct cq_ivf *f, const uint8_t *frame, size_t len, uint64_t pts);
/* Closing fills in the frame count. */
void cq_ivf_close(struct cq_ivf *f);

#endif
