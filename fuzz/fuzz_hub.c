/*
 * Fuzz target for what telecentres send over the WebSocket once joined (signaling/hub.h):
 * any bytes as a request must be answered or ignored without crashing or leaking, and
 * everything the hub sends must be a JSON object with a "type".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "signaling/hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int conns[2];

static void check_sent(void *conn, const char *text, size_t len, bool close, void *ctx) {
    (void)close;
    (void)ctx;
    if (conn != &conns[0] && conn != &conns[1])
        abort();
    json_t *o = json_loadb(text, len, 0, NULL);
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "type")))
        abort();
    json_decref(o);
}

static int max_layers(void *ctx, uint32_t session, uint32_t p, int spatial, unsigned temporal) {
    (void)ctx;
    (void)session;
    (void)p;
    if (spatial < -1 || spatial > 2 || temporal > 3)
        abort(); /* the hub must have refused these */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cq_media_ops_t media = {.max_layers = max_layers};
    cq_hub_config_t cfg = {.send = check_sent, .media = &media};
    struct cq_hub *hub;
    if (cq_hub_create(&hub, &cfg) != 0)
        abort();
    cq_hub_add(hub, &conns[0], 1, 10, CQ_ROLE_PARTICIPANT);
    cq_hub_add(hub, &conns[1], 1, 20, CQ_ROLE_VIEWER);
    /* Up to four requests, split at NUL bytes, from alternating connections. */
    const uint8_t *p = data, *end = data + size;
    for (int k = 0; k < 4 && p <= end; k++) {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
        cq_hub_message(hub, &conns[k % 2], (const char *)p, len);
        if (nul == NULL)
            break;
        p = nul + 1;
    }
    cq_hub_session_ended(hub, 1);
    cq_hub_destroy(hub);
    return 0;
}
