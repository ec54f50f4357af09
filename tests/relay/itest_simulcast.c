/*
 * Simulcast layer selection through a real relay (one worker thread) on loopback. In each
 * test a publisher A sends two VP8 layers (each with its RTX SSRC) into a fresh session,
 * and a subscriber B says what it wants. Every packet B gets is checked against the tag in
 * its payload (which layer and which publisher packet it was) and against the stream B
 * has seen so far: one SSRC, sequence numbers and PictureIDs +1, timestamps rising,
 * TL0PICIDX following, keyframes wherever the layer changes. Every wait is bounded.
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
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "support/media.h"
#include "support/peer.h"

#define A       0
#define B       1
#define ANY     0u /* count_plis: a PLI for any SSRC */
#define LOG_MAX 128

static uint32_t audio_ssrc(int i) {
    return 0xa0000000u + (uint32_t)i;
}
static uint32_t video_ssrc(int i, int layer) {
    return 0xb0000000u + (uint32_t)(i * 16 + layer);
}
static uint32_t rtx_ssrc(int i, int layer) {
    return video_ssrc(i, 8 + layer);
}

/* Participant i; a publisher sends two video layers, each with an RTX SSRC. */
static void make_params(cq_relay_participant_params_t *p, int i, bool publisher) {
    memset(p, 0, sizeof *p);
    p->id = (uint32_t)(i + 1);
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "sim%d", i);
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "password-of-simulcast-peer-%d", i);
    p->suite = CQ_SRTP_AEAD_AES_128_GCM;
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++) {
        p->key_in[k] = (uint8_t)(i * 31 + k);
        p->key_out[k] = (uint8_t)(i * 17 + k + 100);
    }
    p->audio_ssrc = audio_ssrc(i);
    if (publisher) {
        p->video_layers = 2;
        for (int l = 0; l < 2; l++) {
            p->video_ssrc[l] = video_ssrc(i, l);
            p->video_rtx_ssrc[l] = rtx_ssrc(i, l);
        }
    }
    p->subscribe_all = true;
}

/* One test's session: A (participant `base`) publishes, B (`base + 1`) subscribes. */
typedef struct {
    struct cq_relay *relay;
    uint32_t session;
    int base; /* A's index, which is also the sender byte of A's tags */
    bool open;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    cq_relay_consumer_ssrcs_t seen; /* how B knows A */
    /* What A sends next on each layer. The layers start far apart, so a relay that does
     * not renumber at a switch is caught, and near their wraps, so B's stream crosses
     * them (layer 0: sequence, PictureID and timestamp; layer 1: TL0PICIDX). */
    uint16_t seq[2], picture_id[2], audio_seq;
    uint32_t ts[2];
    uint8_t tl0[2];
} pair_t;

static int setup(void **state) {
    static pair_t pr;
    memset(&pr, 0, sizeof pr);
    cq_relay_config_t cfg = {.host = "127.0.0.1", .workers = 1};
    assert_int_equal(cq_relay_create(&pr.relay, &cfg), 0);
    *state = &pr;
    return 0;
}

static int teardown(void **state) {
    pair_t *pr = *state;
    /* A test that failed half-way leaves its peers open. */
    if (pr->open)
        for (int i = 0; i < 2; i++)
            cq_test_peer_close(&pr->peer[i]);
    cq_relay_destroy(pr->relay);
    return 0;
}

static void pair_open(pair_t *pr, uint32_t session, int base) {
    uint16_t port;
    pr->session = session;
    pr->base = base;
    assert_int_equal(cq_relay_session_create(pr->relay, session, &port), 0);
    for (int i = 0; i < 2; i++) {
        make_params(&pr->p[i], base + i, i == A);
        assert_int_equal(cq_test_peer_join(&pr->peer[i], pr->relay, session, port, &pr->p[i]), 0);
    }
    pr->open = true;
    assert_int_equal(
        cq_relay_consumer_ssrcs(pr->relay, session, pr->p[B].id, pr->p[A].id, &pr->seen), 0);
    pr->seq[0] = 65520;
    pr->seq[1] = 20000;
    pr->picture_id[0] = 32750;
    pr->picture_id[1] = 1000;
    pr->ts[0] = 0xfffe0000u;
    pr->ts[1] = 5000000u;
    pr->tl0[0] = 10;
    pr->tl0[1] = 250;
}

