#include "client/mediafile.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtp/error.h"

/* Each keeps its FILE first: file_object opens it there. */
struct cq_y4m {
    FILE *f;
    unsigned w, h, fps;
};

struct cq_wav {
    FILE *f;
    bool writing;
    unsigned rate, channels;
    uint32_t data_bytes;
};

struct cq_ivf {
    FILE *f;
    uint32_t frames;
};

static void put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

/* Allocates a file object of size bytes whose first member is its FILE *, opened at path
 * in mode. Returns it, or NULL with *err set (CQ_ENOMEM, CQ_EIO). */
static void *file_object(size_t size, const char *path, const char *mode, int *err) {
    void *obj = calloc(1, size);
    if (obj == NULL) {
        *err = CQ_ENOMEM;
        return NULL;
    }
    FILE *f = fopen(path, mode);
    if (f == NULL) {
        free(obj);
        *err = CQ_EIO;
        return NULL;
    }
    memcpy(obj, &f, sizeof f); /* the object's first member now owns f */
    // cppcheck-suppress resourceLeak
    return obj;
}

/* ---- Y4M -------------------------------------------------------------------------- */

int cq_y4m_create(struct cq_y4m **out, const char *path, unsigned width, unsigned height,
                  unsigned fps) {
    if (width == 0 || height == 0 || width > 8192 || height > 8192 || fps == 0)
        return CQ_EINVAL;
    int ferr = 0;
    struct cq_y4m *f = file_object(sizeof *f, path, "wb", &ferr);
    if (f == NULL)
        return ferr;
    f->w = width;
    f->h = height;
    f->fps = fps;
    fprintf(f->f, "YUV4MPEG2 W%u H%u F%u:1 Ip A1:1 C420jpeg\n", width, height, fps);
    *out = f;
    return 0;
}

int cq_y4m_open(struct cq_y4m **out, const char *path) {
    int ferr = 0;
    struct cq_y4m *f = file_object(sizeof *f, path, "rb", &ferr);
    if (f == NULL)
        return ferr;
    char line[256];
    int err = CQ_EMALFORMED;
    if (fgets(line, sizeof line, f->f) == NULL || strncmp(line, "YUV4MPEG2 ", 10) != 0 ||
        strchr(line, '\n') == NULL)
        goto fail;
    unsigned num = 0, den = 1;
    for (char *save = NULL, *t = strtok_r(line + 10, " \n", &save); t != NULL;
         t = strtok_r(NULL, " \n", &save)) {
        if (t[0] == 'W')
            f->w = (unsigned)strtoul(t + 1, NULL, 10);
        else if (t[0] == 'H')
            f->h = (unsigned)strtoul(t + 1, NULL, 10);
        else if (t[0] == 'F' && sscanf(t + 1, "%u:%u", &num, &den) != 2)
            goto fail;
        else if (t[0] == 'C' && strncmp(t + 1, "420", 3) != 0) {
            err = CQ_EUNSUPPORTED; /* 4:2:2, 4:4:4, mono: not what a camera path gives */
            goto fail;
        }
    }
    if (f->w == 0 || f->h == 0 || f->w > 8192 || f->h > 8192)
        goto fail;
    f->fps = den ? (num + den / 2) / den : 0;
    if (f->fps == 0)
        f->fps = 30;
    *out = f;
    return 0;
fail:
    cq_y4m_close(f);
    return err;
}

void cq_y4m_close(struct cq_y4m *f) {
    if (f == NULL)
        return;
    if (f->f)
        fclose(f->f);
    free(f);
}

void cq_y4m_size(const struct cq_y4m *f, unsigned *width, unsigned *height, unsigned *fps) {
    *width = f->w;
    *height = f->h;
    *fps = f->fps;
}

static bool write_plane(FILE *f, const uint8_t *p, int stride, unsigned w, unsigned h) {
    for (unsigned r = 0; r < h; r++)
        if (fwrite(p + (size_t)r * (size_t)stride, 1, w, f) != w)
            return false;
    return true;
}

