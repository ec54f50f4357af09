#include "relay/events.h"

#include "rtp/error.h"

int cq_relay_events_init(cq_relay_events_t *q, uv_async_t *notify) {
    q->notify = notify;
    q->head = q->count = 0;
    q->dropped = 0;
    return uv_mutex_init(&q->lock);
}

void cq_relay_events_close(cq_relay_events_t *q) {
    uv_mutex_destroy(&q->lock);
}

void cq_relay_events_push(cq_relay_events_t *q, const cq_relay_event_t *ev) {
    uv_mutex_lock(&q->lock);
    if (q->count == CQ_RELAY_EVENT_QUEUE) {
        q->dropped++;
    } else {
        q->ring[(q->head + q->count) % CQ_RELAY_EVENT_QUEUE] = *ev;
        q->count++;
    }
    uv_mutex_unlock(&q->lock);
    /* uv_async_send is safe from any thread and coalesces repeated wake-ups. */
    if (q->notify != NULL)
        uv_async_send(q->notify);
}

size_t cq_relay_events_pop(cq_relay_events_t *q, cq_relay_event_t *out, size_t max,
                           uint64_t *dropped) {
    uv_mutex_lock(&q->lock);
    size_t n = q->count < max ? q->count : max;
    for (size_t i = 0; i < n; i++)
        out[i] = q->ring[(q->head + i) % CQ_RELAY_EVENT_QUEUE];
    q->head = (q->head + n) % CQ_RELAY_EVENT_QUEUE;
    q->count -= n;
    if (dropped != NULL) {
        *dropped = q->dropped;
        q->dropped = 0;
    }
    uv_mutex_unlock(&q->lock);
    return n;
}
