/*
 * What the relay tells its owner about a participant's path: bound, moved after a NAT
 * rebinding, and consent lost after silence (consent time set to 1 s here; the check runs
 * once a second, so the wait below is bounded at 5 s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "signaling/log.h"
#include "relay/relay.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "support/peer.h"

static bool wait_event_in(struct cq_relay *r, uint32_t session, cq_relay_event_type_t type,
                          uint32_t id, int timeout_ms);

static bool wait_event(struct cq_relay *r, cq_relay_event_type_t type, uint32_t id,
                       int timeout_ms) {
    return wait_event_in(r, 5, type, id, timeout_ms);
}

static bool wait_event_in(struct cq_relay *r, uint32_t session, cq_relay_event_type_t type,
                          uint32_t id, int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        cq_relay_event_t ev[16];
        size_t n = cq_relay_poll_events(r, ev, 16, NULL);
        for (size_t i = 0; i < n; i++)
            if (ev[i].type == type && ev[i].participant_id == id && ev[i].session_id == session)
                return true;
        uv_sleep(10);
    }
    return false;
}

static void test_events_bound_moved_consent_lost(void **state) {
    (void)state;
    struct cq_relay *relay;
    cq_relay_config_t cfg = {.host = "127.0.0.1", .consent_s = 1};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    uint16_t port;
    assert_int_equal(cq_relay_session_create(relay, 5, &port), 0);
    cq_relay_participant_params_t p = {.id = 9, .suite = CQ_SRTP_AEAD_AES_128_GCM};
    snprintf(p.ice_ufrag, sizeof p.ice_ufrag, "ev");
    snprintf(p.ice_pwd, sizeof p.ice_pwd, "events-test-password-123");
    p.audio_ssrc = 77;
    assert_int_equal(cq_relay_participant_add(relay, 5, &p), 0);
    cq_test_peer_t peer;
    cq_test_peer_config_t pc = {.relay_ip = "127.0.0.1",
                                .relay_port = port,
                                .relay_ufrag = p.ice_ufrag,
                                .relay_pwd = p.ice_pwd,
                                .suite = p.suite,
                                .key_tx = p.key_in,
                                .key_rx = p.key_out};
    assert_int_equal(cq_test_peer_open(&peer, &pc), 0);

    assert_int_equal(cq_test_peer_bind(&peer, true, 2000), 0);
    assert_true(wait_event(relay, CQ_RELAY_EVENT_BOUND, 9, 2000));

    cq_udp_close(&peer.udp);
    assert_int_equal(cq_udp_open(&peer.udp, "127.0.0.1", 0, 0, 0), 0);
    assert_int_equal(cq_test_peer_bind(&peer, true, 2000), 0);
    assert_true(wait_event(relay, CQ_RELAY_EVENT_MOVED, 9, 2000));

    /* Silence: no checks, no media. */
    assert_true(wait_event(relay, CQ_RELAY_EVENT_CONSENT_LOST, 9, 5000));
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(relay, 5, 9, &st), 0);
    assert_false(st.bound);
    /* A new check binds it again. */
    assert_int_equal(cq_test_peer_bind(&peer, true, 2000), 0);
    assert_true(wait_event(relay, CQ_RELAY_EVENT_BOUND, 9, 2000));

    cq_test_peer_close(&peer);
    cq_relay_destroy(relay);
}

/* A participant who talks (audio level -20 dBov with the voice flag, paced like real
 * audio) becomes the session's active speaker; one who only hums does not. */
