/*
 * The bench's own threads (generator, receivers, limit forwarder), alike in how they
 * live: each is named (for top and perf), counted in its allocation class, runs a loop
 * that polls a stop flag, and has a CPU clock the main thread reads while it runs.
 */
#ifndef CQ_TOOLS_BENCH_THREAD_H
#define CQ_TOOLS_BENCH_THREAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "tools/bench/allocs.h"

typedef struct {
    pthread_t thread;
    clockid_t cpu_clock;
    bool started;
    atomic_bool stop;
    const char *name; /* at most 15 characters */
    cq_bench_allocs_class_t allocs_class;
    void (*body)(void *arg);
    void *arg;
} cq_bench_thread_t;

/* Starts body(arg) on a new thread; the caller owns t (zeroed before) until it stopped.
 * Returns 0 or a negated errno. */
int cq_bench_thread_start(cq_bench_thread_t *t, const char *name, cq_bench_allocs_class_t c,
                          void (*body)(void *arg), void *arg);

/* Whether the body should go on: false once cq_bench_thread_stop was called. */
static inline bool cq_bench_thread_running(cq_bench_thread_t *t) {
    return !atomic_load(&t->stop);
}

/* Asks the body to end and joins the thread. Safe on a thread never started. */
void cq_bench_thread_stop(cq_bench_thread_t *t);

/* The CPU time the thread has used, in nanoseconds (0 before it started). */
uint64_t cq_bench_thread_cpu_ns(const cq_bench_thread_t *t);

#endif
