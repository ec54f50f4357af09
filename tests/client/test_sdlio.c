/*
 * The window, speakers and microphone through SDL2, headless: SDL's "dummy" video driver,
 * which has no accelerated renderer, so the window takes the software fallback (its pixels
 * are read back through SDL's renderer), and the "disk" audio driver, which
 * writes what it plays to SDL_DISKAUDIOFILE and captures from SDL_DISKAUDIOFILEIN, then
 * silence once the file ends. SDL_DISKAUDIODELAY makes its buffers come every millisecond
 * rather than every 20 ms. Waits are bounded by a count of short sleeps or loop ticks;
 * nothing asserts on time.
 *
 * Not "offscreen": there SDL 2.26 finds an OpenGL renderer through EGL and Mesa, the tests
 * pass the same, but Mesa's dlopen'ed driver leaks (about 7 KB per window) under LSan.
 */
#define SDL_MAIN_HANDLED
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <SDL.h>
#include <uv.h>

#include "client/sdlio.h"
#include "rtp/error.h"

static char dir[] = "/tmp/cq_sdlio_XXXXXX";
static char out_path[64], in_path[64];

/* The capture file: 10 frames and 300 samples more, none of them silent. */
#define IN_SAMPLES (10 * CQ_SDL_FRAME_SAMPLES + 300)
static int16_t in_pcm[IN_SAMPLES];

/* What the microphone should deliver: the file, then the driver's silence. */
static int16_t expected_mic(size_t i) {
    return i < IN_SAMPLES ? in_pcm[i] : 0;
}

static int setup_sdl(void **state) {
    (void)state;
    return cq_sdl_init(true, true);
}

static int teardown_sdl(void **state) {
    (void)state;
    cq_sdl_quit();
    return 0;
}

/* Waits, in at most 10,000 sleeps of 1 ms, until done(ctx); returns whether it came. */
static bool wait_for(bool (*done)(void *ctx), void *ctx) {
    for (int i = 0; i < 10000; i++) {
        if (done(ctx))
            return true;
        SDL_Delay(1);
    }
    return done(ctx);
}

/* ---- Errors ------------------------------------------------------------------------- */

static void noop_frame(void *ctx, const int16_t *pcm, size_t samples) {
    (void)ctx, (void)pcm, (void)samples;
}

static void test_sdlio_init_errors(void **state) {
    (void)state;
    struct cq_sdl_window *w = NULL;
    struct cq_sdl_speaker *s = NULL;
    struct cq_sdl_mic *m = NULL;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(cq_sdl_init(false, false), CQ_EINVAL);
    /* Nothing started: every open says so, and SDL's error says which. */
    assert_int_equal(cq_sdl_window_open(&w, "t", 320, 240), CQ_EBADSTATE);
    assert_non_null(strstr(cq_sdl_error(), "video was not started"));
    assert_int_equal(cq_sdl_speaker_open(&s), CQ_EBADSTATE);
    assert_non_null(strstr(cq_sdl_error(), "audio was not started"));
    assert_int_equal(cq_sdl_mic_open(&m, &loop, noop_frame, NULL), CQ_EBADSTATE);
    /* Audio alone leaves video refused. */
    assert_int_equal(cq_sdl_init(false, true), 0);
    assert_int_equal(cq_sdl_window_open(&w, "t", 320, 240), CQ_EBADSTATE);
    /* SDL refusing is CQ_EIO, with SDL's reason: here the capture file is missing. */
    char missing[96];
    snprintf(missing, sizeof missing, "%s/missing.raw", dir);
    setenv("SDL_DISKAUDIOFILEIN", missing, 1);
    assert_int_equal(cq_sdl_mic_open(&m, &loop, noop_frame, NULL), CQ_EIO);
    assert_non_null(strstr(cq_sdl_error(), "missing.raw"));
    setenv("SDL_DISKAUDIOFILEIN", in_path, 1);
    assert_int_equal(cq_sdl_mic_open(&m, &loop, NULL, NULL), CQ_EINVAL);
    assert_int_equal(cq_sdl_mic_open(&m, NULL, noop_frame, NULL), CQ_EINVAL);
    assert_null(m);
    assert_null(s);
    assert_null(w);
    cq_sdl_quit();
    assert_int_equal(uv_loop_close(&loop), 0);
    cq_sdl_window_close(NULL);
    cq_sdl_speaker_close(NULL);
    cq_sdl_mic_close(NULL);
}

