/*
 * Simulcast through a real relay on loopback: a publisher A sends two VP8 layers, a
 * subscriber B asks for what it wants, and what B receives is checked packet by packet:
 * which layer it came from (the tag in its payload), and that the numbers B sees run on
 * as one stream. Every wait is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <uv.h>

#include "relay/relay.h"
#include "rtp/bytes.h"
#include "rtp/error.h"
#include "rtp/nack_tracker.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "support/media.h"
#include "support/peer.h"

#define A 0
#define B 1

typedef struct {
    struct cq_relay *relay;
    uint32_t session;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    cq_relay_consumer_ssrcs_t seen; /* how B knows A */
    /* What A sends on each layer next. */
    uint16_t seq[2];
    uint32_t ts[2];
    uint16_t picture_id[2];
    uint8_t tl0[2];
    unsigned frame;
} fixture_t;

static uint32_t video_ssrc(int layer) {
    return 0xc0000000u + (uint32_t)layer;
}
static uint32_t rtx_ssrc(int layer) {
    return 0xc1000000u + (uint32_t)layer;
}

static int setup(void **state) {
    static fixture_t f;
    static uint32_t next_session = 100;
    memset(&f, 0, sizeof f);
    f.session = next_session++;
    cq_test_telecentre_t t[2];
    for (int i = 0; i < 2; i++)
        t[i] = (cq_test_telecentre_t){.tag = "layers",
                                      .id = (uint32_t)(i + 1),
                                      .audio_ssrc = 0xa0000000u + (uint32_t)i,
                                      .video_layers = i == A ? 2 : 0,
                                      .video_ssrc = video_ssrc(0),
                                      .rtx_ssrc = rtx_ssrc(0)};
    assert_int_equal(cq_test_relay_open(&f.relay, f.session, t, 2, f.p, f.peer), 0);
    assert_int_equal(cq_relay_consumer_ssrcs(f.relay, f.session, 2, 1, &f.seen), 0);
    /* Layer 1 reaches its 16-bit sequence and 32-bit timestamp wraps 15 frames in, just
     * after the first test switches to it; layer 0 is far from both. */
    f.seq[0] = 1000;
    f.seq[1] = 65515;
    f.ts[0] = 90000;
    f.ts[1] = 0xffffd000u - 15 * 3000;
    f.picture_id[0] = 10;
    f.picture_id[1] = 32764;
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    cq_test_relay_close(f->relay, f->peer, 2);
    return 0;
}

static void set_prefs(fixture_t *f, int max_spatial, unsigned max_temporal) {
    cq_relay_layer_prefs_t prefs = {max_spatial, max_temporal};
    assert_int_equal(cq_relay_set_layer_prefs(f->relay, f->session, 2, 1, &prefs), 0);
}

/* A sends the next frame on the layers in mask (bit per layer), keyframes on those in
 * keymask, with the TID of pattern 0-2-1-2 (sync on the first TID 1 and 2 after TL0). */
static void send_frame(fixture_t *f, unsigned mask, unsigned keymask) {
    static const uint8_t pattern[4] = {0, 2, 1, 2};
    for (int l = 0; l < 2; l++) {
        if (!(mask & (1u << l)))
            continue;
        bool key = (keymask & (1u << l)) != 0;
        uint8_t tid = key ? 0 : pattern[f->frame % 4];
        if (tid == 0)
            f->tl0[l]++;
        cq_test_vp8_frame_t fr = {.seq = f->seq[l]++,
                                  .ts = f->ts[l],
                                  .picture_id = f->picture_id[l],
                                  .tl0picidx = f->tl0[l],
                                  .tid = tid,
                                  .layer_sync = tid != 0 && f->frame % 4 <= 2,
                                  .keyframe = key};
        f->ts[l] += 3000;
        f->picture_id[l] = (uint16_t)((f->picture_id[l] + 1) & 0x7fff);
        uint8_t pkt[1200];
        size_t len = cq_test_video_packet(pkt, A, video_ssrc(l), &fr);
        assert_true(len > 0);
        assert_int_equal(cq_test_peer_send_rtp(&f->peer[A], pkt, len), 0);
    }
    f->frame++;
}

