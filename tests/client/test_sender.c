/*
 * The sender alone: what its send callback emits for synthetic pictures and sound, and
 * what it does with the relay's RTCP (PLI, NACK, receiver reports). Every packet is copied
 * into a fixed array and read back with the parsers of rtp/ and codec/; time is the
 * explicit capture and now_us values, never the wall clock.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/sender.h"
#include "client/synth.h"
#include "codec/rtx.h"
#include "codec/vp8_codec.h"
#include "codec/opus_codec.h"
#include "codec/red.h"
#include "codec/vp8_desc.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"

#define W          320
#define H          180
#define AUDIO_SSRC 0xa0a0a001u
#define V0         0x10000001u
#define V1         0x10000002u
#define R0         0x20000001u
#define R1         0x20000002u
#define RELAY_SSRC 0x0e1a0001u
#define CNAME      "chasqui-3-7"
#define T0         1000000u /* first capture time, us */
#define PIC_US     66000u   /* a picture every 66 ms: 5940 ticks of 90 kHz */
#define PIC_TICKS  5940u

/* ---- what the sender emitted ------------------------------------------------------- */

#define MAX_PKTS 1024
#define PKT_CAP  1500

typedef struct {
    size_t len;
    bool rtcp, repair; /* repair: through send_repair */
    uint8_t data[PKT_CAP];
} sent_t;

typedef struct {
    sent_t pkt[MAX_PKTS];
    size_t n;
    unsigned keyframe_requests; /* on_keyframe_request calls, and the last one's SSRCs */
    uint32_t request_video, request_rtx;
} capture_t;

static capture_t cap;

static void on_send(void *ctx, const uint8_t *pkt, size_t len, bool rtcp) {
    capture_t *c = ctx;
    assert_true(len > 0 && len <= PKT_CAP);
    assert_true(c->n < MAX_PKTS);
    sent_t *s = &c->pkt[c->n++];
    s->len = len;
    s->rtcp = rtcp;
    s->repair = false;
    memcpy(s->data, pkt, len);
}

static void on_send_repair(void *ctx, const uint8_t *pkt, size_t len) {
    capture_t *c = ctx;
    on_send(ctx, pkt, len, false);
    c->pkt[c->n - 1].repair = true;
}

static cq_rtp_view_t rtp_of(size_t i) {
    cq_rtp_view_t v;
    assert_false(cap.pkt[i].rtcp);
    assert_true(cq_rtp_parse(cap.pkt[i].data, cap.pkt[i].len, &v) > 0);
    return v;
}

/* ---- sources ------------------------------------------------------------------------ */

static uint8_t py[W * H], pu[W * H / 4], pv[W * H / 4];

static cq_i420_t picture(uint32_t k, uint64_t capture_us) {
    assert_int_equal(
        cq_synth_video_paint(k, (uint32_t)(capture_us / 1000), W, H, py, W, pu, W / 2, pv, W / 2),
        0);
    return (cq_i420_t){.width = W, .height = H, .plane = {py, pu, pv}, .stride = {W, W / 2, W / 2}};
}

static void send_pictures(struct cq_sender *s, uint32_t first, uint32_t count) {
    for (uint32_t k = first; k < first + count; k++) {
        uint64_t t = T0 + (uint64_t)k * PIC_US;
        cq_i420_t img = picture(k, t);
        assert_int_equal(cq_sender_video(s, &img, t), 0);
    }
}

static cq_sender_config_t config(unsigned layers, bool audio) {
    cq_sender_config_t c = {.audio_ssrc = audio ? AUDIO_SSRC : 0,
                            .audio_bps = 24000,
                            .audio_frame_ms = 20,
                            .video_layers = layers,
                            .video_ssrc = {V0, V1},
                            .rtx_ssrc = {R0, R1},
                            .width = W,
                            .height = H,
                            .fps = 15,
                            .video_kbps = 600,
                            .cname = CNAME,
                            .send = on_send,
                            .send_repair = on_send_repair,
                            .ctx = &cap};
    if (layers == 1) {
        c.video_ssrc[1] = 0;
        c.rtx_ssrc[1] = 0;
    }
    return c;
}

static void on_keyframe_request(void *ctx, uint32_t video_ssrc, uint32_t rtx_ssrc) {
    capture_t *c = ctx;
    c->keyframe_requests++;
    c->request_video = video_ssrc;
    c->request_rtx = rtx_ssrc;
}

static struct cq_sender *make(unsigned layers, bool audio) {
    memset(&cap, 0, sizeof cap);
    cq_sender_config_t c = config(layers, audio);
    c.on_keyframe_request = on_keyframe_request;
    struct cq_sender *s = NULL;
    assert_int_equal(cq_sender_create(&s, &c), 0);
    assert_non_null(s);
    return s;
}

/* ---- config ------------------------------------------------------------------------- */

static void expect_einval(const cq_sender_config_t *c) {
    struct cq_sender *s = (struct cq_sender *)(uintptr_t)1; /* must be reset to NULL */
    assert_int_equal(cq_sender_create(&s, c), CQ_EINVAL);
    assert_null(s);
}

static void test_sender_create_config_errors(void **state) {
    (void)state;
    cq_sender_config_t c = config(2, true);
    c.send = NULL;
    expect_einval(&c);

    c = config(0, false); /* neither audio nor video */
    expect_einval(&c);

    c = config(2, true);
    c.width = 322; /* the half-size layer would be 161 wide */
    expect_einval(&c);
    c = config(2, true);
    c.height = 182; /* 91 high */
    expect_einval(&c);
    c = config(3, true); /* 320x180 over three layers: 80x45 at the bottom */
    c.video_ssrc[2] = 0x10000003u;
    c.rtx_ssrc[2] = 0x20000003u;
    expect_einval(&c);
    c = config(2, true);
    c.video_layers = CQ_SENDER_MAX_LAYERS + 1;
    expect_einval(&c);

    c = config(2, true);
    c.video_ssrc[1] = 0;
    expect_einval(&c);
    c = config(2, true);
    c.rtx_ssrc[0] = 0;
    expect_einval(&c);

    /* The same configs, put right, are taken: the errors above are the ones named. */
    struct cq_sender *s;
    c = config(2, true);
    assert_int_equal(cq_sender_create(&s, &c), 0);
    cq_sender_destroy(s);
    c = config(0, true); /* audio alone */
    assert_int_equal(cq_sender_create(&s, &c), 0);
    cq_i420_t img = picture(0, T0);
    assert_int_equal(cq_sender_video(s, &img, T0), CQ_EINVAL);
    cq_sender_destroy(s);
    c = config(1, false); /* video alone */
    assert_int_equal(cq_sender_create(&s, &c), 0);
    int16_t pcm[CQ_SYNTH_AUDIO_FRAME];
    cq_synth_audio_frame(0, pcm);
    assert_int_equal(cq_sender_audio(s, pcm, CQ_SYNTH_AUDIO_FRAME, T0), CQ_EINVAL);
    cq_sender_destroy(s);
}

/* ---- video -------------------------------------------------------------------------- */

/* One layer's packets read back: frames put together, checked and decoded. */
typedef struct {
    uint32_t ssrc;
    unsigned width, height;
    unsigned packets, frames, keyframes, decoded;
    bool any;
    uint16_t last_seq;
    bool open; /* inside a frame: its first packet came, its marker not yet */
    uint32_t ts, first_ts;
    uint16_t picture_id;
    uint8_t tl0picidx, tid;
    bool keyframe;
    size_t len;
    uint8_t frame[64 * 1024];
    struct cq_vp8_dec *dec;
    bool key_at[64]; /* which frames (by picture number) were keyframes */
} track_t;

static track_t tracks[2];

static void track_init(track_t *t, uint32_t ssrc, unsigned w, unsigned h) {
    memset(t, 0, sizeof *t);
    t->ssrc = ssrc;
    t->width = w;
    t->height = h;
    assert_int_equal(cq_vp8_dec_create(&t->dec), 0);
}

