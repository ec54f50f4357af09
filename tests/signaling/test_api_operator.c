/*
 * The operator's controls of a running session (signaling/api.c with signaling/hub.c), as
 * the operator's tools and the telecentres meet them, without sockets: a broadcast whose
 * telecentres join through the API against a fake media plane and sit in a real hub whose
 * messages are collected per telecentre.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "rtp/error.h"
#include "signaling/api.h"
#include "signaling/hub.h"
#include "signaling/store.h"
#include "signaling/token.h"

#define KEY    "operator-key-0123456789abcdef"
#define SECRET "token-secret-0123456789abcdef"
#define AUTH   "Bearer " KEY
/* 2026-11-23T12:00:00Z; the broadcast below starts at 12:05 and opens at once. */
#define NOON  1795435200

#define NCONN 4

/* The media plane as the API drives it: who is in, with what, and who is muted. */
typedef struct {
    uint32_t in[NCONN + 1]; /* participant ids in the relay now */
    uint32_t audio_ssrc[NCONN + 1];
    unsigned video_layers[NCONN + 1];
    bool muted[NCONN + 1];
    size_t n;
    int adds, removes, mutes;
} fake_media_t;

typedef struct {
    char *db_path;
    struct cq_store *store;
    struct cq_hub *hub;
    struct cq_api *api;
    int64_t now;
    fake_media_t media;
    int conn[NCONN];       /* their addresses are the hub's connection handles */
    char got[NCONN][4096]; /* what each connection was sent, a line per message */
    bool closed[NCONN];
    int64_t session, tc[NCONN]; /* tc[0] presents; tc[1..3] watch */
    char token[NCONN][CQ_TOKEN_MAX + 1];
} fixture_t;

static fixture_t *fx; /* the fake media plane and the hub's sink find it here */

static int64_t clock_of(void *ctx) {
    return ((fixture_t *)ctx)->now;
}

static ptrdiff_t media_find(const fake_media_t *m, uint32_t id) {
    for (size_t i = 0; i < m->n; i++)
        if (m->in[i] == id)
            return (ptrdiff_t)i;
    return -1;
}

static int fake_open(void *ctx, uint32_t session, uint16_t *port) {
    (void)ctx;
    (void)session;
    *port = 40000;
    return 0;
}

static int fake_close(void *ctx, uint32_t session) {
    (void)ctx;
    (void)session;
    fx->media.n = 0;
    return 0;
}

static int fake_add(void *ctx, uint32_t session, const cq_media_participant_t *p) {
    (void)ctx;
    (void)session;
    fake_media_t *m = &fx->media;
    if (media_find(m, p->id) >= 0 || m->n == NCONN + 1)
        return CQ_EEXIST;
    m->in[m->n] = p->id;
    m->audio_ssrc[m->n] = p->audio_ssrc;
    m->video_layers[m->n] = p->video_layers;
    m->muted[m->n] = false; /* a new participant in the relay starts unmuted */
    m->n++;
    m->adds++;
    return 0;
}

static int fake_remove(void *ctx, uint32_t session, uint32_t id) {
    (void)ctx;
    (void)session;
    fake_media_t *m = &fx->media;
    ptrdiff_t i = media_find(m, id);
    if (i < 0)
        return CQ_ENOENT;
    m->n--;
    m->in[i] = m->in[m->n];
    m->audio_ssrc[i] = m->audio_ssrc[m->n];
    m->video_layers[i] = m->video_layers[m->n];
    m->muted[i] = m->muted[m->n];
    m->removes++;
    return 0;
}

static int fake_mute(void *ctx, uint32_t session, uint32_t id, bool muted) {
    (void)ctx;
    (void)session;
    ptrdiff_t i = media_find(&fx->media, id);
    if (i < 0)
        return CQ_ENOENT;
    fx->media.muted[i] = muted;
    fx->media.mutes++;
    return 0;
}

static int fake_stats(void *ctx, uint32_t session, uint32_t id, cq_media_participant_stats_t *out) {
    (void)ctx;
    (void)session;
    memset(out, 0, sizeof *out);
    return media_find(&fx->media, id) >= 0 ? 0 : CQ_ENOENT;
}

