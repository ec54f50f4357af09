/*
 * The V4L2 camera source. The YUYV to I420 conversion is checked on pictures whose I420 is
 * worked out by hand (luma copied, chroma of each pair of rows averaged rounding up, as
 * libyuv's YUY2ToI420 does). Opening is checked against real paths that are not cameras
 * (a missing one, /dev/null, a regular file, a directory).
 *
 * This machine has no camera and cannot load v4l2loopback, so the capture path runs
 * against a fake driver behind the source's system-call seam (cq_v4l2_open_sys): it
 * answers the ioctls as the V4L2 API describes them, hands out plain memory as the mapped
 * buffers, and stands for the device's fd with an eventfd that is readable while a frame
 * waits. What that checks is the source's use of the API as documented, not a real driver.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/videodev2.h>
#include <uv.h>

#include "client/v4l2.h"
#include "rtp/error.h"

#include "support/alloc_count.h"

/* ---- The conversion ---- */

/* The reference: luma copied, chroma of rows 2r and 2r+1 averaged, rounding up. */
static void reference_i420(const uint8_t *yuyv, size_t stride, unsigned w, unsigned h, uint8_t *y,
                           uint8_t *u, uint8_t *v) {
    for (unsigned r = 0; r < h; r++)
        for (unsigned x = 0; x < w; x++)
            y[r * w + x] = yuyv[r * stride + 2 * x];
    for (unsigned r = 0; r < h / 2; r++)
        for (unsigned x = 0; x < w / 2; x++) {
            const uint8_t *a = yuyv + 2 * r * stride + 4 * x, *b = a + stride;
            u[r * (w / 2) + x] = (uint8_t)((a[1] + b[1] + 1) >> 1);
            v[r * (w / 2) + x] = (uint8_t)((a[3] + b[3] + 1) >> 1);
        }
}

/* 4x2, worked out by hand. Both chroma pairs of the first column have odd sums, so
 * truncating instead of rounding up would give 101 and 200. */
static void test_v4l2_yuyv_to_i420_by_hand(void **state) {
    (void)state;
    /* Rows of Y0 U Y1 V Y2 U Y3 V, then 4 bytes of padding (stride 12). */
    static const uint8_t yuyv[2 * 12] = {
        16, 100, 17, 200, 18, 50, 19, 60, 0xee, 0xee, 0xee, 0xee, /* row 0 */
        32, 103, 33, 201, 34, 51, 35, 70, 0xee, 0xee, 0xee, 0xee, /* row 1 */
    };
    uint8_t y[8], u[2], v[2];
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 12, 4, 2, y, u, v), 0);
    static const uint8_t want_y[8] = {16, 17, 18, 19, 32, 33, 34, 35};
    assert_memory_equal(y, want_y, 8);
    assert_int_equal(u[0], 102); /* (100 + 103 + 1) / 2 */
    assert_int_equal(u[1], 51);  /* (50 + 51 + 1) / 2 */
    assert_int_equal(v[0], 201); /* (200 + 201 + 1) / 2 */
    assert_int_equal(v[1], 65);  /* (60 + 70 + 1) / 2 */
}

/* Wide enough for libyuv's SIMD rows (and a tail they leave to C), with padding between
 * rows: the same as the reference, byte for byte. */
static void test_v4l2_yuyv_to_i420_matches_reference(void **state) {
    (void)state;
    enum { W = 70, H = 6, STRIDE = 2 * W + 20 };
    uint8_t *yuyv = malloc(STRIDE * H);
    uint8_t *y = malloc(W * H), *u = malloc(W / 2 * H / 2), *v = malloc(W / 2 * H / 2);
    uint8_t ry[W * H], ru[W / 2 * H / 2], rv[W / 2 * H / 2];
    assert_non_null(yuyv);
    assert_non_null(y);
    assert_non_null(u);
    assert_non_null(v);
    uint32_t seed = 12345;
    for (size_t i = 0; i < STRIDE * H; i++) {
        seed = seed * 1103515245u + 12345u;
        yuyv[i] = (uint8_t)(seed >> 16);
    }
    reference_i420(yuyv, STRIDE, W, H, ry, ru, rv);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, STRIDE, W, H, y, u, v), 0);
    assert_memory_equal(y, ry, sizeof ry);
    assert_memory_equal(u, ru, sizeof ru);
    assert_memory_equal(v, rv, sizeof rv);
    free(yuyv);
    free(y);
    free(u);
    free(v);
}

/* Zero, odd, too large, a stride shorter than a row, NULL planes: refused, nothing written. */
static void test_v4l2_yuyv_to_i420_refuses(void **state) {
    (void)state;
    static uint8_t yuyv[8 * 4 * 2];
    uint8_t y[64], u[16], v[16];
    memset(y, 0xaa, sizeof y);
    memset(u, 0xaa, sizeof u);
    memset(v, 0xaa, sizeof v);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 8, 0, 2, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 8, 4, 0, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 8, 3, 2, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 8, 4, 3, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 7, 4, 2, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, -8, 4, 2, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 2 * 4098, 4098, 2, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(NULL, 8, 4, 2, y, u, v), CQ_EINVAL);
    assert_int_equal(cq_v4l2_yuyv_to_i420(yuyv, 8, 4, 2, y, NULL, v), CQ_EINVAL);
    for (size_t i = 0; i < sizeof y; i++)
        assert_int_equal(y[i], 0xaa);
    for (size_t i = 0; i < sizeof u; i++) {
        assert_int_equal(u[i], 0xaa);
        assert_int_equal(v[i], 0xaa);
    }
}

