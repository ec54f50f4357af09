#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "relay/worker.h"
#include "rtp/error.h"

/* State the session logic would own; touched only on the worker thread (and read by the
 * test after the worker stopped or through cq_worker_call). */
typedef struct {
    uv_thread_t worker_thread;
    int datagrams, ticks, counter;
    uint8_t last[64];
} logic_t;

static void on_readable(void *ctx, cq_udp_t *udp, uint64_t now_us) {
    logic_t *l = ctx;
    (void)now_us;
    l->worker_thread = uv_thread_self();
    for (;;) {
        uint8_t buf[CQ_UDP_BATCH][64];
        cq_udp_dgram_t msgs[CQ_UDP_BATCH];
        for (int i = 0; i < CQ_UDP_BATCH; i++)
            msgs[i] = (cq_udp_dgram_t){.data = buf[i], .cap = sizeof buf[i]};
        int n = cq_udp_recv(udp, msgs, CQ_UDP_BATCH);
        if (n <= 0)
            break;
        l->datagrams += n;
        memcpy(l->last, msgs[n - 1].data, msgs[n - 1].len);
    }
}

static void on_tick(void *ctx, uint64_t now_us) {
    logic_t *l = ctx;
    (void)now_us;
    l->ticks++;
}

static const cq_worker_ops_t ops = {on_readable, on_tick};

static int read_datagrams(void *arg) {
    return ((logic_t *)arg)->datagrams;
}

static int read_ticks(void *arg) {
    return ((logic_t *)arg)->ticks;
}

static int increment(void *arg) {
    return ++((logic_t *)arg)->counter;
}

static int is_worker_thread(void *arg) {
    logic_t *l = arg;
    uv_thread_t self = uv_thread_self();
    l->worker_thread = self;
    return 1;
}

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burns 20 ms of CPU time of the calling thread (however long that takes on a busy
 * machine: CPU time, not wall-clock time). */
#define SPIN_NS (20u * 1000000u)
static int spin(void *arg) {
    (void)arg;
    uint64_t until = thread_cpu_ns() + SPIN_NS;
    while (thread_cpu_ns() < until)
        ;
    return 0;
}

static struct cq_worker *start(logic_t *l) {
    struct cq_worker *w = NULL;
    cq_worker_config_t cfg = {.host = "127.0.0.1", .port = 0, .tick_ms = 5};
    assert_int_equal(cq_worker_create(&w, &cfg, &ops, l), 0);
    assert_true(cq_worker_port(w) > 0);
    assert_int_equal(cq_worker_start(w), 0);
    return w;
}

static void test_worker_delivers_datagrams_on_its_thread(void **state) {
    (void)state;
    logic_t l = {0};
    struct cq_worker *w = start(&l);
    cq_udp_t sender;
    assert_int_equal(cq_udp_open(&sender, "127.0.0.1", 0, 0, 0), 0);
    cq_udp_addr_t to;
    assert_int_equal(cq_udp_addr_parse(&to, "127.0.0.1", cq_worker_port(w)), 0);
    for (int i = 0; i < 100; i++) {
        uint8_t b = (uint8_t)i;
        assert_int_equal(cq_udp_send_one(&sender, &b, 1, &to), 0);
    }
    /* Bounded wait: loopback delivery is immediate, the worker needs a moment. */
    int got = 0;
    for (int tries = 0; tries < 2000 && got < 100; tries++) {
        got = cq_worker_call(w, read_datagrams, &l);
        if (got < 100)
            uv_sleep(1);
    }
    assert_int_equal(got, 100);
    assert_int_equal(cq_worker_stop(w), 0); /* uv_loop_close() == 0: no handle left open */
    assert_int_equal(l.last[0], 99);
    uv_thread_t self = uv_thread_self();
    assert_false(uv_thread_equal(&self, &l.worker_thread));
    cq_worker_destroy(w);
    cq_udp_close(&sender);
}

static void test_worker_ticks(void **state) {
    (void)state;
    logic_t l = {0};
    struct cq_worker *w = start(&l);
    int ticks = 0;
    for (int tries = 0; tries < 2000 && ticks < 3; tries++) {
        ticks = cq_worker_call(w, read_ticks, &l);
        if (ticks < 3)
            uv_sleep(1);
    }
    assert_true(ticks >= 3);
    cq_worker_destroy(w);
}

/* Many threads hand work to one worker; every call runs exactly once, on the worker. */
typedef struct {
    struct cq_worker *w;
    logic_t *l;
    int calls;
    int failures; /* cmocka's asserts are not for other threads: count, assert in main */
} caller_t;

