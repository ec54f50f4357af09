/*
 * The relay from the outside: a real relay (one worker thread) on loopback, telecentre
 * peers built from rtp/ that bind over ICE-lite and send real SRTP. Every wait is bounded.
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
#include "relay/udp.h"
#include "rtp/bytes.h"
#include "codec/rtx.h"
#include "rtp/error.h"
#include "rtp/rtcp.h"
#include "rtp/rtp.h"
#include "rtp/srtp.h"
#include "support/media.h"
#include "support/peer.h"
#include "support/test_rand.h"

#define N       3
#define SESSION 7
#define AUDIO   50
#define VIDEO   30

typedef struct {
    struct cq_relay *relay;
    uint16_t port;
    cq_relay_participant_params_t params[N];
    cq_test_peer_t peers[N];
} fixture_t;

static uint32_t audio_ssrc(int i) {
    return 0xa0000000u + (uint32_t)i;
}
static uint32_t video_ssrc(int i, int layer) {
    return 0xb0000000u + (uint32_t)(i * 16 + layer);
}

static void make_params(cq_relay_participant_params_t *p, int i) {
    memset(p, 0, sizeof *p);
    p->id = (uint32_t)(i + 1);
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "tc%d", i);
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "password-of-telecentre-%d", i);
    p->suite = CQ_SRTP_AEAD_AES_128_GCM;
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++) {
        p->key_in[k] = (uint8_t)(i * 31 + k);
        p->key_out[k] = (uint8_t)(i * 17 + k + 100);
    }
    p->audio_ssrc = audio_ssrc(i);
    p->video_layers = 2;
    p->video_ssrc[0] = video_ssrc(i, 0);
    p->video_ssrc[1] = video_ssrc(i, 1);
    p->video_rtx_ssrc[0] = video_ssrc(i, 8);
    p->subscribe_all = true;
}

static void open_peer(fixture_t *f, int i) {
    cq_test_peer_config_t cfg = {.relay_ip = "127.0.0.1",
                                 .relay_port = f->port,
                                 .relay_ufrag = f->params[i].ice_ufrag,
                                 .relay_pwd = f->params[i].ice_pwd,
                                 .local_ufrag = "peer",
                                 .suite = f->params[i].suite,
                                 .key_tx = f->params[i].key_in,
                                 .key_rx = f->params[i].key_out};
    assert_int_equal(cq_test_peer_open(&f->peers[i], &cfg), 0);
}

static int setup(void **state) {
    static fixture_t f;
    memset(&f, 0, sizeof f);
    cq_relay_config_t cfg = {.host = "127.0.0.1", .workers = 1};
    assert_int_equal(cq_relay_create(&f.relay, &cfg), 0);
    assert_int_equal(cq_relay_session_create(f.relay, SESSION, &f.port), 0);
    assert_true(f.port > 0);
    for (int i = 0; i < N; i++) {
        make_params(&f.params[i], i);
        assert_int_equal(cq_relay_participant_add(f.relay, SESSION, &f.params[i]), 0);
        open_peer(&f, i);
        assert_int_equal(cq_test_peer_bind(&f.peers[i], true, 2000), 0);
    }
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture_t *f = *state;
    for (int i = 0; i < N; i++)
        cq_test_peer_close(&f->peers[i]);
    cq_relay_destroy(f->relay);
    return 0;
}

/* A tagged packet (support/media.h). Video is one VP8 frame per packet, PictureID and
 * TL0PICIDX following the sequence number; every hundredth (the first of each burst the
 * tests send) is a keyframe, which is where a subscriber's video can start. */
static size_t media_packet(uint8_t *buf, int sender, uint32_t ssrc, uint16_t seq, bool video) {
    if (!video)
        return cq_test_audio_packet(buf, sender, ssrc, seq, (uint32_t)seq * 960u);
    cq_test_vp8_frame_t fr = {.seq = seq,
                              .ts = (uint32_t)seq * 3000u,
                              .picture_id = (uint16_t)(seq & 0x7fff),
                              .tl0picidx = (uint8_t)seq,
                              .keyframe = seq % 100 == 0};
    return cq_test_video_packet(buf, sender, ssrc, &fr);
}

static void send_media(fixture_t *f, int i, uint16_t first_seq, int audio, int video) {
    uint8_t pkt[1200];
    for (int k = 0; k < audio; k++) {
        size_t len = media_packet(pkt, i, audio_ssrc(i), (uint16_t)(first_seq + k), false);
        assert_int_equal(cq_test_peer_send_rtp(&f->peers[i], pkt, len), 0);
    }
    /* Simulcast: each frame on both layers, as an encoder pair produces them. */
    for (int k = 0; k < video; k++)
        for (int layer = 0; layer < 2; layer++) {
            size_t len =
                media_packet(pkt, i, video_ssrc(i, layer), (uint16_t)(first_seq + k), true);
            assert_int_equal(cq_test_peer_send_rtp(&f->peers[i], pkt, len), 0);
        }
}

typedef struct {
    int audio[N], video[N]; /* packets received per sender */
    int layer[N][2];        /* video packets per sender and the layer they came from */
    int wrong;              /* anything that breaks an expectation */
    uint16_t last_seq[N][2];
    uint16_t last_picture_id[N];
    bool seen[N][2];
} tally_t;

/* Receives what peer i gets until `want` media packets arrived or a bounded wait ends, and
 * checks each one: the SSRC is the one the relay promised for that sender, the payload
 * arrived intact, sequence numbers (and for video PictureIDs) run on without gaps
 * whatever layer is forwarded, and audio keeps the publisher's numbers. */
