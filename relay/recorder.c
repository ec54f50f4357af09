#include "relay/recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include <uv.h>

#include "codec/recfile.h"
#include "rtp/error.h"
#include "signaling/fsutil.h"
#include "signaling/log.h"

/* Slots only control entries (start, stop) may take: a full ring of packets never keeps
 * an operator from stopping a recording. */
#define CONTROL_RESERVE 16
/* The writer reads the free space and flushes its files this often while it records: a
 * crash loses at most this much of each file. */
#define CHECK_INTERVAL_US 1000000u
/* Each file's stdio buffer: a second of a 500 kbit/s layer is written in one call. */
#define FILE_BUFFER (64u << 10)
/* Tries at a free name before a file is given up (a stop and start in one second). */
#define NAME_TRIES 10

enum { ENTRY_PACKET, ENTRY_START, ENTRY_STOP, ENTRY_LEFT };

struct entry {
    uint8_t type; /* ENTRY_* */
    uint16_t len;
    cq_recorder_stream_t st;
    uint64_t arrival_us;
    uint8_t data[CQ_RECORDER_MAX_PACKET];
};

/* What the writer thread keeps of a session it records. */
struct wsession {
    uint32_t id;
    bool used;
    char stamp[24]; /* UTC time of the start: the prefix of its files' names */
};

struct wfile {
    bool used;
    uint32_t session, participant, ssrc, epoch;
    FILE *f;
    char *buf; /* its stdio buffer */
};

struct cq_recorder {
    cq_recorder_config_t cfg;
    char *dir;
    size_t mask;
    struct entry *ring;
    /* The producer's and the consumer's indexes, apart so that neither's stores move the
     * other's cache line. Each is written by one thread only. */
    _Alignas(64) _Atomic size_t head;
    _Alignas(64) _Atomic size_t tail;
    _Alignas(64) _Atomic uint64_t pushed, dropped, written, discarded, files, write_errors;

    uv_thread_t thread;
    _Atomic bool quit;
    uv_mutex_t lock; /* wakes the writer; guards stopped[] */
    uv_cond_t wake;
    uint32_t stopped[CQ_RECORDER_MAX_SESSIONS];
    size_t nstopped;
    /* The free space as the writer last read it, once a second even when idle, for
     * starts: statvfs on a stalled disk can block for seconds, and a start runs on the
     * forwarding thread. free_err: 0, or why it could not be read. */
    _Atomic uint64_t free_cached;
    _Atomic int free_err;
    /* The producer's own: sessions started and not stopped, so that a start past
     * CQ_RECORDER_MAX_SESSIONS is refused rather than dropped unseen by the writer. */
    size_t producing;
    _Atomic bool has_stopped;

    /* The writer thread's own. */
    struct wsession sessions[CQ_RECORDER_MAX_SESSIONS];
    struct wfile files_open[CQ_RECORDER_MAX_FILES];
    uint64_t next_check_us;
};

/* One writer per counter: a relaxed load and store costs no locked instruction. */
static void bump(_Atomic uint64_t *c) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static uint64_t mono_us(void) {
    return uv_hrtime() / 1000u;
}

static uint64_t now_wallclock_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int free_space(struct cq_recorder *rec, uint64_t *out) {
    if (rec->cfg.free_bytes != NULL)
        return rec->cfg.free_bytes(rec->cfg.hook_arg, rec->dir, out);
    struct statvfs st;
    /* The directory may not exist yet: what holds it is what it would be made on. */
    if (statvfs(rec->dir, &st) != 0 && statvfs(".", &st) != 0)
        return -errno;
    *out = (uint64_t)st.f_bavail * st.f_frsize;
    return 0;
}

int cq_recorder_session_dir(const char *dir, uint32_t session_id, char *buf, size_t cap) {
    int n = snprintf(buf, cap, "%s/session-%" PRIu32, dir, session_id);
    return n < 0 || (size_t)n >= cap ? CQ_ENOBUFS : n;
}

/* ---- producer side ------------------------------------------------------------------ */

/* The next free slot, or NULL when fewer than reserve are free. */
static struct entry *slot_for(struct cq_recorder *rec, size_t reserve, size_t *h) {
    *h = atomic_load_explicit(&rec->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&rec->tail, memory_order_acquire);
    if (rec->mask + 1 - (*h - t) <= reserve)
        return NULL;
    return &rec->ring[*h & rec->mask];
}

static void publish(struct cq_recorder *rec, size_t h) {
    atomic_store_explicit(&rec->head, h + 1, memory_order_release);
}