/* ---- Opening real paths that are not cameras ---- */

static unsigned pictures;

static void on_picture_none(void *ctx, const cq_i420_t *img, uint64_t capture_us) {
    (void)ctx;
    (void)img;
    (void)capture_us;
    pictures++;
}

/* The lowest free fd: the same before and after a failed open, or the open leaked one. */
static int lowest_free_fd(void) {
    int fd = dup(2);
    assert_true(fd >= 0);
    close(fd);
    return fd;
}

/* Opens path for real and expects err, a message starting with the path and containing
 * what, no fd left open and no handle on the loop. */
static void expect_open_fails(const char *path, int err, const char *what) {
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    int fd = lowest_free_fd();
    struct cq_v4l2 *cam = (struct cq_v4l2 *)&loop; /* anything but NULL */
    char msg[160];
    assert_int_equal(
        cq_v4l2_open(&cam, &loop, path, 640, 360, 15, on_picture_none, NULL, msg, sizeof msg), err);
    assert_null(cam);
    assert_int_equal(strncmp(msg, path, strlen(path)), 0);
    assert_int_equal(msg[strlen(path)], ':');
    assert_non_null(strstr(msg, what));
    assert_int_equal(lowest_free_fd(), fd);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_v4l2_open_missing_device(void **state) {
    (void)state;
    expect_open_fails("/dev/chasqui-no-such-video9", CQ_ENOENT, "no such device");
}

static void test_v4l2_open_not_a_camera(void **state) {
    (void)state;
    expect_open_fails("/dev/null", CQ_ENOTSUP, "not a V4L2 device");
    char path[] = "/tmp/chasqui-v4l2-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "YUYV", 4), 4);
    close(fd);
    expect_open_fails(path, CQ_ENOTSUP, "not a V4L2 device");
    unlink(path);
    expect_open_fails("/tmp", CQ_ENOTSUP, "a directory");
}

/* Bad arguments are refused before anything is opened; a short message buffer is cut and
 * terminated; NULL is fine. */
static void test_v4l2_open_invalid(void **state) {
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam = NULL;
    char msg[96];
    assert_int_equal(cq_v4l2_open(&cam, &loop, "/dev/null", 641, 360, 15, on_picture_none, NULL,
                                  msg, sizeof msg),
                     CQ_EINVAL);
    assert_non_null(strstr(msg, "641x360"));
    assert_int_equal(
        cq_v4l2_open(&cam, &loop, "/dev/null", 640, 0, 15, on_picture_none, NULL, NULL, 0),
        CQ_EINVAL);
    assert_int_equal(
        cq_v4l2_open(&cam, &loop, "/dev/null", 8192, 360, 15, on_picture_none, NULL, NULL, 0),
        CQ_EINVAL);
    assert_int_equal(
        cq_v4l2_open(&cam, &loop, "/dev/null", 640, 360, 0, on_picture_none, NULL, NULL, 0),
        CQ_EINVAL);
    assert_int_equal(
        cq_v4l2_open(&cam, &loop, "/dev/null", 640, 360, 121, on_picture_none, NULL, NULL, 0),
        CQ_EINVAL);
    assert_int_equal(cq_v4l2_open(&cam, &loop, "/dev/null", 640, 360, 15, NULL, NULL, NULL, 0),
                     CQ_EINVAL);
    char small[8];
    memset(small, 'x', sizeof small);
    assert_int_equal(cq_v4l2_open(&cam, &loop, "/dev/chasqui-none", 640, 360, 15, on_picture_none,
                                  NULL, small, sizeof small),
                     CQ_ENOENT);
    assert_string_equal(small, "/dev/ch");
    assert_null(cam);
    cq_v4l2_close(NULL);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- A fake driver ---- */

#define FAKE_MAX 8
#define PAGE     4096
enum { B_OURS, B_QUEUED, B_DONE, B_USER };

static struct fake {
    int fd; /* eventfd: readable while a frame waits */
    unsigned opens, closes, ioctls_on_closed;
    int open_errno;
    uint32_t capabilities, device_caps;
    uint32_t fourcc;           /* what S_FMT answers */
    unsigned w, h, bpl;        /* what S_FMT gives (0: the size asked, tight rows) */
    unsigned asked_w, asked_h; /* what S_FMT was asked */
    uint32_t asked_fourcc;
    bool timeperframe;         /* the driver can set the rate */
    struct v4l2_fract tpf;     /* the rate it has, or keeps after S_PARM */
    unsigned asked_fps;        /* what S_PARM asked */
    unsigned nbuf, asked_nbuf; /* buffers REQBUFS gives and was asked for */
    size_t len;                /* bytes per buffer (0: bpl * h) */
    unsigned long fail_req;    /* an ioctl that fails with fail_errno */
    int fail_errno;
    int mmap_fail_at; /* the buffer whose mmap fails, or -1 */
    int dqbuf_errno;  /* DQBUF fails with it */
    uint8_t *mem[FAKE_MAX];
    bool mapped[FAKE_MAX];
    int state[FAKE_MAX];
    uint64_t seq, done_seq[FAKE_MAX];
    struct timeval ts[FAKE_MAX];
    uint32_t flags[FAKE_MAX], used[FAKE_MAX];
    bool streaming;
    unsigned streamons, streamoffs;
} F;

static void fake_reset(void) {
    for (unsigned i = 0; i < FAKE_MAX; i++)
        free(F.mem[i]);
    memset(&F, 0, sizeof F);
    F.fd = -1;
    F.capabilities = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING | V4L2_CAP_DEVICE_CAPS;
    F.device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
    F.fourcc = V4L2_PIX_FMT_YUYV;
    F.timeperframe = true;
    F.nbuf = 4;
    F.mmap_fail_at = -1;
}

static int fail_with(int e) {
    errno = e;
    return -1;
}

static int fake_open(const char *path, int flags) {
    (void)path;
    assert_true(flags & O_NONBLOCK);
    assert_int_equal(flags & O_ACCMODE, O_RDWR);
    if (F.open_errno != 0)
        return fail_with(F.open_errno);
    F.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    assert_true(F.fd >= 0);
    F.opens++;
    return F.fd;
}

static int fake_close(int fd) {
    assert_int_equal(fd, F.fd);
    F.closes++;
    close(fd);
    F.fd = -1;
    return 0;
}

static unsigned fake_w(void) {
    return F.w != 0 ? F.w : F.asked_w;
}

static unsigned fake_h(void) {
    return F.h != 0 ? F.h : F.asked_h;
}

static unsigned fake_bpl(void) {
    return F.bpl != 0 ? F.bpl : 2 * fake_w();
}

static size_t fake_len(void) {
    return F.len != 0 ? F.len : (size_t)fake_bpl() * fake_h();
}

static int fake_dqbuf(struct v4l2_buffer *b) {
    if (F.dqbuf_errno != 0)
        return fail_with(F.dqbuf_errno);
    int oldest = -1;
    for (unsigned i = 0; i < F.nbuf; i++)
        if (F.state[i] == B_DONE && (oldest < 0 || F.done_seq[i] < F.done_seq[oldest]))
            oldest = (int)i;
    if (oldest < 0)
        return fail_with(EAGAIN);
    unsigned i = (unsigned)oldest;
    F.state[i] = B_USER;
    b->index = i;
    b->bytesused = F.used[i];
    b->flags = F.flags[i];
    b->timestamp = F.ts[i];
    b->length = (uint32_t)fake_len();
    bool more = false;
    for (unsigned k = 0; k < F.nbuf; k++)
        more = more || F.state[k] == B_DONE;
    if (!more) {
        uint64_t n;
        assert_int_equal(read(F.fd, &n, sizeof n), (ssize_t)sizeof n);
    }
    return 0;
}

static int fake_ioctl(int fd, unsigned long request, void *arg) {
    if (fd < 0 || fd != F.fd) {
        F.ioctls_on_closed++;
        return fail_with(EBADF);
    }
    if (F.fail_req != 0 && request == F.fail_req)
        return fail_with(F.fail_errno);
    switch (request) {
    case VIDIOC_QUERYCAP: {
        struct v4l2_capability *cap = arg;
        memset(cap, 0, sizeof *cap);
        memcpy(cap->driver, "fake", 5);
        cap->capabilities = F.capabilities;
        cap->device_caps = F.device_caps;
        return 0;
    }
    case VIDIOC_S_FMT: {
        struct v4l2_format *f = arg;
        assert_int_equal(f->type, V4L2_BUF_TYPE_VIDEO_CAPTURE);
        F.asked_w = f->fmt.pix.width;
        F.asked_h = f->fmt.pix.height;
        F.asked_fourcc = f->fmt.pix.pixelformat;
        f->fmt.pix.pixelformat = F.fourcc;
        f->fmt.pix.width = fake_w();
        f->fmt.pix.height = fake_h();
        f->fmt.pix.bytesperline = fake_bpl();
        f->fmt.pix.sizeimage = fake_bpl() * fake_h();
        f->fmt.pix.field = V4L2_FIELD_NONE;
        return 0;
    }
    case VIDIOC_G_PARM: {
        struct v4l2_streamparm *p = arg;
        assert_int_equal(p->type, V4L2_BUF_TYPE_VIDEO_CAPTURE);
        memset(&p->parm, 0, sizeof p->parm);
        p->parm.capture.capability = F.timeperframe ? V4L2_CAP_TIMEPERFRAME : 0;
        p->parm.capture.timeperframe = F.tpf;
        return 0;
    }
    case VIDIOC_S_PARM: {
        struct v4l2_streamparm *p = arg;
        if (!F.timeperframe)
            return fail_with(EINVAL);
        struct v4l2_fract t = p->parm.capture.timeperframe;
        F.asked_fps = t.numerator != 0 ? t.denominator / t.numerator : 0;
        memset(&p->parm, 0, sizeof p->parm);
        p->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        p->parm.capture.timeperframe = F.tpf.denominator != 0 ? F.tpf : t;
        return 0;
    }
    case VIDIOC_REQBUFS: {
        struct v4l2_requestbuffers *rb = arg;
        assert_int_equal(rb->memory, V4L2_MEMORY_MMAP);
        F.asked_nbuf = rb->count;
        rb->count = F.nbuf;
        for (unsigned i = 0; i < F.nbuf; i++) {
            F.mem[i] = malloc(fake_len());
            assert_non_null(F.mem[i]);
            F.state[i] = B_OURS;
        }
        return 0;
    }
    case VIDIOC_QUERYBUF: {
        struct v4l2_buffer *b = arg;
        if (b->index >= F.nbuf)
            return fail_with(EINVAL);
        b->length = (uint32_t)fake_len();
        b->m.offset = b->index * PAGE;
        return 0;
    }
    case VIDIOC_QBUF: {
        struct v4l2_buffer *b = arg;
        if (b->index >= F.nbuf || F.state[b->index] == B_QUEUED || F.state[b->index] == B_DONE)
            return fail_with(EINVAL);
        F.state[b->index] = B_QUEUED;
        return 0;
    }
    case VIDIOC_DQBUF:
        return fake_dqbuf(arg);
    case VIDIOC_STREAMON:
        F.streaming = true;
        F.streamons++;
        return 0;
    case VIDIOC_STREAMOFF:
        F.streaming = false;
        F.streamoffs++;
        for (unsigned i = 0; i < F.nbuf; i++)
            F.state[i] = B_OURS;
        return 0;
    default:
        return fail_with(ENOTTY);
    }
}

static void *fake_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset) {
    (void)addr;
    (void)prot;
    assert_int_equal(flags, MAP_SHARED);
    assert_int_equal(fd, F.fd);
    unsigned i = (unsigned)(offset / PAGE);
    assert_true(i < F.nbuf);
    assert_int_equal(len, fake_len());
    if ((int)i == F.mmap_fail_at) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    assert_false(F.mapped[i]);
    F.mapped[i] = true;
    return F.mem[i];
}

static int fake_munmap(void *addr, size_t len) {
    for (unsigned i = 0; i < F.nbuf; i++)
        if (F.mem[i] == addr) {
            assert_true(F.mapped[i]);
            assert_int_equal(len, fake_len());
            F.mapped[i] = false;
            return 0;
        }
    fail_msg("munmap of memory that was never mapped");
    return -1;
}

static const cq_v4l2_sys_t fake_sys = {
    .open = fake_open,
    .close = fake_close,
    .ioctl = fake_ioctl,
    .mmap = fake_mmap,
    .munmap = fake_munmap,
};

static unsigned mapped_count(void) {
    unsigned n = 0;
    for (unsigned i = 0; i < F.nbuf; i++)
        if (F.mapped[i])
            n++;
    return n;
}

static unsigned queued_count(void) {
    unsigned n = 0;
    for (unsigned i = 0; i < F.nbuf; i++)
        if (F.state[i] == B_QUEUED)
            n++;
    return n;
}

/* The luma and chroma the fake camera paints in frame k. */
typedef uint8_t (*paint_fn)(unsigned k, unsigned x, unsigned y, int plane);

static uint8_t paint_ramp(unsigned k, unsigned x, unsigned y, int plane) {
    if (plane == 0)
        return (uint8_t)(k * 37 + x * 3 + y * 11);
    return (uint8_t)(k * 5 + x * 7 + y * 13 + (plane == 2 ? 100u : 0u)); /* x: pair index */
}

/* Completes the oldest queued buffer with frame k: YUYV rows, padding 0xee, the given
 * flags and timestamp. Returns its index. */
static unsigned fake_fill(paint_fn paint, unsigned k, uint32_t flags, struct timeval ts) {
    int idx = -1;
    for (unsigned i = 0; i < F.nbuf && idx < 0; i++)
        if (F.state[i] == B_QUEUED)
            idx = (int)i;
    assert_true(idx >= 0);
    unsigned i = (unsigned)idx, w = fake_w(), h = fake_h(), bpl = fake_bpl();
    uint8_t *p = F.mem[i];
    memset(p, 0xee, fake_len());
    for (unsigned y = 0; y < h; y++)
        for (unsigned x = 0; x < w; x += 2) {
            uint8_t *q = p + (size_t)y * bpl + 2 * x;
            q[0] = paint(k, x, y, 0);
            q[1] = paint(k, x / 2, y, 1);
            q[2] = paint(k, x + 1, y, 0);
            q[3] = paint(k, x / 2, y, 2);
        }
    F.state[i] = B_DONE;
    F.done_seq[i] = ++F.seq;
    F.flags[i] = flags;
    F.ts[i] = ts;
    F.used[i] = (uint32_t)((size_t)bpl * h);
    uint64_t one = 1;
    assert_int_equal(write(F.fd, &one, sizeof one), (ssize_t)sizeof one);
    return i;
}

/* What the callback saw. */
#define SEEN_MAX (64 * 48)
static struct seen {
    unsigned count;
    unsigned width, height;
    uint64_t capture_us;
    uint8_t y[SEEN_MAX], u[SEEN_MAX / 4], v[SEEN_MAX / 4];
    unsigned queued_during; /* buffers the driver held during the call */
    struct cq_v4l2 *close_me;
} seen;

static void on_picture(void *ctx, const cq_i420_t *img, uint64_t capture_us) {
    assert_ptr_equal(ctx, &seen);
    seen.count++;
    seen.width = img->width;
    seen.height = img->height;
    seen.capture_us = capture_us;
    seen.queued_during = queued_count();
    assert_true((size_t)img->width * img->height <= SEEN_MAX);
    for (unsigned r = 0; r < img->height; r++)
        memcpy(seen.y + r * img->width, img->plane[0] + (size_t)r * (size_t)img->stride[0],
               img->width);
    for (unsigned r = 0; r < img->height / 2; r++) {
        memcpy(seen.u + r * (img->width / 2), img->plane[1] + (size_t)r * (size_t)img->stride[1],
               img->width / 2);
        memcpy(seen.v + r * (img->width / 2), img->plane[2] + (size_t)r * (size_t)img->stride[2],
               img->width / 2);
    }
    if (seen.close_me != NULL) {
        cq_v4l2_close(seen.close_me);
        seen.close_me = NULL;
    }
}

static int setup(void **state) {
    (void)state;
    fake_reset();
    memset(&seen, 0, sizeof seen);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    fake_reset();
    return 0;
}

/* Runs the loop without blocking until the callback has been called n times in all, at
 * most 50 turns. */
static void run_until_seen(uv_loop_t *loop, unsigned n) {
    for (int i = 0; i < 50 && seen.count < n; i++)
        uv_run(loop, UV_RUN_NOWAIT);
}

static struct timeval tv_of_us(uint64_t us) {
    return (struct timeval){.tv_sec = (time_t)(us / 1000000),
                            .tv_usec = (suseconds_t)(us % 1000000)};
}

static uint64_t now_us(void) {
    return uv_hrtime() / 1000;
}

/* Closes cam, checks the device was stopped, unmapped and closed, and that the loop ends
 * with nothing left on it. */
static void close_and_check(uv_loop_t *loop, struct cq_v4l2 *cam) {
    cq_v4l2_close(cam);
    assert_int_equal(F.streamoffs, 1);
    assert_int_equal(mapped_count(), 0);
    assert_int_equal(F.closes, 1);
    assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(F.ioctls_on_closed, 0);
    assert_int_equal(uv_loop_close(loop), 0);
}

/* The driver gives the size asked, with padded rows: what was negotiated, then each frame
 * delivered exactly as the reference converts it, with the driver's monotonic timestamp,
 * its buffer back with the driver before the callback. */
static void test_v4l2_capture_same_size(void **state) {
    (void)state;
    enum { W = 16, H = 8 };
    F.bpl = 2 * W + 8;
    F.tpf = (struct v4l2_fract){.numerator = 1, .denominator = 15};
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam;
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", W, H, 15, on_picture,
                                      &seen, NULL, 0),
                     0);
    assert_int_equal(F.asked_w, W);
    assert_int_equal(F.asked_h, H);
    assert_int_equal(F.asked_fourcc, V4L2_PIX_FMT_YUYV);
    assert_int_equal(F.asked_fps, 15);
    assert_int_equal(F.asked_nbuf, 4);
    assert_int_equal(F.streamons, 1);
    assert_int_equal(mapped_count(), 4);
    assert_int_equal(queued_count(), 4);
    cq_v4l2_stats_t st;
    cq_v4l2_stats(cam, &st);
    assert_int_equal(st.width, W);
    assert_int_equal(st.height, H);
    assert_int_equal(st.fps, 15);
    assert_int_equal(st.buffers, 4);
    assert_int_equal(st.frames, 0);
    assert_false(st.stopped);

    for (unsigned k = 1; k <= 3; k++) {
        uint64_t ts = now_us() - 5000 * k;
        unsigned idx = fake_fill(paint_ramp, k, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(ts));
        uint8_t ry[W * H], ru[W * H / 4], rv[W * H / 4];
        reference_i420(F.mem[idx], F.bpl, W, H, ry, ru, rv);
        run_until_seen(&loop, k);
        assert_int_equal(seen.count, k);
        assert_int_equal(seen.width, W);
        assert_int_equal(seen.height, H);
        assert_memory_equal(seen.y, ry, sizeof ry);
        assert_memory_equal(seen.u, ru, sizeof ru);
        assert_memory_equal(seen.v, rv, sizeof rv);
        assert_int_equal(seen.capture_us, ts);
        assert_int_equal(seen.queued_during, 4);
    }
    cq_v4l2_stats(cam, &st);
    assert_int_equal(st.frames, 3);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.dequeue_errors, 0);
    assert_int_equal(st.convert_errors, 0);
    close_and_check(&loop, cam);
}

