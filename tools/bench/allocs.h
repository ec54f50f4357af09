/*
 * Heap allocations counted by the thread that makes them, so chasqui-bench can say how
 * many the relay's workers make per forwarded packet while its own generator, receivers
 * and limit forwarder run in the same process. The tests that prove a path allocates
 * nothing count with it too (tests/support/alloc_count.h, summing every class).
 *
 * Every thread belongs to a class: CQ_BENCH_ALLOCS_OTHER unless it says otherwise with
 * cq_bench_allocs_set_class (the relay's workers never do, so what they allocate lands
 * there). While counting is on, each malloc, calloc and realloc adds one to its thread's
 * class. Counted through AddressSanitizer's allocator hooks in a sanitizer build, by
 * wrapping the three functions otherwise (this module defines malloc, calloc and realloc
 * for the whole program it is linked into: its own library, chasqui_allocs, which only
 * chasqui-bench and those tests link).
 *
 * No allocation here, no lock: a relaxed atomic add per allocation.
 */
#ifndef CQ_TOOLS_BENCH_ALLOCS_H
#define CQ_TOOLS_BENCH_ALLOCS_H

#include <stdint.h>

typedef enum {
    CQ_BENCH_ALLOCS_OTHER = 0, /* threads that did not say: the relay's workers */
    CQ_BENCH_ALLOCS_BENCH,     /* the bench's main thread, generator and receivers */
    CQ_BENCH_ALLOCS_LIMIT,     /* the limit forwarder */
    CQ_BENCH_ALLOCS_CLASSES
} cq_bench_allocs_class_t;

/* Installs the counter (the sanitizer's hooks, once however often it is called; nothing to
 * do for the wrappers). Returns 0, or CQ_EUNSUPPORTED when the hooks could not be
 * installed. */
int cq_bench_allocs_install(void);

/* Puts the calling thread in a class, for the rest of its life. */
void cq_bench_allocs_set_class(cq_bench_allocs_class_t c);

/* Starts counting from zero in every class. */
void cq_bench_allocs_begin(void);

/* Stops counting; out[c] receives what class c allocated since cq_bench_allocs_begin. */
void cq_bench_allocs_end(uint64_t out[CQ_BENCH_ALLOCS_CLASSES]);

#endif
