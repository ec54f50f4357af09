/*
 * From schedule to media: the operator's API (signaling/api.h) drives a real relay
 * through the media operations the daemon uses (relay/sigmedia.h). Two telecentres join
 * with their tokens, and the credentials in the join answer are all a test endpoint needs
 * to bind over ICE-lite and exchange SRTP through the relay. Every wait is bounded.
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
#include <uv.h>

#include "relay/relay.h"
#include "relay/sigmedia.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "signaling/api.h"
#include "signaling/store.h"
#include "signaling/token.h"
#include "support/media.h"
#include "support/peer.h"

#define KEY    "join-test-operator-key-0123456789"
#define AUTH   "Bearer " KEY
#define SECRET "join-test-token-secret-0123456789"
#define NOON   1795435200 /* 2026-11-23T12:00:00Z */

typedef struct {
    struct cq_relay *relay;
    struct cq_store *store;
    struct cq_api *api;
    cq_media_ops_t media;
    int64_t now;
    char recordings[40]; /* the relay's recording folder, removed at teardown */
} fixture_t;

static int64_t clock_of(void *ctx) {
    return ((fixture_t *)ctx)->now;
}

static int setup(void **state) {
    fixture_t *f = calloc(1, sizeof *f);
    f->now = NOON;
    snprintf(f->recordings, sizeof f->recordings, "/tmp/cq-join-rec-XXXXXX");
    assert_non_null(mkdtemp(f->recordings));
    cq_relay_config_t rc = {
        .host = "127.0.0.1", .workers = 1, .recording_dir = f->recordings, .recording_min_free = 1};
    assert_int_equal(cq_relay_create(&f->relay, &rc), 0);
    assert_int_equal(cq_store_open(&f->store, ":memory:"), 0);
    f->media = cq_sigmedia_ops(f->relay);
    cq_api_config_t ac = {.store = f->store,
                          .operator_key = KEY,
                          .clock = clock_of,
                          .clock_ctx = f,
                          .token_secret = (const uint8_t *)SECRET,
                          .token_secret_len = sizeof SECRET - 1,
                          .media = &f->media};
    assert_int_equal(cq_api_create(&f->api, &ac), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    cq_api_destroy(f->api);
    cq_store_close(f->store);
    cq_relay_destroy(f->relay);
    char cmd[80];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->recordings);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int call(fixture_t *f, const char *method, const char *path, const char *auth,
                const char *body, json_t **out) {
    cq_api_request_t req = {.method = method,
                            .path = path,
                            .authorization = auth,
                            .body = body,
                            .body_len = body ? strlen(body) : 0,
                            .local_address = "127.0.0.1"};
    cq_api_response_t res;
    cq_api_handle(f->api, &req, &res);
    if (out != NULL)
        *out = res.body ? json_loads(res.body, 0, NULL) : NULL;
    cq_api_response_free(&res);
    return res.status;
}

static int64_t id_of(json_t *o) {
    int64_t id = (int64_t)json_integer_value(json_object_get(o, "id"));
    json_decref(o);
    return id;
}

static int64_t add_telecentre(fixture_t *f, const char *name) {
    char body[128];
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"district\":\"Satipo\"}", name);
    json_t *o;
    assert_int_equal(call(f, "POST", "/api/telecentres", AUTH, body, &o), 201);
    return id_of(o);
}

/* A session of tcs (2) from start to start + 1 h; returns its id. */
static int64_t schedule(fixture_t *f, const char *start, const char *end, int64_t a, int64_t b) {
    char body[320];
    snprintf(body, sizeof body,
             "{\"title\":\"Plagas del café\",\"start\":\"%s\",\"end\":\"%s\","
             "\"mode\":\"conference\",\"telecentres\":[%lld,%lld]}",
             start, end, (long long)a, (long long)b);
    json_t *o;
    assert_int_equal(call(f, "POST", "/api/sessions", AUTH, body, &o), 201);
    return id_of(o);
}

