/*
 * Transport-wide numbers on what the relay sends: every copy to a receiver carries the
 * relay's own number for that receiver, consecutive across all the publishers it hears,
 * whatever number each publisher put there for its own uplink. The receiver's feedback
 * then describes the relay's downlink to it (issue 7).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "relay/relay.h"
#include "rtp/error.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "support/peer.h"

#define SESSION 9
#define PACKETS 20

static void test_relay_renumbers_each_copy(void **state) {
    (void)state;
    struct cq_relay *relay;
    cq_relay_config_t cfg = {.host = "127.0.0.1"};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    uint16_t port;
    assert_int_equal(cq_relay_session_create(relay, SESSION, &port), 0);
    cq_test_peer_t peer[3];
    for (int i = 0; i < 3; i++) {
        cq_relay_participant_params_t p = {
            .id = (uint32_t)(i + 1), .suite = CQ_SRTP_AEAD_AES_128_GCM, .subscribe_all = true};
        snprintf(p.ice_ufrag, sizeof p.ice_ufrag, "tw%d", i);
        snprintf(p.ice_pwd, sizeof p.ice_pwd, "twcc-test-password-0000%d", i);
        p.audio_ssrc = i < 2 ? 700u + (uint32_t)i : 0; /* two publishers, one listener */
        assert_int_equal(cq_test_peer_join(&peer[i], relay, SESSION, port, &p), 0);
    }
    /* Each publisher numbers its own uplink, far apart, and one sends a packet without
     * the element: it reaches the listener unnumbered and uses up no number. */
    for (uint16_t k = 0; k < PACKETS; k++) {
        for (int i = 0; i < 2; i++) {
            uint8_t tw[CQ_RTPEXT_TRANSPORT_CC_SIZE];
            assert_int_equal(
                cq_rtpext_transport_cc_write((uint16_t)(i * 30000 + k * 7), tw, sizeof tw),
                CQ_RTPEXT_TRANSPORT_CC_SIZE);
            cq_rtp_ext_t ext = {CQ_RTPEXT_ID_TRANSPORT_CC, sizeof tw, tw};
            bool bare = i == 1 && k == 5;
            cq_rtp_header_t h = {
                .payload_type = 111, .seq = k, .timestamp = k * 960u, .ssrc = 700u + (uint32_t)i};
            uint8_t pkt[128];
            int n = cq_rtp_header_write(&h, bare ? NULL : &ext, bare ? 0 : 1, pkt, sizeof pkt);
            assert_true(n > 0);
            memset(pkt + n, 0x22, 30);
            assert_int_equal(cq_test_peer_send_rtp(&peer[i], pkt, (size_t)n + 30), 0);
        }
        uv_sleep(5);
    }
    /* The listener: numbers 0, 1, 2 ... in arrival order (loopback keeps it), one fewer
     * than the packets, and the bare one unnumbered. */
    uint16_t expect = 0;
    int media = 0, bare = 0;
    for (int tries = 0; tries < 400 && media < 2 * PACKETS; tries++) {
        uint8_t buf[1500];
        bool is_rtcp;
        int n = cq_test_peer_recv(&peer[2], buf, sizeof buf, &is_rtcp, 500);
        if (n == CQ_EAGAIN)
            break;
        assert_true(n > 0);
        if (is_rtcp)
            continue;
        cq_rtp_view_t v;
        assert_true(cq_rtp_parse(buf, (size_t)n, &v) > 0);
        media++;
        const uint8_t *data;
        size_t len;
        uint16_t tseq;
        if (cq_rtp_ext_find(&v, CQ_RTPEXT_ID_TRANSPORT_CC, &data, &len) != 0) {
            bare++;
            continue;
        }
        assert_int_equal(cq_rtpext_transport_cc_parse(data, len, &tseq), 0);
        assert_int_equal(tseq, expect);
        expect++;
    }
    assert_int_equal(media, 2 * PACKETS);
    assert_int_equal(bare, 1);
    assert_int_equal(expect, 2 * PACKETS - 1);
    for (int i = 0; i < 3; i++)
        cq_test_peer_close(&peer[i]);
    cq_relay_destroy(relay);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_renumbers_each_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
