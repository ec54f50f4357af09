#include "client/vhold.h"

#include <stdlib.h>
#include <string.h>

#include "rtp/error.h"

void cq_vhold_init(cq_vhold_t *h) {
    memset(h, 0, sizeof *h);
}

void cq_vhold_free(cq_vhold_t *h) {
    free(h->planes);
    cq_vhold_init(h);
}

static size_t picture_size(const cq_vhold_t *h) {
    return (size_t)h->width * h->height + 2 * (size_t)((h->width + 1) / 2) * ((h->height + 1) / 2);
}

static void copy_plane(uint8_t *dst, unsigned w, unsigned rows, const uint8_t *src, int stride) {
    for (unsigned r = 0; r < rows; r++)
        memcpy(dst + (size_t)r * w, src + (size_t)r * (size_t)stride, w);
}

int cq_vhold_push(cq_vhold_t *h, const cq_i420_t *img, uint32_t ts, uint64_t due_us) {
    if (img->width != h->width || img->height != h->height) {
        if (h->count > 0)
            return CQ_EAGAIN;
        cq_vhold_free(h);
        h->width = img->width;
        h->height = img->height;
        if ((h->planes = malloc(picture_size(h) * CQ_VHOLD_PICTURES)) == NULL) {
            h->width = h->height = 0;
            return CQ_ENOMEM;
        }
    }
    if (h->count == CQ_VHOLD_PICTURES)
        return CQ_ENOBUFS;
    unsigned k = (h->head + h->count) % CQ_VHOLD_PICTURES;
    unsigned cw = (h->width + 1) / 2, ch = (h->height + 1) / 2;
    uint8_t *y = h->planes + picture_size(h) * k, *u = y + (size_t)h->width * h->height,
            *v = u + (size_t)cw * ch;
    copy_plane(y, h->width, h->height, img->plane[0], img->stride[0]);
    copy_plane(u, cw, ch, img->plane[1], img->stride[1]);
    copy_plane(v, cw, ch, img->plane[2], img->stride[2]);
    h->due_us[k] = due_us;
    h->ts[k] = ts;
    h->count++;
    return 0;
}

bool cq_vhold_pop(cq_vhold_t *h, uint64_t now_us, bool force, cq_i420_t *img, uint32_t *ts) {
    if (h->count == 0 || (!force && h->due_us[h->head] > now_us))
        return false;
    unsigned k = h->head;
    unsigned cw = (h->width + 1) / 2, ch = (h->height + 1) / 2;
    uint8_t *y = h->planes + picture_size(h) * k, *u = y + (size_t)h->width * h->height,
            *v = u + (size_t)cw * ch;
    *img = (cq_i420_t){.width = h->width,
                       .height = h->height,
                       .plane = {y, u, v},
                       .stride = {(int)h->width, (int)cw, (int)cw}};
    *ts = h->ts[k];
    h->head = (h->head + 1) % CQ_VHOLD_PICTURES;
    h->count--;
    return true;
}

unsigned cq_vhold_count(const cq_vhold_t *h) {
    return h->count;
}