static void receive(fixture_t *f, int i, int want, tally_t *t) {
    memset(t, 0, sizeof *t);
    /* A sender i is not subscribed to (removed) has no SSRCs: its packets count as wrong. */
    cq_relay_consumer_ssrcs_t ssrcs[N] = {{0}};
    for (int j = 0; j < N; j++)
        if (j != i && cq_relay_consumer_ssrcs(f->relay, SESSION, (uint32_t)(i + 1),
                                              (uint32_t)(j + 1), &ssrcs[j]) != 0)
            memset(&ssrcs[j], 0, sizeof ssrcs[j]);
    int got = 0;
    while (got < want) {
        uint8_t buf[1600];
        bool rtcp;
        int n = cq_test_peer_recv(&f->peers[i], buf, sizeof buf, &rtcp, 2000);
        if (n == CQ_EAGAIN)
            break;
        assert_true(n > 0);
        if (rtcp)
            continue;
        got++;
        cq_rtp_view_t v;
        cq_test_media_info_t m;
        assert_true(cq_rtp_parse(buf, (size_t)n, &v) > 0);
        int sender = cq_test_media_read(&v, &m) == 0 ? m.sender : -1;
        if (sender < 0 || sender >= N || sender == i || !m.body_intact) {
            t->wrong++;
            continue;
        }
        int layer = m.ssrc == video_ssrc(sender, 0) ? 0 : m.ssrc == video_ssrc(sender, 1) ? 1 : -1;
        bool ok = m.video ? layer >= 0 && v.ssrc == ssrcs[sender].video
                          : m.ssrc == audio_ssrc(sender) && v.ssrc == ssrcs[sender].audio &&
                                v.seq == m.seq;
        int kind = m.video ? 1 : 0;
        if (ok && t->seen[sender][kind] && (uint16_t)(t->last_seq[sender][kind] + 1) != v.seq)
            ok = false;
        if (ok && m.video && t->seen[sender][1] &&
            ((t->last_picture_id[sender] + 1) & 0x7fff) != m.desc.picture_id)
            ok = false;
        if (!ok) {
            t->wrong++;
            continue;
        }
        t->seen[sender][kind] = true;
        t->last_seq[sender][kind] = v.seq;
        if (m.video) {
            t->last_picture_id[sender] = m.desc.picture_id;
            t->video[sender]++;
            t->layer[sender][layer]++;
        } else {
            t->audio[sender]++;
        }
    }
}

/*
 * Three telecentres exchange audio and two-layer simulcast: every receiver gets every
 * stream, decryptable and continuous. Nothing limits the layer here, so each video starts
 * on the first keyframe that comes (layer 0's) and moves to layer 1 at its keyframe, the
 * next packet: one packet of layer 0, then all of layer 1, numbered as one stream.
 */
static void test_forwarding_every_receiver_gets_every_stream(void **state) {
    fixture_t *f = *state;
    for (int i = 0; i < N; i++)
        send_media(f, i, 100, AUDIO, VIDEO);
    for (int i = 0; i < N; i++) {
        tally_t t;
        receive(f, i, (N - 1) * (AUDIO + VIDEO + 1), &t);
        assert_int_equal(t.wrong, 0);
        for (int j = 0; j < N; j++) {
            if (j == i)
                continue;
            assert_int_equal(t.audio[j], AUDIO);
            assert_int_equal(t.layer[j][0], 1);
            assert_int_equal(t.layer[j][1], VIDEO);
            cq_relay_consumer_stats_t cs;
            assert_int_equal(cq_relay_consumer_stats(f->relay, SESSION, (uint32_t)(i + 1),
                                                     (uint32_t)(j + 1), &cs),
                             0);
            assert_int_equal(cs.spatial, 1);
            assert_int_equal(cs.switches, 2);
            assert_int_equal(cs.packets, VIDEO + 1);
            assert_int_equal(cs.drops_layer, VIDEO - 1);
        }
        cq_relay_participant_stats_t st;
        assert_int_equal(cq_relay_participant_stats(f->relay, SESSION, (uint32_t)(i + 1), &st), 0);
        assert_true(st.bound);
        assert_int_equal(st.packets_in, AUDIO + 2 * VIDEO);
        assert_int_equal(st.packets_out, (N - 1) * (AUDIO + VIDEO + 1));
    }
    /* Subscriber-visible SSRCs are distinct from each other and from the publishers'. */
    cq_relay_consumer_ssrcs_t a, b;
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, SESSION, 1, 2, &a), 0);
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, SESSION, 1, 3, &b), 0);
    assert_int_not_equal(a.audio, b.audio);
    assert_int_not_equal(a.video, b.video);
    assert_int_not_equal(a.audio, audio_ssrc(1));
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, SESSION, 1, 1, &a), CQ_ENOENT);
}

/* 10,000 random and truncated datagrams from a stranger, forged and replayed SRTP from a
 * bound peer: all dropped and counted, and forwarding goes on unharmed. */
static void test_forwarding_survives_garbage_forgery_and_replay(void **state) {
    fixture_t *f = *state;
    cq_test_peer_t stranger;
    cq_test_peer_config_t cfg = {.relay_ip = "127.0.0.1",
                                 .relay_port = f->port,
                                 .relay_ufrag = "nobody",
                                 .relay_pwd = "nobody-knows-this-password",
                                 .suite = CQ_SRTP_AEAD_AES_128_GCM,
                                 .key_tx = f->params[0].key_in,
                                 .key_rx = f->params[0].key_out};
    assert_int_equal(cq_test_peer_open(&stranger, &cfg), 0);
    cq_test_rand_t r = {4242};
    uint8_t junk[1400];
    for (int k = 0; k < 10000; k++) {
        size_t len = 1 + cq_test_rand_below(&r, sizeof junk - 1);
        cq_test_rand_fill(&r, junk, len);
        if (k % 4 == 1)
            junk[0] = (uint8_t)(0x80 | (junk[0] & 0x3f)); /* looks like RTP */
        if (k % 4 == 2)
            junk[0] = (uint8_t)(junk[0] & 0x03); /* looks like STUN */
        assert_int_equal(cq_test_peer_send_raw(&stranger, junk, len), 0);
        if (k % 100 == 0)
            uv_sleep(1); /* keep within the socket buffer: loss here would test nothing */
    }
    /* The stranger even sends well-formed SRTP: it is not bound, so it goes nowhere. */
    uint8_t pkt[1200];
    size_t len = media_packet(pkt, 0, audio_ssrc(0), 7, false);
    assert_int_equal(cq_test_peer_send_rtp(&stranger, pkt, len), 0);
    /* A bound peer sends forged packets (random bytes after an RTP header) and replays. */
    uint8_t forged[200];
    for (int k = 0; k < 50; k++) {
        cq_test_rand_fill(&r, forged, sizeof forged);
        forged[0] = 0x80;
        forged[1] = 111;
        assert_int_equal(cq_test_peer_send_raw(&f->peers[0], forged, sizeof forged), 0);
    }
    uint8_t prot[1400];
    len = media_packet(prot, 0, audio_ssrc(0), 599, false); /* just before the run below */
    assert_int_equal(cq_srtp_protect(&f->peers[0].tx, prot, &len, sizeof prot), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(cq_test_peer_send_raw(&f->peers[0], prot, len), 0);

    /* And forwarding continues. */
    send_media(f, 0, 600, AUDIO, 0);
    for (int i = 1; i < N; i++) {
        tally_t t;
        receive(f, i, AUDIO + 1, &t);
        assert_int_equal(t.wrong, 0);
        assert_int_equal(t.audio[0], AUDIO + 1); /* the replayed packet once, then the rest */
    }
    cq_relay_worker_stats_t ws;
    assert_int_equal(cq_relay_worker_stats(f->relay, &ws), 0);
    assert_true(ws.drops_unbound + ws.drops_stun + ws.drops_garbage >= 10001);
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, SESSION, 1, &st), 0);
    assert_int_equal(st.drops_auth, 50);
    assert_int_equal(st.drops_replay, 2);
    cq_test_peer_close(&stranger);
}