bool cq_recorder_push(struct cq_recorder *rec, const cq_recorder_stream_t *st, uint64_t arrival_us,
                      const uint8_t *pkt, size_t len) {
    size_t h;
    struct entry *e =
        len <= CQ_RECORDER_MAX_PACKET && len > 0 ? slot_for(rec, CONTROL_RESERVE, &h) : NULL;
    if (e == NULL) {
        bump(&rec->dropped);
        return false;
    }
    e->type = ENTRY_PACKET;
    e->len = (uint16_t)len;
    e->st = *st;
    e->arrival_us = arrival_us;
    memcpy(e->data, pkt, len);
    publish(rec, h);
    bump(&rec->pushed);
    return true;
}

/* reserve: slots a control entry must leave free. A participant's leaving leaves half the
 * reserve to starts and stops, so that leavings piling up while the disk stalls can never
 * keep a session's stop out (its files would stay open, its slot taken, for good). */
static int push_control(struct cq_recorder *rec, uint8_t type, const cq_recorder_stream_t *st,
                        size_t reserve) {
    size_t h;
    struct entry *e = slot_for(rec, reserve, &h);
    if (e == NULL)
        return CQ_EAGAIN;
    memset(e, 0, offsetof(struct entry, data));
    e->type = type;
    e->st = *st;
    publish(rec, h);
    /* The control path may make a system call: the writer starts draining now. */
    uv_mutex_lock(&rec->lock);
    uv_cond_signal(&rec->wake);
    uv_mutex_unlock(&rec->lock);
    return 0;
}

/* The free space read now, published for starts. */
static void read_free_space(struct cq_recorder *rec, uint64_t *avail, int *err) {
    *avail = 0;
    *err = free_space(rec, avail);
    atomic_store_explicit(&rec->free_cached, *avail, memory_order_relaxed);
    atomic_store_explicit(&rec->free_err, *err, memory_order_release);
}

int cq_recorder_start(struct cq_recorder *rec, uint32_t session_id) {
    if (rec->producing >= CQ_RECORDER_MAX_SESSIONS) {
        cq_log(CQ_LOG_WARN, "recorder", "session %" PRIu32 " not recorded: %d already are",
               session_id, CQ_RECORDER_MAX_SESSIONS);
        return CQ_ENOBUFS;
    }
    /* As the writer read it within the last second or so: never a system call here. */
    int err = atomic_load_explicit(&rec->free_err, memory_order_acquire);
    uint64_t avail = atomic_load_explicit(&rec->free_cached, memory_order_relaxed);
    if (err != 0) {
        cq_log(CQ_LOG_ERROR, "recorder", "free space of %s unknown: %s", rec->dir,
               cq_strerror(err));
        return CQ_EIO;
    }
    if (avail < rec->cfg.min_free_bytes) {
        cq_log(CQ_LOG_WARN, "recorder",
               "session %" PRIu32 " not recorded: %" PRIu64 " MiB free in %s, under the floor "
               "of %" PRIu64 " MiB",
               session_id, avail >> 20, rec->dir, rec->cfg.min_free_bytes >> 20);
        return CQ_ENOSPC;
    }
    err = push_control(rec, ENTRY_START, &(cq_recorder_stream_t){.session = session_id}, 0);
    rec->producing += err == 0;
    return err;
}

int cq_recorder_stop(struct cq_recorder *rec, uint32_t session_id) {
    int err = push_control(rec, ENTRY_STOP, &(cq_recorder_stream_t){.session = session_id}, 0);
    if (err == 0 && rec->producing > 0)
        rec->producing--;
    return err;
}

int cq_recorder_left(struct cq_recorder *rec, uint32_t session_id, uint32_t participant_id,
                     uint32_t epoch) {
    cq_recorder_stream_t st = {
        .session = session_id, .participant = participant_id, .epoch = epoch};
    return push_control(rec, ENTRY_LEFT, &st, CONTROL_RESERVE / 2);
}

bool cq_recorder_poll_stopped(struct cq_recorder *rec, uint32_t *session_id) {
    if (!atomic_load_explicit(&rec->has_stopped, memory_order_acquire))
        return false;
    uv_mutex_lock(&rec->lock);
    bool found = rec->nstopped > 0;
    if (found) {
        *session_id = rec->stopped[0];
        memmove(rec->stopped, rec->stopped + 1, --rec->nstopped * sizeof rec->stopped[0]);
    }
    atomic_store_explicit(&rec->has_stopped, rec->nstopped > 0, memory_order_release);
    uv_mutex_unlock(&rec->lock);
    return found;
}

