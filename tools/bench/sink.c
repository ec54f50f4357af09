#include "tools/bench/sink.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rtp/bytes.h"
#include "rtp/demux.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "tools/bench/sys.h"
#include "tools/bench/thread.h"
#include "tools/bench/gen.h"
#include "tools/bench/hist.h"

/* Bytes read of an ordinary packet: the RTP header and its extensions (the generator's
 * are at most 32 bytes), with room to spare. */
#define HEAD_BYTES 64
/* Each endpoint unprotects one packet in this many (a prime, so no period of the media
 * mix lines up with it). */
#define SAMPLE_EVERY 101
#define EVENTS       64
/* The thread looks at its sockets this often and sleeps in between (see thread_main). */
#define SWEEP_NS 250000u

struct receiver {
    cq_bench_ep_t *ep;
    uint64_t packets;
    uint64_t next_sample;
};

struct cq_bench_sink {
    struct receiver *rx;
    size_t n;
    int epfd;
    cq_bench_thread_t thread;

    /* The thread's counts, published after each batch. */
    uint64_t media, bytes, rtcp, other, verified, auth_failures;
    atomic_uint_fast64_t out[6];

    pthread_mutex_t lock; /* the histogram, while recording */
    atomic_bool recording;
    cq_bench_hist_t hist;

    /* Receive buffers: headers of a batch, and one whole packet for the sample. */
    struct mmsghdr msgs[CQ_UDP_BATCH];
    struct iovec iov[CQ_UDP_BATCH];
    uint8_t head[CQ_UDP_BATCH][HEAD_BYTES];
    uint8_t whole[CQ_UDP_MAX_DATAGRAM + CQ_SRTP_PROTECT_HEADROOM];
    union {
        struct cmsghdr align;
        uint8_t bytes[CMSG_SPACE(sizeof(struct timespec))];
    } ctrl[CQ_UDP_BATCH];
};

/* The kernel's receive time of a message (realtime ns), or 0 when it gave none. */
static uint64_t rx_time(struct msghdr *h) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        }
    }
    return 0;
}

/* The generator's send time in the header [p, p + len), or 0 when there is none. */
static uint64_t send_time(const uint8_t *p, size_t len) {
    cq_rtp_view_t v;
    const uint8_t *data;
    size_t dlen;
    if (cq_rtp_parse(p, len, &v) < 0 ||
        cq_rtp_ext_find(&v, CQ_BENCH_EXT_SEND_TIME, &data, &dlen) != 0 ||
        dlen != CQ_BENCH_EXT_SEND_TIME_SIZE)
        return 0;
    return cq_load_be64(data);
}

static void sample(struct cq_bench_sink *s, struct receiver *r, size_t len) {
    int rc = cq_srtp_unprotect(&r->ep->rx, s->whole, &len);
    if (rc == 0)
        s->verified++;
    else
        s->auth_failures++;
}

/* Counts the batch msgs[0..n) from r; whole_first: the first was read whole. */
static void count_batch(struct cq_bench_sink *s, struct receiver *r, int n, bool whole_first) {
    bool rec = atomic_load_explicit(&s->recording, memory_order_relaxed);
    if (rec)
        pthread_mutex_lock(&s->lock);
    uint64_t fallback_now = 0;
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &s->msgs[i].msg_hdr;
        const uint8_t *p = h->msg_iov->iov_base;
        size_t full = s->msgs[i].msg_len;
        size_t got = full < h->msg_iov->iov_len ? full : h->msg_iov->iov_len;
        switch (cq_demux_classify(p, got)) {
        case CQ_DEMUX_RTP:
            break;
        case CQ_DEMUX_RTCP:
            s->rtcp++;
            continue;
        default:
            s->other++;
            continue;
        }
        s->media++;
        s->bytes += full;
        r->packets++;
        if (rec) {
            uint64_t sent = send_time(p, got), at = rx_time(h);
            if (at == 0)
                at = fallback_now ? fallback_now : (fallback_now = cq_bench_real_ns());
            if (sent != 0)
                cq_bench_hist_add(&s->hist, (int64_t)(at - sent));
        }
        if (i == 0 && whole_first)
            sample(s, r, full);
    }
    if (rec)
        pthread_mutex_unlock(&s->lock);
}

static void publish(struct cq_bench_sink *s) {
    const uint64_t v[6] = {s->media, s->bytes, s->rtcp, s->other, s->verified, s->auth_failures};
    for (int i = 0; i < 6; i++)
        atomic_store_explicit(&s->out[i], v[i], memory_order_relaxed);
}

