/*
 * The JSON API as the operator's tools meet it, without sockets: every route, every error
 * naming its field, and the schedule moving sessions through their states as an injected
 * clock advances.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rtp/error.h"
#include "signaling/api.h"
#include "signaling/store.h"
#include "signaling/token.h"

#define KEY    "operator-key-0123456789abcdef"
#define SECRET "token-secret-0123456789abcdef"
#define AUTH   "Bearer " KEY
/* 2026-11-23T12:00:00Z: the tests' "now" until they move it. */
#define NOON 1795435200

typedef struct {
    struct cq_store *store;
    struct cq_api *api;
    int64_t now;
} fixture_t;

static int64_t clock_of(void *ctx) {
    return ((fixture_t *)ctx)->now;
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->now = NOON;
    assert_int_equal(cq_store_open(&f->store, ":memory:"), 0);
    cq_api_config_t cfg = {.store = f->store,
                           .operator_key = KEY,
                           .clock = clock_of,
                           .clock_ctx = f,
                           .token_secret = (const uint8_t *)SECRET,
                           .token_secret_len = sizeof SECRET - 1};
    assert_int_equal(cq_api_create(&f->api, &cfg), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    cq_api_destroy(f->api);
    cq_store_close(f->store);
    free(f);
    return 0;
}

/* The client address requests come from (NULL: none given). */
static const char *peer;

/* One request; returns the status and, in *json (if not NULL), the parsed body. */
static int call(fixture_t *f, const char *method, const char *target, const char *auth,
                const char *body, json_t **json) {
    char path[256];
    snprintf(path, sizeof path, "%s", target);
    char *q = strchr(path, '?');
    if (q != NULL)
        *q++ = '\0';
    cq_api_request_t req = {.method = method,
                            .path = path,
                            .query = q,
                            .authorization = auth,
                            .body = body,
                            .body_len = body ? strlen(body) : 0,
                            .peer_address = peer};
    cq_api_response_t res;
    cq_api_handle(f->api, &req, &res);
    int status = res.status;
    if (res.status == 204)
        assert_null(res.body);
    else
        assert_non_null(res.body);  /* every other answer is JSON, errors included */
    if (res.content_type != NULL) { /* the metrics text: given back as a JSON string */
        json_t *text = json_stringn(res.body, res.body_len);
        if (json != NULL)
            *json = text;
        else
            json_decref(text);
        cq_api_response_free(&res);
        return status;
    }
    json_t *o = res.body ? json_loadb(res.body, res.body_len, 0, NULL) : NULL;
    assert_true(res.body == NULL || o != NULL);
    if (status >= 400) {
        assert_true(json_is_string(json_object_get(o, "error")));
        assert_true(json_is_string(json_object_get(o, "reason")));
    }
    if (json != NULL)
        *json = o;
    else
        json_decref(o);
    cq_api_response_free(&res);
    return status;
}

/* The field a 400 names ("" when it names none, so a comparison fails instead of
 * crashing). */
static const char *field_of(json_t *o) {
    const char *f = json_string_value(json_object_get(o, "field"));
    return f ? f : "";
}

static int64_t add_telecentre(fixture_t *f, const char *name) {
    char body[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"district\":\"Monzón\"}", name);
    json_t *o;
    assert_int_equal(call(f, "POST", "/api/telecentres", AUTH, body, &o), 201);
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    assert_true(id > 0);
    return id;
}

static void test_api_health_auth_and_routing(void **state) {
    fixture_t *f = *state;
    json_t *o;
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, &o), 200);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "ok");
    json_decref(o);
    assert_int_equal(call(f, "GET", "/api/telecentres", NULL, NULL, NULL), 401);
    assert_int_equal(call(f, "GET", "/api/telecentres", "Bearer wrong", NULL, NULL), 401);
    assert_int_equal(call(f, "GET", "/api/telecentres", "Bearer " KEY "x", NULL, NULL), 401);
    assert_int_equal(call(f, "GET", "/api/telecentres", KEY, NULL, NULL), 401); /* no Bearer */
    assert_int_equal(call(f, "GET", "/api/telecentres", AUTH, NULL, NULL), 200);
    assert_int_equal(call(f, "GET", "/nowhere", AUTH, NULL, NULL), 404);
    assert_int_equal(call(f, "GET", "/api/telecentres/0", AUTH, NULL, NULL), 404);
    assert_int_equal(call(f, "GET", "/api/telecentres/01", AUTH, NULL, NULL), 404);
    assert_int_equal(call(f, "GET", "/api/telecentres/12a", AUTH, NULL, NULL), 404);
    assert_int_equal(call(f, "GET", "/api/telecentres/9999999999999999999", AUTH, NULL, NULL), 404);
    assert_int_equal(call(f, "GET", "/api/telecentres/", AUTH, NULL, NULL), 404);
    /* A wrong method says which ones the path takes. */
    cq_api_request_t req = {.method = "DELETE", .path = "/api/sessions"};
    cq_api_response_t res;
    cq_api_handle(f->api, &req, &res);
    assert_int_equal(res.status, 405);
    assert_string_equal(res.allow, "GET, POST");
    cq_api_response_free(&res);
    /* Too large a body is refused before it is read. */
    char *big = malloc(CQ_API_MAX_BODY + 2);
    assert_non_null(big);
    memset(big, ' ', CQ_API_MAX_BODY + 1);
    big[CQ_API_MAX_BODY + 1] = '\0';
    assert_int_equal(call(f, "POST", "/api/telecentres", AUTH, big, NULL), 413);
    free(big);
}