static void frame_done(track_t *t) {
    cq_i420_t img;
    assert_int_equal(cq_vp8_dec_decode(t->dec, t->frame, t->len, &img), 0);
    assert_int_equal(img.width, t->width);
    assert_int_equal(img.height, t->height);
    /* The picture the decoder shows is the one captured at this timestamp. */
    uint32_t n, ms;
    assert_int_equal(
        cq_synth_video_read(img.plane[0], img.stride[0], img.width, img.height, &n, &ms), 0);
    assert_int_equal((uint32_t)(t->ts - t->first_ts), n * PIC_TICKS);
    assert_int_equal(ms, (T0 + n * PIC_US) / 1000);
    assert_true(n < 64);
    t->key_at[n] = t->keyframe;
    t->decoded++;
}

static void track_packet(track_t *t, const cq_rtp_view_t *v) {
    assert_int_equal(v->payload_type, CQ_SENDER_PT_VP8);
    if (t->any)
        assert_int_equal(v->seq, (uint16_t)(t->last_seq + 1));
    t->any = true;
    t->last_seq = v->seq;
    t->packets++;
    cq_vp8_desc_t d;
    int dl = cq_vp8_desc_parse(v->payload, v->payload_len, &d);
    assert_true(dl > 0);
    assert_true(d.has_picture_id);
    assert_true(d.picture_id_15bit);
    assert_true(d.has_tl0picidx);
    assert_true(d.has_tid);
    assert_true(d.tid <= 2);
    assert_int_equal(d.non_reference, d.tid == 2);
    if (!t->open) {
        /* A frame starts here, with its payload header. */
        assert_true(cq_vp8_desc_starts_frame(&d));
        cq_vp8_frame_header_t fh;
        assert_true(cq_vp8_frame_header_parse(v->payload + dl, v->payload_len - (size_t)dl, &fh) >
                    0);
        if (t->frames == 0) {
            assert_true(fh.keyframe); /* the first frame of every layer */
            t->first_ts = v->timestamp;
        } else {
            assert_int_not_equal(v->timestamp, t->ts);
            assert_int_equal(d.picture_id, (uint16_t)((t->picture_id + 1) & 0x7fff));
            assert_int_equal(d.tl0picidx, (uint8_t)(t->tl0picidx + (d.tid == 0)));
        }
        if (fh.keyframe) {
            assert_int_equal(fh.width, t->width);
            assert_int_equal(fh.height, t->height);
            assert_int_equal(d.tid, 0);
            t->keyframes++;
        }
        t->open = true;
        t->keyframe = fh.keyframe;
        t->ts = v->timestamp;
        t->picture_id = d.picture_id;
        t->tl0picidx = d.tl0picidx;
        t->tid = d.tid;
        t->len = 0;
        t->frames++;
    } else {
        /* The same frame goes on: same time, same descriptor, no new start. */
        assert_false(cq_vp8_desc_starts_frame(&d));
        assert_int_equal(v->timestamp, t->ts);
        assert_int_equal(d.picture_id, t->picture_id);
        assert_int_equal(d.tl0picidx, t->tl0picidx);
        assert_int_equal(d.tid, t->tid);
    }
    size_t n = v->payload_len - (size_t)dl;
    assert_true(t->len + n <= sizeof t->frame);
    memcpy(t->frame + t->len, v->payload + dl, n);
    t->len += n;
    if (v->marker) {
        t->open = false;
        frame_done(t);
    }
}

/* Reads every captured RTP packet into the two layers' tracks. */
static void read_video(void) {
    for (size_t i = 0; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        track_t *t = v.ssrc == V0 ? &tracks[0] : v.ssrc == V1 ? &tracks[1] : NULL;
        assert_non_null(t); /* no other SSRC carries video */
        track_packet(t, &v);
    }
    /* Every frame ended on a marker: none was left open. */
    assert_false(tracks[0].open);
    assert_false(tracks[1].open);
}

static void tracks_close(void) {
    cq_vp8_dec_destroy(tracks[0].dec);
    cq_vp8_dec_destroy(tracks[1].dec);
}

static void test_sender_video_two_layers(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    enum { N = 8 };
    send_pictures(s, 0, N);
    track_init(&tracks[0], V0, W / 2, H / 2);
    track_init(&tracks[1], V1, W, H);
    read_video();
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    for (int l = 0; l < 2; l++) {
        track_t *t = &tracks[l];
        assert_int_equal(st.layer[l].skipped, 0);
        assert_int_equal(t->frames, N);
        assert_int_equal(t->decoded, N);
        assert_int_equal(t->keyframes, 1);
        assert_true(t->key_at[0]);
        assert_int_equal(st.layer[l].frames, N);
        assert_int_equal(st.layer[l].keyframes, 1);
        assert_int_equal(st.layer[l].packets, t->packets);
        assert_int_equal(st.layer[l].width, t->width);
        assert_int_equal(st.layer[l].height, t->height);
        assert_true(t->packets > N); /* the keyframes took more than one packet each */
    }
    /* One picture, one RTP time, whichever layer carries it. */
    assert_int_equal(tracks[0].first_ts, tracks[1].first_ts);
    /* No packet went out larger than the payload budget allows. */
    for (size_t i = 0; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        assert_true(v.payload_len <= CQ_SENDER_MAX_PAYLOAD);
    }
    assert_int_equal(st.layer[2].frames, 0);
    assert_int_equal(st.rtx_sent, 0);
    tracks_close();
    cq_sender_destroy(s);
}

/* ---- RTCP in ------------------------------------------------------------------------ */

static void feed_pli(struct cq_sender *s, uint32_t media_ssrc, uint64_t now_us) {
    uint8_t buf[CQ_RTCP_PLI_SIZE];
    assert_int_equal(cq_rtcp_pli_write(RELAY_SSRC, media_ssrc, buf, sizeof buf), CQ_RTCP_PLI_SIZE);
    assert_int_equal(cq_sender_rtcp(s, buf, sizeof buf, now_us), 0);
}

static void feed_nack_at(struct cq_sender *s, uint32_t media_ssrc, uint16_t pid, uint16_t blp,
                         uint64_t now_us) {
    uint8_t buf[64];
    cq_rtcp_nack_pair_t pair = {.pid = pid, .blp = blp};
    int n = cq_rtcp_nack_write(RELAY_SSRC, media_ssrc, &pair, 1, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(cq_sender_rtcp(s, buf, (size_t)n, now_us), 0);
}

static void feed_nack(struct cq_sender *s, uint32_t media_ssrc, uint16_t pid, uint16_t blp) {
    feed_nack_at(s, media_ssrc, pid, blp, T0);
}

/* The newest keyframe's packets are repaired for 3 s, the rest for 1 s: a keyframe's last
 * packet lost is seen only when the layer's next comes, which on a thin layer can be most
 * of a second later. A newer keyframe makes the older one history. */
static void test_sender_rtcp_keyframe_repaired_late(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    send_pictures(s, 0, 3);
    /* Layer 1's first picture is its keyframe: its last packet, and the packet after. */
    uint32_t key_ts = 0;
    uint16_t key_last = 0, after = 0;
    bool have_key = false, have_after = false;
    for (size_t i = 0; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        if (v.ssrc != V1)
            continue;
        if (!have_key) {
            key_ts = v.timestamp;
            have_key = true;
        }
        if (v.timestamp == key_ts)
            key_last = v.seq;
        else if (!have_after) {
            after = v.seq;
            have_after = true;
        }
    }
    assert_true(have_key && have_after);

    cap.n = 0;
    feed_nack_at(s, V1, key_last, 0, T0 + 2500000u);
    assert_int_equal(cap.n, 1);
    cq_rtp_view_t x = rtp_of(0);
    assert_int_equal(x.ssrc, R1);
    assert_int_equal(cq_load_be16(x.payload), key_last);
    feed_nack_at(s, V1, after, 0, T0 + PIC_US + 1500000u); /* a delta frame: 1 s is its limit */
    assert_int_equal(cap.n, 1);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.rtx_stale, 1);
    feed_nack_at(s, V1, key_last, 0, T0 + 3100000u); /* past 3 s: nobody waits for it now */
    assert_int_equal(cap.n, 1);

    /* A new keyframe, asked for and sent: the first one is history. */
    feed_pli(s, V1, T0 + 3 * PIC_US);
    send_pictures(s, 3, 1);
    cap.n = 0;
    feed_nack_at(s, V1, key_last, 0, T0 + 4 * PIC_US);
    assert_int_equal(cap.n, 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.rtx_stale, 3);
    assert_int_equal(st.rtx_sent, 1);
    cq_sender_destroy(s);
}