/* What B saw of A's video, checked as it arrives. */
typedef struct {
    int count, layer[2], tid[4];
    int broken; /* packets that do not continue the stream */
    uint16_t last_seq, last_picture_id;
    uint32_t last_ts;
    uint8_t last_tl0;
    int last_layer;
} video_seen_t;

/* Receives B's video for up to quiet_ms of silence (bounded: 1,000 datagrams) and checks
 * each packet: A's tag on it, B's SSRC for A's video, sequence numbers and PictureIDs +1,
 * timestamps increasing, TL0PICIDX +1 after each TID 0 frame. */
static void receive_video(fixture_t *f, int quiet_ms, video_seen_t *v) {
    for (int k = 0; k < 1000; k++) {
        uint8_t buf[1600];
        bool rtcp;
        int n = cq_test_peer_recv(&f->peer[B], buf, sizeof buf, &rtcp, quiet_ms);
        if (n == CQ_EAGAIN)
            return;
        assert_true(n > 0);
        cq_rtp_view_t rv;
        cq_test_media_info_t m;
        if (rtcp || cq_rtp_parse(buf, (size_t)n, &rv) < 0 || rv.payload_type != 96)
            continue;
        assert_int_equal(cq_test_media_read(&rv, &m), 0);
        assert_true(m.body_intact);
        assert_int_equal(m.sender, A);
        assert_int_equal(rv.ssrc, f->seen.video);
        int layer = m.ssrc == video_ssrc(0) ? 0 : 1;
        assert_int_equal(m.ssrc, video_ssrc(layer));
        if (v->count > 0) {
            bool ok = rv.seq == (uint16_t)(v->last_seq + 1) &&
                      m.desc.picture_id == ((v->last_picture_id + 1) & 0x7fff) &&
                      rv.timestamp - v->last_ts - 1 < 0x7fffffffu &&
                      m.desc.tl0picidx == (uint8_t)(v->last_tl0 + (m.desc.tid == 0));
            v->broken += !ok;
        }
        v->count++;
        v->layer[layer]++;
        v->tid[m.desc.tid & 3]++;
        v->last_seq = rv.seq;
        v->last_picture_id = m.desc.picture_id;
        v->last_ts = rv.timestamp;
        v->last_tl0 = m.desc.tl0picidx;
        v->last_layer = layer;
    }
}

/* Counts PLIs for media_ssrc reaching A before quiet_ms of silence (bounded). */
static int plis_at_a(fixture_t *f, uint32_t media_ssrc, int quiet_ms) {
    int count = 0;
    for (int k = 0; k < 1000; k++) {
        uint8_t buf[1600];
        bool rtcp;
        int n = cq_test_peer_recv(&f->peer[A], buf, sizeof buf, &rtcp, quiet_ms);
        if (n == CQ_EAGAIN)
            break;
        if (n <= 0 || !rtcp)
            continue;
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_iter_init(&it, buf, (size_t)n);
        while (cq_rtcp_iter_next(&it, &h) > 0) {
            cq_rtcp_fb_t pli;
            count += cq_rtcp_pli_parse(&h, &pli) == 0 && pli.media_ssrc == media_ssrc;
        }
    }
    return count;
}

/*
 * The case: B capped to the low layer gets only it; when the cap is lifted the
 * relay asks A for a keyframe of layer 1, goes on forwarding layer 0 until it comes, and
 * switches at it, while layer 1's sequence numbers and timestamps wrap, with B seeing one
 * continuous stream throughout.
 */
