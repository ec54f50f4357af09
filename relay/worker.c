#include "relay/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtp/error.h"

/* A call waiting to run on the worker; it lives on the caller's stack until done. */
struct worker_call {
    int (*fn)(void *arg);
    void *arg;
    int result;
    uv_sem_t done;
    struct worker_call *next;
};

struct cq_worker {
    cq_worker_ops_t ops;
    void *ctx;
    cq_udp_t udp;
    unsigned tick_ms;

    uv_loop_t loop;
    uv_poll_t poll;
    uv_timer_t tick;
    uv_async_t wakeup;
    uv_thread_t thread;

    /* Shared with callers on other threads, under lock. */
    uv_mutex_t lock;
    struct worker_call *head, *tail;
    bool running;  /* calls are accepted */
    bool stopping; /* the worker should close its handles */

    bool started, joined;
    int close_result;
};

static uint64_t now_us(uv_loop_t *loop) {
    /* uv_hrtime is monotonic in ns; the loop's cached ms time is too coarse for RTCP. */
    (void)loop;
    return uv_hrtime() / 1000u;
}

static void on_poll(uv_poll_t *h, int status, int events) {
    struct cq_worker *w = h->data;
    if (status < 0 || !(events & UV_READABLE))
        return;
    w->ops.on_readable(w->ctx, &w->udp, now_us(&w->loop));
}

static void on_tick(uv_timer_t *t) {
    struct cq_worker *w = t->data;
    if (w->ops.on_tick)
        w->ops.on_tick(w->ctx, now_us(&w->loop));
}

/* Takes the whole queue under the lock, then runs it without the lock so a slow call
 * never blocks callers that are only enqueueing. */
static void run_calls(struct cq_worker *w) {
    uv_mutex_lock(&w->lock);
    struct worker_call *c = w->head;
    w->head = w->tail = NULL;
    bool stopping = w->stopping;
    uv_mutex_unlock(&w->lock);
    while (c != NULL) {
        struct worker_call *next = c->next; /* c is gone once its caller wakes */
        c->result = stopping ? CQ_EBADSTATE : c->fn(c->arg);
        uv_sem_post(&c->done);
        c = next;
    }
}

static void on_wakeup(uv_async_t *a) {
    struct cq_worker *w = a->data;
    run_calls(w);
    uv_mutex_lock(&w->lock);
    bool stopping = w->stopping;
    uv_mutex_unlock(&w->lock);
    if (stopping) {
        uv_close((uv_handle_t *)&w->poll, NULL);
        uv_close((uv_handle_t *)&w->tick, NULL);
        uv_close((uv_handle_t *)&w->wakeup, NULL);
    }
}

static void thread_main(void *arg) {
    struct cq_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    /* Calls that raced with the stop are answered, not left waiting forever. */
    run_calls(w);
    w->close_result = uv_loop_close(&w->loop);
}