/* A PLI for layer 0 makes a keyframe there and nowhere else. */
static void test_sender_rtcp_pli_keyframe(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    enum { N = 6 };
    send_pictures(s, 0, 3);
    feed_pli(s, V0, T0 + 3 * PIC_US);
    feed_pli(s, 0xdeadbeefu, T0 + 3 * PIC_US); /* a stream we do not send: not counted */
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.plis_in, 1);
    /* The caller hears of it, for layer 0's streams only (its pacer drops their backlog). */
    assert_int_equal(cap.keyframe_requests, 1);
    assert_int_equal(cap.request_video, V0);
    assert_int_equal(cap.request_rtx, R0);
    send_pictures(s, 3, N - 3);
    track_init(&tracks[0], V0, W / 2, H / 2);
    track_init(&tracks[1], V1, W, H);
    read_video();
    assert_int_equal(tracks[0].decoded, N);
    assert_int_equal(tracks[1].decoded, N);
    for (uint32_t k = 0; k < N; k++) {
        assert_int_equal(tracks[0].key_at[k], k == 0 || k == 3);
        assert_int_equal(tracks[1].key_at[k], k == 0);
    }
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].keyframes, 2);
    assert_int_equal(st.layer[1].keyframes, 1);
    assert_int_equal(st.plis_in, 1);
    tracks_close();
    cq_sender_destroy(s);
}

/* A NACK is answered from the history by one RTX packet: RFC 4588 §4. */
static void test_sender_rtcp_nack_rtx(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    send_pictures(s, 0, 4);
    /* A packet of layer 1 from the middle of what was sent, and layer 1's last. */
    size_t pick = SIZE_MAX;
    uint16_t first_seq = 0, last_seq = 0;
    bool any = false;
    for (size_t i = 0; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        if (v.ssrc != V1)
            continue;
        if (!any)
            first_seq = v.seq;
        any = true;
        last_seq = v.seq;
        if (pick == SIZE_MAX && i >= cap.n / 2)
            pick = i;
    }
    assert_true(any && pick != SIZE_MAX);
    static sent_t orig;
    orig = cap.pkt[pick];
    cq_rtp_view_t ov;
    assert_true(cq_rtp_parse(orig.data, orig.len, &ov) > 0);

    cap.n = 0;
    feed_nack(s, V1, ov.seq, 0);
    assert_int_equal(cap.n, 1);
    assert_true(cap.pkt[0].repair); /* a pacer may let it go first */
    cq_rtp_view_t x = rtp_of(0);
    assert_int_equal(x.payload_type, CQ_SENDER_PT_RTX);
    assert_int_equal(x.ssrc, R1);
    assert_int_equal(x.timestamp, ov.timestamp);
    assert_int_equal(x.marker, ov.marker);
    assert_int_equal(x.payload_len, ov.payload_len + CQ_RTX_OSN_SIZE);
    assert_int_equal(cq_load_be16(x.payload), ov.seq);
    assert_memory_equal(x.payload + CQ_RTX_OSN_SIZE, ov.payload, ov.payload_len);
    uint16_t rtx_seq = x.seq;
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.nacks_in, 1);
    assert_int_equal(st.rtx_sent, 1);
    assert_int_equal(st.rtx_missing, 0);

    /* Asked again: the same packet once more, on the next RTX sequence number. */
    cap.n = 0;
    feed_nack(s, V1, ov.seq, 0);
    assert_int_equal(cap.n, 1);
    x = rtp_of(0);
    assert_int_equal(x.seq, (uint16_t)(rtx_seq + 1));
    assert_int_equal(cq_load_be16(x.payload), ov.seq);

    /* Never sent: the next number, and one that shares a history slot with the first
     * packet; nothing goes out, and each is counted missing. */
    cap.n = 0;
    feed_nack(s, V1, (uint16_t)(last_seq + 1), 0);
    feed_nack(s, V1, (uint16_t)(first_seq + 512), 0);
    assert_int_equal(cap.n, 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.rtx_missing, 2);
    assert_int_equal(st.rtx_sent, 2);
    assert_int_equal(st.nacks_in, 4);

    /* Asked for three seconds on (an outage's backlog): every receiver has given it up,
     * so it is not sent, and counted stale. */
    feed_nack_at(s, V1, last_seq, 0, T0 + 3000000u);
    assert_int_equal(cap.n, 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.rtx_stale, 1);
    assert_int_equal(st.rtx_sent, 2);

    /* Once a keyframe is asked for on the layer, what came before it is not repaired:
     * the keyframe makes it useless, and repairs would go out ahead of it. */
    feed_pli(s, V1, T0);
    feed_nack(s, V1, last_seq, 0);
    assert_int_equal(cap.n, 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.rtx_stale, 2);

    /* A NACK for layer 0's number goes to layer 0's history and RTX stream. */
    cap.n = 0;
    size_t l0 = SIZE_MAX;
    send_pictures(s, 4, 1);
    for (size_t i = 0; i < cap.n && l0 == SIZE_MAX; i++)
        if (rtp_of(i).ssrc == V0)
            l0 = i;
    assert_true(l0 != SIZE_MAX);
    orig = cap.pkt[l0];
    assert_true(cq_rtp_parse(orig.data, orig.len, &ov) > 0);
    cap.n = 0;
    feed_nack(s, V0, ov.seq, 0);
    assert_int_equal(cap.n, 1);
    x = rtp_of(0);
    assert_int_equal(x.ssrc, R0);
    assert_int_equal(cq_load_be16(x.payload), ov.seq);
    assert_memory_equal(x.payload + CQ_RTX_OSN_SIZE, ov.payload, ov.payload_len);
    cq_sender_destroy(s);

    /* Without send_repair, repairs go through send. */
    memset(&cap, 0, sizeof cap);
    cq_sender_config_t c = config(1, false);
    c.send_repair = NULL;
    assert_int_equal(cq_sender_create(&s, &c), 0);
    send_pictures(s, 0, 1);
    ov = rtp_of(0);
    cap.n = 0;
    feed_nack(s, V0, ov.seq, 0);
    assert_int_equal(cap.n, 1);
    assert_false(cap.pkt[0].repair);
    assert_int_equal(rtp_of(0).payload_type, CQ_SENDER_PT_RTX);
    cq_sender_destroy(s);
}

/* With TL0 protected on the layers asked, every packet of a TL0 frame of those layers but
 * a keyframe's is followed at once by its copy as RTX on its layer's RTX SSRC (OSN,
 * header and payload as sent); no other packet is, and none once protection is off. */
