/*
 * A relay worker: one thread, one libuv loop, one UDP socket (ARCHITECTURE.md, "Threads
 * and loops").
 *
 * The worker owns everything it runs: the session logic attached through the ops is only
 * ever called on the worker's thread, so it needs no locks. Other threads reach it in one
 * way: cq_worker_call runs a function on the worker thread between receive batches and
 * waits for its result (the thread-safe hand-off from the main loop). The socket is
 * polled with uv_poll_t rather than read through uv_udp_t, because the session logic
 * reads and writes it in batches (relay/udp.h).
 */
#ifndef CQ_RELAY_WORKER_H
#define CQ_RELAY_WORKER_H

#include <stdint.h>

#include <uv.h>

#include "relay/udp.h"

struct cq_worker;

/* What the worker calls, always on its own thread. ctx is the session logic's. */
typedef struct {
    /* The socket is readable: receive batches (cq_udp_recv) until it returns fewer than
     * asked, or until a budget of batches if fairness to timers matters. */
    void (*on_readable)(void *ctx, cq_udp_t *udp, uint64_t now_us);
    /* Every tick_ms: RTCP reports, consent timeouts, NACK retries, stats. May be NULL. */
    void (*on_tick)(void *ctx, uint64_t now_us);
} cq_worker_ops_t;

typedef struct {
    const char *host;   /* bind address: NULL or "::" for dual-stack on every address */
    uint16_t port;      /* 0 picks a free port (tests) */
    int rcvbuf, sndbuf; /* socket buffer sizes asked for; 0 keeps the kernel's */
    unsigned tick_ms;   /* 0 for the default, 20 ms */
} cq_worker_config_t;

/*
 * Opens the socket and prepares the loop; the thread starts with cq_worker_start.
 * ops and ctx must outlive the worker. Returns 0 and *out, or a negated errno / CQ_E code
 * (the socket could not be opened or bound: the port is taken, the address is not ours).
 */
int cq_worker_create(struct cq_worker **out, const cq_worker_config_t *cfg,
                     const cq_worker_ops_t *ops, void *ctx);

/* Starts the worker thread. Returns 0 or a libuv error. */
int cq_worker_start(struct cq_worker *w);

/*
 * Runs fn(arg) on the worker thread and returns what it returned. Blocks the caller until
 * then (microseconds: the worker runs commands between receive batches). Called from the
 * worker thread itself it runs fn directly. Returns CQ_EBADSTATE if the worker is not
 * running (never started, or stopped).
 */
int cq_worker_call(struct cq_worker *w, int (*fn)(void *arg), void *arg);

/* The bound UDP port (after port 0 was asked for). */
uint16_t cq_worker_port(const struct cq_worker *w);

/* CPU time the worker's thread has used so far, in nanoseconds, into *ns: what it costs,
 * apart from the threads around it (chasqui-bench divides forwarded packets by it).
 * Callable from the owner's thread while the worker runs. Returns 0, CQ_EBADSTATE (not
 * started, or stopped) or a negated errno from the thread's CPU clock. */
int cq_worker_cpu_ns(const struct cq_worker *w, uint64_t *ns);

/* The worker's loop, for handles the session logic adds on the worker thread (timers). */
uv_loop_t *cq_worker_loop(struct cq_worker *w);

/*
 * Stops the thread: handles are closed and the loop runs to completion, then the thread is
 * joined. Pending and later cq_worker_call return CQ_EBADSTATE. Returns 0, or the error of
 * uv_loop_close (a handle left open: a bug). Safe to call twice.
 */
int cq_worker_stop(struct cq_worker *w);

/* Stops if needed, closes the socket and frees the worker. NULL is fine. */
void cq_worker_destroy(struct cq_worker *w);

#endif
