/*
 * The receiver behind a real sender: the sender's packets reach the receiver through a
 * small in-test "network" that loses the packets a test names by index, and the
 * receiver's RTCP (reports, NACKs, PLIs) goes back to the sender, so that NACKs come back
 * as RTX and PLIs as keyframes. No sockets, no threads: time is a counter the loop below
 * advances in 2 ms steps, with a receiver tick every 10 ms, a picture every 66 ms and an
 * audio frame every 20 ms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/receiver.h"
#include "client/sender.h"
#include "client/synth.h"
#include "codec/vp8_desc.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/rtpext.h"
#include "rtp/twcc.h"
#include "support/test_rand.h"

#define W          320
#define H          180
#define AUDIO_SSRC 0xa0a0a001u
#define V0         0x10000001u
#define R0         0x20000001u
#define OWN_SSRC   0x0c11e470u
#define T0         1000000u /* the first picture and frame, us */
#define STEP_US    2000u
#define TICK_US    10000u
#define PIC_US     66000u
#define AUDIO_US   20000u
#define MAX_PICS   256
#define MAX_DROPS  8

/* ---- the network ---------------------------------------------------------------------- */

typedef struct {
    struct cq_sender *s;
    struct cq_receiver *r;
    uint64_t now;
    /* What is fed, and when. */
    bool video, audio;
    unsigned pics_max, pics_fed, audio_max, audio_fed;
    uint64_t next_pic_us, next_audio_us;
    /* Sender to receiver: RTP packets are counted from 0 as the sender puts them out
     * (RTX included); those whose index is listed are lost. */
    unsigned rtp_index;
    unsigned drop_at[MAX_DROPS], ndrop_at;
    int drop_picture, drop_audio; /* lose the first packet of this picture / frame (-1: no) */
    unsigned dropped;
    uint16_t dropped_seq[MAX_DROPS];
    uint32_t dropped_ssrc[MAX_DROPS];
    cq_vp8_desc_t dropped_desc[MAX_DROPS];
    uint64_t dropped_at_us;
    /* The sender's reports can be held, to be handed over in another order. */
    bool hold_reports;
    uint8_t held[4][256];
    size_t held_len[4];
    unsigned nheld;
    /* One medium can be late by a fixed delay (lip sync): packets of payload type late_pt
     * wait late_us on the way. The sender can report every half second. */
    uint8_t late_pt;
    uint64_t late_us;
    uint8_t late[96][1500];
    size_t late_len[96];
    uint64_t late_at[96];
    unsigned late_head, nlate;
    bool reports;
    /* Receiver to sender: compounds wait for the end of the receiver's call. */
    bool drop_nacks; /* the NACKs are lost on the way back */
    uint8_t q[8][1500];
    size_t qlen[8];
    unsigned nq;
    unsigned rrs, rr_blocks, nacks, plis;
    uint16_t nacked[256];
    unsigned nnacked;
    uint32_t nack_ssrc, pli_ssrc;
    uint64_t first_pli_us;
    unsigned pictures_at_first_pli;
    /* What the receiver gave out. */
    unsigned pictures;
    uint32_t pic_n[MAX_PICS];
    unsigned pic_w, pic_h, unreadable;
    uint32_t video_telecentre;
    unsigned audio_calls, audio_odd_size;
    uint32_t audio_telecentre;
} net_t;

static net_t net;

static void on_send(void *ctx, const uint8_t *pkt, size_t len, bool rtcp) {
    net_t *n = ctx;
    if (rtcp && n->hold_reports) {
        assert_true(n->nheld < 4 && len <= sizeof n->held[0]);
        memcpy(n->held[n->nheld], pkt, len);
        n->held_len[n->nheld++] = len;
        return;
    }
    if (rtcp) {
        cq_receiver_rtcp(n->r, pkt, len, n->now);
        return;
    }
    unsigned index = n->rtp_index++;
    for (unsigned i = 0; i < n->ndrop_at; i++)
        if (n->drop_at[i] == index) {
            assert_true(n->dropped < MAX_DROPS);
            cq_rtp_view_t v;
            assert_true(cq_rtp_parse(pkt, len, &v) > 0);
            n->dropped_seq[n->dropped] = v.seq;
            n->dropped_ssrc[n->dropped] = v.ssrc;
            memset(&n->dropped_desc[n->dropped], 0, sizeof n->dropped_desc[0]);
            if (v.payload_type == CQ_SENDER_PT_VP8)
                assert_true(
                    cq_vp8_desc_parse(v.payload, v.payload_len, &n->dropped_desc[n->dropped]) > 0);
            n->dropped++;
            n->dropped_at_us = n->now;
            return;
        }
    if (n->late_us > 0 && len > 1 && (pkt[1] & 0x7f) == n->late_pt) {
        assert_true(n->nlate < 96 && len <= sizeof n->late[0]);
        unsigned k = (n->late_head + n->nlate++) % 96;
        memcpy(n->late[k], pkt, len);
        n->late_len[k] = len;
        n->late_at[k] = n->now + n->late_us;
        return;
    }
    /* The receiver unwraps RTX in place: it gets its own copy, as from a socket. */
    uint8_t copy[1500];
    assert_true(len <= sizeof copy);
    memcpy(copy, pkt, len);
    cq_receiver_rtp(n->r, copy, len, n->now);
}

