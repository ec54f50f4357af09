/*
 * Two telecentres through a real relay on loopback, each a whole endpoint: synthetic
 * camera and microphone, VP8 simulcast and Opus, SRTP, the relay's selection, jitter
 * buffers and decoders. What one paints the other must decode: frame numbers in order,
 * PSNR above 30 dB, audio played rather than concealed. Runs a bounded few seconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <uv.h>

#include "client/endpoint.h"
#include "client/mediafile.h"
#include "client/synth.h"
#include "codec/vp8_codec.h"
#include "relay/relay.h"
#include "rtp/error.h"

#define SESSION 9
#define RUN_MS  4000

typedef struct {
    uv_loop_t loop;
    struct cq_relay *relay;
    uint16_t port;
    cq_relay_participant_params_t params[2];
    struct cq_endpoint *ep[2];
} fixture_t;

static void make_params(cq_relay_participant_params_t *p, int i) {
    memset(p, 0, sizeof *p);
    p->id = (uint32_t)(i + 1);
    snprintf(p->ice_ufrag, sizeof p->ice_ufrag, "loop%d", i);
    snprintf(p->ice_pwd, sizeof p->ice_pwd, "password-of-loopback-%d", i);
    p->suite = CQ_SRTP_AEAD_AES_128_GCM;
    for (int k = 0; k < CQ_SRTP_MAX_KEY_LEN; k++) {
        p->key_in[k] = (uint8_t)(i * 41 + k);
        p->key_out[k] = (uint8_t)(i * 7 + k + 50);
    }
    p->audio_ssrc = 0xa2000000u + (uint32_t)i;
    p->video_layers = 2;
    for (unsigned l = 0; l < 2; l++) {
        p->video_ssrc[l] = 0xb2000000u + (uint32_t)(i * 16) + l;
        p->video_rtx_ssrc[l] = 0xc2000000u + (uint32_t)(i * 16) + l;
    }
    p->subscribe_all = true;
}

static cq_endpoint_config_t endpoint_config(fixture_t *f, int i, char *cname, size_t cap) {
    const cq_relay_participant_params_t *p = &f->params[i];
    snprintf(cname, cap, "chasqui-%u-%u", SESSION, (unsigned)p->id);
    cq_endpoint_config_t c = {.relay_address = "127.0.0.1",
                              .relay_port = f->port,
                              .relay_ufrag = p->ice_ufrag,
                              .relay_pwd = p->ice_pwd,
                              .suite = p->suite,
                              .key_tx = p->key_in,
                              .key_rx = p->key_out,
                              .cname = cname,
                              .video_source = "synth",
                              .audio_source = "synth"};
    c.sender = (cq_sender_config_t){.audio_ssrc = p->audio_ssrc,
                                    .audio_bps = 24000,
                                    .video_layers = 2,
                                    .width = 320,
                                    .height = 180,
                                    .fps = 15,
                                    .video_kbps = 400};
    for (unsigned l = 0; l < 2; l++) {
        c.sender.video_ssrc[l] = p->video_ssrc[l];
        c.sender.rtx_ssrc[l] = p->video_rtx_ssrc[l];
    }
    return c;
}

static void on_stop(uv_timer_t *t) {
    uv_stop(t->loop);
}

static void run_for(fixture_t *f, uint64_t ms) {
    uv_timer_t t;
    uv_timer_init(&f->loop, &t);
    uv_timer_start(&t, on_stop, ms, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* Telecentre 1's files of telecentre 2: the pictures in order and readable, the sound
 * at least a second long and recognisably the synthetic tones. */
static void check_recordings(const char *dir) {
    char path[128];
    snprintf(path, sizeof path, "%s/2.y4m", dir);
    struct cq_y4m *y4m;
    assert_int_equal(cq_y4m_open(&y4m, path), 0);
    unsigned w, h, fps;
    cq_y4m_size(y4m, &w, &h, &fps);
    assert_int_equal(w, 320);
    assert_int_equal(h, 180);
    static uint8_t pic[320 * 180 * 3 / 2];
    int frames = 0;
    uint32_t last = 0;
    while (cq_y4m_read(y4m, pic, pic + 320 * 180, pic + 320 * 180 * 5 / 4) == 0) {
        uint32_t n, ms;
        assert_int_equal(cq_synth_video_read(pic, 320, 320, 180, &n, &ms), 0);
        assert_true(frames == 0 || n > last);
        last = n;
        frames++;
    }
    cq_y4m_close(y4m);
    assert_true(frames >= 20);
    assert_int_equal(unlink(path), 0);

    snprintf(path, sizeof path, "%s/2.wav", dir);
    struct cq_wav *wav;
    assert_int_equal(cq_wav_open(&wav, path), 0);
    static int16_t pcm[48000];
    assert_int_equal(cq_wav_read(wav, pcm, 48000), 48000);
    int tones = 0;
    for (int k = 0; k < 48000 / CQ_SYNTH_AUDIO_FRAME; k++)
        tones += cq_synth_audio_class(pcm + k * CQ_SYNTH_AUDIO_FRAME, CQ_SYNTH_AUDIO_FRAME) >= 0;
    assert_true(tones >= 40); /* of 50: the start may be silence while the buffer fills */
    cq_wav_close(wav);
    assert_int_equal(unlink(path), 0);

    /* The VP8 as it came: an IVF whose frames decode to the same pictures, in order. */
    snprintf(path, sizeof path, "%s/2.ivf", dir);
    FILE *ivf = fopen(path, "rb");
    assert_non_null(ivf);
    uint8_t head[32];
    assert_int_equal(fread(head, 1, 32, ivf), 32);
    assert_memory_equal(head, "DKIF", 4);
    assert_memory_equal(head + 8, "VP80", 4);
    struct cq_vp8_dec *dec;
    assert_int_equal(cq_vp8_dec_create(&dec), 0);
    static uint8_t data[256 * 1024];
    int decoded = 0;
    last = 0;
    uint8_t fh[12];
    while (fread(fh, 1, 12, ivf) == 12) {
        uint32_t len =
            (uint32_t)fh[0] | (uint32_t)fh[1] << 8 | (uint32_t)fh[2] << 16 | (uint32_t)fh[3] << 24;
        assert_true(len <= sizeof data);
        assert_int_equal(fread(data, 1, len, ivf), len);
        cq_i420_t img;
        assert_int_equal(cq_vp8_dec_decode(dec, data, len, &img), 0);
        uint32_t n, ms;
        if (img.width == 320 &&
            cq_synth_video_read(img.plane[0], img.stride[0], 320, 180, &n, &ms) == 0) {
            assert_true(decoded == 0 || n > last);
            last = n;
            decoded++;
        }
    }
    cq_vp8_dec_destroy(dec);
    fclose(ivf);
    assert_true(decoded >= frames);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0); /* nothing else was written */
}

