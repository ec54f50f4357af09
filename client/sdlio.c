#include "client/sdlio.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <SDL.h>

#include "client/receiver.h"
#include "rtp/error.h"

/* A slot is a remote telecentre as the receiver counts them. */
_Static_assert(CQ_SDL_SLOTS == CQ_RECEIVER_MAX_REMOTES, "one slot per remote");
/* The microphone ring's indices are masked, not divided. */
_Static_assert((CQ_SDL_MIC_SAMPLES & (CQ_SDL_MIC_SAMPLES - 1)) == 0, "a power of two");
_Static_assert(CQ_SDL_MIC_SAMPLES >= 2 * CQ_SDL_FRAME_SAMPLES, "room for two frames");

#define MAX_SIDE 16384 /* larger windows and pictures than any SDL renderer takes */

int cq_sdl_init(bool video, bool audio) {
    Uint32 flags = (video ? SDL_INIT_VIDEO | SDL_INIT_EVENTS : 0) | (audio ? SDL_INIT_AUDIO : 0);
    if (flags == 0)
        return CQ_EINVAL;
    /* SDL would turn SIGINT and SIGTERM into SDL_QUIT and hide them from the loop's own
     * uv_signal_t handlers; the client decides what a signal means. */
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    if (SDL_InitSubSystem(flags) != 0)
        return CQ_EIO;
    return 0;
}

void cq_sdl_quit(void) {
    SDL_Quit();
}

const char *cq_sdl_error(void) {
    return SDL_GetError();
}

/* Fails with CQ_EBADSTATE, told through SDL's error too, when cq_sdl_init() did not start
 * the subsystem: SDL would otherwise start it behind the caller's back, or fail vaguely. */
static int need_subsystem(Uint32 flag, const char *name) {
    if (SDL_WasInit(flag) == flag)
        return 0;
    SDL_SetError("chasqui: SDL %s was not started (cq_sdl_init)", name);
    return CQ_EBADSTATE;
}

/* ---- Window ------------------------------------------------------------------------- */

typedef struct {
    SDL_Texture *tex; /* NULL: no picture */
    unsigned width, height;
} win_slot_t;

struct cq_sdl_window {
    SDL_Window *win;
    SDL_Renderer *ren;
    uint32_t id;
    bool quit;
    unsigned hand_presses; /* H pressed since the last cq_sdl_window_take_hand */
    win_slot_t slot[CQ_SDL_SLOTS];
    uint64_t pictures, textures_created, presents;
};

int cq_sdl_window_open(struct cq_sdl_window **out, const char *title, unsigned width,
                       unsigned height) {
    if (out == NULL || width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE)
        return CQ_EINVAL;
    int rc = need_subsystem(SDL_INIT_VIDEO, "video");
    if (rc != 0)
        return rc;
    struct cq_sdl_window *w = calloc(1, sizeof *w);
    if (w == NULL)
        return CQ_ENOMEM;
    rc = CQ_EIO;
    w->win =
        SDL_CreateWindow(title != NULL ? title : "chasqui", SDL_WINDOWPOS_UNDEFINED,
                         SDL_WINDOWPOS_UNDEFINED, (int)width, (int)height, SDL_WINDOW_RESIZABLE);
    if (w->win == NULL)
        goto fail;
    /* No vsync: presenting must not block the loop thread for a refresh period. */
    w->ren = SDL_CreateRenderer(w->win, -1, SDL_RENDERER_ACCELERATED);
    if (w->ren == NULL)
        w->ren = SDL_CreateRenderer(w->win, -1, SDL_RENDERER_SOFTWARE);
    if (w->ren == NULL)
        goto fail;
    w->id = SDL_GetWindowID(w->win);
    if (w->id == 0)
        goto fail;
    *out = w;
    return 0;
fail:
    if (w->ren != NULL)
        SDL_DestroyRenderer(w->ren);
    if (w->win != NULL)
        SDL_DestroyWindow(w->win);
    free(w);
    return rc;
}