static void token(fixture_t *f, int64_t session, int64_t tc, char *out, size_t cap) {
    char path[96], body[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/tokens", (long long)session);
    snprintf(body, sizeof body, "{\"telecentre\":%lld,\"role\":\"participant\"}", (long long)tc);
    json_t *o;
    assert_int_equal(call(f, "POST", path, AUTH, body, &o), 201);
    snprintf(out, cap, "%s", json_string_value(json_object_get(o, "token")));
    json_decref(o);
}

static int join(fixture_t *f, int64_t session, const char *tok, json_t **out) {
    char path[96], body[320];
    snprintf(path, sizeof path, "/api/sessions/%lld/join", (long long)session);
    snprintf(body, sizeof body, "{\"token\":\"%s\"}", tok);
    return call(f, "POST", path, NULL, body, out);
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n) {
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* A test endpoint built only from what the join answer says. */
typedef struct {
    cq_test_peer_t peer;
    uint8_t key_tx[CQ_SRTP_MAX_KEY_LEN], key_rx[CQ_SRTP_MAX_KEY_LEN];
    uint32_t audio_ssrc;
    uint16_t next_seq; /* libsrtp2 refuses to protect a sequence number twice */
    char ufrag[16], pwd[32];
} endpoint_t;

static void open_endpoint(json_t *j, endpoint_t *e) {
    json_t *media = json_object_get(j, "media");
    json_t *srtp = json_object_get(media, "srtp");
    json_t *ice = json_object_get(media, "ice");
    assert_string_equal(json_string_value(json_object_get(srtp, "suite")), "AEAD_AES_128_GCM");
    hex_to_bytes(json_string_value(json_object_get(srtp, "key_to_relay")), e->key_tx,
                 CQ_SRTP_AES_GCM_KEY_LEN);
    hex_to_bytes(json_string_value(json_object_get(srtp, "key_from_relay")), e->key_rx,
                 CQ_SRTP_AES_GCM_KEY_LEN);
    snprintf(e->ufrag, sizeof e->ufrag, "%s", json_string_value(json_object_get(ice, "ufrag")));
    snprintf(e->pwd, sizeof e->pwd, "%s", json_string_value(json_object_get(ice, "pwd")));
    e->audio_ssrc =
        (uint32_t)json_integer_value(json_object_get(json_object_get(j, "ssrcs"), "audio"));
    assert_true(e->audio_ssrc != 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "ssrcs"), "video")), 3);
    cq_test_peer_config_t cfg = {.relay_ip = json_string_value(json_object_get(media, "address")),
                                 .relay_port =
                                     (uint16_t)json_integer_value(json_object_get(media, "port")),
                                 .relay_ufrag = e->ufrag,
                                 .relay_pwd = e->pwd,
                                 .local_ufrag = "tc",
                                 .suite = CQ_SRTP_AEAD_AES_128_GCM,
                                 .key_tx = e->key_tx,
                                 .key_rx = e->key_rx};
    e->next_seq = 0;
    assert_int_equal(cq_test_peer_open(&e->peer, &cfg), 0);
    assert_int_equal(cq_test_peer_bind(&e->peer, true, 2000), 0);
}

/* Sends n audio packets from a; returns how many of them b received intact. */
static int talk(endpoint_t *a, int sender, endpoint_t *b, int n) {
    for (int k = 0; k < n; k++) {
        uint8_t pkt[200];
        uint16_t seq = a->next_seq++;
        size_t len = cq_test_audio_packet(pkt, sender, a->audio_ssrc, seq, seq * 960u);
        assert_int_equal(cq_test_peer_send_rtp(&a->peer, pkt, len), 0);
    }
    int got = 0;
    for (int k = 0; k < 200 && got < n; k++) {
        uint8_t buf[1600];
        bool rtcp;
        int len = cq_test_peer_recv(&b->peer, buf, sizeof buf, &rtcp, 1000);
        if (len == CQ_EAGAIN)
            break;
        cq_rtp_view_t v;
        cq_test_media_info_t m;
        if (len > 0 && !rtcp && cq_rtp_parse(buf, (size_t)len, &v) > 0 &&
            cq_test_media_read(&v, &m) == 0 && m.sender == sender && m.body_intact)
            got++;
    }
    return got;
}

