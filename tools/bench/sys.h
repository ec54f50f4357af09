/*
 * What chasqui-bench asks of the operating system: monotonic time for schedules and
 * windows, the realtime clock that kernel receive timestamps (SO_TIMESTAMPNS) use, the
 * process's resident set, and which CPUs a thread runs on.
 */
#ifndef CQ_TOOLS_BENCH_SYS_H
#define CQ_TOOLS_BENCH_SYS_H

#include <stdint.h>

/* CLOCK_MONOTONIC and CLOCK_REALTIME in nanoseconds. */
uint64_t cq_bench_mono_ns(void);
uint64_t cq_bench_real_ns(void);

/* Sleeps until the monotonic time t_ns (returns at once if it has passed). */
void cq_bench_sleep_until(uint64_t t_ns);

/* Sleeps for ns nanoseconds of monotonic time. */
void cq_bench_sleep_ns(uint64_t ns);

/* CPU time of the whole process, in nanoseconds. */
uint64_t cq_bench_process_cpu_ns(void);

/* The process's resident set (VmRSS), in KiB, or a negated errno. */
int64_t cq_bench_rss_kib(void);

/* CPUs the process may run on (at least 1). The first call of this or cq_bench_pin_self
 * must come before any thread is pinned. */
unsigned cq_bench_cpu_count(void);

/* Confines the calling thread, and the threads it creates from now on, to CPUs
 * [first, last] of those the process may use. Returns 0 or a negated errno. */
int cq_bench_pin_self(unsigned first, unsigned last);

#endif
