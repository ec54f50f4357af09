#include "tools/bench/allocs.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "rtp/error.h"

static atomic_bool counting;
static atomic_uint_fast64_t counts[CQ_BENCH_ALLOCS_CLASSES];
/* Initial-exec TLS of the executable itself: reading it never allocates, so it is safe
 * inside the allocator's own path. */
static _Thread_local unsigned char thread_class;

static void count(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&counts[thread_class], 1, memory_order_relaxed);
}

#if defined(__SANITIZE_ADDRESS__)
/* gcc 12 ships no <sanitizer/allocator_interface.h>: the hook installer, as ASan has it. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *ptr, size_t size) {
    (void)ptr;
    (void)size;
    count();
}

static void on_free(const volatile void *ptr) {
    (void)ptr;
}

int cq_bench_allocs_install(void) {
    return __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free) != 0 ? 0 : CQ_EUNSUPPORTED;
}
#else
/* glibc's own entry points, which the wrappers below hand every call on to. */
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);

void *malloc(size_t n) {
    count();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size) {
    count();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n) {
    count();
    return __libc_realloc(p, n);
}

int cq_bench_allocs_install(void) {
    return 0;
}
#endif

void cq_bench_allocs_set_class(cq_bench_allocs_class_t c) {
    thread_class = (unsigned char)(c < CQ_BENCH_ALLOCS_CLASSES ? c : CQ_BENCH_ALLOCS_OTHER);
}

void cq_bench_allocs_begin(void) {
    for (int c = 0; c < CQ_BENCH_ALLOCS_CLASSES; c++)
        atomic_store(&counts[c], 0);
    atomic_store(&counting, true);
}

void cq_bench_allocs_end(uint64_t out[CQ_BENCH_ALLOCS_CLASSES]) {
    atomic_store(&counting, false);
    for (int c = 0; c < CQ_BENCH_ALLOCS_CLASSES; c++)
        out[c] = atomic_load(&counts[c]);
}
