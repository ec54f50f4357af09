/*
 * The district server's HTTP endpoint: libwebsockets on the main libuv loop (its evlib-uv
 * plugin joins a loop it does not own), carrying each request to the API (signaling/api.h)
 * and its answer back, and each telecentre's WebSocket (subprotocol "chasqui") to the hub
 * (signaling/hub.h). This file holds no routes and no JSON beyond the WebSocket's join.
 *
 * WebSocket: the first message is {"type":"join","session":N,"token":"..."}, answered
 * {"type":"welcome","join":<the join answer>} (docs/PROTOCOL.md) or an error and a close;
 * after it, messages are the hub's requests and events. Messages are at most 8 KiB.
 *
 * Limits: a body larger than CQ_API_MAX_BODY is refused with 413 before it is read; a
 * request line or headers libwebsockets cannot parse close that connection only.
 */
#ifndef CQ_SIGNALING_HTTP_H
#define CQ_SIGNALING_HTTP_H

#include <stdint.h>

#include <uv.h>

#include <stdbool.h>
#include <stddef.h>

struct cq_http;
struct cq_api;
struct cq_hub;

typedef struct {
    uv_loop_t *loop;    /* the main loop; must outlive the server */
    const char *host;   /* interface to listen on; NULL for every one */
    uint16_t port;      /* 0 lets the kernel pick (tests) */
    struct cq_api *api; /* borrowed */
    struct cq_hub *hub; /* borrowed; NULL: WebSocket connections are refused */
} cq_http_config_t;

/* Starts listening. Returns 0, CQ_ENOMEM, or CQ_EIO for any failure to listen (a port in
 * use, an address not on this machine): libwebsockets does not say which, its log does. */
int cq_http_create(struct cq_http **out, const cq_http_config_t *cfg);

/* The hub's send function (cq_hub_send_fn) for connections of this server: queues text
 * as a WebSocket message to conn, and closes it after when close is set. */
void cq_http_ws_send(void *conn, const char *text, size_t len, bool close, void *ctx);

/* The TCP port it listens on. */
uint16_t cq_http_port(const struct cq_http *h);

/*
 * Stopping takes two steps, because libuv closes handles asynchronously: cq_http_stop,
 * while the loop runs, stops listening and closes every connection; the owner lets the
 * loop run until those closes are done (uv_run returns), then cq_http_destroy frees what
 * is left. Both accept NULL; cq_http_destroy alone (never started a loop) is fine too.
 */
void cq_http_stop(struct cq_http *h);
void cq_http_destroy(struct cq_http *h);

#endif