/* The hub's send: each message a line of what that connection got. */
static void collect(void *c, const char *text, size_t len, bool close, void *ctx) {
    (void)ctx;
    ptrdiff_t i = (const int *)c - fx->conn;
    assert_true(i >= 0 && i < NCONN);
    size_t used = strlen(fx->got[i]);
    assert_true(used + len + 2 <= sizeof fx->got[i]);
    memcpy(fx->got[i] + used, text, len);
    memcpy(fx->got[i] + used + len, "\n", 2);
    fx->closed[i] |= close;
}

static void clear(void) {
    for (int i = 0; i < NCONN; i++)
        fx->got[i][0] = '\0';
}

/* One request; returns the status and, in *json (if not NULL), the parsed body. Every
 * error has the API's shape. */
static int call(const char *method, const char *path, const char *auth, const char *body,
                json_t **json) {
    cq_api_request_t req = {.method = method,
                            .path = path,
                            .authorization = auth,
                            .body = body,
                            .body_len = body ? strlen(body) : 0};
    cq_api_response_t res;
    cq_api_handle(fx->api, &req, &res);
    int status = res.status;
    json_t *o = res.body ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
    assert_non_null(o);
    if (status >= 400) {
        assert_true(json_is_string(json_object_get(o, "error")));
        assert_true(json_is_string(json_object_get(o, "reason")));
    }
    cq_api_response_free(&res);
    if (json != NULL)
        *json = o;
    else
        json_decref(o);
    return status;
}

/* The "error" of a refusal (a static copy). */
static const char *refusal(const char *method, const char *path, const char *body, int expect) {
    static char kind[64];
    json_t *o;
    assert_int_equal(call(method, path, AUTH, body, &o), expect);
    snprintf(kind, sizeof kind, "%s", json_string_value(json_object_get(o, "error")));
    json_decref(o);
    return kind;
}

static int64_t add_telecentre(const char *name) {
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"district\":\"Monzón\"}", name);
    json_t *o;
    assert_int_equal(call("POST", "/api/telecentres", AUTH, body, &o), 201);
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    return id;
}

static void issue(int i, const char *role) {
    char path[64], body[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/tokens", (long long)fx->session);
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"%s\"}", (long long)fx->tc[i],
             role);
    json_t *o;
    assert_int_equal(call("POST", path, AUTH, body, &o), 201);
    snprintf(fx->token[i], sizeof fx->token[i], "%s",
             json_string_value(json_object_get(o, "token")));
    json_decref(o);
}

/* Telecentre i joins (as its client would: the join route, then its control connection
 * in the hub, with the role the answer gave). Returns the status; *answer if wanted. */
static int join(int i, unsigned layers, json_t **answer) {
    char path[64], body[1200];
    snprintf(path, sizeof path, "/api/sessions/%lld/join", (long long)fx->session);
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"video_layers\":%u}", fx->token[i], layers);
    json_t *o;
    int status = call("POST", path, NULL, body, &o);
    if (status == 200) {
        /* Its client closed its control connection to join again (control.c). */
        cq_hub_remove(fx->hub, &fx->conn[i]);
        cq_role_t role;
        assert_int_equal(cq_token_role_parse(json_string_value(json_object_get(o, "role")), &role),
                         0);
        assert_int_equal(cq_hub_add(fx->hub, &fx->conn[i], fx->session, fx->tc[i], role), 0);
    }
    if (answer != NULL)
        *answer = o;
    else
        json_decref(o);
    return status;
}

static void open_api(void) {
    cq_media_ops_t media = {.session_open = fake_open,
                            .session_close = fake_close,
                            .participant_add = fake_add,
                            .participant_remove = fake_remove,
                            .participant_stats = fake_stats,
                            .participant_mute = fake_mute};
    cq_api_config_t cfg = {.store = fx->store,
                           .media = &media,
                           .hub = fx->hub,
                           .operator_key = KEY,
                           .token_secret = (const uint8_t *)SECRET,
                           .token_secret_len = sizeof SECRET - 1,
                           .clock = clock_of,
                           .clock_ctx = fx};
    assert_int_equal(cq_api_create(&fx->api, &cfg), 0);
}