int cq_worker_create(struct cq_worker **out, const cq_worker_config_t *cfg,
                     const cq_worker_ops_t *ops, void *ctx) {
    struct cq_worker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return CQ_ENOMEM;
    w->ops = *ops;
    w->ctx = ctx;
    w->tick_ms = cfg->tick_ms ? cfg->tick_ms : 20;
    w->udp.fd = -1;
    int err = cq_udp_open(&w->udp, cfg->host, cfg->port, cfg->rcvbuf, cfg->sndbuf);
    if (err != 0)
        goto fail;
    if ((err = uv_loop_init(&w->loop)) != 0)
        goto fail_udp;
    if ((err = uv_mutex_init(&w->lock)) != 0)
        goto fail_loop;
    if ((err = uv_poll_init(&w->loop, &w->poll, w->udp.fd)) != 0 ||
        (err = uv_timer_init(&w->loop, &w->tick)) != 0 ||
        (err = uv_async_init(&w->loop, &w->wakeup, on_wakeup)) != 0)
        goto fail_handles;
    w->poll.data = w->tick.data = w->wakeup.data = w;
    if ((err = uv_poll_start(&w->poll, UV_READABLE, on_poll)) != 0 ||
        (err = uv_timer_start(&w->tick, on_tick, w->tick_ms, w->tick_ms)) != 0)
        goto fail_handles;
    *out = w;
    return 0;

fail_handles:
    /* w is zeroed, so a handle whose loop is set was initialised and must be closed. */
    if (w->poll.loop != NULL)
        uv_close((uv_handle_t *)&w->poll, NULL);
    if (w->tick.loop != NULL)
        uv_close((uv_handle_t *)&w->tick, NULL);
    if (w->wakeup.loop != NULL)
        uv_close((uv_handle_t *)&w->wakeup, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_mutex_destroy(&w->lock);
fail_loop:
    uv_loop_close(&w->loop);
fail_udp:
    cq_udp_close(&w->udp);
fail:
    free(w);
    return err;
}

int cq_worker_start(struct cq_worker *w) {
    if (w->started)
        return CQ_EBADSTATE;
    uv_mutex_lock(&w->lock);
    w->running = true;
    uv_mutex_unlock(&w->lock);
    int err = uv_thread_create(&w->thread, thread_main, w);
    if (err != 0) {
        uv_mutex_lock(&w->lock);
        w->running = false;
        uv_mutex_unlock(&w->lock);
        return err;
    }
    w->started = true;
    return 0;
}

int cq_worker_call(struct cq_worker *w, int (*fn)(void *arg), void *arg) {
    if (w->started && !w->joined) {
        uv_thread_t self = uv_thread_self();
        if (uv_thread_equal(&self, &w->thread))
            return fn(arg);
    }
    struct worker_call c = {.fn = fn, .arg = arg};
    if (uv_sem_init(&c.done, 0) != 0)
        return CQ_ENOMEM;
    uv_mutex_lock(&w->lock);
    if (!w->running) {
        uv_mutex_unlock(&w->lock);
        uv_sem_destroy(&c.done);
        return CQ_EBADSTATE;
    }
    /* The queue holds this stack frame's call: safe, because this thread waits below
     * until the worker has run it and let go of it (run_calls reads next first). */
    if (w->tail)
        w->tail->next = &c; // cppcheck-suppress autoVariables
    else
        w->head = &c; // cppcheck-suppress autoVariables
    w->tail = &c;     // cppcheck-suppress autoVariables
    uv_mutex_unlock(&w->lock);
    uv_async_send(&w->wakeup);
    uv_sem_wait(&c.done);
    uv_sem_destroy(&c.done);
    return c.result;
}

uint16_t cq_worker_port(const struct cq_worker *w) {
    int port = cq_udp_local_port(&w->udp);
    return port > 0 ? (uint16_t)port : 0;
}

int cq_worker_cpu_ns(const struct cq_worker *w, uint64_t *ns) {
    if (!w->started || w->joined)
        return CQ_EBADSTATE;
    /* On Unix a uv_thread_t is the thread's pthread_t (libuv's uv-unix.h). */
    clockid_t clock;
    int err = pthread_getcpuclockid(w->thread, &clock);
    if (err != 0)
        return -err;
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return -errno;
    *ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return 0;
}

uv_loop_t *cq_worker_loop(struct cq_worker *w) {
    return &w->loop;
}

int cq_worker_stop(struct cq_worker *w) {
    if (!w->started || w->joined)
        return w->close_result;
    uv_mutex_lock(&w->lock);
    w->running = false;
    w->stopping = true;
    uv_mutex_unlock(&w->lock);
    uv_async_send(&w->wakeup);
    uv_thread_join(&w->thread);
    w->joined = true;
    return w->close_result;
}

void cq_worker_destroy(struct cq_worker *w) {
    if (w == NULL)
        return;
    if (w->started) {
        cq_worker_stop(w);
    } else {
        /* Never started: close the handles on this thread. */
        uv_close((uv_handle_t *)&w->poll, NULL);
        uv_close((uv_handle_t *)&w->tick, NULL);
        uv_close((uv_handle_t *)&w->wakeup, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
    }
    uv_mutex_destroy(&w->lock);
    cq_udp_close(&w->udp);
    free(w);
}