/* A NAT rebinding: the peer's source port changes; an authenticated, nominating check
 * from the new port moves it there and its streams flow on. */
static void test_forwarding_follows_nat_rebinding(void **state) {
    fixture_t *f = *state;
    cq_udp_close(&f->peers[0].udp);
    assert_int_equal(cq_udp_open(&f->peers[0].udp, "127.0.0.1", 0, 1 << 20, 1 << 20), 0);
    /* Before the check, media from the new port is a stranger's. */
    send_media(f, 0, 1000, 5, 0);
    assert_int_equal(cq_test_peer_bind(&f->peers[0], true, 2000), 0);
    send_media(f, 0, 2000, AUDIO, 0);
    for (int i = 1; i < N; i++) {
        tally_t t;
        receive(f, i, AUDIO, &t);
        assert_int_equal(t.audio[0], AUDIO);
    }
    /* And what is sent to it reaches the new port. */
    send_media(f, 1, 3000, AUDIO, 0);
    tally_t t;
    receive(f, 0, AUDIO, &t);
    assert_int_equal(t.audio[1], AUDIO);
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, SESSION, 1, &st), 0);
    assert_int_equal(st.rebinds, 1);
}

typedef struct {
    uint32_t ssrc;
} bye_wanted_t;

static bool visit_bye(const cq_rtcp_header_t *h, void *ctx) {
    const bye_wanted_t *w = ctx;
    cq_rtcp_bye_t bye;
    if (cq_rtcp_bye_parse(h, &bye) != 0)
        return false;
    for (size_t i = 0; i < bye.count; i++)
        if (cq_rtcp_bye_ssrc(&bye, i) == w->ssrc)
            return true;
    return false;
}

/* Waits (bounded) for an SRTCP compound carrying a BYE that names ssrc. */
static bool got_bye_for(cq_test_peer_t *p, uint32_t ssrc) {
    bye_wanted_t w = {ssrc};
    return cq_test_peer_scan_rtcp(p, 1000, visit_bye, &w);
}

/* Empties a peer's socket of what earlier tests sent it, with a bounded wait. */
static void drain(cq_test_peer_t *p) {
    uint8_t buf[1600];
    bool rtcp;
    for (int k = 0; k < 10000 && cq_test_peer_recv(p, buf, sizeof buf, &rtcp, 50) > 0; k++)
        ;
}

static void test_forwarding_stops_for_removed_participant(void **state) {
    fixture_t *f = *state;
    drain(&f->peers[2]);
    cq_relay_consumer_ssrcs_t seen_by[2];
    for (int i = 0; i < 2; i++) {
        drain(&f->peers[i]);
        assert_int_equal(
            cq_relay_consumer_ssrcs(f->relay, SESSION, (uint32_t)(i + 1), 3, &seen_by[i]), 0);
    }
    assert_int_equal(cq_relay_participant_remove(f->relay, SESSION, 3), 0);
    /* Those who received it are told, under the SSRCs they knew it by. */
    for (int i = 0; i < 2; i++) {
        assert_true(got_bye_for(&f->peers[i], seen_by[i].audio));
    }
    assert_int_equal(cq_relay_participant_remove(f->relay, SESSION, 3), CQ_ENOENT);
    send_media(f, 0, 4000, 10, 0);
    tally_t t;
    receive(f, 1, 10, &t);
    assert_int_equal(t.audio[0], 10);
    /* Participant 3 is gone: nothing reaches its peer any more. */
    uint8_t buf[1600];
    bool rtcp;
    assert_int_equal(cq_test_peer_recv(&f->peers[2], buf, sizeof buf, &rtcp, 300), CQ_EAGAIN);
    /* A re-added participant with the same credentials binds again. */
    assert_int_equal(cq_relay_participant_add(f->relay, SESSION, &f->params[2]), 0);
    assert_int_equal(cq_relay_participant_add(f->relay, SESSION, &f->params[2]), CQ_EEXIST);
}

/* A fresh session with two bound participants (params base and base + 1), for tests that
 * need a clean slate; the caller closes the session and the peers. */
static void pair_session(fixture_t *f, uint32_t session, int base,
                         cq_relay_participant_params_t p[2], cq_test_peer_t peer[2]) {
    uint16_t port;
    assert_int_equal(cq_relay_session_create(f->relay, session, &port), 0);
    for (int i = 0; i < 2; i++) {
        make_params(&p[i], base + i);
        assert_int_equal(cq_test_peer_join(&peer[i], f->relay, session, port, &p[i]), 0);
    }
}

/* Closing a whole session with everyone bound: each hears the others' BYE, nothing is
 * touched after it is freed (the sanitizer build checks), and the session is gone. */