/* ---- Window ------------------------------------------------------------------------- */

static void assert_rect(unsigned count, unsigned index, unsigned pw, unsigned ph, int x, int y,
                        int w, int h) {
    cq_sdl_rect_t r;
    cq_sdl_window_layout(count, index, 640, 480, pw, ph, &r);
    assert_int_equal(r.x, x);
    assert_int_equal(r.y, y);
    assert_int_equal(r.w, w);
    assert_int_equal(r.h, h);
}

static void test_sdlio_window_layout_grid(void **state) {
    (void)state;
    /* One: the whole window, bars beside a tall picture, above and below a wide one. */
    assert_rect(1, 0, 320, 240, 0, 0, 640, 480);
    assert_rect(1, 0, 64, 128, 200, 0, 240, 480);
    assert_rect(1, 0, 1280, 480, 0, 120, 640, 240);
    /* Two side by side, 320x480 cells. */
    assert_rect(2, 0, 160, 120, 0, 120, 320, 240);
    assert_rect(2, 1, 160, 120, 320, 120, 320, 240);
    /* Three and four in 2x2 of 320x240: the third starts the second row. */
    assert_rect(3, 2, 160, 120, 0, 240, 320, 240);
    assert_rect(4, 3, 160, 120, 320, 240, 320, 240);
    /* Five to nine in 3x3 (cells of 213/214 x 160), ten to sixteen in 4x4 of 160x120. */
    assert_rect(5, 4, 4, 3, 213, 160, 213, 160);
    assert_rect(9, 8, 4, 3, 426, 320, 213, 160);
    assert_rect(10, 9, 4, 3, 160, 240, 160, 120);
    assert_rect(16, 15, 4, 3, 480, 360, 160, 120);
    /* Out of range: nothing. */
    assert_rect(0, 0, 4, 3, 0, 0, 0, 0);
    assert_rect(17, 0, 4, 3, 0, 0, 0, 0);
    assert_rect(2, 2, 4, 3, 0, 0, 0, 0);
    assert_rect(1, 0, 0, 3, 0, 0, 0, 0);
}

/* A w x h picture of one grey (luma y, no colour), with strides wider than the picture. */
static uint8_t planes[3][(1280 + 32) * 720];
static cq_i420_t grey(unsigned w, unsigned h, uint8_t y) {
    int ys = (int)w + 32, cs = (int)(w + 1) / 2 + 16;
    memset(planes[0], y, (size_t)ys * h);
    memset(planes[1], 128, (size_t)cs * ((h + 1) / 2));
    memset(planes[2], 128, (size_t)cs * ((h + 1) / 2));
    return (cq_i420_t){.width = w,
                       .height = h,
                       .plane = {planes[0], planes[1], planes[2]},
                       .stride = {ys, cs, cs}};
}

/* The red channel of the window at (x, y) as last presented (greys are equal in all three,
 * which is checked too). */
static int pixel(const struct cq_sdl_window *w, int x, int y) {
    SDL_Renderer *ren = SDL_GetRenderer(SDL_GetWindowFromID(cq_sdl_window_id(w)));
    assert_non_null(ren);
    Uint32 px = 0;
    SDL_Rect r = {x, y, 1, 1};
    assert_int_equal(SDL_RenderReadPixels(ren, &r, SDL_PIXELFORMAT_ARGB8888, &px, 4), 0);
    int red = (int)(px >> 16 & 0xff), green = (int)(px >> 8 & 0xff), blue = (int)(px & 0xff);
    assert_true(abs(red - green) <= 4 && abs(red - blue) <= 4);
    return red;
}

/* Luma 200 (light), 120 (mid) and 50 (dark) come out far apart from each other and from
 * the black bars (BT.601: about 214, 121 and 40). */