static void on_rtcp(void *ctx, const uint8_t *pkt, size_t len) {
    net_t *n = ctx;
    assert_true(cq_rtcp_validate(pkt, len) > 0);
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, pkt, len);
    while (cq_rtcp_iter_next(&it, &h) > 0) {
        cq_rtcp_rr_t rr;
        cq_rtcp_nack_t nack;
        cq_rtcp_fb_t pli;
        if (cq_rtcp_rr_parse(&h, &rr) == 0) {
            assert_int_equal(rr.ssrc, OWN_SSRC);
            n->rrs++;
            n->rr_blocks += rr.reports.count;
        } else if (cq_rtcp_nack_parse(&h, &nack) == 0) {
            n->nacks++;
            n->nack_ssrc = nack.media_ssrc;
            uint16_t seqs[64];
            int k = cq_rtcp_nack_expand(&nack, seqs, 64);
            assert_true(k > 0);
            for (int i = 0; i < k && n->nnacked < 256; i++)
                n->nacked[n->nnacked++] = seqs[i];
        } else if (cq_rtcp_pli_parse(&h, &pli) == 0) {
            if (n->plis++ == 0) {
                n->first_pli_us = n->now;
                n->pictures_at_first_pli = n->pictures;
            }
            n->pli_ssrc = pli.media_ssrc;
        }
    }
    assert_true(n->nq < 8);
    memcpy(n->q[n->nq], pkt, len);
    n->qlen[n->nq++] = len;
}

/* Hands what the receiver sent to the sender; a lost NACK is cut out of its compound. */
static void flush_rtcp(net_t *n) {
    for (unsigned i = 0; i < n->nq; i++) {
        if (!n->drop_nacks) {
            assert_int_equal(cq_sender_rtcp(n->s, n->q[i], n->qlen[i], n->now), 0);
            continue;
        }
        cq_rtcp_iter_t it;
        cq_rtcp_header_t h;
        cq_rtcp_iter_init(&it, n->q[i], n->qlen[i]);
        while (cq_rtcp_iter_next(&it, &h) > 0) {
            cq_rtcp_nack_t nack;
            if (cq_rtcp_nack_parse(&h, &nack) != 0)
                assert_int_equal(cq_sender_rtcp(n->s, h.data, h.size, n->now), 0);
        }
    }
    n->nq = 0;
}

static void on_video(void *ctx, uint32_t telecentre, const cq_i420_t *img) {
    net_t *n = ctx;
    n->video_telecentre = telecentre;
    n->pic_w = img->width;
    n->pic_h = img->height;
    uint32_t k, ms;
    if (cq_synth_video_read(img->plane[0], img->stride[0], img->width, img->height, &k, &ms) != 0) {
        n->unreadable++;
        return;
    }
    assert_true(n->pictures < MAX_PICS);
    n->pic_n[n->pictures++] = k;
}

static void on_audio(void *ctx, uint32_t telecentre, const int16_t *pcm, size_t samples) {
    net_t *n = ctx;
    (void)pcm;
    n->audio_telecentre = telecentre;
    n->audio_calls++;
    n->audio_odd_size += samples != CQ_SYNTH_AUDIO_FRAME;
}

/* ---- the two ends --------------------------------------------------------------------- */

static uint8_t py[W * H], pu[W * H / 4], pv[W * H / 4];

static unsigned setup_red; /* the sender's RED (reset by teardown) */

static void setup(bool video, bool audio, const char *cname) {
    memset(&net, 0, sizeof net);
    net.video = video;
    net.audio = audio;
    net.drop_picture = -1;
    net.drop_audio = -1;
    net.now = T0;
    net.next_pic_us = T0;
    net.next_audio_us = T0;
    net.pics_max = MAX_PICS;
    net.audio_max = UINT32_MAX;
    cq_sender_config_t sc = {.audio_ssrc = audio ? AUDIO_SSRC : 0,
                             .audio_bps = 24000,
                             .audio_frame_ms = 20,
                             .audio_red = setup_red,
                             .video_layers = video ? 1 : 0,
                             .video_ssrc = {V0},
                             .rtx_ssrc = {R0},
                             .width = W,
                             .height = H,
                             .fps = 15,
                             .video_kbps = 400,
                             .cname = cname,
                             .send = on_send,
                             .ctx = &net};
    assert_int_equal(cq_sender_create(&net.s, &sc), 0);
    cq_receiver_config_t rc = {.own_ssrc = OWN_SSRC,
                               .send_rtcp = on_rtcp,
                               .on_video = on_video,
                               .on_audio = on_audio,
                               .ctx = &net};
    assert_int_equal(cq_receiver_create(&net.r, &rc), 0);
}

static void teardown(void) {
    setup_red = 0;
    cq_receiver_destroy(net.r);
    cq_sender_destroy(net.s);
    net.r = NULL;
    net.s = NULL;
}

/* Also after a failed assertion, so that the failure is not buried under leak reports. */
static int teardown_test(void **state) {
    (void)state;
    teardown();
    return 0;
}

static void feed_picture(net_t *n) {
    uint32_t k = n->pics_fed++;
    if ((int)k == n->drop_picture && n->ndrop_at < MAX_DROPS)
        n->drop_at[n->ndrop_at++] = n->rtp_index;
    assert_int_equal(
        cq_synth_video_paint(k, (uint32_t)(n->now / 1000), W, H, py, W, pu, W / 2, pv, W / 2), 0);
    cq_i420_t img = {.width = W, .height = H, .plane = {py, pu, pv}, .stride = {W, W / 2, W / 2}};
    assert_int_equal(cq_sender_video(n->s, &img, n->now), 0);
}

static void feed_audio(net_t *n) {
    uint32_t k = n->audio_fed++;
    if ((int)k == n->drop_audio && n->ndrop_at < MAX_DROPS)
        n->drop_at[n->ndrop_at++] = n->rtp_index;
    int16_t pcm[CQ_SYNTH_AUDIO_FRAME];
    cq_synth_audio_frame(k, pcm);
    assert_int_equal(cq_sender_audio(n->s, pcm, CQ_SYNTH_AUDIO_FRAME, n->now), 0);
}

