/*
 * No heap allocation per forwarded packet (issue 3, DESIGN.md "Forwarding hot path"):
 * a real relay forwards a burst of 3,000 SRTP packets from one telecentre to another in
 * steady state while every allocation in the process (the worker thread's, the peers',
 * libsrtp2's and OpenSSL's) is counted; the count must be zero.
 *
 * Counting: in the sanitizer build, AddressSanitizer's malloc/free hooks; otherwise the
 * test interposes malloc itself. It needs libsrtp2 on OpenSSL: Debian's NSS build
 * allocates inside every protect and unprotect (docs/ARCHITECTURE.md), and the test says
 * so and skips rather than pass on something it did not check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "relay/relay.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "support/media.h"
#include "support/peer.h"

#include "support/alloc_count.h"

#define SESSION 1
#define BURST   3000

static void params(cq_relay_participant_params_t *p, int i) {
    memset(p, 0, sizeof *p);
    p->id = (uint32_t)(i + 1);
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "na%d", i);
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "no-allocation-password-%d", i);
    p->suite = CQ_SRTP_AEAD_AES_128_GCM;
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++) {
        p->key_in[k] = (uint8_t)(k + 11 * i);
        p->key_out[k] = (uint8_t)(k + 13 * i + 1);
    }
    p->audio_ssrc = 0x1000u + (uint32_t)i;
    p->video_layers = 1;
    p->video_ssrc[0] = 0x2000u + (uint32_t)i;
    p->subscribe_all = true;
}

/* Sends n packets (alternating audio and 1,000-byte video) from a to b and returns how
 * many b received, with a bounded wait. When nack_ssrc is not 0, b NACKs a recent video
 * packet every 50 packets (the SSRC it knows a's video by), so repairs from the relay's
 * cache are counted in the burst too: they arrive as extra packets. */
static int send_and_receive(cq_test_peer_t *a, cq_test_peer_t *b, uint16_t seq0, int n,
                            uint32_t nack_ssrc, int *nacks) {
    uint8_t pkt[1200];
    int received = 0;
    for (int k = 0; k < n; k++) {
        bool video = k % 2 == 1;
        uint16_t seq = (uint16_t)(seq0 + k / 2);
        /* Real VP8 (the relay parses each descriptor), starting with a keyframe. */
        cq_test_vp8_frame_t fr = {.seq = seq,
                                  .ts = seq * 3000u,
                                  .picture_id = seq & 0x7fff,
                                  .tl0picidx = (uint8_t)seq,
                                  .keyframe = k == 1};
        size_t len = video ? cq_test_video_packet(pkt, 0, 0x2000u, &fr)
                           : cq_test_audio_packet(pkt, 0, 0x1000u, seq, seq * 960u);
        if (cq_test_peer_send_rtp(a, pkt, len) != 0)
            return -1;
        /* Keep the burst within the socket buffers: receive as we go. */
        if (nack_ssrc != 0 && k % 50 == 49) {
            cq_rtcp_nack_pair_t pair = {(uint16_t)(seq - 3), 0};
            uint8_t nack[64];
            int nl = cq_rtcp_nack_write(0x77, nack_ssrc, &pair, 1, nack, sizeof nack);
            if (nl <= 0 || cq_test_peer_send_rtcp(b, nack, (size_t)nl) != 0)
                return -1;
            (*nacks)++;
        }
        uint8_t buf[1600];
        bool rtcp;
        while (cq_test_peer_recv(b, buf, sizeof buf, &rtcp, 0) > 0)
            received += !rtcp;
    }
    uint8_t buf[1600];
    bool rtcp;
    /* Repairs are extra packets; the wait ends when the socket stays quiet. RTCP (the
     * relay's reports, once a second) is not counted: a burst slowed down enough (50
     * times under valgrind) had one in it, and counted one packet more than was sent. */
    while (cq_test_peer_recv(b, buf, sizeof buf, &rtcp, received < n ? 2000 : 200) > 0)
        received += !rtcp;
    return received;
}

/* The burst through a relay that records the session (record) or not: recording adds a
 * copy into the recorder's ring per packet, and no allocation either. */