static void test_two_telecentres_see_and_hear_each_other(void **state) {
    (void)state;
    static fixture_t f;
    memset(&f, 0, sizeof f);
    assert_int_equal(uv_loop_init(&f.loop), 0);
    cq_relay_config_t rc = {.host = "127.0.0.1", .workers = 1};
    assert_int_equal(cq_relay_create(&f.relay, &rc), 0);
    assert_int_equal(cq_relay_session_create(f.relay, SESSION, &f.port), 0);
    char cname[2][48];
    char dir[] = "/tmp/chasqui-loopback-XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (int i = 0; i < 2; i++) {
        make_params(&f.params[i], i);
        assert_int_equal(cq_relay_participant_add(f.relay, SESSION, &f.params[i]), 0);
        cq_endpoint_config_t c = endpoint_config(&f, i, cname[i], sizeof cname[i]);
        if (i == 0)
            c.out_dir = dir; /* telecentre 1 records what it receives */
        assert_int_equal(cq_endpoint_create(&f.ep[i], &f.loop, &c), 0);
    }
    run_for(&f, RUN_MS);

    for (int i = 0; i < 2; i++) {
        cq_endpoint_stats_t st;
        cq_endpoint_stats(f.ep[i], &st);
        const cq_receiver_remote_stats_t *r = &st.remote[0];
        fprintf(stderr,
                "telecentre %d: up %d, sent %llu+%llu frames, %llu audio; got from %u: "
                "%llu frames (%ux%u) %llu synth, psnr min %.1f avg %.1f, latency avg %.0f ms, "
                "%llu out of order, %llu dropped; audio %llu played %llu fec %llu concealed\n",
                i + 1, st.up, (unsigned long long)st.sent.layer[0].frames,
                (unsigned long long)st.sent.layer[1].frames,
                (unsigned long long)st.sent.audio_frames, r->telecentre,
                (unsigned long long)r->frames_decoded, r->width, r->height,
                (unsigned long long)r->synth_frames, r->psnr_min,
                r->synth_frames ? r->psnr_sum / (double)r->synth_frames : 0,
                r->synth_frames ? r->latency_ms_sum / (double)r->synth_frames : 0,
                (unsigned long long)r->synth_out_of_order, (unsigned long long)r->frames_dropped,
                (unsigned long long)r->audio_played, (unsigned long long)r->audio_fec,
                (unsigned long long)r->audio_concealed);
        assert_true(st.up);
        assert_int_equal(st.remotes, 1);
        /* The other telecentre, named by the CNAME the relay gives it. */
        assert_int_equal(r->telecentre, (uint32_t)(2 - i));
        assert_true(r->has_video && r->has_audio);
        /* All but the first few of what the other encoded on its top layer (the relay
         * starts each subscriber on the low layer and moves up at a keyframe): counted
         * against what was sent, so a slow machine sending fewer still passes. */
        cq_endpoint_stats_t other;
        cq_endpoint_stats(f.ep[1 - i], &other);
        assert_true(r->synth_frames >= 20);
        assert_true(r->synth_frames + 5 >= other.sent.layer[1].frames);
        assert_int_equal(r->synth_frames, r->frames_shown);
        assert_int_equal(r->synth_out_of_order, 0);
        assert_true(r->psnr_sum / (double)r->synth_frames > 30.0);
        assert_true(r->psnr_min > 25.0);
        /* 50 frames a second, played from packets on a lossless path: the sources keep to
         * the clock, so the receiver has nothing to make up but a stall of this machine. */
        assert_true(r->audio_played >= 100);
        assert_true(r->audio_played >= 50 * r->audio_concealed);
    }
    for (int i = 0; i < 2; i++)
        cq_endpoint_close(f.ep[i]);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f.loop), 0);
    cq_relay_destroy(f.relay);
    check_recordings(dir);
}

/* A camera that is not there: the endpoint refuses to start and says which and why, and
 * leaves nothing on the loop. */
static void test_missing_camera(void **state) {
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    static fixture_t f;
    memset(&f, 0, sizeof f);
    f.port = 9;
    make_params(&f.params[0], 0);
    char cname[48], why[256] = "";
    cq_endpoint_config_t c = endpoint_config(&f, 0, cname, sizeof cname);
    c.video_source = "/dev/video7";
    c.why = why;
    c.why_cap = sizeof why;
    struct cq_endpoint *ep = (struct cq_endpoint *)1;
    assert_int_equal(cq_endpoint_create(&ep, &loop, &c), CQ_ENOENT);
    assert_null(ep);
    assert_non_null(strstr(why, "/dev/video7"));
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_telecentres_see_and_hear_each_other),
        cmocka_unit_test(test_missing_camera),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
