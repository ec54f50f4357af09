/*
 * Log lines for operators: one line per event, "2026-11-23T05:49:52.123Z info relay: ...",
 * to stderr unless a sink is installed (tests capture lines that way). Callable from any
 * thread; each line is formatted on the caller's stack and written whole.
 *
 * The media path never logs per packet: it counts, and logs a cause at most once a
 * second through a cq_log_limit_t (STYLE.md, "Errors").
 *
 * It lives in signaling/, the lowest layer that may log (rtp/ and codec/ never do), so the
 * control plane and the relay above it share one format.
 */
#ifndef CQ_SIGNALING_LOG_H
#define CQ_SIGNALING_LOG_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    CQ_LOG_ERROR = 0,
    CQ_LOG_WARN,
    CQ_LOG_INFO,
    CQ_LOG_DEBUG,
} cq_log_level_t;

/* Longest line written, the rest is cut. */
#define CQ_LOG_LINE_MAX 1024

/* Lines above this level are dropped; CQ_LOG_INFO at start. */
void cq_log_set_level(cq_log_level_t level);
bool cq_log_enabled(cq_log_level_t level);

/* Where lines go: fn(level, line without its newline, ctx) instead of stderr; NULL puts
 * stderr back. Set it before threads log (it is not synchronised with them). */
typedef void (*cq_log_sink_fn)(cq_log_level_t level, const char *line, void *ctx);
void cq_log_set_sink(cq_log_sink_fn fn, void *ctx);

/* Logs one line from module (a short name: "relay", "sig") at level. */
void cq_log(cq_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* At most one line per interval for one cause; what was held back is counted so the next
 * line can say how many. A plain value per cause, owned by one thread. */
typedef struct {
    uint64_t interval_us; /* 0: one second */
    uint64_t last_us;     /* 0: never logged */
    uint64_t suppressed;  /* since the last line */
} cq_log_limit_t;

/* Whether a line may be logged now; when it says no, the event is counted instead. On
 * yes, *suppressed (if not NULL) receives the count held back since the last line. */
bool cq_log_limit_allow(cq_log_limit_t *lim, uint64_t now_us, uint64_t *suppressed);

#endif