/* Runs the two ends for dur_us. */
static void advance(net_t *n, uint64_t dur_us) {
    for (uint64_t end = n->now + dur_us; n->now < end; n->now += STEP_US) {
        if (n->video && n->pics_fed < n->pics_max && n->now >= n->next_pic_us) {
            feed_picture(n);
            n->next_pic_us += PIC_US;
        }
        if (n->audio && n->audio_fed < n->audio_max && n->now >= n->next_audio_us) {
            feed_audio(n);
            n->next_audio_us += AUDIO_US;
        }
        while (n->nlate > 0 && n->late_at[n->late_head] <= n->now) {
            cq_receiver_rtp(n->r, n->late[n->late_head], n->late_len[n->late_head], n->now);
            n->late_head = (n->late_head + 1) % 96;
            n->nlate--;
        }
        if (n->reports && n->now % 500000 == 0)
            assert_int_equal(cq_sender_report(n->s, n->now), 0);
        if (n->now % TICK_US == 0) {
            cq_receiver_tick(n->r, n->now);
            flush_rtcp(n);
        }
    }
}

static size_t remotes(cq_receiver_remote_stats_t *out, size_t max) {
    return cq_receiver_stats(net.r, out, max);
}

static cq_receiver_remote_stats_t only_remote(void) {
    cq_receiver_remote_stats_t st[CQ_RECEIVER_MAX_REMOTES];
    assert_int_equal(remotes(st, CQ_RECEIVER_MAX_REMOTES), 1);
    return st[0];
}

static void assert_pictures_in_order(void) {
    for (unsigned i = 1; i < net.pictures; i++)
        assert_true(net.pic_n[i] > net.pic_n[i - 1]);
}

/* ---- video ---------------------------------------------------------------------------- */

static void test_receiver_video_lossless(void **state) {
    (void)state;
    setup(true, false, "chasqui-1-2");
    enum { N = 12 };
    net.pics_max = N;
    advance(&net, N * PIC_US + 200000u);
    cq_sender_stats_t ss;
    cq_sender_stats(net.s, &ss);
    assert_int_equal(ss.layer[0].skipped, 0);
    assert_int_equal(ss.layer[0].frames, N);

    assert_int_equal(net.pictures, N);
    for (uint32_t k = 0; k < N; k++)
        assert_int_equal(net.pic_n[k], k);
    assert_int_equal(net.unreadable, 0);
    assert_int_equal(net.pic_w, W);
    assert_int_equal(net.pic_h, H);
    assert_int_equal(net.video_telecentre, 0); /* no CNAME yet */

    cq_receiver_remote_stats_t st = only_remote();
    assert_true(st.has_video);
    assert_false(st.has_audio);
    assert_int_equal(st.telecentre, 0);
    assert_int_equal(st.width, W);
    assert_int_equal(st.height, H);
    assert_int_equal(st.video_packets, ss.layer[0].packets);
    assert_int_equal(st.video_repaired, 0);
    assert_int_equal(st.frames_decoded, N);
    assert_int_equal(st.frames_dropped, 0);
    assert_int_equal(st.keyframes, 1);
    assert_int_equal(st.plis_wanted, 0);
    assert_int_equal(st.freezes, 0);
    assert_int_equal(st.synth_frames, N);
    assert_int_equal(st.synth_out_of_order, 0);
    assert_int_equal(st.synth_last_frame, N - 1);
    double psnr = st.psnr_sum / (double)st.synth_frames;
    print_message("lossless: PSNR %.1f dB (min %.1f), latency max %.0f ms\n", psnr, st.psnr_min,
                  st.latency_ms_max);
    assert_true(psnr > 30.0);
    assert_true(st.psnr_min > 25.0 && st.psnr_min <= psnr);
    /* Decoded at the first tick after capture: sender and receiver share the clock. */
    assert_true(st.latency_ms_max < 10.0);
    /* Reports went back, on the video stream; nothing was asked for. */
    assert_true(net.rrs >= 1 && net.rr_blocks >= 1);
    assert_int_equal(net.nacks, 0);
    assert_int_equal(net.plis, 0);
    assert_int_equal(ss.rtx_sent, 0);
    teardown();
}

/* A packet lost mid-stream is NACKed, comes back as RTX, and no frame is lost. */
static void test_receiver_video_nack_repaired(void **state) {
    (void)state;
    setup(true, false, "chasqui-1-2");
    enum { N = 12 };
    net.pics_max = N;
    net.drop_picture = 5;
    advance(&net, N * PIC_US + 300000u);
    assert_int_equal(net.dropped, 1);
    assert_int_equal(net.dropped_ssrc[0], V0);
    /* The NACK named the lost packet, on its stream. */
    bool asked = false;
    for (unsigned i = 0; i < net.nnacked; i++)
        asked |= net.nacked[i] == net.dropped_seq[0];
    assert_true(asked);
    assert_int_equal(net.nack_ssrc, V0);
    cq_sender_stats_t ss;
    cq_sender_stats(net.s, &ss);
    assert_true(ss.nacks_in >= 1);
    assert_true(ss.rtx_sent >= 1);
    assert_int_equal(ss.rtx_missing, 0);
    assert_int_equal(ss.layer[0].skipped, 0);

    cq_receiver_remote_stats_t st = only_remote();
    assert_true(st.video_repaired >= 1);
    assert_int_equal(st.frames_decoded, N);
    assert_int_equal(st.frames_dropped, 0);
    assert_int_equal(st.plis_wanted, 0);
    assert_int_equal(net.pictures, N);
    for (uint32_t k = 0; k < N; k++)
        assert_int_equal(net.pic_n[k], k);
    assert_int_equal(net.plis, 0);
    teardown();
}

/* On a short round trip a lost TL0 frame is still waited for TL0_WAIT_MIN_US (350 ms),
 * not two round trips: a third request fits in that, and giving the frame up costs a
 * keyframe, far more on a radio link (docs/E2E.md). Its repair never comes here. */