static void test_layers_capped_subscriber_switched_up_at_keyframe(void **state) {
    fixture_t *f = *state;
    set_prefs(f, 0, 3);
    send_frame(f, 3, 3);
    for (int k = 0; k < 11; k++)
        send_frame(f, 3, 0);
    video_seen_t v = {0};
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 12);
    assert_int_equal(v.layer[1], 0);
    assert_int_equal(v.broken, 0);
    assert_int_equal(plis_at_a(f, video_ssrc(1), 100), 0);

    set_prefs(f, 1, 3);
    assert_true(plis_at_a(f, video_ssrc(1), 300) >= 1); /* (a retry may follow half a second on) */
    for (int k = 0; k < 3; k++)
        send_frame(f, 3, 0);
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 15);
    assert_int_equal(v.layer[1], 0); /* no keyframe yet: still layer 0 */
    send_frame(f, 3, 2);             /* layer 1's keyframe */
    for (int k = 0; k < 8; k++)
        send_frame(f, 3, 0);
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 25); /* 16 of layer 0 (the last beside layer 1's keyframe) */
    assert_int_equal(v.layer[1], 9);
    assert_int_equal(v.last_layer, 1);
    assert_int_equal(v.broken, 0);
    assert_true(f->seq[1] < 100 && f->ts[1] < 0x10000u); /* layer 1 wrapped both on B's run */

    /* The owner heard of both switches, for B about A: layer 0, then layer 1. */
    int layers[4], nlayers = 0;
    cq_relay_event_t ev[64];
    size_t n = cq_relay_poll_events(f->relay, ev, 64, NULL);
    for (size_t i = 0; i < n; i++)
        if (ev[i].type == CQ_RELAY_EVENT_LAYER && nlayers < 4) {
            assert_int_equal(ev[i].participant_id, 2);
            assert_int_equal(ev[i].publisher_id, 1);
            layers[nlayers++] = ev[i].layer;
        }
    assert_int_equal(nlayers, 2);
    assert_int_equal(layers[0], 0);
    assert_int_equal(layers[1], 1);
    cq_relay_consumer_stats_t cs;
    assert_int_equal(cq_relay_consumer_stats(f->relay, f->session, 2, 1, &cs), 0);
    assert_int_equal(cs.spatial, 1);
    assert_int_equal(cs.spatial_target, 1);
    assert_int_equal(cs.switches, 2);
    assert_int_equal(cs.packets, 25);
    assert_int_equal(cs.drops_layer, 12 + 3 + 8);
}

/* Temporal layers by TID: capped at TL0, B gets every fourth frame of 0-2-1-2, numbered
 * without holes; lifted to TL2, it climbs at the next layer-sync frame. */
static void test_layers_temporal_dropped_by_tid(void **state) {
    fixture_t *f = *state;
    set_prefs(f, 0, 0);
    send_frame(f, 1, 1);
    for (int k = 1; k < 40; k++)
        send_frame(f, 1, 0);
    video_seen_t v = {0};
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 10);
    assert_int_equal(v.tid[0], 10);
    assert_int_equal(v.broken, 0);
    set_prefs(f, 0, 2);
    for (int k = 0; k < 8; k++) /* frames 40..47: TID 0, 2 (sync), 1, 2, ... */
        send_frame(f, 1, 0);
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 18);
    assert_int_equal(v.tid[2], 4);
    assert_int_equal(v.broken, 0);
    cq_relay_consumer_stats_t cs;
    assert_int_equal(cq_relay_consumer_stats(f->relay, f->session, 2, 1, &cs), 0);
    assert_int_equal(cs.drops_temporal, 30);
    assert_int_equal(cs.temporal, 2);
}

/* After a switch, a NACK names B's own number: the repair comes from the right layer's
 * cache, carrying that number as its OSN and the PictureID B saw. */