void cq_recorder_stats(const struct cq_recorder *rec, cq_recorder_stats_t *out) {
    *out = (cq_recorder_stats_t){
        .pushed = atomic_load_explicit(&rec->pushed, memory_order_relaxed),
        .dropped = atomic_load_explicit(&rec->dropped, memory_order_relaxed),
        .written = atomic_load_explicit(&rec->written, memory_order_relaxed),
        .discarded = atomic_load_explicit(&rec->discarded, memory_order_relaxed),
        .files = atomic_load_explicit(&rec->files, memory_order_relaxed),
        .write_errors = atomic_load_explicit(&rec->write_errors, memory_order_relaxed),
        .free_bytes = atomic_load_explicit(&rec->free_cached, memory_order_relaxed),
    };
}

/* ---- writer thread ------------------------------------------------------------------ */

static struct wsession *find_wsession(struct cq_recorder *rec, uint32_t id) {
    for (size_t i = 0; i < CQ_RECORDER_MAX_SESSIONS; i++)
        if (rec->sessions[i].used && rec->sessions[i].id == id)
            return &rec->sessions[i];
    return NULL;
}

static bool any_session(const struct cq_recorder *rec) {
    for (size_t i = 0; i < CQ_RECORDER_MAX_SESSIONS; i++)
        if (rec->sessions[i].used)
            return true;
    return false;
}

static void close_file(struct cq_recorder *rec, struct wfile *wf) {
    if (fclose(wf->f) != 0)
        bump(&rec->write_errors);
    free(wf->buf);
    *wf = (struct wfile){0};
}

static void close_session_files(struct cq_recorder *rec, uint32_t id) {
    for (size_t i = 0; i < CQ_RECORDER_MAX_FILES; i++)
        if (rec->files_open[i].used && rec->files_open[i].session == id)
            close_file(rec, &rec->files_open[i]);
}

/* The writer gives up on a session (no space, a file it cannot write) and tells the
 * producer, which clears its flag on its next tick. */
static void stop_session(struct cq_recorder *rec, struct wsession *s, const char *why) {
    cq_log(CQ_LOG_WARN, "recorder", "session %" PRIu32 ": recording stopped: %s", s->id, why);
    close_session_files(rec, s->id);
    uv_mutex_lock(&rec->lock);
    if (rec->nstopped < CQ_RECORDER_MAX_SESSIONS)
        rec->stopped[rec->nstopped++] = s->id;
    atomic_store_explicit(&rec->has_stopped, true, memory_order_release);
    uv_mutex_unlock(&rec->lock);
    *s = (struct wsession){0};
}

static void start_session(struct cq_recorder *rec, uint32_t id) {
    struct wsession *s = find_wsession(rec, id);
    if (s != NULL) {
        /* Started again without a stop: new files from here. */
        close_session_files(rec, id);
    } else {
        for (size_t i = 0; i < CQ_RECORDER_MAX_SESSIONS && s == NULL; i++)
            if (!rec->sessions[i].used)
                s = &rec->sessions[i];
        if (s == NULL) {
            cq_log(CQ_LOG_ERROR, "recorder", "session %" PRIu32 ": too many recordings", id);
            return;
        }
    }
    s->used = true;
    s->id = id;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->stamp, sizeof s->stamp, "%Y%m%dT%H%M%SZ", &tm);
    cq_log(CQ_LOG_INFO, "recorder", "session %" PRIu32 ": recording into %s/session-%" PRIu32, id,
           rec->dir, id);
}

/* Opens a new file for the stream of e: <dir>/session-<id>/<stamp>-p<participant>-
 * audio|video<layer>-<ssrc>.cqrec, with its header. NULL when it cannot be made. */