/* A broadcast open now: telecentre 0 presents, 1..3 watch; 0, 1 and 2 have joined. */
static int setup(void **state) {
    fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->now = NOON;
    char tmpl[] = "/tmp/chasqui-test-operator-XXXXXX";
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    close(fd);
    fx->db_path = strdup(tmpl);
    assert_int_equal(cq_store_open(&fx->store, fx->db_path), 0);
    cq_hub_config_t hc = {.send = collect, .clock = clock_of, .clock_ctx = fx};
    assert_int_equal(cq_hub_create(&fx->hub, &hc), 0);
    open_api();
    static const char *const names[NCONN] = {"Cachicoto", "Anda", "Pucayacu", "Tulumayo"};
    for (int i = 0; i < NCONN; i++)
        fx->tc[i] = add_telecentre(names[i]);
    char body[512];
    snprintf(body, sizeof body,
             "{\"title\":\"Hackatón\",\"start\":\"2026-11-23T12:05:00Z\","
             "\"end\":\"2026-11-23T14:00:00Z\",\"mode\":\"broadcast\","
             "\"telecentres\":[%lld,%lld,%lld,%lld],\"presenters\":[%lld]}",
             (long long)fx->tc[0], (long long)fx->tc[1], (long long)fx->tc[2], (long long)fx->tc[3],
             (long long)fx->tc[0]);
    json_t *o;
    assert_int_equal(call("POST", "/api/sessions", AUTH, body, &o), 201);
    fx->session = (int64_t)json_integer_value(json_object_get(o, "id"));
    assert_string_equal(json_string_value(json_object_get(o, "state")), "open");
    json_decref(o);
    issue(0, "presenter");
    for (int i = 1; i < NCONN; i++)
        issue(i, "viewer");
    for (int i = 0; i < 3; i++)
        assert_int_equal(join(i, 2, NULL), 200);
    clear();
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    cq_api_destroy(fx->api);
    cq_hub_destroy(fx->hub);
    cq_store_close(fx->store);
    unlink(fx->db_path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", fx->db_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", fx->db_path);
    unlink(side);
    free(fx->db_path);
    free(fx);
    fx = NULL;
    return 0;
}

static void hand(int i, bool raised) {
    char text[64];
    snprintf(text, sizeof text, "{\"type\":\"raise_hand\",\"raised\":%s}",
             raised ? "true" : "false");
    cq_hub_message(fx->hub, &fx->conn[i], text, strlen(text));
}

/* The telecentres of GET .../hands, in order, as "id" words. */
static const char *hands(void) {
    static char text[128];
    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%lld/hands", (long long)fx->session);
    json_t *o;
    assert_int_equal(call("GET", path, AUTH, NULL, &o), 200);
    text[0] = '\0';
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(o, "hands"), i, h) {
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%lld", i ? " " : "",
                 (long long)json_integer_value(json_object_get(h, "telecentre")));
    }
    json_decref(o);
    return text;
}

static void path_of(char *out, size_t cap, const char *action) {
    snprintf(out, cap, "/api/sessions/%lld/%s", (long long)fx->session, action);
}

/* The queue as the operator reads it: in the order hands went up, with names and times;
 * lowered and departed hands leave it; the operator key is needed. */
