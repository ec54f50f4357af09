#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "relay/vselect.h"

/*
 * A simulcast layer as a publisher sends it: frames of two packets every 33 ms (3000
 * ticks), temporal pattern 0-2-1-2 with the layer-sync bit on the first TID 1 and TID 2
 * frames after each TL0 frame, 15-bit PictureIDs; its numbers start wherever the test
 * puts them, to cross the wraps.
 */
typedef struct {
    uint8_t layer;
    uint16_t seq;
    uint32_t ts;
    uint16_t picture_id;
    uint8_t tl0;
    unsigned frame; /* frames sent */
    bool next_key;  /* the next frame is a keyframe */
} layer_gen_t;

static const uint8_t pattern[4] = {0, 2, 1, 2};

/* Fills pkts[0..1] with the next frame's two packets. */
static void next_frame(layer_gen_t *g, cq_vsel_packet_t pkts[2]) {
    bool key = g->next_key;
    g->next_key = false;
    if (key)
        g->frame = 0; /* a keyframe restarts the pattern */
    uint8_t tid = pattern[g->frame % 4];
    if (tid == 0 && g->frame > 0)
        g->tl0++;
    for (int i = 0; i < 2; i++) {
        pkts[i] = (cq_vsel_packet_t){
            .layer = g->layer,
            .seq = g->seq++,
            .ts = g->ts,
            .frame_start = i == 0,
            .keyframe = key && i == 0,
            .has_tid = true,
            .tid = tid,
            .layer_sync = tid != 0 && g->frame % 4 <= 2,
            .has_picture_id = true,
            .picture_id_15bit = true,
            .picture_id = g->picture_id,
            .has_tl0picidx = true,
            .tl0picidx = g->tl0,
        };
    }
    g->picture_id = (uint16_t)((g->picture_id + 1) & 0x7fff);
    g->ts += 3000;
    g->frame++;
}

/* What the subscriber receives, to check continuity. */
typedef struct {
    unsigned count;
    cq_vsel_out_t last;
    cq_vsel_packet_t last_in;
} sink_t;

/* Feeds one frame of g at now_us; returns how many packets were forwarded and checks that
 * each forwarded packet continues the sink's numbering exactly. */
static int feed(cq_vsel_t *s, layer_gen_t *g, uint64_t now_us, sink_t *sink) {
    cq_vsel_packet_t pkts[2];
    next_frame(g, pkts);
    int forwarded = 0;
    for (int i = 0; i < 2; i++) {
        cq_vsel_out_t out;
        if (cq_vsel_on_packet(s, &pkts[i], now_us, &out) != CQ_VSEL_FORWARD)
            continue;
        if (sink->count > 0) {
            assert_int_equal(out.seq, (uint16_t)(sink->last.seq + 1));
            if (pkts[i].frame_start) {
                assert_int_equal(out.picture_id, (sink->last.picture_id + 1) & 0x7fff);
                assert_true(out.ts - sink->last.ts > 0 && out.ts - sink->last.ts < 0x80000000u);
            } else {
                assert_int_equal(out.picture_id, sink->last.picture_id);
                assert_int_equal(out.ts, sink->last.ts);
            }
        }
        sink->last = out;
        sink->last_in = pkts[i];
        sink->count++;
        forwarded++;
    }
    return forwarded;
}

static void test_vselect_waits_for_a_keyframe(void **state) {
    (void)state;
    cq_vsel_t s;
    cq_vsel_init(&s);
    assert_int_equal(cq_vsel_wanted_layer(&s), 0); /* a new subscriber asks for one */
    layer_gen_t g = {.layer = 0, .seq = 100, .ts = 5000, .picture_id = 7, .tl0 = 3};
    sink_t sink = {0};
    cq_vsel_packet_t pkts[2];
    next_frame(&g, pkts);
    cq_vsel_out_t out;
    assert_int_equal(cq_vsel_on_packet(&s, &pkts[0], 0, &out), CQ_VSEL_DROP_WAITING);
    g.next_key = true;
    assert_int_equal(feed(&s, &g, 33000, &sink), 2);
    assert_int_equal(cq_vsel_wanted_layer(&s), -1);
    /* The first run keeps the publisher's numbers. */
    assert_int_equal(sink.last.seq, sink.last_in.seq);
    assert_int_equal(sink.last.ts, sink.last_in.ts);
    assert_int_equal(sink.last.picture_id, sink.last_in.picture_id);
    assert_int_equal(sink.last.tl0picidx, sink.last_in.tl0picidx);
    for (int f = 0; f < 20; f++)
        assert_int_equal(feed(&s, &g, 66000 + (uint64_t)f * 33000, &sink), 2);
}