static void test_forwarding_session_close_says_bye(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    pair_session(f, 42, 20, p, peer);
    cq_relay_consumer_ssrcs_t s01, s10; /* s01: what peer 0 calls peer 1, and back */
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, 42, p[0].id, p[1].id, &s01), 0);
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, 42, p[1].id, p[0].id, &s10), 0);
    assert_int_equal(cq_relay_session_close(f->relay, 42), 0);
    /* Participants leave one by one, and whichever goes first is announced to the other
     * (the last has nobody left to tell). */
    bool bye0 = got_bye_for(&peer[0], s01.audio);
    bool bye1 = !bye0 && got_bye_for(&peer[1], s10.audio);
    assert_true(bye0 || bye1);
    assert_int_equal(
        cq_relay_participant_stats(f->relay, 42, p[0].id, &(cq_relay_participant_stats_t){0}),
        CQ_ENOENT);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
}

typedef struct {
    bool sr;
    uint32_t ssrc;
    cq_rtcp_sender_info_t info;
    char cname[64];
    uint32_t rtx_ssrc; /* (in) a second SSRC whose CNAME to look for */
    char rtx_cname[64];
} sr_seen_t;

static bool visit_sender_report(const cq_rtcp_header_t *h, void *ctx) {
    sr_seen_t *out = ctx;
    cq_rtcp_sr_t sr;
    cq_rtcp_sdes_t sdes;
    cq_rtcp_sdes_item_t item;
    if (cq_rtcp_sr_parse(h, &sr) == 0) {
        out->sr = true;
        out->ssrc = sr.ssrc;
        out->info = sr.info;
        return true;
    }
    if (out->sr && cq_rtcp_sdes_parse(h, &sdes) == 0 &&
        cq_rtcp_sdes_find(&sdes, out->ssrc, CQ_RTCP_SDES_CNAME, &item) == 0 &&
        item.len < sizeof out->cname)
        memcpy(out->cname, item.text, item.len);
    if (out->sr && cq_rtcp_sdes_parse(h, &sdes) == 0 &&
        cq_rtcp_sdes_find(&sdes, out->rtx_ssrc, CQ_RTCP_SDES_CNAME, &item) == 0 &&
        item.len < sizeof out->rtx_cname)
        memcpy(out->rtx_cname, item.text, item.len);
    return false;
}

/* Waits (bounded) for the next SRTCP compound with an SR and returns its fields, with the
 * CNAMEs the SDES that follows it in the compound gives its SSRC and rtx_ssrc. */
static bool next_sender_report(cq_test_peer_t *p, uint32_t rtx_ssrc, sr_seen_t *out) {
    memset(out, 0, sizeof *out);
    out->rtx_ssrc = rtx_ssrc;
    return cq_test_peer_scan_rtcp(p, 1000, visit_sender_report, out);
}

/* Lip sync through the relay: a publisher's SR reaches each subscriber from the SSRC it
 * knows the stream by, with the publisher's NTP/RTP mapping, the counts of what that
 * subscriber was sent, and one CNAME for the publisher's audio and video. */
static void test_forwarding_relays_sender_reports(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    pair_session(f, 43, 30, p, peer);
    uint8_t pkt[1200];
    for (uint16_t k = 0; k < 10; k++) {
        size_t len = media_packet(pkt, 30, audio_ssrc(30), k, false);
        assert_int_equal(cq_test_peer_send_rtp(&peer[0], pkt, len), 0);
    }
    for (uint16_t k = 0; k < 4; k++) {
        size_t len = media_packet(pkt, 30, video_ssrc(30, 0), k, true);
        assert_int_equal(cq_test_peer_send_rtp(&peer[0], pkt, len), 0);
    }
    const uint32_t send_ssrc[2] = {audio_ssrc(30), video_ssrc(30, 0)};
    const uint64_t ntp[2] = {0xe1a2b3c4d5e6f708ull, 0xe1a2b3c4d5e6f709ull};
    const uint32_t rtp_ts[2] = {123456, 654321};
    for (int k = 0; k < 2; k++) {
        cq_rtcp_sender_info_t info = {ntp[k], rtp_ts[k], 999, 99999};
        uint8_t rtcp[64];
        int n = cq_rtcp_sr_write(send_ssrc[k], &info, NULL, 0, rtcp, sizeof rtcp);
        assert_true(n > 0);
        assert_int_equal(cq_test_peer_send_rtcp(&peer[0], rtcp, (size_t)n), 0);
    }
    cq_relay_consumer_ssrcs_t seen;
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, 43, p[1].id, p[0].id, &seen), 0);
    sr_seen_t a, v;
    assert_true(next_sender_report(&peer[1], seen.video_rtx, &a));
    assert_true(next_sender_report(&peer[1], seen.video_rtx, &v));
    assert_int_equal(a.ssrc, seen.audio);
    assert_true(a.info.ntp == ntp[0]);
    assert_int_equal(a.info.rtp_ts, rtp_ts[0]);
    assert_int_equal(a.info.packet_count, 10);
    assert_int_equal(a.info.octet_count, 10 * (7 + 60)); /* payload octets only */
    assert_int_equal(v.ssrc, seen.video);
    assert_true(v.info.ntp == ntp[1]);
    assert_int_equal(v.info.rtp_ts, rtp_ts[1]);
    assert_int_equal(v.info.packet_count, 4);
    assert_true(a.cname[0] != '\0');
    assert_string_equal(a.cname, v.cname);
    /* The video's RTX SSRC is named with it, so repairs can be told whose they are; the
     * audio SR names only the audio. */
    assert_string_equal(v.rtx_cname, v.cname);
    assert_string_equal(a.rtx_cname, "");
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, 43, p[0].id, &st), 0);
    assert_int_equal(st.rtcp_in, 2);
    assert_int_equal(cq_relay_session_close(f->relay, 43), 0);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
}

typedef struct {
    uint32_t media_ssrc;
    int count;
} pli_count_t;

static bool visit_pli(const cq_rtcp_header_t *h, void *ctx) {
    pli_count_t *c = ctx;
    cq_rtcp_fb_t pli;
    if (cq_rtcp_pli_parse(h, &pli) == 0 && pli.media_ssrc == c->media_ssrc)
        c->count++;
    return false; /* keep counting until quiet */
}

/* Counts PLIs for media_ssrc that reach p within a bounded quiet time. */
static int count_plis(cq_test_peer_t *p, uint32_t media_ssrc, int quiet_ms) {
    pli_count_t c = {media_ssrc, 0};
    cq_test_peer_scan_rtcp(p, quiet_ms, visit_pli, &c);
    return c.count;
}