static void pair_close(pair_t *pr) {
    assert_int_equal(cq_relay_session_close(pr->relay, pr->session), 0);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&pr->peer[i]);
    pr->open = false;
}

static void set_prefs(pair_t *pr, int max_spatial, unsigned max_temporal) {
    cq_relay_layer_prefs_t prefs = {max_spatial, max_temporal};
    assert_int_equal(
        cq_relay_set_layer_prefs(pr->relay, pr->session, pr->p[B].id, pr->p[A].id, &prefs), 0);
}

static cq_relay_consumer_stats_t consumer_stats(pair_t *pr) {
    cq_relay_consumer_stats_t cs;
    assert_int_equal(cq_relay_consumer_stats(pr->relay, pr->session, pr->p[B].id, pr->p[A].id, &cs),
                     0);
    return cs;
}

/* The next frame of one layer as A would send it (one packet, into pkt): its length.
 * TL0PICIDX counts the layer's TID 0 frames. */
static size_t next_frame(pair_t *pr, int layer, bool key, uint8_t tid, bool sync, uint8_t *pkt) {
    if (tid == 0)
        pr->tl0[layer]++;
    cq_test_vp8_frame_t fr = {.seq = pr->seq[layer]++,
                              .ts = pr->ts[layer],
                              .picture_id = pr->picture_id[layer],
                              .tl0picidx = pr->tl0[layer],
                              .tid = tid,
                              .layer_sync = sync,
                              .keyframe = key};
    pr->ts[layer] += 3000;
    pr->picture_id[layer] = (uint16_t)((pr->picture_id[layer] + 1) & 0x7fff);
    size_t len = cq_test_video_packet(pkt, pr->base, video_ssrc(pr->base, layer), &fr);
    assert_true(len > 0);
    return len;
}

/* A sends the next frame of one layer. */
static void send_frame(pair_t *pr, int layer, bool key, uint8_t tid, bool sync) {
    uint8_t pkt[1200];
    size_t len = next_frame(pr, layer, key, tid, sync, pkt);
    assert_int_equal(cq_test_peer_send_rtp(&pr->peer[A], pkt, len), 0);
}

/* A frame on both layers, layer 0 first, as a simulcast encoder pair produces them. */
static void send_both(pair_t *pr, bool key0, bool key1) {
    send_frame(pr, 0, key0, 0, false);
    send_frame(pr, 1, key1, 0, false);
}

static void send_audio(pair_t *pr, int n) {
    uint8_t pkt[200];
    for (int k = 0; k < n; k++) {
        uint16_t seq = pr->audio_seq++;
        size_t len = cq_test_audio_packet(pkt, pr->base, audio_ssrc(pr->base), seq, seq * 960u);
        assert_int_equal(cq_test_peer_send_rtp(&pr->peer[A], pkt, len), 0);
    }
}

/* One video packet as B got it: the numbers B saw, and what its tag says it was. */
typedef struct {
    uint16_t seq, picture_id, tag_seq;
    uint32_t ts;
    uint8_t tl0, tid;
    int layer;
    bool keyframe, sync;
} got_t;

typedef struct {
    int video, audio, layer[2], tid[4];
    int broken;  /* video that does not continue B's stream */
    int foreign; /* RTP that is neither A's audio nor A's video under B's SSRCs */
    int n;       /* entries in log */
    got_t log[LOG_MAX];
    got_t last;
} seen_t;