int cq_y4m_write(struct cq_y4m *f, const uint8_t *y, int y_stride, const uint8_t *u, int u_stride,
                 const uint8_t *v, int v_stride) {
    unsigned cw = (f->w + 1) / 2, ch = (f->h + 1) / 2;
    if (fputs("FRAME\n", f->f) < 0 || !write_plane(f->f, y, y_stride, f->w, f->h) ||
        !write_plane(f->f, u, u_stride, cw, ch) || !write_plane(f->f, v, v_stride, cw, ch))
        return CQ_EIO;
    return 0;
}

int cq_y4m_read(struct cq_y4m *f, uint8_t *y, uint8_t *u, uint8_t *v) {
    char line[128];
    if (fgets(line, sizeof line, f->f) == NULL)
        return CQ_ENOENT;
    if (strncmp(line, "FRAME", 5) != 0)
        return CQ_EMALFORMED;
    size_t luma = (size_t)f->w * f->h, chroma = (size_t)((f->w + 1) / 2) * ((f->h + 1) / 2);
    if (fread(y, 1, luma, f->f) != luma || fread(u, 1, chroma, f->f) != chroma ||
        fread(v, 1, chroma, f->f) != chroma)
        return CQ_EMALFORMED;
    return 0;
}

/* ---- WAV -------------------------------------------------------------------------- */

