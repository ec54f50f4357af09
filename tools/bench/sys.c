#include "tools/bench/sys.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t read_clock(clockid_t c) {
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cq_bench_mono_ns(void) {
    return read_clock(CLOCK_MONOTONIC);
}

uint64_t cq_bench_real_ns(void) {
    return read_clock(CLOCK_REALTIME);
}

uint64_t cq_bench_process_cpu_ns(void) {
    return read_clock(CLOCK_PROCESS_CPUTIME_ID);
}

void cq_bench_sleep_until(uint64_t t_ns) {
    struct timespec ts = {.tv_sec = (time_t)(t_ns / 1000000000u),
                          .tv_nsec = (long)(t_ns % 1000000000u)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void cq_bench_sleep_ns(uint64_t ns) {
    cq_bench_sleep_until(cq_bench_mono_ns() + ns);
}

int64_t cq_bench_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -errno;
    char line[256];
    long long kib = -ENOENT;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0 && sscanf(line + 6, "%lld", &kib) == 1)
            break;
    fclose(f);
    return (int64_t)kib;
}

/* The CPUs the process may use, as they were before any thread was pinned (a pinned
 * thread's own mask would hide the others). Read on the first call, from the main thread. */
static const cpu_set_t *allowed_cpus(void) {
    static cpu_set_t allowed;
    static bool read;
    if (!read && sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        CPU_ZERO(&allowed);
        CPU_SET(0, &allowed);
    }
    read = true;
    return &allowed;
}

unsigned cq_bench_cpu_count(void) {
    int n = CPU_COUNT(allowed_cpus());
    return n > 0 ? (unsigned)n : 1;
}

int cq_bench_pin_self(unsigned first, unsigned last) {
    const cpu_set_t *allowed = allowed_cpus();
    cpu_set_t want;
    CPU_ZERO(&want);
    /* The n-th allowed CPU, counting from 0, for n in [first, last]. */
    unsigned n = 0;
    for (size_t cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, allowed))
            continue;
        if (n >= first && n <= last)
            CPU_SET(cpu, &want);
        n++;
    }
    if (CPU_COUNT(&want) == 0)
        return -EINVAL;
    return pthread_setaffinity_np(pthread_self(), sizeof want, &want) == 0 ? 0 : -EINVAL;
}