static void test_receiver_tl0_waited_past_short_rtt(void **state) {
    (void)state;
    setup(true, false, "chasqui-1-2");
    cq_receiver_set_rtt(net.r, 40000); /* two round trips and 50 ms: 130 ms */
    enum { N = 30 };
    net.pics_max = N;
    net.drop_picture = 8; /* TL0 */
    net.drop_nacks = true;
    advance(&net, N * PIC_US + 300000u);
    assert_int_equal(net.dropped, 1);
    assert_int_equal(net.dropped_desc[0].tid, 0);
    assert_true(net.nacks >= 3); /* asked again and again while it waited */
    assert_true(net.plis >= 1);
    uint64_t waited = net.first_pli_us - net.dropped_at_us;
    print_message("TL0 waited %llu us before its PLI\n", (unsigned long long)waited);
    assert_true(waited >= 350000u);
    assert_true(waited < 350000u + 2 * PIC_US); /* and then given up at once */
    teardown();
}

/* A TL0 packet lost for good (its NACKs lost too): the picture stops, the receiver asks
 * for a keyframe, the sender makes one, and pictures come again. */
static void test_receiver_video_lost_for_good_pli(void **state) {
    (void)state;
    setup(true, false, "chasqui-1-2");
    enum { N = 30 };
    net.pics_max = N;
    net.drop_picture = 8; /* 0-2-1-2 from the keyframe: picture 8 is TL0 */
    net.drop_nacks = true;
    advance(&net, N * PIC_US + 300000u);
    cq_sender_stats_t ss;
    cq_sender_stats(net.s, &ss);
    assert_int_equal(ss.layer[0].skipped, 0);
    assert_int_equal(net.dropped, 1);
    assert_int_equal(net.dropped_desc[0].tid, 0);
    assert_true(cq_vp8_desc_starts_frame(&net.dropped_desc[0]));

    /* The receiver did ask, but nothing reached the sender. */
    assert_true(net.nacks >= 1);
    assert_int_equal(ss.nacks_in, 0);
    assert_int_equal(ss.rtx_sent, 0);

    cq_receiver_remote_stats_t st = only_remote();
    print_message("lost for good: %u pictures, first PLI after %u, %llu dropped\n", net.pictures,
                  net.pictures_at_first_pli, (unsigned long long)st.frames_dropped);
    assert_true(st.plis_wanted >= 1);
    assert_true(net.plis >= 1);
    assert_int_equal(net.pli_ssrc, V0);
    assert_true(net.first_pli_us > net.dropped_at_us);
    assert_true(ss.plis_in >= 1);
    assert_true(ss.layer[0].keyframes >= 2);
    assert_true(st.keyframes >= 2);
    assert_true(st.frames_dropped >= 1);
    assert_true(st.frames_decoded < N);
    /* The wait for the keyframe shows as a freeze: over 200 ms without a picture. */
    assert_true(st.freezes >= 1);
    assert_true(st.freeze_longest_ms > 200 && st.freeze_longest_ms <= st.freeze_total_ms);
    /* The pictures before the loss; none of 9..11, which need the lost TL0 frame; then
     * from the new keyframe on, to the last. */
    assert_int_equal(net.pictures_at_first_pli, 8);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(net.pic_n[i], i);
    assert_true(net.pictures > 8);
    assert_true(net.pic_n[8] > 11);
    assert_int_equal(net.pic_n[net.pictures - 1], N - 1);
    assert_pictures_in_order();
    assert_int_equal(net.unreadable, 0);
    assert_int_equal(st.frames_decoded, net.pictures);
    /* Every PLI reached the sender, and one keyframe ended the wait: no PLI storm. */
    assert_int_equal(net.plis, (unsigned)ss.plis_in);
    assert_true(net.plis <= 2);
    teardown();
}

/* ---- CNAME ---------------------------------------------------------------------------- */

/* Audio and video first seen apart are joined under their CNAME, whichever stream's SDES
 * names it first: the one named second moves, with its buffers and counts, and both play
 * on under telecentre 5. */
static void cname_groups_streams(bool video_first) {
    setup(true, true, "chasqui-9-5");
    advance(&net, 500000u);
    cq_receiver_remote_stats_t st[CQ_RECEIVER_MAX_REMOTES];
    /* Before any SDES, audio and video are two remotes of no known telecentre. */
    assert_int_equal(remotes(st, CQ_RECEIVER_MAX_REMOTES), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(st[i].telecentre, 0);
        assert_true(st[i].has_audio != st[i].has_video);
    }
    uint64_t decoded = st[0].frames_decoded + st[1].frames_decoded;
    uint64_t audio_packets = st[0].audio_packets + st[1].audio_packets;
    uint64_t played = st[0].audio_played + st[1].audio_played;
    assert_true(decoded >= 5);
    assert_true(audio_packets >= 20);
    assert_true(played >= 15);
    assert_int_equal(net.video_telecentre, 0);

    /* The sender reports (SR + SDES per stream, audio's first): one remote, telecentre 5. */
    net.hold_reports = true;
    assert_int_equal(cq_sender_report(net.s, net.now), 0);
    net.hold_reports = false;
    assert_int_equal(net.nheld, 2);
    for (unsigned i = 0; i < 2; i++) {
        unsigned k = video_first ? 1 - i : i;
        cq_receiver_rtcp(net.r, net.held[k], net.held_len[k], net.now);
    }
    cq_receiver_remote_stats_t one = only_remote();
    assert_int_equal(one.telecentre, 5);
    assert_true(one.has_audio);
    assert_true(one.has_video);
    assert_int_equal(one.frames_decoded, decoded);
    assert_int_equal(one.audio_packets, audio_packets);
    assert_int_equal(one.audio_played, played);
    assert_int_equal(one.width, W);

    /* Both go on under the one remote. */
    unsigned pictures = net.pictures, calls = net.audio_calls;
    advance(&net, 500000u);
    one = only_remote();
    assert_int_equal(one.telecentre, 5);
    assert_true(one.frames_decoded > decoded);
    assert_true(one.audio_packets > audio_packets);
    assert_true(one.audio_played >= played + 20);
    assert_int_equal(one.audio_concealed, 0);
    assert_true(net.pictures > pictures);
    assert_true(net.audio_calls > calls);
    assert_int_equal(net.video_telecentre, 5);
    assert_int_equal(net.audio_telecentre, 5);
    assert_int_equal(one.frames_dropped, 0);
    assert_int_equal(one.plis_wanted, 0);
    assert_pictures_in_order();
    teardown();
}