static void test_api_hands_in_order(void **state) {
    (void)state;
    char path[64];
    path_of(path, sizeof path, "hands");
    assert_string_equal(hands(), "");
    hand(2, true);
    fx->now += 30;
    hand(1, true);
    char expect[16];
    snprintf(expect, sizeof expect, "%lld %lld", (long long)fx->tc[2], (long long)fx->tc[1]);
    assert_string_equal(hands(), expect);
    json_t *o;
    assert_int_equal(call("GET", path, AUTH, NULL, &o), 200);
    json_t *first = json_array_get(json_object_get(o, "hands"), 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "Pucayacu");
    assert_string_equal(json_string_value(json_object_get(first, "since")), "2026-11-23T12:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(first, "seconds")), 30);
    json_decref(o);
    hand(2, false);
    snprintf(expect, sizeof expect, "%lld", (long long)fx->tc[1]);
    assert_string_equal(hands(), expect);
    cq_hub_remove(fx->hub, &fx->conn[1]); /* its control connection closes: it left */
    assert_string_equal(hands(), "");
    assert_int_equal(call("GET", path, NULL, NULL, NULL), 401);
    assert_int_equal(call("POST", path, AUTH, NULL, NULL), 405);
    assert_string_equal(refusal("GET", "/api/sessions/999/hands", NULL, 404), "not_found");
}

/* An operator's control on telecentre i: the status, and the answer in *out if wanted. */
static int control(const char *action, int i, const char *extra, json_t **out) {
    char path[64], body[128];
    path_of(path, sizeof path, action);
    snprintf(body, sizeof body, "{\"telecentre\":%lld%s}", (long long)fx->tc[i], extra);
    return call("POST", path, AUTH, body, out);
}

static const char *role_in(json_t *o) {
    return json_string_value(json_object_get(o, "role"));
}

/* The fake relay's view of telecentre i: its audio SSRC (0: it may not send sound). */
static uint32_t relay_audio(int i) {
    ptrdiff_t k = media_find(&fx->media, (uint32_t)fx->tc[i]);
    assert_true(k >= 0);
    return fx->media.audio_ssrc[k];
}

/* The operator promotes or demotes telecentre i: the answer gives its role, and everyone
 * connected (0..2) hears the event. */
static void role_change(const char *action, int i, const char *role) {
    clear();
    json_t *o;
    assert_int_equal(control(action, i, "", &o), 200);
    assert_string_equal(role_in(o), role);
    assert_true(json_is_boolean(json_object_get(o, "promoted")));
    assert_int_equal(json_is_true(json_object_get(o, "promoted")), strcmp(action, "promote") == 0);
    json_decref(o);
    char event[64];
    snprintf(event, sizeof event, "{\"type\":\"%sd\",\"telecentre\":%lld}", action,
             (long long)fx->tc[i]);
    for (int k = 0; k < 3; k++)
        assert_non_null(strstr(fx->got[k], event));
}

/* Raise hand, promotion (everyone told, the hand lowered), a re-join that answers as for a
 * participant with the layers it makes, then demotion and a re-join as a viewer again. */
static void test_api_promote_then_demote(void **state) {
    (void)state;
    hand(1, true);
    role_change("promote", 1, "participant");
    json_t *o;
    assert_non_null(strstr(fx->got[0], "\"type\":\"hand\""));
    assert_string_equal(hands(), "");
    assert_int_equal(relay_audio(1), 0); /* nothing changes until it joins again */

    assert_int_equal(join(1, 2, &o), 200);
    assert_string_equal(role_in(o), "participant");
    assert_true(json_integer_value(json_object_get(json_object_get(o, "ssrcs"), "audio")) > 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "ssrcs"), "video")), 2);
    json_decref(o);
    assert_true(relay_audio(1) != 0);
    ptrdiff_t k = media_find(&fx->media, (uint32_t)fx->tc[1]);
    assert_int_equal(fx->media.video_layers[k], 2);
    char path[64], body[1200];
    path_of(path, sizeof path, "attach");
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", fx->token[1]);
    assert_int_equal(call("POST", path, NULL, body, &o), 200);
    assert_string_equal(role_in(o), "participant");
    json_decref(o);
    json_t *as_seen; /* what the others' joins list it as */
    assert_int_equal(join(2, 0, &as_seen), 200);
    size_t i;
    json_t *p;
    bool listed = false;
    json_array_foreach(json_object_get(as_seen, "participants"), i, p) {
        if (json_integer_value(json_object_get(p, "telecentre")) == fx->tc[1]) {
            assert_string_equal(role_in(p), "participant");
            listed = true;
        }
    }
    assert_true(listed);
    json_decref(as_seen);

    role_change("demote", 1, "viewer");
    assert_int_equal(join(1, 2, &o), 200);
    assert_string_equal(role_in(o), "viewer");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "ssrcs"), "audio")), 0);
    json_decref(o);
    assert_int_equal(relay_audio(1), 0);
}

