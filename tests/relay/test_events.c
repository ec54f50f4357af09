#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/events.h"

static cq_relay_events_t q; /* ~100 KiB: not on the stack */

static cq_relay_event_t ev(uint32_t id) {
    return (cq_relay_event_t){
        .type = CQ_RELAY_EVENT_BOUND, .session_id = 1, .participant_id = id, .time_us = id * 10u};
}

static void test_events_fifo_and_partial_pops(void **state) {
    (void)state;
    assert_int_equal(cq_relay_events_init(&q, NULL), 0);
    for (uint32_t i = 0; i < 10; i++) {
        cq_relay_event_t e = ev(i);
        cq_relay_events_push(&q, &e);
    }
    cq_relay_event_t out[8];
    uint64_t dropped = 99;
    assert_int_equal(cq_relay_events_pop(&q, out, 4, &dropped), 4);
    assert_int_equal(dropped, 0);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(out[i].participant_id, i);
    assert_int_equal(cq_relay_events_pop(&q, out, 8, NULL), 6);
    assert_int_equal(out[0].participant_id, 4);
    assert_int_equal(out[5].participant_id, 9);
    assert_int_equal(out[5].time_us, 90);
    assert_int_equal(cq_relay_events_pop(&q, out, 8, NULL), 0);
    cq_relay_events_close(&q);
}

/* A full queue keeps the oldest events and counts the ones it could not take; after being
 * drained it works across the ring's wrap. */
static void test_events_overflow_is_counted_and_ring_wraps(void **state) {
    (void)state;
    assert_int_equal(cq_relay_events_init(&q, NULL), 0);
    for (uint32_t i = 0; i < CQ_RELAY_EVENT_QUEUE + 5; i++) {
        cq_relay_event_t e = ev(i);
        cq_relay_events_push(&q, &e);
    }
    static cq_relay_event_t out[CQ_RELAY_EVENT_QUEUE];
    uint64_t dropped = 0;
    assert_int_equal(cq_relay_events_pop(&q, out, 100, &dropped), 100);
    assert_int_equal(dropped, 5);
    assert_int_equal(out[0].participant_id, 0);
    for (uint32_t i = 0; i < 50; i++) { /* wraps past the end of the ring */
        cq_relay_event_t e = ev(100000 + i);
        cq_relay_events_push(&q, &e);
    }
    size_t n = cq_relay_events_pop(&q, out, CQ_RELAY_EVENT_QUEUE, &dropped);
    assert_int_equal(n, CQ_RELAY_EVENT_QUEUE - 100 + 50);
    assert_int_equal(dropped, 0); /* reported once, then reset */
    assert_int_equal(out[0].participant_id, 100);
    assert_int_equal(out[n - 1].participant_id, 100049);
    cq_relay_events_close(&q);
}

static int wakeups;
static void on_async(uv_async_t *a) {
    wakeups++;
    uv_close((uv_handle_t *)a, NULL);
}

/* Pushing wakes the owner's loop through its async handle. */
static void test_events_push_wakes_owner_loop(void **state) {
    (void)state;
    uv_loop_t loop;
    uv_async_t async;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(uv_async_init(&loop, &async, on_async), 0);
    assert_int_equal(cq_relay_events_init(&q, &async), 0);
    cq_relay_event_t e = ev(1);
    cq_relay_events_push(&q, &e);
    wakeups = 0;
    uv_run(&loop, UV_RUN_DEFAULT); /* returns once the callback closed the handle */
    assert_int_equal(wakeups, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
    cq_relay_events_close(&q);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_fifo_and_partial_pops),
        cmocka_unit_test(test_events_overflow_is_counted_and_ring_wraps),
        cmocka_unit_test(test_events_push_wakes_owner_loop),
    };
    return cmocka_run_group_tests_name("relay/events", tests, NULL, NULL);
}