/* Reads everything waiting on r's socket. */
static void drain(struct cq_bench_sink *s, struct receiver *r) {
    for (;;) {
        bool whole = r->packets >= r->next_sample;
        for (int i = 0; i < CQ_UDP_BATCH; i++) {
            s->iov[i] = (struct iovec){.iov_base = s->head[i], .iov_len = HEAD_BYTES};
            s->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &s->iov[i],
                                                 .msg_iovlen = 1,
                                                 .msg_control = s->ctrl[i].bytes,
                                                 .msg_controllen = sizeof s->ctrl[i].bytes};
        }
        if (whole)
            s->iov[0] = (struct iovec){.iov_base = s->whole, .iov_len = CQ_UDP_MAX_DATAGRAM};
        int n = recvmmsg(r->ep->udp.fd, s->msgs, CQ_UDP_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
        if (n <= 0)
            return;
        /* A sample is due again SAMPLE_EVERY packets after this one. */
        if (whole)
            r->next_sample = r->packets + SAMPLE_EVERY;
        count_batch(s, r, n, whole && s->msgs[0].msg_len <= CQ_UDP_MAX_DATAGRAM);
        if (n < CQ_UDP_BATCH)
            return;
    }
}

/*
 * The thread never sleeps in epoll_wait: it sleeps on a timer and then takes what is
 * ready without waiting. On loopback the sender's sendmmsg delivers each datagram in its
 * own context, and a receiver asleep on its socket would have to be woken from there (a
 * cross-CPU wake-up, several microseconds in a virtual machine): the relay would pay for
 * its receivers' wake-ups, which on a real network it never does. Latency does not suffer
 * from the wait: it is measured with the kernel's receive timestamps.
 */
static void thread_main(void *arg) {
    struct cq_bench_sink *s = arg;
    struct epoll_event ev[EVENTS];
    uint64_t next = cq_bench_mono_ns();
    while (cq_bench_thread_running(&s->thread)) {
        int n;
        while ((n = epoll_wait(s->epfd, ev, EVENTS, 0)) > 0) {
            for (int i = 0; i < n; i++)
                drain(s, &s->rx[ev[i].data.u32]);
            publish(s);
        }
        next += SWEEP_NS;
        uint64_t now = cq_bench_mono_ns();
        if (next < now)
            next = now;
        cq_bench_sleep_until(next);
    }
}

int cq_bench_sink_create(struct cq_bench_sink **out, cq_bench_ep_t *eps, size_t n) {
    struct cq_bench_sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CQ_ENOMEM;
    s->epfd = -1;
    int err = CQ_ENOMEM;
    s->rx = calloc(n ? n : 1, sizeof *s->rx);
    if (s->rx == NULL || pthread_mutex_init(&s->lock, NULL) != 0)
        goto fail;
    s->n = n;
    /* Written now, so its pages count before the relay's memory is measured, not after. */
    cq_bench_hist_reset(&s->hist);
    if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        err = -errno;
        goto fail_lock;
    }
    for (size_t i = 0; i < n; i++) {
        s->rx[i] = (struct receiver){.ep = &eps[i], .next_sample = SAMPLE_EVERY / 2};
        int one = 1;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (setsockopt(eps[i].udp.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) != 0 ||
            epoll_ctl(s->epfd, EPOLL_CTL_ADD, eps[i].udp.fd, &ev) != 0) {
            err = -errno;
            goto fail_epoll;
        }
    }
    *out = s;
    return 0;
fail_epoll:
    close(s->epfd);
fail_lock:
    pthread_mutex_destroy(&s->lock);
fail:
    free(s->rx);
    free(s);
    return err;
}

int cq_bench_sink_start(struct cq_bench_sink *s) {
    return cq_bench_thread_start(&s->thread, "cq-bench-rx", CQ_BENCH_ALLOCS_BENCH, thread_main, s);
}

void cq_bench_sink_counters(struct cq_bench_sink *s, cq_bench_sink_counters_t *out) {
    uint64_t v[6];
    for (int i = 0; i < 6; i++)
        v[i] = atomic_load_explicit(&s->out[i], memory_order_relaxed);
    *out = (cq_bench_sink_counters_t){.media = v[0],
                                      .bytes = v[1],
                                      .rtcp = v[2],
                                      .other = v[3],
                                      .verified = v[4],
                                      .auth_failures = v[5],
                                      .cpu_ns = cq_bench_thread_cpu_ns(&s->thread)};
}

void cq_bench_sink_record(struct cq_bench_sink *s, bool on) {
    pthread_mutex_lock(&s->lock);
    if (on)
        cq_bench_hist_reset(&s->hist);
    atomic_store(&s->recording, on);
    pthread_mutex_unlock(&s->lock);
}

void cq_bench_sink_latency(struct cq_bench_sink *s, cq_bench_latency_t *out) {
    pthread_mutex_lock(&s->lock);
    *out = (cq_bench_latency_t){.count = s->hist.count,
                                .p50_us = cq_bench_hist_quantile_us(&s->hist, 0.5),
                                .p99_us = cq_bench_hist_quantile_us(&s->hist, 0.99),
                                .p999_us = cq_bench_hist_quantile_us(&s->hist, 0.999),
                                .max_us = s->hist.max_us,
                                .negative = s->hist.negative};
    pthread_mutex_unlock(&s->lock);
}

void cq_bench_sink_destroy(struct cq_bench_sink *s) {
    if (s == NULL)
        return;
    cq_bench_thread_stop(&s->thread);
    close(s->epfd);
    pthread_mutex_destroy(&s->lock);
    free(s->rx);
    free(s);
}