/* Luma in 2x2 blocks and flat chroma: what libyuv's box filter gives at 2:1 is known. */
static uint8_t paint_blocks(unsigned k, unsigned x, unsigned y, int plane) {
    (void)k;
    if (plane == 0)
        return (uint8_t)(10 + 9 * (x / 2) + 40 * (y / 2));
    return plane == 1 ? 90 : 160;
}

/* A driver that offers only twice the size asked: the picture is scaled to the size asked,
 * 2x2 blocks becoming pixels. */
static void test_v4l2_capture_scaled(void **state) {
    (void)state;
    enum { W = 8, H = 4 };
    F.w = 2 * W;
    F.h = 2 * H;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam;
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", W, H, 15, on_picture,
                                      &seen, NULL, 0),
                     0);
    cq_v4l2_stats_t st;
    cq_v4l2_stats(cam, &st);
    assert_int_equal(st.width, 2 * W);
    assert_int_equal(st.height, 2 * H);
    fake_fill(paint_blocks, 0, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(now_us()));
    run_until_seen(&loop, 1);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.width, W);
    assert_int_equal(seen.height, H);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            assert_int_equal(seen.y[y * W + x], 10 + 9 * x + 40 * y);
    for (unsigned i = 0; i < W * H / 4; i++) {
        assert_int_equal(seen.u[i], 90);
        assert_int_equal(seen.v[i], 160);
    }
    close_and_check(&loop, cam);
}

