/*
 * The district's JSON API as a function: a request (method, path, headers that matter,
 * body) in, a response (status, JSON body) out. No sockets here: signaling/http.c carries
 * requests from libwebsockets to cq_api_handle, tests call it directly, and the fuzz
 * target feeds it whatever bytes it likes. docs/PROTOCOL.md lists the routes.
 *
 * Every error is JSON: {"error": "<kind>", "reason": "<words for a person>"} and, when one
 * field of the request is at fault, "field": "<its name>".
 *
 * One owner thread (the main loop); the store is the API's for as long as it lives.
 */
#ifndef CQ_SIGNALING_API_H
#define CQ_SIGNALING_API_H

#include <stddef.h>
#include <stdint.h>

#include "signaling/media.h"

struct cq_api;
struct cq_hub;
struct cq_store;

/* Bodies larger than this are refused with 413 before they are parsed. */
#define CQ_API_MAX_BODY (64 * 1024)

typedef struct {
    const char *method;        /* "GET", "POST", "PATCH", "PUT", "DELETE", ... */
    const char *path;          /* without the query string */
    const char *query;         /* what follows '?', or NULL */
    const char *authorization; /* the Authorization header, or NULL */
    const char *body;          /* not NUL-terminated; may be NULL when body_len is 0 */
    size_t body_len;
    const char *local_address; /* the server address the client reached, or NULL */
    const char *peer_address;  /* the client's address, for limiting failed attempts */
} cq_api_request_t;

/* A client address that fails authentication this often within the window (a wrong
 * operator key, a bad or refused join token) is answered 429 until the window ends. */
#define CQ_API_MAX_FAILURES   10
#define CQ_API_FAILURE_WINDOW 60 /* seconds */

typedef struct {
    int status;
    char *body; /* JSON text, malloc'd (free with cq_api_response_free), NULL for 204 */
    size_t body_len;
    const char *allow;        /* on 405: the methods the path takes, for the Allow header */
    const char *content_type; /* NULL: application/json */
    /* Instead of body, a file sent as it is, read a chunk at a time while it goes out (a
     * recording's hundreds of megabytes never sit in memory): its path, malloc'd, freed
     * with the response. */
    char *file;
} cq_api_response_t;

/* Unix seconds now; tests inject their own to drive the schedule. */
typedef int64_t (*cq_api_clock_fn)(void *ctx);

typedef struct {
    struct cq_store *store;   /* borrowed; outlives the API */
    const char *operator_key; /* copied: what operator requests present as a bearer token */
    cq_api_clock_fn clock;    /* NULL: the system clock */
    void *clock_ctx;
    const uint8_t *token_secret; /* copied: what join tokens are signed with */
    size_t token_secret_len;     /* 16..128 bytes */
    const cq_media_ops_t *media; /* copied; NULL: no media plane (joins answer 503) */
    const char *public_ip;       /* the media address told to telecentres; NULL: the address
                                    each reached the API on */
    struct cq_hub *hub;          /* borrowed; NULL: nobody is told of the schedule's events */
} cq_api_config_t;

/* Returns 0, CQ_EINVAL (no store, an operator key shorter than 16 characters, a token
 * secret shorter than 16 bytes) or CQ_ENOMEM. */
int cq_api_create(struct cq_api **out, const cq_api_config_t *cfg);
void cq_api_destroy(struct cq_api *a);

/* Answers one request. Never fails: what cannot be done is an error response (5xx when
 * the store fails). *res must be freed with cq_api_response_free. */
void cq_api_handle(struct cq_api *a, const cq_api_request_t *req, cq_api_response_t *res);
void cq_api_response_free(cq_api_response_t *res);

/* Moves every session to the state the clock says (open, live, ended). Runs before each
 * request and on the daemon's timer. */
void cq_api_tick(struct cq_api *a);

#endif
