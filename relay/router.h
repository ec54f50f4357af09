/*
 * A worker's session logic: the sessions, participants, streams and consumers that live
 * on one worker, and what happens to each datagram that arrives there.
 *
 * Everything here runs on the worker's thread (cq_router_on_readable and _on_tick are the
 * worker's ops; the other functions are run through cq_worker_call by relay.c), so nothing
 * is locked. Control operations allocate; the packet path does not.
 */
#ifndef CQ_RELAY_ROUTER_H
#define CQ_RELAY_ROUTER_H

#include <stdint.h>

#include "relay/events.h"
#include "relay/relay.h"
#include "relay/udp.h"

struct cq_router;

typedef struct {
    uint64_t consent_us;          /* unbind a participant silent this long; 0: 30 s */
    uint64_t seed;                /* for outgoing SSRCs; 0 picks a fixed one (tests) */
    cq_relay_events_t *events;    /* where events go; NULL drops them */
    uint64_t stats_log_us;        /* a stats line per participant this often; 0: never */
    bool adapt;                   /* pace and allocate each downlink by its estimate */
    bool copies;                  /* TL0 twice on long, lossy round trips (PROTECT_RTT_US) */
    struct cq_recorder *recorder; /* the worker's (relay/recorder.h); NULL: none */
} cq_router_config_t;

/* The worker's tick for a router: the pacers' resolution (the control path runs every
 * fourth). */
#define CQ_ROUTER_TICK_MS 5

int cq_router_create(struct cq_router **out, const cq_router_config_t *cfg);

/* Closes every session, telling subscribers with BYE; on the worker thread, while its
 * socket is open. */
void cq_router_close_all(struct cq_router *r);

/* Frees everything without sending: callable after the worker stopped. */
void cq_router_destroy(struct cq_router *r);

/* Worker ops (ctx is the router). */
void cq_router_on_readable(void *ctx, cq_udp_t *udp, uint64_t now_us);
void cq_router_on_tick(void *ctx, uint64_t now_us);

/* Control, on the worker thread; same results as the relay.h functions they serve. */
unsigned cq_router_session_count(const struct cq_router *r);
int cq_router_session_create(struct cq_router *r, uint32_t session_id);
int cq_router_session_close(struct cq_router *r, uint32_t session_id);
int cq_router_participant_add(struct cq_router *r, uint32_t session_id,
                              const cq_relay_participant_params_t *p);
int cq_router_participant_remove(struct cq_router *r, uint32_t session_id, uint32_t id);
int cq_router_participant_mute(struct cq_router *r, uint32_t session_id, uint32_t id, bool muted);
int cq_router_subscribe(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                        uint32_t publisher);
int cq_router_unsubscribe(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                          uint32_t publisher);
int cq_router_consumer_ssrcs(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                             uint32_t publisher, cq_relay_consumer_ssrcs_t *out);
int cq_router_set_layer_prefs(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                              uint32_t publisher, const cq_relay_layer_prefs_t *prefs);
int cq_router_participant_stats(struct cq_router *r, uint32_t session_id, uint32_t id,
                                cq_relay_participant_stats_t *out);
int cq_router_stream_stats(struct cq_router *r, uint32_t session_id, uint32_t id,
                           cq_relay_stream_stats_t *out, size_t *n);
int cq_router_consumer_stats(struct cq_router *r, uint32_t session_id, uint32_t subscriber,
                             uint32_t publisher, cq_relay_consumer_stats_t *out);
void cq_router_worker_stats(const struct cq_router *r, cq_relay_worker_stats_t *out);
int cq_router_recording_set(struct cq_router *r, uint32_t session_id, bool on);
int cq_router_recording_status(struct cq_router *r, uint32_t session_id,
                               cq_relay_recording_status_t *out);

#endif