static void wav_header(uint8_t h[44], unsigned rate, uint32_t data_bytes) {
    memcpy(h, "RIFF", 4);
    put_le32(h + 4, 36 + data_bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    put_le32(h + 16, 16);
    put_le16(h + 20, 1); /* PCM */
    put_le16(h + 22, 1); /* mono */
    put_le32(h + 24, rate);
    put_le32(h + 28, rate * 2);
    put_le16(h + 32, 2);
    put_le16(h + 34, 16);
    memcpy(h + 36, "data", 4);
    put_le32(h + 40, data_bytes);
}

int cq_wav_create(struct cq_wav **out, const char *path, unsigned rate) {
    if (rate < 8000 || rate > 192000)
        return CQ_EINVAL;
    int ferr = 0;
    struct cq_wav *w = file_object(sizeof *w, path, "wb", &ferr);
    if (w == NULL)
        return ferr;
    w->writing = true;
    w->rate = rate;
    w->channels = 1;
    uint8_t h[44];
    wav_header(h, rate, 0);
    if (fwrite(h, 1, sizeof h, w->f) != sizeof h) {
        cq_wav_close(w);
        return CQ_EIO;
    }
    *out = w;
    return 0;
}

int cq_wav_open(struct cq_wav **out, const char *path) {
    int ferr = 0;
    struct cq_wav *w = file_object(sizeof *w, path, "rb", &ferr);
    if (w == NULL)
        return ferr;
    uint8_t h[12];
    int err = CQ_EMALFORMED;
    if (fread(h, 1, 12, w->f) != 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
        goto fail;
    /* Walk the chunks: fmt first (checked), then up to data. */
    bool fmt = false;
    for (int chunks = 0; chunks < 64; chunks++) {
        uint8_t c[8];
        if (fread(c, 1, 8, w->f) != 8)
            goto fail;
        uint32_t size = le32(c + 4);
        if (memcmp(c, "fmt ", 4) == 0) {
            uint8_t f[16];
            if (size < 16 || fread(f, 1, 16, w->f) != 16 ||
                fseek(w->f, (long)(size - 16), SEEK_CUR))
                goto fail;
            if (le16(f) != 1 || le16(f + 14) != 16 || (le16(f + 2) != 1 && le16(f + 2) != 2)) {
                err = CQ_EUNSUPPORTED; /* only 16-bit PCM, mono or stereo */
                goto fail;
            }
            w->channels = le16(f + 2);
            w->rate = le32(f + 4);
            fmt = true;
        } else if (memcmp(c, "data", 4) == 0) {
            if (!fmt || w->rate < 8000 || w->rate > 192000)
                goto fail;
            w->data_bytes = size;
            *out = w;
            return 0;
        } else if (fseek(w->f, (long)(size + (size & 1)), SEEK_CUR) != 0) {
            goto fail;
        }
    }
fail:
    cq_wav_close(w);
    return err;
}

void cq_wav_close(struct cq_wav *w) {
    if (w == NULL)
        return;
    if (w->writing && w->f != NULL) {
        uint8_t h[44];
        wav_header(h, w->rate, w->data_bytes);
        if (fseek(w->f, 0, SEEK_SET) == 0)
            fwrite(h, 1, sizeof h, w->f);
    }
    if (w->f)
        fclose(w->f);
    free(w);
}

unsigned cq_wav_rate(const struct cq_wav *w) {
    return w->rate;
}

int cq_wav_write(struct cq_wav *w, const int16_t *pcm, size_t samples) {
    for (size_t i = 0; i < samples; i++) {
        uint8_t b[2];
        put_le16(b, (uint16_t)pcm[i]);
        if (fwrite(b, 1, 2, w->f) != 2)
            return CQ_EIO;
    }
    w->data_bytes += (uint32_t)(samples * 2);
    return 0;
}

int cq_wav_read(struct cq_wav *w, int16_t *pcm, size_t samples) {
    size_t n = 0;
    while (n < samples && w->data_bytes >= 2 * w->channels) {
        uint8_t b[4];
        if (fread(b, 1, 2 * w->channels, w->f) != 2 * w->channels)
            break;
        w->data_bytes -= 2 * w->channels;
        int v = (int16_t)le16(b);
        if (w->channels == 2)
            v = (v + (int16_t)le16(b + 2)) / 2;
        pcm[n++] = (int16_t)v;
    }
    return (int)n;
}

/* ---- IVF -------------------------------------------------------------------------- */

int cq_ivf_create(struct cq_ivf **out, const char *path, unsigned width, unsigned height,
                  unsigned fps) {
    if (width == 0 || width > 65535 || height == 0 || height > 65535 || fps == 0)
        return CQ_EINVAL;
    int ferr = 0;
    struct cq_ivf *v = file_object(sizeof *v, path, "wb", &ferr);
    if (v == NULL)
        return ferr;
    uint8_t h[32] = {'D', 'K', 'I', 'F'};
    put_le16(h + 6, 32);
    memcpy(h + 8, "VP80", 4);
    put_le16(h + 12, (uint16_t)width);
    put_le16(h + 14, (uint16_t)height);
    put_le32(h + 16, 90000); /* timebase: pts in the RTP clock */
    put_le32(h + 20, 1);
    if (fwrite(h, 1, sizeof h, v->f) != sizeof h) {
        cq_ivf_close(v);
        return CQ_EIO;
    }
    (void)fps;
    *out = v;
    return 0;
}

int cq_ivf_write(struct cq_ivf *v, const uint8_t *frame, size_t len, uint64_t pts) {
    if (len > UINT32_MAX)
        return CQ_EINVAL;
    uint8_t h[12];
    put_le32(h, (uint32_t)len);
    put_le32(h + 4, (uint32_t)pts);
    put_le32(h + 8, (uint32_t)(pts >> 32));
    if (fwrite(h, 1, 12, v->f) != 12 || fwrite(frame, 1, len, v->f) != len)
        return CQ_EIO;
    v->frames++;
    return 0;
}

void cq_ivf_close(struct cq_ivf *v) {
    if (v == NULL)
        return;
    uint8_t n[4];
    put_le32(n, v->frames);
    if (fseek(v->f, 24, SEEK_SET) == 0)
        fwrite(n, 1, 4, v->f);
    fclose(v->f);
    free(v);
}