/*
 * Up from layer 0 to layer 1 while both wrap: layer 0's sequence numbers cross 65535 and
 * its timestamps 2^32 during the wait, layer 1 starts just below both wraps. The old layer
 * flows until layer 1's keyframe; from then on only layer 1, with every number continuing.
 */
static void test_vselect_switch_up_at_keyframe_across_wraps(void **state) {
    (void)state;
    cq_vsel_t s;
    cq_vsel_init(&s);
    layer_gen_t g0 = {
        .layer = 0, .seq = 65530, .ts = 0xffffc000u, .picture_id = 32760, .next_key = true};
    layer_gen_t g1 = {.layer = 1, .seq = 65523, .ts = 0xffffb000u, .picture_id = 32762, .tl0 = 250};
    sink_t sink = {0};
    uint64_t t = 0;
    assert_int_equal(feed(&s, &g0, t, &sink), 2);
    cq_vsel_set_target(&s, 1, CQ_VSEL_MAX_TEMPORAL);
    assert_int_equal(cq_vsel_wanted_layer(&s), 1);
    for (int f = 0; f < 6; f++) {
        t += 33000;
        assert_int_equal(feed(&s, &g1, t, &sink), 0); /* no keyframe yet: dropped */
        assert_int_equal(feed(&s, &g0, t, &sink), 2); /* the old layer goes on */
    }
    assert_true(g0.seq < 100 && g0.ts < 0x10000u);      /* layer 0 wrapped both */
    assert_true(g1.seq > 65000 && g1.ts > 0xffff0000u); /* layer 1 about to */
    uint32_t last_ts = sink.last.ts;
    uint8_t last_tl0 = sink.last.tl0picidx;
    t += 33000;
    g1.next_key = true;
    assert_int_equal(feed(&s, &g1, t, &sink), 2);
    assert_int_equal(s.spatial, 1);
    assert_int_equal(s.switches, 2);
    assert_int_equal(cq_vsel_wanted_layer(&s), -1);
    /* 33 ms passed since the last frame sent: 2970 ticks later. */
    assert_int_equal(sink.last.ts - last_ts, 2970);
    assert_int_equal(sink.last.tl0picidx, (uint8_t)(last_tl0 + 1));
    for (int f = 0; f < 10; f++) { /* layer 1 wraps seq, ts and PictureID now */
        t += 33000;
        assert_int_equal(feed(&s, &g0, t, &sink), 0);
        assert_int_equal(feed(&s, &g1, t, &sink), 2);
    }
    assert_true(g1.seq < 100 && g1.ts < 0x10000u && g1.picture_id < 100);
}

/* Down a layer works the same way (the layer left goes on at its base frame rate until
 * the lower one's keyframe), and a keyframe of an intermediate layer is taken on the way
 * while one above the target never is. */
