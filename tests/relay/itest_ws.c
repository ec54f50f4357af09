/*
 * The WebSocket over loopback, with the whole control plane and a real relay behind it:
 * telecentres join with their tokens over the socket, hear each other come and go, ask
 * for less video, and are told when the session ends and disconnected; in a broadcast the
 * operator answers a raised hand (promote, mute, demote) and removes a telecentre, and the
 * relay's media follows. The server's loop runs on its own thread; the test speaks
 * WebSocket from plain sockets and media from test peers. Bounded waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "client/hubconn.h"
#include "client/join.h"
#include "relay/relay.h"
#include "relay/sigmedia.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "signaling/api.h"
#include "signaling/http.h"
#include "signaling/hub.h"
#include "signaling/store.h"
#include "signaling/token.h"
#include "support/media.h"
#include "support/peer.h"
#include "support/ws_client.h"

#define KEY    "ws-test-operator-key-0123456789"
#define SECRET "ws-test-token-secret-0123456789"

typedef struct {
    struct cq_relay *relay;
    struct cq_store *store;
    struct cq_api *api;
    struct cq_hub *hub;
    struct cq_http *http;
    cq_media_ops_t media;
    uv_thread_t thread;
    uv_loop_t loop;
    uv_async_t wake;
    uv_sem_t done;
    /* A request the loop thread makes for the test (the API is the loop's alone). */
    const char *run_method, *run_path, *run_body;
    json_t *run_answer;
    int run_status;
    bool stop;
    uint16_t port;
    int64_t session, tc[3]; /* the conference of tc[0] and tc[1] */
    char token[2][CQ_TOKEN_MAX + 1];
    /* A broadcast: tc[0] presents, tc[1] and tc[2] watch. */
    int64_t broadcast;
    char btoken[3][CQ_TOKEN_MAX + 1];
} fixture_t;

static int api(fixture_t *f, const char *method, const char *path, const char *body, json_t **out) {
    cq_api_request_t req = {.method = method,
                            .path = path,
                            .authorization = "Bearer " KEY,
                            .body = body,
                            .body_len = body ? strlen(body) : 0};
    cq_api_response_t res;
    cq_api_handle(f->api, &req, &res);
    if (out != NULL)
        *out = res.body ? json_loads(res.body, 0, NULL) : NULL;
    cq_api_response_free(&res);
    return res.status;
}

/* On the loop thread: a request the test asked for, or the stop. */
static void on_wake(uv_async_t *a) {
    fixture_t *f = a->data;
    if (f->stop) {
        cq_http_stop(f->http);
        uv_close((uv_handle_t *)a, NULL);
        return;
    }
    f->run_status = api(f, f->run_method, f->run_path, f->run_body, &f->run_answer);
    uv_sem_post(&f->done);
}

static void serve(void *arg) {
    fixture_t *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static int64_t add_telecentre(fixture_t *f, int i) {
    char body[96];
    snprintf(body, sizeof body, "{\"name\":\"TC %d\",\"district\":\"Río Tambo\"}", i);
    json_t *o;
    assert_int_equal(api(f, "POST", "/api/telecentres", body, &o), 201);
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    return id;
}

/* A session of the first n telecentres starting in five minutes (open now), presented by
 * presenter (0: none); returns its id. */
static int64_t schedule_now(fixture_t *f, const char *mode, int n, int64_t presenter) {
    char start[32], end[32], body[400];
    time_t now = time(NULL);
    struct tm tm;
    time_t s = now + 300, e = now + 3600;
    strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
    strftime(end, sizeof end, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&e, &tm));
    int len = snprintf(body, sizeof body,
                       "{\"title\":\"Yuca\",\"start\":\"%s\",\"end\":\"%s\",\"mode\":\"%s\","
                       "\"presenters\":[",
                       start, end, mode);
    if (presenter > 0)
        len += snprintf(body + len, sizeof body - (size_t)len, "%lld", (long long)presenter);
    len += snprintf(body + len, sizeof body - (size_t)len, "],\"telecentres\":[");
    for (int i = 0; i < n; i++)
        len += snprintf(body + len, sizeof body - (size_t)len, "%s%lld", i ? "," : "",
                        (long long)f->tc[i]);
    snprintf(body + len, sizeof body - (size_t)len, "]}");
    json_t *o;
    assert_int_equal(api(f, "POST", "/api/sessions", body, &o), 201);
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    return id;
}