static void test_receiver_cname_groups_audio_named_first(void **state) {
    (void)state;
    cname_groups_streams(false);
}

static void test_receiver_cname_groups_video_named_first(void **state) {
    (void)state;
    cname_groups_streams(true);
}

/* Repairs keep coming after the CNAME joined the streams. A loss before the SDES makes
 * the receiver learn the RTX stream on the video's first remote; the sender's report
 * (audio's SDES first, then video's) then moves the video into the audio's remote. A
 * second loss must still be repaired by RTX.
 *
 * Fails against client/receiver.c as written: place() re-points only the stream the SDES
 * names, so the RTX stream keeps the index of the remote it frees, and every later RTX
 * packet lands on an unused remote (video_ssrc 0) and is dropped unread. */
static void test_receiver_cname_join_keeps_rtx(void **state) {
    (void)state;
    setup(true, true, "chasqui-9-5");
    net.pics_max = 24;
    net.drop_picture = 3;
    advance(&net, 600000u);
    cq_receiver_remote_stats_t st[CQ_RECEIVER_MAX_REMOTES];
    assert_int_equal(remotes(st, CQ_RECEIVER_MAX_REMOTES), 2);
    uint64_t repaired = st[0].video_repaired + st[1].video_repaired;
    assert_int_equal(repaired, 1);

    assert_int_equal(cq_sender_report(net.s, net.now), 0);
    cq_receiver_remote_stats_t one = only_remote();
    assert_int_equal(one.telecentre, 5);
    assert_int_equal(one.video_repaired, 1);

    net.drop_picture = 14;
    advance(&net, 24 * PIC_US + 300000u - 600000u);
    cq_sender_stats_t ss;
    cq_sender_stats(net.s, &ss);
    assert_int_equal(net.dropped, 2);
    assert_true(ss.rtx_sent >= 2); /* the sender did answer the second NACK */
    one = only_remote();
    assert_true(one.video_repaired >= 2);
    assert_int_equal(one.frames_dropped, 0);
    assert_int_equal(one.frames_decoded, net.pics_fed);
    teardown();
}

/* ---- lip sync ------------------------------------------------------------------------- */

/* Runs 14 s of both media with pt's packets late by late_us; returns the remote's stats. */
static cq_receiver_remote_stats_t sync_run(uint8_t pt, uint64_t late_us) {
    setup(true, true, "chasqui-9-5");
    net.reports = true;
    net.late_pt = pt;
    net.late_us = late_us;
    advance(&net, 14000000u);
    assert_pictures_in_order();
    return only_remote();
}

/* The sound comes 150 ms after its pictures: the pictures wait for it, until the two play
 * within a few tens of milliseconds of each other. */
static void test_receiver_lipsync_holds_pictures(void **state) {
    (void)state;
    cq_receiver_remote_stats_t st = sync_run(CQ_SENDER_PT_OPUS, 150000u);
    assert_true(st.video_hold_ms >= 120);
    assert_int_equal(st.audio_hold_ms, 0);
    /* Mouth to ear includes the 150 ms on the way and the jitter buffer; the pictures,
     * held, take as long. */
    assert_true(st.audio_latency_ms_p50 >= 150 && st.audio_latency_ms_p50 <= 260);
    assert_true(st.video_latency_ms_p50 + 40 >= st.audio_latency_ms_p50);
    assert_true(st.audio_latency_ms_p95 >= st.audio_latency_ms_p50);
    assert_true(st.av_offset_ms > -40 && st.av_offset_ms < 40);
    assert_int_equal(st.frames_dropped, 0);
}

/* Pictures 80 ms late on the way reach the screen about 43 ms after their sound (which
 * spends its own time in the jitter buffer): within the 45 ms nobody notices, the sound
 * does not wait. 130 ms late, the sound waits for what it leads by beyond 45 ms, and
 * nothing is lost for it; pictures later than sound may wait for (100 ms) are let go. */
static void test_receiver_lipsync_holds_sound(void **state) {
    (void)state;
    cq_receiver_remote_stats_t st = sync_run(CQ_SENDER_PT_VP8, 80000u);
    assert_int_equal(st.audio_hold_ms, 0);
    assert_true(st.av_offset_ms > -50 && st.av_offset_ms < -30);
    teardown();
    st = sync_run(CQ_SENDER_PT_VP8, 130000u);
    assert_true(st.audio_hold_ms >= 20);
    assert_true(st.audio_hold_ms <= 100);
    assert_int_equal(st.video_hold_ms, 0);
    /* (the hold grows by steps the jitter buffer can take: still on its way to 48 ms) */
    assert_true(st.av_offset_ms > -100 && st.av_offset_ms < -45);
    assert_true(st.audio_played > 600);
    teardown();
    /* Late beyond what sound may wait for: it does not wait at all (speech first; no
     * hold could bring lips and words together). */
    st = sync_run(CQ_SENDER_PT_VP8, 300000u);
    assert_int_equal(st.audio_hold_ms, 0);
    assert_true(st.av_offset_ms < -150);
}

/* ---- audio ---------------------------------------------------------------------------- */