static size_t check_tl0_copies(uint8_t layers, size_t *tl0) {
    size_t copies = 0;
    *tl0 = 0;
    bool key[2] = {false, false};
    for (size_t i = 0; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        assert_true(v.payload_type == CQ_SENDER_PT_VP8 || v.payload_type == CQ_SENDER_PT_RTX);
        assert_false(cap.pkt[i].repair); /* copies keep their place behind the original */
        if (v.payload_type == CQ_SENDER_PT_RTX)
            continue; /* checked with the packet before it */
        int l = v.ssrc == V1;
        cq_vp8_desc_t d;
        assert_true(cq_vp8_desc_parse(v.payload, v.payload_len, &d) > 0);
        if (cq_vp8_desc_starts_frame(&d))
            key[l] = (v.payload[d.size] & 1) == 0;
        bool copied = false;
        if (i + 1 < cap.n) {
            cq_rtp_view_t x = rtp_of(i + 1);
            if (x.payload_type == CQ_SENDER_PT_RTX) {
                assert_int_equal(x.ssrc, l ? R1 : R0);
                assert_int_equal(cq_load_be16(x.payload), v.seq);
                assert_int_equal(x.timestamp, v.timestamp);
                assert_int_equal(x.marker, v.marker);
                assert_int_equal(x.payload_len, v.payload_len + CQ_RTX_OSN_SIZE);
                assert_memory_equal(x.payload + CQ_RTX_OSN_SIZE, v.payload, v.payload_len);
                copied = true;
            }
        }
        bool want = ((unsigned)layers >> l & 1u) && d.tid == 0 && !key[l];
        assert_int_equal(copied, want);
        *tl0 += want;
        copies += copied;
    }
    return copies;
}

static void test_sender_protect_tl0(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    cq_sender_set_protect_tl0(s, 3);
    send_pictures(s, 0, 12); /* keyframes, then 0-2-1-2: TL0 in pictures 4 and 8 */
    size_t tl0, copies = check_tl0_copies(3, &tl0);
    assert_true(tl0 >= 4); /* two TL0 frames of each layer at least */
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.tl0_copies, copies);
    assert_int_equal(st.rtx_sent, 0); /* repairs are NACKs' answers, counted apart */

    cap.n = 0;
    cq_sender_set_protect_tl0(s, 2); /* layer 1 alone */
    send_pictures(s, 12, 8);
    copies = check_tl0_copies(2, &tl0);
    assert_true(copies >= 2);

    cap.n = 0;
    cq_sender_set_protect_tl0(s, 0);
    send_pictures(s, 12, 8);
    assert_true(cap.n > 0);
    for (size_t i = 0; i < cap.n; i++)
        assert_int_equal(rtp_of(i).payload_type, CQ_SENDER_PT_VP8);
    cq_sender_destroy(s);
}

/* ---- audio -------------------------------------------------------------------------- */

static int16_t silence[CQ_SYNTH_AUDIO_FRAME];

static void send_audio(struct cq_sender *s, uint32_t k, bool tone) {
    int16_t pcm[CQ_SYNTH_AUDIO_FRAME];
    if (tone)
        cq_synth_audio_frame(k, pcm);
    else
        memcpy(pcm, silence, sizeof pcm);
    assert_int_equal(cq_sender_audio(s, pcm, CQ_SYNTH_AUDIO_FRAME, T0 + (uint64_t)k * 20000u), 0);
}

/* The level the sender should put in the extension for frame k of the tone. */
static unsigned tone_level(uint32_t k) {
    int16_t pcm[CQ_SYNTH_AUDIO_FRAME];
    cq_synth_audio_frame(k, pcm);
    double sum = 0;
    for (size_t i = 0; i < CQ_SYNTH_AUDIO_FRAME; i++)
        sum += (double)pcm[i] * pcm[i];
    double rms = sqrt(sum / CQ_SYNTH_AUDIO_FRAME) / 32768.0;
    return (unsigned)(-20.0 * log10(rms));
}

static void test_sender_audio_packets_and_dtx(void **state) {
    (void)state;
    struct cq_sender *s = make(0, true);
    enum { TONE = 20, QUIET = 60, AGAIN = 5 };
    uint32_t k = 0;
    for (; k < TONE; k++)
        send_audio(s, k, true);
    assert_int_equal(cap.n, TONE); /* one packet per frame while there is sound */
    uint32_t ts0 = rtp_of(0).timestamp;
    uint16_t seq0 = rtp_of(0).seq;
    for (size_t i = 0; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        assert_int_equal(v.payload_type, CQ_SENDER_PT_OPUS);
        assert_int_equal(v.ssrc, AUDIO_SSRC);
        assert_int_equal(v.seq, (uint16_t)(seq0 + i));
        assert_int_equal(v.timestamp, ts0 + (uint32_t)i * 960u);
        assert_int_equal(v.marker, i == 0); /* the talkspurt starts once */
        assert_true(v.payload_len > 2);
        const uint8_t *data;
        size_t len;
        assert_int_equal(cq_rtp_ext_find(&v, CQ_SENDER_EXT_AUDIO_LEVEL, &data, &len), 0);
        cq_rtpext_audio_level_t al;
        assert_int_equal(cq_rtpext_audio_level_parse(data, len, &al), 0);
        assert_true(al.voice);
        unsigned want = tone_level((uint32_t)i);
        assert_true(al.level + 1u >= want && al.level <= want + 1u);
    }
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.audio_frames, TONE);
    assert_int_equal(st.audio_dtx, 0);

    /* Digital silence: after a few frames Opus goes to DTX and little is sent. */
    size_t before = cap.n;
    for (; k < TONE + QUIET; k++)
        send_audio(s, k, false);
    cq_sender_stats(s, &st);
    size_t quiet_pkts = cap.n - before;
    print_message("%u silent frames: %zu packets, %llu DTX\n", QUIET, quiet_pkts,
                  (unsigned long long)st.audio_dtx);
    assert_true(st.audio_dtx >= QUIET / 2);
    assert_int_equal(quiet_pkts + st.audio_dtx, QUIET);
    assert_int_equal(st.audio_frames, TONE + quiet_pkts);
    for (size_t i = before; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        const uint8_t *data;
        size_t len;
        cq_rtpext_audio_level_t al;
        assert_int_equal(cq_rtp_ext_find(&v, CQ_SENDER_EXT_AUDIO_LEVEL, &data, &len), 0);
        assert_int_equal(cq_rtpext_audio_level_parse(data, len, &al), 0);
        assert_false(al.voice);
        assert_int_equal(al.level, CQ_RTPEXT_AUDIO_LEVEL_MAX);
        /* RTP time keeps counting the frames, sent or not. */
        assert_int_equal((uint32_t)(v.timestamp - ts0) % 960u, 0);
    }

    /* Sound again: a new talkspurt, on the RTP time of its frame. */
    before = cap.n;
    for (uint32_t a = 0; a < AGAIN; a++, k++)
        send_audio(s, k, true);
    assert_int_equal(cap.n - before, AGAIN);
    cq_rtp_view_t v = rtp_of(before);
    assert_true(v.marker);
    assert_int_equal(v.timestamp, ts0 + (TONE + QUIET) * 960u);
    assert_int_equal(rtp_of(before + 1).timestamp, ts0 + (TONE + QUIET + 1) * 960u);
    assert_false(rtp_of(before + 1).marker);
    assert_int_equal(v.seq, (uint16_t)(rtp_of(before - 1).seq + 1)); /* no hole for DTX */
    cq_sender_destroy(s);
}