static void test_events_active_speaker(void **state) {
    (void)state;
    struct cq_relay *relay;
    cq_relay_config_t cfg = {.host = "127.0.0.1"};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    uint16_t port;
    assert_int_equal(cq_relay_session_create(relay, 6, &port), 0);
    cq_test_peer_t peer[2];
    for (int i = 0; i < 2; i++) {
        cq_relay_participant_params_t p = {
            .id = (uint32_t)(i + 1), .suite = CQ_SRTP_AEAD_AES_128_GCM, .subscribe_all = true};
        snprintf(p.ice_ufrag, sizeof p.ice_ufrag, "sp%d", i);
        snprintf(p.ice_pwd, sizeof p.ice_pwd, "speaker-test-password-%d", i);
        p.audio_ssrc = 500u + (uint32_t)i;
        assert_int_equal(cq_test_peer_join(&peer[i], relay, 6, port, &p), 0);
    }
    for (uint16_t k = 0; k < 60; k++) { /* 1.2 s of 20 ms packets */
        for (int i = 0; i < 2; i++) {
            /* Participant 1 speaks; participant 2's microphone only hears a fan. */
            cq_rtpext_audio_level_t al = {.voice = true, .level = i == 0 ? 20 : 60};
            uint8_t lvl[1];
            assert_int_equal(cq_rtpext_audio_level_write(&al, lvl, 1), 1);
            cq_rtp_ext_t ext = {CQ_RTPEXT_ID_AUDIO_LEVEL, 1, lvl};
            cq_rtp_header_t h = {
                .payload_type = 111, .seq = k, .timestamp = k * 960u, .ssrc = 500u + (uint32_t)i};
            uint8_t pkt[128];
            int n = cq_rtp_header_write(&h, &ext, 1, pkt, sizeof pkt);
            assert_true(n > 0);
            memset(pkt + n, 0x11, 40);
            assert_int_equal(cq_test_peer_send_rtp(&peer[i], pkt, (size_t)n + 40), 0);
        }
        uv_sleep(20);
    }
    assert_true(wait_event_in(relay, 6, CQ_RELAY_EVENT_SPEAKER, 1, 2000));
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
    cq_relay_destroy(relay);
}

/* Lines arrive from the worker thread: the capture takes a lock. */
typedef struct {
    uv_mutex_t lock;
    int stats_lines;
    char line[CQ_LOG_LINE_MAX + 1];
} log_capture_t;

static void capture_stats(cq_log_level_t level, const char *line, void *ctx) {
    log_capture_t *c = ctx;
    if (level != CQ_LOG_INFO || strstr(line, "session 6 participant 4 bound: in 5 pkt") == NULL)
        return;
    uv_mutex_lock(&c->lock);
    c->stats_lines++;
    snprintf(c->line, sizeof c->line, "%s", line);
    uv_mutex_unlock(&c->lock);
}

/* Every participant's counters reach the log periodically (here every 100 ms), as an
 * operator reads them: what came in, from whom, over which link. */
static void test_events_stats_logged_periodically(void **state) {
    (void)state;
    log_capture_t cap = {0};
    assert_int_equal(uv_mutex_init(&cap.lock), 0);
    cq_log_set_sink(capture_stats, &cap);
    struct cq_relay *relay;
    cq_relay_config_t cfg = {.host = "127.0.0.1", .stats_log_ms = 100};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    uint16_t port;
    assert_int_equal(cq_relay_session_create(relay, 6, &port), 0);
    cq_relay_participant_params_t p = {.id = 4, .suite = CQ_SRTP_AEAD_AES_128_GCM};
    snprintf(p.ice_ufrag, sizeof p.ice_ufrag, "logged");
    snprintf(p.ice_pwd, sizeof p.ice_pwd, "stats-log-test-password");
    p.audio_ssrc = 78;
    cq_test_peer_t peer;
    assert_int_equal(cq_test_peer_join(&peer, relay, 6, port, &p), 0);
    for (uint16_t k = 0; k < 5; k++) {
        uint8_t pkt[100];
        cq_rtp_header_t h = {.payload_type = 111, .seq = k, .timestamp = k * 960u, .ssrc = 78};
        int n = cq_rtp_header_write(&h, NULL, 0, pkt, sizeof pkt);
        assert_true(n > 0);
        memset(pkt + n, 0, 40);
        assert_int_equal(cq_test_peer_send_rtp(&peer, pkt, (size_t)n + 40), 0);
    }
    int lines = 0;
    for (int waited = 0; waited < 3000 && lines < 2; waited += 20) {
        uv_sleep(20);
        uv_mutex_lock(&cap.lock);
        lines = cap.stats_lines;
        uv_mutex_unlock(&cap.lock);
    }
    cq_relay_destroy(relay);
    cq_log_set_sink(NULL, NULL);
    assert_true(lines >= 2);
    assert_non_null(strstr(cap.line, "rtt 0 ms"));
    cq_test_peer_close(&peer);
    uv_mutex_destroy(&cap.lock);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_bound_moved_consent_lost),
        cmocka_unit_test(test_events_active_speaker),
        cmocka_unit_test(test_events_stats_logged_periodically),
    };
    return cmocka_run_group_tests_name("relay/events_loopback", tests, NULL, NULL);
}