static void test_api_telecentres(void **state) {
    fixture_t *f = *state;
    json_t *o;
    assert_int_equal(call(f, "POST", "/api/telecentres", AUTH,
                          "{\"name\":\"Cachicoto\",\"district\":\"Monzón\","
                          "\"contact\":\"Rosa, +51 962 111 222\"}",
                          &o),
                     201);
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    assert_string_equal(json_string_value(json_object_get(o, "district")), "Monzón");
    assert_string_equal(json_string_value(json_object_get(o, "created")), "2026-11-23T12:00:00Z");
    json_decref(o);
    add_telecentre(f, "Anda");
    assert_int_equal(call(f, "GET", "/api/telecentres", AUTH, NULL, &o), 200);
    json_t *list = json_object_get(o, "telecentres");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "name")),
                        "Anda");
    json_decref(o);
    char path[64];
    snprintf(path, sizeof path, "/api/telecentres/%lld", (long long)id);
    assert_int_equal(call(f, "PATCH", path, AUTH, "{\"contact\":\"\"}", &o), 200);
    assert_string_equal(json_string_value(json_object_get(o, "contact")), "");
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Cachicoto");
    json_decref(o);
    assert_int_equal(call(f, "PATCH", path, AUTH, "{\"name\":\"Anda\"}", &o), 409);
    assert_string_equal(field_of(o), "name");
    json_decref(o);
    assert_int_equal(call(f, "DELETE", path, AUTH, NULL, NULL), 204);
    assert_int_equal(call(f, "GET", path, AUTH, NULL, NULL), 404);
    assert_int_equal(call(f, "DELETE", path, AUTH, NULL, NULL), 404);
    assert_int_equal(call(f, "PATCH", path, AUTH, "{\"contact\":\"x\"}", NULL), 404);
}

/* Each bad body is refused with 400, naming the field (or saying it is not JSON), and
 * nothing is created. */