static void assert_shade(const struct cq_sdl_window *w, int x, int y, uint8_t luma) {
    int v = pixel(w, x, y);
    if (luma == 0)
        assert_in_range(v, 0, 10);
    else if (luma == 50)
        assert_in_range(v, 25, 60);
    else if (luma == 120)
        assert_in_range(v, 100, 140);
    else
        assert_in_range(v, 195, 235);
}

static void test_sdlio_window_show_present_clear(void **state) {
    (void)state;
    struct cq_sdl_window *w = NULL;
    assert_int_equal(cq_sdl_window_open(&w, "chasqui test", 640, 480), 0);
    int ow, oh;
    assert_int_equal(SDL_GetRendererOutputSize(
                         SDL_GetRenderer(SDL_GetWindowFromID(cq_sdl_window_id(w))), &ow, &oh),
                     0);
    assert_int_equal(ow, 640);
    assert_int_equal(oh, 480);
    cq_sdl_window_stats_t st;

    /* Two telecentres: side by side, 4:3 in 320x480 cells, bars above and below. */
    cq_i420_t img = grey(160, 120, 200);
    assert_int_equal(cq_sdl_window_show(w, 0, &img), 0);
    img = grey(160, 120, 50);
    assert_int_equal(cq_sdl_window_show(w, 3, &img), 0);
    assert_int_equal(cq_sdl_window_present(w), 0);
    assert_shade(w, 160, 240, 200);
    assert_shade(w, 10, 125, 200);
    assert_shade(w, 480, 240, 50);
    assert_shade(w, 630, 355, 50);
    assert_shade(w, 160, 60, 0);
    assert_shade(w, 480, 420, 0);
    cq_sdl_window_stats(w, &st);
    assert_int_equal(st.textures_created, 2);
    assert_int_equal(st.pictures, 2);
    assert_int_equal(st.presents, 1);
    assert_int_equal(st.slots_shown, 2);

    /* A new picture of the same size reuses the texture and replaces what it showed. */
    img = grey(160, 120, 120);
    assert_int_equal(cq_sdl_window_show(w, 0, &img), 0);
    assert_int_equal(cq_sdl_window_present(w), 0);
    assert_shade(w, 160, 240, 120);
    cq_sdl_window_stats(w, &st);
    assert_int_equal(st.textures_created, 2);
    assert_int_equal(st.pictures, 3);

    /* Slot 3 changes size (a tall 64x128, light) and slot 0 leaves: one picture, full
     * height, bars beside, light all over its 240x480 rectangle. */
    img = grey(64, 128, 200);
    assert_int_equal(cq_sdl_window_show(w, 3, &img), 0);
    assert_int_equal(cq_sdl_window_clear(w, 0), 0);
    assert_int_equal(cq_sdl_window_present(w), 0);
    cq_sdl_window_stats(w, &st);
    assert_int_equal(st.textures_created, 3);
    assert_int_equal(st.slots_shown, 1);
    assert_shade(w, 100, 240, 0);
    assert_shade(w, 540, 240, 0);
    assert_shade(w, 204, 4, 200);
    assert_shade(w, 435, 475, 200);
    assert_shade(w, 320, 240, 200);

    /* Three: 2x2 in slot order (3, 7, 9), the fourth cell empty. A 1280x720 picture is a
     * larger texture than any before. */
    img = grey(1280, 720, 50);
    assert_int_equal(cq_sdl_window_show(w, 9, &img), 0);
    img = grey(320, 240, 120);
    assert_int_equal(cq_sdl_window_show(w, 7, &img), 0);
    assert_int_equal(cq_sdl_window_present(w), 0);
    assert_shade(w, 160, 120, 200); /* slot 3, tall: 120x240 in the middle of its cell */
    assert_shade(w, 40, 120, 0);
    assert_shade(w, 480, 120, 120); /* slot 7 fills its cell */
    assert_shade(w, 325, 5, 120);
    assert_shade(w, 160, 360, 50); /* slot 9, 16:9: 320x180, bars of 30 */
    assert_shade(w, 160, 250, 0);
    assert_shade(w, 480, 360, 0); /* no fourth */
    cq_sdl_window_stats(w, &st);
    assert_int_equal(st.textures_created, 5);
    assert_int_equal(st.slots_shown, 3);
    assert_int_equal(st.presents, 4);

    /* Nothing to show: black all over. */
    for (unsigned k = 0; k < CQ_SDL_SLOTS; k++)
        assert_int_equal(cq_sdl_window_clear(w, k), 0);
    assert_int_equal(cq_sdl_window_present(w), 0);
    assert_shade(w, 320, 240, 0);
    assert_shade(w, 160, 120, 0);

    /* Refused: no slot 16, no empty picture; nothing counted. */
    img = grey(64, 64, 120);
    assert_int_equal(cq_sdl_window_show(w, CQ_SDL_SLOTS, &img), CQ_EINVAL);
    img.width = 0;
    assert_int_equal(cq_sdl_window_show(w, 0, &img), CQ_EINVAL);
    assert_int_equal(cq_sdl_window_clear(w, CQ_SDL_SLOTS), CQ_EINVAL);
    cq_sdl_window_stats(w, &st);
    assert_int_equal(st.pictures, 6);
    assert_int_equal(st.slots_shown, 0);
    cq_sdl_window_close(w);
}