static void issue(fixture_t *f, int64_t session, int64_t tc, const char *role, char *out) {
    char path[64], body[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/tokens", (long long)session);
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"%s\"}", (long long)tc, role);
    json_t *o;
    assert_int_equal(api(f, "POST", path, body, &o), 201);
    snprintf(out, CQ_TOKEN_MAX + 1, "%s", json_string_value(json_object_get(o, "token")));
    json_decref(o);
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    cq_relay_config_t rc = {.host = "127.0.0.1", .workers = 1};
    assert_int_equal(cq_relay_create(&f->relay, &rc), 0);
    assert_int_equal(cq_store_open(&f->store, ":memory:"), 0);
    f->media = cq_sigmedia_ops(f->relay);
    cq_hub_config_t hc = {.send = cq_http_ws_send, .media = &f->media};
    assert_int_equal(cq_hub_create(&f->hub, &hc), 0);
    cq_api_config_t ac = {.store = f->store,
                          .operator_key = KEY,
                          .token_secret = (const uint8_t *)SECRET,
                          .token_secret_len = sizeof SECRET - 1,
                          .media = &f->media,
                          .hub = f->hub};
    assert_int_equal(cq_api_create(&f->api, &ac), 0);
    /* Before the loop thread starts, this thread may use the API: three telecentres, a
     * conference of two and a broadcast of all three, both starting in five minutes (open
     * now), their tokens. */
    for (int i = 0; i < 3; i++)
        f->tc[i] = add_telecentre(f, i);
    f->session = schedule_now(f, "conference", 2, 0);
    for (int i = 0; i < 2; i++)
        issue(f, f->session, f->tc[i], "participant", f->token[i]);
    f->broadcast = schedule_now(f, "broadcast", 3, f->tc[0]);
    for (int i = 0; i < 3; i++)
        issue(f, f->broadcast, f->tc[i], i == 0 ? "presenter" : "viewer", f->btoken[i]);
    uv_loop_init(&f->loop);
    uv_sem_init(&f->done, 0);
    uv_async_init(&f->loop, &f->wake, on_wake);
    f->wake.data = f;
    cq_http_config_t c = {.loop = &f->loop, .host = "127.0.0.1", .api = f->api, .hub = f->hub};
    assert_int_equal(cq_http_create(&f->http, &c), 0);
    f->port = cq_http_port(f->http);
    uv_thread_create(&f->thread, serve, f);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    f->stop = true;
    uv_async_send(&f->wake);
    uv_thread_join(&f->thread);
    cq_http_destroy(f->http);
    int closed = uv_loop_close(&f->loop);
    cq_api_destroy(f->api);
    cq_hub_destroy(f->hub);
    cq_store_close(f->store);
    cq_relay_destroy(f->relay);
    uv_sem_destroy(&f->done);
    free(f);
    return closed == 0 ? 0 : -1;
}

/* Has the loop thread make an operator request; returns its status and, in *answer if
 * not NULL, what it said (the caller's to free). */
static int on_loop_call(fixture_t *f, const char *method, const char *path, const char *body,
                        json_t **answer) {
    f->run_method = method;
    f->run_path = path;
    f->run_body = body;
    uv_async_send(&f->wake);
    uv_sem_wait(&f->done);
    if (answer != NULL)
        *answer = f->run_answer;
    else
        json_decref(f->run_answer);
    return f->run_status;
}

static int on_loop(fixture_t *f, const char *path) {
    return on_loop_call(f, "POST", path, NULL, NULL);
}

/* Receives messages until one of `type` comes (bounded); returns it, parsed, or NULL. */
static json_t *expect(cq_test_ws_t *ws, const char *type) {
    for (int k = 0; k < 20; k++) {
        char msg[8192];
        int n = cq_test_ws_recv(ws, msg, sizeof msg, 3000);
        if (n <= 0)
            return NULL;
        json_t *o = json_loads(msg, 0, NULL);
        if (strcmp(json_string_value(json_object_get(o, "type")), type) == 0)
            return o;
        json_decref(o);
    }
    return NULL;
}

