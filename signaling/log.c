#include "signaling/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int max_level = CQ_LOG_INFO;
static cq_log_sink_fn sink;
static void *sink_ctx;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void cq_log_set_level(cq_log_level_t level) {
    atomic_store(&max_level, (int)level);
}

bool cq_log_enabled(cq_log_level_t level) {
    return (int)level <= atomic_load(&max_level);
}

void cq_log_set_sink(cq_log_sink_fn fn, void *ctx) {
    sink = fn;
    sink_ctx = ctx;
}

void cq_log(cq_log_level_t level, const char *module, const char *fmt, ...) {
    if (!cq_log_enabled(level) || (unsigned)level > CQ_LOG_DEBUG)
        return;
    char line[CQ_LOG_LINE_MAX + 2];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    int k = snprintf(line + n, sizeof line - n, ".%03ldZ %s %s: ", ts.tv_nsec / 1000000L,
                     level_names[level], module);
    if (k > 0)
        n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
    va_list ap;
    va_start(ap, fmt);
    k = vsnprintf(line + n, CQ_LOG_LINE_MAX + 1 - n, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < CQ_LOG_LINE_MAX + 1 - n ? (size_t)k : CQ_LOG_LINE_MAX - n;
    line[n] = '\0';
    if (sink != NULL) {
        sink(level, line, sink_ctx);
        return;
    }
    line[n] = '\n';
    /* One write per line, so lines from several threads do not interleave. */
    fwrite(line, 1, n + 1, stderr);
}

bool cq_log_limit_allow(cq_log_limit_t *lim, uint64_t now_us, uint64_t *suppressed) {
    uint64_t interval = lim->interval_us ? lim->interval_us : 1000000u;
    if (lim->last_us != 0 && now_us - lim->last_us < interval) {
        lim->suppressed++;
        return false;
    }
    if (suppressed != NULL)
        *suppressed = lim->suppressed;
    lim->suppressed = 0;
    lim->last_us = now_us;
    return true;
}