static void slot_forget(win_slot_t *s) {
    if (s->tex != NULL)
        SDL_DestroyTexture(s->tex);
    *s = (win_slot_t){0};
}

void cq_sdl_window_close(struct cq_sdl_window *w) {
    if (w == NULL)
        return;
    for (unsigned k = 0; k < CQ_SDL_SLOTS; k++)
        slot_forget(&w->slot[k]);
    SDL_DestroyRenderer(w->ren);
    SDL_DestroyWindow(w->win);
    free(w);
}

int cq_sdl_window_show(struct cq_sdl_window *w, unsigned slot, const cq_i420_t *img) {
    if (slot >= CQ_SDL_SLOTS || img == NULL || img->width == 0 || img->height == 0 ||
        img->width > MAX_SIDE || img->height > MAX_SIDE)
        return CQ_EINVAL;
    win_slot_t *s = &w->slot[slot];
    if (s->tex == NULL || s->width != img->width || s->height != img->height) {
        slot_forget(s);
        s->tex = SDL_CreateTexture(w->ren, SDL_PIXELFORMAT_IYUV, SDL_TEXTUREACCESS_STREAMING,
                                   (int)img->width, (int)img->height);
        if (s->tex == NULL)
            return CQ_EIO;
        s->width = img->width;
        s->height = img->height;
        w->textures_created++;
        /* Pictures are mostly scaled up from a small layer: smooth beats blocky. A renderer
         * that cannot filter keeps its default, which is not worth failing over. */
        (void)SDL_SetTextureScaleMode(s->tex, SDL_ScaleModeLinear);
    }
    if (SDL_UpdateYUVTexture(s->tex, NULL, img->plane[0], img->stride[0], img->plane[1],
                             img->stride[1], img->plane[2], img->stride[2]) != 0) {
        slot_forget(s); /* what it holds now is neither the old picture nor the new */
        return CQ_EIO;
    }
    w->pictures++;
    return 0;
}

int cq_sdl_window_clear(struct cq_sdl_window *w, unsigned slot) {
    if (slot >= CQ_SDL_SLOTS)
        return CQ_EINVAL;
    slot_forget(&w->slot[slot]);
    return 0;
}

void cq_sdl_window_layout(unsigned count, unsigned index, unsigned out_w, unsigned out_h,
                          unsigned pic_w, unsigned pic_h, cq_sdl_rect_t *r) {
    *r = (cq_sdl_rect_t){0};
    if (count == 0 || count > CQ_SDL_SLOTS || index >= count || out_w == 0 || out_h == 0 ||
        out_w > MAX_SIDE || out_h > MAX_SIDE || pic_w == 0 || pic_h == 0)
        return;
    unsigned cols = 1, rows = 1;
    if (count == 2) {
        cols = 2; /* two faces side by side use a landscape window best */
    } else if (count > 2) {
        while (cols * cols < count)
            cols++;
        rows = cols;
    }
    unsigned col = index % cols, row = index / cols;
    /* Cell edges from the window size, so cells tile it with no gap from rounding. */
    uint64_t x0 = (uint64_t)col * out_w / cols, x1 = (uint64_t)(col + 1) * out_w / cols;
    uint64_t y0 = (uint64_t)row * out_h / rows, y1 = (uint64_t)(row + 1) * out_h / rows;
    uint64_t cw = x1 - x0, ch = y1 - y0, w, h;
    if ((uint64_t)pic_w * ch >= (uint64_t)pic_h * cw) { /* wider than the cell: bars above */
        w = cw;
        h = ((uint64_t)pic_h * cw + pic_w / 2) / pic_w;
    } else { /* taller: bars beside */
        h = ch;
        w = ((uint64_t)pic_w * ch + pic_h / 2) / pic_h;
    }
    w = w == 0 ? 1 : (w > cw ? cw : w);
    h = h == 0 ? 1 : (h > ch ? ch : h);
    r->x = (int)(x0 + (cw - w) / 2);
    r->y = (int)(y0 + (ch - h) / 2);
    r->w = (int)w;
    r->h = (int)h;
}