static void test_sdlio_window_poll_quit(void **state) {
    (void)state;
    struct cq_sdl_window *w = NULL;
    assert_int_equal(cq_sdl_window_open(&w, "chasqui test", 320, 240), 0);
    assert_false(cq_sdl_window_poll(w));
    assert_false(cq_sdl_window_poll(w));
    SDL_Event ev = {.type = SDL_QUIT};
    assert_int_equal(SDL_PushEvent(&ev), 1);
    assert_true(cq_sdl_window_poll(w));
    assert_true(cq_sdl_window_poll(w)); /* once asked, stays asked */
    cq_sdl_window_close(w);
}

static void test_sdlio_window_poll_close_button(void **state) {
    (void)state;
    struct cq_sdl_window *w = NULL;
    assert_int_equal(cq_sdl_window_open(&w, "chasqui test", 320, 240), 0);
    SDL_Event ev = {.window = {.type = SDL_WINDOWEVENT,
                               .event = SDL_WINDOWEVENT_CLOSE,
                               .windowID = cq_sdl_window_id(w) + 1}};
    assert_int_equal(SDL_PushEvent(&ev), 1);
    assert_false(cq_sdl_window_poll(w)); /* another window's */
    ev.window.event = SDL_WINDOWEVENT_RESIZED;
    ev.window.windowID = cq_sdl_window_id(w);
    assert_int_equal(SDL_PushEvent(&ev), 1);
    assert_false(cq_sdl_window_poll(w));
    ev.window.event = SDL_WINDOWEVENT_CLOSE;
    assert_int_equal(SDL_PushEvent(&ev), 1);
    assert_true(cq_sdl_window_poll(w));
    cq_sdl_window_close(w);
}

/* H in the window asks to speak: each press counts once (not its key repeats, not other
 * keys, not another window's), and taking the count empties it. */
static void test_sdlio_window_hand_key(void **state) {
    (void)state;
    struct cq_sdl_window *w = NULL;
    assert_int_equal(cq_sdl_window_open(&w, "chasqui test", 320, 240), 0);
    assert_int_equal(cq_sdl_window_take_hand(w), 0);
    SDL_Event ev = {.key = {.type = SDL_KEYDOWN, .windowID = cq_sdl_window_id(w)}};
    ev.key.keysym.sym = SDLK_h;
    assert_int_equal(SDL_PushEvent(&ev), 1);
    ev.key.repeat = 1; /* held down */
    assert_int_equal(SDL_PushEvent(&ev), 1);
    ev.key.repeat = 0;
    ev.key.keysym.sym = SDLK_m;
    assert_int_equal(SDL_PushEvent(&ev), 1);
    ev.key.keysym.sym = SDLK_h;
    ev.key.windowID = cq_sdl_window_id(w) + 1;
    assert_int_equal(SDL_PushEvent(&ev), 1);
    assert_false(cq_sdl_window_poll(w));
    assert_int_equal(cq_sdl_window_take_hand(w), 1);
    assert_int_equal(cq_sdl_window_take_hand(w), 0);
    ev.key.windowID = cq_sdl_window_id(w);
    assert_int_equal(SDL_PushEvent(&ev), 1);
    assert_int_equal(SDL_PushEvent(&ev), 1);
    assert_false(cq_sdl_window_poll(w));
    assert_int_equal(cq_sdl_window_take_hand(w), 2);
    cq_sdl_window_close(w);
}