/* Keyframe requests: a receiver's PLI (for the SSRC it knows the video by) reaches the
 * publisher as a PLI for its own SSRC; a burst is coalesced into one per ~300 ms; while
 * the keyframe asked for has not come (for two round trips and 100 ms) repeats are coalesced
 * too, and asked again after that (the PLI or the keyframe was lost); a request that
 * crossed the keyframe the relay just sent that receiver is answered by it; a FIR counts
 * as a request. */
static void test_forwarding_coalesces_keyframe_requests(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    pair_session(f, 44, 40, p, peer);
    cq_relay_consumer_ssrcs_t seen; /* how B (peer 1) knows A */
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, 44, p[1].id, p[0].id, &seen), 0);
    /* A forwards layer 0 (a keyframe): B's requests are for that layer. */
    uint8_t pkt[1200];
    size_t len = media_packet(pkt, 40, video_ssrc(40, 0), 0, true);
    assert_int_equal(cq_test_peer_send_rtp(&peer[0], pkt, len), 0);
    drain(&peer[1]);
    uint8_t rtcp[64];
    int n = cq_rtcp_pli_write(0x1234, seen.video, rtcp, sizeof rtcp);
    assert_true(n > 0);
    /* Right after that keyframe: B asked before it had it (no round trip measured yet:
     * the relay's guess, 200 ms, and 100 ms more). */
    assert_int_equal(cq_test_peer_send_rtcp(&peer[1], rtcp, (size_t)n), 0);
    assert_int_equal(count_plis(&peer[0], video_ssrc(40, 0), 150), 0);

    uv_sleep(200); /* past the crossing */
    for (int k = 0; k < 5; k++)
        assert_int_equal(cq_test_peer_send_rtcp(&peer[1], rtcp, (size_t)n), 0);
    assert_int_equal(count_plis(&peer[0], video_ssrc(40, 0), 150), 1);

    /* No keyframe has come, and less than two round trips (the relay's guess, 200 ms)
     * and 100 ms have passed: B's repeat (a FIR) waits for it. */
    uv_sleep(150);
    uint8_t fir[64] = {0x84, 206, 0, 4}; /* PSFB FMT 4, length 4 words: FIR with one entry */
    cq_store_be32(fir + 4, 0x1234);
    cq_store_be32(fir + 8, 0);
    cq_store_be32(fir + 12, seen.video);
    fir[16] = 1; /* command sequence number */
    assert_int_equal(cq_test_peer_send_rtcp(&peer[1], fir, 20), 0);
    assert_int_equal(count_plis(&peer[0], video_ssrc(40, 0), 150), 0);
    /* Past them, still no keyframe: the request or the keyframe was lost, asked again. */
    uv_sleep(150);
    fir[16] = 2;
    assert_int_equal(cq_test_peer_send_rtcp(&peer[1], fir, 20), 0);
    assert_int_equal(count_plis(&peer[0], video_ssrc(40, 0), 150), 1);

    /* The keyframe comes; once B has had it, a new loss is a new request. */
    len = media_packet(pkt, 40, video_ssrc(40, 0), 100, true);
    assert_int_equal(cq_test_peer_send_rtp(&peer[0], pkt, len), 0);
    drain(&peer[1]);
    uv_sleep(350);
    fir[16] = 3;
    assert_int_equal(cq_test_peer_send_rtcp(&peer[1], fir, 20), 0);
    assert_int_equal(count_plis(&peer[0], video_ssrc(40, 0), 150), 1);

    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, 44, p[1].id, &st), 0);
    assert_int_equal(st.keyframe_requests_in, 9);
    assert_int_equal(cq_relay_participant_stats(f->relay, 44, p[0].id, &st), 0);
    assert_int_equal(st.keyframe_requests_sent, 3);
    assert_int_equal(st.keyframe_requests_coalesced, 6);
    assert_int_equal(cq_relay_session_close(f->relay, 44), 0);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
}

typedef struct {
    uint32_t ssrc;
    cq_rtcp_report_t block;
} rr_wanted_t;

/* An RR block about w->ssrc that echoes an SR (LSR set). */
static bool visit_rr_with_lsr(const cq_rtcp_header_t *h, void *ctx) {
    rr_wanted_t *w = ctx;
    cq_rtcp_rr_t rr;
    return cq_rtcp_rr_parse(h, &rr) == 0 &&
           cq_rtcp_report_find(&rr.reports, w->ssrc, &w->block) == 0 && w->block.lsr != 0;
}

typedef struct {
    uint32_t media_ssrc;
    uint16_t seq;
} nack_wanted_t;

/* A NACK for media_ssrc whose first requested sequence number is seq. */
static bool visit_nack_for(const cq_rtcp_header_t *h, void *ctx) {
    const nack_wanted_t *w = ctx;
    cq_rtcp_nack_t nack;
    uint16_t seqs[17];
    return cq_rtcp_nack_parse(h, &nack) == 0 && nack.media_ssrc == w->media_ssrc &&
           cq_rtcp_nack_expand(&nack, seqs, 17) >= 1 && seqs[0] == w->seq;
}

/* The relay reports to each publisher what it received: loss, highest sequence and the
 * last SR echoed back (LSR), about once a second. */