static void test_api_telecentre_bad_bodies(void **state) {
    fixture_t *f = *state;
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"district\":\"Monzón\"}", "name"},
        {"{\"name\":\"\",\"district\":\"x\"}", "name"},
        {"{\"name\":7,\"district\":\"x\"}", "name"},
        {"{\"name\":\"a\",\"district\":\"x\",\"colour\":\"red\"}", "colour"},
        {"{\"name\":\"a\"}", "district"},
        {"{\"name\":\"a\",\"district\":\"x\",\"contact\":null}", "contact"},
        {"{\"name\":\"a\\u0000b\",\"district\":\"x\"}", NULL}, /* NUL: not taken as JSON */
        {"{\"name\":\"012345678901234567890123456789012345678901234567890123456789"
         "012345678901234567890\",\"district\":\"x\"}",
         "name"},
        {"[1,2]", NULL},
        {"{\"name\":\"a\",", NULL},
        {"{\"name\":\"a\",\"name\":\"b\",\"district\":\"x\"}", NULL}, /* duplicate key */
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *o;
        assert_int_equal(call(f, "POST", "/api/telecentres", AUTH, cases[i].body, &o), 400);
        if (cases[i].field != NULL)
            assert_string_equal(field_of(o), cases[i].field);
        else
            assert_string_equal(json_string_value(json_object_get(o, "error")), "bad_json");
        json_decref(o);
    }
    json_t *o;
    assert_int_equal(call(f, "GET", "/api/telecentres", AUTH, NULL, &o), 200);
    assert_int_equal(json_array_size(json_object_get(o, "telecentres")), 0);
    json_decref(o);
}

static int64_t schedule(fixture_t *f, const char *extra, int expect, json_t **out) {
    int64_t a = add_telecentre(f, "Cachicoto"), b = add_telecentre(f, "Anda");
    char body[512];
    snprintf(body, sizeof body,
             "{\"title\":\"Cacao: precios\",\"start\":\"2026-11-23T14:00:00Z\","
             "\"end\":\"2026-11-23T15:30:00Z\",\"mode\":\"conference\","
             "\"telecentres\":[%lld,%lld],\"presenters\":[%lld]%s}",
             (long long)a, (long long)b, (long long)a, extra);
    json_t *o;
    assert_int_equal(call(f, "POST", "/api/sessions", AUTH, body, &o), expect);
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    if (out)
        *out = o;
    else
        json_decref(o);
    return id;
}

static const char *state_of(fixture_t *f, int64_t id) {
    static char st[32];
    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%lld", (long long)id);
    json_t *o;
    assert_int_equal(call(f, "GET", path, AUTH, NULL, &o), 200);
    snprintf(st, sizeof st, "%s", json_string_value(json_object_get(o, "state")));
    json_decref(o);
    return st;
}

static size_t count(fixture_t *f, const char *filter) {
    char target[64];
    snprintf(target, sizeof target, "/api/sessions?filter=%s", filter);
    json_t *o;
    assert_int_equal(call(f, "GET", target, AUTH, NULL, &o), 200);
    size_t n = json_array_size(json_object_get(o, "sessions"));
    json_decref(o);
    return n;
}

/* Scheduled -> open (10 min before) -> live -> ended, as the clock moves; the filters
 * follow; a live session can no longer be edited or cancelled, only ended. */
static void test_api_session_state_machine(void **state) {
    fixture_t *f = *state;
    json_t *o;
    int64_t id = schedule(f, "", 201, &o);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "scheduled");
    assert_string_equal(json_string_value(json_object_get(o, "opens")), "2026-11-23T13:50:00Z");
    json_t *members = json_object_get(o, "telecentres");
    assert_int_equal(json_array_size(members), 2);
    assert_true(json_is_true(json_object_get(json_array_get(members, 0), "presenter")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(members, 0), "name")),
                        "Cachicoto");
    json_decref(o);
    assert_int_equal(count(f, "upcoming"), 1);
    f->now = 1795442400 - 601; /* 13:49:59 */
    assert_string_equal(state_of(f, id), "scheduled");
    f->now += 1;
    assert_string_equal(state_of(f, id), "open");
    assert_int_equal(count(f, "upcoming"), 1);
    f->now = 1795442400; /* 14:00 */
    assert_string_equal(state_of(f, id), "live");
    assert_int_equal(count(f, "live"), 1);
    assert_int_equal(count(f, "upcoming"), 0);
    char path[64];
    snprintf(path, sizeof path, "/api/sessions/%lld", (long long)id);
    assert_int_equal(call(f, "PATCH", path, AUTH, "{\"title\":\"x\"}", NULL), 409);
    char action[96];
    snprintf(action, sizeof action, "%s/cancel", path);
    assert_int_equal(call(f, "POST", action, AUTH, NULL, NULL), 409);
    f->now = 1795442400 + 5400; /* 15:30: over */
    assert_string_equal(state_of(f, id), "ended");
    assert_int_equal(count(f, "past"), 1);
    assert_int_equal(count(f, "all"), 1);
    assert_int_equal(call(f, "GET", "/api/sessions?filter=soon", AUTH, NULL, &o), 400);
    assert_string_equal(field_of(o), "filter");
    json_decref(o);
}