static void test_join_then_media_flows(void **state) {
    fixture_t *f = *state;
    int64_t a = add_telecentre(f, "Puerto Ocopa"), b = add_telecentre(f, "Mazamari");
    /* Starts in 5 minutes: inside its 10-minute joining window, so it is open now. */
    int64_t s = schedule(f, "2026-11-23T12:05:00Z", "2026-11-23T13:05:00Z", a, b);
    char ta[CQ_TOKEN_MAX + 1], tb[CQ_TOKEN_MAX + 1];
    token(f, s, a, ta, sizeof ta);
    token(f, s, b, tb, sizeof tb);
    json_t *ja, *jb;
    assert_int_equal(join(f, s, ta, &ja), 200);
    assert_int_equal(join(f, s, tb, &jb), 200);
    /* B's answer lists A, who was there first. */
    json_t *others = json_object_get(jb, "participants");
    assert_int_equal(json_array_size(others), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(others, 0), "telecentre")),
                     a);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ja, "media"), "address")),
                        "127.0.0.1");
    endpoint_t ea, eb;
    open_endpoint(ja, &ea);
    open_endpoint(jb, &eb);
    assert_int_equal(talk(&ea, 1, &eb, 20), 20);
    assert_int_equal(talk(&eb, 2, &ea, 20), 20);
    /* A rejoins (its link dropped): new keys, and media flows again with them. */
    cq_test_peer_close(&ea.peer);
    json_decref(ja);
    assert_int_equal(join(f, s, ta, &ja), 200);
    open_endpoint(ja, &ea);
    assert_int_equal(talk(&ea, 1, &eb, 10), 10);
    /* The operator sees each telecentre's link live. */
    char live[96];
    snprintf(live, sizeof live, "/api/sessions/%lld/live", (long long)s);
    json_t *l;
    assert_int_equal(call(f, "GET", live, AUTH, NULL, &l), 200);
    json_t *parts = json_object_get(l, "participants");
    assert_int_equal(json_array_size(parts), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_array_get(parts, i);
        assert_true(json_is_true(json_object_get(p, "bound")));
        assert_true(json_integer_value(json_object_get(p, "packets_in")) >= 10);
        /* It receives the other's video, of which no layer has come yet (audio only). */
        json_t *recv = json_object_get(p, "receiving");
        assert_int_equal(json_array_size(recv), 1);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(recv, 0), "spatial")),
                         -1);
    }
    json_decref(l);
    /* What the media plane did shows in /metrics. */
    cq_api_request_t mreq = {.method = "GET", .path = "/metrics"};
    cq_api_response_t mres;
    cq_api_handle(f->api, &mreq, &mres);
    assert_int_equal(mres.status, 200);
    assert_string_equal(mres.content_type, "text/plain; version=0.0.4");
    assert_non_null(strstr(mres.body, "chasqui_sessions{state=\"open\"} 1\n"));
    assert_non_null(strstr(mres.body, "chasqui_participants{bound=\"yes\"} 2\n"));
    const char *in = strstr(mres.body, "\nchasqui_packets_in_total ");
    assert_non_null(in);
    assert_true(strtoull(in + 26, NULL, 10) >= 50); /* 20 + 20 + 10 audio packets */
    cq_api_response_free(&mres);
    /* Ending the session closes its media: the endpoints stop hearing each other. */
    char end[96];
    snprintf(end, sizeof end, "/api/sessions/%lld/end", (long long)s);
    assert_int_equal(call(f, "POST", end, AUTH, NULL, NULL), 200);
    assert_int_equal(talk(&ea, 1, &eb, 5), 0);
    json_t *o;
    assert_int_equal(join(f, s, ta, &o), 403);
    json_decref(o);
    /* History: A twice (before and after its rejoin), B once, all closed, with figures. */
    char hist[96];
    snprintf(hist, sizeof hist, "/api/sessions/%lld/history", (long long)s);
    assert_int_equal(call(f, "GET", hist, AUTH, NULL, &o), 200);
    json_t *rows = json_object_get(o, "history");
    assert_int_equal(json_array_size(rows), 3);
    int a_rows = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *r = json_array_get(rows, i);
        assert_true(json_is_string(json_object_get(r, "left")));
        a_rows += json_integer_value(json_object_get(r, "telecentre")) == a;
        assert_true(json_integer_value(json_object_get(r, "packets_in")) >= 10);
    }
    assert_int_equal(a_rows, 2);
    json_decref(o);
    cq_test_peer_close(&ea.peer);
    cq_test_peer_close(&eb.peer);
    json_decref(ja);
    json_decref(jb);
}