/* Luma telling its column and row. */
static uint8_t paint_coords(unsigned k, unsigned x, unsigned y, int plane) {
    (void)k;
    if (plane == 0)
        return (uint8_t)(x * 4 + y);
    return (uint8_t)(plane == 1 ? 64 + y / 2 : 128 + x);
}

/* A driver whose picture has another shape than the one asked, at the width (or height)
 * asked: the centre, not a squashed picture, and no scaling at all. 16x12 asked 16x8 keeps
 * rows 2..9. */
static void test_v4l2_capture_crops_to_aspect(void **state) {
    (void)state;
    enum { W = 16, H = 8 };
    F.w = 16;
    F.h = 12;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam;
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", W, H, 15, on_picture,
                                      &seen, NULL, 0),
                     0);
    fake_fill(paint_coords, 0, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(now_us()));
    run_until_seen(&loop, 1);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.width, W);
    assert_int_equal(seen.height, H);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            assert_int_equal(seen.y[y * W + x], x * 4 + (y + 2));
    /* Chroma rows 1..4 of the camera's 6 (rows 2..9 of luma), each the average of two YUYV
     * rows that carry the same value. */
    for (unsigned y = 0; y < H / 2; y++)
        for (unsigned x = 0; x < W / 2; x++) {
            assert_int_equal(seen.u[y * (W / 2) + x], 64 + (y + 1));
            assert_int_equal(seen.v[y * (W / 2) + x], 128 + x);
        }
    close_and_check(&loop, cam);

    /* Wider than asked (24x8 for 16x8): the centre columns 4..19. */
    fake_reset();
    memset(&seen, 0, sizeof seen);
    F.w = 24;
    F.h = 8;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", W, H, 15, on_picture,
                                      &seen, NULL, 0),
                     0);
    fake_fill(paint_coords, 0, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(now_us()));
    run_until_seen(&loop, 1);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.width, W);
    assert_int_equal(seen.height, H);
    for (unsigned y = 0; y < H; y++)
        for (unsigned x = 0; x < W; x++)
            assert_int_equal(seen.y[y * W + x], (uint8_t)((x + 4) * 4 + y));
    for (unsigned y = 0; y < H / 2; y++)
        for (unsigned x = 0; x < W / 2; x++) {
            assert_int_equal(seen.u[y * (W / 2) + x], 64 + y);
            assert_int_equal(seen.v[y * (W / 2) + x], 128 + (x + 2));
        }
    close_and_check(&loop, cam);
}