static void test_api_session_cancel_and_end_now(void **state) {
    fixture_t *f = *state;
    int64_t id = schedule(f, "", 201, NULL);
    char path[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/end", (long long)id);
    assert_int_equal(call(f, "POST", path, AUTH, NULL, NULL), 409); /* not started */
    snprintf(path, sizeof path, "/api/sessions/%lld/cancel", (long long)id);
    json_t *o;
    assert_int_equal(call(f, "POST", path, AUTH, NULL, &o), 200);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "cancelled");
    assert_string_equal(json_string_value(json_object_get(o, "ended")), "2026-11-23T12:00:00Z");
    json_decref(o);
    assert_int_equal(call(f, "POST", path, AUTH, NULL, NULL), 409);
    f->now = 1795442400 + 60; /* the clock never revives a cancelled session */
    assert_string_equal(state_of(f, id), "cancelled");
    /* A second session, ended early by the operator while live. */
    int64_t a = add_telecentre(f, "Pucayacu");
    char body[256];
    snprintf(body, sizeof body,
             "{\"title\":\"Café\",\"start\":\"2026-11-23T14:01:00Z\",\"end\":"
             "\"2026-11-23T15:00:00Z\",\"mode\":\"conference\",\"telecentres\":[%lld]}",
             (long long)a);
    assert_int_equal(call(f, "POST", "/api/sessions", AUTH, body, &o), 201);
    int64_t id2 = (int64_t)json_integer_value(json_object_get(o, "id"));
    assert_string_equal(json_string_value(json_object_get(o, "state")), "live"); /* at once */
    json_decref(o);
    snprintf(path, sizeof path, "/api/sessions/%lld/end", (long long)id2);
    assert_int_equal(call(f, "POST", path, AUTH, NULL, &o), 200);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "ended");
    assert_string_equal(json_string_value(json_object_get(o, "ended")), "2026-11-23T14:01:00Z");
    json_decref(o);
    assert_int_equal(call(f, "POST", path, AUTH, NULL, NULL), 409);
}

/* Each bad schedule is refused, naming its field. */
static void test_api_session_validation(void **state) {
    fixture_t *f = *state;
    int64_t a = add_telecentre(f, "Cachicoto");
    static const struct {
        const char *fmt, *field;
    } cases[] = {
        {"{\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld]}",
         "title"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23 14:00\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld]}",
         "start"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T11:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld]}",
         "start"}, /* in the past */
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T14:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld]}",
         "end"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-24T14:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld]}",
         "end"}, /* 24 hours */
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"lecture\",\"telecentres\":[%lld]}",
         "mode"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"broadcast\",\"telecentres\":[%lld]}",
         "presenters"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld],\"presenters\":[424242]}",
         "presenters"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld,424242]}",
         "telecentres"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld,\"x\"]}",
         "telecentres"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[],\"x\":%lld}",
         "x"},
        {"{\"title\":\"t\",\"start\":\"2026-11-23T14:00:00Z\",\"end\":\"2026-11-23T15:00:00Z\","
         "\"mode\":\"conference\",\"telecentres\":[%lld],\"open_before_minutes\":-1}",
         "open_before_minutes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the table's own formats */
        snprintf(body, sizeof body, cases[i].fmt, (long long)a);
#pragma GCC diagnostic pop
        json_t *o;
        assert_int_equal(call(f, "POST", "/api/sessions", AUTH, body, &o), 400);
        assert_string_equal(field_of(o), cases[i].field);
        json_decref(o);
    }
    assert_int_equal(count(f, "all"), 0);
}