int cq_sdl_window_present(struct cq_sdl_window *w) {
    int ow, oh;
    if (SDL_GetRendererOutputSize(w->ren, &ow, &oh) != 0 ||
        SDL_SetRenderDrawColor(w->ren, 0, 0, 0, SDL_ALPHA_OPAQUE) != 0 ||
        SDL_RenderClear(w->ren) != 0)
        return CQ_EIO;
    unsigned count = 0, index = 0;
    for (unsigned k = 0; k < CQ_SDL_SLOTS; k++)
        count += w->slot[k].tex != NULL;
    for (unsigned k = 0; k < CQ_SDL_SLOTS && ow > 0 && oh > 0; k++) {
        const win_slot_t *s = &w->slot[k];
        if (s->tex == NULL)
            continue;
        cq_sdl_rect_t r;
        cq_sdl_window_layout(count, index++, (unsigned)ow, (unsigned)oh, s->width, s->height, &r);
        SDL_Rect dst = {r.x, r.y, r.w, r.h};
        if (SDL_RenderCopy(w->ren, s->tex, NULL, &dst) != 0)
            return CQ_EIO;
    }
    SDL_RenderPresent(w->ren);
    w->presents++;
    return 0;
}

bool cq_sdl_window_poll(struct cq_sdl_window *w) {
    SDL_Event ev;
    while (SDL_PollEvent(&ev)) {
        if (ev.type == SDL_QUIT)
            w->quit = true;
        else if (ev.type == SDL_WINDOWEVENT && ev.window.event == SDL_WINDOWEVENT_CLOSE &&
                 ev.window.windowID == w->id)
            w->quit = true;
        else if (ev.type == SDL_KEYDOWN && !ev.key.repeat && ev.key.windowID == w->id &&
                 ev.key.keysym.sym == SDLK_h)
            w->hand_presses++;
    }
    return w->quit;
}

unsigned cq_sdl_window_take_hand(struct cq_sdl_window *w) {
    unsigned n = w->hand_presses;
    w->hand_presses = 0;
    return n;
}

uint32_t cq_sdl_window_id(const struct cq_sdl_window *w) {
    return w->id;
}

void cq_sdl_window_stats(const struct cq_sdl_window *w, cq_sdl_window_stats_t *out) {
    *out = (cq_sdl_window_stats_t){
        .pictures = w->pictures, .textures_created = w->textures_created, .presents = w->presents};
    for (unsigned k = 0; k < CQ_SDL_SLOTS; k++)
        out->slots_shown += w->slot[k].tex != NULL;
}

/* ---- Audio devices ------------------------------------------------------------------ */

static SDL_AudioDeviceID open_device(bool capture, SDL_AudioCallback cb, void *ctx) {
    SDL_AudioSpec want = {.freq = CQ_SDL_RATE,
                          .format = AUDIO_S16SYS,
                          .channels = 1,
                          .samples = CQ_SDL_FRAME_SAMPLES,
                          .callback = cb,
                          .userdata = ctx},
                  have;
    /* No changes allowed: where the device differs SDL converts and rebuffers, so the
     * callback always sees exactly this format in 960-sample buffers. Devices open paused. */
    return SDL_OpenAudioDevice(NULL, capture ? 1 : 0, &want, &have, 0);
}

/* ---- Speakers ----------------------------------------------------------------------- */

/* A slot's ring. Every field is touched only under the device's lock (SDL's callback holds
 * it; the loop thread takes it with SDL_LockAudioDevice). */
typedef struct {
    size_t head, count; /* read position, samples held */
    bool started;       /* sound came since open or the last clear: silence is an underrun */
    uint64_t queued, played, overflows, dropped, underruns;
    int16_t pcm[CQ_SDL_SPEAKER_SAMPLES];
} spk_slot_t;