/* Joins as telecentre i; extra: more fields of the join message ("" or ",\"k\":v"). */
static void join_with(fixture_t *f, cq_test_ws_t *ws, int i, const char *extra) {
    assert_int_equal(cq_test_ws_open(ws, f->port), 0);
    char msg[400];
    snprintf(msg, sizeof msg, "{\"type\":\"join\",\"session\":%lld,\"token\":\"%s\"%s}",
             (long long)f->session, f->token[i], extra);
    assert_int_equal(cq_test_ws_send(ws, msg), 0);
}

static void join(fixture_t *f, cq_test_ws_t *ws, int i) {
    join_with(f, ws, i, "");
}

static void test_ws_join_events_requests_and_end(void **state) {
    fixture_t *f = *state;
    cq_test_ws_t a, b;
    join(f, &a, 0);
    json_t *o = expect(&a, "welcome");
    assert_non_null(o);
    json_t *answer = json_object_get(o, "join");
    assert_int_equal(json_integer_value(json_object_get(answer, "telecentre")), f->tc[0]);
    assert_true(json_integer_value(json_object_get(json_object_get(answer, "media"), "port")) > 0);
    json_decref(o);
    /* B makes one simulcast layer, and says so: it gets SSRCs for one. */
    join_with(f, &b, 1, ",\"video_layers\":1");
    o = expect(&b, "welcome");
    assert_non_null(o);
    json_t *ssrcs = json_object_get(json_object_get(o, "join"), "ssrcs");
    assert_int_equal(json_array_size(json_object_get(ssrcs, "video")), 1);
    assert_int_equal(json_array_size(json_object_get(ssrcs, "rtx")), 1);
    json_decref(o);
    /* A hears that B came. */
    o = expect(&a, "joined");
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "telecentre")), f->tc[1]);
    json_decref(o);
    /* A connection that breaks the framing rules (an unmasked frame with a reserved
     * opcode) is closed, alone: A and B carry on below. */
    cq_test_ws_t rogue;
    assert_int_equal(cq_test_ws_open(&rogue, f->port), 0);
    static const uint8_t bad_frame[] = {0x8b, 0x03, 'b', 'a', 'd'};
    assert_int_equal(send(rogue.fd, bad_frame, sizeof bad_frame, MSG_NOSIGNAL),
                     (ssize_t)sizeof bad_frame);
    char gone[64];
    assert_int_equal(cq_test_ws_recv(&rogue, gone, sizeof gone, 3000), 0);
    cq_test_ws_close(&rogue);
    /* B mutes: A is told. B asks for the lowest layer only: acknowledged (the relay took
     * it). A bad request gets B an error and changes nothing. */
    assert_int_equal(cq_test_ws_send(&b, "{\"type\":\"mute\",\"muted\":true}"), 0);
    o = expect(&a, "muted");
    assert_non_null(o);
    assert_true(json_is_true(json_object_get(o, "muted")));
    json_decref(o);
    assert_int_equal(cq_test_ws_send(&b, "{\"type\":\"max_layer\",\"spatial\":0,\"temporal\":1}"),
                     0);
    o = expect(&b, "max_layer");
    assert_non_null(o);
    json_decref(o);
    assert_int_equal(cq_test_ws_send(&b, "{\"type\":\"teleport\"}"), 0);
    o = expect(&b, "error");
    assert_non_null(o);
    json_decref(o);
    /* The operator ends the session: both are told, and their connections close. */
    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%lld/end", (long long)f->session);
    assert_int_equal(on_loop(f, path), 200);
    cq_test_ws_t *both[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        o = expect(both[i], "session_ended");
        assert_non_null(o);
        json_decref(o);
        char msg[256];
        assert_int_equal(cq_test_ws_recv(both[i], msg, sizeof msg, 3000), 0); /* closed */
        cq_test_ws_close(both[i]);
    }
}

static void first_message(fixture_t *f, cq_test_ws_t *ws, const char *type, int i) {
    assert_int_equal(cq_test_ws_open(ws, f->port), 0);
    char msg[400];
    snprintf(msg, sizeof msg, "{\"type\":\"%s\",\"session\":%lld,\"token\":\"%s\"}", type,
             (long long)f->session, f->token[i]);
    assert_int_equal(cq_test_ws_send(ws, msg), 0);
}

