/*
 * Recording through a real relay: a publisher's sound and video reach the recorder's
 * files while a subscriber keeps receiving them; a disk that goes under the free-space
 * floor (simulated: the relay's free-space function is the test's) stops the recording
 * with an event, and forwarding goes on. Waits are bounded; nothing is timed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdatomic.h>
#include <uv.h>

#include "codec/recfile.h"
#include "relay/recorder.h"
#include "relay/relay.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "support/media.h"
#include "support/peer.h"
#include "support/recread.h"

#define SESSION 12

static _Atomic uint64_t disk_free = 1ull << 40;

static int fake_free(void *arg, const char *dir, uint64_t *out) {
    (void)arg;
    (void)dir;
    *out = atomic_load(&disk_free);
    return 0;
}

/* Records in the session's file whose name holds what (e.g. "-p1-audio-"); -1: no file. */
static long records_in(const char *dir, const char *what) {
    char sdir[256];
    assert_true(cq_recorder_session_dir(dir, SESSION, sdir, sizeof sdir) > 0);
    DIR *d = opendir(sdir);
    if (d == NULL)
        return -1;
    struct dirent *de;
    long n = -1;
    while ((de = readdir(d)) != NULL && n < 0) {
        if (strstr(de->d_name, what) == NULL)
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", sdir, de->d_name);
        static uint8_t buf[1 << 20];
        static cq_test_record_t rec[4096];
        cq_recfile_header_t h;
        n = cq_test_recfile_read(path, buf, sizeof buf, &h, rec, 4096);
    }
    closedir(d);
    return n;
}

static void wait_records(const char *dir, const char *what, long want) {
    long n = -1;
    for (int i = 0; i < 500 && n != want; i++) {
        n = records_in(dir, what);
        if (n != want)
            uv_sleep(10);
    }
    assert_int_equal(n, want);
}

/* Sends packet k of the publisher's sound and video; returns how many media packets the
 * subscriber received (of the two). */
static int send_pair(cq_test_peer_t *pub, cq_test_peer_t *sub, uint16_t k) {
    uint8_t pkt[1500];
    size_t n = cq_test_audio_packet(pkt, 1, 100, k, k * 960u);
    assert_int_equal(cq_test_peer_send_rtp(pub, pkt, n), 0);
    cq_test_vp8_frame_t fr = {.seq = k,
                              .ts = k * 3000u,
                              .picture_id = k,
                              .tl0picidx = (uint8_t)k,
                              .keyframe = k % 30 == 0};
    n = cq_test_video_packet(pkt, 1, 200, &fr);
    assert_int_equal(cq_test_peer_send_rtp(pub, pkt, n), 0);
    int got = 0;
    for (int tries = 0; tries < 8 && got < 2; tries++) {
        bool rtcp;
        int len = cq_test_peer_recv(sub, pkt, sizeof pkt, &rtcp, 200);
        if (len == CQ_EAGAIN)
            break;
        got += len > 0 && !rtcp;
    }
    return got;
}

static bool wait_stopped_event(struct cq_relay *r) {
    for (int i = 0; i < 500; i++) {
        cq_relay_event_t ev[16];
        size_t n = cq_relay_poll_events(r, ev, 16, NULL);
        for (size_t j = 0; j < n; j++)
            if (ev[j].type == CQ_RELAY_EVENT_RECORDING_STOPPED && ev[j].session_id == SESSION)
                return true;
        uv_sleep(10);
    }
    return false;
}

/* SESSION on relay with a publisher (participant 1: sound on SSRC 100, one video layer
 * on 200; peer[0]) and a subscriber (participant 2, peer[1]), both joined. */
static void join_pair(struct cq_relay *relay, const char *pub, const char *sub,
                      cq_test_peer_t peer[2]) {
    uint16_t port;
    assert_int_equal(cq_relay_session_create(relay, SESSION, &port), 0);
    cq_test_telecentre_t t[2] = {
        {.tag = pub, .id = 1, .audio_ssrc = 100, .video_layers = 1, .video_ssrc = 200},
        {.tag = sub, .id = 2},
    };
    for (int i = 0; i < 2; i++) {
        cq_relay_participant_params_t p;
        cq_test_participant_params(&t[i], &p);
        assert_int_equal(cq_test_peer_join(&peer[i], relay, SESSION, port, &p), 0);
    }
}