/* An update changes only what it names, and moves presenters with the invited. */
static void test_api_session_update(void **state) {
    fixture_t *f = *state;
    json_t *o;
    int64_t id = schedule(f, ",\"open_before_minutes\":30", 201, &o);
    assert_string_equal(json_string_value(json_object_get(o, "opens")), "2026-11-23T13:30:00Z");
    json_decref(o);
    int64_t c = add_telecentre(f, "Pucayacu");
    char path[64], body[256];
    snprintf(path, sizeof path, "/api/sessions/%lld", (long long)id);
    snprintf(body, sizeof body,
             "{\"telecentres\":[%lld],\"mode\":\"broadcast\","
             "\"presenters\":[%lld]}",
             (long long)c, (long long)c);
    assert_int_equal(call(f, "PATCH", path, AUTH, body, &o), 200);
    assert_string_equal(json_string_value(json_object_get(o, "title")), "Cacao: precios");
    assert_string_equal(json_string_value(json_object_get(o, "mode")), "broadcast");
    json_t *members = json_object_get(o, "telecentres");
    assert_int_equal(json_array_size(members), 1);
    assert_true(json_is_true(json_object_get(json_array_get(members, 0), "presenter")));
    json_decref(o);
    assert_int_equal(call(f, "PATCH", path, AUTH, "{\"end\":\"2026-11-23T13:00:00Z\"}", &o), 400);
    assert_string_equal(field_of(o), "end");
    json_decref(o);
    assert_int_equal(call(f, "PATCH", "/api/sessions/999", AUTH, "{\"title\":\"x\"}", NULL), 404);
}

/* Tokens: given for an invited telecentre in a role it may take, signed with the server's
 * secret, valid to the session's end; refused, naming the field, otherwise. */
static void test_api_tokens(void **state) {
    fixture_t *f = *state;
    json_t *o;
    int64_t id = schedule(f, "", 201, &o);
    json_t *members = json_object_get(o, "telecentres");
    int64_t presenter =
        (int64_t)json_integer_value(json_object_get(json_array_get(members, 0), "id"));
    int64_t other = (int64_t)json_integer_value(json_object_get(json_array_get(members, 1), "id"));
    json_decref(o);
    int64_t outsider = add_telecentre(f, "Pucayacu");
    char path[96], body[160];
    snprintf(path, sizeof path, "/api/sessions/%lld/tokens", (long long)id);
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"participant\"}", (long long)other);
    assert_int_equal(call(f, "POST", path, AUTH, body, &o), 201);
    assert_string_equal(json_string_value(json_object_get(o, "expires")), "2026-11-23T15:30:00Z");
    cq_token_claims_t claims;
    assert_int_equal(cq_token_verify((const uint8_t *)SECRET, sizeof SECRET - 1,
                                     json_string_value(json_object_get(o, "token")), f->now,
                                     &claims),
                     0);
    assert_int_equal(claims.session_id, id);
    assert_int_equal(claims.telecentre_id, other);
    assert_int_equal(claims.role, CQ_ROLE_PARTICIPANT);
    json_decref(o);
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"presenter\"}",
             (long long)presenter);
    assert_int_equal(call(f, "POST", path, AUTH, body, NULL), 201);
    static const struct {
        const char *fmt, *field;
    } bad[] = {
        {"{\"telecentre\":%lld,\"role\":\"presenter\"}", "role"}, /* not a presenter */
        {"{\"telecentre\":%lld,\"role\":\"owner\"}", "role"},
        {"{\"telecentre\":%lld,\"role\":\"viewer\",\"expires\":\"2026-11-23T16:00:00Z\"}",
         "expires"}, /* after the end */
        {"{\"telecentre\":%lld,\"role\":\"viewer\",\"expires\":\"2026-11-23T11:00:00Z\"}",
         "expires"}, /* already past */
        {"{\"telecentre\":\"%lld\",\"role\":\"viewer\"}", "telecentre"},
        {"{\"telecentre\":%lld,\"role\":\"viewer\",\"x\":1}", "x"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the table's own formats */
        snprintf(body, sizeof body, bad[i].fmt, (long long)other);
#pragma GCC diagnostic pop
        assert_int_equal(call(f, "POST", path, AUTH, body, &o), 400);
        assert_string_equal(field_of(o), bad[i].field);
        json_decref(o);
    }
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"viewer\"}", (long long)outsider);
    assert_int_equal(call(f, "POST", path, AUTH, body, &o), 400);
    assert_string_equal(field_of(o), "telecentre");
    json_decref(o);
    assert_int_equal(call(f, "POST", "/api/sessions/999/tokens", AUTH, body, NULL), 404);
    assert_int_equal(call(f, "POST", path, NULL, body, NULL), 401);
    char cancel[96];
    snprintf(cancel, sizeof cancel, "/api/sessions/%lld/cancel", (long long)id);
    assert_int_equal(call(f, "POST", cancel, AUTH, NULL, NULL), 200);
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"viewer\"}", (long long)other);
    assert_int_equal(call(f, "POST", path, AUTH, body, NULL), 409);
}

