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
static int64_t now_s; /* the hub's clock */

static int64_t clock_of(void *ctx) {
    (void)ctx;
    return now_s;
}

static int setup(void **state) {
    (void)state;
    memset(&sink, 0, sizeof sink);
    now_s = 1000;
    cq_media_ops_t media = {.max_layers = max_layers};
    cq_hub_config_t cfg = {.send = collect, .media = &media, .clock = clock_of};
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

/* conn[0] and conn[1] in session 7 as telecentres 100 and 200, nothing sent yet. */
static void two_in_session(cq_role_t first, cq_role_t second) {
    assert_int_equal(cq_hub_add(hub, &conn[0], 7, 100, first), 0);
    assert_int_equal(cq_hub_add(hub, &conn[1], 7, 200, second), 0);
    clear();
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
    two_in_session(CQ_ROLE_PARTICIPANT, CQ_ROLE_PARTICIPANT);
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

/* The session's raised hands in order, as "telecentre@since" words. */
static const char *queue(int64_t session) {
    static char text[256];
    cq_hub_hand_t hands[8];
    size_t n = cq_hub_hands(hub, session, hands, 8);
    text[0] = '\0';
    for (size_t i = 0; i < n && i < 8; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%s%lld@%lld", i ? " " : "",
                 (long long)hands[i].telecentre, (long long)hands[i].since_s);
    return text;
}

/* Hands queue in the order they went up; raising again keeps the place; lowering,
 * leaving, a promotion and the session's end take them out. */
static void test_hub_hands_queue(void **state) {
    (void)state;
    assert_int_equal(cq_hub_add(hub, &conn[0], 7, 100, CQ_ROLE_PRESENTER), 0);
    assert_int_equal(cq_hub_add(hub, &conn[1], 7, 200, CQ_ROLE_VIEWER), 0);
    assert_int_equal(cq_hub_add(hub, &conn[2], 7, 300, CQ_ROLE_VIEWER), 0);
    assert_string_equal(queue(7), "");
    request(2, "{\"type\":\"raise_hand\",\"raised\":true}");
    now_s = 1005;
    request(1, "{\"type\":\"raise_hand\"}");
    now_s = 1010;
    request(2, "{\"type\":\"raise_hand\"}"); /* again: keeps its place and time */
    assert_string_equal(queue(7), "300@1000 200@1005");
    assert_string_equal(queue(8), "");
    cq_hub_hand_t one;
    assert_int_equal(cq_hub_hands(hub, 7, &one, 1), 2); /* says how many, fills what fits */
    assert_int_equal(one.telecentre, 300);
    clear();
    request(2, "{\"type\":\"raise_hand\",\"raised\":false}");
    assert_string_equal(queue(7), "200@1005");
    assert_string_equal(sink.got[0], "{\"type\":\"hand\",\"telecentre\":300,\"raised\":false}\n");
    request(2, "{\"type\":\"raise_hand\"}");
    assert_string_equal(queue(7), "200@1005 300@1010"); /* back at the end */
    cq_hub_remove(hub, &conn[1]);                       /* left: its hand goes down */
    assert_string_equal(queue(7), "300@1010");
    clear();
    assert_true(cq_hub_lower_hand(hub, 7, 300));
    assert_false(cq_hub_lower_hand(hub, 7, 300));
    assert_string_equal(sink.got[0], "{\"type\":\"hand\",\"telecentre\":300,\"raised\":false}\n");
    request(2, "{\"type\":\"raise_hand\"}");
    cq_hub_session_ended(hub, 7);
    assert_string_equal(queue(7), "");
}

/* Promotion and demotion are told to everyone; a promotion lowers the hand. */
static void test_hub_promoted_and_demoted(void **state) {
    (void)state;
    two_in_session(CQ_ROLE_PRESENTER, CQ_ROLE_VIEWER);
    request(1, "{\"type\":\"raise_hand\"}");
    clear();
    cq_hub_promoted(hub, 7, 200, true);
    assert_string_equal(sink.got[0], "{\"type\":\"hand\",\"telecentre\":200,\"raised\":false}\n"
                                     "{\"type\":\"promoted\",\"telecentre\":200}\n");
    assert_non_null(strstr(sink.got[1], "{\"type\":\"promoted\",\"telecentre\":200}"));
    assert_string_equal(queue(7), "");
    clear();
    cq_hub_promoted(hub, 7, 200, false);
    assert_string_equal(sink.got[1], "{\"type\":\"demoted\",\"telecentre\":200}\n");
}

/* Everyone in the session hears that it is recorded, and why it stopped; others do not. */
static void test_hub_recording(void **state) {
    (void)state;
    two_in_session(CQ_ROLE_PRESENTER, CQ_ROLE_VIEWER);
    assert_int_equal(cq_hub_add(hub, &conn[2], 8, 300, CQ_ROLE_PARTICIPANT), 0);
    clear();
    cq_hub_recording(hub, 7, true, "operator");
    for (int i = 0; i < 2; i++)
        assert_string_equal(sink.got[i],
                            "{\"type\":\"recording\",\"on\":true,\"by\":\"operator\"}\n");
    assert_string_equal(sink.got[2], "");
    clear();
    cq_hub_recording(hub, 7, false, "disk");
    assert_string_equal(sink.got[1], "{\"type\":\"recording\",\"on\":false,\"by\":\"disk\"}\n");
}

/* The operator's mute is told with "by", outlives a reconnect, and the telecentre cannot
 * lift it itself; its own mute still works. */
static void test_hub_operator_mute(void **state) {
    (void)state;
    two_in_session(CQ_ROLE_PRESENTER, CQ_ROLE_PARTICIPANT);
    assert_int_equal(cq_hub_operator_mute(hub, 7, 200, true), 0);
    assert_string_equal(
        sink.got[0],
        "{\"type\":\"muted\",\"telecentre\":200,\"muted\":true,\"by\":\"operator\"}\n");
    assert_string_equal(sink.got[0], sink.got[1]);
    assert_true(cq_hub_operator_muted(hub, 7, 200));
    assert_false(cq_hub_operator_muted(hub, 8, 200));
    cq_hub_remove(hub, &conn[1]); /* the link drops and comes back */
    assert_int_equal(cq_hub_add(hub, &conn[1], 7, 200, CQ_ROLE_PARTICIPANT), 0);
    clear();
    request(1, "{\"type\":\"mute\",\"muted\":false}");
    assert_non_null(strstr(sink.got[1], "\"type\":\"error\""));
    assert_string_equal(sink.got[0], ""); /* nobody was told it speaks */
    request(1, "{\"type\":\"mute\",\"muted\":true}");
    assert_string_equal(sink.got[0], "{\"type\":\"muted\",\"telecentre\":200,\"muted\":true}\n");
    clear();
    assert_int_equal(cq_hub_operator_mute(hub, 7, 200, false), 0);
    assert_false(cq_hub_operator_muted(hub, 7, 200));
    assert_string_equal(
        sink.got[0],
        "{\"type\":\"muted\",\"telecentre\":200,\"muted\":false,\"by\":\"operator\"}\n");
    request(1, "{\"type\":\"mute\",\"muted\":false}");
    assert_null(strstr(sink.got[1], "\"type\":\"error\""));
}

/* A removed telecentre is told so and closed; the others see it leave; its hand and mute
 * go; the others stay connected. */
static void test_hub_evict(void **state) {
    (void)state;
    two_in_session(CQ_ROLE_PRESENTER, CQ_ROLE_VIEWER);
    request(1, "{\"type\":\"raise_hand\"}");
    assert_int_equal(cq_hub_operator_mute(hub, 7, 200, true), 0);
    clear();
    cq_hub_evict(hub, 7, 200);
    assert_non_null(strstr(sink.got[1], "{\"type\":\"removed\""));
    assert_true(sink.closed[1]);
    assert_false(cq_hub_has(hub, &conn[1]));
    assert_string_equal(sink.got[0], "{\"type\":\"left\",\"telecentre\":200}\n");
    assert_false(sink.closed[0]);
    assert_string_equal(queue(7), "");
    assert_false(cq_hub_operator_muted(hub, 7, 200));
    cq_hub_remove(hub, &conn[1]); /* the transport's close that follows: nothing more */
    assert_string_equal(sink.got[0], "{\"type\":\"left\",\"telecentre\":200}\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hub_join_leave_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_max_layer_reaches_the_media_plane, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hub_reconnect_and_session_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_hands_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_promoted_and_demoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_operator_mute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_evict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_recording, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
