/*
 * chasqui-client's control connection: after the HTTP join, a WebSocket that attaches to
 * the session (docs/PROTOCOL.md) and hears who comes and goes, who speaks, and when the
 * session ends. When it drops it comes back by itself (1 s, doubling to 30 s) and attaches
 * again, the media untouched. Only when the server no longer has this telecentre (the
 * attach is refused as not_joined), or the relay answers the link's checks with 401 for
 * ten seconds, does the client join again, with new keys.
 *
 * The operator's controls (docs/PROTOCOL.md "Operator controls"): a promotion or demotion
 * of this telecentre is carried out by joining again with the same token, the same path
 * as above, so its media restarts as the role the join answers (a speaker sends its sound
 * and the layers it makes; a viewer sends nothing); a removal ends the client with its own
 * exit status; an operator's mute is told to the user.
 *
 * The telecentre raises its hand (the window's H key, or SIGUSR1 headless) to ask to speak:
 * app_control_hand toggles it. The hand is the server's: the client says what it wants
 * and follows the server's `hand` events about itself; a promotion lowers it, and so does
 * a dropped connection (the user raises it again once back).
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
static void on_retry(uv_timer_t *t);

/* Joins again now: the control connection closes, and on_retry joins and restarts the
 * media with the new answer before it attaches again. */
static void rejoin_now(app_t *app) {
    app->rejoin_wanted = true;
    app->backoff_ms = 0;
    cq_hubconn_close(app->hub);
    app->hub = NULL;
    app->control.up = false;
    uv_timer_start(&app->retry_timer, on_retry, 0, 0);
}

/* The operator removed this telecentre: nothing will let it back in, so the client stops. */
static void removed(app_t *app) {
    app->control.ended = true; /* no reconnects */
    say("the operator removed this telecentre from the session: leaving");
    app_stop(app, EXIT_REMOVED);
}

/* The operator's events that concern this telecentre itself (tc); others' are ignored. */
static void operator_event(app_t *app, const char *type, long long tc, json_t *o) {
    app_control_stats_t *c = &app->control;
    if (tc != (long long)app->join.telecentre)
        return;
    if (strcmp(type, "promoted") == 0 || strcmp(type, "demoted") == 0) {
        bool up = type[0] == 'p';
        c->promotions += up;
        c->demotions += !up;
        c->hand_raised = false; /* the server lowers the hand of one it promotes */
        say("the operator made this telecentre %s: joining again",
            up ? "a speaker (it sends its sound, and its picture if the link allows)"
               : "a viewer again (it stops sending)");
        rejoin_now(app);
    } else if (strcmp(type, "hand") == 0) {
        c->hand_raised = json_is_true(json_object_get(o, "raised"));
    } else if (strcmp(type, "muted") == 0) {
        c->muted_by_operator = json_is_true(json_object_get(o, "muted"));
        say(c->muted_by_operator
                ? "the operator muted this telecentre: the others do not hear it"
                : "the operator unmuted this telecentre: the others hear it again");
    }
}

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
        /* A closed connection took this telecentre's hand down (the operator's queue is of
         * connected telecentres); and whatever the operator decided while it was away
         * (promoted, demoted) came as an event it could not hear: the role it is attached
         * as says it. */
        c->hand_raised = false;
        json_t *attach = json_object_get(o, "attach");
        const char *role = json_string_value(json_object_get(attach, "role"));
        json_t *others = json_object_get(attach, "participants");
        say("in touch with the district server; %zu other telecentre(s) here",
            json_array_size(others));
        if (role != NULL && strcmp(role, app->join.role) != 0) {
            say("the operator made this telecentre a %s meanwhile: joining again", role);
            rejoin_now(app);
        }
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
    } else if (strcmp(type, "promoted") == 0 || strcmp(type, "demoted") == 0 ||
               strcmp(type, "hand") == 0 ||
               (strcmp(type, "muted") == 0 &&
                json_string_value(json_object_get(o, "by")) != NULL)) {
        operator_event(app, type, tc, o);
    } else if (strcmp(type, "recording") == 0) {
        bool on = json_is_true(json_object_get(o, "on"));
        const char *by = json_string_value(json_object_get(o, "by"));
        app->control.recorded = on;
        say(on                                      ? "this session is being recorded"
            : by != NULL && strcmp(by, "disk") == 0 ? "the recording stopped: the server could not "
                                                      "go on writing it (disk full or failing)"
                                                    : "the recording stopped");
    } else if (strcmp(type, "removed") == 0) {
        removed(app);
    } else if (strcmp(type, "replaced") == 0) {
        say("this telecentre joined again from elsewhere: leaving");
        app_stop(app, EXIT_REFUSED);
    } else if (strcmp(type, "error") == 0) {
        const char *error = json_string_value(json_object_get(o, "error"));
        const char *reason = json_string_value(json_object_get(o, "reason"));
        if (error != NULL && strcmp(error, "not_joined") == 0)
            app->rejoin_wanted = true;
        say("the server says: %s", reason ? reason : error ? error : "an error");
        if (error != NULL && strcmp(error, "removed") == 0)
            removed(app);
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
        int rc = app_join(app);
        if (rc == EXIT_REMOVED) {
            removed(app);
            return;
        }
        if (rc != EXIT_OK || app_start_media(app) != EXIT_OK) {
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
        rejoin_now(app);
    }
}

void app_control_hand(app_t *app) {
    app_control_stats_t *c = &app->control;
    bool up = !c->hand_raised;
    char msg[64];
    snprintf(msg, sizeof msg, "{\"type\":\"raise_hand\",\"raised\":%s}", up ? "true" : "false");
    if (!c->up || app->hub == NULL || cq_hubconn_send(app->hub, msg) != 0) {
        say("the district server is not reachable now: the hand was not %s; try again",
            up ? "raised" : "lowered");
        return;
    }
    c->hand_raised = up; /* until the server's own event says otherwise */
    c->hands_raised += up;
    say(up ? "hand raised: the operator sees this telecentre asks to speak" : "hand lowered");
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