static void test_forwarding_sends_receiver_reports_to_publishers(void **state) {
    fixture_t *f = *state;
    uint16_t port;
    assert_int_equal(cq_relay_session_create(f->relay, 45, &port), 0);
    cq_relay_participant_params_t p;
    make_params(&p, 50);
    assert_int_equal(cq_relay_participant_add(f->relay, 45, &p), 0);
    cq_test_peer_t peer;
    cq_test_peer_config_t cfg = {.relay_ip = "127.0.0.1",
                                 .relay_port = port,
                                 .relay_ufrag = p.ice_ufrag,
                                 .relay_pwd = p.ice_pwd,
                                 .suite = p.suite,
                                 .key_tx = p.key_in,
                                 .key_rx = p.key_out};
    assert_int_equal(cq_test_peer_open(&peer, &cfg), 0);
    assert_int_equal(cq_test_peer_bind(&peer, true, 2000), 0);
    uint8_t pkt[1200];
    for (uint16_t k = 0; k < 100; k++) {
        if (k % 10 == 5)
            continue; /* lost on the way */
        size_t len = media_packet(pkt, 50, audio_ssrc(50), k, false);
        assert_int_equal(cq_test_peer_send_rtp(&peer, pkt, len), 0);
    }
    const uint64_t ntp = 0x0102030405060708ull;
    cq_rtcp_sender_info_t info = {ntp, 16000, 90, 6030};
    uint8_t rtcp[64];
    int n = cq_rtcp_sr_write(audio_ssrc(50), &info, NULL, 0, rtcp, sizeof rtcp);
    assert_int_equal(cq_test_peer_send_rtcp(&peer, rtcp, (size_t)n), 0);

    rr_wanted_t w = {audio_ssrc(50), {0}};
    bool found = cq_test_peer_scan_rtcp(&peer, 3000, visit_rr_with_lsr, &w);
    cq_rtcp_report_t block = w.block;
    assert_true(found);
    assert_int_equal(block.cumulative_lost, 10);
    assert_int_equal(block.highest_seq, 99);
    assert_true(block.fraction_lost > 0);
    assert_int_equal(block.lsr, 0x03040506);
    assert_true(block.dlsr < 3 * 65536); /* the SR arrived less than 3 s before */
    assert_int_equal(cq_relay_session_close(f->relay, 45), 0);
    cq_test_peer_close(&peer);
}

/* What a subscriber's NACKs came to, as its participant counters say. */
typedef struct {
    uint64_t in, rtx, limited, unanswered, unsent;
} nack_counts_t;

static void expect_nack_counts(fixture_t *f, uint32_t session, uint32_t id, nack_counts_t want) {
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, session, id, &st), 0);
    assert_int_equal(st.nacks_in, want.in);
    assert_int_equal(st.rtx_sent, want.rtx);
    assert_int_equal(st.nacks_limited, want.limited);
    assert_int_equal(st.nacks_unanswered, want.unanswered);
    assert_int_equal(st.nacks_unsent, want.unsent);
}

/* The next RTX packet p receives (RTCP skipped), checked for the RTX SSRC and payload
 * type chasqui announces, into buf and *v; false when none comes within 300 ms. */
static bool next_rtx(cq_test_peer_t *p, uint32_t rtx_ssrc, uint8_t buf[1600], cq_rtp_view_t *v) {
    for (int k = 0; k < 100; k++) {
        bool is_rtcp;
        int len = cq_test_peer_recv(p, buf, 1600, &is_rtcp, 300);
        if (len == CQ_EAGAIN)
            return false;
        if (len <= 0 || is_rtcp)
            continue;
        assert_true(cq_rtp_parse(buf, (size_t)len, v) > 0);
        assert_int_equal(v->ssrc, rtx_ssrc);
        assert_int_equal(v->payload_type, 97);
        return true;
    }
    return false;
}

/* A session of two (pair_session), in which the first has sent packets 0 .. count-1 of
 * its video and the second has received them; *seen: how the second knows that video. */
static void video_forwarded(fixture_t *f, uint32_t session, int base, uint16_t count,
                            cq_relay_participant_params_t p[2], cq_test_peer_t peer[2],
                            cq_relay_consumer_ssrcs_t *seen) {
    pair_session(f, session, base, p, peer);
    uint8_t pkt[1200];
    for (uint16_t k = 0; k < count; k++) {
        size_t len = media_packet(pkt, base, video_ssrc(base, 0), k, true);
        assert_int_equal(cq_test_peer_send_rtp(&peer[0], pkt, len), 0);
    }
    drain(&peer[1]);
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, session, p[1].id, p[0].id, seen), 0);
}

/* A receiver's NACK is answered from the relay's cache as RTX: on the RTX SSRC it was
 * given, payload type 97, the original sequence number first, the original payload after;
 * a NACK repeated at once is not answered twice; a packet never sent cannot be. */
static void test_forwarding_answers_nacks_with_rtx(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    cq_relay_consumer_ssrcs_t seen;
    video_forwarded(f, 46, 60, 20, p, peer, &seen);
    cq_rtcp_nack_pair_t pair = {5, 1u << 1}; /* 5 and 7 */
    uint8_t rtcp[64];
    int n = cq_rtcp_nack_write(0x55, seen.video, &pair, 1, rtcp, sizeof rtcp);
    assert_true(n > 0);
    assert_int_equal(cq_test_peer_send_rtcp(&peer[1], rtcp, (size_t)n), 0);
    assert_int_equal(cq_test_peer_send_rtcp(&peer[1], rtcp, (size_t)n), 0); /* at once again */
    cq_rtcp_nack_pair_t never = {1000, 0};
    n = cq_rtcp_nack_write(0x55, seen.video, &never, 1, rtcp, sizeof rtcp);
    assert_int_equal(cq_test_peer_send_rtcp(&peer[1], rtcp, (size_t)n), 0);

    int rtx = 0;
    uint16_t osn[4];
    uint8_t buf[1600];
    cq_rtp_view_t v;
    while (next_rtx(&peer[1], seen.video_rtx, buf, &v)) {
        uint16_t orig = cq_load_be16(v.payload);
        /* After the OSN: the original payload, which names its own sequence number. */
        const uint8_t *tag = v.payload + 2 + CQ_TEST_VP8_PREFIX;
        assert_int_equal(tag[0], 60);
        assert_int_equal(cq_load_be32(tag + 1), video_ssrc(60, 0));
        assert_int_equal(cq_load_be16(tag + 5), orig);
        assert_true(rtx < 4);
        osn[rtx++] = orig;
    }
    assert_int_equal(rtx, 2);
    assert_int_equal(osn[0], 5);
    assert_int_equal(osn[1], 7);
    expect_nack_counts(
        f, 46, p[1].id,
        (nack_counts_t){.in = 5, .rtx = 2, .limited = 2, .unanswered = 1, .unsent = 1});
    assert_int_equal(cq_relay_session_close(f->relay, 46), 0);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
}

/* A packet is repaired for two seconds after it reached the relay: it may have waited up
 * to a second in a slow receiver's pacer, and its receiver asks for up to a second after
 * it found it missing. The relay that kept its packets for one second left unanswered
 * every request for what its pacer had held, and a 3G receiver's picture froze for want
 * of repairs it asked for in time. */
