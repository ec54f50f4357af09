/*
 * A V4L2 camera as a picture source for the telecentre client, on the client's libuv loop
 * (one thread, no capture thread): the device's fd is watched with a uv_poll_t, and each
 * time a frame is ready it is taken from the driver (VIDIOC_DQBUF on memory-mapped
 * buffers), converted from YUYV to I420, given back to the driver (VIDIOC_QBUF) and handed
 * to on_picture. When the driver could not give the size that was asked, its picture is
 * cropped to the aspect ratio asked (keeping the centre: a 4:3 camera asked for 16:9 loses
 * a band at the top and bottom rather than squashing faces) and scaled to the size asked
 * with libyuv's box filter (codec/scale.h).
 *
 * YUYV (4:2:2, packed) is the one format asked for: nearly every UVC webcam offers it, and
 * it needs no decoder. MJPEG would give higher frame rates at 720p over USB 2, but the
 * telecentre's largest layer is 640x360 (codec/scale.h), which YUYV carries at 30 fps.
 *
 * When the loop falls behind (a slow encode on a 2-core PC), several frames wait in the
 * driver; only the newest is converted and delivered, and the older ones go straight back
 * to the driver (counted as skipped). A videoconference wants the freshest picture, not
 * every picture late.
 *
 * Nothing is allocated per frame: the I420 planes (and the scaled ones) are made at open.
 * One exception is libyuv's: scaling by a ratio other than the ones it has special rows for
 * (1/2, 1/4, 3/4, 3/8; measured with libyuv 1857) mallocs a row buffer per plane inside
 * I420Scale, e.g. a 960x540 camera for 640x360. A driver size at the asked width or height
 * (640x480 for 640x360) is only cropped, and scales nothing.
 */
#ifndef CQ_CLIENT_V4L2_H
#define CQ_CLIENT_V4L2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "codec/vp8_codec.h"

struct cq_v4l2;

/* Largest picture side, asked or given by a driver. */
#define CQ_V4L2_MAX_SIDE 4096

/*
 * Called on the loop's thread with each picture, exactly width x height as asked. img and
 * its planes are the source's, valid only during the call. capture_us is when the frame
 * was captured on CLOCK_MONOTONIC in microseconds, the clock of uv_hrtime() / 1000: the
 * driver's timestamp when it says the timestamp is monotonic, else the time the frame was
 * taken from the driver. The callback may call cq_v4l2_close().
 */
typedef void (*cq_v4l2_picture_cb)(void *ctx, const cq_i420_t *img, uint64_t capture_us);

/*
 * Opens the camera at device (e.g. "/dev/video0") and starts capturing. width and height
 * are what on_picture will get (even, 2..CQ_V4L2_MAX_SIDE); the driver is asked for that
 * size, and whatever it chooses instead (the closest it has) is cropped and scaled to it.
 * fps (1..120) is asked of the driver too, best effort: drivers that cannot set it capture
 * at their own rate.
 *
 * On failure, when msg is not NULL, a line for the user naming the device is written to
 * msg (msg_len bytes at most, always terminated), e.g. "/dev/video1: not a camera (no video
 * capture capability)"; on success msg is left alone.
 *
 * Returns 0 and *out (freed by cq_v4l2_close()), or:
 *   CQ_EINVAL   an argument (size, fps, NULL callback);
 *   CQ_ENOENT   no such device (no such file, or a device node without its driver: ENODEV,
 *               ENXIO);
 *   CQ_EACCES   permission denied (the user is not in the "video" group);
 *   CQ_ENOTSUP  not a V4L2 device (e.g. /dev/null, a regular file, a directory), not a video
 *               capture device with streaming I/O (e.g. a UVC metadata node), or no YUYV;
 *   CQ_ENOMEM   out of memory;
 *   CQ_EIO      anything else the driver or libuv refused (busy, buffers, streaming).
 * Nothing is left behind on failure: the fd is closed and the buffers are unmapped, and no
 * handle is left on the loop (but for libuv refusing to start a poll handle it had just
 * accepted: that one is freed once the loop runs).
 */
int cq_v4l2_open(struct cq_v4l2 **out, uv_loop_t *loop, const char *device, unsigned width,
                 unsigned height, unsigned fps, cq_v4l2_picture_cb on_picture, void *ctx, char *msg,
                 size_t msg_len);

/*
 * Stops capturing (VIDIOC_STREAMOFF), unmaps the buffers and closes the device at once;
 * the object itself is freed once libuv has closed its poll handle (run the loop). No
 * picture is delivered after this. NULL is fine.
 */
void cq_v4l2_close(struct cq_v4l2 *c);

typedef struct {
    /* What was negotiated: the driver's capture size (pictures are cropped and scaled from
     * it when it is not the size asked) and frame rate (0 when the driver does not say). */
    unsigned width, height, fps;
    unsigned buffers;        /* mapped driver buffers */
    uint64_t frames;         /* pictures delivered */
    uint64_t skipped;        /* frames given back unseen because a newer one was ready */
    uint64_t dequeue_errors; /* VIDIOC_DQBUF / VIDIOC_QBUF failures, poll errors */
    uint64_t convert_errors; /* frames the driver marked bad, short buffers, libyuv refusals */
    /* Capture stopped after the device failed or went away (unplugged): error says why
     * (a CQ_E* code). The program should close this source and tell the user. */
    bool stopped;
    int error;
} cq_v4l2_stats_t;

void cq_v4l2_stats(const struct cq_v4l2 *c, cq_v4l2_stats_t *out);

/*
 * Converts one YUYV picture (Y0 U Y1 V for each pair of pixels, stride bytes from a row to
 * the next) to I420 planes y (stride width), u and v (stride width / 2): luma is copied,
 * chroma is averaged over each pair of rows, rounding up (libyuv's YUY2ToI420). width and
 * height must be even, 2..CQ_V4L2_MAX_SIDE, and stride at least 2 * width. Returns 0 or
 * CQ_EINVAL.
 */
int cq_v4l2_yuyv_to_i420(const uint8_t *yuyv, int stride, unsigned width, unsigned height,
                         uint8_t *y, uint8_t *u, uint8_t *v);

/*
 * The system calls the source makes, so a test can stand in for the kernel's driver (no
 * camera, and no v4l2loopback, on build machines). Each behaves like its libc namesake:
 * -1 (MAP_FAILED for mmap) with errno set on failure. The fd that open returns must be one
 * epoll can watch. Production code uses cq_v4l2_open(), which calls the real ones.
 */
typedef struct {
    int (*open)(const char *path, int flags);
    int (*close)(int fd);
    int (*ioctl)(int fd, unsigned long request, void *arg);
    void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t offset);
    int (*munmap)(void *addr, size_t len);
} cq_v4l2_sys_t;

/* cq_v4l2_open() over sys (borrowed: it must outlive the source). */
int cq_v4l2_open_sys(const cq_v4l2_sys_t *sys, struct cq_v4l2 **out, uv_loop_t *loop,
                     const char *device, unsigned width, unsigned height, unsigned fps,
                     cq_v4l2_picture_cb on_picture, void *ctx, char *msg, size_t msg_len);

#endif
