#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtp/error.h"
#include "signaling/hub.h"

/* Three fake connections; what each was sent, as one string of lines. */
typedef struct {
    char got[3][2048];
    bool closed[3];
    int layers_calls;
    uint32_t layers_participant;
    int layers_spatial;
    unsigned layers_temporal;
} sink_t;

static sink_t sink;
static int conn[3]; /* their addresses are the connection handles */

static int which(const void *c) {
    for (int i = 0; i < 3; i++)
        if (c == &conn[i])
            return i;
    fail();
    return -1;
}

static void collect(void *c, const char *text, size_t len, bool close, void *ctx) {
    (void)ctx;
    int i = which(c);
    strncat(sink.got[i], text, len);
    strcat(sink.got[i], "\n");
    sink.closed[i] |= close;
}

static int max_layers(void *ctx, uint32_t session, uint32_t p, int spatial, unsigned temporal) {
    (void)ctx;
    (void)session;
    sink.layers_calls++;
    sink.layers_participant = p;
    sink.layers_spatial = spatial;
    sink.layers_temporal = temporal;
    return 0;
}

static struct cq_hub *hub;

static int setup(void **state) {
    (void)state;
    memset(&sink, 0, sizeof sink);
    cq_media_ops_t media = {.max_layers = max_layers};
    cq_hub_config_t cfg = {.send = collect, .media = &media};
    return cq_hub_create(&hub, &cfg);
}

static int teardown(void **state) {
    (void)state;
    cq_hub_destroy(hub);
    return 0;
}

static void clear(void) {
    for (int i = 0; i < 3; i++)
        sink.got[i][0] = '\0';
}

static void request(int i, const char *text) {
    cq_hub_message(hub, &conn[i], text, strlen(text));
}

static void test_hub_join_leave_and_events(void **state) {
    (void)state;
    assert_int_equal(cq_hub_add(hub, &conn[0], 7, 100, CQ_ROLE_PRESENTER), 0);
    assert_int_equal(cq_hub_add(hub, &conn[1], 7, 200, CQ_ROLE_PARTICIPANT), 0);
    assert_int_equal(cq_hub_add(hub, &conn[2], 8, 300, CQ_ROLE_VIEWER), 0); /* elsewhere */
    assert_string_equal(sink.got[0],
                        "{\"type\":\"joined\",\"telecentre\":200,\"role\":\"participant\"}\n");
    assert_string_equal(sink.got[1], ""); /* not told of itself */
    assert_string_equal(sink.got[2], ""); /* another session */
    assert_int_equal(cq_hub_count(hub, 7), 2);
    clear();
    cq_hub_layer(hub, 7, 200, 100, 1); /* to the subscriber alone */
    assert_string_equal(sink.got[1], "{\"type\":\"layer\",\"telecentre\":100,\"spatial\":1}\n");
    assert_string_equal(sink.got[0], "");
    clear();
    cq_hub_speaker(hub, 7, 100);
    assert_string_equal(sink.got[1], "{\"type\":\"speaker\",\"telecentre\":100}\n");
    assert_string_equal(sink.got[2], "");
    clear();
    request(1, "{\"type\":\"mute\",\"muted\":true}");
    assert_string_equal(sink.got[0], "{\"type\":\"muted\",\"telecentre\":200,\"muted\":true}\n");
    request(1, "{\"type\":\"raise_hand\"}");
    assert_non_null(strstr(sink.got[0], "{\"type\":\"hand\",\"telecentre\":200,\"raised\":true}"));
    clear();
    request(1, "{\"type\":\"pin\",\"telecentre\":100}");
    assert_string_equal(sink.got[1], "{\"type\":\"pinned\",\"telecentre\":100}\n");
    assert_string_equal(sink.got[0], "");
    clear();
    cq_hub_remove(hub, &conn[1]);
    assert_string_equal(sink.got[0], "{\"type\":\"left\",\"telecentre\":200}\n");
    assert_false(cq_hub_has(hub, &conn[1]));
    request(1, "{\"type\":\"mute\",\"muted\":true}"); /* gone: ignored */
    assert_string_equal(sink.got[1], "");
}