/* Checks a video packet against the one before it: B's decoder must see one stream. */
static bool continues(const seen_t *s, const got_t *g) {
    if (s->video == 0)
        return g->keyframe; /* nothing decodes before a keyframe */
    const got_t *l = &s->last;
    return g->seq == (uint16_t)(l->seq + 1) && g->picture_id == ((l->picture_id + 1) & 0x7fff) &&
           (int32_t)(g->ts - l->ts) > 0 && g->tl0 == (uint8_t)(l->tl0 + (g->tid == 0)) &&
           (g->layer == l->layer ? (int16_t)(g->tag_seq - l->tag_seq) > 0 : g->keyframe);
}

/* Receives what B gets until quiet_ms pass without a packet (bounded: 1,000 datagrams),
 * adding to *s. RTCP is skipped. */
static void receive(pair_t *pr, int quiet_ms, seen_t *s) {
    for (int k = 0; k < 1000; k++) {
        uint8_t buf[1600];
        bool rtcp;
        int n = cq_test_peer_recv(&pr->peer[B], buf, sizeof buf, &rtcp, quiet_ms);
        if (n == CQ_EAGAIN)
            return;
        assert_true(n > 0);
        cq_rtp_view_t v;
        cq_test_media_info_t m;
        if (rtcp)
            continue;
        if (cq_rtp_parse(buf, (size_t)n, &v) < 0 || cq_test_media_read(&v, &m) != 0 ||
            m.sender != pr->base || !m.body_intact) {
            s->foreign++;
            continue;
        }
        if (!m.video) {
            /* Audio keeps the publisher's numbers under B's SSRC for A's audio. */
            if (v.ssrc == pr->seen.audio && m.ssrc == audio_ssrc(pr->base) && v.seq == m.seq)
                s->audio++;
            else
                s->foreign++;
            continue;
        }
        int layer = m.ssrc == video_ssrc(pr->base, 0)   ? 0
                    : m.ssrc == video_ssrc(pr->base, 1) ? 1
                                                        : -1;
        if (v.ssrc != pr->seen.video || layer < 0) {
            s->foreign++;
            continue;
        }
        got_t g = {.seq = v.seq,
                   .picture_id = m.desc.picture_id,
                   .tag_seq = m.seq,
                   .ts = v.timestamp,
                   .tl0 = m.desc.tl0picidx,
                   .tid = (uint8_t)(m.desc.tid & 3),
                   .layer = layer,
                   .keyframe = m.keyframe,
                   .sync = m.desc.y};
        s->broken += !continues(s, &g);
        s->video++;
        s->layer[layer]++;
        s->tid[g.tid]++;
        s->last = g;
        if (s->n < LOG_MAX)
            s->log[s->n++] = g;
    }
}

typedef struct {
    uint32_t media_ssrc; /* ANY: every PLI counts */
    int count;
} pli_count_t;

static bool visit_pli(const cq_rtcp_header_t *h, void *ctx) {
    pli_count_t *c = ctx;
    cq_rtcp_fb_t pli;
    if (cq_rtcp_pli_parse(h, &pli) == 0 &&
        (c->media_ssrc == ANY || pli.media_ssrc == c->media_ssrc))
        c->count++;
    return false; /* keep counting until quiet */
}

/* Counts PLIs for media_ssrc that reach p within a bounded quiet time. */
static int count_plis(cq_test_peer_t *p, uint32_t media_ssrc, int quiet_ms) {
    pli_count_t c = {media_ssrc, 0};
    cq_test_peer_scan_rtcp(p, quiet_ms, visit_pli, &c);
    return c.count;
}

static uint64_t now_ms(void) {
    return uv_hrtime() / 1000000u;
}

/*
 * B capped to layer 0 gets only layer 0, and the relay does not ask A for layer 1's
 * keyframes nobody wants. Lifting the cap asks A for one, again every second while none
 * comes, and B stays on layer 0 meanwhile; at layer 1's keyframe B moves, seeing one
 * stream throughout, and the requests stop.
 */
