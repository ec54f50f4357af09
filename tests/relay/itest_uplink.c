/*
 * What the relay tells a publisher about its uplink (issue 7, relay/router_uplink.c),
 * checked from the outside through a real relay on loopback: transport-wide feedback that
 * reports exactly the numbers the publisher sent (and the one it held back as lost), and
 * CQLU messages whose layer mask follows a subscriber's preferences. Every wait is
 * bounded; nothing is asserted about how long anything took.
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
#include "rtp/cqlu.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "rtp/twcc.h"
#include "support/peer.h"

#define SESSION 31
#define A       0     /* publisher: audio and two video layers */
#define B       1     /* subscriber */
#define FIRST   65530 /* the numbers cross 65535 -> 0 */
#define PACKETS 24
#define LOST    5 /* the index of the number A skips: a gap the feedback must report */

typedef struct {
    struct cq_relay *relay;
    cq_test_peer_t peer[2];
} fixture_t;

static int setup(void **state) {
    static fixture_t f;
    memset(&f, 0, sizeof f);
    cq_test_telecentre_t t[2];
    for (int i = 0; i < 2; i++)
        t[i] = (cq_test_telecentre_t){.tag = "up",
                                      .id = (uint32_t)(i + 1),
                                      .audio_ssrc = 0xa100u + (uint32_t)i,
                                      .video_layers = i == A ? 2 : 0,
                                      .video_ssrc = 0xb100u,
                                      .rtx_ssrc = 0xc100u};
    cq_relay_participant_params_t p[2];
    assert_int_equal(cq_test_relay_open(&f.relay, SESSION, t, 2, p, f.peer), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    cq_test_relay_close(f->relay, f->peer, 2);
    return 0;
}

/* What the feedback that reached A reported, by index from FIRST. */
typedef struct {
    int received[PACKETS], missing[PACKETS];
    unsigned beyond;   /* numbers reported that A never sent */
    unsigned messages; /* feedback messages */
    bool after_rr;     /* every one sat in a compound that opened with an RR */
} twcc_seen_t;

static void read_feedback(twcc_seen_t *seen, const uint8_t *buf, size_t len) {
    static cq_twcc_packet_t pkts[8192];
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, buf, len);
    uint8_t first_pt = 0;
    while (cq_rtcp_iter_next(&it, &h) > 0) {
        if (first_pt == 0)
            first_pt = h.pt;
        cq_twcc_fb_t fb;
        int n = cq_twcc_parse(&h, &fb, pkts, sizeof pkts / sizeof pkts[0]);
        if (n <= 0)
            continue;
        seen->messages++;
        seen->after_rr &= first_pt == CQ_RTCP_PT_RR;
        for (int i = 0; i < n; i++) {
            uint16_t k = (uint16_t)(pkts[i].seq - FIRST);
            if (k >= PACKETS) {
                seen->beyond++;
                continue;
            }
            if (pkts[i].received)
                seen->received[k]++;
            else
                seen->missing[k]++;
        }
    }
}