/* ---- Speakers ----------------------------------------------------------------------- */

/* Reads the disk driver's output file (after the device closed) into a malloc'd array. */
static int16_t *read_output(size_t *samples) {
    FILE *f = fopen(out_path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long bytes = ftell(f);
    assert_true(bytes >= 0);
    rewind(f);
    *samples = (size_t)bytes / sizeof(int16_t);
    int16_t *pcm = malloc(*samples * sizeof(int16_t) + 1);
    assert_non_null(pcm);
    assert_int_equal(fread(pcm, sizeof(int16_t), *samples, f), *samples);
    fclose(f);
    return pcm;
}

/* Where the sound starts in what the driver wrote: silence comes first, while paused. */
static size_t first_sound(const int16_t *pcm, size_t n) {
    size_t i = 0;
    while (i < n && pcm[i] == 0)
        i++;
    return i;
}

typedef struct {
    struct cq_sdl_speaker *s;
    unsigned slot;
    uint64_t played, frames;
} spk_wait_t;

static bool slot_played(void *ctx) {
    spk_wait_t *w = ctx;
    cq_sdl_speaker_stats_t st;
    cq_sdl_speaker_stats(w->s, &st);
    return st.slot[w->slot].played >= w->played && st.frames_mixed >= w->frames;
}

#define TONE 4800 /* 100 ms */

static void test_sdlio_speaker_mixes_saturating(void **state) {
    (void)state;
    static int16_t a[TONE], b[TONE], sum[TONE];
    size_t clipped = 0;
    for (size_t i = 0; i < TONE; i++) {
        /* 20000-high triangles of two periods: their sum passes both rails often. */
        int ta = (int)(i % 96), tb = (int)(i % 150);
        a[i] = (int16_t)((ta < 48 ? ta : 96 - ta) * 833 - 20000 + 7);
        b[i] = (int16_t)((tb < 75 ? tb : 150 - tb) * 533 - 20000 + 11);
        int v = a[i] + b[i];
        sum[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        clipped += v != sum[i];
    }
    assert_true(clipped > 100 && sum[0] != 0); /* the test checks saturation, and can start */

    struct cq_sdl_speaker *s = NULL;
    assert_int_equal(cq_sdl_speaker_open(&s), 0);
    /* Paused while both are queued, so their first samples meet in one buffer. */
    cq_sdl_speaker_pause(s, true);
    assert_int_equal(cq_sdl_speaker_play(s, 0, a, TONE / 2), 0);
    assert_int_equal(cq_sdl_speaker_play(s, 0, a + TONE / 2, TONE - TONE / 2), 0);
    assert_int_equal(cq_sdl_speaker_play(s, 5, b, TONE), 0);
    assert_int_equal(cq_sdl_speaker_play(s, 6, b, 0), 0); /* nothing: slot 6 not started */
    assert_int_equal(cq_sdl_speaker_play(s, CQ_SDL_SLOTS, b, TONE), CQ_EINVAL);
    assert_int_equal(cq_sdl_speaker_play(s, 1, NULL, 1), CQ_EINVAL);
    cq_sdl_speaker_stats_t st;
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[0].queued, TONE);
    assert_int_equal(st.slot[0].buffered, TONE);
    assert_int_equal(st.slot[5].buffered, TONE);
    assert_int_equal(st.overflows, 0);
    cq_sdl_speaker_pause(s, false);

    /* Both played out, then a few buffers of silence: each started slot ran dry. */
    spk_wait_t wt = {s, 0, TONE, 0};
    assert_true(wait_for(slot_played, &wt));
    cq_sdl_speaker_stats(s, &st);
    wt.frames = st.frames_mixed + 3;
    assert_true(wait_for(slot_played, &wt));
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[0].played, TONE);
    assert_int_equal(st.slot[5].played, TONE);
    assert_int_equal(st.slot[0].buffered, 0);
    assert_true(st.slot[0].underruns >= 3);
    assert_true(st.slot[5].underruns >= 3);
    for (unsigned k = 0; k < CQ_SDL_SLOTS; k++)
        if (k != 0 && k != 5)
            assert_int_equal(st.slot[k].underruns, 0); /* never started */
    assert_int_equal(st.underruns, st.slot[0].underruns + st.slot[5].underruns);

    /* Slot 0's telecentre leaves: its silence stops counting, slot 5's does not. */
    assert_int_equal(cq_sdl_speaker_clear(s, 0), 0);
    cq_sdl_speaker_stats(s, &st);
    uint64_t u0 = st.slot[0].underruns, u5 = st.slot[5].underruns;
    wt.frames = st.frames_mixed + 3;
    assert_true(wait_for(slot_played, &wt));
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[0].underruns, u0);
    assert_true(st.slot[5].underruns >= u5 + 3);
    cq_sdl_speaker_close(s);

    size_t n;
    int16_t *out = read_output(&n);
    size_t at = first_sound(out, n);
    assert_true(at + TONE + CQ_SDL_FRAME_SAMPLES <= n);
    assert_memory_equal(out + at, sum, sizeof sum);
    for (size_t i = at + TONE; i < n; i++)
        assert_int_equal(out[i], 0); /* silence once both ran dry */
    free(out);
}