/* The loss the relay reports on audio, as its RR would say it. */
static void report_audio_loss(struct cq_sender *s, uint8_t fraction_lost, uint64_t at_us) {
    cq_rtcp_report_t rb = {.ssrc = AUDIO_SSRC, .fraction_lost = fraction_lost};
    uint8_t buf[64];
    int n = cq_rtcp_rr_write(RELAY_SSRC, &rb, 1, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(cq_sender_rtcp(s, buf, (size_t)n, at_us), 0);
}

/* Checks that captured packet i is RED carrying plain[k] for each of the n indices in
 * ks (the Opus payloads a sender without RED wrote for the same sound), oldest first, the
 * last as the primary. */
static void expect_red_of(const capture_t *plain, size_t i, const size_t *ks, size_t n) {
    cq_rtp_view_t v = rtp_of(i);
    assert_int_equal(v.payload_type, CQ_SENDER_PT_RED);
    cq_red_block_t b[4];
    assert_int_equal(cq_red_parse(v.payload, v.payload_len, b, 4), (int)n);
    for (size_t j = 0; j < n; j++) {
        cq_rtp_view_t o;
        assert_true(cq_rtp_parse(plain->pkt[ks[j]].data, plain->pkt[ks[j]].len, &o) > 0);
        assert_int_equal(b[j].pt, CQ_SENDER_PT_OPUS);
        assert_int_equal(b[j].ts_offset, (ks[n - 1] - ks[j]) * 960u);
        assert_int_equal(b[j].len, o.payload_len);
        assert_memory_equal(b[j].data, o.payload, o.payload_len);
    }
}

/* The same for plain[first .. last], each one. */
static void expect_red(const capture_t *plain, size_t i, size_t first, size_t last) {
    size_t ks[4], n = 0;
    for (size_t k = first; k <= last; k++)
        ks[n++] = k;
    expect_red_of(plain, i, ks, n);
}

/* With RED each packet repeats the one before it, byte for byte what was sent then; once
 * the relay's reports average 4 % loss or more, and the loss comes in bursts, the second
 * and the fourth before; a talkspurt starts without copies, and its first packets repeat
 * the oldest they have. */
static void test_sender_audio_red(void **state) {
    (void)state;
    /* What a sender without RED sends for the same sound and the same reports (Opus is
     * deterministic). */
    static capture_t plain;
    struct cq_sender *s = make(0, true);
    assert_int_equal(cq_sender_set_audio(s, 24000, 20, 0, true), 0);
    enum { TONE = 8, QUIET = 40, AGAIN = 3 };
    uint32_t k = 0;
    for (; k < 4; k++)
        send_audio(s, k, true);
    for (int r = 0; r < 15; r++) /* as below, for the same Opus loss hint */
        report_audio_loss(s, 26, T0 + 80000);
    for (; k < TONE; k++)
        send_audio(s, k, true);
    for (; k < TONE + QUIET; k++)
        send_audio(s, k, false);
    for (uint32_t a = 0; a < AGAIN; a++, k++)
        send_audio(s, k, true);
    plain = cap;
    cq_sender_destroy(s);

    memset(&cap, 0, sizeof cap);
    cq_sender_config_t c = config(0, true);
    c.audio_red = CQ_SENDER_MAX_RED;
    assert_int_equal(cq_sender_create(&s, &c), 0);
    assert_int_equal(cq_sender_set_audio(s, 24000, 20, 0, true), 0);
    k = 0;
    for (; k < 4; k++)
        send_audio(s, k, true);
    for (int r = 0; r < 10; r++) /* none, ten times */
        report_audio_loss(s, 0, T0 + 80000);
    report_audio_loss(s, 26, T0 + 80000); /* then 10 %: 2 % averaged, one copy */
    send_audio(s, k++, true);
    for (int r = 0; r < 14; r++)
        report_audio_loss(s, 26, T0 + 80000);
    for (; k < TONE; k++)
        send_audio(s, k, true);
    size_t tone_end = cap.n;
    for (; k < TONE + QUIET; k++)
        send_audio(s, k, false);
    size_t again = cap.n;
    for (uint32_t a = 0; a < AGAIN; a++, k++)
        send_audio(s, k, true);
    assert_int_equal(cap.n, plain.n); /* the same packets, DTX included */
    expect_red(&plain, 0, 0, 0);      /* nothing before the first */
    for (size_t i = 1; i < 5; i++)
        expect_red(&plain, i, i - 1, i); /* under 4 % averaged: one copy */
    for (size_t i = 5; i < tone_end; i++)
        expect_red_of(&plain, i, (size_t[]){i - 4, i - 2, i}, 3); /* 9.6 %: two, spread */
    /* The quiet frames that still made packets repeat what came before them; after DTX
     * the new talkspurt repeats nothing from before the silence. */
    for (size_t i = tone_end; i < again; i++)
        assert_int_equal(rtp_of(i).payload_type, CQ_SENDER_PT_RED);
    expect_red(&plain, again, again, again);
    expect_red(&plain, again + 1, again, again + 1);
    expect_red_of(&plain, again + 2, (size_t[]){again, again + 2}, 2);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.audio_frames, cap.n);
    assert_true(st.audio_red_blocks >= 4 + 2 * (TONE - 5) + 2);
    cq_sender_destroy(s);

    c.audio_red = CQ_SENDER_MAX_RED + 1;
    expect_einval(&c);
}

/* A sender of sound with every RED copy allowed, nothing captured yet. */
static struct cq_sender *make_red_sender(void) {
    memset(&cap, 0, sizeof cap);
    cq_sender_config_t c = config(0, true);
    c.audio_red = CQ_SENDER_MAX_RED;
    struct cq_sender *s;
    assert_int_equal(cq_sender_create(&s, &c), 0);
    return s;
}

/* Loss that comes one packet at a time (rural radio's) keeps one copy, of the packet just
 * before, however high the reports say it is: the deep copies would only add their span to
 * every receiver's delay. Told it now comes in bursts, the sender spreads its copies. */
static void test_sender_audio_red_random_loss(void **state) {
    (void)state;
    struct cq_sender *s = make_red_sender();
    for (int r = 0; r < 15; r++) /* 10 %, averaged to nearly that */
        report_audio_loss(s, 26, T0 + 80000);
    assert_int_equal(cq_sender_set_audio(s, 24000, 20, 9, false), 0);
    enum { SOUND = 12, BURSTY_FROM = 8 };
    uint32_t k = 0;
    for (; k < BURSTY_FROM; k++)
        send_audio(s, k, true);
    assert_int_equal(cq_sender_set_audio(s, 24000, 20, 9, true), 0);
    for (; k < SOUND; k++)
        send_audio(s, k, true);
    assert_int_equal(cap.n, SOUND);
    for (size_t i = 1; i < SOUND; i++) {
        cq_rtp_view_t v = rtp_of(i);
        cq_red_block_t b[CQ_SENDER_MAX_RED + 1];
        int n = cq_red_parse(v.payload, v.payload_len, b, CQ_SENDER_MAX_RED + 1);
        if (i < BURSTY_FROM) {
            assert_int_equal(n, 2); /* the packet just before, and this one */
            assert_int_equal(b[0].ts_offset, 960);
        } else {
            assert_int_equal(n, 3); /* the fourth and the second before, and this one */
            assert_int_equal(b[0].ts_offset, 4 * 960);
            assert_int_equal(b[1].ts_offset, 2 * 960);
        }
    }
    cq_sender_destroy(s);
}

/* Lean RED on a thin uplink: each packet carries its own data alone (still as RED, so
 * the payload type does not change under the receivers); deep copies, where bursty loss
 * calls for them, still go; and back from lean, the packet before is repeated again. */
static void test_sender_audio_red_lean(void **state) {
    (void)state;
    struct cq_sender *s = make_red_sender();
    assert_int_equal(cq_sender_set_audio(s, 16000, 20, 0, false), 0);
    cq_sender_set_red_lean(s, true);
    enum { LEAN = 6, DEEP = 12, BACK = 16 };
    uint32_t k = 0;
    for (; k < LEAN; k++)
        send_audio(s, k, true);
    for (int r = 0; r < 15; r++) /* 10 % in bursts: deep, lean or not */
        report_audio_loss(s, 26, T0 + 80000);
    assert_int_equal(cq_sender_set_audio(s, 16000, 20, 9, true), 0);
    for (; k < DEEP; k++)
        send_audio(s, k, true);
    assert_int_equal(cq_sender_set_audio(s, 16000, 20, 0, false), 0);
    for (int r = 0; r < 40; r++) /* the reports' loss averages away */
        report_audio_loss(s, 0, T0 + 80000);
    cq_sender_set_red_lean(s, false);
    for (; k < BACK; k++)
        send_audio(s, k, true);
    assert_int_equal(cap.n, BACK);
    for (size_t i = 0; i < BACK; i++) {
        cq_rtp_view_t v = rtp_of(i);
        assert_int_equal(v.payload_type, CQ_SENDER_PT_RED);
        cq_red_block_t b[CQ_SENDER_MAX_RED + 1];
        int n = cq_red_parse(v.payload, v.payload_len, b, CQ_SENDER_MAX_RED + 1);
        if (i < LEAN)
            assert_int_equal(n, 1); /* this one alone */
        else if (i >= LEAN + 4 && i < DEEP)
            assert_int_equal(n, 3); /* the fourth and the second before, and this one */
        else if (i >= DEEP)
            assert_int_equal(n, 2); /* the one before, and this one */
        assert_int_equal(b[n - 1].pt, CQ_SENDER_PT_OPUS);
    }
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.audio_frames, BACK);
    cq_sender_destroy(s);
}