static void test_layers_nack_after_switch_is_answered_in_b_numbers(void **state) {
    fixture_t *f = *state;
    send_frame(f, 3, 3); /* B starts on layer 0 and moves to layer 1 at once */
    for (int k = 0; k < 5; k++)
        send_frame(f, 3, 0);
    video_seen_t v = {0};
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 7);
    assert_int_equal(v.last_layer, 1);
    uint16_t wanted = (uint16_t)(v.last_seq - 2);
    uint16_t wanted_pid = (uint16_t)((v.last_picture_id - 2) & 0x7fff);
    cq_rtcp_nack_pair_t pair = {wanted, 0};
    uint8_t rtcp[64];
    int n = cq_rtcp_nack_write(0x4242, f->seen.video, &pair, 1, rtcp, sizeof rtcp);
    assert_true(n > 0);
    assert_int_equal(cq_test_peer_send_rtcp(&f->peer[B], rtcp, (size_t)n), 0);
    bool repaired = false;
    for (int k = 0; k < 100 && !repaired; k++) {
        uint8_t buf[1600];
        bool is_rtcp;
        int len = cq_test_peer_recv(&f->peer[B], buf, sizeof buf, &is_rtcp, 1000);
        if (len == CQ_EAGAIN)
            break;
        cq_rtp_view_t rv;
        if (len <= 0 || is_rtcp || cq_rtp_parse(buf, (size_t)len, &rv) < 0 ||
            rv.ssrc != f->seen.video_rtx)
            continue;
        assert_int_equal(rv.payload_type, 97);
        assert_int_equal(cq_load_be16(rv.payload), wanted);
        /* Unwrapped, the payload is the layer-1 packet with B's PictureID. */
        cq_rtp_view_t orig = rv;
        orig.payload += 2;
        orig.payload_len -= 2;
        orig.payload_type = 96;
        cq_test_media_info_t m;
        assert_int_equal(cq_test_media_read(&orig, &m), 0);
        assert_int_equal(m.ssrc, video_ssrc(1));
        assert_int_equal(m.desc.picture_id, wanted_pid);
        assert_true(m.body_intact);
        repaired = true;
    }
    assert_true(repaired);
}

/* Pausing stops A's video to B; resuming asks A for a keyframe and B's stream continues
 * from the number after the last it got. */
static void test_layers_pause_and_resume(void **state) {
    fixture_t *f = *state;
    set_prefs(f, 0, 3);
    send_frame(f, 1, 1);
    send_frame(f, 1, 0);
    video_seen_t v = {0};
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 2);
    set_prefs(f, -1, 3);
    for (int k = 0; k < 4; k++)
        send_frame(f, 1, 0);
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 2);
    assert_int_equal(plis_at_a(f, video_ssrc(0), 100), 0);
    set_prefs(f, 0, 3);
    assert_true(plis_at_a(f, video_ssrc(0), 300) >= 1); /* (a retry may follow half a second on) */
    send_frame(f, 1, 0);                                /* not a keyframe: still nothing */
    send_frame(f, 1, 1);
    send_frame(f, 1, 0);
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 4);
    assert_int_equal(v.broken, 0);
    cq_relay_consumer_stats_t cs;
    assert_int_equal(cq_relay_consumer_stats(f->relay, f->session, 2, 1, &cs), 0);
    assert_int_equal(cs.drops_paused, 4);
    assert_int_equal(cs.drops_waiting, 1);
}

/* A sends both layers' keyframes and a frame more: B gets layer 1. */
static void b_on_layer_1(fixture_t *f, video_seen_t *v) {
    send_frame(f, 3, 3);
    send_frame(f, 3, 0);
    receive_video(f, 300, v);
    assert_int_equal(v->last_layer, 1);
}

/* A sends a keyframe of layer 0 and a frame more: B gets both, on layer 0, its stream
 * unbroken. */
static void layer_0_keyframe_reaches_b(fixture_t *f, video_seen_t *v) {
    int before = v->count;
    send_frame(f, 1, 1);
    send_frame(f, 1, 0);
    receive_video(f, 300, v);
    assert_int_equal(v->count, before + 2);
    assert_int_equal(v->last_layer, 0);
    assert_int_equal(v->broken, 0);
}

/* A layer that stops arriving (A's encoder dropped it for its uplink) moves B down: after
 * about a second the relay asks for layer 0's keyframe and switches at it. */