static void test_simulcast_capped_subscriber_switches_up_at_keyframe(void **state) {
    pair_t *pr = *state;
    pair_open(pr, 301, 10);
    set_prefs(pr, 0, 3);
    send_both(pr, true, true);
    for (int k = 1; k < 20; k++)
        send_both(pr, false, false);
    seen_t s = {0};
    receive(pr, 300, &s);
    assert_int_equal(s.video, 20);
    assert_int_equal(s.layer[0], 20);
    assert_int_equal(s.broken, 0);
    assert_int_equal(s.foreign, 0);
    assert_int_equal(count_plis(&pr->peer[A], ANY, 200), 0);

    /* Frames paced over 1.5 s: the first request, then its repeats two round trips and
     * 100 ms apart (here half a second: no RR, so the 200 ms the relay assumes), never
     * closer than 300 ms. Once a second, as before, a PLI lost on a weak link held
     * pictures frozen past 2 s. */
    uint64_t t0 = now_ms();
    set_prefs(pr, 1, 3);
    int plis = 0;
    for (int k = 0; k < 6; k++) {
        send_both(pr, false, false);
        plis += count_plis(&pr->peer[A], video_ssrc(pr->base, 1), 250);
    }
    uint64_t elapsed = now_ms() - t0;
    assert_true(plis >= 3);
    assert_true((uint64_t)plis <= 1 + elapsed / 300);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 26);
    assert_int_equal(s.layer[1], 0); /* no keyframe of layer 1 yet: still layer 0 */
    cq_relay_consumer_stats_t cs = consumer_stats(pr);
    assert_int_equal(cs.spatial, 0);
    assert_int_equal(cs.spatial_target, 1);

    uint16_t key_seq = pr->seq[1];
    send_both(pr, false, true);
    for (int k = 0; k < 4; k++)
        send_both(pr, false, false);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 32);
    assert_int_equal(s.layer[0], 27); /* the last beside layer 1's keyframe */
    assert_int_equal(s.layer[1], 5);
    assert_int_equal(s.log[26].layer, 0);
    assert_int_equal(s.log[27].layer, 1);
    assert_true(s.log[27].keyframe);
    assert_int_equal(s.log[27].tag_seq, key_seq);
    assert_int_equal(s.broken, 0);

    /* Whatever was asked for before the keyframe is gone; over another 1.25 s with both
     * layers arriving, nobody waits, so nothing is asked for. */
    count_plis(&pr->peer[A], ANY, 100);
    plis = 0;
    for (int k = 0; k < 5; k++) {
        send_both(pr, false, false);
        plis += count_plis(&pr->peer[A], ANY, 250);
    }
    assert_int_equal(plis, 0);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 37);
    assert_int_equal(s.layer[1], 10);
    assert_int_equal(s.broken, 0);
    assert_int_equal(s.foreign, 0);
    cs = consumer_stats(pr);
    assert_int_equal(cs.spatial, 1);
    assert_int_equal(cs.spatial_target, 1);
    assert_int_equal(cs.switches, 2); /* the start on layer 0, then layer 1 */
    assert_int_equal(cs.packets, 37);
    assert_int_equal(cs.drops_layer, 26 + 9);
    pair_close(pr);
}

/* The TID of frame k in the 0-2-1-2 pattern, and whether it is a layer-sync frame (the
 * first TID 2 and TID 1 frames after each TID 0 one reference only TL0). */
static uint8_t pattern_tid(int k) {
    static const uint8_t tids[4] = {0, 2, 1, 2};
    return tids[k % 4];
}
static bool pattern_sync(int k) {
    return k % 4 == 1 || k % 4 == 2;
}

/* Capped at TL0, B gets every fourth frame, numbered without holes; sync frames above
 * the cap are dropped too. Lifted to TL2, B climbs only at sync frames: a TID 2 frame
 * that is not one is dropped while B is at TL1. */