/* What promotion and demotion refuse, each with the API's error shape and its kind. */
static void test_api_promote_refusals(void **state) {
    (void)state;
    char path[64];
    path_of(path, sizeof path, "promote");
    json_t *o;
    assert_int_equal(control("promote", 0, "", &o), 409); /* a presenter speaks already */
    assert_string_equal(json_string_value(json_object_get(o, "error")), "already_speaker");
    json_decref(o);
    assert_int_equal(control("promote", 3, "", &o), 409); /* invited, never joined */
    assert_string_equal(json_string_value(json_object_get(o, "error")), "not_joined");
    json_decref(o);
    assert_int_equal(control("demote", 0, "", &o), 409);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "cannot_demote");
    json_decref(o);
    assert_int_equal(control("demote", 1, "", &o), 409);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "not_promoted");
    json_decref(o);
    assert_int_equal(control("promote", 1, "", NULL), 200);
    assert_int_equal(control("promote", 1, "", &o), 409); /* twice */
    assert_string_equal(json_string_value(json_object_get(o, "error")), "already_speaker");
    json_decref(o);
    /* Bodies, and the field each 400 names. */
    static const char *const bad[][2] = {
        {"{}", "telecentre"},
        {"{\"telecentre\":\"2\"}", "telecentre"},
        {"{\"telecentre\":0}", "telecentre"},
        {"{\"telecentre\":2,\"muted\":true}", "muted"}, /* not a field of promote */
        {"{\"telecentre\":99}", "telecentre"},          /* not invited */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(call("POST", path, AUTH, bad[i][0], &o), 400);
        assert_string_equal(json_string_value(json_object_get(o, "field")), bad[i][1]);
        json_decref(o);
    }
    assert_string_equal(refusal("POST", path, "[", 400), "bad_json");
    assert_int_equal(call("POST", path, NULL, "{\"telecentre\":2}", NULL), 401);
    assert_string_equal(refusal("POST", "/api/sessions/999/promote", "{\"telecentre\":2}", 404),
                        "not_found");
    char body[256];
    snprintf(body, sizeof body,
             "{\"title\":\"Mañana\",\"start\":\"2026-11-24T12:00:00Z\","
             "\"end\":\"2026-11-24T13:00:00Z\",\"mode\":\"broadcast\","
             "\"telecentres\":[%lld,%lld],\"presenters\":[%lld]}",
             (long long)fx->tc[0], (long long)fx->tc[1], (long long)fx->tc[0]);
    assert_int_equal(call("POST", "/api/sessions", AUTH, body, &o), 201);
    snprintf(path, sizeof path, "/api/sessions/%lld/promote",
             (long long)json_integer_value(json_object_get(o, "id")));
    json_decref(o);
    snprintf(body, sizeof body, "{\"telecentre\":%lld}", (long long)fx->tc[1]);
    assert_string_equal(refusal("POST", path, body, 409), "not_running");
}

static bool relay_muted(int i) {
    ptrdiff_t k = media_find(&fx->media, (uint32_t)fx->tc[i]);
    assert_true(k >= 0);
    return fx->media.muted[k];
}

static const char *error_of(json_t *o) {
    static char kind[64];
    snprintf(kind, sizeof kind, "%s", json_string_value(json_object_get(o, "error")));
    json_decref(o);
    return kind;
}

/* The operator's mute reaches the relay and everyone, holds over a re-join and against the
 * telecentre's own unmute, and is lifted by the operator alone. */