static void test_layers_stopped_layer_moves_subscriber_down(void **state) {
    fixture_t *f = *state;
    video_seen_t v = {0};
    b_on_layer_1(f, &v);
    /* Only layer 0 from now on, a frame every 50 ms, until the relay asks (bounded). */
    int plis = 0;
    for (int k = 0; k < 60 && plis == 0; k++) {
        send_frame(f, 1, 0);
        plis = plis_at_a(f, video_ssrc(0), 50);
    }
    assert_int_equal(plis, 1);
    receive_video(f, 100, &v);
    layer_0_keyframe_reaches_b(f, &v);
}

/* A layer that falls silent and is followed, 400 ms on, by a keyframe of the layer below
 * (what a publisher dropping a layer for its uplink sends: client/sender.c) has been
 * dropped: B moves down at that keyframe, without the second of silence and the keyframe
 * asked for after it (2.5 s of frozen picture on weak-3g-3), and A is asked for none. */
static void test_layers_dropped_layer_moves_subscriber_at_its_keyframe(void **state) {
    fixture_t *f = *state;
    video_seen_t v = {0};
    b_on_layer_1(f, &v);
    for (int k = 0; k < 4; k++) { /* layer 0's inter frames go on, layer 1 is silent */
        send_frame(f, 1, 0);
        uv_sleep(100);
    }
    layer_0_keyframe_reaches_b(f, &v);
    assert_int_equal(plis_at_a(f, video_ssrc(0), 100), 0);
}

/* A layer that comes back (A's uplink has room again) starts with a keyframe: B, moved
 * down when it stopped, goes up at that very keyframe, and A is asked for no other. Moved
 * only at the relay's next tick, B let it pass and the relay asked A for a second one. */
static void test_layers_restarted_layer_taken_at_its_keyframe(void **state) {
    fixture_t *f = *state;
    video_seen_t v = {0};
    b_on_layer_1(f, &v);
    for (int k = 0; k < 4; k++) { /* A drops layer 1, as in the test above */
        send_frame(f, 1, 0);
        uv_sleep(100);
    }
    layer_0_keyframe_reaches_b(f, &v);
    int before = v.layer[1];
    send_frame(f, 3, 2); /* layer 1 again, from its keyframe */
    send_frame(f, 3, 0);
    receive_video(f, 300, &v);
    assert_int_equal(v.layer[1], before + 2);
    assert_int_equal(v.last_layer, 1);
    assert_int_equal(v.broken, 0);
    assert_int_equal(plis_at_a(f, video_ssrc(1), 100), 0);
}

/* Every layer silent past the layer timeout (A's camera off and on, an outage) and then
 * back, layer 0's keyframe first: B stays on layer 1 and takes its keyframe. Moved at
 * layer 0's, as when only layer 1 had been silent, B went down to it and up again, a
 * keyframe each way. */
static void test_layers_all_silent_then_back_keeps_its_layer(void **state) {
    fixture_t *f = *state;
    video_seen_t v = {0};
    b_on_layer_1(f, &v);
    uv_sleep(1500);
    int before[2] = {v.layer[0], v.layer[1]};
    send_frame(f, 3, 3); /* both keyframes, layer 0's first */
    send_frame(f, 3, 0);
    receive_video(f, 300, &v);
    assert_int_equal(v.layer[0], before[0]);
    assert_int_equal(v.layer[1], before[1] + 2);
    assert_int_equal(v.last_layer, 1);
    assert_int_equal(v.broken, 0);
}

/* The bitrate the relay knows of A's layer 0, once it has counted `packets` of it
 * (bounded: the stats reach the worker by another path than A's packets). */