static struct wfile *open_file(struct cq_recorder *rec, struct wsession *s, const struct entry *e) {
    struct wfile *wf = NULL;
    for (size_t i = 0; i < CQ_RECORDER_MAX_FILES && wf == NULL; i++)
        if (!rec->files_open[i].used)
            wf = &rec->files_open[i];
    if (wf == NULL)
        return NULL;
    char path[4096], stream[16];
    if (e->st.kind == CQ_RECFILE_AUDIO)
        snprintf(stream, sizeof stream, "audio");
    else
        snprintf(stream, sizeof stream, "video%u", (unsigned)e->st.layer);
    FILE *f = NULL;
    for (int t = 1; t <= NAME_TRIES && f == NULL; t++) {
        char suffix[8] = "";
        if (t > 1)
            snprintf(suffix, sizeof suffix, "-%d", t);
        int n = snprintf(path, sizeof path,
                         "%s/session-%" PRIu32 "/%s-p%" PRIu32 "-%s-%08" PRIx32 "%s.cqrec",
                         rec->dir, s->id, s->stamp, e->st.participant, stream, e->st.ssrc, suffix);
        if (n < 0 || (size_t)n >= sizeof path || cq_fs_make_parents(path) != 0)
            return NULL;
        f = fopen(path, "wbx"); /* never over an earlier recording */
        if (f == NULL && errno != EEXIST)
            break;
    }
    if (f == NULL) {
        cq_log(CQ_LOG_ERROR, "recorder", "cannot create %s: %s", path, strerror(errno));
        return NULL;
    }
    wf->buf = malloc(FILE_BUFFER);
    if (wf->buf != NULL)
        setvbuf(f, wf->buf, _IOFBF, FILE_BUFFER);
    cq_recfile_header_t hdr = {.kind = e->st.kind,
                               .layer = e->st.layer,
                               .ssrc = e->st.ssrc,
                               .session = s->id,
                               .participant = e->st.participant,
                               .wallclock_us = now_wallclock_us()};
    uint8_t head[CQ_RECFILE_HEADER_SIZE];
    cq_recfile_header_write(&hdr, head, sizeof head);
    wf->used = true;
    wf->f = f;
    wf->session = s->id;
    wf->participant = e->st.participant;
    wf->ssrc = e->st.ssrc;
    wf->epoch = e->st.epoch;
    bump(&rec->files);
    if (fwrite(head, sizeof head, 1, f) != 1)
        return NULL; /* the caller stops the session, which closes it */
    return wf;
}

static struct wfile *find_file(struct cq_recorder *rec, const struct entry *e) {
    for (size_t i = 0; i < CQ_RECORDER_MAX_FILES; i++) {
        struct wfile *wf = &rec->files_open[i];
        if (wf->used && wf->session == e->st.session && wf->participant == e->st.participant &&
            wf->ssrc == e->st.ssrc && wf->epoch == e->st.epoch)
            return wf;
    }
    return NULL;
}

static void write_packet(struct cq_recorder *rec, const struct entry *e) {
    struct wsession *s = find_wsession(rec, e->st.session);
    if (s == NULL) { /* stopped (by the operator or for space) after the packet was taken */
        bump(&rec->discarded);
        return;
    }
    struct wfile *wf = find_file(rec, e);
    if (wf == NULL && (wf = open_file(rec, s, e)) == NULL) {
        bump(&rec->discarded);
        bump(&rec->write_errors);
        stop_session(rec, s, "a file could not be created");
        return;
    }
    if (rec->cfg.before_write != NULL)
        rec->cfg.before_write(rec->cfg.hook_arg);
    uint8_t head[CQ_RECFILE_RECORD_HEAD];
    cq_recfile_record_head_write(e->arrival_us, e->len, head, sizeof head);
    if (fwrite(head, sizeof head, 1, wf->f) != 1 || fwrite(e->data, e->len, 1, wf->f) != 1) {
        bump(&rec->write_errors);
        stop_session(rec, s, errno == ENOSPC ? "the disk is full" : "a write failed");
        return;
    }
    bump(&rec->written);
}

/* Once a second while recording: the floor is checked and the files flushed. */
static void check_space(struct cq_recorder *rec, uint64_t now_us) {
    if (now_us < rec->next_check_us)
        return;
    rec->next_check_us = now_us + CHECK_INTERVAL_US;
    uint64_t avail;
    int err;
    read_free_space(rec, &avail, &err);
    if (!any_session(rec))
        return;
    bool low = err == 0 && avail < rec->cfg.min_free_bytes;
    for (size_t i = 0; i < CQ_RECORDER_MAX_SESSIONS; i++) {
        if (!rec->sessions[i].used)
            continue;
        if (low)
            stop_session(rec, &rec->sessions[i], "free space under the floor");
        else if (err != 0)
            stop_session(rec, &rec->sessions[i], "the free space cannot be read");
    }
    for (size_t i = 0; i < CQ_RECORDER_MAX_FILES; i++)
        if (rec->files_open[i].used && fflush(rec->files_open[i].f) != 0)
            bump(&rec->write_errors);
}

