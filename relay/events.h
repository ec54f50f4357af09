/*
 * The queue that carries events from workers to the relay's owner: bounded, filled by
 * any worker thread, drained by the owner's. A full queue drops the newest event and
 * counts it, since a worker must neither block nor allocate for the control plane.
 */
#ifndef CQ_RELAY_EVENTS_H
#define CQ_RELAY_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "relay/relay.h"

typedef struct {
    uv_mutex_t lock;
    uv_async_t *notify; /* may be NULL */
    size_t head, count;
    uint64_t dropped;
    cq_relay_event_t ring[CQ_RELAY_EVENT_QUEUE];
} cq_relay_events_t;

int cq_relay_events_init(cq_relay_events_t *q, uv_async_t *notify);
void cq_relay_events_close(cq_relay_events_t *q);

/* Any thread. Never blocks for long (a short lock), never allocates. */
void cq_relay_events_push(cq_relay_events_t *q, const cq_relay_event_t *ev);

/* Owner's thread: moves up to max events into out; see cq_relay_poll_events. */
size_t cq_relay_events_pop(cq_relay_events_t *q, cq_relay_event_t *out, size_t max,
                           uint64_t *dropped);

#endif
