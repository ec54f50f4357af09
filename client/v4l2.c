#include "client/v4l2.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libyuv/convert.h>
#include <linux/videodev2.h>

#include "codec/scale.h"
#include "rtp/error.h"

/* Four buffers: one being converted, one being filled, two to spare for a loop that falls
 * behind by a frame or two. Drivers may give more; the ones past MAX_BUFFERS are left
 * unmapped and never queued. */
#define BUFFERS_ASKED 4
#define MAX_BUFFERS   16
#define MIN_BUFFERS   2
#define MAX_FPS       120

/* Wake-ups in a row where the driver failed to give a frame before capture is declared
 * stopped: a level-triggered poll on a broken device would otherwise spin. */
#define MAX_FAILED_WAKEUPS 8

struct buffer {
    uint8_t *start;
    size_t length;
};

struct cq_v4l2 {
    uv_poll_t poll; /* first: the handle's pointer is the object's */
    const cq_v4l2_sys_t *sys;
    int fd;
    bool streaming, closing;
    cq_v4l2_picture_cb on_picture;
    void *ctx;
    unsigned bytesperline; /* of the driver's YUYV rows */
    unsigned nbuffers;
    struct buffer buf[MAX_BUFFERS];
    /* The driver's picture in I420 (cap), its centre at the aspect ratio asked (view: a
     * window on cap, no copy) and, when that is not the size asked, the view scaled (out):
     * one allocation, made at open. */
    uint8_t *planes;
    uint8_t *cap_plane[3], *out_plane[3];
    cq_i420_t cap_img, view_img, out_img;
    unsigned failed_wakeups;
    cq_v4l2_stats_t stats;
};

/* The kernel's system calls, behind the seam tests replace. */
static int sys_open(const char *path, int flags) {
    return open(path, flags);
}

static int sys_close(int fd) {
    return close(fd);
}

static int sys_ioctl(int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

static void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset) {
    return mmap(addr, len, prot, flags, fd, offset);
}

static int sys_munmap(void *addr, size_t len) {
    return munmap(addr, len);
}

static const cq_v4l2_sys_t kernel = {
    .open = sys_open,
    .close = sys_close,
    .ioctl = sys_ioctl,
    .mmap = sys_mmap,
    .munmap = sys_munmap,
};

/* ioctl, again when a signal interrupted it. */
static int xioctl(const struct cq_v4l2 *c, unsigned long request, void *arg) {
    int r;
    do
        r = c->sys->ioctl(c->fd, request, arg);
    while (r < 0 && errno == EINTR);
    return r;
}

/* Writes "<device>: <what>" into msg when there is one, and returns err. */
__attribute__((format(printf, 5, 6))) static int say(char *msg, size_t msg_len, int err,
                                                     const char *device, const char *fmt, ...) {
    if (msg == NULL || msg_len == 0)
        return err;
    int n = snprintf(msg, msg_len, "%s: ", device != NULL ? device : "(no device)");
    if (n >= 0 && (size_t)n < msg_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + n, msg_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return err;
}

int cq_v4l2_yuyv_to_i420(const uint8_t *yuyv, int stride, unsigned width, unsigned height,
                         uint8_t *y, uint8_t *u, uint8_t *v) {
    if (yuyv == NULL || y == NULL || u == NULL || v == NULL || width == 0 || height == 0 ||
        width % 2 != 0 || height % 2 != 0 || width > CQ_V4L2_MAX_SIDE ||
        height > CQ_V4L2_MAX_SIDE || stride < 0 || (unsigned)stride < 2 * width)
        return CQ_EINVAL;
    int half = (int)width / 2;
    int r = YUY2ToI420(yuyv, stride, y, (int)width, u, half, v, half, (int)width, (int)height);
    return r == 0 ? 0 : CQ_EINVAL;
}

/* Points img and its writable planes at p, an I420 picture of width x height. Returns the
 * bytes it takes. */
static size_t i420_layout(uint8_t *p, unsigned width, unsigned height, uint8_t *plane[3],
                          cq_i420_t *img) {
    size_t luma = (size_t)width * height, chroma = (size_t)(width / 2) * (height / 2);
    if (p != NULL) {
        plane[0] = p;
        plane[1] = p + luma;
        plane[2] = p + luma + chroma;
        *img = (cq_i420_t){.width = width,
                           .height = height,
                           .plane = {plane[0], plane[1], plane[2]},
                           .stride = {(int)width, (int)width / 2, (int)width / 2}};
    }
    return luma + 2 * chroma;
}

/* Unmaps, stops and closes what open built; the poll handle is the caller's business. */
static void release_device(struct cq_v4l2 *c) {
    if (c->streaming) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        (void)xioctl(c, VIDIOC_STREAMOFF, &type);
        c->streaming = false;
    }
    for (unsigned i = 0; i < c->nbuffers; i++)
        if (c->buf[i].start != NULL)
            (void)c->sys->munmap(c->buf[i].start, c->buf[i].length);
    c->nbuffers = 0;
    if (c->fd >= 0)
        (void)c->sys->close(c->fd);
    c->fd = -1;
}

