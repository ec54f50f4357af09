/*
 * The telecentre's control connection to the district server: a WebSocket (client/wsframe.h)
 * over TCP on the client's libuv loop, "ws://host:port/ws" with the chasqui subprotocol.
 * It sends the first message given (the attach, docs/PROTOCOL.md) once upgraded, hands
 * every text message up, answers pings, and pings the server itself every 15 s: a server
 * silent for 40 s is taken as gone, which on a VSAT link is the only way to learn it.
 *
 * One connection per object: when it ends (on_close, once), the caller closes it and,
 * if it wants, opens another. Owned by the loop's thread.
 */
#ifndef CQ_CLIENT_HUBCONN_H
#define CQ_CLIENT_HUBCONN_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct cq_hubconn;

typedef struct {
    const char *host; /* a name or an address literal */
    uint16_t port;
    const char *first_message;                                   /* sent once upgraded (copied) */
    void (*on_message)(void *ctx, const char *text, size_t len); /* NUL-terminated */
    /* The connection ended: refused, lost, closed by the server, or broke the protocol;
     * why says which, for the log. No callback follows. */
    void (*on_close)(void *ctx, const char *why);
    void *ctx;
} cq_hubconn_config_t;

/* Starts resolving and connecting. Returns 0 or CQ_EINVAL / CQ_ENOMEM; later failures
 * come through on_close. */
int cq_hubconn_open(struct cq_hubconn **out, uv_loop_t *loop, const cq_hubconn_config_t *cfg);

/* Sends a text message. Returns 0, CQ_EBADSTATE (not upgraded yet, or ended) or CQ_ENOMEM. */
int cq_hubconn_send(struct cq_hubconn *c, const char *text);

/* Ends the connection (a close frame if it was open) and frees it once libuv is done with
 * its handles; no callback follows. NULL is fine. */
void cq_hubconn_close(struct cq_hubconn *c);

#endif