/* A test endpoint with what a join answer gives, bound to the relay. */
static void open_peer(cq_test_peer_t *peer, const cq_join_t *j) {
    cq_test_peer_config_t pc = {.relay_ip = "127.0.0.1",
                                .relay_port = j->port,
                                .relay_ufrag = j->ufrag,
                                .relay_pwd = j->pwd,
                                .suite = j->suite,
                                .key_tx = j->key_tx,
                                .key_rx = j->key_rx};
    assert_int_equal(cq_test_peer_open(peer, &pc), 0);
    assert_int_equal(cq_test_peer_bind(peer, true, 2000), 0);
}

/* A telecentre whose control connection drops while its media carries on attaches again
 * without a join: its credentials in the relay stay valid. Attaching without having
 * joined is refused. */
static void test_ws_attach_keeps_media(void **state) {
    fixture_t *f = *state;
    cq_test_ws_t ws;
    first_message(f, &ws, "attach", 0);
    json_t *o = expect(&ws, "error");
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), 409);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "not_joined");
    json_decref(o);
    cq_test_ws_close(&ws);

    first_message(f, &ws, "join", 0);
    o = expect(&ws, "welcome");
    assert_non_null(o);
    char *text = json_dumps(json_object_get(o, "join"), JSON_COMPACT);
    json_decref(o);
    cq_join_t j;
    char why[64];
    assert_int_equal(cq_join_parse(text, strlen(text), &j, why, sizeof why), 0);
    free(text);
    cq_test_ws_close(&ws); /* the control connection drops */

    first_message(f, &ws, "attach", 0);
    o = expect(&ws, "attached");
    assert_non_null(o);
    json_t *answer = json_object_get(o, "attach");
    assert_int_equal(json_integer_value(json_object_get(answer, "telecentre")), f->tc[0]);
    assert_true(json_is_array(json_object_get(answer, "participants")));
    json_decref(o);
    /* The credentials of the first join still bind: nothing was joined anew. */
    cq_test_peer_t peer;
    open_peer(&peer, &j);
    cq_test_peer_close(&peer);
    /* Events reach the attached connection: B joins, A hears it. */
    cq_test_ws_t b;
    first_message(f, &b, "join", 1);
    o = expect(&ws, "joined");
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "telecentre")), f->tc[1]);
    json_decref(o);
    cq_test_ws_close(&b);
    cq_test_ws_close(&ws);
}

/* What the client's control connection saw, on the test thread's own loop. */
typedef struct {
    uv_loop_t loop;
    char types[16][32];
    int n;
    bool closed;
    char why[128];
    const char *until; /* stop the loop when a message of this type comes */
} seen_t;

static void seen_message(void *ctx, const char *text, size_t len) {
    seen_t *s = ctx;
    json_t *o = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(o, "type"));
    if (type != NULL && s->n < 16)
        snprintf(s->types[s->n++], sizeof s->types[0], "%s", type);
    if (type != NULL && s->until != NULL && strcmp(type, s->until) == 0)
        uv_stop(&s->loop);
    json_decref(o);
}

static void seen_close(void *ctx, const char *why) {
    seen_t *s = ctx;
    s->closed = true;
    snprintf(s->why, sizeof s->why, "%s", why);
    uv_stop(&s->loop);
}

static void on_deadline(uv_timer_t *t) {
    uv_stop(t->loop);
}

/* Runs the client loop until it stops itself, or 5 s pass. */
static void run_client(seen_t *s, const char *until) {
    uv_timer_t t;
    s->until = until;
    uv_timer_init(&s->loop, &t);
    uv_timer_start(&t, on_deadline, 5000, 0);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&s->loop, UV_RUN_NOWAIT);
}

static bool saw(const seen_t *s, const char *type) {
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->types[i], type) == 0)
            return true;
    return false;
}

/* The client's control connection (client/hubconn.h) against the real server: it
 * attaches after a join, hears the others come, and hears the end before the close. */