struct cq_sdl_speaker {
    SDL_AudioDeviceID dev;
    uint64_t frames_mixed;
    int32_t acc[CQ_SDL_FRAME_SAMPLES]; /* the mix before saturation */
    int16_t out[CQ_SDL_FRAME_SAMPLES];
    spk_slot_t slot[CQ_SDL_SLOTS];
};

/* Adds up to n of the slot's samples into acc; returns how many it had. */
static size_t mix_slot(spk_slot_t *q, int32_t *acc, size_t n) {
    size_t take = q->count < n ? q->count : n;
    for (size_t i = 0; i < take; i++)
        acc[i] += q->pcm[(q->head + i) % CQ_SDL_SPEAKER_SAMPLES];
    q->head = (q->head + take) % CQ_SDL_SPEAKER_SAMPLES;
    q->count -= take;
    q->played += take;
    return take;
}

/* SDL's audio thread, with the device locked: mixes every slot, saturating. */
static void SDLCALL speaker_cb(void *ctx, Uint8 *stream, int len) {
    struct cq_sdl_speaker *s = ctx;
    size_t total = (size_t)len / sizeof(int16_t);
    s->frames_mixed++;
    for (unsigned k = 0; k < CQ_SDL_SLOTS; k++)
        if (s->slot[k].started && s->slot[k].count < total)
            s->slot[k].underruns++;
    for (size_t done = 0; done < total;) {
        size_t n = total - done < CQ_SDL_FRAME_SAMPLES ? total - done : CQ_SDL_FRAME_SAMPLES;
        memset(s->acc, 0, n * sizeof s->acc[0]);
        for (unsigned k = 0; k < CQ_SDL_SLOTS; k++)
            mix_slot(&s->slot[k], s->acc, n);
        for (size_t i = 0; i < n; i++) {
            int32_t v = s->acc[i];
            s->out[i] = (int16_t)(v > INT16_MAX ? INT16_MAX : v < INT16_MIN ? INT16_MIN : v);
        }
        memcpy(stream + done * sizeof(int16_t), s->out, n * sizeof(int16_t));
        done += n;
    }
    if ((size_t)len > total * sizeof(int16_t)) /* half a sample: never with S16 */
        stream[len - 1] = 0;
}

int cq_sdl_speaker_open(struct cq_sdl_speaker **out) {
    if (out == NULL)
        return CQ_EINVAL;
    int rc = need_subsystem(SDL_INIT_AUDIO, "audio");
    if (rc != 0)
        return rc;
    struct cq_sdl_speaker *s = calloc(1, sizeof *s);
    if (s == NULL)
        return CQ_ENOMEM;
    s->dev = open_device(false, speaker_cb, s);
    if (s->dev == 0) {
        free(s);
        return CQ_EIO;
    }
    SDL_PauseAudioDevice(s->dev, 0);
    *out = s;
    return 0;
}

void cq_sdl_speaker_close(struct cq_sdl_speaker *s) {
    if (s == NULL)
        return;
    SDL_CloseAudioDevice(s->dev); /* joins SDL's audio thread: no callback after this */
    free(s);
}

int cq_sdl_speaker_play(struct cq_sdl_speaker *s, unsigned slot, const int16_t *pcm,
                        size_t samples) {
    if (slot >= CQ_SDL_SLOTS || (pcm == NULL && samples > 0))
        return CQ_EINVAL;
    if (samples == 0)
        return 0;
    const size_t cap = CQ_SDL_SPEAKER_SAMPLES;
    /* More than the ring holds: only the newest of it could ever play. */
    size_t skip = samples > cap ? samples - cap : 0;
    pcm += skip;
    samples -= skip;
    SDL_LockAudioDevice(s->dev);
    spk_slot_t *q = &s->slot[slot];
    size_t over = q->count + samples > cap ? q->count + samples - cap : 0;
    q->head = (q->head + over) % cap; /* the oldest sound goes */
    q->count -= over;
    if (over + skip > 0) {
        q->overflows++;
        q->dropped += over + skip;
    }
    size_t at = (q->head + q->count) % cap, first = cap - at < samples ? cap - at : samples;
    memcpy(&q->pcm[at], pcm, first * sizeof *pcm);
    memcpy(q->pcm, pcm + first, (samples - first) * sizeof *pcm);
    q->count += samples;
    q->queued += samples + skip;
    q->started = true;
    SDL_UnlockAudioDevice(s->dev);
    return 0;
}