/* Ticks on without new audio until `played` frames have played (or a second passed). */
static cq_receiver_remote_stats_t play_out(uint64_t played) {
    cq_receiver_remote_stats_t st = only_remote();
    for (int i = 0; i < 100 && st.audio_played + st.audio_fec + st.audio_concealed < played; i++) {
        advance(&net, TICK_US);
        st = only_remote();
    }
    return st;
}

/* The relay's probes: padding-only RTX on SSRCs the receiver may not know yet. Their
 * transport-wide numbers count for the downlink's feedback; they make no remote. */
static void test_receiver_padding_makes_no_remote(void **state) {
    (void)state;
    setup(false, true, "chasqui-1-2");
    uint8_t pkt[12 + 8 + 40];
    memset(pkt, 0, sizeof pkt);
    pkt[0] = 0x80 | 0x20 | 0x10; /* V=2, padding, extension */
    pkt[1] = CQ_SENDER_PT_RTX;
    pkt[8] = 0x7e; /* an SSRC nobody announced */
    pkt[12] = 0xbe;
    pkt[13] = 0xde;
    pkt[15] = 1;
    pkt[16] = (uint8_t)(CQ_SENDER_EXT_TRANSPORT_CC << 4 | 1);
    pkt[sizeof pkt - 1] = 40; /* 40 bytes of padding, nothing else */
    for (int i = 0; i < 10; i++) {
        pkt[3] = (uint8_t)i;
        pkt[18] = (uint8_t)i;
        cq_receiver_rtp(net.r, pkt, sizeof pkt, net.now);
    }
    cq_receiver_remote_stats_t st[CQ_RECEIVER_MAX_REMOTES];
    assert_int_equal(remotes(st, CQ_RECEIVER_MAX_REMOTES), 0);
}

static void test_receiver_audio_lossless(void **state) {
    (void)state;
    setup(false, true, "chasqui-1-2");
    enum { N = 50 };
    net.audio_max = N;
    advance(&net, N * AUDIO_US);
    cq_receiver_remote_stats_t st = play_out(N);
    assert_true(st.has_audio);
    assert_false(st.has_video);
    assert_int_equal(st.audio_packets, N);
    assert_int_equal(st.audio_played, N);
    assert_int_equal(st.audio_fec, 0);
    assert_int_equal(st.audio_concealed, 0);
    assert_int_equal(st.jitter_buffer_ms, 40); /* a steady link: the minimum */
    /* 960 samples a call, the waiting before the first packet's turn included. */
    assert_int_equal(net.audio_odd_size, 0);
    assert_true(net.audio_calls >= N);
    assert_true(net.audio_calls <= N + 4);
    assert_int_equal(net.audio_telecentre, 0);
    assert_int_equal(net.nacks, 0); /* audio is not NACKed */
    teardown();
}

static void test_receiver_audio_lost_packet(void **state) {
    (void)state;
    setup(false, true, "chasqui-1-2");
    enum { N = 50 };
    net.audio_max = N;
    net.drop_audio = 20;
    advance(&net, N * AUDIO_US);
    cq_receiver_remote_stats_t st = play_out(N);
    assert_int_equal(net.dropped, 1);
    assert_int_equal(st.audio_packets, N - 1);
    assert_int_equal(st.audio_played, N - 1);
    assert_int_equal(st.audio_fec + st.audio_concealed, 1);
    assert_int_equal(net.audio_odd_size, 0);
    /* The synthetic tone says whether the frame rebuilt for the lost one has its pitch:
     * it has not, since the sender heard of no loss yet and Opus put no FEC in. */
    assert_int_equal(st.synth_fec_ok + st.synth_fec_failed, st.audio_fec);
    assert_int_equal(st.synth_fec_ok, 0);
    teardown();
}

/* With RED a lost packet plays from the copy in the next one: the sound itself, not a
 * guess. Two lost in a row with one copy: the second plays from its copy, the first is
 * rebuilt from that copy's FEC. */
static void test_receiver_audio_red(void **state) {
    (void)state;
    setup_red = CQ_SENDER_MAX_RED; /* one copy: no loss was reported */
    setup(false, true, "chasqui-1-2");
    enum { N = 50 };
    net.audio_max = N;
    net.drop_at[net.ndrop_at++] = 20; /* audio only: packet k is frame k */
    net.drop_at[net.ndrop_at++] = 30;
    net.drop_at[net.ndrop_at++] = 31;
    advance(&net, N * AUDIO_US);
    cq_receiver_remote_stats_t st = only_remote();
    for (int i = 0; i < 100 && st.audio_played + st.audio_red + st.audio_fec < N; i++) {
        advance(&net, TICK_US);
        st = only_remote();
    }
    assert_int_equal(net.dropped, 3);
    assert_int_equal(st.audio_packets, N - 3);
    assert_int_equal(st.audio_malformed, 0);
    assert_int_equal(st.audio_played, N - 3);
    assert_int_equal(st.audio_red, 2);
    assert_int_equal(st.audio_fec, 1);
    assert_int_equal(st.audio_concealed, 0);
    assert_int_equal(net.audio_odd_size, 0);
    /* Judged by the tone, the frames after each loss still have the pitch they should:
     * a wrong frame from a copy would have thrown the count off. */
    assert_int_equal(st.synth_fec_ok + st.synth_fec_failed, 1);
    teardown();
}

/* ---- garbage -------------------------------------------------------------------------- */

static uint8_t junk[1500];

/* Random bytes as RTP and RTCP into a fresh receiver, some shaped to get past the first
 * checks (version 2, a payload type it takes, an RTCP type it reads). */