static uint64_t layer_0_bitrate(fixture_t *f, uint64_t packets) {
    for (int k = 0; k < 100; k++) {
        cq_relay_stream_stats_t st[CQ_RELAY_MAX_STREAMS];
        size_t n = 0;
        assert_int_equal(cq_relay_stream_stats(f->relay, f->session, 1, st, &n), 0);
        for (size_t i = 0; i < n; i++)
            if (st[i].ssrc == video_ssrc(0) && st[i].packets >= packets)
                return st[i].bitrate_bps;
        uv_sleep(10);
    }
    fail_msg("the relay never counted %llu packets of layer 0", (unsigned long long)packets);
    return 0;
}

/* A layer's rate is what it costs while it is sent: a layer that comes back after a
 * silence is priced at its old rate until it has been measured again, not at its last
 * window's bytes spread over the silence (which made a layer that came back after 1.3 s
 * look six times cheaper, and every receiver went up to it and back down). */
static void test_layers_rate_kept_across_a_silence(void **state) {
    fixture_t *f = *state;
    uint64_t sent = 0;
    for (int k = 0; k < 26; k++, sent++) { /* 1.3 s at 20 frames a second: one window */
        send_frame(f, 1, k == 0);
        uv_sleep(50);
    }
    uint64_t sending = layer_0_bitrate(f, sent);
    assert_true(sending > 0);
    uv_sleep(1300); /* layer 0 silent */
    send_frame(f, 1, 0);
    sent++;
    assert_int_equal(layer_0_bitrate(f, sent), sending);
    /* Measured again from the packet after the silence: twice the frames, twice the rate. */
    for (int k = 0; k < 24; k++, sent += 2) {
        send_frame(f, 1, 0);
        send_frame(f, 1, 0);
        uv_sleep(50);
    }
    uint64_t again = layer_0_bitrate(f, sent);
    print_message("layer 0: %llu bit/s sent, %llu after the silence at twice the frames\n",
                  (unsigned long long)sending, (unsigned long long)again);
    assert_true(again > sending * 3 / 2 && again < sending * 5 / 2);
}

/* A's sender reports for each layer: only the forwarded layer's reaches B, its RTP time
 * moved by the offset B's timestamps were given at the switch, so lip sync holds. */
static void test_layers_sender_report_of_forwarded_layer_only(void **state) {
    fixture_t *f = *state;
    send_frame(f, 1, 1); /* layer 0's keyframe first, then a switch to layer 1 */
    send_frame(f, 2, 2);
    send_frame(f, 3, 0);
    video_seen_t v = {0};
    receive_video(f, 300, &v);
    assert_int_equal(v.last_layer, 1);
    uint32_t delta = v.last_ts - (f->ts[1] - 3000); /* B's timestamps minus A's, layer 1 */
    for (int l = 0; l < 2; l++) {
        cq_rtcp_sender_info_t info = {UINT64_C(0xd0000000000000) + (uint64_t)l, 5000u + (uint32_t)l,
                                      3, 2700};
        uint8_t rtcp[128];
        int n = cq_rtcp_sr_write(video_ssrc(l), &info, NULL, 0, rtcp, sizeof rtcp);
        assert_int_equal(cq_test_peer_send_rtcp(&f->peer[A], rtcp, (size_t)n), 0);
    }
    int srs = 0;
    for (int k = 0; k < 100; k++) {
        uint8_t buf[1600];
        bool is_rtcp;
        int len = cq_test_peer_recv(&f->peer[B], buf, sizeof buf, &is_rtcp, 300);
        if (len == CQ_EAGAIN)
            break;
        if (len <= 0 || !is_rtcp)
            continue;
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_sr_t sr;
        cq_rtcp_iter_init(&it, buf, (size_t)len);
        while (cq_rtcp_iter_next(&it, &h) > 0) {
            if (cq_rtcp_sr_parse(&h, &sr) != 0 || sr.ssrc != f->seen.video)
                continue;
            srs++;
            bool layer1 = sr.info.ntp == UINT64_C(0xd0000000000001);
            assert_true(layer1);
            assert_int_equal(sr.info.rtp_ts, 5001u + delta);
        }
    }
    assert_int_equal(srs, 1);
}