static void test_client_hubconn(void **state) {
    fixture_t *f = *state;
    cq_test_ws_t ws;
    first_message(f, &ws, "join", 0);
    json_t *o = expect(&ws, "welcome");
    assert_non_null(o);
    json_decref(o);
    cq_test_ws_close(&ws);

    static seen_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(uv_loop_init(&s.loop), 0);
    char attach[400];
    snprintf(attach, sizeof attach, "{\"type\":\"attach\",\"session\":%lld,\"token\":\"%s\"}",
             (long long)f->session, f->token[0]);
    cq_hubconn_config_t hc = {.host = "localhost",
                              .port = f->port,
                              .first_message = attach,
                              .on_message = seen_message,
                              .on_close = seen_close,
                              .ctx = &s};
    struct cq_hubconn *c;
    assert_int_equal(cq_hubconn_open(&c, &s.loop, &hc), 0);
    run_client(&s, "attached");
    assert_true(saw(&s, "attached"));
    assert_int_equal(cq_hubconn_send(c, "{\"type\":\"raise_hand\",\"raised\":true}"), 0);
    run_client(&s, "hand"); /* everyone is told, the sender too */
    assert_true(saw(&s, "hand"));

    cq_test_ws_t b;
    first_message(f, &b, "join", 1);
    run_client(&s, "joined");
    assert_true(saw(&s, "joined"));

    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%lld/end", (long long)f->session);
    assert_int_equal(on_loop(f, path), 200);
    run_client(&s, NULL); /* until the close */
    assert_true(saw(&s, "session_ended"));
    assert_true(s.closed);
    assert_string_equal(s.why, "the server closed the connection");
    assert_int_equal(cq_hubconn_send(c, "{}"), CQ_EBADSTATE);
    cq_hubconn_close(c);
    cq_test_ws_close(&b);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&s.loop), 0);

    /* Nobody listening: the close says so. */
    memset(&s, 0, sizeof s);
    assert_int_equal(uv_loop_init(&s.loop), 0);
    hc.port = 1;
    hc.host = "127.0.0.1";
    assert_int_equal(cq_hubconn_open(&c, &s.loop, &hc), 0);
    run_client(&s, NULL);
    assert_true(s.closed);
    assert_string_equal(s.why, uv_strerror(UV_ECONNREFUSED));
    cq_hubconn_close(c);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&s.loop), 0);
}

/* The first message sent on ws is refused: an error with that status (and kind, unless
 * NULL), then the server closes the connection, which the test closes too. */
static void refused(cq_test_ws_t *ws, int status, const char *kind) {
    json_t *o = expect(ws, "error");
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "status")), status);
    if (kind != NULL)
        assert_string_equal(json_string_value(json_object_get(o, "error")), kind);
    json_decref(o);
    char msg[256];
    assert_int_equal(cq_test_ws_recv(ws, msg, sizeof msg, 3000), 0);
    cq_test_ws_close(ws);
}

/* A bad first message or a forged token: an error, then the server closes. */
static void test_ws_refusals(void **state) {
    fixture_t *f = *state;
    cq_test_ws_t ws;
    assert_int_equal(cq_test_ws_open(&ws, f->port), 0);
    assert_int_equal(cq_test_ws_send(&ws, "{\"type\":\"mute\",\"muted\":true}"), 0);
    json_t *o = expect(&ws, "error");
    assert_non_null(o);
    json_decref(o);
    char msg[256];
    assert_int_equal(cq_test_ws_recv(&ws, msg, sizeof msg, 3000), 0);
    cq_test_ws_close(&ws);
    assert_int_equal(cq_test_ws_open(&ws, f->port), 0);
    char forged[400];
    snprintf(forged, sizeof forged, "{\"type\":\"join\",\"session\":%lld,\"token\":\"%s0\"}",
             (long long)f->session, f->token[0]);
    assert_int_equal(cq_test_ws_send(&ws, forged), 0);
    refused(&ws, 401, "bad_token");
}

/* ---- a broadcast under the operator -------------------------------------------------- */

/* Broadcast telecentre i joins over a new connection, as its client does (also to join
 * again); the welcome's answer goes to *j. */