static void test_simulcast_temporal_layers_dropped_by_tid(void **state) {
    pair_t *pr = *state;
    pair_open(pr, 302, 20);
    set_prefs(pr, 0, 0);
    uint16_t first = pr->seq[0];
    for (int k = 0; k < 40; k++)
        send_frame(pr, 0, k == 0, pattern_tid(k), pattern_sync(k));
    seen_t s = {0};
    receive(pr, 300, &s);
    assert_int_equal(s.video, 10);
    assert_int_equal(s.tid[0], 10);
    assert_int_equal(s.broken, 0);
    assert_int_equal(s.foreign, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(s.log[i].tag_seq, (uint16_t)(first + 4 * i));

    for (int k = 40; k < 42; k++) /* TID 0, then TID 2 with sync: still capped */
        send_frame(pr, 0, false, pattern_tid(k), pattern_sync(k));
    /* The preferences travel apart from the packets: wait until the relay dropped 41. */
    for (int k = 0; k < 100 && consumer_stats(pr).drops_temporal < 31; k++)
        uv_sleep(10);
    set_prefs(pr, 0, 2);
    for (int k = 42; k < 50; k++)
        send_frame(pr, 0, false, pattern_tid(k), pattern_sync(k));
    receive(pr, 300, &s);
    /* 40; then 42 (TID 1, sync), 44, 45 (TID 2, sync), 46, 47, 48, 49; not 41 or 43. */
    static const int frames[8] = {40, 42, 44, 45, 46, 47, 48, 49};
    assert_int_equal(s.video, 18);
    for (int i = 0; i < 8; i++)
        assert_int_equal(s.log[10 + i].tag_seq, (uint16_t)(first + frames[i]));
    assert_int_equal(s.tid[2], 3);
    assert_true(s.log[13].tid == 2 && s.log[13].sync); /* the first TID 2 B gets */
    assert_int_equal(s.broken, 0);
    assert_int_equal(s.foreign, 0);
    cq_relay_consumer_stats_t cs = consumer_stats(pr);
    assert_int_equal(cs.drops_temporal, 30 + 2);
    assert_int_equal(cs.temporal, 2);
    assert_int_equal(cs.packets, 18);
    pair_close(pr);
}

/* After B moved from layer 0 to layer 1, NACKs for one packet of each run are answered
 * from the right layer's cache: RTX on B's RTX SSRC, the OSN B knows, the publisher's
 * packet inside, its descriptor and timestamp rewritten as B first saw them. */
static void test_simulcast_nack_after_switch_gets_rewritten_rtx(void **state) {
    pair_t *pr = *state;
    pair_open(pr, 303, 30);
    send_both(pr, true, true); /* B starts on layer 0 and moves to layer 1 at once */
    for (int k = 0; k < 6; k++)
        send_both(pr, false, false);
    seen_t s = {0};
    receive(pr, 300, &s);
    assert_int_equal(s.video, 8);
    assert_int_equal(s.layer[0], 1);
    assert_int_equal(s.layer[1], 7);
    assert_int_equal(s.broken, 0);

    /* B asks for its first packet (layer 0) and its fifth (layer 1). */
    const got_t *want[2] = {&s.log[0], &s.log[4]};
    assert_int_equal(want[1]->layer, 1);
    cq_rtcp_nack_pair_t pair = {want[0]->seq, 1u << 3};
    uint8_t rtcp[64];
    int n = cq_rtcp_nack_write(0x4242, pr->seen.video, &pair, 1, rtcp, sizeof rtcp);
    assert_true(n > 0);
    assert_int_equal(cq_test_peer_send_rtcp(&pr->peer[B], rtcp, (size_t)n), 0);

    int rtx = 0;
    uint16_t rtx_seq[2] = {0, 0};
    for (int k = 0; k < 100; k++) {
        uint8_t buf[1600];
        bool is_rtcp;
        int len = cq_test_peer_recv(&pr->peer[B], buf, sizeof buf, &is_rtcp, 300);
        if (len == CQ_EAGAIN)
            break;
        cq_rtp_view_t v;
        if (len <= 0 || is_rtcp)
            continue;
        assert_true(cq_rtp_parse(buf, (size_t)len, &v) > 0);
        assert_int_equal(v.ssrc, pr->seen.video_rtx);
        assert_int_equal(v.payload_type, 97);
        assert_true(rtx < 2);
        const got_t *g = want[rtx];
        rtx_seq[rtx++] = v.seq;
        assert_int_equal(cq_load_be16(v.payload), g->seq); /* OSN */
        assert_int_equal(v.timestamp, g->ts);
        /* Unwrapped, the payload is the publisher's packet of that layer. */
        cq_rtp_view_t orig = v;
        orig.payload += 2;
        orig.payload_len -= 2;
        orig.payload_type = 96;
        cq_test_media_info_t m;
        assert_int_equal(cq_test_media_read(&orig, &m), 0);
        assert_true(m.body_intact);
        assert_int_equal(m.sender, pr->base);
        assert_int_equal(m.ssrc, video_ssrc(pr->base, g->layer));
        assert_int_equal(m.seq, g->tag_seq);
        assert_int_equal(m.desc.picture_id, g->picture_id);
        assert_int_equal(m.desc.tl0picidx, g->tl0);
        assert_int_equal(m.keyframe, g->keyframe);
    }
    assert_int_equal(rtx, 2);
    assert_int_equal(rtx_seq[1], (uint16_t)(rtx_seq[0] + 1)); /* RTX's own sequence */
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(pr->relay, pr->session, pr->p[B].id, &st), 0);
    assert_int_equal(st.nacks_in, 2);
    assert_int_equal(st.rtx_sent, 2);
    pair_close(pr);
}