/* A timestamp the driver does not call monotonic is not used: the time of dequeueing is.
 * A monotonic one from the future is brought back to now. */
static void test_v4l2_capture_timestamps(void **state) {
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam;
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", 8, 4, 30, on_picture,
                                      &seen, NULL, 0),
                     0);
    uint64_t before = now_us();
    fake_fill(paint_ramp, 1, V4L2_BUF_FLAG_TIMESTAMP_COPY, tv_of_us(1000000));
    run_until_seen(&loop, 1);
    uint64_t after = now_us();
    assert_int_equal(seen.count, 1);
    assert_true(seen.capture_us >= before && seen.capture_us <= after);

    before = now_us();
    fake_fill(paint_ramp, 2, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(before + 3600000000u));
    run_until_seen(&loop, 2);
    after = now_us();
    assert_int_equal(seen.count, 2);
    assert_true(seen.capture_us >= before && seen.capture_us <= after);
    close_and_check(&loop, cam);
}

/* Three frames wait when the loop comes round: the newest is delivered, the two older go
 * back to the driver unseen, and every buffer is with the driver again. */
static void test_v4l2_capture_delivers_newest(void **state) {
    (void)state;
    enum { W = 8, H = 4 };
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam;
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", W, H, 30, on_picture,
                                      &seen, NULL, 0),
                     0);
    uint64_t t0 = now_us() - 100000;
    for (unsigned k = 1; k <= 3; k++)
        fake_fill(paint_ramp, k, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(t0 + k));
    for (int i = 0; i < 10; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.capture_us, t0 + 3);
    assert_int_equal(seen.y[0], paint_ramp(3, 0, 0, 0));
    assert_int_equal(queued_count(), 4);
    cq_v4l2_stats_t st;
    cq_v4l2_stats(cam, &st);
    assert_int_equal(st.frames, 1);
    assert_int_equal(st.skipped, 2);
    close_and_check(&loop, cam);
}

