/*
 * chasqui-client's control connection: after the HTTP join, a WebSocket that attaches to
 * the session (docs/PROTOCOL.md) and hears who comes and goes, who speaks, and when the
 * session ends. When it drops it comes back by itself (1 s, doubling to 30 s) and attaches
 * again, the media untouched. Only when the server no longer has this telecentre (the
 * attach is refused as not_joined), or the relay answers the link's checks with 401 for
 * ten seconds, does the client join again, with new keys.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client/app/app.h"

enum {
    BACKOFF_FIRST_MS = 1000,
    BACKOFF_MAX_MS = 30000,
    WATCH_EVERY_MS = 1000,
    REJOIN_AFTER_MS = 10000, /* of a link down with the relay refusing its checks */
};

__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "chasqui-client: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void open_hub(app_t *app);

static void on_message(void *ctx, const char *text, size_t len) {
    app_t *app = ctx;
    app_control_stats_t *c = &app->control;
    json_t *o = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(o, "type"));
    long long tc = (long long)json_integer_value(json_object_get(o, "telecentre"));
    if (type == NULL) {
        /* Nothing the server would send: ignored. */
    } else if (strcmp(type, "attached") == 0) {
        c->up = true;
        app->backoff_ms = 0;
        json_t *others = json_object_get(json_object_get(o, "attach"), "participants");
        say("in touch with the district server; %zu other telecentre(s) here",
            json_array_size(others));
    } else if (strcmp(type, "joined") == 0) {
        c->joined++;
        say("telecentre %lld joined", tc);
    } else if (strcmp(type, "left") == 0) {
        c->left++;
        say("telecentre %lld left", tc);
        if (app->ep != NULL)
            cq_endpoint_forget(app->ep, (uint32_t)tc);
    } else if (strcmp(type, "speaker") == 0) {
        c->speaker_changes++;
        c->speaker = (uint32_t)tc;
    } else if (strcmp(type, "session_ending") == 0) {
        c->ending_in_s = (int64_t)json_integer_value(json_object_get(o, "seconds"));
        say("the session ends in %lld s", (long long)c->ending_in_s);
    } else if (strcmp(type, "session_ended") == 0) {
        c->ended = true;
        say("the session has ended");
        app_stop(app, EXIT_OK);
    } else if (strcmp(type, "replaced") == 0) {
        say("this telecentre joined again from elsewhere: leaving");
        app_stop(app, EXIT_REFUSED);
    } else if (strcmp(type, "error") == 0) {
        const char *error = json_string_value(json_object_get(o, "error"));
        const char *reason = json_string_value(json_object_get(o, "reason"));
        if (error != NULL && strcmp(error, "not_joined") == 0)
            app->rejoin_wanted = true;
        say("the server says: %s", reason ? reason : error ? error : "an error");
    }
    json_decref(o);
}

static void on_retry(uv_timer_t *t) {
    app_t *app = t->data;
    if (app->rejoin_wanted) {
        app->rejoin_wanted = false;
        app->control.rejoins++;
        cq_endpoint_close(app->ep);
        app->ep = NULL;
        if (app_join(app) != EXIT_OK || app_start_media(app) != EXIT_OK) {
            /* The server unreachable (the same outage), or refusing: try again later. */
            app->rejoin_wanted = true;
            app->backoff_ms = app->backoff_ms ? app->backoff_ms * 2 : BACKOFF_FIRST_MS;
            if (app->backoff_ms > BACKOFF_MAX_MS)
                app->backoff_ms = BACKOFF_MAX_MS;
            uv_timer_start(&app->retry_timer, on_retry, app->backoff_ms, 0);
            return;
        }
    }
    app->control.reconnects++;
    open_hub(app);
}

static void on_close(void *ctx, const char *why) {
    app_t *app = ctx;
    bool was_up = app->control.up;
    app->control.up = false;
    cq_hubconn_close(app->hub);
    app->hub = NULL;
    if (app->control.ended)
        return;
    if (app->rejoin_wanted) {
        /* The server is there and said who it lacks: join at once. */
        uv_timer_start(&app->retry_timer, on_retry, 0, 0);
        return;
    }
    app->backoff_ms = app->backoff_ms ? app->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (app->backoff_ms > BACKOFF_MAX_MS)
        app->backoff_ms = BACKOFF_MAX_MS;
    if (was_up)
        say("the connection to the district server ended (%s); again in %lld s", why,
            (long long)app->backoff_ms / 1000);
    uv_timer_start(&app->retry_timer, on_retry, app->backoff_ms, 0);
}

static void open_hub(app_t *app) {
    char first[1200];
    snprintf(first, sizeof first, "{\"type\":\"attach\",\"session\":%u,\"token\":\"%s\"}",
             (unsigned)app->join.session, app->opt->token);
    cq_hubconn_config_t hc = {.host = app->url.host,
                              .port = app->url.port,
                              .first_message = first,
                              .on_message = on_message,
                              .on_close = on_close,
                              .ctx = app};
    if (cq_hubconn_open(&app->hub, app->loop, &hc) != 0) {
        app->backoff_ms = BACKOFF_MAX_MS;
        uv_timer_start(&app->retry_timer, on_retry, app->backoff_ms, 0);
    }
}

/* The relay answering the link's checks with errors for a while has forgotten this
 * telecentre (restarted, or it removed it): only a new join brings the media back. */
static void on_watch(uv_timer_t *t) {
    app_t *app = t->data;
    if (app->ep == NULL || app->rejoin_wanted)
        return;
    cq_endpoint_stats_t st;
    cq_endpoint_stats(app->ep, &st);
    uint64_t now = uv_now(app->loop);
    if (st.up) {
        app->link_down_ms = 0;
        return;
    }
    if (app->link_down_ms == 0) {
        app->link_down_ms = now;
        app->link_errors_at_down = st.link.check_errors;
        return;
    }
    if (now - app->link_down_ms >= REJOIN_AFTER_MS &&
        st.link.check_errors > app->link_errors_at_down) {
        say("the relay no longer knows this telecentre: joining again");
        app->link_down_ms = 0;
        app->rejoin_wanted = true;
        app->backoff_ms = 0;
        cq_hubconn_close(app->hub);
        app->hub = NULL;
        app->control.up = false;
        uv_timer_start(&app->retry_timer, on_retry, 0, 0);
    }
}

void app_control_start(app_t *app) {
    app->control.ending_in_s = -1;
    uv_timer_init(app->loop, &app->retry_timer);
    uv_timer_init(app->loop, &app->watch_timer);
    app->retry_timer.data = app->watch_timer.data = app;
    uv_timer_start(&app->watch_timer, on_watch, WATCH_EVERY_MS, WATCH_EVERY_MS);
    open_hub(app);
}

void app_control_stop(app_t *app) {
    cq_hubconn_close(app->hub);
    app->hub = NULL;
    uv_close((uv_handle_t *)&app->retry_timer, NULL);
    uv_close((uv_handle_t *)&app->watch_timer, NULL);
}
