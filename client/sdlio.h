/*
 * The telecentre's window, speakers and microphone, through SDL2.
 *
 * Everything here is called from ONE thread: the one that runs the client's libuv loop
 * (SDL also wants its video calls on the thread that initialised it). SDL runs its audio
 * callbacks on a thread of its own, and the two meet as follows:
 *
 *  - Speakers: each remote telecentre has a ring in a slot; cq_sdl_speaker_play() copies into
 *    it and SDL's callback mixes all slots out of it. Both sides hold SDL_LockAudioDevice()
 *    (SDL holds the same mutex around its callback) for one short copy. A lock-free ring
 *    would not do: when a slot overflows the oldest sound is dropped, which moves the read
 *    end of the ring from the writer's side, and only a lock makes that safe.
 *  - Microphone: a lock-free single-producer/single-consumer ring (C11 atomics: SDL's
 *    capture callback produces, the loop thread consumes), so capture never waits on the
 *    loop. When the ring is full the newest samples are dropped and counted, which is the
 *    only policy a producer can apply without touching the consumer's end. A uv_async_t
 *    wakes the loop, which hands out whole 20 ms frames.
 *
 * Audio is 48 kHz mono signed 16-bit in host order, in 20 ms (960-sample) buffers. Memory
 * is taken at open: nothing is allocated per audio frame or per picture, except a slot's
 * texture, which is made again when its picture size changes.
 *
 * Errors: 0, or CQ_EINVAL (arguments), CQ_EBADSTATE (cq_sdl_init() did not start the
 * subsystem), CQ_ENOMEM, CQ_EIO (SDL refused: cq_sdl_error() says why), or a libuv code.
 */
#ifndef CQ_CLIENT_SDLIO_H
#define CQ_CLIENT_SDLIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "codec/vp8_codec.h"

#define CQ_SDL_SLOTS           16    /* remote telecentres shown and heard at once */
#define CQ_SDL_RATE            48000 /* Hz, mono */
#define CQ_SDL_FRAME_SAMPLES   960   /* 20 ms: SDL's buffer, and a microphone frame */
#define CQ_SDL_SPEAKER_SAMPLES 24000 /* a speaker slot's ring: 500 ms */
#define CQ_SDL_MIC_SAMPLES     32768 /* the microphone ring: 682 ms (a power of two) */

/* Starts SDL's video (and events) and/or audio subsystems. SDL is told not to install its
 * SIGINT/SIGTERM handlers, so the client's own (uv_signal_t) keep working. Returns 0,
 * CQ_EINVAL when neither is asked for, or CQ_EIO. */
int cq_sdl_init(bool video, bool audio);

/* Stops SDL. Close every window and device first. */
void cq_sdl_quit(void);

/* What SDL said about its last failure (after a CQ_EIO); never NULL, "" when nothing. */
const char *cq_sdl_error(void);

/*
 * The window: the latest picture of each remote telecentre, laid out in a grid.
 */
struct cq_sdl_window;

/* Opens a resizable window of width x height (1..16384) with an accelerated renderer, or
 * the software one when there is none. Returns 0 and *out, CQ_EINVAL, CQ_EBADSTATE (video
 * not started), CQ_ENOMEM or CQ_EIO. */
int cq_sdl_window_open(struct cq_sdl_window **out, const char *title, unsigned width,
                       unsigned height);

/* Destroys the textures, the renderer and the window. NULL is fine. */
void cq_sdl_window_close(struct cq_sdl_window *w);

/* Keeps img (copied into the slot's texture; the caller's buffer may be reused at once) as
 * slot's latest picture, shown at the next present. A slot's texture is made again when its
 * picture size changes. Returns 0, CQ_EINVAL (slot >= CQ_SDL_SLOTS, an empty picture) or
 * CQ_EIO (the texture could not be made or filled: the slot then has no picture). */
int cq_sdl_window_show(struct cq_sdl_window *w, unsigned slot, const cq_i420_t *img);

/* Forgets slot's picture (its telecentre left) and frees its texture. Returns 0 or
 * CQ_EINVAL. */
int cq_sdl_window_clear(struct cq_sdl_window *w, unsigned slot);

/* Draws the slots that have a picture, in slot order, in a grid over the whole window:
 * 1 full, 2 side by side, 3-4 in 2x2, 5-9 in 3x3, 10-16 in 4x4; each picture as large as
 * its cell allows with its aspect kept, black around it. Returns 0 or CQ_EIO. */
int cq_sdl_window_present(struct cq_sdl_window *w);

/* Pumps SDL's events; returns whether the user asked to close (SDL_QUIT, or this window's
 * close button). Once asked, it stays asked. */