/* ---- sender reports ----------------------------------------------------------------- */

typedef struct {
    cq_rtcp_sr_t sr;
    char cname[64];
    bool has_cname;
} report_t;

/* Reads captured packet i: an SR, then the SDES CNAME of the same SSRC, nothing else. */
static report_t read_report(size_t i) {
    assert_true(cap.pkt[i].rtcp);
    report_t r = {0};
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, cap.pkt[i].data, cap.pkt[i].len);
    assert_true(cq_rtcp_iter_next(&it, &h) > 0);
    assert_int_equal(cq_rtcp_sr_parse(&h, &r.sr), 0);
    assert_int_equal(r.sr.reports.count, 0);
    assert_true(cq_rtcp_iter_next(&it, &h) > 0);
    cq_rtcp_sdes_t sdes;
    assert_int_equal(cq_rtcp_sdes_parse(&h, &sdes), 0);
    cq_rtcp_sdes_item_t item;
    assert_int_equal(cq_rtcp_sdes_find(&sdes, r.sr.ssrc, CQ_RTCP_SDES_CNAME, &item), 0);
    assert_true(item.len < sizeof r.cname);
    memcpy(r.cname, item.text, item.len);
    r.has_cname = true;
    assert_int_equal(cq_rtcp_iter_next(&it, &h), 0);
    return r;
}

static void test_sender_report_per_stream(void **state) {
    (void)state;
    struct cq_sender *s = make(1, true);
    /* Nothing sent yet: nothing to report. */
    assert_int_equal(cq_sender_report(s, T0), 0);
    assert_int_equal(cap.n, 0);

    enum { FRAMES = 10, PICS = 3 };
    for (uint32_t k = 0; k < FRAMES; k++)
        send_audio(s, k, true);
    send_pictures(s, 0, PICS);
    /* What went out, stream by stream. */
    uint32_t apk = 0, aoct = 0, vpk = 0, voct = 0, a_last_ts = 0, v_last_ts = 0;
    for (size_t i = 0; i < cap.n; i++) {
        cq_rtp_view_t v = rtp_of(i);
        if (v.ssrc == AUDIO_SSRC) {
            apk++;
            aoct += (uint32_t)v.payload_len;
            a_last_ts = v.timestamp;
        } else {
            assert_int_equal(v.ssrc, V0);
            vpk++;
            voct += (uint32_t)v.payload_len;
            v_last_ts = v.timestamp;
        }
    }
    assert_int_equal(apk, FRAMES);
    assert_true(vpk >= PICS);
    uint64_t a_last_us = T0 + (FRAMES - 1) * 20000u;
    uint64_t v_last_us = T0 + (PICS - 1) * PIC_US;

    size_t before = cap.n;
    uint64_t now = T0 + 1000000u;
    assert_int_equal(cq_sender_report(s, now), 0);
    assert_int_equal(cap.n - before, 2);
    report_t ra = read_report(before), rv = read_report(before + 1);
    if (ra.sr.ssrc != AUDIO_SSRC) {
        report_t t = ra;
        ra = rv;
        rv = t;
    }
    assert_int_equal(ra.sr.ssrc, AUDIO_SSRC);
    assert_int_equal(rv.sr.ssrc, V0);
    assert_string_equal(ra.cname, CNAME);
    assert_string_equal(rv.cname, CNAME);
    assert_int_equal(ra.sr.info.packet_count, apk);
    assert_int_equal(ra.sr.info.octet_count, aoct);
    assert_int_equal(rv.sr.info.packet_count, vpk);
    assert_int_equal(rv.sr.info.octet_count, voct);
    assert_true(ra.sr.info.ntp == cq_rtcp_ntp_from_us(now));
    assert_true(rv.sr.info.ntp == cq_rtcp_ntp_from_us(now));
    /* RTP time: the last packet's, carried on by the clock to now. */
    assert_int_equal(ra.sr.info.rtp_ts, a_last_ts + (uint32_t)((now - a_last_us) * 48 / 1000));
    assert_int_equal(rv.sr.info.rtp_ts, v_last_ts + (uint32_t)((now - v_last_us) * 90 / 1000));

    /* 10 ms later, the audio clock is 480 further on. */
    before = cap.n;
    assert_int_equal(cq_sender_report(s, now + 10000), 0);
    assert_int_equal(cap.n - before, 2);
    report_t ra2 = read_report(before);
    if (ra2.sr.ssrc != AUDIO_SSRC)
        ra2 = read_report(before + 1);
    assert_int_equal(ra2.sr.ssrc, AUDIO_SSRC);
    assert_int_equal(ra2.sr.info.rtp_ts - ra.sr.info.rtp_ts, 480);
    assert_int_equal(ra2.sr.info.packet_count, apk);
    cq_sender_destroy(s);
}

/* The relay's receiver report: the loss it saw on audio, and the round trip from LSR and
 * DLSR against our own SR. */
static void test_sender_rtcp_rr_loss_and_rtt(void **state) {
    (void)state;
    struct cq_sender *s = make(1, true);
    for (uint32_t k = 0; k < 5; k++)
        send_audio(s, k, true);
    uint64_t sr_at = T0 + 500000u;
    size_t before = cap.n;
    assert_int_equal(cq_sender_report(s, sr_at), 0);
    assert_int_equal(cap.n - before, 1); /* audio only: no video was sent */
    report_t ra = read_report(before);
    assert_int_equal(ra.sr.ssrc, AUDIO_SSRC);

    const uint64_t rtt = 80000, hold = 250000; /* the relay held our SR 250 ms */
    cq_rtcp_report_t rb = {.ssrc = AUDIO_SSRC,
                           .fraction_lost = 64,
                           .highest_seq = 1000,
                           .lsr = cq_rtcp_ntp_short(ra.sr.info.ntp),
                           .dlsr = cq_rtcp_dlsr_from_us(hold)};
    uint8_t buf[64];
    int n = cq_rtcp_rr_write(RELAY_SSRC, &rb, 1, buf, sizeof buf);
    assert_true(n > 0);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.rtt_us, 0); /* not known before a report */
    assert_int_equal(st.loss_percent, 0);
    assert_int_equal(cq_sender_rtcp(s, buf, (size_t)n, sr_at + rtt + hold), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.loss_percent, 25);
    assert_int_equal(st.opus_loss_hint, 50); /* twice what this half of the path lost */
    assert_true(st.rtt_us + 1000 >= rtt && st.rtt_us <= rtt + 1000);

    /* A report on another stream leaves the audio loss alone. */
    rb.ssrc = V0;
    rb.fraction_lost = 128;
    rb.lsr = 0;
    n = cq_rtcp_rr_write(RELAY_SSRC, &rb, 1, buf, sizeof buf);
    assert_int_equal(cq_sender_rtcp(s, buf, (size_t)n, sr_at + 400000), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.loss_percent, 25);
    /* And no loss at all brings it back to 0. */
    rb.ssrc = AUDIO_SSRC;
    rb.fraction_lost = 0;
    n = cq_rtcp_rr_write(RELAY_SSRC, &rb, 1, buf, sizeof buf);
    assert_int_equal(cq_sender_rtcp(s, buf, (size_t)n, sr_at + 500000), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.loss_percent, 0);
    assert_int_equal(st.opus_loss_hint, 0);
    /* A little loss is told as 10 %: enough for Opus to put FEC in. */
    rb.fraction_lost = 5; /* 1.9 % */
    n = cq_rtcp_rr_write(RELAY_SSRC, &rb, 1, buf, sizeof buf);
    assert_int_equal(cq_sender_rtcp(s, buf, (size_t)n, sr_at + 600000), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.loss_percent, 1);
    assert_int_equal(st.opus_loss_hint, 10);
    cq_sender_destroy(s);
}