static void test_recording_files_and_full_disk(void **state) {
    (void)state;
    char dir[] = "/tmp/cq-itest-rec-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct cq_relay *relay;
    cq_relay_config_t cfg = {.host = "127.0.0.1",
                             .recording_dir = dir,
                             .recording_min_free = 100u << 20,
                             .recording_free_bytes = fake_free};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    assert_string_equal(cq_relay_recording_dir(relay), dir);
    cq_test_peer_t peer[2];
    join_pair(relay, "recpub", "recsub", peer);

    assert_int_equal(cq_relay_recording(relay, 99, true), CQ_ENOENT);
    assert_int_equal(cq_relay_recording(relay, SESSION, true), 0);
    assert_int_equal(cq_relay_recording(relay, SESSION, true), 0); /* already on */
    cq_relay_recording_status_t st;
    assert_int_equal(cq_relay_recording_status(relay, SESSION, &st), 0);
    assert_true(st.on);

    int received = 0;
    for (uint16_t k = 0; k < 40; k++)
        received += send_pair(&peer[0], &peer[1], k);
    assert_int_equal(received, 80);
    wait_records(dir, "-p1-audio-00000064", 40);
    wait_records(dir, "-p1-video0-000000c8", 40);

    /* The disk fills: the recorder stops the session and the relay says so. */
    atomic_store(&disk_free, 1u << 20);
    assert_true(wait_stopped_event(relay));
    assert_int_equal(cq_relay_recording_status(relay, SESSION, &st), 0);
    assert_false(st.on);
    assert_int_equal(st.stops, 1);
    assert_int_equal(st.drops, 0);
    /* Forwarding goes on; the files keep what they had. */
    received = 0;
    for (uint16_t k = 40; k < 60; k++)
        received += send_pair(&peer[0], &peer[1], k);
    assert_int_equal(received, 40);
    assert_int_equal(records_in(dir, "-p1-audio-00000064"), 40);
    assert_int_equal(records_in(dir, "-p1-video0-000000c8"), 40);
    /* Under the floor nothing starts again. */
    assert_int_equal(cq_relay_recording(relay, SESSION, true), CQ_ENOSPC);
    assert_int_equal(cq_relay_recording(relay, SESSION, false), 0); /* not on: nothing to do */

    cq_test_relay_close(relay, peer, 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The disk stalls: the recorder's writer is held inside its first write until the test
 * lets it go. */
static _Atomic bool disk_stalled;
static uv_sem_t disk_release;

static void stalled_write(void *arg) {
    (void)arg;
    if (atomic_load(&disk_stalled))
        uv_sem_wait(&disk_release);
}

/* A disk that stops answering holds neither forwarding nor the worker: every packet
 * reaches the subscriber while the recorder's ring fills, and what it has no room for is
 * dropped from the recording and counted (1,024 slots less 16 kept for control, the
 * first held by the stalled write: 1,008 of 1,400 packets are kept). */
static void test_recording_slow_disk_forwarding_goes_on(void **state) {
    (void)state;
    char dir[] = "/tmp/cq-itest-slow-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(uv_sem_init(&disk_release, 0), 0);
    atomic_store(&disk_free, 1ull << 40);
    struct cq_relay *relay;
    cq_relay_config_t cfg = {.host = "127.0.0.1",
                             .recording_dir = dir,
                             .recording_min_free = 1,
                             .recording_free_bytes = fake_free,
                             .recording_before_write = stalled_write};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    cq_test_peer_t peer[2];
    join_pair(relay, "slowpub", "slowsub", peer);
    atomic_store(&disk_stalled, true);
    assert_int_equal(cq_relay_recording(relay, SESSION, true), 0);
    int received = 0;
    for (uint16_t k = 0; k < 700; k++)
        received += send_pair(&peer[0], &peer[1], k);
    assert_int_equal(received, 1400);
    cq_relay_recording_status_t st;
    assert_int_equal(cq_relay_recording_status(relay, SESSION, &st), 0);
    assert_true(st.on);
    assert_int_equal(st.drops, 1400 - 1008);
    /* The disk comes back: what the ring took is written, and the operator's stop,
     * which waited in the ring's reserve, closes the files. */
    atomic_store(&disk_stalled, false);
    uv_sem_post(&disk_release);
    assert_int_equal(cq_relay_recording(relay, SESSION, false), 0);
    wait_records(dir, "-p1-audio-00000064", 504);
    wait_records(dir, "-p1-video0-000000c8", 504);

    cq_test_relay_close(relay, peer, 2);
    uv_sem_destroy(&disk_release);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static bool visit_pli(const cq_rtcp_header_t *h, void *ctx) {
    uint32_t want = *(const uint32_t *)ctx;
    return h->pt == 206 && h->count == 1 && h->body_len >= 8 &&
           ((uint32_t)h->body[4] << 24 | (uint32_t)h->body[5] << 16 | (uint32_t)h->body[6] << 8 |
            h->body[7]) == want;
}

/* A recording's video begins at a keyframe: a publisher whose last keyframe came before
 * the start is asked for one (PLI) rather than left to its encoder's next. */
static void test_recording_asks_for_keyframe(void **state) {
    (void)state;
    char dir[] = "/tmp/cq-itest-pli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct cq_relay *relay;
    cq_relay_config_t cfg = {.host = "127.0.0.1", .recording_dir = dir, .recording_min_free = 1};
    assert_int_equal(cq_relay_create(&relay, &cfg), 0);
    cq_test_peer_t peer[2];
    join_pair(relay, "plipub", "plisub", peer);
    /* A keyframe (packet 0), then pictures that depend on it; the subscriber's own first
     * request for a keyframe is let pass (the relay spaces requests 300 ms apart). */
    for (uint16_t k = 0; k < 5; k++)
        assert_int_equal(send_pair(&peer[0], &peer[1], k), 2);
    uv_sleep(400);
    uint32_t video = 200;
    while (cq_test_peer_scan_rtcp(&peer[0], 50, visit_pli, &video))
        ; /* forget what was asked before the recording */
    assert_int_equal(cq_relay_recording(relay, SESSION, true), 0);
    for (uint16_t k = 5; k < 10; k++)
        assert_int_equal(send_pair(&peer[0], &peer[1], k), 2);
    assert_true(cq_test_peer_scan_rtcp(&peer[0], 1000, visit_pli, &video));

    cq_test_relay_close(relay, peer, 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recording_files_and_full_disk),
        cmocka_unit_test(test_recording_slow_disk_forwarding_goes_on),
        cmocka_unit_test(test_recording_asks_for_keyframe),
    };
    return cmocka_run_group_tests_name("relay/recording", tests, NULL, NULL);
}