static void test_sdlio_speaker_overflow_drops_oldest(void **state) {
    (void)state;
    static int16_t ramp[CQ_SDL_SPEAKER_SAMPLES], more[CQ_SDL_FRAME_SAMPLES],
        big[CQ_SDL_SPEAKER_SAMPLES + 6000];
    for (size_t i = 0; i < CQ_SDL_SPEAKER_SAMPLES; i++)
        ramp[i] = (int16_t)(i % 20000 + 1);
    for (size_t i = 0; i < CQ_SDL_FRAME_SAMPLES; i++)
        more[i] = (int16_t) - (int)(i + 1);
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++)
        big[i] = 3;

    struct cq_sdl_speaker *s = NULL;
    assert_int_equal(cq_sdl_speaker_open(&s), 0);
    cq_sdl_speaker_pause(s, true);
    cq_sdl_speaker_stats_t st;
    /* A full ring is no overflow; 20 ms more drops the oldest 20 ms. */
    assert_int_equal(cq_sdl_speaker_play(s, 2, ramp, CQ_SDL_SPEAKER_SAMPLES), 0);
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[2].overflows, 0);
    assert_int_equal(cq_sdl_speaker_play(s, 2, more, CQ_SDL_FRAME_SAMPLES), 0);
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[2].overflows, 1);
    assert_int_equal(st.slot[2].dropped, CQ_SDL_FRAME_SAMPLES);
    assert_int_equal(st.slot[2].buffered, CQ_SDL_SPEAKER_SAMPLES);
    assert_int_equal(st.slot[2].queued, CQ_SDL_SPEAKER_SAMPLES + CQ_SDL_FRAME_SAMPLES);
    /* More than a ring at once: the newest ring-full of it stays. */
    assert_int_equal(cq_sdl_speaker_play(s, 7, big, sizeof big / sizeof big[0]), 0);
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[7].overflows, 1);
    assert_int_equal(st.slot[7].dropped, 6000);
    assert_int_equal(st.slot[7].buffered, CQ_SDL_SPEAKER_SAMPLES);
    assert_int_equal(st.overflows, 2);
    /* Slot 7 leaves before it plays: what it held is gone. */
    assert_int_equal(cq_sdl_speaker_clear(s, 7), 0);
    assert_int_equal(cq_sdl_speaker_clear(s, CQ_SDL_SLOTS), CQ_EINVAL);
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[7].buffered, 0);
    cq_sdl_speaker_pause(s, false);

    spk_wait_t wt = {s, 2, CQ_SDL_SPEAKER_SAMPLES, 0};
    assert_true(wait_for(slot_played, &wt));
    cq_sdl_speaker_stats(s, &st);
    wt.frames = st.frames_mixed + 2;
    assert_true(wait_for(slot_played, &wt));
    cq_sdl_speaker_stats(s, &st);
    assert_int_equal(st.slot[7].played, 0);
    cq_sdl_speaker_close(s);

    /* What played: the ramp without its first 20 ms, then the 20 ms that came last. */
    size_t n;
    int16_t *out = read_output(&n);
    size_t at = first_sound(out, n);
    assert_true(at + CQ_SDL_SPEAKER_SAMPLES <= n);
    assert_int_equal(out[at], ramp[CQ_SDL_FRAME_SAMPLES]);
    assert_memory_equal(out + at, ramp + CQ_SDL_FRAME_SAMPLES,
                        (CQ_SDL_SPEAKER_SAMPLES - CQ_SDL_FRAME_SAMPLES) * sizeof(int16_t));
    assert_memory_equal(out + at + CQ_SDL_SPEAKER_SAMPLES - CQ_SDL_FRAME_SAMPLES, more,
                        sizeof more);
    free(out);
}