/* Pausing stops A's video to B without asking A for anything, while A's audio flows on;
 * resuming asks A for a keyframe, and B's video continues from the number after the last
 * it got. */
static void test_simulcast_pause_and_resume(void **state) {
    pair_t *pr = *state;
    pair_open(pr, 304, 40);
    set_prefs(pr, 0, 3);
    for (int k = 0; k < 3; k++)
        send_frame(pr, 0, k == 0, 0, false);
    send_audio(pr, 3);
    seen_t s = {0};
    receive(pr, 300, &s);
    assert_int_equal(s.video, 3);
    assert_int_equal(s.audio, 3);

    set_prefs(pr, -1, 3);
    for (int k = 0; k < 4; k++)
        send_frame(pr, 0, false, 0, false);
    send_audio(pr, 4);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 3);
    assert_int_equal(s.audio, 7);
    assert_int_equal(count_plis(&pr->peer[A], ANY, 100), 0);
    cq_relay_consumer_stats_t cs = consumer_stats(pr);
    assert_int_equal(cs.spatial, -1);
    assert_int_equal(cs.drops_paused, 4);

    /* A frame just before resuming keeps layer 0 arriving, so it is worth asking for.
     * The preferences travel apart from the packet: wait until the relay dropped it. */
    send_frame(pr, 0, false, 0, false);
    for (int k = 0; k < 100 && consumer_stats(pr).drops_paused < 5; k++)
        uv_sleep(10);
    set_prefs(pr, 0, 3);
    assert_true(count_plis(&pr->peer[A], video_ssrc(pr->base, 0), 300) >= 1);
    send_frame(pr, 0, false, 0, false); /* not a keyframe: nothing to start from */
    send_frame(pr, 0, true, 0, false);
    send_frame(pr, 0, false, 0, false);
    send_audio(pr, 2);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 5);
    assert_int_equal(s.audio, 9);
    assert_true(s.log[3].keyframe);
    assert_int_equal(s.log[3].seq, (uint16_t)(s.log[2].seq + 1));
    assert_int_equal(s.broken, 0);
    assert_int_equal(s.foreign, 0);
    cs = consumer_stats(pr);
    assert_int_equal(cs.spatial, 0);
    assert_int_equal(cs.drops_paused, 5);
    assert_int_equal(cs.drops_waiting, 1);
    assert_int_equal(cs.switches, 2);
    pair_close(pr);
}

typedef struct {
    uint32_t ssrc;
    uint64_t ntp;
} sr_wanted_t;

