/*
 * The live side of a session: the telecentres connected to it over WebSocket, the events
 * they are told (who joined or left, who speaks, hands raised, mutes, the session ending)
 * and the requests they make (mute, pin, preferred maximum layer, raise hand).
 *
 * Transport-free, like the API: a connection is an opaque pointer, and everything the hub
 * says goes out through the send function it was given (signaling/http.c queues it as a
 * WebSocket text frame; tests collect it). Messages are JSON objects with a "type".
 *
 * One owner thread (the main loop).
 */
#ifndef CQ_SIGNALING_HUB_H
#define CQ_SIGNALING_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "signaling/media.h"
#include "signaling/token.h"

struct cq_hub;

/* Sends text (a JSON message) to conn; close asks the transport to close the connection
 * after it (the session ended, or the peer broke the protocol). */
typedef void (*cq_hub_send_fn)(void *conn, const char *text, size_t len, bool close, void *ctx);

typedef struct {
    cq_hub_send_fn send;
    void *send_ctx;
    const cq_media_ops_t *media; /* copied; NULL: layer requests are refused */
} cq_hub_config_t;

int cq_hub_create(struct cq_hub **out, const cq_hub_config_t *cfg);
void cq_hub_destroy(struct cq_hub *h);

/* conn joined session as telecentre in role (after a successful join answer). The others
 * in the session are told. A telecentre already connected (a reconnect) replaces its old
 * connection, which is closed. Returns 0 or CQ_ENOMEM. */
int cq_hub_add(struct cq_hub *h, void *conn, int64_t session, int64_t telecentre, cq_role_t role);

/* conn went away; the others are told. Unknown connections are ignored. */
void cq_hub_remove(struct cq_hub *h, void *conn);

/* Whether conn has joined (its messages are requests, not a join). */
bool cq_hub_has(const struct cq_hub *h, void *conn);

/* A request from conn (text of len bytes). Bad requests are answered with an error
 * message to conn alone; they change nothing. */
void cq_hub_message(struct cq_hub *h, void *conn, const char *text, size_t len);

/* Events from the media plane and the schedule. */
void cq_hub_speaker(struct cq_hub *h, int64_t session, int64_t telecentre);
void cq_hub_session_ending(struct cq_hub *h, int64_t session, int64_t seconds_left);
/* Tells subscriber (only) that it now receives publisher's video at spatial layer (-1:
 * none; with the bandwidth allocation of issue 7, the audio-only notice). */
void cq_hub_layer(struct cq_hub *h, int64_t session, int64_t subscriber, int64_t publisher,
                  int spatial);
/* Tells everyone in session it ended and closes their connections. */
void cq_hub_session_ended(struct cq_hub *h, int64_t session);

/* Connections in session now (for tests and /metrics). */
size_t cq_hub_count(const struct cq_hub *h, int64_t session);

#endif