/* Everything the producer published so far; returns how many entries. */
static size_t drain(struct cq_recorder *rec) {
    size_t t = atomic_load_explicit(&rec->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&rec->head, memory_order_acquire);
    size_t n = h - t;
    for (; t != h; t++) {
        const struct entry *e = &rec->ring[t & rec->mask];
        switch (e->type) {
        case ENTRY_PACKET:
            write_packet(rec, e);
            break;
        case ENTRY_START:
            start_session(rec, e->st.session);
            rec->next_check_us = 0; /* the floor is read again at once */
            break;
        case ENTRY_LEFT: /* its files are complete: closed now, not at the session's end */
            for (size_t i = 0; i < CQ_RECORDER_MAX_FILES; i++) {
                const struct wfile *wf = &rec->files_open[i];
                if (wf->used && wf->session == e->st.session &&
                    wf->participant == e->st.participant && wf->epoch == e->st.epoch)
                    close_file(rec, &rec->files_open[i]);
            }
            break;
        case ENTRY_STOP: {
            struct wsession *s = find_wsession(rec, e->st.session);
            if (s != NULL) {
                close_session_files(rec, s->id);
                cq_log(CQ_LOG_INFO, "recorder", "session %" PRIu32 ": recording stopped", s->id);
                *s = (struct wsession){0};
            }
            break;
        }
        }
        /* The slot is the producer's again: each is released as soon as it is written,
         * so a slow write holds one slot, not the whole batch. */
        atomic_store_explicit(&rec->tail, t + 1, memory_order_release);
        check_space(rec, mono_us());
    }
    return n;
}

static void writer_main(void *arg) {
    struct cq_recorder *rec = arg;
    while (!atomic_load_explicit(&rec->quit, memory_order_acquire)) {
        /* A drain that found the ring a quarter full goes again at once: the media comes
         * faster than one poll period's worth of slots. */
        if (drain(rec) > (rec->mask + 1) / 4)
            continue;
        check_space(rec, mono_us());
        /* Polled, not woken per packet: waking the writer would cost the forwarding path
         * a system call. Idle (nothing recorded) it sleeps until a start wakes it. */
        uint64_t wait_ns = any_session(rec) ? (uint64_t)rec->cfg.poll_ms * 1000000u : 1000000000u;
        uv_mutex_lock(&rec->lock);
        if (!atomic_load_explicit(&rec->quit, memory_order_acquire) &&
            atomic_load_explicit(&rec->head, memory_order_acquire) ==
                atomic_load_explicit(&rec->tail, memory_order_relaxed))
            (void)uv_cond_timedwait(&rec->wake, &rec->lock, wait_ns);
        uv_mutex_unlock(&rec->lock);
    }
    drain(rec);
    for (size_t i = 0; i < CQ_RECORDER_MAX_FILES; i++)
        if (rec->files_open[i].used)
            close_file(rec, &rec->files_open[i]);
}

int cq_recorder_create(struct cq_recorder **out, const cq_recorder_config_t *cfg) {
    size_t slots = cfg->ring_slots ? cfg->ring_slots : CQ_RECORDER_RING_SLOTS;
    if ((slots & (slots - 1)) != 0 || slots <= CONTROL_RESERVE)
        return CQ_EINVAL;
    struct cq_recorder *rec = calloc(1, sizeof *rec);
    if (rec == NULL)
        return CQ_ENOMEM;
    rec->cfg = *cfg;
    if (rec->cfg.min_free_bytes == 0)
        rec->cfg.min_free_bytes = CQ_RECORDER_MIN_FREE;
    if (rec->cfg.poll_ms == 0)
        rec->cfg.poll_ms = 10;
    rec->mask = slots - 1;
    rec->dir = strdup(cfg->dir != NULL ? cfg->dir : "recordings");
    rec->ring = calloc(slots, sizeof *rec->ring);
    if (rec->dir == NULL || rec->ring == NULL) {
        free(rec->dir);
        free(rec->ring);
        free(rec);
        return CQ_ENOMEM;
    }
    rec->cfg.dir = rec->dir;
    uint64_t avail;
    int err;
    read_free_space(rec, &avail, &err); /* what the first start reads */
    err = uv_mutex_init(&rec->lock);
    if (err == 0 && (err = uv_cond_init(&rec->wake)) != 0)
        uv_mutex_destroy(&rec->lock);
    if (err == 0 && (err = uv_thread_create(&rec->thread, writer_main, rec)) != 0) {
        uv_cond_destroy(&rec->wake);
        uv_mutex_destroy(&rec->lock);
    }
    if (err != 0) {
        free(rec->dir);
        free(rec->ring);
        free(rec);
        return err;
    }
    *out = rec;
    return 0;
}

void cq_recorder_destroy(struct cq_recorder *rec) {
    if (rec == NULL)
        return;
    uv_mutex_lock(&rec->lock);
    atomic_store_explicit(&rec->quit, true, memory_order_release);
    uv_cond_signal(&rec->wake);
    uv_mutex_unlock(&rec->lock);
    uv_thread_join(&rec->thread);
    uv_cond_destroy(&rec->wake);
    uv_mutex_destroy(&rec->lock);
    free(rec->dir);
    free(rec->ring);
    free(rec);
}