static bool visit_sr(const cq_rtcp_header_t *h, void *ctx) {
    const sr_wanted_t *w = ctx;
    cq_rtcp_sr_t sr;
    return cq_rtcp_sr_parse(h, &sr) == 0 && sr.ssrc == w->ssrc && sr.info.ntp == w->ntp;
}

/*
 * B's round trip from its receiver report on the SR the relay passed it: the relay counts
 * from when it sent the SR and takes off the DLSR B held it for. Measured here around the
 * exchange, so the bounds hold however slow the machine, and a relay that ignored the
 * DLSR would usually land above the upper one.
 */
static void test_simulcast_rtt_from_receiver_reports(void **state) {
    pair_t *pr = *state;
    pair_open(pr, 305, 50);
    send_audio(pr, 3);
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(pr->relay, pr->session, pr->p[B].id, &st), 0);
    assert_int_equal(st.rtt_us, 0);

    cq_rtcp_sender_info_t info = {0xe1a2b3c4d5e6f708ull, 1234, 3, 201};
    uint8_t rtcp[128];
    int n = cq_rtcp_sr_write(audio_ssrc(pr->base), &info, NULL, 0, rtcp, sizeof rtcp);
    assert_true(n > 0);
    uint64_t t_sent = uv_hrtime() / 1000u;
    assert_int_equal(cq_test_peer_send_rtcp(&pr->peer[A], rtcp, (size_t)n), 0);
    sr_wanted_t w = {pr->seen.audio, info.ntp};
    assert_true(cq_test_peer_scan_rtcp(&pr->peer[B], 1000, visit_sr, &w));
    uint64_t t_got = uv_hrtime() / 1000u;
    uv_sleep(100);
    cq_rtcp_report_t block = {.ssrc = pr->seen.audio,
                              .highest_seq = 2,
                              .lsr = cq_rtcp_ntp_short(info.ntp),
                              .dlsr = cq_rtcp_dlsr_from_us(50000)};
    n = cq_rtcp_rr_write(audio_ssrc(pr->base + 1), &block, 1, rtcp, sizeof rtcp);
    assert_true(n > 0);
    uint64_t t_report = uv_hrtime() / 1000u;
    assert_int_equal(cq_test_peer_send_rtcp(&pr->peer[B], rtcp, (size_t)n), 0);
    for (int k = 0; k < 200 && st.rtt_us == 0; k++) {
        uv_sleep(10);
        assert_int_equal(cq_relay_participant_stats(pr->relay, pr->session, pr->p[B].id, &st), 0);
    }
    uint64_t t_done = uv_hrtime() / 1000u;
    /* The relay sent the SR between t_sent and t_got and read the report between
     * t_report and t_done; 10 ms of slack covers reads batched under one clock reading. */
    uint64_t low = t_report - t_got - 50000 - 10000;
    uint64_t high = t_done - t_sent - 50000 + 10000;
    assert_true(st.rtt_us >= 10000 && st.rtt_us < 2000000);
    assert_true(st.rtt_us >= low);
    assert_true(st.rtt_us <= high);
    pair_close(pr);
}

/* A layer that stops arriving (A's encoder dropped it for its uplink) moves B down: no
 * sooner than a second after its last packet the relay asks A for layer 0's keyframe,
 * B gets nothing of layer 0 until it comes, then layer 0 continuing B's stream. */