/* ---- Microphone --------------------------------------------------------------------- */

#define MIC_KEEP 40 /* frames kept for checking */

typedef struct {
    uv_thread_t loop_thread;
    struct cq_sdl_mic *m;
    uv_timer_t timer;
    unsigned want, ticks, frames, wrong_thread, wrong_size;
    cq_sdl_mic_stats_t stats; /* as they were when the test stopped */
    int16_t pcm[MIC_KEEP * CQ_SDL_FRAME_SAMPLES];
} mic_run_t;

static void on_frame(void *ctx, const int16_t *pcm, size_t samples) {
    mic_run_t *r = ctx;
    uv_thread_t self = uv_thread_self();
    r->wrong_thread += !uv_thread_equal(&self, &r->loop_thread);
    r->wrong_size += samples != CQ_SDL_FRAME_SAMPLES;
    if (r->frames < MIC_KEEP && samples == CQ_SDL_FRAME_SAMPLES)
        memcpy(r->pcm + (size_t)r->frames * CQ_SDL_FRAME_SAMPLES, pcm, samples * sizeof *pcm);
    r->frames++;
}

/* Every 2 ms of loop time: stop once enough frames came, or after 5,000 ticks. */
static void on_tick(uv_timer_t *t) {
    mic_run_t *r = t->data;
    if (r->frames < r->want && ++r->ticks < 5000)
        return;
    cq_sdl_mic_stats(r->m, &r->stats);
    cq_sdl_mic_close(r->m);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_sdlio_mic_frames_on_loop_thread(void **state) {
    (void)state;
    static mic_run_t r;
    memset(&r, 0, sizeof r);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    r.loop_thread = uv_thread_self();
    r.want = 12; /* the file's 10 frames and a bit, then pure silence */
    assert_int_equal(cq_sdl_mic_open(&r.m, &loop, on_frame, &r), 0);
    assert_int_equal(uv_timer_init(&loop, &r.timer), 0);
    r.timer.data = &r;
    assert_int_equal(uv_timer_start(&r.timer, on_tick, 2, 2), 0);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0); /* the microphone's handle was closed */

    assert_true(r.frames >= r.want);
    assert_int_equal(r.stats.frames_delivered, r.frames);
    assert_int_equal(r.wrong_thread, 0);
    assert_int_equal(r.wrong_size, 0);
    assert_true(r.stats.samples_captured >= (uint64_t)r.frames * CQ_SDL_FRAME_SAMPLES);
    for (size_t i = 0; i < (size_t)r.want * CQ_SDL_FRAME_SAMPLES; i++)
        if (r.pcm[i] != expected_mic(i))
            fail_msg("sample %zu: %d, the file says %d", i, r.pcm[i], expected_mic(i));
}

typedef struct {
    const struct cq_sdl_mic *m;
} mic_wait_t;

static bool mic_dropped(void *ctx) {
    cq_sdl_mic_stats_t st;
    cq_sdl_mic_stats(((mic_wait_t *)ctx)->m, &st);
    return st.samples_dropped > 0;
}