static void test_receiver_garbage_ignored(void **state) {
    (void)state;
    setup(true, false, "chasqui-1-2");
    cq_test_rand_t rnd = {.state = 0x5eedu};
    static const uint8_t pts[] = {CQ_SENDER_PT_OPUS, CQ_SENDER_PT_VP8, CQ_SENDER_PT_RTX,
                                  CQ_SENDER_PT_RED};
    static const uint8_t rtcp_pts[] = {CQ_RTCP_PT_SR, CQ_RTCP_PT_SDES, CQ_RTCP_PT_BYE,
                                       CQ_RTCP_PT_RR};
    for (int i = 0; i < 3000; i++) {
        size_t len = cq_test_rand_below(&rnd, i < 1000 ? 16 : sizeof junk);
        cq_test_rand_fill(&rnd, junk, len);
        if (i % 2 && len >= 2) {
            junk[0] = (uint8_t)(0x80 | (junk[0] & 0x1f)); /* V=2, no padding */
            junk[1] = (uint8_t)((junk[1] & 0x80) | pts[i % 4]);
        }
        if (i % 3 == 0 && len >= 12) /* a handful of SSRCs, so streams come back */
            memset(junk + 8, (int)(i % 5), 4);
        cq_receiver_rtp(net.r, junk, len, net.now);
        cq_test_rand_fill(&rnd, junk, len);
        if (i % 2 && len >= 4) {
            junk[0] = (uint8_t)(0x80 | (junk[0] & 0x1f));
            junk[1] = rtcp_pts[i % 4];
            size_t words = len / 4 - 1;
            junk[2] = (uint8_t)(words >> 8);
            junk[3] = (uint8_t)words;
        }
        cq_receiver_rtcp(net.r, junk, len, net.now);
        if (i % 100 == 0) {
            cq_receiver_tick(net.r, net.now);
            net.nq = 0; /* what the receiver says about the garbage goes nowhere */
            net.now += TICK_US;
        }
    }
    cq_receiver_remote_stats_t st[CQ_RECEIVER_MAX_REMOTES];
    size_t n = remotes(st, CQ_RECEIVER_MAX_REMOTES);
    print_message("garbage: %zu remotes made of it, none with a picture\n", n);
    assert_true(n <= CQ_RECEIVER_MAX_REMOTES);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(st[i].synth_frames, 0);
    teardown();

    /* A live stream with short buffers, cut RTCP and random RTCP thrown in goes on. */
    setup(true, false, "chasqui-1-2");
    enum { N = 10 };
    net.pics_max = N;
    advance(&net, 4 * PIC_US);
    uint8_t report[256];
    uint8_t sr[128];
    cq_rtcp_sender_info_t info = {.ntp = cq_rtcp_ntp_from_us(net.now)};
    cq_rtcp_compound_t c;
    cq_rtcp_compound_init(&c, sr, sizeof sr);
    cq_rtcp_compound_commit(&c, cq_rtcp_sr_write(V0, &info, NULL, 0, cq_rtcp_compound_tail(&c),
                                                 cq_rtcp_compound_room(&c)));
    cq_rtcp_compound_commit(&c, cq_rtcp_sdes_cname_write(V0, "chasqui-1-2", 11,
                                                         cq_rtcp_compound_tail(&c),
                                                         cq_rtcp_compound_room(&c)));
    int srlen = cq_rtcp_compound_finish(&c);
    assert_true(srlen > 0);
    for (int len = 0; len < srlen; len++) {
        memcpy(report, sr, (size_t)len);
        cq_receiver_rtcp(net.r, report, (size_t)len, net.now);
    }
    assert_int_equal(only_remote().telecentre, 0); /* no cut SDES named it */
    cq_receiver_rtcp(net.r, sr, (size_t)srlen, net.now);
    assert_int_equal(only_remote().telecentre, 2);
    for (size_t len = 0; len < 12; len++) {
        cq_test_rand_fill(&rnd, junk, len);
        cq_receiver_rtp(net.r, junk, len, net.now);
    }
    for (int i = 0; i < 200; i++) {
        size_t len = cq_test_rand_below(&rnd, 200);
        cq_test_rand_fill(&rnd, junk, len);
        cq_receiver_rtcp(net.r, junk, len, net.now);
    }
    advance(&net, (N - 4) * PIC_US + 200000u);
    cq_receiver_remote_stats_t one = only_remote();
    assert_int_equal(one.telecentre, 2);
    assert_int_equal(one.frames_decoded, N);
    assert_int_equal(one.frames_dropped, 0);
    assert_int_equal(net.pictures, N);
    assert_pictures_in_order();
    teardown();
}

/* ---- transport-wide feedback ----------------------------------------------------------- */

typedef struct {
    unsigned compounds;
    cq_twcc_fb_t fb[8];
    cq_twcc_packet_t pkt[8][64];
    int count[8];
    unsigned nfb;
} twcc_seen_t;

static void on_twcc_rtcp(void *ctx, const uint8_t *pkt, size_t len) {
    twcc_seen_t *t = ctx;
    assert_true(cq_rtcp_validate(pkt, len) > 0);
    t->compounds++;
    cq_rtcp_iter_t it;
    cq_rtcp_header_t h;
    cq_rtcp_iter_init(&it, pkt, len);
    bool first = true;
    while (cq_rtcp_iter_next(&it, &h) > 0) {
        if (first) /* every compound opens with a report */
            assert_int_equal(h.pt, CQ_RTCP_PT_RR);
        first = false;
        if (h.pt != CQ_RTCP_PT_RTPFB || h.count != CQ_RTCP_FMT_TWCC)
            continue;
        assert_true(t->nfb < 8);
        t->count[t->nfb] = cq_twcc_parse(&h, &t->fb[t->nfb], t->pkt[t->nfb], 64);
        assert_true(t->count[t->nfb] > 0);
        t->nfb++;
    }
}

/* A packet as the relay will send it: any payload type, numbered with the transport-wide
 * extension (id 3), beside another extension. */