static void test_forwarding_answers_nacks_for_two_seconds(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    cq_relay_consumer_ssrcs_t seen;
    video_forwarded(f, 49, 63, 10, p, peer, &seen);
    uint8_t rtcp[64], buf[1600];
    cq_rtp_view_t v;
    const unsigned waits_ms[2] = {1500, 1000}; /* 1.5 s after they came, then 2.5 s */
    const uint16_t asked[2] = {3, 6};
    for (int i = 0; i < 2; i++) {
        uv_sleep(waits_ms[i]);
        cq_rtcp_nack_pair_t pair = {asked[i], 0};
        int n = cq_rtcp_nack_write(0x55, seen.video, &pair, 1, rtcp, sizeof rtcp);
        assert_true(n > 0);
        assert_int_equal(cq_test_peer_send_rtcp(&peer[1], rtcp, (size_t)n), 0);
        bool answered = next_rtx(&peer[1], seen.video_rtx, buf, &v);
        assert_int_equal(answered, i == 0);
        if (answered)
            assert_int_equal(cq_load_be16(v.payload), asked[0]);
    }
    expect_nack_counts(f, 49, p[1].id, (nack_counts_t){.in = 2, .rtx = 1, .unanswered = 1});
    assert_int_equal(cq_relay_session_close(f->relay, 49), 0);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
}

/* A cached packet the relay cannot resend (one that forwards, but has no room left for
 * RTX's two-byte OSN in a send slot) is counted unanswered and spends none of the RTX
 * budget: the repair asked for next still goes. The peer's sender stops at an Ethernet
 * MTU's datagram; the relay takes up to its receive slot, so this one is protected and
 * sent by hand. */
static void test_forwarding_unsendable_repair_costs_nothing(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    pair_session(f, 48, 62, p, peer);
    const size_t largest = CQ_UDP_SLOT_SIZE - CQ_SRTP_PROTECT_HEADROOM; /* forwards */
    uint8_t pkt[CQ_UDP_SLOT_SIZE];
    for (uint16_t k = 0; k < 21; k++) {
        size_t len = media_packet(pkt, 62, video_ssrc(62, 0), k, true);
        /* 19 a large packet, 20 the largest that forwards: padding in the VP8 payload. */
        size_t want = k == 20 ? largest : k == 19 ? 1000 : len;
        memset(pkt + len, 0xa5, want - len);
        assert_int_equal(cq_srtp_protect(&peer[0].tx, pkt, &want, sizeof pkt), 0);
        assert_int_equal(cq_test_peer_send_raw(&peer[0], pkt, want), 0);
    }
    drain(&peer[1]);
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, 48, p[1].id, &st), 0);
    assert_int_equal(st.packets_out, 21); /* the largest was forwarded */

    cq_relay_consumer_ssrcs_t seen;
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, 48, p[1].id, p[0].id, &seen), 0);
    uint8_t rtcp[64];
    for (uint16_t seq = 20; seq >= 19; seq--) {
        cq_rtcp_nack_pair_t pair = {seq, 0};
        int n = cq_rtcp_nack_write(0x55, seen.video, &pair, 1, rtcp, sizeof rtcp);
        assert_true(n > 0);
        assert_int_equal(cq_test_peer_send_rtcp(&peer[1], rtcp, (size_t)n), 0);
    }
    int rtx = 0;
    uint8_t buf[1600];
    cq_rtp_view_t v;
    while (rtx < 4 && next_rtx(&peer[1], seen.video_rtx, buf, &v)) {
        assert_int_equal(cq_load_be16(v.payload), 19);
        rtx++;
    }
    assert_int_equal(rtx, 1);
    expect_nack_counts(f, 48, p[1].id, (nack_counts_t){.in = 2, .rtx = 1, .unanswered = 1});
    assert_int_equal(cq_relay_session_close(f->relay, 48), 0);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
}

/* A loss on the publisher's uplink: the relay NACKs the publisher for it, and the
 * publisher's RTX reaches the receiver as the original packet, filling its gap. */
static void test_forwarding_recovers_publisher_losses(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p[2];
    cq_test_peer_t peer[2];
    pair_session(f, 47, 70, p, peer);
    uint8_t pkt[1200];
    for (uint16_t k = 0; k < 10; k++) {
        if (k == 5)
            continue; /* lost on the uplink */
        size_t len = media_packet(pkt, 70, video_ssrc(70, 0), k, true);
        assert_int_equal(cq_test_peer_send_rtp(&peer[0], pkt, len), 0);
    }
    /* The relay asks the publisher for 5. */
    nack_wanted_t nw = {video_ssrc(70, 0), 5};
    bool asked = cq_test_peer_scan_rtcp(&peer[0], 2000, visit_nack_for, &nw);
    assert_true(asked);
    /* The publisher answers with RTX on its RTX SSRC. */
    size_t len = media_packet(pkt, 70, video_ssrc(70, 0), 5, true);
    uint8_t rtx[1300];
    int n = cq_rtx_wrap(pkt, 12, len - 12, 97, 1, p[0].video_rtx_ssrc[0], rtx, sizeof rtx);
    assert_true(n > 0);
    assert_int_equal(cq_test_peer_send_rtp(&peer[0], rtx, (size_t)n), 0);
    /* And again (a request sent twice on a long round trip is answered twice): the relay
     * has it now, and forwards it once. */
    n = cq_rtx_wrap(pkt, 12, len - 12, 97, 2, p[0].video_rtx_ssrc[0], rtx, sizeof rtx);
    assert_true(n > 0);
    assert_int_equal(cq_test_peer_send_rtp(&peer[0], rtx, (size_t)n), 0);

    cq_relay_consumer_ssrcs_t seen;
    assert_int_equal(cq_relay_consumer_ssrcs(f->relay, 47, p[1].id, p[0].id, &seen), 0);
    unsigned got[10] = {0};
    for (int k = 0; k < 100; k++) {
        uint8_t buf[1600];
        bool is_rtcp;
        int m = cq_test_peer_recv(&peer[1], buf, sizeof buf, &is_rtcp, 500);
        if (m == CQ_EAGAIN)
            break;
        if (m <= 0 || is_rtcp)
            continue;
        cq_rtp_view_t v;
        assert_true(cq_rtp_parse(buf, (size_t)m, &v) > 0);
        assert_int_equal(v.ssrc, seen.video);
        assert_int_equal(v.payload_type, 96);
        cq_test_media_info_t info;
        assert_int_equal(cq_test_media_read(&v, &info), 0);
        assert_int_equal(info.seq, v.seq); /* the payload is that packet's */
        if (v.seq < 10)
            got[v.seq]++;
    }
    for (int k = 0; k < 10; k++)
        assert_int_equal(got[k], 1);
    cq_relay_participant_stats_t st;
    assert_int_equal(cq_relay_participant_stats(f->relay, 47, p[0].id, &st), 0);
    assert_true(st.nacks_sent >= 1);
    assert_int_equal(st.rtx_recovered, 1);
    assert_int_equal(st.rtx_duplicates, 1);
    assert_int_equal(cq_relay_session_close(f->relay, 47), 0);
    for (int i = 0; i < 2; i++)
        cq_test_peer_close(&peer[i]);
}