/* RTCP that is cut short or random is refused whole or in part, and answers nothing. */
static void test_sender_rtcp_garbage(void **state) {
    (void)state;
    struct cq_sender *s = make(2, true);
    send_pictures(s, 0, 2);
    cap.n = 0;
    uint8_t buf[64];
    cq_rtcp_nack_pair_t pair = {.pid = 1, .blp = 0xffff};
    int n = cq_rtcp_nack_write(RELAY_SSRC, V0, &pair, 1, buf, sizeof buf);
    assert_true(n > 0);
    for (int len = 1; len < n; len++) /* every cut of a NACK: nothing is resent */
        assert_true(cq_sender_rtcp(s, buf, (size_t)len, T0) < 0);
    uint32_t x = 0x12345678u;
    for (unsigned i = 0; i < 2000; i++) {
        uint8_t junk[256];
        size_t len = 1 + i % sizeof junk;
        for (size_t k = 0; k < len; k++) {
            x = x * 1664525u + 1013904223u;
            junk[k] = (uint8_t)(x >> 24);
        }
        if (i % 2) {
            junk[0] = (uint8_t)(0x80 | (junk[0] & 0x1f));
            junk[1] = (uint8_t)(200 + i % 7); /* SR, RR, SDES, BYE, APP, RTPFB, PSFB */
        }
        cq_sender_rtcp(s, junk, len, T0);
    }
    assert_int_equal(cap.n, 0);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.rtx_sent, 0);
    assert_int_equal(st.plis_in, 0);
    cq_sender_destroy(s);
}

/* Every RTP packet of every kind carries the transport-wide sequence number's element, two
 * bytes under id 3, beside the audio level on audio: the endpoint stamps it in place. */
static void test_sender_every_packet_carries_transport_cc(void **state) {
    (void)state;
    struct cq_sender *s = make(2, true);
    send_pictures(s, 0, 3);
    for (uint32_t k = 0; k < 5; k++)
        send_audio(s, k, true);
    cq_rtp_view_t v0 = {0};
    for (size_t i = 0; i < cap.n && v0.ssrc != V0; i++)
        v0 = rtp_of(i);
    assert_int_equal(v0.ssrc, V0);
    feed_nack(s, V0, v0.seq, 0);
    unsigned kinds[128] = {0};
    for (size_t i = 0; i < cap.n; i++) {
        if (cap.pkt[i].rtcp)
            continue;
        cq_rtp_view_t v = rtp_of(i);
        kinds[v.payload_type]++;
        const uint8_t *data;
        size_t len;
        uint16_t tseq;
        assert_int_equal(v.ext_form, CQ_RTP_EXT_ONE_BYTE);
        assert_int_equal(cq_rtp_ext_find(&v, CQ_RTPEXT_ID_TRANSPORT_CC, &data, &len), 0);
        assert_int_equal(cq_rtpext_transport_cc_parse(data, len, &tseq), 0);
        assert_int_equal(
            cq_rtpext_transport_cc_stamp(cap.pkt[i].data, cap.pkt[i].len, 3, (uint16_t)i), 0);
        if (v.payload_type == CQ_SENDER_PT_OPUS)
            assert_int_equal(cq_rtp_ext_find(&v, CQ_SENDER_EXT_AUDIO_LEVEL, &data, &len), 0);
    }
    assert_true(kinds[CQ_SENDER_PT_VP8] > 0);
    assert_int_equal(kinds[CQ_SENDER_PT_OPUS], 5);
    assert_int_equal(kinds[CQ_SENDER_PT_RTX], 1);
    assert_int_equal(CQ_SENDER_EXT_TRANSPORT_CC, CQ_RTPEXT_ID_TRANSPORT_CC);
    cq_sender_destroy(s);
}

/* ---- following the uplink (cq_sender_set_layers, cq_sender_padding) ------------------ */

/* Frames each layer sent, from the stats. */
static void layer_frames(struct cq_sender *s, uint64_t out[2]) {
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    out[0] = st.layer[0].frames + st.layer[0].skipped;
    out[1] = st.layer[1].frames + st.layer[1].skipped;
}

/* A layer switched off sends nothing and comes back with a keyframe; a layer at 50 % of
 * the frame rate encodes one picture in two, at 67 % two in three. */
static void test_sender_set_layers(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    uint64_t before[2], after[2];
    unsigned kbps[CQ_SENDER_MAX_LAYERS] = {100, 300, 0};
    unsigned pct[CQ_SENDER_MAX_LAYERS] = {100, 100, 100};
    assert_int_equal(cq_sender_set_layers(s, 0x1, kbps, pct), 0);
    layer_frames(s, before);
    send_pictures(s, 0, 12);
    layer_frames(s, after);
    assert_int_equal(after[0] - before[0], 12);
    assert_int_equal(after[1] - before[1], 0);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_false(st.layer[1].on);
    /* Layer 1 back at half the frame rate, layer 0 at two thirds. */
    pct[0] = 67;
    pct[1] = 50;
    size_t first = cap.n;
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    layer_frames(s, before);
    send_pictures(s, 12, 12);
    layer_frames(s, after);
    assert_int_equal(after[0] - before[0], 8);
    assert_int_equal(after[1] - before[1], 6);
    cq_sender_stats(s, &st);
    assert_true(st.layer[1].on);
    assert_int_equal(st.layer[1].restarts, 1);
    assert_int_equal(st.layer[1].fps_pct, 50);
    assert_int_equal(st.layer[1].kbps, 300);
    /* Layer 1's first packet after the pause starts a keyframe. */
    bool seen = false;
    for (size_t i = first; i < cap.n && !seen; i++) {
        cq_rtp_view_t v = rtp_of(i);
        if (v.ssrc != V1)
            continue;
        seen = true;
        cq_vp8_desc_t d;
        int dl = cq_vp8_desc_parse(v.payload, v.payload_len, &d);
        assert_true(dl > 0);
        cq_vp8_frame_header_t fh;
        assert_true(cq_vp8_frame_header_parse(v.payload + dl, v.payload_len - (size_t)dl, &fh) > 0);
        assert_true(fh.keyframe);
    }
    assert_true(seen);
    cq_sender_destroy(s);
}

/* Layer 0 (160x90 here) at a bitrate that gives a picture fewer than
 * CQ_SENDER_THIN_BITS_PER_PIXEL goes at the frame rate that gives it that many (20 kbit/s:
 * 9.9 pictures of 15, 66 %), never under CQ_SENDER_THIN_MIN_PCT, nor above what was asked;
 * layer 1 keeps the rate asked at any bitrate. Planned for 15 a second at 20 kbit/s, libvpx
 * skipped pictures up to 10 in a row after a keyframe. */