int cq_sdl_speaker_clear(struct cq_sdl_speaker *s, unsigned slot) {
    if (slot >= CQ_SDL_SLOTS)
        return CQ_EINVAL;
    SDL_LockAudioDevice(s->dev);
    spk_slot_t *q = &s->slot[slot];
    q->head = q->count = 0;
    q->started = false;
    SDL_UnlockAudioDevice(s->dev);
    return 0;
}

void cq_sdl_speaker_pause(struct cq_sdl_speaker *s, bool paused) {
    SDL_PauseAudioDevice(s->dev, paused ? 1 : 0);
}

void cq_sdl_speaker_stats(struct cq_sdl_speaker *s, cq_sdl_speaker_stats_t *out) {
    *out = (cq_sdl_speaker_stats_t){0};
    SDL_LockAudioDevice(s->dev);
    out->frames_mixed = s->frames_mixed;
    for (unsigned k = 0; k < CQ_SDL_SLOTS; k++) {
        const spk_slot_t *q = &s->slot[k];
        out->slot[k].queued = q->queued;
        out->slot[k].played = q->played;
        out->slot[k].overflows = q->overflows;
        out->slot[k].dropped = q->dropped;
        out->slot[k].underruns = q->underruns;
        out->slot[k].buffered = (unsigned)q->count;
        out->overflows += q->overflows;
        out->underruns += q->underruns;
    }
    SDL_UnlockAudioDevice(s->dev);
}

/* ---- Microphone --------------------------------------------------------------------- */

/*
 * The ring is single-producer (SDL's capture callback moves head) and single-consumer (the
 * loop thread moves tail). Indices only grow (wrapping as size_t, which the power-of-two
 * size survives); a side publishes its index with release after touching the samples, and
 * reads the other's with acquire before touching them, so neither reads samples the other
 * has not finished with.
 */
struct cq_sdl_mic {
    uv_async_t async;
    SDL_AudioDeviceID dev;
    cq_sdl_mic_cb on_frame;
    void *ctx;
    bool closing;
    uint64_t frames_delivered; /* loop thread */
    _Atomic uint64_t captured, dropped;
    _Atomic size_t head, tail;
    int16_t frame[CQ_SDL_FRAME_SAMPLES]; /* a whole frame, contiguous, for on_frame */
    int16_t ring[CQ_SDL_MIC_SAMPLES];
};

#define MIC_MASK ((size_t)CQ_SDL_MIC_SAMPLES - 1)

/* SDL's audio thread: keeps what fits, drops the rest, wakes the loop for whole frames. */
static void SDLCALL mic_cb(void *ctx, Uint8 *stream, int len) {
    struct cq_sdl_mic *m = ctx;
    size_t n = (size_t)len / sizeof(int16_t);
    size_t head = atomic_load_explicit(&m->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&m->tail, memory_order_acquire);
    size_t space = CQ_SDL_MIC_SAMPLES - (head - tail);
    size_t take = n < space ? n : space;
    size_t at = head & MIC_MASK,
           first = CQ_SDL_MIC_SAMPLES - at < take ? CQ_SDL_MIC_SAMPLES - at : take;
    memcpy(&m->ring[at], stream, first * sizeof(int16_t));
    memcpy(m->ring, stream + first * sizeof(int16_t), (take - first) * sizeof(int16_t));
    atomic_store_explicit(&m->head, head + take, memory_order_release);
    atomic_fetch_add_explicit(&m->captured, n, memory_order_relaxed);
    if (take < n)
        atomic_fetch_add_explicit(&m->dropped, n - take, memory_order_relaxed);
    if (head + take - tail >= CQ_SDL_FRAME_SAMPLES)
        uv_async_send(&m->async); /* thread-safe; wake-ups coalesce */
}