static void test_relay_api_rejects_bad_requests(void **state) {
    fixture_t *f = *state;
    cq_relay_participant_params_t p;
    make_params(&p, 9);
    assert_int_equal(cq_relay_participant_add(f->relay, 999, &p), CQ_ENOENT);
    p.video_ssrc[1] = p.audio_ssrc; /* duplicated SSRC */
    assert_int_equal(cq_relay_participant_add(f->relay, SESSION, &p), CQ_EINVAL);
    make_params(&p, 9);
    strcpy(p.ice_pwd, "short");
    assert_int_equal(cq_relay_participant_add(f->relay, SESSION, &p), CQ_EINVAL);
    make_params(&p, 9);
    p.video_layers = 4;
    assert_int_equal(cq_relay_participant_add(f->relay, SESSION, &p), CQ_EINVAL);
    make_params(&p, 9);
    strcpy(p.ice_ufrag, "tc0"); /* taken */
    assert_int_equal(cq_relay_participant_add(f->relay, SESSION, &p), CQ_EEXIST);
    assert_int_equal(cq_relay_session_create(f->relay, SESSION, NULL), CQ_EEXIST);
    assert_int_equal(cq_relay_subscribe(f->relay, SESSION, 1, 2), CQ_EEXIST);
    assert_int_equal(cq_relay_subscribe(f->relay, SESSION, 1, 1), CQ_EINVAL);
    assert_int_equal(cq_relay_unsubscribe(f->relay, SESSION, 1, 2), 0);
    assert_int_equal(cq_relay_unsubscribe(f->relay, SESSION, 1, 2), CQ_ENOENT);
    assert_int_equal(cq_relay_subscribe(f->relay, SESSION, 1, 2), 0);
    assert_int_equal(cq_relay_session_close(f->relay, 999), CQ_ENOENT);
    uint16_t port;
    assert_int_equal(cq_relay_session_create(f->relay, 8, &port), 0);
    assert_int_equal(cq_relay_session_close(f->relay, 8), 0);
}

/* subscribe_all ties a participant to those who publish: a publisher's arrival subscribes
 * the viewers already there and a viewer's arrival subscribes it to the publishers, but two
 * viewers (nothing to send each other) get no consumer. cq_relay_subscribe answers
 * CQ_EEXIST for a pair that is tied, and 0 for one that was not. */
static void test_subscribe_all_ties_publishers_only(void **state) {
    fixture_t *f = *state;
    uint16_t port;
    assert_int_equal(cq_relay_session_create(f->relay, 9, &port), 0);
    cq_relay_participant_params_t p;
    const int viewer_a = 20, viewer_b = 21, presenter = 22, viewer_c = 23;
    for (int i = viewer_a; i <= viewer_c; i++) {
        make_params(&p, i);
        if (i != presenter) {
            p.audio_ssrc = 0;
            p.video_layers = 0;
        }
        assert_int_equal(cq_relay_participant_add(f->relay, 9, &p), 0);
    }
    const uint32_t a = (uint32_t)viewer_a + 1, b = (uint32_t)viewer_b + 1,
                   pr = (uint32_t)presenter + 1, c = (uint32_t)viewer_c + 1;
    cq_relay_consumer_stats_t st;
    for (uint32_t v = a; v <= c; v++) {
        if (v == pr)
            continue;
        assert_int_equal(cq_relay_subscribe(f->relay, 9, v, pr), CQ_EEXIST);
        assert_int_equal(cq_relay_consumer_stats(f->relay, 9, v, pr, &st), 0);
        assert_int_equal(cq_relay_consumer_stats(f->relay, 9, pr, v, &st), CQ_ENOENT);
    }
    assert_int_equal(cq_relay_consumer_stats(f->relay, 9, a, b, &st), CQ_ENOENT);
    assert_int_equal(cq_relay_consumer_stats(f->relay, 9, c, a, &st), CQ_ENOENT);
    /* Asked for by name, a viewer can still be subscribed to one that publishes nothing. */
    assert_int_equal(cq_relay_subscribe(f->relay, 9, a, b), 0);
    assert_int_equal(cq_relay_consumer_stats(f->relay, 9, a, b, &st), 0);
    assert_int_equal(cq_relay_session_close(f->relay, 9), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forwarding_every_receiver_gets_every_stream),
        cmocka_unit_test(test_forwarding_survives_garbage_forgery_and_replay),
        cmocka_unit_test(test_forwarding_follows_nat_rebinding),
        cmocka_unit_test(test_forwarding_stops_for_removed_participant),
        cmocka_unit_test(test_forwarding_session_close_says_bye),
        cmocka_unit_test(test_forwarding_relays_sender_reports),
        cmocka_unit_test(test_forwarding_coalesces_keyframe_requests),
        cmocka_unit_test(test_forwarding_sends_receiver_reports_to_publishers),
        cmocka_unit_test(test_forwarding_answers_nacks_with_rtx),
        cmocka_unit_test(test_forwarding_answers_nacks_for_two_seconds),
        cmocka_unit_test(test_forwarding_unsendable_repair_costs_nothing),
        cmocka_unit_test(test_forwarding_recovers_publisher_losses),
        cmocka_unit_test(test_relay_api_rejects_bad_requests),
        cmocka_unit_test(test_subscribe_all_ties_publishers_only),
    };
    return cmocka_run_group_tests_name("relay/forwarding", tests, setup, teardown);
}