/* A frame the driver marks bad and a short one are dropped and counted, their buffers
 * given back; the next good frame is delivered. */
static void test_v4l2_capture_bad_frames(void **state) {
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam;
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", 8, 4, 30, on_picture,
                                      &seen, NULL, 0),
                     0);
    struct timeval ts = tv_of_us(now_us());
    fake_fill(paint_ramp, 1, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC | V4L2_BUF_FLAG_ERROR, ts);
    for (int i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    unsigned idx = fake_fill(paint_ramp, 2, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, ts);
    F.used[idx] = 2 * 8 * 4 - 1; /* one byte short of the last row */
    for (int i = 0; i < 5; i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(seen.count, 0);
    assert_int_equal(queued_count(), 4);
    cq_v4l2_stats_t st;
    cq_v4l2_stats(cam, &st);
    assert_int_equal(st.convert_errors, 2);
    assert_int_equal(st.frames, 0);
    fake_fill(paint_ramp, 3, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, ts);
    run_until_seen(&loop, 1);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.y[0], paint_ramp(3, 0, 0, 0));
    cq_v4l2_stats(cam, &st);
    assert_int_equal(st.frames, 1);
    assert_int_equal(st.convert_errors, 2);
    close_and_check(&loop, cam);
}

/* A device that keeps failing to give its frame stops being polled after a bounded number
 * of wake-ups, rather than spinning; an unplugged one (ENODEV) at once. */