static void test_sender_thin_lowest_layer_fewer_pictures(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    unsigned kbps[CQ_SENDER_MAX_LAYERS] = {20, 20, 0};
    unsigned pct[CQ_SENDER_MAX_LAYERS] = {100, 100, 100};
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].fps_pct, 66);
    assert_int_equal(st.layer[0].kbps, 20);
    assert_int_equal(st.layer[1].fps_pct, 100);
    uint64_t before[2], after[2];
    layer_frames(s, before);
    send_pictures(s, 0, 12);
    layer_frames(s, after);
    assert_int_equal(after[0] - before[0], 7); /* 12 x 0.66, the share adding up from 0 */
    assert_int_equal(after[1] - before[1], 12);
    /* Asked for less than the bits need: what was asked. With room: the whole rate. */
    pct[0] = 50;
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].fps_pct, 50);
    pct[0] = 100;
    kbps[0] = 31;
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].fps_pct, 100);
    cq_sender_destroy(s);

    /* A 320x180 layer 0 at 30 kbit/s (100 over two layers when made), then at 31: the
     * least share, from the start. */
    cq_sender_config_t c = config(2, false);
    c.width = 2 * W;
    c.height = 2 * H;
    c.video_kbps = 100;
    assert_int_equal(cq_sender_create(&s, &c), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].fps_pct, CQ_SENDER_THIN_MIN_PCT);
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].fps_pct, CQ_SENDER_THIN_MIN_PCT);
    cq_sender_destroy(s);

    /* A layer alone keeps the rate asked: ratealloc's steps are its. */
    s = make(1, false);
    kbps[0] = 20;
    assert_int_equal(cq_sender_set_layers(s, 0x1, kbps, pct), 0);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].fps_pct, 100);
    cq_sender_destroy(s);
}

/* Layer 1 switched off while layer 0 stays on: layer 0 makes a keyframe, not at once but
 * CQ_SENDER_DROP_KEY_US on (the relay moves layer 1's receivers down at it once layer 1
 * has been silent a while: relay/router.c); and only one. A sender that made none left
 * those receivers to wait out the relay's second of silence and a keyframe asked for
 * after it. */
static void test_sender_dropped_layer_keyframe_below(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    unsigned kbps[CQ_SENDER_MAX_LAYERS] = {100, 300, 0};
    unsigned pct[CQ_SENDER_MAX_LAYERS] = {100, 100, 100};
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    send_pictures(s, 0, 6);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].keyframes, 1);
    assert_int_equal(cq_sender_set_layers(s, 0x1, kbps, pct), 0);
    uint32_t early = (uint32_t)(CQ_SENDER_DROP_KEY_US / PIC_US); /* the picture before it */
    send_pictures(s, 6, early);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].keyframes, 1);
    send_pictures(s, 6 + early, 12);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].keyframes, 2);
    assert_int_equal(st.layer[1].keyframes, 1);
    cq_sender_destroy(s);
}

/* Layer 1 switched off after the relay stopped asking for it (nobody is on it, and those
 * who left asked for their keyframe): layer 0 makes none. Switched off while still asked
 * for (the uplink's plan dropped it), or asked for under a number above the sender's top
 * (its top): one. */
static void test_sender_unused_layer_dropped_no_keyframe(void **state) {
    (void)state;
    struct cq_sender *s = make(2, false);
    unsigned kbps[CQ_SENDER_MAX_LAYERS] = {100, 300, 0};
    unsigned pct[CQ_SENDER_MAX_LAYERS] = {100, 100, 100};
    uint32_t after = (uint32_t)(CQ_SENDER_DROP_KEY_US / PIC_US) + 3;
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    send_pictures(s, 0, 3);
    cq_sender_set_used(s, 0x1);
    assert_int_equal(cq_sender_set_layers(s, 0x1, kbps, pct), 0);
    send_pictures(s, 3, after);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[0].keyframes, 1);
    /* Back on (with its keyframe), asked for as layer 2, then dropped by the plan. */
    cq_sender_set_used(s, 0x5);
    assert_int_equal(cq_sender_set_layers(s, 0x3, kbps, pct), 0);
    send_pictures(s, 3 + after, 3);
    assert_int_equal(cq_sender_set_layers(s, 0x1, kbps, pct), 0);
    send_pictures(s, 6 + after, after);
    cq_sender_stats(s, &st);
    assert_int_equal(st.layer[1].keyframes, 2);
    assert_int_equal(st.layer[0].keyframes, 2);
    cq_sender_destroy(s);
}

/* A probe packet: padding only, on layer 0's RTX SSRC, with the transport-wide element. */
static void test_sender_padding(void **state) {
    (void)state;
    struct cq_sender *s = make(1, false);
    uint8_t buf[512];
    int n = cq_sender_padding(s, 280, buf, sizeof buf);
    assert_true(n >= 250 && n <= 280);
    cq_rtp_view_t v;
    assert_true(cq_rtp_parse(buf, (size_t)n, &v) > 0);
    assert_int_equal(v.ssrc, R0);
    assert_int_equal(v.payload_type, CQ_SENDER_PT_RTX);
    assert_int_equal(v.payload_len, 0);
    assert_true(v.padding_len > 200);
    const uint8_t *d;
    size_t len;
    assert_int_equal(cq_rtp_ext_find(&v, CQ_SENDER_EXT_TRANSPORT_CC, &d, &len), 0);
    uint16_t seq = v.seq;
    n = cq_sender_padding(s, 280, buf, sizeof buf);
    assert_true(cq_rtp_parse(buf, (size_t)n, &v) > 0);
    assert_int_equal(v.seq, (uint16_t)(seq + 1)); /* its own RTX numbering */
    cq_sender_destroy(s);
    /* Audio only: no probes. */
    s = make(0, true);
    assert_int_equal(cq_sender_padding(s, 280, buf, sizeof buf), CQ_EINVAL);
    cq_sender_destroy(s);
}

/* Opus follows the allocator: bitrate and frame size change; out of range is refused. */
static void test_sender_set_audio(void **state) {
    (void)state;
    struct cq_sender *s = make(0, true);
    assert_int_equal(cq_sender_set_audio(s, 16000, 60, 3, false), 0);
    cq_sender_stats_t st;
    cq_sender_stats(s, &st);
    assert_int_equal(st.audio_bps, 16000);
    assert_int_equal(st.audio_frame_ms, 60);
    assert_int_equal(st.opus_loss_hint, 10); /* any loss: at least 10 % for FEC */
    assert_int_equal(cq_sender_set_audio(s, 16000, 30, 0, false), CQ_EINVAL);
    assert_int_equal(cq_sender_set_audio(s, 99000, 20, 0, false), CQ_EINVAL);
    int16_t pcm[CQ_OPUS_SAMPLES(60)] = {0};
    assert_int_equal(cq_sender_audio(s, pcm, CQ_OPUS_SAMPLES(60), T0), 0);
    assert_int_equal(cq_sender_audio(s, pcm, CQ_OPUS_SAMPLES(20), T0), CQ_EINVAL);
    cq_sender_destroy(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sender_create_config_errors),
        cmocka_unit_test(test_sender_video_two_layers),
        cmocka_unit_test(test_sender_rtcp_pli_keyframe),
        cmocka_unit_test(test_sender_rtcp_nack_rtx),
        cmocka_unit_test(test_sender_rtcp_keyframe_repaired_late),
        cmocka_unit_test(test_sender_protect_tl0),
        cmocka_unit_test(test_sender_report_per_stream),
        cmocka_unit_test(test_sender_rtcp_rr_loss_and_rtt),
        cmocka_unit_test(test_sender_audio_packets_and_dtx),
        cmocka_unit_test(test_sender_audio_red),
        cmocka_unit_test(test_sender_audio_red_random_loss),
        cmocka_unit_test(test_sender_audio_red_lean),
        cmocka_unit_test(test_sender_rtcp_garbage),
        cmocka_unit_test(test_sender_every_packet_carries_transport_cc),
        cmocka_unit_test(test_sender_set_layers),
        cmocka_unit_test(test_sender_thin_lowest_layer_fewer_pictures),
        cmocka_unit_test(test_sender_dropped_layer_keyframe_below),
        cmocka_unit_test(test_sender_unused_layer_dropped_no_keyframe),
        cmocka_unit_test(test_sender_padding),
        cmocka_unit_test(test_sender_set_audio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