static void test_relay_sends_publisher_twcc(void **state) {
    fixture_t *f = *state;
    for (int k = 0; k < PACKETS; k++) {
        if (k == LOST)
            continue;
        uint8_t tw[CQ_RTPEXT_TRANSPORT_CC_SIZE];
        assert_int_equal(cq_rtpext_transport_cc_write((uint16_t)(FIRST + k), tw, sizeof tw),
                         CQ_RTPEXT_TRANSPORT_CC_SIZE);
        cq_rtp_ext_t ext = {CQ_RTPEXT_ID_TRANSPORT_CC, sizeof tw, tw};
        cq_rtp_header_t h = {.payload_type = 111,
                             .seq = (uint16_t)(100 + k),
                             .timestamp = (uint32_t)k * 960u,
                             .ssrc = 0xa100u};
        uint8_t pkt[128];
        int n = cq_rtp_header_write(&h, &ext, 1, pkt, sizeof pkt);
        assert_true(n > 0);
        memset(pkt + n, 0x33, 40);
        assert_int_equal(cq_test_peer_send_rtp(&f->peer[A], pkt, (size_t)n + 40), 0);
        uv_sleep(2);
    }
    /* Feedback goes every 100 ms while packets come: read A's RTCP until every number has
     * been reported once (bounded: 40 datagrams or 3 quiet seconds). */
    twcc_seen_t seen = {.after_rr = true};
    for (int tries = 0; tries < 40; tries++) {
        bool all = true;
        for (int k = 0; k < PACKETS; k++)
            all &= k == LOST ? seen.missing[k] > 0 : seen.received[k] > 0;
        if (all)
            break;
        uint8_t buf[1600];
        bool rtcp;
        int n = cq_test_peer_recv(&f->peer[A], buf, sizeof buf, &rtcp, 3000);
        if (n == CQ_EAGAIN)
            break;
        if (n > 0 && rtcp)
            read_feedback(&seen, buf, (size_t)n);
    }
    assert_true(seen.messages > 0);
    assert_true(seen.after_rr);
    assert_int_equal(seen.beyond, 0);
    for (int k = 0; k < PACKETS; k++) {
        if (k == LOST) {
            assert_int_equal(seen.received[k], 0);
            assert_true(seen.missing[k] > 0);
        } else {
            assert_int_equal(seen.received[k], 1); /* once: nothing arrived late */
            assert_int_equal(seen.missing[k], 0);
        }
    }
    /* The subscriber got no feedback about A's uplink: it sent nothing. */
    uint8_t buf[1600];
    bool rtcp;
    for (int tries = 0; tries < 10; tries++) {
        int n = cq_test_peer_recv(&f->peer[B], buf, sizeof buf, &rtcp, 200);
        if (n == CQ_EAGAIN)
            break;
        if (n <= 0 || !rtcp)
            continue;
        twcc_seen_t other = {.after_rr = true};
        read_feedback(&other, buf, (size_t)n);
        assert_int_equal(other.messages, 0);
    }
}

/* Waits (bounded) for a CQLU to A carrying mask; counts those that carried another. */
static bool wait_cqlu(fixture_t *f, uint8_t mask, unsigned *others) {
    for (int tries = 0; tries < 60; tries++) {
        uint8_t buf[1600];
        bool rtcp;
        int n = cq_test_peer_recv(&f->peer[A], buf, sizeof buf, &rtcp, 2500);
        if (n == CQ_EAGAIN)
            return false;
        if (n <= 0 || !rtcp)
            continue;
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_iter_init(&it, buf, (size_t)n);
        bool first = true;
        while (cq_rtcp_iter_next(&it, &h) > 0) {
            cq_cqlu_t m;
            if (cq_cqlu_parse(&h, &m) == 0) {
                assert_false(first); /* behind the RR that opens the compound */
                if (m.layers == mask)
                    return true;
                (*others)++;
            }
            first = false;
        }
    }
    return false;
}

static void set_prefs(fixture_t *f, int max_spatial) {
    cq_relay_layer_prefs_t prefs = {max_spatial, 3};
    assert_int_equal(cq_relay_set_layer_prefs(f->relay, SESSION, 2, 1, &prefs), 0);
}

/*
 * B takes A's best layer (1 of 0..1) until it asks for at most layer 0, then pauses A's
 * video, then takes everything again: each change reaches A as a CQLU with the layers
 * used. A stale mask seen on the way is allowed (one was in flight); the new one must
 * come.
 */
static void test_relay_sends_layer_use(void **state) {
    fixture_t *f = *state;
    unsigned others = 0;
    assert_true(wait_cqlu(f, 0x2, &others));
    set_prefs(f, 0);
    assert_true(wait_cqlu(f, 0x1, &others));
    set_prefs(f, -1);
    assert_true(wait_cqlu(f, 0x0, &others));
    /* Repeated once a second while nothing changes. */
    others = 0;
    assert_true(wait_cqlu(f, 0x0, &others));
    assert_int_equal(others, 0);
    set_prefs(f, 1);
    assert_true(wait_cqlu(f, 0x2, &others));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_relay_sends_publisher_twcc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relay_sends_layer_use, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
