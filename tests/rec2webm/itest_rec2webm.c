/*
 * A recorded 30 s session, end to end: real VP8 (synthetic pictures that paint their frame
 * number) and real Opus (the synthetic voice, every other packet as RED) are packetized
 * as a telecentre sends them, arrive with jitter and a few losses, go through the relay's
 * recorder into raw files, and chasqui-rec2webm makes a WebM of them. ffprobe must read
 * vp8 and opus and a duration of 30 s ± 0.5 s; ffmpeg must decode pictures whose frame
 * numbers only grow; and each picture must sit within 100 ms of the sound that was made
 * with it. Arrival times are made up (the recorder records what it is told), so nothing
 * here depends on the machine's speed.
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
#include <uv.h>

#include "client/synth.h"
#include "codec/opus_codec.h"
#include "codec/recfile.h"
#include "codec/red.h"
#include "codec/vp8_codec.h"
#include "codec/vp8_packetizer.h"
#include "relay/recorder.h"
#include "rtp/error.h"
#include "rtp/rtp.h"

#define W        320
#define H        180
#define FPS      15
#define SECONDS  30
#define FRAMES   (FPS * SECONDS)
#define SOUNDS   (SECONDS * 50) /* 20 ms packets */
#define SESSION  21
#define WHO      3
#define A_SSRC   0x1111
#define V_SSRC   0x2222
#define MAX_PKTS 12000

/* A packet as the publisher made it, and when it reaches the relay. */
typedef struct {
    uint64_t arrival_us;
    bool video;
    uint16_t len;
    uint8_t *data;
} sent_t;

static sent_t sent[MAX_PKTS];
static size_t nsent;

/* Link jitter between 10 and 70 ms, the same on every run. */
static uint64_t jitter_us(uint64_t *rng) {
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    return 10000u + (*rng >> 33) % 60000u;
}

static void add(bool video, uint64_t arrival_us, const uint8_t *pkt, size_t len) {
    assert_true(nsent < MAX_PKTS);
    sent[nsent] = (sent_t){.arrival_us = arrival_us, .video = video, .len = (uint16_t)len};
    sent[nsent].data = malloc(len);
    assert_non_null(sent[nsent].data);
    memcpy(sent[nsent].data, pkt, len);
    nsent++;
}

/* 30 s of video: a keyframe every 2 s; sequence numbers and timestamps start just below
 * their wrap. Packets 3 of frame 100, 1 of frame 251 and the whole frame 300 are lost. */
static void make_video(uint64_t *rng) {
    struct cq_vp8_enc *e;
    cq_vp8_enc_config_t cfg = {
        .width = W, .height = H, .bitrate_kbps = 300, .fps = FPS, .temporal_layers = 1};
    assert_int_equal(cq_vp8_enc_create(&e, &cfg), 0);
    static uint8_t y[W * H], u[W * H / 4], v[W * H / 4];
    uint16_t seq = 65500;
    uint32_t ts0 = 0xffffffffu - 90000u * 3;
    for (uint32_t n = 0; n < FRAMES; n++) {
        uint32_t ms = n * 1000u / FPS;
        assert_int_equal(cq_synth_video_paint(n, ms, W, H, y, W, u, W / 2, v, W / 2), 0);
        cq_i420_t img = {.width = W, .height = H, .plane = {y, u, v}, .stride = {W, W / 2, W / 2}};
        if (n % (2 * FPS) == 0)
            cq_vp8_enc_request_keyframe(e);
        cq_vp8_frame_t f;
        uint32_t ts = ts0 + n * (90000u / FPS);
        if (cq_vp8_enc_encode(e, &img, ts, &f) != 0)
            continue;
        cq_vp8_desc_t desc = {.extended = true,
                              .has_picture_id = true,
                              .picture_id_15bit = true,
                              .picture_id = f.picture_id};
        cq_vp8_packetizer_t pz;
        int pieces = cq_vp8_packetizer_init(&pz, f.data, f.len, &desc, 1100);
        assert_true(pieces > 0);
        uint64_t made = (uint64_t)n * 1000000u / FPS;
        for (int i = 0; i < pieces; i++) {
            uint8_t pkt[1300];
            bool last;
            cq_rtp_header_t h = {.payload_type = 96, .seq = seq++, .timestamp = ts, .ssrc = V_SSRC};
            int hl = cq_rtp_header_write(&h, NULL, 0, pkt, sizeof pkt);
            int pl = cq_vp8_packetizer_next(&pz, pkt + hl, sizeof pkt - (size_t)hl, &last);
            assert_true(pl > 0);
            if (last)
                pkt[1] |= 0x80;
            bool lost = (n == 100 && i == 2) || (n == 251 && i == 0) || n == 300;
            if (!lost)
                add(true, made + jitter_us(rng), pkt, (size_t)(hl + pl));
        }
    }
    cq_vp8_enc_destroy(e);
}