bool cq_sdl_window_poll(struct cq_sdl_window *w);

/* How many times the H key ("hand": ask to speak) was pressed in the window since the last
 * call; key repeats do not count. */
unsigned cq_sdl_window_take_hand(struct cq_sdl_window *w);

/* SDL's id of the window, for callers (and tests) that look at it through SDL. */
uint32_t cq_sdl_window_id(const struct cq_sdl_window *w);

typedef struct {
    int x, y, w, h;
} cq_sdl_rect_t;

/* The layout cq_sdl_window_present() uses: where picture index (0-based, among count
 * pictures) of pic_w x pic_h goes in an out_w x out_h window. count 1..CQ_SDL_SLOTS,
 * index < count, sizes > 0; otherwise an empty rectangle. */
void cq_sdl_window_layout(unsigned count, unsigned index, unsigned out_w, unsigned out_h,
                          unsigned pic_w, unsigned pic_h, cq_sdl_rect_t *r);

typedef struct {
    uint64_t pictures;         /* shown */
    uint64_t textures_created; /* a slot's first picture, or one of another size */
    uint64_t presents;
    unsigned slots_shown; /* slots with a picture now */
} cq_sdl_window_stats_t;

void cq_sdl_window_stats(const struct cq_sdl_window *w, cq_sdl_window_stats_t *out);

/*
 * The speakers: the default output device, fed by a ring per remote telecentre.
 */
struct cq_sdl_speaker;

/* Opens the default output device (48 kHz, mono, S16, 960-sample buffer) and starts it.
 * Returns 0 and *out, CQ_EBADSTATE (audio not started), CQ_ENOMEM or CQ_EIO. */
int cq_sdl_speaker_open(struct cq_sdl_speaker **out);

/* Stops the device (SDL's callback has returned for good when this does) and frees.
 * NULL is fine. */
void cq_sdl_speaker_close(struct cq_sdl_speaker *s);

/* Queues samples of slot's decoded sound (copied). When the slot's ring (500 ms) would
 * overflow, the oldest sound is dropped and counted. Returns 0 or CQ_EINVAL. */
int cq_sdl_speaker_play(struct cq_sdl_speaker *s, unsigned slot, const int16_t *pcm,
                        size_t samples);

/* Drops slot's queued sound and forgets that it was playing (its telecentre left), so its
 * silence is not counted as underruns. Returns 0 or CQ_EINVAL. */
int cq_sdl_speaker_clear(struct cq_sdl_speaker *s, unsigned slot);

/* Pauses (SDL plays silence, the rings keep what they hold) or resumes the device. */
void cq_sdl_speaker_pause(struct cq_sdl_speaker *s, bool paused);

typedef struct {
    uint64_t frames_mixed;         /* output buffers SDL asked for */
    uint64_t overflows, underruns; /* over all slots */
    struct {
        uint64_t queued, played; /* samples */
        uint64_t overflows;      /* plays that dropped sound */
        uint64_t dropped;        /* samples dropped by them */
        uint64_t underruns;      /* output buffers the slot could not fill, once started */
        unsigned buffered;       /* samples waiting */
    } slot[CQ_SDL_SLOTS];
} cq_sdl_speaker_stats_t;

void cq_sdl_speaker_stats(struct cq_sdl_speaker *s, cq_sdl_speaker_stats_t *out);

/*
 * The microphone: the default capture device, in 20 ms frames on the loop thread.
 */
struct cq_sdl_mic;

/* A whole frame of CQ_SDL_FRAME_SAMPLES samples, valid during the call, on the loop
 * thread. The callback may close the microphone. */
typedef void (*cq_sdl_mic_cb)(void *ctx, const int16_t *pcm, size_t samples);

/* Opens the default capture device (48 kHz, mono, S16) and starts it. Returns 0 and *out,
 * CQ_EINVAL, CQ_EBADSTATE (audio not started), CQ_ENOMEM, CQ_EIO or libuv's code. */
int cq_sdl_mic_open(struct cq_sdl_mic **out, uv_loop_t *loop, cq_sdl_mic_cb on_frame, void *ctx);

/* Stops the device, then closes the uv handle; freed once libuv has closed it (run the
 * loop). No frame is delivered after this. NULL is fine. */
void cq_sdl_mic_close(struct cq_sdl_mic *m);

typedef struct {
    uint64_t frames_delivered;
    uint64_t samples_captured; /* what SDL gave, kept or not */
    uint64_t samples_dropped;  /* the ring was full */
} cq_sdl_mic_stats_t;

void cq_sdl_mic_stats(const struct cq_sdl_mic *m, cq_sdl_mic_stats_t *out);

#endif