static void test_v4l2_capture_stops_on_failure(void **state) {
    (void)state;
    static const struct {
        int dq_errno;
        uint64_t errors;
        int error;
    } cases[] = {{EIO, 8, CQ_EIO}, {ENODEV, 1, CQ_ENOENT}};
    for (size_t c = 0; c < 2; c++) {
        fake_reset();
        uv_loop_t loop;
        assert_int_equal(uv_loop_init(&loop), 0);
        struct cq_v4l2 *cam;
        assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", 8, 4, 30,
                                          on_picture, &seen, NULL, 0),
                         0);
        fake_fill(paint_ramp, 1, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(now_us()));
        F.dqbuf_errno = cases[c].dq_errno;
        int turns = 0;
        while (turns < 50 && uv_run(&loop, UV_RUN_NOWAIT) != 0)
            turns++;
        assert_true(turns < 50); /* nothing keeps the loop alive: the poll stopped */
        cq_v4l2_stats_t st;
        cq_v4l2_stats(cam, &st);
        assert_true(st.stopped);
        assert_int_equal(st.error, cases[c].error);
        assert_int_equal(st.dequeue_errors, cases[c].errors);
        assert_int_equal(st.frames, 0);
        close_and_check(&loop, cam);
    }
}

/* The program closes the camera from its callback: nothing touches the device afterwards,
 * and the object is freed once the loop runs. */
static void test_v4l2_close_from_callback(void **state) {
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam;
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", 8, 4, 30, on_picture,
                                      &seen, NULL, 0),
                     0);
    seen.close_me = cam;
    uint64_t t0 = now_us() - 1000;
    fake_fill(paint_ramp, 1, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(t0));
    fake_fill(paint_ramp, 2, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, tv_of_us(t0 + 1));
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(seen.count, 1);
    assert_int_equal(F.streamoffs, 1);
    assert_int_equal(mapped_count(), 0);
    assert_int_equal(F.closes, 1);
    assert_int_equal(F.ioctls_on_closed, 0);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Opens the fake as set up and expects err and a message containing what, with the fd
 * closed, nothing left mapped and nothing on the loop. */
static void expect_fake_fails(int err, const char *what) {
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct cq_v4l2 *cam = NULL;
    char msg[160] = "";
    assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/video7", 640, 360, 15,
                                      on_picture, &seen, msg, sizeof msg),
                     err);
    assert_null(cam);
    assert_int_equal(strncmp(msg, "/dev/video7: ", 13), 0);
    if (strstr(msg, what) == NULL)
        fail_msg("\"%s\" does not say \"%s\"", msg, what);
    assert_int_equal(F.closes, F.opens);
    assert_int_equal(mapped_count(), 0);
    assert_false(F.streaming);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* What a device is or offers that the source cannot use, and what it says about it. */
static void test_v4l2_open_refuses_device(void **state) {
    (void)state;
    F.open_errno = EACCES;
    expect_fake_fails(CQ_EACCES, "permission denied");
    fake_reset();
    F.open_errno = ENODEV;
    expect_fake_fails(CQ_ENOENT, "no such device");
    fake_reset();
    F.open_errno = EBUSY;
    expect_fake_fails(CQ_EIO, "busy");

    /* A UVC camera's second node: metadata, no video capture. */
    fake_reset();
    F.device_caps = V4L2_CAP_META_CAPTURE | V4L2_CAP_STREAMING;
    expect_fake_fails(CQ_ENOTSUP, "not a camera (no video capture capability)");
    /* An old driver without device_caps: capabilities speak for the node. */
    fake_reset();
    F.capabilities = V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING;
    F.device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
    expect_fake_fails(CQ_ENOTSUP, "not a camera");
    fake_reset();
    F.device_caps = V4L2_CAP_VIDEO_CAPTURE_MPLANE | V4L2_CAP_STREAMING;
    expect_fake_fails(CQ_ENOTSUP, "multi-planar");
    fake_reset();
    F.device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_READWRITE;
    expect_fake_fails(CQ_ENOTSUP, "streaming");
    fake_reset();
    F.fourcc = V4L2_PIX_FMT_MJPEG;
    expect_fake_fails(CQ_ENOTSUP, "no YUYV (it offered MJPG)");
    fake_reset();
    F.w = 641;
    expect_fake_fails(CQ_ENOTSUP, "641x360");
}