static void join_broadcast(fixture_t *f, cq_test_ws_t *ws, int i, cq_join_t *j) {
    assert_int_equal(cq_test_ws_open(ws, f->port), 0);
    char msg[400];
    snprintf(msg, sizeof msg,
             "{\"type\":\"join\",\"session\":%lld,\"token\":\"%s\",\"video_layers\":0}",
             (long long)f->broadcast, f->btoken[i]);
    assert_int_equal(cq_test_ws_send(ws, msg), 0);
    json_t *o = expect(ws, "welcome");
    assert_non_null(o);
    char *text = json_dumps(json_object_get(o, "join"), JSON_COMPACT);
    json_decref(o);
    char why[64];
    assert_int_equal(cq_join_parse(text, strlen(text), j, why, sizeof why), 0);
    free(text);
}

/* The operator's control of broadcast telecentre i (extra: more fields); its status. */
static int control(fixture_t *f, const char *action, int i, const char *extra) {
    char path[64], body[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/%s", (long long)f->broadcast, action);
    snprintf(body, sizeof body, "{\"telecentre\":%lld%s}", (long long)f->tc[i], extra);
    return on_loop_call(f, "POST", path, body, NULL);
}

/* Waits for an event of type about broadcast telecentre i on ws; returns it. */
static json_t *event_about(fixture_t *f, cq_test_ws_t *ws, const char *type, int i) {
    json_t *o = expect(ws, type);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "telecentre")), f->tc[i]);
    return o;
}

/* Sends n audio packets tagged with sender from peer under ssrc, numbered on from *seq. */
static void speak(cq_test_peer_t *peer, int sender, uint32_t ssrc, uint16_t *seq, int n) {
    for (int k = 0; k < n; k++, (*seq)++) {
        uint8_t pkt[200];
        size_t len = cq_test_audio_packet(pkt, sender, ssrc, *seq, *seq * 960u);
        assert_int_equal(cq_test_peer_send_rtp(peer, pkt, len), 0);
    }
}

/* How many intact audio packets of sender reach peer before 300 ms pass without any
 * datagram (at most 500 datagrams read). */
static int heard(cq_test_peer_t *peer, int sender) {
    int got = 0;
    for (int k = 0; k < 500; k++) {
        uint8_t buf[1600];
        bool rtcp;
        int len = cq_test_peer_recv(peer, buf, sizeof buf, &rtcp, 300);
        if (len == CQ_EAGAIN)
            break;
        cq_rtp_view_t v;
        cq_test_media_info_t m;
        got += len > 0 && !rtcp && cq_rtp_parse(buf, (size_t)len, &v) > 0 &&
               cq_test_media_read(&v, &m) == 0 && !m.video && m.sender == sender && m.body_intact;
    }
    return got;
}

/*
 * Issue 9's raise-hand, over the real server and relay: a viewer raises its hand and is
 * queued; the operator promotes it; it joins again (as its client does) and gets sending
 * credentials, and its sound reaches the presenter and the other viewer (everyone hears
 * it); the operator's mute stops that sound
 * in the relay and the unmute brings it back; a demotion and a join again make it a viewer
 * whose old credentials carry nothing more.
 */