static void destroy(struct cq_v4l2 *c) {
    free(c->planes);
    free(c);
}

static void on_closed(uv_handle_t *h) {
    destroy((struct cq_v4l2 *)h);
}

static void stop(struct cq_v4l2 *c, int err) {
    uv_poll_stop(&c->poll);
    c->stats.stopped = true;
    c->stats.error = err;
}

static void requeue(struct cq_v4l2 *c, struct v4l2_buffer *b) {
    if (xioctl(c, VIDIOC_QBUF, b) < 0)
        c->stats.dequeue_errors++;
}

/* Converts (and scales) the frame in b, gives b back to the driver, then delivers. */
static void deliver(struct cq_v4l2 *c, struct v4l2_buffer *b) {
    uint64_t now = uv_hrtime() / 1000, capture_us = now;
    if ((b->flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
        b->timestamp.tv_sec >= 0 && b->timestamp.tv_usec >= 0 &&
        (b->timestamp.tv_sec > 0 || b->timestamp.tv_usec > 0)) {
        capture_us = (uint64_t)b->timestamp.tv_sec * 1000000u + (uint64_t)b->timestamp.tv_usec;
        if (capture_us > now) /* a frame cannot come from the future */
            capture_us = now;
    }

    const cq_i420_t *cap = &c->cap_img;
    size_t need = (size_t)c->bytesperline * (cap->height - 1) + 2 * (size_t)cap->width;
    int err = CQ_EIO;
    if ((b->flags & V4L2_BUF_FLAG_ERROR) == 0 && b->bytesused >= need &&
        b->bytesused <= c->buf[b->index].length)
        err = cq_v4l2_yuyv_to_i420(c->buf[b->index].start, (int)c->bytesperline, cap->width,
                                   cap->height, c->cap_plane[0], c->cap_plane[1], c->cap_plane[2]);
    requeue(c, b);
    const cq_i420_t *img = &c->view_img;
    if (err == 0 && c->out_plane[0] != NULL) {
        err = cq_scale_i420(img, c->out_plane[0], c->out_plane[1], c->out_plane[2], &c->out_img);
        img = &c->out_img;
    }
    if (err != 0) {
        c->stats.convert_errors++;
        return;
    }
    c->stats.frames++;
    c->on_picture(c->ctx, img, capture_us);
}

/*
 * The device is readable: take every frame that is ready, give all but the newest back
 * unseen, deliver the newest. Bounded by the number of buffers, since the driver cannot
 * have more frames ready than it has buffers.
 */
static void on_readable(uv_poll_t *h, int status, int events) {
    (void)events;
    struct cq_v4l2 *c = (struct cq_v4l2 *)h;
    if (c->closing)
        return;
    if (status < 0) { /* POLLERR: libuv has stopped the handle already */
        c->stats.dequeue_errors++;
        stop(c, CQ_EIO);
        return;
    }
    struct v4l2_buffer newest = {0};
    bool have = false, failed = false;
    for (unsigned i = 0; i < c->nbuffers; i++) {
        struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
        if (xioctl(c, VIDIOC_DQBUF, &b) < 0) {
            if (errno == EAGAIN)
                break;
            c->stats.dequeue_errors++;
            failed = true;
            if (errno == ENODEV) { /* unplugged */
                stop(c, CQ_ENOENT);
                return;
            }
            break;
        }
        if (b.index >= c->nbuffers) { /* not one of ours: the driver is confused */
            c->stats.dequeue_errors++;
            failed = true;
            continue;
        }
        if (have) {
            requeue(c, &newest);
            c->stats.skipped++;
        }
        newest = b;
        have = true;
    }
    if (!have) {
        if (failed && ++c->failed_wakeups >= MAX_FAILED_WAKEUPS)
            stop(c, CQ_EIO);
        return;
    }
    c->failed_wakeups = 0;
    deliver(c, &newest);
}

static int open_errno(int e) {
    switch (e) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return CQ_ENOENT;
    case EACCES:
    case EPERM:
        return CQ_EACCES;
    case EISDIR:
        return CQ_ENOTSUP;
    default:
        return CQ_EIO;
    }
}