/* The loop thread: hands out the whole frames there are now (not those that arrive while
 * it does, so a fast producer cannot keep the loop here). */
static void mic_async_cb(uv_async_t *a) {
    struct cq_sdl_mic *m = a->data;
    size_t tail = atomic_load_explicit(&m->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&m->head, memory_order_acquire);
    for (size_t frames = (head - tail) / CQ_SDL_FRAME_SAMPLES; frames > 0 && !m->closing;
         frames--) {
        size_t at = tail & MIC_MASK;
        size_t first = CQ_SDL_MIC_SAMPLES - at < CQ_SDL_FRAME_SAMPLES ? CQ_SDL_MIC_SAMPLES - at
                                                                      : CQ_SDL_FRAME_SAMPLES;
        memcpy(m->frame, &m->ring[at], first * sizeof(int16_t));
        memcpy(m->frame + first, m->ring, (CQ_SDL_FRAME_SAMPLES - first) * sizeof(int16_t));
        tail += CQ_SDL_FRAME_SAMPLES;
        atomic_store_explicit(&m->tail, tail, memory_order_release);
        m->frames_delivered++;
        m->on_frame(m->ctx, m->frame, CQ_SDL_FRAME_SAMPLES); /* may close m */
    }
}

int cq_sdl_mic_open(struct cq_sdl_mic **out, uv_loop_t *loop, cq_sdl_mic_cb on_frame, void *ctx) {
    if (out == NULL || loop == NULL || on_frame == NULL)
        return CQ_EINVAL;
    int rc = need_subsystem(SDL_INIT_AUDIO, "audio");
    if (rc != 0)
        return rc;
    struct cq_sdl_mic *m = calloc(1, sizeof *m);
    if (m == NULL)
        return CQ_ENOMEM;
    m->on_frame = on_frame;
    m->ctx = ctx;
    atomic_init(&m->captured, 0);
    atomic_init(&m->dropped, 0);
    atomic_init(&m->head, 0);
    atomic_init(&m->tail, 0);
    /* The device opens paused (SDL calls no capture callback then), so the async handle is
     * ready before the first callback can send on it. */
    m->dev = open_device(true, mic_cb, m);
    if (m->dev == 0) {
        free(m);
        return CQ_EIO;
    }
    rc = uv_async_init(loop, &m->async, mic_async_cb);
    if (rc != 0) {
        SDL_CloseAudioDevice(m->dev);
        free(m);
        return rc;
    }
    m->async.data = m;
    SDL_PauseAudioDevice(m->dev, 0);
    *out = m;
    return 0;
}

static void mic_closed(uv_handle_t *h) {
    free(h->data);
}

void cq_sdl_mic_close(struct cq_sdl_mic *m) {
    if (m == NULL)
        return;
    m->closing = true;
    /* Joins SDL's audio thread first: after it, nothing sends on the handle being closed. */
    SDL_CloseAudioDevice(m->dev);
    uv_close((uv_handle_t *)&m->async, mic_closed);
}

void cq_sdl_mic_stats(const struct cq_sdl_mic *m, cq_sdl_mic_stats_t *out) {
    *out = (cq_sdl_mic_stats_t){
        .frames_delivered = m->frames_delivered,
        .samples_captured = atomic_load_explicit(&m->captured, memory_order_relaxed),
        .samples_dropped = atomic_load_explicit(&m->dropped, memory_order_relaxed)};
}
