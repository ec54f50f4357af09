/*
 * Counting heap allocations in a test, to prove a path allocates nothing: with
 * AddressSanitizer through its malloc hooks, without it by wrapping malloc, calloc and
 * realloc (so include this in one file of a test executable only). Counting is off until
 * cq_test_alloc_begin(); the hooks are installed once by cq_test_alloc_install().
 */
#ifndef CQ_TEST_ALLOC_COUNT_H
#define CQ_TEST_ALLOC_COUNT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <cmocka.h>

static atomic_bool counting;
static atomic_ulong allocations;

#if defined(__SANITIZE_ADDRESS__)
/* Declared here: gcc 12 does not ship <sanitizer/allocator_interface.h>. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *ptr, size_t size) {
    (void)ptr;
    (void)size;
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

static void on_free(const volatile void *ptr) {
    (void)ptr;
}

static void install_counter(void) {
    static bool installed;
    if (!installed)
        assert_int_not_equal(__sanitizer_install_malloc_and_free_hooks(on_malloc, on_free), 0);
    installed = true;
}
#else
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *malloc(size_t n);
void *calloc(size_t a, size_t b);
void *realloc(void *p, size_t n);

static void count_one(void) {
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}
void *malloc(size_t n) {
    count_one();
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
    count_one();
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
    count_one();
    return __libc_realloc(p, n);
}
static void install_counter(void) {}
#endif

static inline void cq_test_alloc_install(void) {
    install_counter();
}

static inline void cq_test_alloc_begin(void) {
    atomic_store(&allocations, 0);
    atomic_store(&counting, true);
}

/* Stops counting; returns the allocations since cq_test_alloc_begin(). */
static inline unsigned long cq_test_alloc_end(void) {
    atomic_store(&counting, false);
    return atomic_load(&allocations);
}

#endif