static void test_vselect_switch_down_and_intermediate(void **state) {
    (void)state;
    cq_vsel_t s;
    cq_vsel_init(&s);
    cq_vsel_set_target(&s, 1, CQ_VSEL_MAX_TEMPORAL);
    layer_gen_t g[3] = {{.layer = 0, .seq = 10}, {.layer = 1, .seq = 2000}, {.layer = 2}};
    sink_t sink = {0};
    g[2].next_key = true;
    assert_int_equal(feed(&s, &g[2], 0, &sink), 0); /* above the target: never */
    g[0].next_key = true;
    assert_int_equal(feed(&s, &g[0], 1000, &sink), 2); /* on the way to 1 */
    assert_int_equal(s.spatial, 0);
    assert_int_equal(cq_vsel_wanted_layer(&s), 1);
    g[1].next_key = true;
    assert_int_equal(feed(&s, &g[1], 34000, &sink), 2);
    assert_int_equal(s.spatial, 1);
    cq_vsel_set_target(&s, 0, CQ_VSEL_MAX_TEMPORAL);
    assert_int_equal(cq_vsel_wanted_layer(&s), 0);
    /* Until layer 0's keyframe, layer 1's base frames only: its TID 2, 1 and 2 frames are
     * dropped (a selector that forwarded them sent what the receiver's estimate no longer
     * carried), its next TL0 frame goes. */
    assert_int_equal(feed(&s, &g[1], 67000, &sink), 0);
    assert_int_equal(feed(&s, &g[1], 75000, &sink), 0);
    assert_int_equal(feed(&s, &g[1], 83000, &sink), 0);
    assert_int_equal(feed(&s, &g[1], 91000, &sink), 2);
    assert_int_equal(s.temporal, 0);
    g[2].next_key = true;
    assert_int_equal(feed(&s, &g[2], 67000, &sink), 0);
    g[0].next_key = true;
    assert_int_equal(feed(&s, &g[0], 100000, &sink), 2);
    assert_int_equal(feed(&s, &g[1], 100000, &sink), 0);
    assert_int_equal(s.spatial, 0);
    /* From 2 down to 1: a keyframe of layer 0 would overshoot and is not taken. */
    cq_vsel_set_target(&s, 2, CQ_VSEL_MAX_TEMPORAL);
    g[2].next_key = true;
    assert_int_equal(feed(&s, &g[2], 133000, &sink), 2);
    cq_vsel_set_target(&s, 1, CQ_VSEL_MAX_TEMPORAL);
    g[0].next_key = true;
    assert_int_equal(feed(&s, &g[0], 166000, &sink), 0);
    assert_int_equal(s.spatial, 2);
}

/* Temporal layer 1 of 0-2-1-2: every TID 2 frame goes and the numbers close up over it;
 * back up to TID 2 only at a layer-sync frame; down again at the next frame start. */
static void test_vselect_temporal_layers(void **state) {
    (void)state;
    cq_vsel_t s;
    cq_vsel_init(&s);
    cq_vsel_set_target(&s, 0, 1);
    layer_gen_t g = {.layer = 0, .seq = 65000, .picture_id = 32700, .next_key = true};
    sink_t sink = {0};
    uint64_t t = 0;
    int sent = 0;
    for (int f = 0; f < 40; f++, t += 33000)
        sent += feed(&s, &g, t, &sink); /* feed() checks the numbers stay contiguous */
    assert_int_equal(sent, 40);         /* half the frames, two packets each */
    cq_vsel_set_target(&s, 0, 2);
    /* The pattern is at frame 40 % 4 == 0: a TL0 frame, then TID 2 with sync. */
    assert_int_equal(feed(&s, &g, t, &sink), 2);
    t += 33000;
    assert_int_equal(feed(&s, &g, t, &sink), 2); /* the sync frame lets TID 2 in */
    assert_int_equal(s.temporal, 2);
    t += 33000;
    assert_int_equal(feed(&s, &g, t, &sink), 2);
    cq_vsel_set_target(&s, 0, 0);
    t += 33000;
    assert_int_equal(feed(&s, &g, t, &sink), 0); /* TID 2: down at once */
    t += 33000;
    assert_int_equal(feed(&s, &g, t, &sink), 2); /* TID 0 */
    t += 33000;
    assert_int_equal(feed(&s, &g, t, &sink), 0); /* TID 2 */
    t += 33000;
    assert_int_equal(feed(&s, &g, t, &sink), 0); /* TID 1 */
}

/* An upswitch of temporal layer without a sync frame must wait: frames that are not
 * layer-sync may reference TID 2 frames the subscriber never got. */
static void test_vselect_temporal_up_needs_sync(void **state) {
    (void)state;
    cq_vsel_t s;
    cq_vsel_init(&s);
    cq_vsel_set_target(&s, 0, 0);
    layer_gen_t g = {.layer = 0, .next_key = true};
    sink_t sink = {0};
    for (int f = 0; f < 3; f++)
        feed(&s, &g, (uint64_t)f * 33000, &sink); /* frames 0 (key), 1 (TID2), 2 (TID1) */
    cq_vsel_set_target(&s, 0, 2);
    /* Frame 3 is TID 2 without sync (frame % 4 == 3): still dropped. */
    assert_int_equal(feed(&s, &g, 99000, &sink), 0);
    assert_int_equal(s.temporal, 0);
    /* A keyframe references nothing: every wanted layer may follow it. */
    g.next_key = true;
    assert_int_equal(feed(&s, &g, 132000, &sink), 2);
    assert_int_equal(s.temporal, 2);
}