static const char *open_reason(int e) {
    switch (e) {
    case ENOENT:
        return "no such device";
    case ENODEV:
    case ENXIO:
        return "no such device (its driver is not there)";
    case EACCES:
    case EPERM:
        return "permission denied (is the user in the \"video\" group?)";
    case EISDIR:
        return "a directory, not a camera";
    default:
        return strerror(e);
    }
}

/* Checks that the device is a single-planar video capture device with streaming I/O. */
static int check_caps(struct cq_v4l2 *c, const char *device, char *msg, size_t msg_len) {
    struct v4l2_capability cap;
    memset(&cap, 0, sizeof cap);
    if (xioctl(c, VIDIOC_QUERYCAP, &cap) < 0) {
        if (errno == ENOTTY || errno == EINVAL)
            return say(msg, msg_len, CQ_ENOTSUP, device, "not a V4L2 device");
        return say(msg, msg_len, CQ_EIO, device, "VIDIOC_QUERYCAP: %s", strerror(errno));
    }
    /* A driver with several nodes describes the node in device_caps, the whole device in
     * capabilities: a webcam's metadata node says "video capture" only in the latter. */
    uint32_t caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
    if ((caps & V4L2_CAP_VIDEO_CAPTURE) == 0) {
        if (caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE)
            return say(msg, msg_len, CQ_ENOTSUP, device,
                       "multi-planar capture only, which chasqui does not support");
        return say(msg, msg_len, CQ_ENOTSUP, device, "not a camera (no video capture capability)");
    }
    if ((caps & V4L2_CAP_STREAMING) == 0)
        return say(msg, msg_len, CQ_ENOTSUP, device, "the camera cannot stream (no streaming I/O)");
    return 0;
}

/* Asks for YUYV at width x height and keeps what the driver chose. */
static int set_format(struct cq_v4l2 *c, const char *device, unsigned width, unsigned height,
                      char *msg, size_t msg_len) {
    struct v4l2_format f;
    memset(&f, 0, sizeof f);
    f.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    f.fmt.pix.width = width;
    f.fmt.pix.height = height;
    f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
    f.fmt.pix.field = V4L2_FIELD_NONE;
    if (xioctl(c, VIDIOC_S_FMT, &f) < 0) {
        if (errno == EBUSY)
            return say(msg, msg_len, CQ_EIO, device, "busy (another program is using the camera)");
        return say(msg, msg_len, CQ_EIO, device, "VIDIOC_S_FMT: %s", strerror(errno));
    }
    /* A driver that has no YUYV answers with a format it has. */
    uint32_t fourcc = f.fmt.pix.pixelformat;
    if (fourcc != V4L2_PIX_FMT_YUYV) {
        char s[5];
        for (int i = 0; i < 4; i++) {
            char ch = (char)((fourcc >> (8 * i)) & 0xff);
            s[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
        }
        s[4] = '\0';
        return say(msg, msg_len, CQ_ENOTSUP, device, "the camera offers no YUYV (it offered %s)",
                   s);
    }
    unsigned w = f.fmt.pix.width, h = f.fmt.pix.height;
    if (w == 0 || h == 0 || w % 2 != 0 || h % 2 != 0 || w > CQ_V4L2_MAX_SIDE ||
        h > CQ_V4L2_MAX_SIDE)
        return say(msg, msg_len, CQ_ENOTSUP, device, "the camera chose an unusable size %ux%u", w,
                   h);
    /* Some drivers leave bytesperline at 0 for packed formats: the rows are then tight. */
    unsigned bpl = f.fmt.pix.bytesperline;
    if (bpl < 2 * w)
        bpl = 2 * w;
    if (bpl > INT_MAX / 2 || (uint64_t)bpl * h > UINT32_MAX)
        return say(msg, msg_len, CQ_EIO, device, "the driver gave %u bytes per row", bpl);
    c->bytesperline = bpl;
    c->stats.width = w;
    c->stats.height = h;
    return 0;
}

/* Best effort: asks for fps and reads back the rate the driver keeps (0 when it does not
 * say). */
static void set_rate(struct cq_v4l2 *c, unsigned fps) {
    struct v4l2_streamparm p;
    memset(&p, 0, sizeof p);
    p.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c, VIDIOC_G_PARM, &p) < 0)
        return;
    if (p.parm.capture.capability & V4L2_CAP_TIMEPERFRAME) {
        struct v4l2_streamparm s;
        memset(&s, 0, sizeof s);
        s.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        s.parm.capture.timeperframe.numerator = 1;
        s.parm.capture.timeperframe.denominator = fps;
        if (xioctl(c, VIDIOC_S_PARM, &s) == 0)
            p = s;
    }
    struct v4l2_fract t = p.parm.capture.timeperframe;
    if (t.numerator != 0 && t.denominator != 0)
        c->stats.fps = (unsigned)(((uint64_t)t.denominator + t.numerator / 2) / t.numerator);
}

