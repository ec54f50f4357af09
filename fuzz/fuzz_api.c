/*
 * Fuzz target for the JSON API's request handler (signaling/api.h): the method, path,
 * query, Authorization header and body all come from the input. Whatever arrives, the
 * handler must answer (no crash, no leak), with a status from 200 to 599, and every body
 * it gives must be JSON (the metrics text excepted), with "error" and "reason" on every
 * 4xx and 5xx.
 *
 * Input: byte 0 picks the method, byte 1 whether the right operator key is presented,
 * then the path (and ?query) up to the first newline, then the body. A fresh in-memory
 * store per input, with two telecentres and a session, so ids in paths can hit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "signaling/api.h"
#include "signaling/log.h"
#include "signaling/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY "fuzz-operator-key-0123456789"

static int64_t fixed_clock(void *ctx) {
    (void)ctx;
    return 1795435200; /* 2026-11-23T12:00:00Z */
}

static void quiet(cq_log_level_t level, const char *line, void *ctx) {
    (void)level;
    (void)line;
    (void)ctx;
}

static void seed(struct cq_api *api) {
    static const char *const bodies[][2] = {
        {"/api/telecentres", "{\"name\":\"A\",\"district\":\"D\"}"},
        {"/api/telecentres", "{\"name\":\"B\",\"district\":\"D\"}"},
        {"/api/sessions", "{\"title\":\"T\",\"start\":\"2026-11-23T12:05:00Z\","
                          "\"end\":\"2026-11-23T13:00:00Z\",\"mode\":\"broadcast\","
                          "\"telecentres\":[1,2],\"presenters\":[1]}"},
    };
    for (size_t i = 0; i < 3; i++) {
        cq_api_request_t req = {.method = "POST",
                                .path = bodies[i][0],
                                .authorization = "Bearer " KEY,
                                .body = bodies[i][1],
                                .body_len = strlen(bodies[i][1])};
        cq_api_response_t res;
        cq_api_handle(api, &req, &res);
        cq_api_response_free(&res);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const methods[] = {"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"};
    if (size < 2)
        return 0;
    cq_log_set_sink(quiet, NULL);
    struct cq_store *store;
    if (cq_store_open(&store, ":memory:") != 0)
        abort();
    static const char secret[] = "fuzz-token-secret-0123456789";
    cq_api_config_t cfg = {.store = store,
                           .operator_key = KEY,
                           .clock = fixed_clock,
                           .token_secret = (const uint8_t *)secret,
                           .token_secret_len = sizeof secret - 1};
    struct cq_api *api;
    if (cq_api_create(&api, &cfg) != 0)
        abort();
    seed(api);

    const char *method = methods[data[0] % 6];
    const char *auth = data[1] & 1 ? "Bearer " KEY : (data[1] & 2 ? "Bearer x" : NULL);
    const uint8_t *p = data + 2, *end = data + size;
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    size_t target_len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    char *target = malloc(target_len + 1);
    memcpy(target, p, target_len);
    target[target_len] = '\0';
    char *query = strchr(target, '?');
    if (query != NULL)
        *query++ = '\0';
    const uint8_t *body = nl ? nl + 1 : end;
    cq_api_request_t req = {.method = method,
                            .path = target,
                            .query = query,
                            .authorization = auth,
                            .body = (const char *)body,
                            .body_len = (size_t)(end - body)};
    cq_api_response_t res;
    cq_api_handle(api, &req, &res);
    if (res.status < 200 || res.status > 599)
        abort();
    if (res.body != NULL && res.content_type == NULL) {
        json_t *o = json_loadb(res.body, res.body_len, 0, NULL);
        if (o == NULL)
            abort();
        if (res.status >= 400 && (!json_is_string(json_object_get(o, "error")) ||
                                  !json_is_string(json_object_get(o, "reason"))))
            abort();
        json_decref(o);
    } else if (res.status != 204) {
        abort();
    }
    cq_api_response_free(&res);
    free(target);
    cq_api_destroy(api);
    cq_store_close(store);
    cq_log_set_sink(NULL, NULL);
    return 0;
}