/* RTT to B: A's SR reaches B from the SSRC B knows A's audio by; B's report on it, held
 * 50 ms, gives the relay B's round trip. */
/* A's SR reaches B through the relay; B answers it held_ms later (DLSR 50 ms of them, so
 * the relay measures held_ms - 50 and the round trip). Returns the RTT the relay then
 * reports for B. */
static uint32_t measure_rtt(fixture_t *f, unsigned held_ms) {
    uint8_t pkt[200];
    for (uint16_t k = 0; k < 3; k++) {
        size_t len = cq_test_audio_packet(pkt, A, f->p[A].audio_ssrc, k, k * 960u);
        assert_int_equal(cq_test_peer_send_rtp(&f->peer[A], pkt, len), 0);
    }
    cq_rtcp_sender_info_t info = {0xe1a2b3c4d5e6f708ull, 1234, 3, 201};
    uint8_t rtcp[128];
    int n = cq_rtcp_sr_write(f->p[A].audio_ssrc, &info, NULL, 0, rtcp, sizeof rtcp);
    assert_int_equal(cq_test_peer_send_rtcp(&f->peer[A], rtcp, (size_t)n), 0);
    bool got_sr = false;
    for (int k = 0; k < 100 && !got_sr; k++) {
        uint8_t buf[1600];
        bool is_rtcp;
        int len = cq_test_peer_recv(&f->peer[B], buf, sizeof buf, &is_rtcp, 1000);
        if (len == CQ_EAGAIN)
            break;
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_sr_t sr;
        if (len <= 0 || !is_rtcp)
            continue;
        cq_rtcp_iter_init(&it, buf, (size_t)len);
        while (cq_rtcp_iter_next(&it, &h) > 0)
            got_sr |= cq_rtcp_sr_parse(&h, &sr) == 0 && sr.ssrc == f->seen.audio &&
                      sr.info.ntp == info.ntp;
    }
    assert_true(got_sr);
    uv_sleep(held_ms);
    cq_rtcp_report_t block = {.ssrc = f->seen.audio,
                              .highest_seq = 2,
                              .lsr = cq_rtcp_ntp_short(info.ntp),
                              .dlsr = cq_rtcp_dlsr_from_us(50000)};
    n = cq_rtcp_rr_write(0x5151, &block, 1, rtcp, sizeof rtcp);
    assert_int_equal(cq_test_peer_send_rtcp(&f->peer[B], rtcp, (size_t)n), 0);
    cq_relay_participant_stats_t st = {0};
    for (int k = 0; k < 100 && st.rtt_us == 0; k++) {
        uv_sleep(10);
        assert_int_equal(cq_relay_participant_stats(f->relay, f->session, 2, &st), 0);
    }
    return st.rtt_us;
}

static void test_layers_rtt_from_receiver_reports(void **state) {
    fixture_t *f = *state;
    uint32_t rtt = measure_rtt(f, 100);
    /* Held 50 ms of at least 100: the rest is the round trip, loose on a busy machine. */
    assert_true(rtt >= 40000 && rtt < 3000000);
}

/* Repairs of the packets B knows as first .. first + n - 1 that come to B within 500 ms of
 * silence, counted into got[0 .. n); a repair of any other packet fails the test. */
static void repairs_in(fixture_t *f, uint16_t first, int *got, int n) {
    for (int i = 0; i < n; i++)
        got[i] = 0;
    for (int k = 0; k < 100; k++) {
        uint8_t buf[1600];
        bool is_rtcp;
        int len = cq_test_peer_recv(&f->peer[B], buf, sizeof buf, &is_rtcp, 500);
        if (len == CQ_EAGAIN)
            break;
        cq_rtp_view_t rv;
        if (len <= 0 || is_rtcp || cq_rtp_parse(buf, (size_t)len, &rv) < 0 ||
            rv.ssrc != f->seen.video_rtx)
            continue;
        uint16_t at = (uint16_t)(cq_load_be16(rv.payload) - first);
        assert_true(at < n);
        got[at]++;
    }
}