/* Two telecentres a and b, invited to a session open now and to one this evening. */
static void now_and_later(fixture_t *f, int64_t *a, int64_t *b, int64_t *now, int64_t *later) {
    *a = add_telecentre(f, "Puerto Ocopa");
    *b = add_telecentre(f, "Mazamari");
    *now = schedule(f, "2026-11-23T12:05:00Z", "2026-11-23T13:00:00Z", *a, *b);
    *later = schedule(f, "2026-11-23T18:00:00Z", "2026-11-23T19:00:00Z", *a, *b);
}

/* The operator records a live session through the API: POST starts and stops it, GET
 * lists the raw files, which fill with what the telecentres send. A session that is not
 * open records nothing; a body that does not say on or off is refused. */
static void test_join_recording_route(void **state) {
    fixture_t *f = *state;
    int64_t a, b, s, later;
    now_and_later(f, &a, &b, &s, &later);
    char ta[CQ_TOKEN_MAX + 1], tb[CQ_TOKEN_MAX + 1];
    token(f, s, a, ta, sizeof ta);
    token(f, s, b, tb, sizeof tb);
    json_t *ja, *jb, *o;
    assert_int_equal(join(f, s, ta, &ja), 200);
    assert_int_equal(join(f, s, tb, &jb), 200);
    endpoint_t ea, eb;
    open_endpoint(ja, &ea);
    open_endpoint(jb, &eb);

    char path[96], later_path[96];
    snprintf(path, sizeof path, "/api/sessions/%lld/recording", (long long)s);
    snprintf(later_path, sizeof later_path, "/api/sessions/%lld/recording", (long long)later);
    assert_int_equal(call(f, "POST", path, NULL, "{\"on\":true}", NULL), 401);
    assert_int_equal(call(f, "POST", path, AUTH, "{\"on\":\"yes\"}", &o), 400);
    json_decref(o);
    assert_int_equal(call(f, "POST", later_path, AUTH, "{\"on\":true}", &o), 409);
    json_decref(o);
    assert_int_equal(call(f, "POST", path, AUTH, "{\"on\":true}", &o), 200);
    assert_true(json_is_true(json_object_get(o, "recording")));
    /* What it lost so far, for the operator to see: nothing on a fast disk. */
    assert_true(json_is_integer(json_object_get(o, "packets_lost")));
    assert_int_equal(json_integer_value(json_object_get(o, "packets_lost")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "stopped_by_relay")), 0);
    json_decref(o);
    assert_int_equal(talk(&ea, 1, &eb, 20), 20);
    assert_int_equal(call(f, "POST", path, AUTH, "{\"on\":false}", &o), 200);
    assert_true(json_is_false(json_object_get(o, "recording")));
    json_decref(o);
    /* The writer closes the file after what came before the stop: its header and 20
     * records (an arrival time and length, then the packet). */
    uint8_t pkt[200];
    json_int_t want = 32 + 20 * (10 + (json_int_t)cq_test_audio_packet(pkt, 1, 1, 0, 0)), bytes = 0;
    size_t nfiles = 0;
    for (int i = 0; i < 200 && bytes != want; i++) {
        /* The file appears once the writer has drained the stop's packets. */
        assert_int_equal(call(f, "GET", path, AUTH, NULL, &o), 200);
        json_t *files = json_object_get(o, "files");
        nfiles = json_array_size(files);
        json_t *file = json_array_get(files, 0);
        if (nfiles == 1) {
            assert_non_null(strstr(json_string_value(json_object_get(file, "name")), "-audio-"));
            bytes = json_integer_value(json_object_get(file, "bytes"));
        }
        json_decref(o);
        if (bytes != want)
            uv_sleep(10);
    }
    assert_int_equal(nfiles, 1);
    assert_int_equal(bytes, want);
    cq_test_peer_close(&ea.peer);
    cq_test_peer_close(&eb.peer);
    json_decref(ja);
    json_decref(jb);
}