/* 30 s of sound in 20 ms packets, every odd one as RED carrying the previous packet too;
 * packets 400 and 1201 are lost. */
static void make_audio(uint64_t *rng) {
    struct cq_opus_enc *e;
    cq_opus_enc_config_t cfg = {.bitrate_bps = 24000, .frame_ms = 20};
    assert_int_equal(cq_opus_enc_create(&e, &cfg), 0);
    static uint8_t prev[CQ_OPUS_MAX_PACKET];
    int prev_len = 0;
    uint32_t ts0 = 1000000u;
    for (uint32_t k = 0; k < SOUNDS; k++) {
        int16_t pcm[CQ_SYNTH_AUDIO_FRAME];
        cq_synth_audio_frame(k, pcm);
        uint8_t opus[CQ_OPUS_MAX_PACKET];
        int len = cq_opus_enc_encode(e, pcm, CQ_SYNTH_AUDIO_FRAME, opus, sizeof opus);
        assert_true(len > 0);
        bool red = k % 2 == 1;
        cq_rtp_header_t h = {.payload_type = red ? 63 : 111,
                             .seq = (uint16_t)(30000 + k),
                             .timestamp = ts0 + k * 960u,
                             .ssrc = A_SSRC};
        uint8_t pkt[1500];
        int hl = cq_rtp_header_write(&h, NULL, 0, pkt, sizeof pkt);
        int pl;
        if (red) {
            cq_red_block_t b[2] = {
                {.pt = 111, .ts_offset = 960, .len = (size_t)prev_len, .data = prev},
                {.pt = 111, .len = (size_t)len, .data = opus}};
            pl = cq_red_write(b, 2, pkt + hl, sizeof pkt - (size_t)hl);
        } else {
            memcpy(pkt + hl, opus, (size_t)len);
            pl = len;
        }
        assert_true(pl > 0);
        memcpy(prev, opus, (size_t)len);
        prev_len = len;
        if (k != 400 && k != 1201)
            add(false, (uint64_t)k * 20000u + jitter_us(rng), pkt, (size_t)(hl + pl));
    }
    cq_opus_enc_destroy(e);
}

static int by_arrival(const void *a, const void *b) {
    const sent_t *x = a, *y = b;
    return x->arrival_us < y->arrival_us ? -1 : x->arrival_us > y->arrival_us;
}

/* Feeds the recorder in arrival order, as the relay's worker would, stays times over: the
 * telecentre joined again STAY_GAP_S after each stay began, with new SSRCs (a stay's
 * number added to them); waits for it to write everything (bounded), then closes it. */