static void feed_numbered(struct cq_receiver *r, uint8_t pt, uint16_t tseq, uint64_t now_us) {
    uint8_t twcc[2], level[1] = {0x7f};
    assert_int_equal(cq_rtpext_transport_cc_write(tseq, twcc, sizeof twcc), 2);
    const cq_rtp_ext_t exts[] = {{CQ_RTPEXT_ID_AUDIO_LEVEL, 1, level},
                                 {CQ_RTPEXT_ID_TRANSPORT_CC, 2, twcc}};
    cq_rtp_header_t h = {.payload_type = pt, .seq = tseq, .timestamp = 7, .ssrc = 0x77770000u + pt};
    uint8_t pkt[64];
    int hl = cq_rtp_header_write(&h, exts, 2, pkt, sizeof pkt);
    assert_true(hl > 0);
    memset(pkt + hl, 0, 8);
    cq_receiver_rtp(r, pkt, (size_t)hl + 8, now_us);
}

static void expect_twcc(const twcc_seen_t *t, unsigned m, uint16_t seq, uint64_t arrival_us) {
    const cq_twcc_packet_t *p = NULL;
    for (int i = 0; i < t->count[m]; i++)
        if (t->pkt[m][i].seq == seq)
            p = &t->pkt[m][i];
    assert_non_null(p);
    if (arrival_us == 0) {
        assert_int_equal(p->received, 0);
        return;
    }
    assert_int_equal(p->received, 1);
    int64_t err = p->arrival_us - (int64_t)arrival_us;
    assert_true(err >= -CQ_TWCC_TICK_US / 2 && err <= CQ_TWCC_TICK_US / 2);
}

/* The receiver reports the arrival of every numbered packet (gaps, reordering, the wrap,
 * payloads it does not play) to the relay, 100 ms after they started to come, and a late
 * one in the next feedback. */
static void test_receiver_transport_wide_feedback(void **state) {
    (void)state;
    static twcc_seen_t seen;
    memset(&seen, 0, sizeof seen);
    struct cq_receiver *r = NULL;
    cq_receiver_config_t rc = {.own_ssrc = OWN_SSRC, .send_rtcp = on_twcc_rtcp, .ctx = &seen};
    assert_int_equal(cq_receiver_create(&r, &rc), 0);
    /* 65530 .. 9, without 65533, 2 and 3; 6 before 5; PT 100 is nobody's, 97 an RTX with no
     * video to repair, 111 audio. */
    const uint16_t order[] = {65530, 65531, 65532, 65534, 65535, 0, 1, 4, 6, 5, 7, 8, 9};
    const uint8_t pts[] = {100, 97, 111};
    uint64_t arrival[16] = {0}; /* by seq - 65530 */
    uint64_t now = T0;
    for (unsigned i = 0; i < sizeof order / sizeof order[0]; i++) {
        now += 1037;
        feed_numbered(r, pts[i % 3], order[i], now);
        arrival[(uint16_t)(order[i] - 65530)] = now;
    }
    const uint64_t first = T0 + 1037;
    for (uint64_t t = first; t < first + 100000 - TICK_US; t += TICK_US)
        cq_receiver_tick(r, t);
    assert_int_equal(seen.nfb, 0);
    for (uint64_t t = first + 100000 - TICK_US; t <= first + 100000; t += TICK_US / 2)
        cq_receiver_tick(r, t);
    assert_int_equal(seen.nfb, 1);
    assert_int_equal(seen.fb[0].sender_ssrc, OWN_SSRC);
    assert_int_equal(seen.fb[0].media_ssrc, 0);
    assert_int_equal(seen.fb[0].base_seq, 65530);
    assert_int_equal(seen.fb[0].status_count, 16);
    assert_int_equal(seen.fb[0].fb_count, 0);
    for (unsigned k = 0; k < 16; k++)
        expect_twcc(&seen, 0, (uint16_t)(65530 + k), arrival[k]);

    /* 3 comes late, 10 on time: the next feedback starts again at 3. */
    now = first + 150000;
    feed_numbered(r, 100, 3, now);
    feed_numbered(r, 100, 10, now + 500);
    for (uint64_t t = now; t <= first + 100000 + 2 * 100000; t += TICK_US)
        cq_receiver_tick(r, t);
    assert_int_equal(seen.nfb, 2);
    assert_int_equal(seen.fb[1].base_seq, 3);
    assert_int_equal(seen.fb[1].status_count, 8);
    assert_int_equal(seen.fb[1].fb_count, 1);
    expect_twcc(&seen, 1, 3, now);
    expect_twcc(&seen, 1, 4, arrival[10]);
    expect_twcc(&seen, 1, 10, now + 500);
    cq_receiver_destroy(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_receiver_video_lossless, teardown_test),
        cmocka_unit_test_teardown(test_receiver_video_nack_repaired, teardown_test),
        cmocka_unit_test_teardown(test_receiver_video_lost_for_good_pli, teardown_test),
        cmocka_unit_test_teardown(test_receiver_tl0_waited_past_short_rtt, teardown_test),
        cmocka_unit_test_teardown(test_receiver_cname_groups_audio_named_first, teardown_test),
        cmocka_unit_test_teardown(test_receiver_cname_groups_video_named_first, teardown_test),
        cmocka_unit_test_teardown(test_receiver_cname_join_keeps_rtx, teardown_test),
        cmocka_unit_test_teardown(test_receiver_lipsync_holds_pictures, teardown_test),
        cmocka_unit_test_teardown(test_receiver_padding_makes_no_remote, teardown_test),
        cmocka_unit_test_teardown(test_receiver_lipsync_holds_sound, teardown_test),
        cmocka_unit_test_teardown(test_receiver_audio_lossless, teardown_test),
        cmocka_unit_test_teardown(test_receiver_audio_lost_packet, teardown_test),
        cmocka_unit_test_teardown(test_receiver_audio_red, teardown_test),
        cmocka_unit_test_teardown(test_receiver_garbage_ignored, teardown_test),
        cmocka_unit_test(test_receiver_transport_wide_feedback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