/* Ten failed keys from one address within a minute: that address is refused (429), even
 * with the right key, until the minute is over; other addresses are not affected. */
static void test_api_failed_attempts_throttled(void **state) {
    fixture_t *f = *state;
    peer = "10.0.0.9";
    for (int i = 0; i < CQ_API_MAX_FAILURES; i++)
        assert_int_equal(call(f, "GET", "/api/telecentres", "Bearer guess", NULL, NULL), 401);
    json_t *o;
    assert_int_equal(call(f, "GET", "/api/telecentres", AUTH, NULL, &o), 429);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "too_many_failures");
    json_decref(o);
    assert_int_equal(call(f, "GET", "/healthz", NULL, NULL, NULL), 200); /* not for health */
    peer = "10.0.0.10";
    assert_int_equal(call(f, "GET", "/api/telecentres", AUTH, NULL, NULL), 200);
    peer = "10.0.0.9";
    f->now += CQ_API_FAILURE_WINDOW;
    assert_int_equal(call(f, "GET", "/api/telecentres", AUTH, NULL, NULL), 200);
    /* Refused join tokens count too. */
    for (int i = 0; i < CQ_API_MAX_FAILURES; i++)
        assert_int_equal(
            call(f, "POST", "/api/sessions/1/join", NULL, "{\"token\":\"forged\"}", NULL), 401);
    assert_int_equal(call(f, "POST", "/api/sessions/1/join", NULL, "{\"token\":\"x\"}", NULL), 429);
    peer = NULL;
}

/* /metrics without the key: sessions by state as Prometheus text (no media plane here). */
static void test_api_metrics(void **state) {
    fixture_t *f = *state;
    schedule(f, "", 201, NULL);
    json_t *o;
    assert_int_equal(call(f, "GET", "/metrics", NULL, NULL, &o), 200);
    const char *text = json_string_value(o);
    assert_non_null(strstr(text, "# TYPE chasqui_sessions gauge\n"));
    assert_non_null(strstr(text, "chasqui_sessions{state=\"scheduled\"} 1\n"));
    assert_non_null(strstr(text, "chasqui_sessions{state=\"live\"} 0\n"));
    assert_null(strstr(text, "Cacao")); /* no names */
    json_decref(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_api_health_auth_and_routing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_telecentres, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_telecentre_bad_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_session_state_machine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_session_cancel_and_end_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_session_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_session_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_failed_attempts_throttled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_metrics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