static void test_ws_broadcast_hand_promote_mute_demote(void **state) {
    fixture_t *f = *state;
    cq_test_ws_t pws, vws;
    cq_join_t pj, vj;
    join_broadcast(f, &pws, 0, &pj);
    assert_string_equal(pj.role, "presenter");
    assert_true(pj.audio_ssrc != 0);
    join_broadcast(f, &vws, 1, &vj);
    assert_string_equal(vj.role, "viewer");
    assert_int_equal(vj.audio_ssrc, 0);
    cq_test_peer_t presenter;
    open_peer(&presenter, &pj);
    cq_test_ws_t ows; /* another viewer, who only listens */
    cq_join_t oj;
    join_broadcast(f, &ows, 2, &oj);
    assert_string_equal(oj.role, "viewer");
    cq_test_peer_t other;
    open_peer(&other, &oj);

    assert_int_equal(cq_test_ws_send(&vws, "{\"type\":\"raise_hand\",\"raised\":true}"), 0);
    json_decref(event_about(f, &pws, "hand", 1));
    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%lld/hands", (long long)f->broadcast);
    json_t *o;
    assert_int_equal(on_loop_call(f, "GET", path, NULL, &o), 200);
    json_t *hands = json_object_get(o, "hands");
    assert_int_equal(json_array_size(hands), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(hands, 0), "telecentre")),
                     f->tc[1]);
    json_decref(o);

    assert_int_equal(control(f, "promote", 1, ""), 200);
    json_decref(event_about(f, &vws, "promoted", 1));
    json_decref(event_about(f, &pws, "promoted", 1));
    cq_test_ws_close(&vws);
    join_broadcast(f, &vws, 1, &vj);
    assert_string_equal(vj.role, "participant");
    assert_true(vj.audio_ssrc != 0);
    cq_test_peer_t speaker;
    open_peer(&speaker, &vj);
    uint16_t seq = 0;
    speak(&speaker, 2, vj.audio_ssrc, &seq, 20);
    assert_int_equal(heard(&presenter, 2), 20);
    assert_int_equal(heard(&other, 2), 20);

    assert_int_equal(control(f, "mute", 1, ",\"muted\":true"), 200);
    o = event_about(f, &pws, "muted", 1);
    assert_string_equal(json_string_value(json_object_get(o, "by")), "operator");
    json_decref(o);
    speak(&speaker, 2, vj.audio_ssrc, &seq, 20);
    assert_int_equal(heard(&presenter, 2), 0);
    cq_relay_participant_stats_t st;
    assert_int_equal(
        cq_relay_participant_stats(f->relay, (uint32_t)f->broadcast, (uint32_t)f->tc[1], &st), 0);
    assert_int_equal(st.muted_dropped, 20);
    assert_int_equal(control(f, "mute", 1, ",\"muted\":false"), 200);
    speak(&speaker, 2, vj.audio_ssrc, &seq, 20);
    assert_int_equal(heard(&presenter, 2), 20);

    uint32_t spoke_as = vj.audio_ssrc;
    assert_int_equal(control(f, "demote", 1, ""), 200);
    json_decref(event_about(f, &vws, "demoted", 1));
    cq_test_ws_close(&vws);
    join_broadcast(f, &vws, 1, &vj);
    assert_string_equal(vj.role, "viewer");
    assert_int_equal(vj.audio_ssrc, 0);
    speak(&speaker, 2, spoke_as, &seq, 20); /* its speaker's credentials are gone */
    assert_int_equal(heard(&presenter, 2), 0);
    cq_test_peer_close(&speaker);
    cq_test_peer_close(&other);
    cq_test_peer_close(&presenter);
    cq_test_ws_close(&ows);
    cq_test_ws_close(&vws);
    cq_test_ws_close(&pws);
}

/* A removed telecentre is told and disconnected, the others see it leave, and its token
 * is refused from then on. */
static void test_ws_broadcast_remove(void **state) {
    fixture_t *f = *state;
    cq_test_ws_t pws, vws;
    cq_join_t pj, vj;
    join_broadcast(f, &pws, 0, &pj);
    join_broadcast(f, &vws, 2, &vj);
    json_decref(event_about(f, &pws, "joined", 2));
    assert_int_equal(control(f, "remove", 2, ""), 200);
    json_t *o = expect(&vws, "removed");
    assert_non_null(o);
    json_decref(o);
    char msg[256];
    assert_int_equal(cq_test_ws_recv(&vws, msg, sizeof msg, 3000), 0); /* closed */
    cq_test_ws_close(&vws);
    json_decref(event_about(f, &pws, "left", 2));
    assert_int_equal(cq_test_ws_open(&vws, f->port), 0);
    snprintf(msg, sizeof msg, "{\"type\":\"join\",\"session\":%lld,\"token\":\"%s\"}",
             (long long)f->broadcast, f->btoken[2]);
    assert_int_equal(cq_test_ws_send(&vws, msg), 0);
    refused(&vws, 403, "removed");
    assert_int_equal(control(f, "remove", 2, ""), 409);
    cq_test_ws_close(&pws);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ws_join_events_requests_and_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_attach_keeps_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_hubconn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_broadcast_hand_promote_mute_demote, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ws_broadcast_remove, setup, teardown),
    };
    return cmocka_run_group_tests_name("relay/ws", tests, NULL, NULL);
}