static void caller_main(void *arg) {
    caller_t *c = arg;
    for (int i = 0; i < c->calls; i++)
        if (cq_worker_call(c->w, increment, c->l) <= 0)
            c->failures++;
}

static void test_worker_call_from_many_threads_runs_each_once(void **state) {
    (void)state;
    logic_t l = {0};
    struct cq_worker *w = start(&l);
    uv_thread_t threads[4];
    caller_t callers[4];
    for (int i = 0; i < 4; i++) {
        callers[i] = (caller_t){w, &l, 500, 0};
        assert_int_equal(uv_thread_create(&threads[i], caller_main, &callers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(uv_thread_join(&threads[i]), 0);
        assert_int_equal(callers[i].failures, 0);
    }
    assert_int_equal(cq_worker_call(w, increment, &l), 2001);
    assert_int_equal(cq_worker_call(w, is_worker_thread, &l), 1);
    uv_thread_t self = uv_thread_self();
    assert_false(uv_thread_equal(&self, &l.worker_thread));
    cq_worker_destroy(w);
}

static void test_worker_call_refused_when_not_running(void **state) {
    (void)state;
    logic_t l = {0};
    struct cq_worker *w = NULL;
    cq_worker_config_t cfg = {.host = "127.0.0.1"};
    assert_int_equal(cq_worker_create(&w, &cfg, &ops, &l), 0);
    assert_int_equal(cq_worker_call(w, increment, &l), CQ_EBADSTATE); /* not started */
    assert_int_equal(cq_worker_start(w), 0);
    assert_int_equal(cq_worker_call(w, increment, &l), 1);
    assert_int_equal(cq_worker_stop(w), 0);
    assert_int_equal(cq_worker_stop(w), 0); /* twice is fine */
    assert_int_equal(cq_worker_call(w, increment, &l), CQ_EBADSTATE);
    assert_int_equal(l.counter, 1);
    cq_worker_destroy(w);

    /* Created but never started: destroy cleans up on this thread. */
    assert_int_equal(cq_worker_create(&w, &cfg, &ops, &l), 0);
    cq_worker_destroy(w);
    cq_worker_destroy(NULL);
}

/* The worker's CPU clock counts what runs on its thread, not what its caller spends. */
static void test_worker_cpu_ns_counts_the_worker_thread(void **state) {
    (void)state;
    logic_t l = {0};
    struct cq_worker *w = NULL;
    cq_worker_config_t cfg = {.host = "127.0.0.1"};
    assert_int_equal(cq_worker_create(&w, &cfg, &ops, &l), 0);
    uint64_t before = 0, after = 0;
    assert_int_equal(cq_worker_cpu_ns(w, &before), CQ_EBADSTATE); /* not started */
    assert_int_equal(cq_worker_start(w), 0);
    assert_int_equal(cq_worker_cpu_ns(w, &before), 0);
    assert_int_equal(cq_worker_call(w, spin, NULL), 0);
    assert_int_equal(cq_worker_cpu_ns(w, &after), 0);
    assert_true(after - before >= SPIN_NS);
    uint64_t idle = after;
    spin(NULL); /* on this thread: not the worker's, which only ticks meanwhile */
    assert_int_equal(cq_worker_cpu_ns(w, &after), 0);
    assert_true(after - idle < SPIN_NS);
    assert_int_equal(cq_worker_stop(w), 0);
    assert_int_equal(cq_worker_cpu_ns(w, &after), CQ_EBADSTATE);
    cq_worker_destroy(w);
}

static void test_worker_create_fails_on_taken_port(void **state) {
    (void)state;
    logic_t l = {0};
    cq_udp_t holder;
    assert_int_equal(cq_udp_open(&holder, "127.0.0.1", 0, 0, 0), 0);
    struct cq_worker *w = NULL;
    cq_worker_config_t cfg = {.host = "127.0.0.1", .port = (uint16_t)cq_udp_local_port(&holder)};
    assert_int_equal(cq_worker_create(&w, &cfg, &ops, &l), -EADDRINUSE);
    assert_null(w);
    cfg.host = "not-an-ip";
    assert_int_equal(cq_worker_create(&w, &cfg, &ops, &l), CQ_EINVAL);
    cq_udp_close(&holder);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_delivers_datagrams_on_its_thread),
        cmocka_unit_test(test_worker_ticks),
        cmocka_unit_test(test_worker_call_from_many_threads_runs_each_once),
        cmocka_unit_test(test_worker_call_refused_when_not_running),
        cmocka_unit_test(test_worker_cpu_ns_counts_the_worker_thread),
        cmocka_unit_test(test_worker_create_fails_on_taken_port),
    };
    return cmocka_run_group_tests_name("relay/worker", tests, NULL, NULL);
}