static void test_simulcast_stopped_layer_moves_subscriber_down(void **state) {
    pair_t *pr = *state;
    pair_open(pr, 306, 60);
    send_both(pr, true, true);
    send_both(pr, false, false);
    uint64_t t_stop = now_ms(); /* layer 1's last packet */
    seen_t s = {0};
    receive(pr, 300, &s);
    assert_int_equal(s.video, 3);
    assert_int_equal(s.last.layer, 1);
    assert_int_equal(count_plis(&pr->peer[A], ANY, 50), 0);

    /* Only layer 0 from now on, a frame every ~30 ms, until the relay asks (bounded). */
    int plis = 0;
    for (int k = 0; k < 150 && plis == 0 && now_ms() - t_stop < 4000; k++) {
        send_frame(pr, 0, false, 0, false);
        plis = count_plis(&pr->peer[A], video_ssrc(pr->base, 0), 30);
    }
    uint64_t waited = now_ms() - t_stop;
    assert_int_equal(plis, 1);
    assert_true(waited >= 950);
    receive(pr, 100, &s);
    assert_int_equal(s.video, 3); /* layer 0's interframes cannot start B on it */
    cq_relay_consumer_stats_t cs = consumer_stats(pr);
    assert_int_equal(cs.spatial, 1);
    assert_int_equal(cs.spatial_target, 0);

    send_frame(pr, 0, true, 0, false);
    send_frame(pr, 0, false, 0, false);
    send_frame(pr, 0, false, 0, false);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 6);
    assert_int_equal(s.layer[0], 4);
    assert_int_equal(s.log[3].layer, 0);
    assert_true(s.log[3].keyframe);
    assert_int_equal(s.broken, 0);
    assert_int_equal(s.foreign, 0);
    cs = consumer_stats(pr);
    assert_int_equal(cs.spatial, 0);
    assert_int_equal(cs.spatial_target, 0);
    assert_int_equal(cs.switches, 3); /* start on 0, up to 1, down to 0 */
    pair_close(pr);
}

/*
 * Layer 1's keyframe reaches the relay after the three frames behind it (its start was
 * lost on A's uplink and repaired a round trip later). B, waiting to move up, moves at the
 * keyframe and gets those three right behind it, from the relay's cache: one stream, no
 * hole B would ask for in vain (the relay never sent it those packets) while its picture
 * waited for the next keyframe.
 */
static void test_simulcast_late_keyframe_followed_by_what_came_before_it(void **state) {
    pair_t *pr = *state;
    pair_open(pr, 307, 70);
    set_prefs(pr, 0, 3);
    send_both(pr, true, true);
    for (int k = 1; k < 8; k++)
        send_both(pr, false, false);
    seen_t s = {0};
    receive(pr, 300, &s);
    assert_int_equal(s.layer[0], 8);
    /* The request for layer 1's keyframe says the relay took the new target. */
    set_prefs(pr, 1, 3);
    assert_true(count_plis(&pr->peer[A], video_ssrc(pr->base, 1), 300) >= 1);

    uint8_t key[1200];
    uint16_t key_seq = pr->seq[1];
    size_t key_len = next_frame(pr, 1, true, 0, false, key);
    send_frame(pr, 0, false, 0, false);
    for (int k = 0; k < 3; k++)
        send_frame(pr, 1, false, 0, false);
    receive(pr, 200, &s);
    assert_int_equal(s.video, 9); /* layer 0's frame; layer 1's wait for their keyframe */
    assert_int_equal(cq_test_peer_send_rtp(&pr->peer[A], key, key_len), 0);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 13);
    assert_int_equal(s.layer[1], 4);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(s.log[9 + k].layer, 1);
        assert_int_equal(s.log[9 + k].tag_seq, (uint16_t)(key_seq + k));
    }
    assert_true(s.log[9].keyframe);
    /* Frames after it carry on from the last replayed. */
    for (int k = 0; k < 3; k++)
        send_both(pr, false, false);
    receive(pr, 300, &s);
    assert_int_equal(s.video, 16);
    assert_int_equal(s.layer[1], 7);
    assert_int_equal(s.broken, 0);
    assert_int_equal(s.foreign, 0);
    cq_relay_consumer_stats_t cs = consumer_stats(pr);
    assert_int_equal(cs.spatial, 1);
    assert_int_equal(cs.replayed, 3);
    pair_close(pr);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simulcast_capped_subscriber_switches_up_at_keyframe,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_temporal_layers_dropped_by_tid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_nack_after_switch_gets_rewritten_rtx, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_pause_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_rtt_from_receiver_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_stopped_layer_moves_subscriber_down, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_simulcast_late_keyframe_followed_by_what_came_before_it, setup, teardown),
    };
    return cmocka_run_group_tests_name("relay/simulcast", tests, NULL, NULL);
}