static void forward_burst(bool record) {
    if (strcmp(CQ_SRTP_BACKEND, "openssl") != 0) {
        print_message("libsrtp2 backend is %s, which allocates per packet: "
                      "run scripts/install-deps.sh to build it on OpenSSL\n",
                      CQ_SRTP_BACKEND);
        skip();
    }
    cq_test_alloc_install();

    struct cq_relay *relay;
    char dir[] = "/tmp/cq-no-alloc-rec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cq_relay_config_t cfg = {
        .host = "127.0.0.1", .workers = 1, .recording_dir = dir, .recording_min_free = 1};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    uint16_t port;
    assert_int_equal(cq_relay_session_create(relay, SESSION, &port), 0);
    /* Started before the warm-up, which opens the files (stdio allocates there). */
    if (record)
        assert_int_equal(cq_relay_recording(relay, SESSION, true), 0);
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    for (int i = 0; i < 2; i++) {
        params(&p[i], i);
        assert_int_equal(cq_test_peer_join(&peer[i], relay, SESSION, port, &p[i]), 0);
    }
    /* Warm-up: libsrtp2 makes its per-SSRC state on each SSRC's first packet, so every
     * SSRC of the burst is used once first: media, the NACK's sender SSRC (on the peer and
     * at the relay) and the RTX SSRC toward the receiver. */
    cq_relay_consumer_ssrcs_t seen;
    assert_int_equal(cq_relay_consumer_ssrcs(relay, SESSION, 2, 1, &seen), 0);
    int nacks = 0;
    int warm = send_and_receive(&peer[0], &peer[1], 1, 200, seen.video, &nacks);
    assert_true(warm >= 200);
    cq_relay_participant_stats_t ws;
    assert_int_equal(cq_relay_participant_stats(relay, SESSION, 2, &ws), 0);
    assert_true(ws.rtx_sent >= 1);
    uv_sleep(300); /* let the RTX budget refill */
    nacks = 0;

    cq_test_alloc_begin();
    int got = send_and_receive(&peer[0], &peer[1], 1000, BURST, seen.video, &nacks);
    unsigned long counted = cq_test_alloc_end();

    assert_int_equal(nacks, BURST / 50);
    cq_relay_participant_stats_t rx;
    assert_int_equal(cq_relay_participant_stats(relay, SESSION, 2, &rx), 0);
    /* The burst runs far faster than media does, so the RTX budget (a share of the
     * stream's bitrate) refuses most repairs: both paths ran while counting. */
    uint64_t rtx = rx.rtx_sent - ws.rtx_sent, limited = rx.nacks_limited - ws.nacks_limited;
    assert_true(rtx >= 1);
    assert_true(limited >= 1);
    assert_int_equal(rtx + limited, (uint64_t)nacks);
    assert_int_equal(got, BURST + (int)rtx); /* every packet, and every repair */
    if (counted != 0)
        fail_msg("%lu heap allocations while forwarding %d packets", counted, BURST);
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(relay, SESSION, 2, &st), 0);
    assert_int_equal(st.packets_out, 200 + BURST); /* media only; repairs count as rtx_sent */
    cq_relay_recording_status_t rs;
    assert_int_equal(cq_relay_recording_status(relay, SESSION, &rs), 0);
    assert_int_equal(rs.on, record);
    print_message("recording %s: %" PRIu64 " packets dropped for want of room in the ring\n",
                  record ? "on" : "off", rs.drops);

    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
    cq_relay_destroy(relay);
    char cmd[80];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_relay_forwards_without_allocating(void **state) {
    (void)state;
    forward_burst(false);
}

static void test_relay_records_without_allocating(void **state) {
    (void)state;
    forward_burst(true);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relay_forwards_without_allocating),
        cmocka_unit_test(test_relay_records_without_allocating),
    };
    /* One of them alone (docs/PERFORMANCE.md compares their instruction counts). */
    if (getenv("CQ_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("CQ_TEST_FILTER"));
    return cmocka_run_group_tests_name("relay/no_alloc", tests, NULL, NULL);
}