static void test_api_operator_mute(void **state) {
    (void)state;
    json_t *o;
    assert_int_equal(control("mute", 0, ",\"muted\":true", &o), 200);
    assert_true(json_is_true(json_object_get(o, "muted")));
    json_decref(o);
    assert_true(relay_muted(0));
    char event[96];
    snprintf(event, sizeof event,
             "{\"type\":\"muted\",\"telecentre\":%lld,\"muted\":true,\"by\":\"operator\"}",
             (long long)fx->tc[0]);
    for (int i = 0; i < 3; i++)
        assert_non_null(strstr(fx->got[i], event));
    assert_int_equal(join(0, 2, NULL), 200); /* a re-join: a new participant, muted again */
    assert_true(relay_muted(0));
    clear();
    const char *unmute = "{\"type\":\"mute\",\"muted\":false}";
    cq_hub_message(fx->hub, &fx->conn[0], unmute, strlen(unmute));
    assert_non_null(strstr(fx->got[0], "\"type\":\"error\""));
    assert_string_equal(fx->got[1], "");
    assert_int_equal(control("mute", 0, ",\"muted\":false", &o), 200);
    assert_false(json_is_true(json_object_get(o, "muted")));
    json_decref(o);
    assert_false(relay_muted(0));
    assert_int_equal(join(0, 2, NULL), 200);
    assert_false(relay_muted(0));
    /* Refusals: "muted" is needed and boolean; the telecentre must be in the media. */
    assert_int_equal(control("mute", 0, "", &o), 400);
    assert_string_equal(json_string_value(json_object_get(o, "field")), "muted");
    json_decref(o);
    assert_int_equal(control("mute", 0, ",\"muted\":1", NULL), 400);
    assert_int_equal(control("mute", 3, ",\"muted\":true", &o), 409);
    assert_string_equal(error_of(o), "not_joined");
}

/* Reopens the store and the API on the same file, as a daemon restart would. */
static void restart(void) {
    cq_api_destroy(fx->api);
    cq_store_close(fx->store);
    fx->media.n = 0;
    assert_int_equal(cq_store_open(&fx->store, fx->db_path), 0);
    open_api();
}

/* A removed telecentre is dropped by the relay, told and closed, seen leaving by the
 * others, and can never join again with any token for the session, across a restart. */
static void test_api_remove(void **state) {
    (void)state;
    hand(1, true);
    clear();
    json_t *o;
    assert_int_equal(control("remove", 1, "", &o), 200);
    assert_true(json_is_true(json_object_get(o, "removed")));
    json_decref(o);
    assert_true(media_find(&fx->media, (uint32_t)fx->tc[1]) < 0);
    assert_non_null(strstr(fx->got[1], "{\"type\":\"removed\""));
    assert_true(fx->closed[1]);
    assert_false(cq_hub_has(fx->hub, &fx->conn[1]));
    char left[64];
    snprintf(left, sizeof left, "{\"type\":\"left\",\"telecentre\":%lld}", (long long)fx->tc[1]);
    assert_non_null(strstr(fx->got[0], left));
    assert_false(fx->closed[0]);
    assert_string_equal(hands(), "");

    assert_int_equal(join(1, 0, &o), 403);
    assert_string_equal(error_of(o), "removed");
    char path[64], body[1200];
    path_of(path, sizeof path, "attach");
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", fx->token[1]);
    assert_int_equal(call("POST", path, NULL, body, &o), 403);
    assert_string_equal(error_of(o), "removed");
    path_of(path, sizeof path, "tokens");
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"viewer\"}", (long long)fx->tc[1]);
    assert_string_equal(refusal("POST", path, body, 409), "removed");
    assert_int_equal(control("remove", 1, "", &o), 409);
    assert_string_equal(error_of(o), "removed");
    assert_int_equal(control("promote", 1, "", &o), 409);
    assert_string_equal(error_of(o), "not_joined");

    /* One invited but not in yet is kept out too. */
    assert_int_equal(control("remove", 3, "", NULL), 200);
    assert_int_equal(join(3, 0, &o), 403);
    assert_string_equal(error_of(o), "removed");

    restart();
    assert_int_equal(join(1, 0, &o), 403);
    assert_string_equal(error_of(o), "removed");
    assert_int_equal(join(2, 0, NULL), 200); /* the others are not affected */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_hands_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_promote_then_demote, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_promote_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_operator_mute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_remove, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