/* Asks for BUFFERS_ASKED buffers, maps them and queues them. */
static int map_buffers(struct cq_v4l2 *c, const char *device, char *msg, size_t msg_len) {
    struct v4l2_requestbuffers rb;
    memset(&rb, 0, sizeof rb);
    rb.count = BUFFERS_ASKED;
    rb.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    rb.memory = V4L2_MEMORY_MMAP;
    if (xioctl(c, VIDIOC_REQBUFS, &rb) < 0) {
        if (errno == EINVAL)
            return say(msg, msg_len, CQ_ENOTSUP, device,
                       "the camera cannot stream to memory-mapped buffers");
        if (errno == EBUSY)
            return say(msg, msg_len, CQ_EIO, device, "busy (another program is using the camera)");
        return say(msg, msg_len, CQ_EIO, device, "VIDIOC_REQBUFS: %s", strerror(errno));
    }
    if (rb.count < MIN_BUFFERS)
        return say(msg, msg_len, CQ_EIO, device, "the driver gave %u buffers, %d needed", rb.count,
                   MIN_BUFFERS);
    unsigned n = rb.count < MAX_BUFFERS ? rb.count : MAX_BUFFERS;
    size_t need = (size_t)c->bytesperline * c->stats.height;
    for (unsigned i = 0; i < n; i++) {
        struct v4l2_buffer b = {
            .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = i};
        if (xioctl(c, VIDIOC_QUERYBUF, &b) < 0)
            return say(msg, msg_len, CQ_EIO, device, "VIDIOC_QUERYBUF: %s", strerror(errno));
        if (b.length < need)
            return say(msg, msg_len, CQ_EIO, device,
                       "the driver's buffers (%u bytes) are too small for a frame (%zu)", b.length,
                       need);
        void *p = c->sys->mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd,
                               (off_t)b.m.offset);
        if (p == MAP_FAILED)
            return say(msg, msg_len, CQ_EIO, device, "mmap: %s", strerror(errno));
        c->buf[i] = (struct buffer){.start = p, .length = b.length};
        c->nbuffers = i + 1;
        if (xioctl(c, VIDIOC_QBUF, &b) < 0)
            return say(msg, msg_len, CQ_EIO, device, "VIDIOC_QBUF: %s", strerror(errno));
    }
    c->stats.buffers = c->nbuffers;
    return 0;
}

/*
 * The I420 planes at the driver's size; the window on them at the aspect ratio asked (the
 * centre of a 4:3 camera's picture for 16:9, rather than squashed faces); and, when that
 * window is not the size asked, the planes it is scaled into.
 */
static int alloc_planes(struct cq_v4l2 *c, unsigned width, unsigned height) {
    unsigned w = c->stats.width, h = c->stats.height;
    unsigned vw = w, vh = h; /* even, so the window starts and ends on whole chroma samples */
    if ((uint64_t)w * height > (uint64_t)width * h)
        vw = (unsigned)((uint64_t)h * width / height) & ~1u;
    else
        vh = (unsigned)((uint64_t)w * height / width) & ~1u;
    if (vw < 2)
        vw = 2;
    if (vh < 2)
        vh = 2;
    bool scaled = vw != width || vh != height;
    size_t cap = i420_layout(NULL, w, h, NULL, NULL);
    size_t out = scaled ? i420_layout(NULL, width, height, NULL, NULL) : 0;
    c->planes = malloc(cap + out);
    if (c->planes == NULL)
        return CQ_ENOMEM;
    i420_layout(c->planes, w, h, c->cap_plane, &c->cap_img);
    if (scaled)
        i420_layout(c->planes + cap, width, height, c->out_plane, &c->out_img);
    size_t x = ((w - vw) / 2) & ~1u, y = ((h - vh) / 2) & ~1u;
    const cq_i420_t *cap_img = &c->cap_img;
    c->view_img =
        (cq_i420_t){.width = vw,
                    .height = vh,
                    .plane = {cap_img->plane[0] + y * (size_t)cap_img->stride[0] + x,
                              cap_img->plane[1] + y / 2 * (size_t)cap_img->stride[1] + x / 2,
                              cap_img->plane[2] + y / 2 * (size_t)cap_img->stride[2] + x / 2},
                    .stride = {cap_img->stride[0], cap_img->stride[1], cap_img->stride[2]}};
    return 0;
}