#define STAY_GAP_S 40
static void record(const char *dir, unsigned stays) {
    cq_recorder_config_t cfg = {.dir = dir, .min_free_bytes = 1};
    struct cq_recorder *rec;
    assert_int_equal(cq_recorder_create(&rec, &cfg), 0);
    assert_int_equal(cq_recorder_start(rec, SESSION), 0);
    qsort(sent, nsent, sizeof sent[0], by_arrival);
    for (unsigned k = 0; k < stays; k++) {
        /* The relay's clock started long before. */
        uint64_t base = 7000000000u + (uint64_t)k * STAY_GAP_S * 1000000u;
        for (size_t i = 0; i < nsent; i++) {
            bool taken = false;
            for (int tries = 0; tries < 5000 && !taken; tries++) {
                cq_recorder_stream_t st = {.session = SESSION,
                                           .participant = WHO,
                                           .ssrc = (sent[i].video ? V_SSRC : A_SSRC) + k,
                                           .epoch = k + 1,
                                           .kind =
                                               sent[i].video ? CQ_RECFILE_VIDEO : CQ_RECFILE_AUDIO};
                taken = cq_recorder_push(rec, &st, base + sent[i].arrival_us, sent[i].data,
                                         sent[i].len);
                if (!taken)
                    uv_sleep(1); /* the test is faster than the disk: a relay would drop */
            }
            assert_true(taken);
        }
        assert_int_equal(cq_recorder_left(rec, SESSION, WHO, k + 1), 0);
    }
    assert_int_equal(cq_recorder_stop(rec, SESSION), 0);
    cq_recorder_destroy(rec);
}

static void find(const char *sdir, const char *what, char *out, size_t cap) {
    DIR *d = opendir(sdir);
    assert_non_null(d);
    struct dirent *de;
    out[0] = '\0';
    while ((de = readdir(d)) != NULL)
        if (strstr(de->d_name, what) != NULL)
            snprintf(out, cap, "%s/%s", sdir, de->d_name);
    closedir(d);
    assert_true(out[0] != '\0');
}

/* Runs cmd and returns its output (at most cap - 1 bytes). */
static size_t run(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    return n;
}

/* A recording in a new folder dir (a mkdtemp template) of the synthetic media made from
 * seed, stays times over (record). */
static void make_recording(char *dir, uint64_t seed, unsigned stays) {
    assert_non_null(mkdtemp(dir));
    uint64_t rng = seed;
    nsent = 0;
    make_video(&rng);
    make_audio(&rng);
    record(dir, stays);
}

