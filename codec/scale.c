#include "codec/scale.h"

#include <libyuv/scale.h>

#include "rtp/error.h"

int cq_scale_i420(const cq_i420_t *src, uint8_t *dst_y, uint8_t *dst_u, uint8_t *dst_v,
                  const cq_i420_t *dst) {
    if (src->width == 0 || src->height == 0 || dst->width == 0 || dst->height == 0 ||
        src->width > 4096 || src->height > 4096 || dst->width > 4096 || dst->height > 4096)
        return CQ_EINVAL;
    int err = I420Scale(src->plane[0], src->stride[0], src->plane[1], src->stride[1], src->plane[2],
                        src->stride[2], (int)src->width, (int)src->height, dst_y, dst->stride[0],
                        dst_u, dst->stride[1], dst_v, dst->stride[2], (int)dst->width,
                        (int)dst->height, kFilterBox);
    return err == 0 ? 0 : CQ_EINVAL;
}