static int repairs_of(fixture_t *f, uint16_t seq) {
    int got;
    repairs_in(f, seq, &got, 1);
    return got;
}

/* A (keyframe or not) then three frames of layer 0, all seen by B: B's last sequence. */
static uint16_t four_frames(fixture_t *f, bool key) {
    send_frame(f, 1, key ? 1 : 0);
    for (int k = 0; k < 3; k++)
        send_frame(f, 1, 0);
    video_seen_t v = {0};
    receive_video(f, 300, &v);
    assert_int_equal(v.count, 4);
    return v.last_seq;
}

/* B asks for pair's packets twice, 40 ms apart, as a receiver on a long round trip does. */
static void nack_twice(fixture_t *f, cq_rtcp_nack_pair_t pair) {
    uint8_t rtcp[64];
    int n = cq_rtcp_nack_write(0x4242, f->seen.video, &pair, 1, rtcp, sizeof rtcp);
    assert_true(n > 0);
    assert_int_equal(cq_test_peer_send_rtcp(&f->peer[B], rtcp, (size_t)n), 0);
    uv_sleep(40);
    assert_int_equal(cq_test_peer_send_rtcp(&f->peer[B], rtcp, (size_t)n), 0);
}

/* On a round trip of 300 ms and more a receiver asks for a repair twice, 40 ms apart
 * (rtp/nack_tracker.h), and the relay answers both; on a shorter one the second request,
 * sooner than a round trip, is refused as too soon. */
static void test_layers_long_round_trip_repair_sent_twice(void **state) {
    fixture_t *f = *state;
    for (int round = 0; round < 2; round++) {
        if (round == 1)
            assert_true(measure_rtt(f, 450) >= CQ_NACK_DOUBLE_RTT_US);
        uint16_t wanted = (uint16_t)(four_frames(f, round == 0) - 1);
        nack_twice(f, (cq_rtcp_nack_pair_t){wanted, 0});
        assert_int_equal(repairs_of(f, wanted), round == 0 ? 1 : 2);
    }
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, f->session, 2, &st), 0);
    assert_int_equal(st.nacks_limited, 1);
    assert_int_equal(st.rtx_sent, 3);
}

/* Two packets of one frame lost to a receiver on a long round trip, each asked for twice:
 * all four repairs go. The budget is twice a short round trip's for it; with the same
 * budget the first request's two repairs spent it and the second request's were refused,
 * so a repair lost on the way waited another round trip (600 ms on VSAT). */
static void test_layers_long_round_trip_budget_covers_both_requests(void **state) {
    fixture_t *f = *state;
    assert_true(measure_rtt(f, 450) >= CQ_NACK_DOUBLE_RTT_US);
    uint16_t first = (uint16_t)(four_frames(f, true) - 2);
    nack_twice(f, (cq_rtcp_nack_pair_t){first, 1u << 0}); /* first and first + 1 */
    int got[2];
    repairs_in(f, first, got, 2);
    assert_int_equal(got[0], 2);
    assert_int_equal(got[1], 2);
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, f->session, 2, &st), 0);
    assert_int_equal(st.nacks_limited, 0);
    assert_int_equal(st.rtx_sent, 4);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_layers_capped_subscriber_switched_up_at_keyframe,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_temporal_dropped_by_tid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_nack_after_switch_is_answered_in_b_numbers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_pause_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_stopped_layer_moves_subscriber_down, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layers_dropped_layer_moves_subscriber_at_its_keyframe,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_restarted_layer_taken_at_its_keyframe, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layers_rate_kept_across_a_silence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_all_silent_then_back_keeps_its_layer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layers_sender_report_of_forwarded_layer_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layers_rtt_from_receiver_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_layers_long_round_trip_repair_sent_twice, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_layers_long_round_trip_budget_covers_both_requests,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("relay/layers", tests, NULL, NULL);
}