int cq_v4l2_open_sys(const cq_v4l2_sys_t *sys, struct cq_v4l2 **out, uv_loop_t *loop,
                     const char *device, unsigned width, unsigned height, unsigned fps,
                     cq_v4l2_picture_cb on_picture, void *ctx, char *msg, size_t msg_len) {
    if (sys == NULL || out == NULL || loop == NULL || device == NULL || on_picture == NULL)
        return say(msg, msg_len, CQ_EINVAL, device, "invalid argument");
    if (width == 0 || height == 0 || width % 2 != 0 || height % 2 != 0 ||
        width > CQ_V4L2_MAX_SIDE || height > CQ_V4L2_MAX_SIDE)
        return say(msg, msg_len, CQ_EINVAL, device, "invalid picture size %ux%u", width, height);
    if (fps == 0 || fps > MAX_FPS)
        return say(msg, msg_len, CQ_EINVAL, device, "invalid frame rate %u", fps);
    *out = NULL;

    struct cq_v4l2 *c = calloc(1, sizeof *c);
    if (c == NULL)
        return say(msg, msg_len, CQ_ENOMEM, device, "out of memory");
    c->sys = sys;
    c->on_picture = on_picture;
    c->ctx = ctx;
    c->fd = sys->open(device, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    int err;
    if (c->fd < 0) {
        int e = errno;
        err = say(msg, msg_len, open_errno(e), device, "%s", open_reason(e));
        goto fail;
    }
    if ((err = check_caps(c, device, msg, msg_len)) != 0 ||
        (err = set_format(c, device, width, height, msg, msg_len)) != 0)
        goto fail;
    set_rate(c, fps);
    if ((err = map_buffers(c, device, msg, msg_len)) != 0)
        goto fail;
    if ((err = alloc_planes(c, width, height)) != 0) {
        say(msg, msg_len, err, device, "out of memory");
        goto fail;
    }
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(c, VIDIOC_STREAMON, &type) < 0) {
        /* ENOSPC: the USB bus has no bandwidth left for this size and rate. */
        int e = errno;
        err = say(msg, msg_len, CQ_EIO, device, "cannot start capture: %s%s", strerror(e),
                  e == ENOSPC ? " (USB bandwidth: try a smaller size or another port)" : "");
        goto fail;
    }
    c->streaming = true;
    /* uv_poll_init fails before it adds the handle to the loop. */
    if ((err = uv_poll_init(loop, &c->poll, c->fd)) != 0) {
        say(msg, msg_len, CQ_EIO, device, "cannot watch the device: %s", uv_strerror(err));
        err = CQ_EIO;
        goto fail;
    }
    if ((err = uv_poll_start(&c->poll, UV_READABLE, on_readable)) != 0) {
        say(msg, msg_len, CQ_EIO, device, "cannot watch the device: %s", uv_strerror(err));
        release_device(c);
        c->closing = true;
        uv_close((uv_handle_t *)&c->poll, on_closed);
        return CQ_EIO;
    }
    *out = c;
    return 0;

fail:
    release_device(c);
    destroy(c);
    return err;
}

int cq_v4l2_open(struct cq_v4l2 **out, uv_loop_t *loop, const char *device, unsigned width,
                 unsigned height, unsigned fps, cq_v4l2_picture_cb on_picture, void *ctx, char *msg,
                 size_t msg_len) {
    return cq_v4l2_open_sys(&kernel, out, loop, device, width, height, fps, on_picture, ctx, msg,
                            msg_len);
}

void cq_v4l2_close(struct cq_v4l2 *c) {
    if (c == NULL || c->closing)
        return;
    c->closing = true;
    /* The fd leaves epoll before it is closed, as libuv asks. */
    uv_poll_stop(&c->poll);
    release_device(c);
    uv_close((uv_handle_t *)&c->poll, on_closed);
}

void cq_v4l2_stats(const struct cq_v4l2 *c, cq_v4l2_stats_t *out) {
    *out = c->stats;
}