/* Tokens that do not open the session now: each refused with its own status and kind. */
static void test_join_refusals(void **state) {
    fixture_t *f = *state;
    int64_t a, b, now, later;
    now_and_later(f, &a, &b, &now, &later);
    (void)b;
    char t_now[CQ_TOKEN_MAX + 1], t_later[CQ_TOKEN_MAX + 1];
    token(f, now, a, t_now, sizeof t_now);
    token(f, later, a, t_later, sizeof t_later);
    static const struct {
        int which; /* 0: now's token on now, 1: later's on now, 2: later's on later */
        int tamper;
        int status;
        const char *kind;
    } cases[] = {
        {0, 1, 401, "bad_token"},
        {1, 0, 403, "wrong_session"},
        {2, 0, 403, "not_open"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char tok[CQ_TOKEN_MAX + 1];
        snprintf(tok, sizeof tok, "%s", cases[i].which == 0 ? t_now : t_later);
        if (cases[i].tamper)
            tok[5] = tok[5] == '1' ? '2' : '1';
        json_t *o;
        assert_int_equal(join(f, cases[i].which == 2 ? later : now, tok, &o), cases[i].status);
        assert_string_equal(json_string_value(json_object_get(o, "error")), cases[i].kind);
        json_decref(o);
    }
    /* Expired: the clock moves past the session's end (the token's expiry). */
    f->now = 1795438800 + 1; /* 13:00:01 */
    json_t *o;
    assert_int_equal(join(f, now, t_now, &o), 401);
    assert_string_equal(json_string_value(json_object_get(o, "error")), "token_expired");
    json_decref(o);
    /* No operator key needed to join, but a body with the token is. */
    assert_int_equal(call(f, "POST", "/api/sessions/1/join", NULL, "{}", &o), 400);
    assert_string_equal(json_string_value(json_object_get(o, "field")), "token");
    json_decref(o);
}

/* A sender says how many simulcast layers it makes (a 320x180 camera halves only once):
 * it gets SSRCs for those alone, so the relay never prices or asks for a layer that will
 * never come. Without the field it gets three; a count out of range is refused. */
static void test_join_video_layers(void **state) {
    fixture_t *f = *state;
    int64_t a = add_telecentre(f, "Puerto Ocopa"), b = add_telecentre(f, "Mazamari");
    int64_t s = schedule(f, "2026-11-23T12:05:00Z", "2026-11-23T13:05:00Z", a, b);
    char ta[CQ_TOKEN_MAX + 1], path[96];
    token(f, s, a, ta, sizeof ta);
    snprintf(path, sizeof path, "/api/sessions/%lld/join", (long long)s);
    static const struct {
        const char *layers; /* the field's JSON text; NULL: no field */
        int status;
        size_t ssrcs;
    } cases[] = {
        {NULL, 200, 3}, {"2", 200, 2},  {"1", 200, 1},     {"0", 200, 0},
        {"4", 400, 0},  {"-1", 400, 0}, {"\"2\"", 400, 0}, {"2.5", 400, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[400];
        if (cases[i].layers)
            snprintf(body, sizeof body, "{\"token\":\"%s\",\"video_layers\":%s}", ta,
                     cases[i].layers);
        else
            snprintf(body, sizeof body, "{\"token\":\"%s\"}", ta);
        json_t *o;
        assert_int_equal(call(f, "POST", path, NULL, body, &o), cases[i].status);
        if (cases[i].status == 200) {
            json_t *ssrcs = json_object_get(o, "ssrcs");
            assert_int_equal(json_array_size(json_object_get(ssrcs, "video")), cases[i].ssrcs);
            assert_int_equal(json_array_size(json_object_get(ssrcs, "rtx")), cases[i].ssrcs);
            assert_true(json_integer_value(json_object_get(ssrcs, "audio")) != 0);
        } else {
            assert_string_equal(json_string_value(json_object_get(o, "field")), "video_layers");
        }
        json_decref(o);
    }
    /* Attaching keeps what the join set up: it takes the token alone. */
    char body[400];
    snprintf(body, sizeof body, "{\"token\":\"%s\",\"video_layers\":2}", ta);
    snprintf(path, sizeof path, "/api/sessions/%lld/attach", (long long)s);
    json_t *o;
    assert_int_equal(call(f, "POST", path, NULL, body, &o), 400);
    assert_string_equal(json_string_value(json_object_get(o, "field")), "video_layers");
    json_decref(o);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_join_then_media_flows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_recording_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_video_layers, setup, teardown),
    };
    return cmocka_run_group_tests_name("relay/join", tests, NULL, NULL);
}
