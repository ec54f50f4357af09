#include "tools/bench/thread.h"

#include <sys/prctl.h>

static void *trampoline(void *arg) {
    cq_bench_thread_t *t = arg;
    pthread_setname_np(pthread_self(), t->name);
    cq_bench_allocs_set_class(t->allocs_class);
    /* The bench's threads sleep to schedules tens of microseconds apart: the default
     * 50 µs of timer slack would bunch their wake-ups. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
    t->body(t->arg);
    return NULL;
}

int cq_bench_thread_start(cq_bench_thread_t *t, const char *name, cq_bench_allocs_class_t c,
                          void (*body)(void *arg), void *arg) {
    t->name = name;
    t->allocs_class = c;
    t->body = body;
    t->arg = arg;
    atomic_store(&t->stop, false);
    int err = pthread_create(&t->thread, NULL, trampoline, t);
    if (err != 0)
        return -err;
    t->started = true;
    /* Its clock, read now, so the main thread never waits for the thread to publish it. */
    if ((err = pthread_getcpuclockid(t->thread, &t->cpu_clock)) != 0) {
        cq_bench_thread_stop(t);
        return -err;
    }
    return 0;
}

void cq_bench_thread_stop(cq_bench_thread_t *t) {
    atomic_store(&t->stop, true);
    if (t->started)
        pthread_join(t->thread, NULL);
    t->started = false;
}

uint64_t cq_bench_thread_cpu_ns(const cq_bench_thread_t *t) {
    struct timespec ts;
    if (!t->started || clock_gettime(t->cpu_clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
