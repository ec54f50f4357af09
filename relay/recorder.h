/*
 * A worker's recorder: copies of the packets its publishers send, written to disk by a
 * thread of its own (docs/ARCHITECTURE.md, "Recording").
 *
 * The forwarding path's only work is cq_recorder_push: one copy into a preallocated
 * single-producer/single-consumer ring and an index store. No allocation, no system call,
 * no lock: when the ring is full (the disk is slower than the media) the packet is lost
 * to the recording and counted, and forwarding goes on. The writer thread drains the ring
 * every few milliseconds into one raw file per participant per stream (codec/recfile.h)
 * under <dir>/session-<id>/, and watches the free space of <dir>: below the floor it
 * stops recording that session and says so (cq_recorder_poll_stopped), rather than fill
 * the disk the store and the logs also need.
 *
 * Threads: cq_recorder_push, _start, _stop and _poll_stopped are called by one thread, the
 * producer (the worker's). _create and _destroy by the owner, with no producer running.
 * The stats read counters the two threads keep (relaxed atomics: figures, not
 * synchronisation).
 */
#ifndef CQ_RELAY_RECORDER_H
#define CQ_RELAY_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cq_recorder;

/* Ring slots when the config says 0: at the writer's 10 ms wake-up, room for 100,000
 * packets a second, some 1.6 MB. */
#define CQ_RECORDER_RING_SLOTS 1024
/* The largest packet kept: what a worker's receive slot holds. */
#define CQ_RECORDER_MAX_PACKET 1536
/* The free space recording stops under when the config says 0: 512 MiB. */
#define CQ_RECORDER_MIN_FREE (512ull << 20)
/* Sessions recorded at once on one worker, and files open at once. */
#define CQ_RECORDER_MAX_SESSIONS 64
#define CQ_RECORDER_MAX_FILES    512

typedef struct {
    const char *dir;         /* where session-<id>/ folders go (copied); NULL: "recordings" */
    uint64_t min_free_bytes; /* recording stops below this much free space; 0: the default */
    size_t ring_slots;       /* a power of two; 0: CQ_RECORDER_RING_SLOTS */
    unsigned poll_ms;        /* how often the writer drains the ring; 0: 10 ms */
    /* Seams for tests, NULL in production. free_bytes replaces statvfs (a full disk is
     * simulated with it) and returns 0 or a negative errno; before_write runs on the
     * writer thread before each packet is written (a slow disk is simulated with it). */
    int (*free_bytes)(void *arg, const char *dir, uint64_t *out);
    void (*before_write)(void *arg);
    void *hook_arg;
} cq_recorder_config_t;

typedef struct {
    uint64_t pushed;    /* packets taken into the ring */
    uint64_t dropped;   /* packets the ring had no room for */
    uint64_t written;   /* packets written to files */
    uint64_t discarded; /* packets of a session stopped meanwhile, or whose file failed */
    uint64_t files;     /* files opened */
    uint64_t write_errors;
    uint64_t free_bytes; /* on the recordings' disk, as the writer last read it (each second) */
} cq_recorder_stats_t;

/* Allocates the ring and starts the writer thread (idle until a session records).
 * Returns 0 and *out, CQ_EINVAL (ring_slots not a power of two), CQ_ENOMEM or a libuv
 * error. */
int cq_recorder_create(struct cq_recorder **out, const cq_recorder_config_t *cfg);

/* Writes what the ring still holds, closes every file, stops the thread, frees. NULL is
 * fine. */
void cq_recorder_destroy(struct cq_recorder *rec);

/* Starts recording session_id: its later packets go to new files. Returns 0, CQ_ENOSPC
 * (below the free-space floor, as the writer read it within the last second or so: the
 * forwarding thread that calls this never waits on the disk; nothing starts), CQ_EIO (the
 * free space could not be read), CQ_EAGAIN (control entries fill the ring's reserve) or CQ_ENOBUFS
 * (too many sessions). */
int cq_recorder_start(struct cq_recorder *rec, uint32_t session_id);

/* Stops recording session_id: the writer closes its files once it has written what came
 * before. Returns 0 or CQ_EAGAIN (the ring is full to its last slot: only starts and stops
 * may use the last half of its reserve, so this takes CQ_RECORDER_MAX_SESSIONS of them
 * piling up behind a stalled disk). */
int cq_recorder_stop(struct cq_recorder *rec, uint32_t session_id);

/* Which stream of which participant a packet belongs to. epoch tells a participant's
 * stays apart: one that leaves and joins again restarts its sequence numbers and
 * timestamps, which must not share a file with the first stay's. */
typedef struct {
    uint32_t session, participant, ssrc, epoch;
    uint8_t kind; /* CQ_RECFILE_AUDIO or _VIDEO */
    uint8_t layer;
} cq_recorder_stream_t;

/* A participant's stay (epoch) ended: its files are closed once what came before is
 * written, rather than held open until the recording stops (a long session of flaky
 * links would otherwise run out of open files). Returns 0 or CQ_EAGAIN (the ring is full
 * but for half its control reserve, kept for starts and stops: the files then stay open
 * until the session's recording stops). */
int cq_recorder_left(struct cq_recorder *rec, uint32_t session_id, uint32_t participant_id,
                     uint32_t epoch);

/* The hot path: a copy of one RTP packet (len bytes, after SRTP) of stream st, arrived at
 * arrival_us. Returns true when taken, false when the ring was full or the packet too
 * large (counted as dropped). */
bool cq_recorder_push(struct cq_recorder *rec, const cq_recorder_stream_t *st, uint64_t arrival_us,
                      const uint8_t *pkt, size_t len);

/* A session the writer stopped for want of disk space (or because its files could not be
 * written): returns true and *session_id once per such stop, false when there is none. */
bool cq_recorder_poll_stopped(struct cq_recorder *rec, uint32_t *session_id);

void cq_recorder_stats(const struct cq_recorder *rec, cq_recorder_stats_t *out);

/* The directory a session's files go to: <dir>/session-<id>. Returns the length, or
 * CQ_ENOBUFS. */
int cq_recorder_session_dir(const char *dir, uint32_t session_id, char *buf, size_t cap);

#endif