/* A loss stays a hole the receiver can NACK; a repair fills it with the number it had;
 * a packet of the old layer or from before the switch arriving late is refused. */
static void test_vselect_losses_and_late_packets(void **state) {
    (void)state;
    cq_vsel_t s;
    cq_vsel_init(&s);
    layer_gen_t g0 = {.layer = 0, .seq = 500, .next_key = true};
    layer_gen_t g1 = {.layer = 1, .seq = 900};
    cq_vsel_packet_t a[2], b[2], c[2];
    cq_vsel_out_t out, first;
    next_frame(&g0, a);
    next_frame(&g0, b);
    next_frame(&g0, c);
    assert_int_equal(cq_vsel_on_packet(&s, &a[0], 0, &first), CQ_VSEL_FORWARD);
    assert_int_equal(cq_vsel_on_packet(&s, &a[1], 0, &out), CQ_VSEL_FORWARD);
    /* b[0] lost on the way; b[1] and c arrive. */
    assert_int_equal(cq_vsel_on_packet(&s, &b[1], 1, &out), CQ_VSEL_FORWARD);
    assert_int_equal(out.seq, first.seq + 3);
    assert_int_equal(cq_vsel_on_packet(&s, &b[0], 2, &out), CQ_VSEL_FORWARD); /* repaired */
    assert_int_equal(out.seq, first.seq + 2);
    cq_vsel_set_target(&s, 1, 3);
    layer_gen_t early = g1;
    cq_vsel_packet_t e[2], k[2];
    next_frame(&early, e); /* a layer 1 frame from before its keyframe */
    g1 = early;
    g1.next_key = true;
    next_frame(&g1, k);
    assert_int_equal(cq_vsel_on_packet(&s, &k[0], 3, &out), CQ_VSEL_FORWARD);
    assert_int_equal(out.seq, first.seq + 4);
    assert_int_equal(cq_vsel_on_packet(&s, &c[0], 4, &out), CQ_VSEL_DROP_LAYER);
    assert_int_equal(cq_vsel_on_packet(&s, &e[1], 4, &out), CQ_VSEL_DROP_LATE);
}

/* Pausing stops video at once; resuming waits for a keyframe and continues the numbers. */
static void test_vselect_pause_and_resume(void **state) {
    (void)state;
    cq_vsel_t s;
    cq_vsel_init(&s);
    layer_gen_t g = {.layer = 0, .seq = 1, .next_key = true};
    sink_t sink = {0};
    assert_int_equal(feed(&s, &g, 0, &sink), 2);
    cq_vsel_set_target(&s, -1, 3);
    assert_int_equal(cq_vsel_wanted_layer(&s), -1); /* paused: no keyframe wanted */
    cq_vsel_packet_t pkts[2];
    cq_vsel_out_t out;
    next_frame(&g, pkts);
    assert_int_equal(cq_vsel_on_packet(&s, &pkts[0], 33000, &out), CQ_VSEL_DROP_PAUSED);
    cq_vsel_set_target(&s, 0, 3);
    assert_int_equal(cq_vsel_wanted_layer(&s), 0);
    assert_int_equal(feed(&s, &g, 66000, &sink), 0);
    g.next_key = true;
    assert_int_equal(feed(&s, &g, 99000, &sink), 2); /* numbers continue: feed() checks */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vselect_waits_for_a_keyframe),
        cmocka_unit_test(test_vselect_switch_up_at_keyframe_across_wraps),
        cmocka_unit_test(test_vselect_switch_down_and_intermediate),
        cmocka_unit_test(test_vselect_temporal_layers),
        cmocka_unit_test(test_vselect_temporal_up_needs_sync),
        cmocka_unit_test(test_vselect_losses_and_late_packets),
        cmocka_unit_test(test_vselect_pause_and_resume),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