static void test_sdlio_mic_full_ring_drops_newest(void **state) {
    (void)state;
    static mic_run_t r;
    memset(&r, 0, sizeof r);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    r.loop_thread = uv_thread_self();
    assert_int_equal(cq_sdl_mic_open(&r.m, &loop, on_frame, &r), 0);
    /* The loop does not run: the ring fills, and what comes next is dropped. */
    mic_wait_t mw = {r.m};
    assert_true(wait_for(mic_dropped, &mw));
    assert_int_equal(r.frames, 0);
    cq_sdl_mic_stats_t st;
    cq_sdl_mic_stats(r.m, &st);
    assert_true(st.samples_captured > CQ_SDL_MIC_SAMPLES);
    /* The loop wakes: the whole ring comes out at once, oldest first, the file intact. */
    assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 1);
    assert_true(r.frames >= CQ_SDL_MIC_SAMPLES / CQ_SDL_FRAME_SAMPLES);
    assert_int_equal(r.wrong_thread, 0);
    for (size_t i = 0;
         i < (size_t)(CQ_SDL_MIC_SAMPLES / CQ_SDL_FRAME_SAMPLES) * CQ_SDL_FRAME_SAMPLES; i++)
        if (r.pcm[i] != expected_mic(i))
            fail_msg("sample %zu: %d, the file says %d", i, r.pcm[i], expected_mic(i));
    cq_sdl_mic_stats(r.m, &st);
    assert_int_equal(st.frames_delivered, r.frames);
    assert_true(st.samples_dropped > 0);
    cq_sdl_mic_close(r.m);
    unsigned frames = r.frames;
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(r.frames, frames); /* nothing after close */
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* Closing from inside on_frame stops the delivery there. */
static void close_in_frame(void *ctx, const int16_t *pcm, size_t samples) {
    (void)pcm, (void)samples;
    mic_run_t *r = ctx;
    r->frames++;
    cq_sdl_mic_close(r->m);
}

static void test_sdlio_mic_close_in_callback(void **state) {
    (void)state;
    static mic_run_t r;
    memset(&r, 0, sizeof r);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(cq_sdl_mic_open(&r.m, &loop, close_in_frame, &r), 0);
    mic_wait_t mw = {r.m};
    assert_true(wait_for(mic_dropped, &mw)); /* many frames wait */
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(r.frames, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
    /* Headless SDL, set before SDL reads its environment. */
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(out_path, sizeof out_path, "%s/out.raw", dir);
    snprintf(in_path, sizeof in_path, "%s/in.raw", dir);
    for (size_t i = 0; i < IN_SAMPLES; i++) {
        int v = (int)((i * 7919u) % 60001u) - 30000;
        in_pcm[i] = (int16_t)(v == 0 ? 1 : v);
    }
    FILE *f = fopen(in_path, "wb");
    if (f == NULL || fwrite(in_pcm, sizeof in_pcm, 1, f) != 1 || fclose(f) != 0)
        return 1;
    setenv("SDL_VIDEODRIVER", "dummy", 1);
    setenv("SDL_AUDIODRIVER", "disk", 1);
    setenv("SDL_DISKAUDIOFILE", out_path, 1);
    setenv("SDL_DISKAUDIOFILEIN", in_path, 1);
    setenv("SDL_DISKAUDIODELAY", "1", 1);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdlio_init_errors),
        cmocka_unit_test(test_sdlio_window_layout_grid),
        cmocka_unit_test_setup_teardown(test_sdlio_window_show_present_clear, setup_sdl,
                                        teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_window_poll_quit, setup_sdl, teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_window_hand_key, setup_sdl, teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_window_poll_close_button, setup_sdl,
                                        teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_speaker_mixes_saturating, setup_sdl,
                                        teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_speaker_overflow_drops_oldest, setup_sdl,
                                        teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_mic_frames_on_loop_thread, setup_sdl,
                                        teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_mic_full_ring_drops_newest, setup_sdl,
                                        teardown_sdl),
        cmocka_unit_test_setup_teardown(test_sdlio_mic_close_in_callback, setup_sdl, teardown_sdl),
    };
    int failed = cmocka_run_group_tests_name("sdlio", tests, NULL, NULL);
    unlink(out_path);
    unlink(in_path);
    rmdir(dir);
    return failed;
}
