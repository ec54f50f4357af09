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

/* Unix seconds now: when a hand went up. */
typedef int64_t (*cq_hub_clock_fn)(void *ctx);

typedef struct {
    cq_hub_send_fn send;
    void *send_ctx;
    const cq_media_ops_t *media; /* copied; NULL: layer requests are refused */
    cq_hub_clock_fn clock;       /* NULL: the system clock */
    void *clock_ctx;
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
/* Tells everyone in session that it is recorded now, or no longer (why: "operator", or
 * "disk" when the relay's recorder stopped it: free space under its floor, or a file it
 * could not write): people have a right to know. */
void cq_hub_recording(struct cq_hub *h, int64_t session, bool on, const char *why);
/* Tells everyone in session it ended and closes their connections. */
void cq_hub_session_ended(struct cq_hub *h, int64_t session);

/*
 * The operator's side of a session (docs/PROTOCOL.md "Operator controls"). The hub owns
 * the queue of raised hands and who the operator muted, per session and telecentre, so
 * both outlive a control connection that drops and comes back (attach); a telecentre that
 * leaves (its connection closes) takes its hand down. Everything ends with the session.
 */
typedef struct {
    int64_t telecentre;
    int64_t since_s; /* Unix time the hand went up */
} cq_hub_hand_t;

/* The raised hands of session in the order they went up: up to max into out. Returns
 * how many there are (which may be more than max). */
size_t cq_hub_hands(const struct cq_hub *h, int64_t session, cq_hub_hand_t *out, size_t max);

/* Takes telecentre's hand down (everyone is told, as when it lowers it itself). Returns
 * whether it was up. */
bool cq_hub_lower_hand(struct cq_hub *h, int64_t session, int64_t telecentre);

/* Tells everyone in session that the operator promoted telecentre to speaker (its hand
 * goes down) or demoted it back to viewer: {"type":"promoted"|"demoted","telecentre":N}.
 * The telecentre itself then joins again to get or give up its sending credentials. */
void cq_hub_promoted(struct cq_hub *h, int64_t session, int64_t telecentre, bool promoted);

/* The operator muted (or unmuted) telecentre: everyone is told, with "by":"operator",
 * and until the operator unmutes it the telecentre cannot unmute itself. Returns 0 or
 * CQ_ENOMEM. */
int cq_hub_operator_mute(struct cq_hub *h, int64_t session, int64_t telecentre, bool muted);
bool cq_hub_operator_muted(const struct cq_hub *h, int64_t session, int64_t telecentre);

/* The operator removed telecentre, which was in the session's media: its connection (if
 * up) is told {"type":"removed"} and closed, the others are told it left; its hand and
 * mute are forgotten. */
void cq_hub_evict(struct cq_hub *h, int64_t session, int64_t telecentre);

/* Connections in session now (for tests and /metrics). */
size_t cq_hub_count(const struct cq_hub *h, int64_t session);

#endif