/* Bad requests: an error to the sender alone, nothing else changes. */
static void test_hub_bad_requests(void **state) {
    (void)state;
    assert_int_equal(cq_hub_add(hub, &conn[0], 7, 100, CQ_ROLE_PARTICIPANT), 0);
    assert_int_equal(cq_hub_add(hub, &conn[1], 7, 200, CQ_ROLE_PARTICIPANT), 0);
    clear();
    static const char *const bad[] = {
        "not json",
        "[1]",
        "{\"muted\":true}",
        "{\"type\":\"fly\"}",
        "{\"type\":\"mute\"}",
        "{\"type\":\"pin\",\"telecentre\":\"x\"}",
        "{\"type\":\"max_layer\",\"spatial\":3}",
        "{\"type\":\"max_layer\",\"spatial\":0,\"temporal\":9}",
        "{\"type\":\"mute\",\"type\":\"pin\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sink.got[0][0] = '\0';
        request(0, bad[i]);
        assert_non_null(strstr(sink.got[0], "\"type\":\"error\""));
    }
    assert_string_equal(sink.got[1], "");
    assert_int_equal(sink.layers_calls, 0);
    char big[5000];
    memset(big, ' ', sizeof big);
    cq_hub_message(hub, &conn[0], big, sizeof big);
    assert_non_null(strstr(sink.got[0], "too long"));
}

static void test_hub_max_layer_reaches_the_media_plane(void **state) {
    (void)state;
    assert_int_equal(cq_hub_add(hub, &conn[0], 7, 100, CQ_ROLE_VIEWER), 0);
    request(0, "{\"type\":\"max_layer\",\"spatial\":0,\"temporal\":1}");
    assert_int_equal(sink.layers_calls, 1);
    assert_int_equal(sink.layers_participant, 100);
    assert_int_equal(sink.layers_spatial, 0);
    assert_int_equal(sink.layers_temporal, 1);
    assert_non_null(strstr(sink.got[0], "{\"type\":\"max_layer\",\"spatial\":0,\"temporal\":1}"));
    request(0, "{\"type\":\"max_layer\",\"spatial\":-1}"); /* video off, temporal all */
    assert_int_equal(sink.layers_spatial, -1);
    assert_int_equal(sink.layers_temporal, 3);
}

/* A reconnect replaces the old connection (closed); the end of a session closes all of
 * its connections and no others. */
static void test_hub_reconnect_and_session_end(void **state) {
    (void)state;
    assert_int_equal(cq_hub_add(hub, &conn[0], 7, 100, CQ_ROLE_PARTICIPANT), 0);
    assert_int_equal(cq_hub_add(hub, &conn[1], 7, 100, CQ_ROLE_PARTICIPANT), 0);
    assert_true(sink.closed[0]);
    assert_non_null(strstr(sink.got[0], "\"type\":\"replaced\""));
    assert_false(cq_hub_has(hub, &conn[0]));
    assert_int_equal(cq_hub_count(hub, 7), 1);
    assert_int_equal(cq_hub_add(hub, &conn[2], 8, 300, CQ_ROLE_VIEWER), 0);
    clear();
    cq_hub_session_ending(hub, 7, 60);
    assert_string_equal(sink.got[1], "{\"type\":\"session_ending\",\"seconds\":60}\n");
    cq_hub_session_ended(hub, 7);
    assert_true(sink.closed[1]);
    assert_non_null(strstr(sink.got[1], "{\"type\":\"session_ended\"}"));
    assert_false(sink.closed[2]);
    assert_int_equal(cq_hub_count(hub, 7), 0);
    assert_int_equal(cq_hub_count(hub, 8), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hub_join_leave_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_max_layer_reaches_the_media_plane, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hub_reconnect_and_session_end, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