static void clean_up(const char *dir) {
    for (size_t i = 0; i < nsent; i++)
        free(sent[i].data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* What ffprobe reads of webm: a VP8 and an Opus track, seconds long (+-0.5 s); and both
 * tracks decode from end to end without a complaint from ffmpeg. */
static void check_webm(const char *webm, double seconds) {
    char cmd[1024];
    static char out[1 << 16];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -show_entries stream=codec_name:format=duration -of "
             "default=nw=1 '%s'",
             webm);
    run(cmd, out, sizeof out);
    print_message("%s", out);
    assert_non_null(strstr(out, "codec_name=vp8"));
    assert_non_null(strstr(out, "codec_name=opus"));
    const char *d = strstr(out, "duration=");
    assert_non_null(d);
    double duration = atof(d + 9);
    assert_true(duration > seconds - 0.5 && duration < seconds + 0.5);
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -f null - 2>&1", webm);
    run(cmd, out, sizeof out);
    assert_string_equal(out, "");
}

static void test_rec2webm_thirty_seconds(void **state) {
    (void)state;
    char dir[] = "/tmp/cq-rec2webm-XXXXXX";
    make_recording(dir, 42, 1);

    char sdir[256], audio[512], video[512], webm[300], cmd[2048];
    assert_true(cq_recorder_session_dir(dir, SESSION, sdir, sizeof sdir) > 0);
    find(sdir, "-p3-audio-00001111.cqrec", audio, sizeof audio);
    find(sdir, "-p3-video0-00002222.cqrec", video, sizeof video);
    snprintf(webm, sizeof webm, "%s/p3.webm", dir);
    snprintf(cmd, sizeof cmd, "'%s' -o '%s' '%s' '%s'", CQ_REC2WEBM_BIN, webm, audio, video);
    static char out[1 << 20];
    run(cmd, out, sizeof out);
    print_message("%s", out);
    /* Sound packet 1201 came as RED: packet 1202 is plain and cannot restore it; the copy
     * of 400 rides in 401, which is RED, and restores it. */
    assert_non_null(strstr(out, "sound: 1499 packets, 2 missing (1 restored from RED)"));

    check_webm(webm, SECONDS);

    /* The pictures ffmpeg decodes, and their times. */
    char yuv[300];
    snprintf(yuv, sizeof yuv, "%s/p3.yuv", dir);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -i '%s' -map 0:v -fps_mode passthrough -f rawvideo -pix_fmt "
             "yuv420p '%s'",
             webm, yuv);
    run(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v -show_entries frame=pts_time -of csv=p=0 '%s'",
             webm);
    static char vtimes[1 << 16];
    run(cmd, vtimes, sizeof vtimes);
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams a -show_entries packet=pts_time -of csv=p=0 "
             "'%s' | head -n 1",
             webm);
    run(cmd, out, sizeof out);
    double audio0 = atof(out); /* sound packet 0: made at 0 s */

    FILE *f = fopen(yuv, "rb");
    assert_non_null(f);
    static uint8_t frame[W * H * 3 / 2];
    const char *t = vtimes;
    uint32_t last = 0;
    int frames = 0, read = 0;
    double worst_sync = 0;
    while (fread(frame, 1, sizeof frame, f) == sizeof frame) {
        double pts = atof(t);
        t = strchr(t, '\n');
        assert_non_null(t);
        t++;
        frames++;
        uint32_t n, ms;
        if (cq_synth_video_read(frame, W, W, H, &n, &ms) != 0)
            continue;
        assert_true(read == 0 || n > last); /* only forward */
        last = n;
        read++;
        /* Frame n was made at n / FPS s, with sound packet n * 50 / FPS. */
        double off = (pts - audio0) - (double)n / FPS;
        off = off < 0 ? -off : off;
        worst_sync = off > worst_sync ? off : worst_sync;
    }
    fclose(f);
    print_message("%d pictures decoded, %d read, last %u, worst A/V offset %.1f ms\n", frames, read,
                  last, worst_sync * 1000);
    /* Lost: frames 100-119 and 251-299 wait for keyframes 120 and 330 (300 is lost whole,
     * and 301-329 refer to it); a handful more may be skipped by the encoder. */
    assert_true(frames >= FRAMES - 20 - 49 - 30 - 10);
    assert_true(read >= frames * 95 / 100);
    assert_true(last >= FRAMES - 2);
    assert_true(worst_sync < 0.1);

    clean_up(dir);
}

/* A telecentre that joined again (its link dropped, or the operator promoted it) has a
 * second set of files, with new SSRCs; given all of them, the converter puts the two stays
 * one after the other on the relay's clock: 30 s, a gap, 30 s more. Before, it refused
 * two video files of one layer and kept the first stay's sound alone. */
static void test_rec2webm_two_stays(void **state) {
    (void)state;
    char dir[] = "/tmp/cq-rec2webm-XXXXXX";
    make_recording(dir, 7, 2);
    char sdir[256], f[4][512], webm[300], cmd[4096];
    assert_true(cq_recorder_session_dir(dir, SESSION, sdir, sizeof sdir) > 0);
    find(sdir, "-p3-audio-00001111", f[0], sizeof f[0]);
    find(sdir, "-p3-video0-00002222", f[1], sizeof f[1]);
    find(sdir, "-p3-audio-00001112", f[2], sizeof f[2]);
    find(sdir, "-p3-video0-00002223", f[3], sizeof f[3]);
    snprintf(webm, sizeof webm, "%s/p3.webm", dir);
    snprintf(cmd, sizeof cmd, "'%s' -o '%s' '%s' '%s' '%s' '%s'", CQ_REC2WEBM_BIN, webm, f[3], f[0],
             f[2], f[1]);
    static char out[1 << 16];
    run(cmd, out, sizeof out);
    print_message("%s", out);
    assert_non_null(strstr(out, "2 stays"));
    assert_non_null(strstr(out, "sound: 2998 packets"));
    check_webm(webm, STAY_GAP_S + SECONDS);
    clean_up(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec2webm_thirty_seconds),
        cmocka_unit_test(test_rec2webm_two_stays),
    };
    return cmocka_run_group_tests_name("rec2webm/itest", tests, NULL, NULL);
}