/* Failures part-way through: each unwinds what was built. */
static void test_v4l2_open_unwinds(void **state) {
    (void)state;
    F.fail_req = VIDIOC_S_FMT;
    F.fail_errno = EBUSY;
    expect_fake_fails(CQ_EIO, "busy");
    fake_reset();
    F.fail_req = VIDIOC_REQBUFS;
    F.fail_errno = EBUSY;
    expect_fake_fails(CQ_EIO, "busy");
    fake_reset();
    F.nbuf = 1;
    expect_fake_fails(CQ_EIO, "gave 1 buffers");
    fake_reset();
    F.mmap_fail_at = 2; /* buffers 0 and 1 mapped first */
    expect_fake_fails(CQ_EIO, "mmap");
    fake_reset();
    F.len = 640 * 2 * 360 - 1;
    expect_fake_fails(CQ_EIO, "too small");
    fake_reset();
    F.fail_req = VIDIOC_QBUF;
    F.fail_errno = EINVAL;
    expect_fake_fails(CQ_EIO, "VIDIOC_QBUF");
    fake_reset();
    F.fail_req = VIDIOC_STREAMON;
    F.fail_errno = ENOSPC;
    expect_fake_fails(CQ_EIO, "USB bandwidth");
}

/* A driver that cannot set the rate: the one it has is reported. One that can: the one
 * it kept. */
static void test_v4l2_open_frame_rate(void **state) {
    (void)state;
    static const struct {
        bool settable;
        struct v4l2_fract tpf;
        unsigned fps;
    } cases[] = {
        {false, {1, 30}, 30},
        {true, {1001, 30000}, 30}, /* 29.97 */
        {true, {0, 0}, 15},        /* keeps what was asked */
        {false, {0, 0}, 0},        /* says nothing */
    };
    for (size_t c = 0; c < 4; c++) {
        fake_reset();
        F.timeperframe = cases[c].settable;
        F.tpf = cases[c].tpf;
        uv_loop_t loop;
        assert_int_equal(uv_loop_init(&loop), 0);
        struct cq_v4l2 *cam;
        assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", 8, 4, 15,
                                          on_picture, &seen, NULL, 0),
                         0);
        cq_v4l2_stats_t st;
        cq_v4l2_stats(cam, &st);
        assert_int_equal(st.fps, cases[c].fps);
        assert_int_equal(F.asked_fps, cases[c].settable ? 15 : 0);
        close_and_check(&loop, cam);
    }
}

/* No allocation per frame, from the driver's buffer to the callback, when the picture is
 * delivered at the driver's size, cropped, or scaled 2:1. */
static void test_v4l2_capture_no_alloc(void **state) {
    (void)state;
    cq_test_alloc_install();
    static const unsigned sizes[][2] = {{64, 36}, {64, 48}, {128, 72}};
    for (size_t c = 0; c < 3; c++) {
        fake_reset();
        memset(&seen, 0, sizeof seen);
        F.w = sizes[c][0];
        F.h = sizes[c][1];
        uv_loop_t loop;
        assert_int_equal(uv_loop_init(&loop), 0);
        struct cq_v4l2 *cam;
        assert_int_equal(cq_v4l2_open_sys(&fake_sys, &cam, &loop, "/dev/fake0", 64, 36, 30,
                                          on_picture, &seen, NULL, 0),
                         0);
        struct timeval ts = tv_of_us(now_us());
        fake_fill(paint_ramp, 0, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, ts); /* warm up */
        run_until_seen(&loop, 1);
        cq_test_alloc_begin();
        for (unsigned k = 1; k <= 20; k++) {
            fake_fill(paint_ramp, k, V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC, ts);
            run_until_seen(&loop, 1 + k);
        }
        unsigned long counted = cq_test_alloc_end();
        assert_int_equal(seen.count, 21);
        assert_int_equal(seen.width, 64);
        assert_int_equal(seen.height, 36);
        assert_int_equal(counted, 0);
        close_and_check(&loop, cam);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4l2_yuyv_to_i420_by_hand),
        cmocka_unit_test(test_v4l2_yuyv_to_i420_matches_reference),
        cmocka_unit_test(test_v4l2_yuyv_to_i420_refuses),
        cmocka_unit_test(test_v4l2_open_missing_device),
        cmocka_unit_test(test_v4l2_open_not_a_camera),
        cmocka_unit_test(test_v4l2_open_invalid),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_same_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_scaled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_crops_to_aspect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_timestamps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_delivers_newest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_bad_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_stops_on_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_close_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_open_refuses_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_open_unwinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_open_frame_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v4l2_capture_no_alloc, setup, teardown),
    };
    return cmocka_run_group_tests_name("v4l2", tests, NULL, NULL);
}
